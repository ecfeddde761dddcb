#include "operators.hpp"
#include <roadrunner/health.hpp>

#include <doctest/doctest.h>

using roadrunner::telemetry_kind;

TEST_SUITE("health") {

  TEST_CASE("readyz is 200 until a drain starts, then 503 with retry-after") {
    roadrunner::health health;
    auto observe = health.observer();
    auto readyz = health.readyz();
    optest::fake_request r{"/readyz"};
    auto before = readyz(r.req);
    CHECK(before.status() == 200);
    CHECK(before.body() == "ready\n");
    // Other events leave readiness alone.
    observe(optest::stop_event("GET", 200, {}));
    observe(optest::event(telemetry_kind::drain_finished));
    CHECK(readyz(r.req).status() == 200);
    observe(optest::event(telemetry_kind::drain_started));
    CHECK_FALSE(health.ready());
    auto after = readyz(r.req);
    CHECK(after.status() == 503);
    CHECK(after.body() == "draining\n");
    bool retry = false;
    for (auto& f : after.fields())
      retry = retry || (f.name == "retry-after" && f.value == "1");
    CHECK(retry);
  }

  TEST_CASE("healthz stays 200 through a drain") {
    roadrunner::health health;
    optest::fake_request r{"/healthz"};
    health.observer()(optest::event(telemetry_kind::drain_started));
    auto res = health.healthz()(r.req);
    CHECK(res.status() == 200);
    CHECK(res.body() == "ok\n");
  }

  TEST_CASE("readiness can be set by hand, and copies share it") {
    roadrunner::health health;
    auto copy = health;
    copy.ready(false);
    CHECK_FALSE(health.ready());
    optest::fake_request r{"/readyz"};
    CHECK(health.readyz()(r.req).status() == 503);
    health.ready(true);
    CHECK(copy.readyz()(r.req).status() == 200);
  }
}
