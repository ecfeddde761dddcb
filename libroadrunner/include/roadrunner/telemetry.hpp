#pragma once

#include <roadrunner/request.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace roadrunner {

/// What happened. Mirrors the upstream telemetry events.
enum class telemetry_kind : uint8_t {
  /// A request's head parsed; the handler is about to run.
  request_start,
  /// A response was queued: `status`, `duration` since request_start.
  request_stop,
  /// The handler threw: `reason` is what() (or "unknown exception"); a 500
  /// follows.
  request_exception,
  /// A request was refused before any handler ran: `status` (400, 408,
  /// 413, 414, 431, 501, 505) and `reason` (e.g. "obs_fold",
  /// "request_timeout").
  request_rejected,
  /// A connection got a slot and its actor.
  connection_accepted,
  /// A connection ended: `count` is the number of requests it served.
  connection_closed,
  /// A connection was closed at once: `reason` is "max_clients".
  connection_rejected,
  /// Slot reconciliation released `count` orphaned slots.
  slots_reconciled,
  /// A drain began.
  drain_started,
  /// A drain ended: `count` connections were still alive at the deadline
  /// (0 when drained).
  drain_finished,
  /// A TLS handshake completed: `peer`, `protocol` is the ALPN choice
  /// ("h2", "http/1.1"; empty without ALPN).
  tls_handshake_completed,
  /// A TLS handshake failed or timed out: `peer`, `reason` (OpenSSL's
  /// reason string, or "handshake_timeout").
  tls_handshake_failed,
  /// An HTTP/2 connection ended with an error: `peer`, `error_code` is the
  /// GOAWAY error code sent (RFC 9113 7, e.g. 1 PROTOCOL_ERROR), `reason`
  /// nghttp2's text.
  http2_connection_error,
  /// accept(2) failed on the listening socket: `error_code` is errno
  /// (EMFILE, ENFILE, ENOBUFS, ...), `reason` its strerror text.
  accept_error,
  /// A WebSocket session opened (issue 15): request fields of the
  /// upgrading request, `peer`, `protocol` is the chosen subprotocol.
  websocket_open,
  /// A WebSocket session ended: `peer`, `error_code` is the close code
  /// (1006: no close frame), `reason` the close reason, `count` the
  /// messages received.
  websocket_close,
};

/// Name of a kind ("request_start", ...).
const char* to_string(telemetry_kind x) noexcept;

/// One event. Every view is valid only during the callback; copy what you
/// keep. A field an emitter does not know stays at its default (empty view,
/// 0, nullptr); log sinks print such a field as "-".
struct telemetry_event {
  telemetry_kind kind = telemetry_kind::request_start;
  /// The listener's name.
  std::string_view listener_name;
  /// Request events: the 16-hex-character request id, method and path.
  std::string_view request_id;
  std::string_view method;
  std::string_view path;
  /// Request and connection events: the peer (nullptr otherwise).
  const peer_address* peer = nullptr;
  /// request_stop / request_rejected: the status sent.
  int status = 0;
  /// Rejections, exceptions: a short reason.
  std::string_view reason;
  /// request_stop: time since request_start.
  std::chrono::nanoseconds duration{0};
  /// connection_closed: requests served; slots_reconciled: slots released;
  /// drain_finished: connections left at the deadline.
  uint64_t count = 0;
  /// Request events: the query after '?' (empty when none), so that
  /// `path` + '?' + `query` is the target as sent.
  std::string_view query;
  /// Request events: "HTTP/1.0", "HTTP/1.1" or "HTTP/2";
  /// tls_handshake_completed: the ALPN protocol id.
  std::string_view protocol;
  /// Request events: the Host header (HTTP/1) or :authority (HTTP/2).
  std::string_view host;
  /// Request events: the User-Agent header.
  std::string_view user_agent;
  /// Request events: the Referer header.
  std::string_view referer;
  /// request_stop: bytes of the request as received (head and body).
  uint64_t bytes_received = 0;
  /// request_stop: bytes of the response queued (head and body, before
  /// TLS), as nginx's $bytes_sent.
  uint64_t bytes_sent = 0;
  /// request_stop: bytes of the response body, as nginx's
  /// $body_bytes_sent (the common log format's size field).
  uint64_t body_bytes_sent = 0;
  /// http2_connection_error: the GOAWAY error code; accept_error: errno.
  int64_t error_code = 0;
};

/// A telemetry subscriber. Called on the thread that saw the event (the
/// connection's reactor for request and connection events, the listener's
/// scheduler thread otherwise), so it must be thread-safe and fast; it must
/// not throw. An empty function costs one branch per event.
using telemetry_handler = std::function<void(const telemetry_event&)>;

/// One handler that calls each of `handlers` in order (empty ones are
/// skipped): how the access log, the error log, metrics and health share a
/// listener's one `telemetry` option. An exception from one handler is
/// swallowed and does not stop the others. With one non-empty handler that
/// handler is returned as is; with none, an empty handler (so the listener
/// keeps its one-branch fast path).
telemetry_handler fan_out(std::vector<telemetry_handler> handlers);

} // namespace roadrunner
