#pragma once

#include <roadrunner/request.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>

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
};

/// Name of a kind ("request_start", ...).
const char* to_string(telemetry_kind x) noexcept;

/// One event. Every view is valid only during the callback; copy what you
/// keep.
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
};

/// A telemetry subscriber. Called on the thread that saw the event (the
/// connection's reactor for request and connection events, the listener's
/// scheduler thread otherwise), so it must be thread-safe and fast; it must
/// not throw. An empty function costs one branch per event.
using telemetry_handler = std::function<void(const telemetry_event&)>;

} // namespace roadrunner
