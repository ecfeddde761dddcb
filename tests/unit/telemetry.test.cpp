#include "operators.hpp"
#include <roadrunner/health.hpp>
#include <roadrunner/metrics.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
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

  TEST_CASE("fan_out delivers each event only to the sinks that want it") {
    std::vector<std::string> got;
    auto stops = roadrunner::telemetry_sink{
      [&](const telemetry_event&) { got.emplace_back("stops"); },
      {telemetry_kind::request_stop}};
    auto drains = roadrunner::telemetry_sink{
      [&](const telemetry_event&) { got.emplace_back("drains"); },
      {telemetry_kind::drain_started}};
    auto all = roadrunner::fan_out({stops, drains});
    CHECK(all.wants(telemetry_kind::request_stop));
    CHECK(all.wants(telemetry_kind::drain_started));
    CHECK_FALSE(all.wants(telemetry_kind::request_start));
    CHECK_FALSE(all.interest().request_fields());
    all(optest::stop_event("GET", 200, {}));
    all(optest::event(telemetry_kind::drain_started));
    all(optest::event(telemetry_kind::request_start));
    CHECK(got == std::vector<std::string>{"stops", "drains"});
  }

  TEST_CASE("http2_starts_only: request_start of HTTP/2 streams only") {
    using roadrunner::telemetry_interest;
    auto start = [](std::string_view protocol) {
      auto e = optest::event(telemetry_kind::request_start);
      e.protocol = protocol;
      return e;
    };
    auto narrow = telemetry_interest{telemetry_kind::request_start,
                                     telemetry_kind::request_stop}
                    .http2_starts_only();
    CHECK(narrow.wants(telemetry_kind::request_start));
    CHECK_FALSE(narrow.http1_starts());
    CHECK(narrow.wants(start("HTTP/2")));
    CHECK_FALSE(narrow.wants(start("HTTP/1.1")));
    CHECK_FALSE(narrow.wants(start("HTTP/1.0")));
    CHECK(narrow.wants(optest::stop_event("GET", 200, {})));
    // Without request_start at all, no start is wanted on any protocol.
    auto stops = telemetry_interest{telemetry_kind::request_stop};
    CHECK_FALSE(stops.http1_starts());
    CHECK_FALSE(stops.wants(start("HTTP/2")));
    // The union wants HTTP/1.x starts when one side does.
    CHECK_FALSE((narrow | stops).http1_starts());
    CHECK((narrow | telemetry_interest{}).http1_starts());
    CHECK((narrow | telemetry_interest{telemetry_kind::request_start})
            .http1_starts());
    // fan_out hands an HTTP/1.1 start to the sink that wants it and not to
    // the HTTP/2-only one; HTTP/2 starts go to both.
    std::vector<std::string> got;
    auto all = roadrunner::fan_out(
      {{[&](const telemetry_event& e) {
          got.push_back("h2only " + std::string{e.protocol});
        },
        narrow},
       {[&](const telemetry_event& e) {
          got.push_back("all " + std::string{e.protocol});
        },
        {telemetry_kind::request_start}}});
    CHECK(all.interest().http1_starts());
    all(start("HTTP/1.1"));
    all(start("HTTP/2"));
    CHECK(got == std::vector<std::string>{"all HTTP/1.1", "h2only HTTP/2",
                                          "all HTTP/2"});
    roadrunner::metrics m;
    CHECK_FALSE(m.observer().interest().http1_starts());
    CHECK(m.observer().wants(start("HTTP/2")));
  }

  TEST_CASE("a plain handler wants every kind and the request fields") {
    roadrunner::telemetry_sink plain = [](const telemetry_event&) {};
    CHECK(plain.wants(telemetry_kind::request_start));
    CHECK(plain.wants(telemetry_kind::accept_error));
    CHECK(plain.interest().request_fields());
    roadrunner::telemetry_sink empty;
    CHECK_FALSE(empty.wants(telemetry_kind::request_stop));
    roadrunner::telemetry_sink none{roadrunner::telemetry_handler{}};
    CHECK_FALSE(none);
    CHECK_FALSE(none.wants(telemetry_kind::request_stop));
    // One sink reading the fields makes the union read them.
    auto fields = roadrunner::telemetry_interest{telemetry_kind::request_stop}
                    .with_request_fields();
    auto u = roadrunner::fan_out(
      {{[](const telemetry_event&) {}, fields},
       {[](const telemetry_event&) {}, {telemetry_kind::drain_started}}});
    CHECK(u.interest().request_fields());
  }

  TEST_CASE("the library observers declare narrow interests") {
    roadrunner::metrics m;
    roadrunner::health h;
    CHECK_FALSE(m.observer().interest().request_fields());
    CHECK(m.observer().wants(telemetry_kind::request_stop));
    CHECK_FALSE(m.observer().wants(telemetry_kind::slots_reconciled));
    CHECK(h.observer().wants(telemetry_kind::drain_started));
    CHECK_FALSE(h.observer().wants(telemetry_kind::request_stop));
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
