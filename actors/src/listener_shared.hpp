#pragma once

#include <roadrunner/http1/parser.hpp>
#include <roadrunner/options.hpp>
#include <roadrunner/stats.hpp>

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

} // namespace roadrunner::detail
