// Telemetry: a callback and an actor subscriber see request, connection and
// drain events, with request ids.

#include "fixture.hpp"
#include "net.hpp"
#include <roadrunner/roadrunner.hpp>

#include <doctest/doctest.h>

#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace rrtest;
using namespace roadrunner;

namespace {

// Collects events from reactor threads (the callback must be thread-safe).
struct collector {
  std::mutex mtx;
  std::vector<std::string> lines;

  telemetry_handler handler() {
    return [this](const telemetry_event& e) {
      std::string line = to_string(e.kind);
      if (e.kind == telemetry_kind::request_start ||
          e.kind == telemetry_kind::request_stop) {
        line += " " + std::string{e.method} + " " + std::string{e.path};
        CHECK(e.request_id.size() == 16);
      }
      if (e.status != 0)
        line += " " + std::to_string(e.status);
      if (!e.reason.empty())
        line += " " + std::string{e.reason};
      if (e.kind == telemetry_kind::connection_closed ||
          e.kind == telemetry_kind::drain_finished)
        line += " count=" + std::to_string(e.count);
      CHECK(e.listener_name == "test");
      std::lock_guard<std::mutex> guard{mtx};
      lines.push_back(std::move(line));
    };
  }

  std::vector<std::string> snapshot() {
    std::lock_guard<std::mutex> guard{mtx};
    return lines;
  }
};

response app(request& req) {
  if (req.path() == "/boom")
    throw std::runtime_error("kaputt");
  return response::text(200, "ok");
}

// The next record the test actor receives (none within 5 s: nullopt).
std::optional<telemetry_record> first_record(fixture& fx) {
  std::optional<telemetry_record> got;
  fx.self->receive([&](telemetry_record& r) { got = std::move(r); },
                   caf::after(std::chrono::seconds(5)) >> [] {});
  return got;
}

} // namespace

TEST_SUITE("actors.telemetry") {

  TEST_CASE("a callback sees requests, rejections, connections and the drain") {
    collector col;
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = app;
    opts.max_clients = 1;
    opts.telemetry = col.handler();
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    {
      client c{port};
      REQUIRE(c.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n"));
      REQUIRE(c.read_response());
      REQUIRE(c.send("GET /boom HTTP/1.1\r\nHost: t\r\n\r\n"));
      REQUIRE(c.read_response());
      client over{port}; // max_clients = 1
      CHECK(over.closed_by_peer());
      REQUIRE(c.send("GET / HTTP/1.1\r\nHost: t\r\n bad\r\n\r\n"));
      REQUIRE(c.read_response());
      CHECK(c.closed_by_peer());
    }
    REQUIRE(fx.await_active(l, 0));
    auto res = fx.ask<drain_result>(l, drain_atom::value,
                                    caf::timespan{std::chrono::seconds(5)});
    CHECK(res.drained);
    fx.started.clear();
    auto lines = col.snapshot();
    std::vector<std::string> expected{
      "connection_accepted",
      "request_start GET /a",
      "request_stop GET /a 200",
      "request_start GET /boom",
      "request_exception kaputt",
      "request_stop GET /boom 500",
      "connection_rejected max_clients",
      "request_rejected 400 obs_fold",
      "connection_closed count=2",
      "drain_started",
      "drain_finished count=0",
    };
    CHECK(lines == expected);
  }

  TEST_CASE("telemetry_to sends records to an actor") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = app;
    opts.telemetry = telemetry_to(caf::actor_cast<caf::actor>(fx.self));
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    REQUIRE(c.send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n"));
    REQUIRE(c.read_response());
    std::vector<telemetry_record> got;
    for (int i = 0; i < 3; ++i)
      fx.self->receive(
        [&](telemetry_record& r) { got.push_back(std::move(r)); },
        caf::after(std::chrono::seconds(5)) >> [] {});
    REQUIRE(got.size() == 3);
    CHECK(got[0].kind == telemetry_kind::connection_accepted);
    CHECK(got[0].peer_ip == "127.0.0.1");
    CHECK(got[1].kind == telemetry_kind::request_start);
    CHECK(got[2].kind == telemetry_kind::request_stop);
    CHECK(got[2].status == 200);
    CHECK(got[2].path == "/x");
    CHECK(got[1].request_id == got[2].request_id);
    CHECK(got[2].request_id.size() == 16);
    CHECK(got[2].duration_ns >= 0);
    CHECK(got[2].listener_name == "test");
  }

  TEST_CASE("a narrow interest gets only its kinds, and fields only if asked") {
    for (bool fields : {false, true}) {
      CAPTURE(fields);
      fixture fx;
      auto opts = fixture::loopback();
      opts.routes = app;
      auto interest = telemetry_interest{telemetry_kind::request_stop};
      if (fields)
        interest = interest.with_request_fields();
      opts.telemetry =
        telemetry_to(caf::actor_cast<caf::actor>(fx.self), interest);
      auto l = fx.start(opts);
      client c{fx.port_of(l)};
      REQUIRE(c.send("GET /x?q=1 HTTP/1.1\r\nHost: h.example\r\n"
                     "User-Agent: ua/1\r\nReferer: http://r/\r\n\r\n"));
      REQUIRE(c.read_response());
      // The first record must be the request_stop: no connection_accepted
      // or request_start was sent before it.
      auto first = first_record(fx);
      REQUIRE(first);
      auto& got = *first;
      CHECK(got.kind == telemetry_kind::request_stop);
      CHECK(got.status == 200);
      CHECK(got.query == "q=1");
      CHECK(got.protocol == "HTTP/1.1");
      CHECK(got.bytes_sent > got.body_bytes_sent);
      CHECK(got.host == (fields ? "h.example" : ""));
      CHECK(got.user_agent == (fields ? "ua/1" : ""));
      CHECK(got.referer == (fields ? "http://r/" : ""));
    }
  }

  TEST_CASE("an HTTP/2-only start interest gets no HTTP/1.1 request_start") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = app;
    opts.telemetry =
      telemetry_to(caf::actor_cast<caf::actor>(fx.self),
                   telemetry_interest{telemetry_kind::request_start,
                                      telemetry_kind::request_stop}
                     .http2_starts_only());
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    REQUIRE(c.send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n"));
    REQUIRE(c.read_response());
    // The first record must be the request_stop: the start was not sent.
    auto got = first_record(fx);
    REQUIRE(got);
    CHECK(got->kind == telemetry_kind::request_stop);
    CHECK(got->protocol == "HTTP/1.1");
  }

} // TEST_SUITE
