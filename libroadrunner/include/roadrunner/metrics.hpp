#pragma once

// Prometheus metrics for one or more listeners, in the text exposition
// format 0.0.4:
//
//     roadrunner::metrics metrics;
//     routes.push_back({.path = "/metrics", .handler = metrics.endpoint(),
//                       .methods = {"GET"}});
//     opts.telemetry = roadrunner::fan_out({metrics.observer(), ...});
//
// Counting costs a few relaxed loads and stores per event and no lock: each
// thread that emits events (each reactor) owns a shard of counters, and a
// scrape sums the shards. See docs/operations.md for the metric names.

#include <roadrunner/router.hpp>
#include <roadrunner/telemetry.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace roadrunner {

namespace detail {
class metrics_registry; // metrics.cpp
} // namespace detail

/// A metrics registry fed by telemetry events, labelled by listener name.
/// Copies share one registry. Thread-safe.
class metrics {
public:
  metrics();

  /// A telemetry handler counting events into the calling thread's shard.
  telemetry_sink observer() const;

  /// A handler answering the exposition (`text/plain; version=0.0.4`): every
  /// counter of every listener seen so far, plus the live gauges of the
  /// listener serving the scrape (active connections, requests in flight,
  /// max_clients, throttled requests), read from its counters.
  handler endpoint() const;

  /// Adds a value read at every scrape, exposed as `name` (no labels) with
  /// `help` and `type` ("counter" or "gauge"), e.g. the access log's
  /// dropped lines. `read` runs on the scraping thread and must be
  /// thread-safe and cheap. `name` must be a valid metric name.
  void add(std::string name, std::string help, std::string type,
           std::function<uint64_t()> read);

  /// The counters as exposition text (without the scraping listener's live
  /// gauges). Sums the shards; takes each shard's lock briefly.
  std::string render() const;

private:
  std::shared_ptr<detail::metrics_registry> impl_;
};

} // namespace roadrunner
