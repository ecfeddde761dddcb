#pragma once

#include "http2/session.hpp"
#include "protocol_driver.hpp"
#include "reactor.hpp"
#include "request_lifecycle.hpp"
#include "stream_tunnel.hpp"
#include <roadrunner/request.hpp>
#include <roadrunner/response.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace roadrunner::detail {

/// The HTTP/2 protocol driver: h2 over TLS when ALPN picked `h2`, or h2c
/// with prior knowledge. Drives one `http2::session` over the transport,
/// hands every stream to the request lifecycle (concurrently: each
/// deferred stream has its own exchange, tagged with the stream id), and
/// keeps the h2 timers: the preface deadline, an idle timeout only while
/// no stream is open, a per-stream request timeout (408), the slow-client
/// guard and the flow-control stall deadline (the send deadline is the
/// transport's).
/// Runs on: the connection's reactor thread.
class h2_driver final : public protocol_driver,
                        public http2::session_callbacks,
                        public tunnel_host {
public:
  explicit h2_driver(driver_host& host) noexcept;
  ~h2_driver() override;

  h2_driver(const h2_driver&) = delete;
  h2_driver& operator=(const h2_driver&) = delete;

  // -- protocol_driver ------------------------------------------------------

  /// Queues the server preface (SETTINGS, the early WINDOW_UPDATE) and arms
  /// the preface deadline (`request_timeout`). No I/O: the next readiness
  /// event writes it.
  void start() override;

  void on_io(uint32_t events) override;

  /// A deferred stream's handler side queued operations (tag: stream id).
  void on_wake(uint32_t stream_id) override;

  /// RFC 9113 6.8 in two steps: GOAWAY(2^31-1) and a PING, then, on the
  /// PING's ACK or after a bounded wait, GOAWAY with the last stream id.
  /// Streams that arrive before it are served; in-flight streams finish and
  /// hear the notice, newer ones are refused; the connection closes once no
  /// stream is left.
  void on_drain(int64_t deadline_ms) override;

  /// Ends every open request (its handler sees `on_cancel`), disarms the
  /// timers. No I/O.
  void stop() noexcept override;

  /// `(atom, uint32_t stream_id, ...)`: for the tunnel on that stream
  /// (WebSocket sends, RFC 8441).
  void on_message(caf::message& msg) override;

  // -- tunnel_host ------------------------------------------------------------

  driver_host& conn() noexcept override { return *host_; }
  http2::session& h2() noexcept override { return *session_; }
  void tunnel_flush() override;

  // -- http2::session_callbacks ---------------------------------------------

  void on_request(int32_t stream_id, const request_head& head,
                  std::string_view body) override;

  void on_stream_closed(int32_t stream_id, http2::error_code code) override;

  void on_stream_writable(int32_t stream_id) override;

  void on_tunnel_data(int32_t stream_id, std::string& data, bool eof) override;

  /// The engine answered a request itself (408, 413, 431, 501, 400): the
  /// lifecycle counts and reports it as HTTP/1.1 does its own refusals.
  void on_request_rejected(int32_t stream_id, int status,
                           std::string_view reason) override;

private:
  /// A stream whose answer is deferred, from the dispatch until the stream
  /// closes.
  struct stream_state {
    stream_state(h2_driver* o, int32_t sid) noexcept : owner(o), id(sid) {}
    void expired();

    h2_driver* owner;
    int32_t id;
    open_request req;
    member_timer<stream_state, &stream_state::expired> deadline{this}; // 504
    bool streaming = false; // the head went out (start_stream)
    bool finish_pending = false;
    std::deque<std::string> held; // refused by a full stream buffer
    std::vector<response::field> trailers;
    // Manual body mode: the request's body, taken over from the session
    // (in memory and still charged to the budget, or spooled: read_body
    // reads the file piece by piece into `piece`).
    io::body_store body;
    uint64_t body_pos = 0;
    std::string piece;
  };

  /// What `main_` is armed for: the client preface, an idle connection, or
  /// response data waiting for a flow-control window the peer does not
  /// open.
  enum class main_timer : uint8_t { none, preface, idle, stalled };

  reactor& home() const noexcept { return host_->home(); }
  listener_shared& shared() const noexcept { return host_->shared(); }
  transport& io() const noexcept { return host_->io(); }
  request_lifecycle& life() const noexcept { return host_->requests(); }

  void sent(stream_state& st, size_t n);
  static bytes_out body_out(const response& resp, std::string_view method);
  void read_loop();
  void pump();
  bool flush_out();
  void after_event();
  void update_timers();
  void maybe_close();
  void close();
  void apply(stream_state& st);
  void end(stream_state& st, int status);
  void finish_stream(stream_state& st);
  void fail_stream(stream_state& st);
  void forget(int32_t stream_id);
  void on_main_timer();
  void on_tick();
  void on_deadline(stream_state& st);
  void start_request_clock(int64_t now);
  bool open_tunnel(int32_t stream_id, response& resp, request_ticket& t);
  void on_notice_timer();
  void final_goaway();
  void notify_draining();

  driver_host* host_;
  std::unique_ptr<http2::session> session_;
  std::unordered_map<int32_t, std::unique_ptr<stream_state>> streams_;
  std::vector<exchange_op> ops_;
  // Extended CONNECT streams carrying a protocol (RFC 8441); a closed
  // one waits in dead_tunnels_ until the next event (it may be on the
  // stack when its stream closes).
  std::unordered_map<int32_t, std::unique_ptr<stream_tunnel>> tunnels_;
  std::vector<std::unique_ptr<stream_tunnel>> dead_tunnels_;

  // Timers.
  member_timer<h2_driver, &h2_driver::on_main_timer> main_{this};
  main_timer main_what_ = main_timer::none;
  uint64_t idle_served_ = 0; // requests served when the idle timer started
  uint64_t stall_mark_ = 0;  // bytes written when the stalled timer started
  member_timer<h2_driver, &h2_driver::on_tick> tick_{this}; // while requests
  int64_t rate_start_ms_ = 0;                               // arrive
  uint64_t rate_bytes_ = 0;
  std::unordered_map<int32_t, int64_t> first_seen_; // incomplete requests
  std::vector<int32_t> ids_;                        // scratch for on_tick
  // Drain: the wait for the notice's PING ACK, the streams told so far.
  member_timer<h2_driver, &h2_driver::on_notice_timer> notice_{this};
  int64_t drain_deadline_ms_ = -1;
  int32_t drain_told_ = 0; // deferred streams up to this id heard the drain
  bool draining_ = false;

  bool closed_ = false;
  bool fatal_ = false;
  bool peer_eof_ = false;
};

} // namespace roadrunner::detail
