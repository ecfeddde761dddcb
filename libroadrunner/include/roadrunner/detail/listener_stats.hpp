#pragma once

// Not API: the server's side of the listener counters (what `info` reads).
// Users read `listener_info` snapshots (`request::listener_stats()`, the
// listener's `info` message); only the server moves these counters.

#include <roadrunner/stats.hpp>

#include <atomic>
#include <cstdint>

namespace roadrunner::detail {

/// The live counters of one listener, shared by its listener, acceptor and
/// connection actors (lock-free; relaxed ordering, eventually consistent).
struct listener_stats {
  std::atomic<int64_t> active_clients{0};
  std::atomic<uint64_t> requests_served{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<int64_t> in_flight{0};
  std::atomic<uint64_t> throttled{0};
  /// Counts every slot taken or given back: reconciliation uses it to tell
  /// a quiet snapshot (nothing moved while it counted) from a busy one.
  std::atomic<uint64_t> slot_events{0};
  /// `max_concurrent_requests`; 0 = infinity. Changed at run time by the
  /// listener's `max_concurrent_requests` message.
  std::atomic<uint64_t> max_concurrent_requests{0};
  std::atomic<uint64_t> hibernations{0};
  /// WebSocket sessions open right now.
  std::atomic<int64_t> websocket_sessions{0};
  /// See `listener_info::proxy_rejected`.
  std::atomic<uint64_t> proxy_rejected{0};
  uint64_t max_clients = 0;

  /// Reads every counter once.
  listener_info snapshot() const noexcept {
    auto active = active_clients.load(std::memory_order_relaxed);
    auto busy = in_flight.load(std::memory_order_relaxed);
    auto ws = websocket_sessions.load(std::memory_order_relaxed);
    return listener_info{
      active > 0 ? static_cast<uint64_t>(active) : 0,
      max_clients,
      requests_served.load(std::memory_order_relaxed),
      rejected.load(std::memory_order_relaxed),
      busy > 0 ? static_cast<uint64_t>(busy) : 0,
      max_concurrent_requests.load(std::memory_order_relaxed),
      throttled.load(std::memory_order_relaxed),
      hibernations.load(std::memory_order_relaxed),
      ws > 0 ? static_cast<uint64_t>(ws) : 0,
      proxy_rejected.load(std::memory_order_relaxed)};
  }

  /// Takes a connection slot unless `max_clients` is reached. Lock-free; a
  /// burst may overshoot the cap by the number of concurrent acceptors for an
  /// instant, but never stays above it.
  bool try_acquire_slot() noexcept {
    auto now = active_clients.fetch_add(1, std::memory_order_acq_rel) + 1;
    if (static_cast<uint64_t>(now) <= max_clients) {
      slot_events.fetch_add(1, std::memory_order_acq_rel);
      return true;
    }
    active_clients.fetch_sub(1, std::memory_order_acq_rel);
    rejected.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  /// Admits a request unless `max_concurrent_requests` is reached (the
  /// livery seed): lock-free, one atomic add. The bound is soft — requests
  /// admitted at the same instant on different reactors may pass it by a
  /// few — and a refusal counts as `throttled`. Every admitted request must
  /// call `finish_request` exactly once.
  bool try_admit() noexcept {
    auto cap = max_concurrent_requests.load(std::memory_order_relaxed);
    auto now = in_flight.fetch_add(1, std::memory_order_acq_rel) + 1;
    if (cap == 0 || static_cast<uint64_t>(now) <= cap)
      return true;
    in_flight.fetch_sub(1, std::memory_order_acq_rel);
    throttled.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  /// Ends an admitted request.
  void finish_request() noexcept {
    in_flight.fetch_sub(1, std::memory_order_acq_rel);
  }

  /// Gives a slot back. Called exactly once per acquired slot.
  void release_slot() noexcept {
    active_clients.fetch_sub(1, std::memory_order_acq_rel);
    slot_events.fetch_add(1, std::memory_order_acq_rel);
  }
};

} // namespace roadrunner::detail
