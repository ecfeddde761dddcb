#pragma once

// Health endpoints for load balancers and orchestrators:
//
//     roadrunner::health health;
//     routes.push_back({.path = "/healthz", .handler = health.healthz()});
//     routes.push_back({.path = "/readyz", .handler = health.readyz()});
//     opts.telemetry = roadrunner::fan_out({health.observer(), ...});
//
// `/healthz` answers 200 while the process serves requests at all (a
// liveness probe). `/readyz` answers 200 while the listener accepts and 503
// once a drain starts, so a balancer stops sending new connections before
// the listening socket goes away.

#include <roadrunner/router.hpp>
#include <roadrunner/telemetry.hpp>

#include <atomic>
#include <memory>

namespace roadrunner {

/// Liveness and readiness of one listener (or of several that share it).
/// Copies share one state. Thread-safe: every member may be called from any
/// thread; the handlers cost one relaxed atomic load.
class health {
public:
  health();

  /// A telemetry handler that turns readiness off when a drain starts
  /// (`drain_started`). Combine it with others with `fan_out`.
  telemetry_sink observer() const;

  /// GET /healthz: 200 "ok\n" (text/plain), never cached.
  handler healthz() const;

  /// GET /readyz: 200 "ready\n" while ready, else 503 "draining\n" with
  /// `retry-after: 1`; never cached.
  handler readyz() const;

  /// Whether `readyz` answers 200 (true at construction).
  bool ready() const noexcept;

  /// Sets readiness by hand, e.g. false while a cache warms up or before a
  /// planned drain.
  void ready(bool value) noexcept;

private:
  std::shared_ptr<std::atomic<bool>> ready_;
};

} // namespace roadrunner
