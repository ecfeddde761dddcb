// Per-request admission (max_concurrent_requests), info fields and slot
// reconciliation through a real listener.

#include "fixture.hpp"
#include "net.hpp"
#include <roadrunner/roadrunner.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace rrtest;
using namespace roadrunner;

namespace {

response done(request&) {
  return response::text(200, "done");
}

} // namespace

TEST_SUITE("actors.admission") {

  TEST_CASE("info reports the admission fields; the cap changes at run time") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.max_concurrent_requests = 8;
    auto l = fx.start(opts);
    auto info = fx.info_of(l);
    CHECK(info.max_concurrent_requests == 8);
    CHECK(info.in_flight == 0);
    CHECK(info.throttled == 0);
    fx.ask<caf::ok_atom>(l, max_requests_atom::value, int64_t{3});
    CHECK(fx.info_of(l).max_concurrent_requests == 3);
    fx.ask<caf::ok_atom>(l, max_requests_atom::value, int64_t{0});
    CHECK(fx.info_of(l).max_concurrent_requests == 0); // infinity
    bool refused = false;
    fx.self
      ->request(l, std::chrono::seconds(5), max_requests_atom::value,
                int64_t{-1})
      .receive([](caf::ok_atom) {}, [&](caf::error&) { refused = true; });
    CHECK(refused);
  }

  TEST_CASE(
    "over the cap: 503 with retry-after, counted, in_flight back to 0") {
    // /hold keeps its reactor (and the only admission slot) until the test
    // lets it go; meanwhile a request on a new connection, which only the
    // other reactor can accept, is over the cap.
    event_count held, release;
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = [&](request& req) {
      if (req.path() != "/hold")
        return done(req);
      held.raise();
      release.await(held.count());
      return response::text(200, "held");
    };
    opts.max_concurrent_requests = 1;
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    {
      client holder{port};
      REQUIRE(holder.send("GET /hold HTTP/1.1\r\nHost: t\r\n\r\n"));
      REQUIRE(held.await(1));
      CHECK(fx.info_of(l).in_flight == 1);
      client refused{port};
      REQUIRE(refused.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
      auto busy = refused.read_response();
      release.raise();
      REQUIRE(busy);
      CHECK(busy->status == 503);
      CHECK(busy->header("retry-after") == "1");
      auto ok = holder.read_response();
      REQUIRE(ok);
      CHECK(ok->status == 200);
      CHECK(ok->body == "held");
      auto info = fx.info_of(l);
      CHECK(info.throttled == 1);
      CHECK(eventually([&] { return fx.info_of(l).in_flight == 0; }));
    }
    // Then a crowd: whatever overlaps is refused, and the counters add up.
    std::atomic<int> ok{0};
    std::atomic<int> busy{0};
    std::atomic<int> other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
      threads.emplace_back([&] {
        client c{port};
        for (int i = 0; i < 5; ++i) {
          if (!c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"))
            break;
          auto res = c.read_response(10s);
          if (!res)
            ++other;
          else if (res->status == 200)
            ++ok;
          else if (res->status == 503 && res->header("retry-after") == "1")
            ++busy;
          else
            ++other;
        }
      });
    for (auto& t : threads)
      t.join();
    CHECK(other == 0);
    CHECK(ok + busy == 40);
    auto info = fx.info_of(l);
    CHECK(info.throttled == 1 + static_cast<uint64_t>(busy.load()));
    CHECK(info.in_flight == 0);
    CHECK(info.requests_served == 42);
  }

  TEST_CASE("slot reconciliation never reaps live connections") {
    std::mutex mtx;
    uint64_t reconciled = 0;
    fixture fx;
    auto opts = fixture::loopback();
    opts.slot_reconciliation = millis{5};
    opts.telemetry = [&](const telemetry_event& e) {
      if (e.kind == telemetry_kind::slots_reconciled) {
        std::lock_guard<std::mutex> guard{mtx};
        reconciled += e.count;
      }
    };
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    // Churn connections across many reconciliation ticks.
    std::vector<std::unique_ptr<client>> held;
    for (int i = 0; i < 60; ++i) {
      auto c = std::make_unique<client>(port);
      REQUIRE(c->send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
      REQUIRE(c->read_response());
      if (i % 3 == 0)
        held.push_back(std::move(c));
    }
    REQUIRE(fx.await_active(l, held.size()));
    // Several more ticks with a stable population.
    fx.self->receive(caf::after(std::chrono::milliseconds(50)) >> [] {});
    CHECK(fx.info_of(l).active_clients == held.size());
    held.clear();
    REQUIRE(fx.await_active(l, 0));
    std::lock_guard<std::mutex> guard{mtx};
    CHECK(reconciled == 0);
  }

} // TEST_SUITE
