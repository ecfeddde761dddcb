#pragma once

#include <roadrunner/http1/parser.hpp>
#include <roadrunner/options.hpp>
#include <roadrunner/stats.hpp>

#include <caf/atom.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace roadrunner::detail {

/// What one listener's acceptors and connections share: the validated
/// options (immutable after start), the resolved handler and the counters.
struct listener_shared {
  std::string name;
  listener_options opts;
  http1::limits limits;
  handler dispatch;
  listener_stats stats;
};

using listener_shared_ptr = std::shared_ptr<listener_shared>;

/// Acceptor -> listener during a drain: one of my connections ended.
using conn_down_atom = caf::atom_constant<caf::atom("conn_down")>;

/// Listener -> itself: the drain deadline passed.
using drain_deadline_atom = caf::atom_constant<caf::atom("drain_dl")>;

/// Monotonic milliseconds (CLOCK_MONOTONIC), the clock of drain deadlines:
/// the same on every thread, so a deadline computed by the listener means
/// the same instant to every connection.
int64_t monotonic_ms() noexcept;

} // namespace roadrunner::detail
