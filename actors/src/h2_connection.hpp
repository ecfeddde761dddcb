#pragma once

#include "actor_exchange.hpp"
#include "http2/session.hpp"
#include "reactor.hpp"
#include <roadrunner/request.hpp>
#include <roadrunner/responder.hpp>
#include <roadrunner/response.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace roadrunner::detail {

class connection;

/// The HTTP/2 side of a connection actor: h2 over TLS when ALPN picked
/// `h2`, or h2c with prior knowledge. Drives one `http2::session` over the
/// connection's socket (plain or TLS, through the connection's `read_in` /
/// `write_out`), sends every stream to the listener's routes as a request
/// (concurrently: each deferred stream has its own exchange, tagged with
/// the stream id), and keeps the h2 timers: the preface deadline, an idle
/// timeout only while no stream is open, a per-stream request timeout
/// (408), the slow-client guard and the send deadline.
///
/// Owned by the connection and created once the protocol is known. It
/// never closes the socket itself: it asks the connection (`close_now`
/// from reactor callbacks, `teardown` + `quit` from message handlers), and
/// the connection's teardown calls `stop`.
/// Runs on: the connection's reactor thread.
class h2_connection final : public http2::session_callbacks,
                            public deferral_source {
public:
  explicit h2_connection(connection& conn);
  ~h2_connection() override;

  h2_connection(const h2_connection&) = delete;
  h2_connection& operator=(const h2_connection&) = delete;

  /// Queues the server preface (SETTINGS, the early WINDOW_UPDATE) and arms
  /// the preface deadline (`request_timeout`). No I/O: the next readiness
  /// event (or `on_io`) writes it.
  void start();

  /// Socket readiness (reactor callback).
  void on_io(uint32_t events);

  /// `(exchange_wake_atom, stream_id)`: a deferred stream's handler side
  /// queued operations (message handler).
  void on_wake(uint32_t stream_id);

  /// The listener drains: GOAWAY with the last stream id, in-flight streams
  /// finish and hear the notice, new ones are refused; the connection
  /// closes once no stream is left (message handler).
  void on_drain(int64_t deadline_ms);

  /// The connection is closing: ends every open request (its handler sees
  /// `on_cancel`), disarms the timers. No I/O. Called by the connection's
  /// teardown.
  void stop() noexcept;

  // -- deferral_source ------------------------------------------------------

  responder defer() override;

  // -- http2::session_callbacks ---------------------------------------------

  void on_request(int32_t stream_id, const http1::request_head& head,
                  std::string_view body) override;

  void on_stream_closed(int32_t stream_id, http2::error_code code) override;

  void on_stream_writable(int32_t stream_id) override;

private:
  /// A stream whose answer is deferred (the request's exchange), from the
  /// dispatch until the stream closes.
  struct stream_state : timer_handler {
    h2_connection* owner = nullptr;
    int32_t id = 0;
    std::shared_ptr<actor_exchange> x;
    std::vector<response::field> extra; // fields middlewares added
    std::string method, path, request_id;
    std::chrono::steady_clock::time_point started;
    timer_node deadline; // the handler's deadline -> 504
    bool admitted = false;
    bool streaming = false; // the head went out (start_stream)
    bool ended = false;     // answered: accounted and the exchange voided
    bool finish_pending = false;
    int status = 0;
    std::deque<std::string> held; // refused by a full stream buffer
    std::vector<response::field> trailers;
    std::string body; // manual body mode: the buffered body for read_body
    size_t body_pos = 0;

    void on_timer() override;
  };

  /// What `main_` is armed for: the client preface, an idle connection,
  /// output the socket does not take, or response data waiting for a
  /// flow-control window the peer does not open.
  enum class main_timer : uint8_t { none, preface, idle, send, stalled };

  struct timer_hook : timer_handler {
    h2_connection* owner = nullptr;
    void (h2_connection::*fn)() = nullptr;
    void on_timer() override { (owner->*fn)(); }
  };

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
  void forget(int32_t stream_id);
  void on_main_timer();
  void on_tick();
  void on_deadline(stream_state& st);
  void start_request_clock(int64_t now);

  connection& conn_;
  std::unique_ptr<http2::session> session_;
  std::unordered_map<int32_t, std::unique_ptr<stream_state>> streams_;
  std::vector<exchange_op> ops_;

  // Dispatch of one request (defer() is valid only during it).
  std::shared_ptr<actor_exchange> current_x_;
  int32_t current_id_ = 0;
  bool dispatching_ = false;

  // Timers.
  timer_hook main_hook_;
  timer_node main_;
  main_timer main_what_ = main_timer::none;
  uint64_t idle_served_ = 0; // requests served when the idle timer started
  uint64_t written_ = 0;     // bytes written to the socket
  uint64_t stall_mark_ = 0;  // written_ when the stalled timer started
  timer_hook tick_hook_;
  timer_node tick_; // every rate_check_interval while requests arrive
  int64_t rate_start_ms_ = 0;
  uint64_t rate_bytes_ = 0;
  std::unordered_map<int32_t, int64_t> first_seen_; // incomplete requests
  std::vector<int32_t> ids_;                        // scratch for on_tick

  bool closed_ = false;
  bool fatal_ = false;
  bool peer_eof_ = false;
  bool in_message_ = false; // inside a message handler: close with quit()
};

} // namespace roadrunner::detail
