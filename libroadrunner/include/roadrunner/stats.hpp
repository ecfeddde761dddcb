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
  /// Requests being handled right now (admitted, not finished).
  uint64_t in_flight = 0;
  /// The `max_concurrent_requests` cap; 0 means infinity (no cap).
  uint64_t max_concurrent_requests = 0;
  /// Requests refused with 503 because the cap was reached.
  uint64_t throttled = 0;
  /// Times an idle connection hibernated (`hibernate_after`).
  uint64_t hibernations = 0;
  /// Connections closed because their PROXY protocol header was missing,
  /// malformed, oversized or late (`proxy_protocol`).
  uint64_t proxy_rejected = 0;
};

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
  uint64_t max_clients = 0;
  /// See `listener_info::proxy_rejected`.
  std::atomic<uint64_t> proxy_rejected{0};

  /// Reads every counter once.
  listener_info snapshot() const noexcept {
    auto active = active_clients.load(std::memory_order_relaxed);
    auto busy = in_flight.load(std::memory_order_relaxed);
    return listener_info{
      active > 0 ? static_cast<uint64_t>(active) : 0,
      max_clients,
      requests_served.load(std::memory_order_relaxed),
      rejected.load(std::memory_order_relaxed),
      busy > 0 ? static_cast<uint64_t>(busy) : 0,
      max_concurrent_requests.load(std::memory_order_relaxed),
      throttled.load(std::memory_order_relaxed),
      hibernations.load(std::memory_order_relaxed),
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

} // namespace roadrunner

namespace roadrunner {

/// Slot reconciliation's two-tick filter (the seed's reconcile_slots):
/// each tick compares the live-connection counter with the number of
/// connection actors actually alive and releases only the part of the
/// difference that was already there on the previous tick, so a connection
/// counted but not registered yet (a spawn in progress) is never reaped.
/// A tick whose counts were taken while slots moved (`quiet == false`: a
/// connection opened or closed between counting the actors and reading the
/// counter) proves nothing and starts the filter over.
class slot_reconciler {
public:
  /// Returns how many slots to release now.
  uint64_t tick(int64_t counter, uint64_t alive, bool quiet = true) noexcept {
    if (!quiet) {
      prev_diff_ = 0;
      return 0;
    }
    uint64_t diff = counter > 0 && static_cast<uint64_t>(counter) > alive
                      ? static_cast<uint64_t>(counter) - alive
                      : 0;
    auto release = prev_diff_ < diff ? prev_diff_ : diff;
    prev_diff_ = diff - release;
    return release;
  }

private:
  uint64_t prev_diff_ = 0;
};

} // namespace roadrunner
