// Slots and admission (issue 12 item 5): a connection gives its max_clients
// slot back before its socket closes, so a client that saw the close can
// connect again at once; a handler actor that ends holding a request
// answers it at once (500, or 503 when it was dead on arrival, or its
// stream cut short) and frees its admission slot. HTTP/1.1 and h2c.

#include "fixture.hpp"
#include "lifecycle.hpp"
#include "net.hpp"
#include <roadrunner/roadrunner.hpp>

#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <string>

using namespace rrtest;
using namespace roadrunner;
using namespace std::chrono_literals;

TEST_SUITE("lifecycle.slots") {

  TEST_CASE("max_clients=1, 4 reactors: 200 strictly sequential connections "
            "closed by the server, none refused") {
    fixture fx{4}; // 4 reactors, one acceptor each
    auto opts = fixture::loopback();
    opts.max_clients = 1;
    opts.routes = ok;
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    int answered = 0;
    for (int i = 0; i < 200; ++i) {
      INFO("connection " << i);
      client c{port};
      REQUIRE(c.send(get_req("/", "Connection: close\r\n")));
      auto r = c.read_response();
      REQUIRE(r); // a refused connection is closed without an answer
      CHECK(r->status == 200);
      CHECK(r->header("connection") == "close");
      // The server's close, seen by the client: its slot is free now.
      REQUIRE(c.closed_by_peer());
      ++answered;
    }
    CHECK(answered == 200);
    auto info = fx.info_of(l);
    CHECK(info.rejected == 0);
    CHECK(info.requests_served == 200);
    CHECK(fx.await_active(l, 0));
  }

  TEST_CASE("a handler actor that dies holding a request: 500 at once, its "
            "admission slot free at once; dead on arrival: 503") {
    for (auto p : {proto::h1, proto::h2}) {
      INFO(name_of(p));
      fixture fx;
      auto opts = options_for(p);
      opts.max_concurrent_requests = 1;
      // Quits while it holds the request, keeping (and so dropping) the
      // promise: CAF 0.17 sends no error for it; only the watch answers.
      auto dying = fx.sys.spawn(
        [](handler_actor::pointer self, int) -> handler_actor::behavior_type {
          return {[self](http_request&) -> caf::result<response> {
            self->quit(caf::exit_reason::user_shutdown);
            return self->make_response_promise<response>();
          }};
        },
        0);
      auto dead = fx.sys.spawn(
        [](handler_actor::pointer, int) -> handler_actor::behavior_type {
          return {[](http_request&) { return response::text(200, "alive"); }};
        },
        0);
      caf::anon_send_exit(dead, caf::exit_reason::kill);
      fx.self->wait_for(dead);
      opts.routes = route_list{
        route_of("/dying", actor_handler(dying, {.timeout = 30s})),
        route_of("/dead", actor_handler(dead, {.timeout = 30s})),
        route_of("/ok", ok),
      };
      auto l = fx.start(opts);
      auto port = fx.port_of(l);
      auto t0 = clock_type::now();
      if (p == proto::h1) {
        client c{port};
        // Each answer is followed at once by a request that needs the one
        // admission slot: 200, not 503.
        for (auto [path, status] :
             {std::pair{"/dying", 500}, std::pair{"/ok", 200},
              std::pair{"/dead", 503}, std::pair{"/ok", 200}}) {
          const auto where = path; // clang-14: INFO cannot capture a binding
          INFO(where);
          REQUIRE(c.send(get_req(path)));
          auto r = c.read_response(15s);
          REQUIRE(r);
          CHECK(r->status == status);
        }
      } else {
        auto out = h2_script(port, {"get", "1", "/dying", "wait", "1",
                                    "get", "3", "/ok",    "wait", "3",
                                    "get", "5", "/dead",  "wait", "5",
                                    "get", "7", "/ok",    "wait", "7"});
        INFO(out);
        CHECK(stream_of(out, 1).status == 500);
        CHECK(stream_of(out, 3).status == 200);
        CHECK(stream_of(out, 5).status == 503);
        CHECK(stream_of(out, 7).status == 200);
      }
      CHECK(clock_type::now() - t0 < 10s); // well before the 30 s deadline
      auto info = fx.info_of(l);
      CHECK(info.in_flight == 0);
      CHECK(info.throttled == 0); // no request met a taken slot
    }
  }

  TEST_CASE("a streaming handler actor that dies after starting its stream: "
            "the stream is cut short, the slot freed") {
    for (auto p : {proto::h1, proto::h2}) {
      INFO(name_of(p));
      fixture fx;
      keeper<stream_writer> writers;
      auto opts = options_for(p);
      opts.max_concurrent_requests = 1;
      auto streamer = fx.sys.spawn(
        [&writers](handler_actor::pointer self,
                   int) -> handler_actor::behavior_type {
          return {[self, &writers](http_request& req) -> caf::result<response> {
            auto w = req.reply.stream(response{200});
            w.write("partial");
            // The test keeps the writer: only the actor's end may cut the
            // stream (not a dropped last handle).
            writers.put(w);
            self->quit(caf::exit_reason::user_shutdown);
            return response::deferred();
          }};
        },
        0);
      opts.routes = route_list{
        route_of("/stream", actor_handler(streamer, {.timeout = 30s})),
        route_of("/ok", ok),
      };
      auto l = fx.start(opts);
      auto port = fx.port_of(l);
      if (p == proto::h1) {
        client c{port};
        REQUIRE(c.send(get_req("/stream")));
        check_cut_short(c);
        client d{port};
        REQUIRE(d.send(get_req("/ok")));
        auto r = d.read_response();
        REQUIRE(r);
        CHECK(r->status == 200);
      } else {
        auto out = h2_script(port, {"get", "1", "/stream", "wait", "1", "get",
                                    "3", "/ok", "wait", "3", "ping"});
        INFO(out);
        auto s1 = stream_of(out, 1);
        CHECK(s1.ended == 0);
        CHECK(s1.reset == h2_internal_error);
        CHECK(stream_of(out, 3).status == 200);
        CHECK(has(out, "ping ok"));
      }
      CHECK(eventually([&] { return fx.info_of(l).in_flight == 0; }));
      CHECK(fx.info_of(l).throttled == 0);
      writers.clear();
    }
  }

  // Connection actors are reused (docs/architecture.md 3): a closed
  // connection's actor that nobody else knows of serves the acceptor's next
  // socket. The actor system numbers every spawned actor, so the spawns
  // per connection are counted exactly.

  TEST_CASE("reuse: sequential connections are served by one actor, "
            "HTTP/1.1 and h2c") {
    for (auto p : {proto::h1, proto::h2}) {
      INFO(name_of(p));
      fixture fx{1};
      auto opts = options_for(p);
      opts.routes = ok;
      auto l = fx.start(opts);
      auto port = fx.port_of(l);
      const auto before = fx.sys.latest_actor_id();
      const int n = p == proto::h1 ? 50 : 4;
      for (int i = 0; i < n; ++i) {
        INFO("connection " << i);
        if (p == proto::h1) {
          client c{port};
          REQUIRE(c.send(get_req("/", "Connection: close\r\n")));
          auto r = c.read_response();
          REQUIRE(r);
          CHECK(r->status == 200);
          REQUIRE(c.closed_by_peer());
        } else {
          auto out = h2_script(port, {"get", "1", "/", "wait", "1"});
          CHECK(stream_of(out, 1).status == 200);
        }
        // Closed on both sides: the actor is back with its acceptor.
        REQUIRE(fx.await_active(l, 0));
      }
      CHECK(fx.sys.latest_actor_id() - before == 1);
      CHECK(fx.info_of(l).requests_served == static_cast<uint64_t>(n));
    }
  }

  TEST_CASE("reuse: an actor that deferred a request or whose handle went "
            "out is never reused; drain reaches a reused connection") {
    fixture fx{1};
    auto opts = fixture::loopback();
    opts.routes =
      route_list{route_of("/", ok), route_of("/later", [](request& req) {
                   auto reply = req.defer();
                   reply.send(response::text(200, "later"));
                   return response::deferred();
                 })};
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    // One request on its own connection, closed on both sides.
    auto once = [&](std::string_view path) {
      {
        client c{port};
        REQUIRE(c.send(get_req(path, "Connection: close\r\n")));
        auto r = c.read_response();
        REQUIRE(r);
        CHECK(r->status == 200);
        REQUIRE(c.closed_by_peer());
      }
      REQUIRE(fx.await_active(l, 0));
    };
    const auto base = fx.sys.latest_actor_id();
    auto spawned = [&] { return fx.sys.latest_actor_id() - base; };
    once("/");
    once("/");
    CHECK(spawned() == 1);
    // The pooled actor serves /later: its exchange may wake it late, so it
    // ends at the close, and the next connection needs a new one.
    once("/later");
    CHECK(spawned() == 1);
    once("/");
    CHECK(spawned() == 2);
    once("/");
    CHECK(spawned() == 2);
    // An actor whose handle an operator got (to kill it, say) is not
    // reused either.
    {
      client c{port};
      REQUIRE(c.send(get_req("/")));
      REQUIRE(c.read_response());
      auto conns = fx.ask<std::vector<caf::actor>>(l, connections_atom::value);
      CHECK(conns.size() == 1);
    }
    REQUIRE(fx.await_active(l, 0));
    once("/");
    CHECK(spawned() == 3);
    // Drain reaches a connection served by a reused actor.
    client kept{port};
    REQUIRE(kept.send(get_req("/")));
    REQUIRE(kept.read_response());
    CHECK(spawned() == 3);
    auto res = fx.ask<drain_result>(l, drain_atom::value,
                                    caf::timespan{std::chrono::seconds(10)});
    CHECK(res.drained);
    CHECK(kept.closed_by_peer());
  }
}
