#pragma once

#include <cstdint>

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
