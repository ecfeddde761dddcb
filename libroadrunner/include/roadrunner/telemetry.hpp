#pragma once

#include <roadrunner/request.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string_view>
#include <type_traits>
#include <utility>
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
  /// What happened.
  telemetry_kind kind = telemetry_kind::request_start;
  /// The listener's name.
  std::string_view listener_name;
  /// Request events: the 16-hex-character request id.
  std::string_view request_id;
  /// Request events: the method.
  std::string_view method;
  /// Request events: the path (without the query).
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

/// The events a subscriber wants: a set of kinds, and whether it reads the
/// request fields the server looks up per request only for it (`host`,
/// `user_agent`, `referer`: header searches). The server builds no event
/// nobody wants and looks up no field nobody reads, so a subscriber that
/// declares a narrow interest (metrics, health, the error log) costs close
/// to nothing on the request path.
class telemetry_interest {
public:
  /// Every kind, with the request fields (what a plain handler gets).
  constexpr telemetry_interest() noexcept = default;

  /// Exactly `kinds`, without the request fields.
  constexpr telemetry_interest(
    std::initializer_list<telemetry_kind> kinds) noexcept
    : bits_(0), fields_(false) {
    for (auto k : kinds)
      bits_ |= bit(k);
  }

  /// No kind at all (what an empty subscriber wants).
  static constexpr telemetry_interest none() noexcept {
    return telemetry_interest{std::initializer_list<telemetry_kind>{}};
  }

  /// This interest plus the request fields.
  constexpr telemetry_interest with_request_fields() const noexcept {
    auto r = *this;
    r.fields_ = true;
    return r;
  }

  /// This interest with `request_start` events of HTTP/2 streams only: a
  /// subscriber that counts open streams (`metrics`) and has no use for
  /// the start of an HTTP/1.x request, whose event is then not even built
  /// unless another subscriber wants it.
  constexpr telemetry_interest http2_starts_only() const noexcept {
    auto r = *this;
    r.http1_starts_ = false;
    return r;
  }

  /// Whether events of kind `k` are wanted (for `request_start`: at least
  /// those of HTTP/2 streams).
  constexpr bool wants(telemetry_kind k) const noexcept {
    return (bits_ & bit(k)) != 0;
  }

  /// Whether `request_start` events of HTTP/1.x requests are wanted.
  constexpr bool http1_starts() const noexcept {
    return wants(telemetry_kind::request_start) && http1_starts_;
  }

  /// Whether this very event is wanted: its kind and, for a
  /// `request_start`, its protocol.
  constexpr bool wants(const telemetry_event& e) const noexcept {
    return wants(e.kind) && (e.kind != telemetry_kind::request_start ||
                             http1_starts_ || e.protocol == "HTTP/2");
  }

  /// Whether the request fields (`host`, `user_agent`, `referer`) are read.
  constexpr bool request_fields() const noexcept { return fields_; }

  /// What either interest wants.
  constexpr telemetry_interest
  operator|(const telemetry_interest& x) const noexcept {
    telemetry_interest r = none();
    r.bits_ = bits_ | x.bits_;
    r.fields_ = fields_ || x.fields_;
    r.http1_starts_ = http1_starts() || x.http1_starts();
    return r;
  }

  /// Same kinds and the same request fields.
  friend constexpr bool operator==(const telemetry_interest&,
                                   const telemetry_interest&) = default;

private:
  static constexpr uint32_t bit(telemetry_kind k) noexcept {
    return uint32_t{1} << static_cast<unsigned>(k);
  }

  uint32_t bits_ = ~uint32_t{0};
  bool fields_ = true;
  bool http1_starts_ = true;
};

/// A telemetry subscriber with its interest: what a listener's `telemetry`
/// option holds. Converts implicitly from any handler (which then wants
/// everything), so `opts.telemetry = [](const telemetry_event& e) {...};`
/// works; library observers (`metrics::observer()`, ...) declare what they
/// read. Empty: no subscriber.
class telemetry_sink {
public:
  telemetry_sink() = default;

  /// `fn` with interest `interest` (an empty `fn` wants nothing).
  telemetry_sink(telemetry_handler fn, telemetry_interest interest = {})
    : fn_(std::move(fn)),
      interest_(fn_ ? interest : telemetry_interest::none()) {}

  /// Any callable taking a `const telemetry_event&`; wants everything.
  template <class F>
  requires(!std::same_as<std::remove_cvref_t<F>, telemetry_sink> &&
           !std::same_as<std::remove_cvref_t<F>, telemetry_handler> &&
           std::is_invocable_v<F&, const telemetry_event&>)
    telemetry_sink(F&& fn) // NOLINT: implicit, like std::function
    : telemetry_sink(telemetry_handler{std::forward<F>(fn)}) {}

  /// Whether there is a subscriber.
  explicit operator bool() const noexcept { return static_cast<bool>(fn_); }

  /// Whether events of kind `k` are wanted.
  bool wants(telemetry_kind k) const noexcept { return interest_.wants(k); }

  /// Whether this very event is wanted (see `telemetry_interest`).
  bool wants(const telemetry_event& e) const noexcept {
    return interest_.wants(e);
  }

  /// The interest declared.
  const telemetry_interest& interest() const noexcept { return interest_; }

  /// Delivers `e` (only when there is a subscriber).
  void operator()(const telemetry_event& e) const { fn_(e); }

  /// The handler (empty when there is none).
  const telemetry_handler& handler() const noexcept { return fn_; }

private:
  telemetry_handler fn_;
  telemetry_interest interest_ = telemetry_interest::none();
};

/// One sink that delivers each event to those of `sinks` that want its
/// kind, in order (empty ones are skipped): how the access log, the error
/// log, metrics and health share a listener's one `telemetry` option. Its
/// interest is the union of theirs. An exception from one sink is
/// swallowed and does not stop the others. With one non-empty sink that sink
/// is returned as is; with none, an empty sink.
telemetry_sink fan_out(std::vector<telemetry_sink> sinks);

} // namespace roadrunner
