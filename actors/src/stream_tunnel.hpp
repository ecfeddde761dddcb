#pragma once

#include <cstdint>
#include <string>

namespace caf {
class message;
} // namespace caf

namespace roadrunner::http2 {
class session;
} // namespace roadrunner::http2

namespace roadrunner::detail {

class driver_host;

/// What a tunnel may ask of the HTTP/2 driver whose stream carries it
/// (RFC 8441: a WebSocket over one stream of an HTTP/2 connection).
class tunnel_host {
public:
  /// The connection (reactor, lifecycle, listener state).
  virtual driver_host& conn() noexcept = 0;

  /// The connection's HTTP/2 engine: a tunnel queues its bytes with
  /// `push` and ends its stream with `finish` or `reset`.
  virtual http2::session& h2() noexcept = 0;

  /// Sends what tunnels queued on the engine. Only from a timer callback
  /// of the tunnel (never from inside `on_data`, `on_writable`,
  /// `on_message` or `on_drain`: the driver sends after those itself).
  virtual void tunnel_flush() = 0;

protected:
  ~tunnel_host() = default;
};

/// A protocol carried by one HTTP/2 stream after an extended CONNECT was
/// answered 200 (RFC 8441 4). The HTTP/2 driver owns it from then until the
/// stream closes, and routes the stream's DATA, its room for more output
/// and the connection actor's messages `(atom, uint32_t stream_id, ...)` to
/// it. Runs on: the connection's reactor thread.
class stream_tunnel {
public:
  virtual ~stream_tunnel() = default;

  /// The 200 is queued: begin.
  virtual void start() = 0;

  /// DATA from the peer (`data` may be modified and is cleared by the
  /// caller afterwards); `eof`: the peer ended its side (END_STREAM).
  virtual void on_data(std::string& data, bool eof) = 0;

  /// The engine has room for more of this stream's output.
  virtual void on_writable() = 0;

  /// A message for this stream (its second element is the stream id).
  virtual void on_message(caf::message& msg) = 0;

  /// The listener drains.
  virtual void on_drain(int64_t deadline_ms) = 0;

  /// The stream closed (or the connection ends): no I/O any more.
  virtual void stop() noexcept = 0;
};

} // namespace roadrunner::detail
