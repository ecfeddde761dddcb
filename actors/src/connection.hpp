#pragma once

#include "actor_exchange.hpp"
#include "hosted_actor.hpp"
#include "io/output_queue.hpp"
#include "listener_shared.hpp"
#include "reactor.hpp"
#include "tls/session.hpp"
#include <roadrunner/http1/parser.hpp>
#include <roadrunner/request.hpp>
#include <roadrunner/responder.hpp>
#include <roadrunner/telemetry.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace roadrunner::detail {

class h2_connection;

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
  std::string chunked_body; // a chunked request's decoded body
};

/// One connection actor per accepted socket (the seed's `roadrunner_conn`).
///
/// Socket readiness and timers are handled inline on the home reactor's
/// thread, with no mailbox hop; plain-callable handlers run inline too.
/// Requests are parsed in place over the read buffer; responses of a batch
/// of pipelined requests leave in one `writev`. On a TLS listener the
/// handshake runs here first (never in the acceptor), bounded by
/// `tls.handshake_timeout`; HTTP/2 (ALPN `h2`, or h2c with prior
/// knowledge) is driven by an `h2_connection` this actor owns.
/// Runs on: its home reactor thread (state is never touched elsewhere).
class connection : public hosted_actor,
                   public io_handler,
                   public timer_handler,
                   public deferral_source {
public:
  connection(caf::actor_config& cfg, reactor* home, int fd,
             listener_shared_ptr shared, peer_address peer);
  ~connection() override;

  caf::behavior make_behavior() override;

  void on_io(uint32_t events) override;

  void on_timer() override;

  void on_exit() override;

  const char* name() const override { return "roadrunner.connection"; }

  responder defer() override;

private:
  friend class h2_connection;

  // What the connection waits for; decides what a timer expiry means.
  enum class phase : uint8_t {
    handshake, // TLS: the handshake has not completed
    idle,      // keep-alive: no byte of the next request yet
    head,      // reading a request head
    body,      // reading a Content-Length or chunked body
    waiting,   // a deferred handler has not answered yet
    streaming, // a streamed response is being written
    lingering, // response sent, write side shut, discarding input
    closed,
  };

  /// A second timer: the slow-client guard (min_bytes_per_second) while a
  /// request is read, `hibernate_after` while idle.
  struct rate_timer : timer_handler {
    connection* conn = nullptr;
    void on_timer() override;
  };

  void on_handshake(uint32_t events);
  void start_protocol(roadrunner::protocol proto);
  ssize_t read_in(char* buf, size_t len);
  io::output_queue::result write_out();
  void close_tls() noexcept;
  void read_input();
  void read_some();
  void process_input();
  bool start_body();
  bool dispatch_manual();
  bool body_ready();
  void dispatch(std::string_view body);
  void write_response(roadrunner::response& resp, bool head_only, bool close,
                      uint8_t version_minor);
  void finish_request(bool admitted, int status,
                      std::chrono::steady_clock::time_point started,
                      std::string_view request_id, std::string_view method,
                      std::string_view path);
  void on_wake();
  void resume_after_deferred();
  bool apply_exchange();
  void complete_deferred(roadrunner::response resp);
  void start_stream(roadrunner::response head);
  void stream_chunk(std::string data);
  void finish_stream(std::vector<roadrunner::response::field>& trailers);
  void end_deferred(int status);
  void report_written();
  void after_request();
  void deliver_body();
  void arm_deadline();
  void arm_body_wait();
  void respond_error(int status, std::string_view reason);
  telemetry_event request_event(const roadrunner::request& req,
                                telemetry_kind kind) const;
  void on_handler_exception(const roadrunner::request& req,
                            std::string_view what);
  void flush();
  void rearm_phase_timer();
  void begin_request_timing();
  void enter_idle();
  void start_lingering();
  void close_now();
  void teardown() noexcept;
  void on_rate_check();
  void on_drain(int64_t deadline_ms);
  void hibernate();
  void shrink_buffers() noexcept;
  bool make_room(size_t min_free);
  void move_input(size_t capacity);
  void adopt_leftover();

  /// The request state, taken from the pool if the connection has none.
  h1_request_state& rs() {
    if (!rs_)
      acquire_request_state();
    return *rs_;
  }

  void acquire_request_state();
  void release_request_state() noexcept;

  int fd_;
  listener_shared_ptr shared_;
  connection_info info_;
  std::unique_ptr<h1_request_state> rs_; // null while idle
  io::output_queue out_;
  std::shared_ptr<const compiled_routes> routes_; // see listener_shared
  uint64_t routes_version_ = 0;

  // Input: [begin_, end_) of data_ holds unprocessed bytes. data_ is the
  // reactor's scratch buffer while a read is processed, else own_ (only
  // allocated while a partial request is pending).
  char* data_ = nullptr;
  size_t cap_ = 0;
  std::unique_ptr<char[]> own_;
  size_t own_cap_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;

  // Current request.
  phase phase_ = phase::head;
  bool head_complete_ = false;
  size_t body_pos_ = 0; // chunked: first undecoded byte (offset)
  uint64_t served_ = 0;
  bool closing_ = false;       // close once the output is flushed
  bool write_blocked_ = false; // waiting for EPOLLOUT
  bool read_paused_ = false;   // input left unread (output backlog)
  bool reading_ = false;       // inside read_input (re-entry guard)
  bool again_ = false;         // read_input must run its loop once more
  bool peer_eof_ = false;      // the peer shut its write side
  bool draining_ = false;      // the listener drains: close after this one
  bool linger_ = false;        // close via lingering (peer may still send)
  bool rdhup_ = false;         // epoll announced the peer's FIN
  int64_t request_start_ms_ = 0;
  uint64_t request_bytes_ = 0;

  // The request whose answer is deferred (HTTP/1.1: at most one, as
  // responses go out in request order).
  struct deferred_request {
    std::shared_ptr<actor_exchange> x;
    std::vector<roadrunner::response::field> extra; // fields middlewares added
    std::string method, path, request_id;           // for telemetry
    std::chrono::steady_clock::time_point started;
    uint8_t version_minor = 1;
    bool head_only = false; // HEAD: no body bytes
    bool close = false;     // close after the response
    bool admitted = false;  // holds an admission slot
    bool discard = false;   // streamed bytes are not sent (HEAD, 204, 304)
    bool chunked = true;    // HTTP/1.1 chunked, else close-delimited
    int status = 0;
    size_t out_payload = 0; // streamed bytes in out_ not yet reported
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

  // Allocated for the first deferred answer only (most connections never
  // defer): `def()` makes it, `def_x()` reads the exchange without that.
  std::unique_ptr<deferred_request> def_;
  deferred_request& def() {
    if (!def_)
      def_ = std::make_unique<deferred_request>();
    return *def_;
  }
  bool deferred() const noexcept { return def_ && def_->x; }
  const std::shared_ptr<actor_exchange>& def_x() const noexcept {
    static const std::shared_ptr<actor_exchange> none;
    return def_ ? def_->x : none;
  }
  std::shared_ptr<actor_exchange> current_x_; // made by defer()
  std::vector<exchange_op> ops_;
  uint32_t x_seq_ = 0;
  bool dispatching_ = false;

  timer_node timer_;
  rate_timer rate_;
  timer_node rate_node_;
  caf::strong_actor_ptr self_ref_;

  // TLS (null on plain TCP) and HTTP/2 (null for HTTP/1.1). The driver
  // goes before the TLS session (members die in reverse order).
  std::unique_ptr<tls::session> tls_;
  bool tls_closed_ = false; // close_notify sent (or given up)
  std::unique_ptr<h2_connection> h2_;
};

} // namespace roadrunner::detail
