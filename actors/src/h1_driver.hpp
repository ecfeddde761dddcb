#pragma once

#include "http1/parser.hpp"
#include "io/body_store.hpp"
#include "protocol_driver.hpp"
#include "reactor.hpp"
#include "request_lifecycle.hpp"
#include <roadrunner/response.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace roadrunner::detail {

/// HTTP/1.1 state of the request a connection is reading: taken from a
/// per-thread pool when the request's first byte arrives and given back
/// when the connection goes idle, so idle keep-alive connections hold none
/// of it (parser, chunked decoder and their heap memory).
/// Runs on: the thread of the reactor whose connection holds it.
struct h1_request_state {
  h1_request_state(const http1::limits& lim, uint64_t max)
    : limits(lim), max_body(max), parser(lim), chunked(lim, max) {}

  http1::limits limits; // the listener's, to tell pooled states apart
  uint64_t max_body;    // max_content_length, likewise
  http1::request_parser parser;
  http1::chunked_decoder chunked;
  std::string chunked_body; // manual mode: decoded chunk bytes not yet read
  // A body that does not fit the input buffer (a Content-Length body over
  // 64 KiB, any chunked body): charged to the listener's body budget or
  // spooled (issue 18), filled as bytes arrive.
  io::body_store body;
  bool body_stored = false; // this request's body goes to `body`
};

/// The HTTP/1.1 protocol driver: frames requests out of the transport's
/// bytes (parsed in place over the read buffer, pipelined requests served
/// in order, their answers leaving in one write), hands each to the request
/// lifecycle, and writes answers — at once, deferred, streamed (chunked, or
/// close-delimited for HTTP/1.0), with manual request bodies. Keeps the
/// HTTP/1.1 timers: request_timeout (head, body), keep_alive_timeout, the
/// slow-client guard and hibernation.
/// Runs on: the connection's reactor thread.
class h1_driver final : public protocol_driver {
public:
  explicit h1_driver(driver_host& host) noexcept;
  ~h1_driver() override;

  h1_driver(const h1_driver&) = delete;
  h1_driver& operator=(const h1_driver&) = delete;

  /// request_timeout for the first request counts from here: the accept
  /// (plain TCP) or the end of the handshake (TLS).
  void start() override;
  void on_io(uint32_t events) override;
  void on_wake(uint32_t tag) override;
  void on_drain(int64_t deadline_ms) override;
  void stop() noexcept override;

private:
  // What the driver waits for; decides what a timer expiry means.
  enum class phase : uint8_t {
    idle,      // keep-alive: no byte of the next request yet
    head,      // reading a request head
    body,      // reading a Content-Length or chunked body
    waiting,   // a deferred handler has not answered yet
    streaming, // a streamed response is being written
    done,      // handed back: closing, lingering or stopped
  };

  // The request whose answer is deferred (at most one: responses go out
  // in request order).
  struct deferred_request {
    open_request req;
    uint8_t version_minor = 1;
    bool head_only = false; // HEAD: no body bytes
    bool close = false;     // close after the response
    bool discard = false;   // streamed bytes are not sent (HEAD, 204, 304)
    bool chunked = true;    // HTTP/1.1 chunked, else close-delimited
    size_t out_payload = 0; // streamed bytes in the output not yet reported
    // Manual body mode.
    bool body_open = false; // body bytes remain to be delivered
    uint64_t body_left = 0; // Content-Length bytes not yet delivered
    size_t read_max = 0;    // a pending read_body: its piece size
    body_callback read_cb;  // ... and its callback
    bool continue_sent = false;
    int64_t deadline_at = -1; // reactor ms: answer 504 after it
    bool expect_continue = false;
    bool chunked_body = false; // the request body is chunked
    bool chunked_done = false; // ... and its last chunk was decoded
    std::string piece;         // a decoded chunked piece being delivered
  };

  void on_timer();
  void on_rate_check();
  void read_input();
  void read_some();
  void process_input();
  bool start_body();
  bool store_body(size_t head_len, uint64_t len);
  bool stored_body_ready(size_t head_len, uint64_t len);
  bool chunked_body_ready();
  bool compact_chunked() noexcept;
  bool dispatch_stored();
  void drop_body() noexcept;
  bool dispatch_manual();
  bool body_ready();
  void dispatch(std::string_view body);
  bytes_out write_response(response& resp, bool head_only, bool close,
                           uint8_t version_minor);
  template <class F>
  uint64_t queued_head(F&& write);
  void on_deferred();
  void resume_after_deferred();
  bool apply_exchange();
  void complete_deferred(response resp);
  void start_stream(response head);
  void stream_chunk(std::string data);
  void finish_stream(std::vector<response::field>& trailers);
  void end_deferred(int status);
  void report_written();
  void after_request();
  void deliver_body();
  void arm_deadline();
  void arm_body_wait();
  void respond_error(int status, std::string_view reason);
  void flush();
  void rearm_phase_timer();
  void begin_request_timing();
  void enter_idle();
  void finish_connection();
  void close_now();
  void hibernate();
  void shrink_buffers() noexcept;
  bool make_room(size_t min_free);
  void move_input(size_t capacity);
  void adopt_leftover();
  void hand_off();

  reactor& home() const noexcept { return host_->home(); }
  listener_shared& shared() const noexcept { return host_->shared(); }
  transport& io() const noexcept { return host_->io(); }
  request_lifecycle& life() const noexcept { return host_->requests(); }

  /// The request state, taken from the pool if the driver has none.
  h1_request_state& rs() {
    if (!rs_)
      acquire_request_state();
    return *rs_;
  }
  void acquire_request_state();
  void release_request_state() noexcept;

  /// The deferred request, allocated for the first deferred answer only
  /// (most connections never defer).
  deferred_request& def() {
    if (!def_)
      def_ = std::make_unique<deferred_request>();
    return *def_;
  }
  bool deferred() const noexcept { return def_ && def_->req.open(); }

  driver_host* host_;
  std::unique_ptr<h1_request_state> rs_; // null while idle
  std::unique_ptr<deferred_request> def_;
  // The deferred answer's queued operations, taken in batches (allocated
  // with the first deferred answer; kept for the next one's capacity).
  std::unique_ptr<std::vector<exchange_op>> ops_;
  std::unique_ptr<upgrade_offer> upgrade_; // 101 queued: hand off next

  // Input: [begin_, end_) of data_ holds unprocessed bytes. data_ is the
  // reactor's scratch buffer while a read is processed, else own_ (only
  // allocated while a partial request is pending).
  char* data_ = nullptr;
  size_t cap_ = 0;
  std::unique_ptr<char[]> own_;
  size_t own_cap_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
  size_t body_pos_ = 0; // chunked: first undecoded byte (offset)
  int64_t request_start_ms_ = 0;
  uint64_t request_bytes_ = 0;

  // The phase timer (request_timeout, keep_alive_timeout, the deferred
  // answer's deadline) and the rate timer (the slow-client guard while a
  // request is read, hibernate_after while idle).
  member_timer<h1_driver, &h1_driver::on_timer> timer_{this};
  member_timer<h1_driver, &h1_driver::on_rate_check> rate_{this};

  phase phase_ = phase::idle;
  bool head_complete_ = false;
  bool closing_ = false;  // close once the output is flushed
  bool reading_ = false;  // inside read_input (re-entry guard)
  bool again_ = false;    // read_input must run its loop once more
  bool peer_eof_ = false; // the peer shut its write side
  bool linger_ = false;   // close via lingering (peer may still send)
  // Draining with reuse_port: idle, waiting for one last request.
  bool last_call_ = false;
  static constexpr int64_t last_call_ms = 1000;
};

} // namespace roadrunner::detail
