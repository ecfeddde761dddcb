#pragma once

#include "protocol_driver.hpp"
#include "reactor.hpp"
#include "request_lifecycle.hpp"
#include "stream_tunnel.hpp"
#include "ws/codec.hpp"
#include "ws/deflate.hpp"
#include <roadrunner/websocket.hpp>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

namespace roadrunner::detail {

/// What a WebSocket route fixed when it was made: shared by the route's
/// handler and every session it upgrades (immutable).
struct ws_route {
  caf::actor_system* sys = nullptr;
  ws_session_factory spawn;
  websocket_options opts;
};

/// What a session keeps of its upgrading request until it ends (the
/// access log line and `request_stop` are written then): the texts packed
/// in one allocation instead of `open_request`'s seven strings (an idle
/// session pays 100 bytes rather than 320).
class kept_request {
public:
  explicit kept_request(const open_request& req);

  /// A ticket over the kept copies.
  request_ticket ticket() const noexcept;

  std::string_view method() const noexcept { return text(0); }
  std::string_view path() const noexcept { return text(1); }
  std::string_view request_id() const noexcept { return text(2); }

  /// Bytes of the 101 head (HTTP/1.1; 0 on HTTP/2).
  uint64_t head_bytes() const noexcept { return head_bytes_; }

private:
  static constexpr size_t texts = 7; // method, path, request_id, query,
                                     // host, user_agent, referer

  std::string_view text(size_t i) const noexcept;

  std::unique_ptr<char[]> text_;
  uint32_t end_[texts] = {};
  bool admitted_ = false;
  std::chrono::steady_clock::time_point started_;
  std::string_view protocol_; // a static text
  uint64_t bytes_received_ = 0;
  uint64_t head_bytes_ = 0;
};

/// The session actor's unhandled input (`inbox_buffer`): the bytes of the
/// messages in its mailbox. Each is enqueued as a counted mailbox element
/// whose end (the actor handled it, or the mailbox was closed) takes its
/// bytes off, on the actor's thread; the reader (the reactor thread)
/// stops taking input while the inbox is full and hears
/// `(ws_inbox_atom, tag)` once the actor handled half of it.
class ws_inbox {
public:
  ws_inbox(caf::actor_addr conn, uint32_t tag, uint64_t limit) noexcept
    : conn_(std::move(conn)), tag_(tag), limit_(limit) {}

  /// A message of `n` bytes is about to go to the session actor.
  void add(uint64_t n) noexcept { bytes_.fetch_add(n); }

  /// True while input must wait: at or over the limit. The reader is then
  /// told when the inbox drained below half (exactly once per wait).
  bool full() noexcept;

  /// A message of `n` bytes left the mailbox (any thread).
  void handled(uint64_t n) noexcept;

private:
  std::atomic<uint64_t> bytes_{0};
  std::atomic<bool> waiting_{false}; // the reader waits for the wake-up
  caf::actor_addr conn_;             // weak: the mailbox may outlive it
  uint32_t tag_;
  uint64_t limit_;
};

/// To the connection: `(ws_inbox, tag)`, the session actor caught up.
using ws_inbox_atom = caf::atom_constant<caf::atom("ws_inbox")>;

/// What carries a WebSocket session's bytes: the connection itself after an
/// HTTP/1.1 upgrade (`ws_driver`), or one HTTP/2 stream after an extended
/// CONNECT (`ws_tunnel`, RFC 8441). `close`, `linger` and `abort` end the
/// carrier and stop the session (`ws_session::stop`) before they return.
class ws_carrier {
public:
  enum class flush_result : uint8_t { sent, blocked, ended };

  /// Frame headers and small payloads are appended here.
  virtual std::string& frames() = 0;

  /// A payload that follows what `frames` holds, moved.
  virtual void append(std::string&& payload) = 0;

  /// Bytes queued for the peer and not yet taken (the send buffer).
  virtual uint64_t queued() const noexcept = 0;

  /// Sends what was appended: `blocked` while the peer does not take it
  /// all, `ended` when the carrier failed (and is ended).
  virtual flush_result flush() = 0;

  /// Everything went out: spare buffers can go.
  virtual void idle() noexcept {}

  /// Both close frames went: the server ends first (RFC 6455 7.1.1).
  virtual void close() = 0;

  /// We failed the session; our close frame is queued: end without
  /// letting the peer's late bytes destroy it (RFC 6455 7.1.7).
  virtual void linger() = 0;

  /// Ends now, without the close handshake (timeouts, a vanished peer).
  virtual void abort() = 0;

  /// A timer of the session ran and queued output.
  virtual void after_timer() {}

  /// The session actor caught up with its inbox: take input again.
  virtual void resume_input() = 0;

protected:
  ~ws_carrier() = default;
};

/// One WebSocket session (RFC 6455), whatever carries it: frames in
/// (masked, strictly checked, fragments reassembled, UTF-8 checked across
/// fragments), complete messages to the session actor, messages from any
/// `websocket_handle` out, pings answered, the close handshake in both
/// directions. The upgrading request stays open while the session lives
/// (its admission slot, `request_stop` at the end, with `status`).
/// Runs on: the connection's reactor thread.
class ws_session {
public:
  ws_session(driver_host& host, ws_carrier& carrier,
             std::shared_ptr<const ws_route> route, const open_request& req,
             std::string protocol, std::optional<ws::deflate_params> deflate,
             uint32_t tag, int status);
  ~ws_session();

  ws_session(const ws_session&) = delete;
  ws_session& operator=(const ws_session&) = delete;

  /// Spawns the session actor, arms the timers.
  void start();

  /// Bytes from the peer (unmasked in place). `flush` afterwards.
  void feed(char* data, size_t size);

  /// Input that came with the handshake (HTTP/1.1), kept until `start`.
  void hold_input(std::string leftover) noexcept { in_ = std::move(leftover); }

  /// Processes what `hold_input` kept, then `flush`.
  void feed_held();

  driver_host& host() const noexcept { return *host_; }

  /// False once no more input is wanted (closed, failed, stopped).
  bool wants_input() const noexcept {
    return !done_ && !peer_closed_ && !failed_;
  }

  bool done() const noexcept { return done_; }

  /// True while the session actor has `inbox_buffer` bytes or more to
  /// handle: the carrier takes no input until `resume_input`.
  bool inbox_full() noexcept { return inbox_ && inbox_->full(); }

  void on_drain(int64_t deadline_ms);
  void on_message(caf::message& msg);

  /// Sends what was queued; ends the carrier once the handshake is over.
  void flush();

  /// The session is over: timers off, the request finished, the actor
  /// told. No I/O.
  void stop() noexcept;

private:
  void on_timer();
  void on_ping();
  void on_idle();
  size_t consume(char* data, size_t size);
  void on_frame(const ws::frame_header& fh, char* payload);
  bool start_frame(const ws::frame_header& fh);
  void on_data(const ws::frame_header& fh, char* payload);
  void begin_stream();
  void on_piece(const char* data, size_t size, bool last);
  void send_piece(std::string data, bool last);
  void on_compressed(const ws::frame_header& fh, char* payload);
  void on_close_frame(const char* payload, size_t size);
  void check_full();
  void deliver(std::string data, bool binary);
  const std::shared_ptr<ws_inbox>& inbox();
  void send(ws_message& msg);
  void start_close(uint16_t code, std::string_view reason);
  void fail(uint16_t code, std::string_view reason);
  void check_buffer();
  template <class Atom>
  void notify(Atom what);
  void emit(telemetry_kind kind) noexcept;

  reactor& home() const noexcept { return host_->home(); }
  request_lifecycle& life() const noexcept { return host_->requests(); }

  // A message in progress: fragmented (reassembled here) or streamed (a
  // frame passed on as its bytes arrive). An idle session has none.
  struct partial {
    std::string data;        // reassembled so far (already checked)
    uint64_t streamed = 0;   // bytes of the streamed message so far
    uint64_t frame_left = 0; // payload bytes of the streamed frame to come
    uint64_t frame_off = 0;  // ... and seen (the mask's phase)
    uint8_t mask[4] = {0, 0, 0, 0};
  };

  // The keep-alive timers, only on a route with `ping_interval` or
  // `idle_timeout`.
  struct keepalive {
    explicit keepalive(ws_session* s) noexcept : ping{s}, idle{s} {}
    member_timer<ws_session, &ws_session::on_ping> ping;
    member_timer<ws_session, &ws_session::on_idle> idle;
  };

  partial& part();
  size_t held() const noexcept { return part_ ? part_->data.size() : 0; }
  bool in_frame() const noexcept { return part_ && part_->frame_left > 0; }
  void end_message() noexcept;
  void alive();
  void set_reason(std::string_view reason);

  // What an idle session keeps is what it costs (docs/websocket.md,
  // "Memory"): buffers, a message in progress, keep-alive timers and the
  // close reason are allocated when needed and freed when done.
  driver_host* host_;
  ws_carrier* out_;
  std::shared_ptr<const ws_route> route_;
  kept_request req_;
  std::string protocol_;
  std::string in_; // a partial frame (header and payload); empty when idle
  std::unique_ptr<partial> part_;
  std::unique_ptr<ws::deflate_session> deflate_; // negotiated: RFC 7692
  std::unique_ptr<keepalive> keep_;
  std::unique_ptr<std::string> reason_; // of the close (ws_closed)
  std::shared_ptr<ws_inbox> inbox_;     // from the first message on
  caf::actor session_; // the session actor (null once it ended)
  // The close timeout (after our close frame) or the drain deadline.
  member_timer<ws_session, &ws_session::on_timer> timer_{this};
  uint64_t sent_ = 0;     // payload bytes queued for the peer
  uint64_t dropped_ = 0;  // messages dropped while the buffer was full
  uint64_t received_ = 0; // messages received (telemetry)
  uint32_t tag_;          // the HTTP/2 stream id (0: HTTP/1.1)
  ws::utf8_validator utf8_;
  int16_t status_; // of the upgrading request: 101, or 200 (RFC 8441)
  uint16_t code_ = ws::close_code::abnormal; // for ws_closed
  ws::opcode msg_op_ = ws::opcode::text;
  bool fragmented_ = false; // inside a fragmented message
  bool compressed_ = false; // ... whose first frame had RSV1
  bool close_sent_ = false;
  bool peer_closed_ = false; // the peer's close frame arrived
  bool failed_ = false;      // we failed the connection (1002, 1007, 1009)
  bool full_ = false;        // the session heard ws_full
  bool done_ = false;        // stopped
  // Streaming mode (max_streamed_size): the current message goes to the
  // actor in pieces (ws_fragment); a streamed frame's bytes as they come.
  bool streaming_ = false;
  bool first_piece_ = false;
  bool frame_fin_ = false; // the streamed frame ends its message
};

/// The WebSocket protocol driver after an HTTP/1.1 upgrade: the whole
/// connection carries one `ws_session`.
/// Runs on: the connection's reactor thread.
class ws_driver final : public protocol_driver, public ws_carrier {
public:
  ws_driver(driver_host& host, std::shared_ptr<const ws_route> route,
            const open_request& req, std::string protocol,
            std::optional<ws::deflate_params> deflate, std::string leftover);
  ~ws_driver() override;

  ws_driver(const ws_driver&) = delete;
  ws_driver& operator=(const ws_driver&) = delete;

  // -- protocol_driver ------------------------------------------------------

  void start() override;
  void on_io(uint32_t events) override;
  void on_wake(uint32_t tag) override;
  void on_drain(int64_t deadline_ms) override;
  void on_message(caf::message& msg) override;
  void stop() noexcept override;

  // -- ws_carrier -----------------------------------------------------------

  std::string& frames() override;
  void append(std::string&& payload) override;
  uint64_t queued() const noexcept override;
  flush_result flush() override;
  void idle() noexcept override;
  void close() override;
  void linger() override;
  void abort() override;
  void resume_input() override;

private:
  void read_input();

  driver_host& host() const noexcept { return ws_.host(); }
  transport& io() const noexcept { return ws_.host().io(); }

  ws_session ws_;
};

/// A WebSocket session over one HTTP/2 stream (RFC 8441): the stream's DATA
/// carries the frames both ways. Its output goes to the engine's stream
/// queue (`push`); what the queue refuses (`busy`) waits here until the
/// engine has room. The session ends with END_STREAM (close handshake
/// done, or failed) or RST_STREAM(CANCEL) (timeouts).
/// Runs on: the connection's reactor thread.
class ws_tunnel final : public stream_tunnel, public ws_carrier {
public:
  ws_tunnel(tunnel_host& host, int32_t stream_id,
            std::shared_ptr<const ws_route> route, const open_request& req,
            std::string protocol, std::optional<ws::deflate_params> deflate);
  ~ws_tunnel() override;

  ws_tunnel(const ws_tunnel&) = delete;
  ws_tunnel& operator=(const ws_tunnel&) = delete;

  // -- stream_tunnel --------------------------------------------------------

  void start() override;
  void on_data(std::string& data, bool eof) override;
  void on_writable() override;
  void on_message(caf::message& msg) override;
  void on_drain(int64_t deadline_ms) override;
  void stop() noexcept override;

  // -- ws_carrier -----------------------------------------------------------

  std::string& frames() override { return frames_; }
  void append(std::string&& payload) override;
  uint64_t queued() const noexcept override;
  flush_result flush() override;
  void close() override;
  void linger() override;
  void abort() override;
  void after_timer() override;
  void resume_input() override;

private:
  bool push_held();
  void update_window();
  void finish();

  tunnel_host* host_;
  int32_t id_;
  ws_session ws_;
  std::string frames_;           // appended since the last flush
  std::deque<std::string> held_; // refused by the engine (busy)
  uint64_t held_bytes_ = 0;
  bool finishing_ = false;   // END_STREAM once held_ is sent
  bool ended_ = false;       // END_STREAM or RST_STREAM queued
  bool window_held_ = false; // the peer earns no credit (output blocked)
};

} // namespace roadrunner::detail
