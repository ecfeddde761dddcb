#include "operators.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <vector>

using roadrunner::telemetry_event;
using roadrunner::telemetry_kind;

TEST_SUITE("telemetry") {

  TEST_CASE("fan_out calls every handler in order, skipping empty ones") {
    std::vector<int> calls;
    auto h = roadrunner::fan_out(
      {[&](const telemetry_event&) { calls.push_back(1); },
       {},
       [&](const telemetry_event& e) { calls.push_back(e.status); }});
    auto e = optest::stop_event("GET", 200, {});
    h(e);
    CHECK(calls == std::vector<int>{1, 200});
  }

  TEST_CASE("a throwing handler does not silence the ones after it") {
    int after = 0;
    auto h = roadrunner::fan_out(
      {[](const telemetry_event&) { throw std::runtime_error{"boom"}; },
       [&](const telemetry_event&) { ++after; }});
    CHECK_NOTHROW(h(optest::stop_event("GET", 200, {})));
    CHECK(after == 1);
  }

  TEST_CASE("no handlers stay empty; one is passed through") {
    CHECK_FALSE(roadrunner::fan_out({}));
    CHECK_FALSE(roadrunner::fan_out({{}, {}}));
    int n = 0;
    auto one = roadrunner::fan_out({{}, [&](const telemetry_event&) { ++n; }});
    REQUIRE(one);
    one(optest::event(telemetry_kind::drain_started));
    CHECK(n == 1);
  }

  TEST_CASE("every kind has a name") {
    for (auto k :
         {telemetry_kind::tls_handshake_completed,
          telemetry_kind::tls_handshake_failed,
          telemetry_kind::http2_connection_error, telemetry_kind::accept_error})
      CHECK(std::string_view{roadrunner::to_string(k)} != "unknown");
    CHECK(std::string_view{
            roadrunner::to_string(telemetry_kind::http2_connection_error)} ==
          "http2_connection_error");
  }
}
