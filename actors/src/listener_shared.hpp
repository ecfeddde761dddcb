#pragma once

#include "http1/parser.hpp"
#include "io/body_store.hpp"
#include "tls/context.hpp"
#include <roadrunner/detail/listener_stats.hpp>
#include <roadrunner/options.hpp>
#include <roadrunner/router.hpp>

#include <caf/atom.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace roadrunner::detail {

/// What one listener's acceptors and connections share: the validated
/// options (immutable after start), the resolved handler and the counters.
struct listener_shared {
  std::string name;
  /// The options without `routes`: the start-time route list lives only in
  /// the table compiled from it, so a `reload_routes` frees it (and ends the
  /// handler actors it held) once no connection holds that table.
  listener_options opts;
  /// `opts.routes` was a route list (the only form `reload_routes` takes).
  bool reloadable = false;
  http1::limits limits;
  detail::listener_stats stats;
  /// The TLS context, built once at start and shared read-only by every
  /// connection on every reactor; null for plain TCP.
  tls::context_ptr tls;
  /// Plain TCP with `protocols = [http2]`: h2c with prior knowledge.
  bool h2c = false;
  /// Request body bytes in memory against `opts.body_memory_budget`, and
  /// where bodies past it are spooled (issue 18; set at start).
  std::unique_ptr<io::body_budget> body_budget;
  io::body_policy bodies;

  /// Sends `e` to the telemetry subscriber, if it wants that event (never
  /// throws).
  void emit(telemetry_event& e) const noexcept {
    if (!opts.telemetry.wants(e))
      return;
    e.listener_name = name;
    try {
      opts.telemetry(e);
    } catch (...) {
      // A subscriber must not take the server down.
    }
  }

  // -- routes (RCU: readers keep the table they loaded) ---------------------

  /// The current table. A connection compares `routes_version` (one atomic
  /// load per request, no lock) with the version of the table it holds and
  /// loads the new one only after a `reload_routes`.
  std::shared_ptr<const compiled_routes> load_routes() const {
    std::lock_guard<std::mutex> guard{routes_mtx_};
    return routes_;
  }

  void store_routes(std::shared_ptr<const compiled_routes> table) {
    std::lock_guard<std::mutex> guard{routes_mtx_};
    routes_ = std::move(table);
    routes_version.fetch_add(1, std::memory_order_release);
  }

  std::atomic<uint64_t> routes_version{0};

private:
  mutable std::mutex routes_mtx_;
  std::shared_ptr<const compiled_routes> routes_;
};

using listener_shared_ptr = std::shared_ptr<listener_shared>;

/// Acceptor -> listener during a drain: one of my connections ended.
using conn_down_atom = caf::atom_constant<caf::atom("conn_down")>;

/// Listener -> acceptor: how many connections do you hold?
using conn_count_atom = caf::atom_constant<caf::atom("conn_count")>;

/// Listener -> itself: time for slot reconciliation.
using reconcile_atom = caf::atom_constant<caf::atom("reconcile")>;

/// Listener -> itself: the drain deadline passed.
using drain_deadline_atom = caf::atom_constant<caf::atom("drain_dl")>;

/// Monotonic milliseconds (CLOCK_MONOTONIC), the clock of drain deadlines:
/// the same on every thread, so a deadline computed by the listener means
/// the same instant to every connection.
int64_t monotonic_ms() noexcept;

} // namespace roadrunner::detail
