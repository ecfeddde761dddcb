#pragma once

#include <atomic>
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
};

/// The live counters of one listener, shared by its listener, acceptor and
/// connection actors (lock-free; relaxed ordering, eventually consistent).
struct listener_stats {
  std::atomic<int64_t> active_clients{0};
  std::atomic<uint64_t> requests_served{0};
  std::atomic<uint64_t> rejected{0};
  uint64_t max_clients = 0;

  /// Reads every counter once.
  listener_info snapshot() const noexcept {
    auto active = active_clients.load(std::memory_order_relaxed);
    return listener_info{active > 0 ? static_cast<uint64_t>(active) : 0,
                         max_clients,
                         requests_served.load(std::memory_order_relaxed),
                         rejected.load(std::memory_order_relaxed)};
  }

  /// Takes a connection slot unless `max_clients` is reached. Lock-free; a
  /// burst may overshoot the cap by the number of concurrent acceptors for an
  /// instant, but never stays above it.
  bool try_acquire_slot() noexcept {
    auto now = active_clients.fetch_add(1, std::memory_order_acq_rel) + 1;
    if (static_cast<uint64_t>(now) <= max_clients)
      return true;
    active_clients.fetch_sub(1, std::memory_order_acq_rel);
    rejected.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  /// Gives a slot back. Called exactly once per acquired slot.
  void release_slot() noexcept {
    active_clients.fetch_sub(1, std::memory_order_acq_rel);
  }
};

} // namespace roadrunner
