#pragma once

#include <cstdint>

namespace roadrunner {

/// A snapshot of a listener's counters, as answered to `info`.
struct listener_info {
  /// Connections currently holding a slot.
  uint64_t active_clients = 0;
  /// The configured `max_clients` cap.
  uint64_t max_clients = 0;
  /// Requests whose head parsed since the listener started (RFC-valid or
  /// not routed: 404 and 413 count; wire-level parse failures do not).
  uint64_t requests_served = 0;
  /// Connections closed at once because `max_clients` was reached.
  uint64_t rejected = 0;
  /// Requests being handled right now (admitted, not finished).
  uint64_t in_flight = 0;
  /// The `max_concurrent_requests` cap; 0 means infinity (no cap).
  uint64_t max_concurrent_requests = 0;
  /// Requests refused with 503 because the cap was reached.
  uint64_t throttled = 0;
  /// Times an idle connection hibernated (`hibernate_after`).
  uint64_t hibernations = 0;
  /// WebSocket sessions open right now (issue 15).
  uint64_t websocket_sessions = 0;
  /// Connections closed because their PROXY protocol header was missing,
  /// malformed, oversized or late (`proxy_protocol`).
  uint64_t proxy_rejected = 0;
};

} // namespace roadrunner
