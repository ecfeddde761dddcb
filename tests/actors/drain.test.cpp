// Drain: the listener closes its socket at once, tells every connection,
// answers `drained` when the last one ended or `timeout` at the deadline,
// and exits for good.

#include "fixture.hpp"
#include "listener_shared.hpp"
#include "net.hpp"
#include <roadrunner/roadrunner.hpp>

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/system_messages.hpp>

#include <doctest/doctest.h>

#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace rrtest;
using namespace roadrunner;

namespace {

const std::string get_root = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

response echo(request& req) {
  return response::text(200, std::string{req.body()});
}

bool connect_refused(uint16_t port) {
  try {
    client c{port};
    // Accepted by the kernel but never served would also be a failure.
    return c.closed_by_peer(2s);
  } catch (const std::exception&) {
    return true;
  }
}

// Waits for the listener's down message (it exits after answering).
bool listener_exits(fixture& fx, const listener_actor& l) {
  fx.self->monitor(l);
  bool down = false;
  fx.self->receive([&](caf::down_msg&) { down = true; },
                   caf::after(std::chrono::seconds(5)) >> [] {});
  return down;
}

} // namespace

TEST_SUITE("actors.drain") {

  TEST_CASE("drain closes idle connections at once, answers drained, exits") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = echo;
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    std::vector<std::unique_ptr<client>> idle;
    for (int i = 0; i < 5; ++i) {
      idle.push_back(std::make_unique<client>(port));
      REQUIRE(idle.back()->send(get_root));
      REQUIRE(idle.back()->read_response());
    }
    client fresh{port}; // connected, never sent a byte
    auto res = fx.ask<drain_result>(l, drain_atom::value,
                                    caf::timespan{std::chrono::seconds(10)});
    CHECK(res.drained);
    CHECK(res.remaining == 0);
    for (auto& c : idle) {
      CHECK(c->closed_by_peer());
      CHECK(c->leftover().empty()); // idle: closed without a response
    }
    CHECK(fresh.closed_by_peer());
    CHECK(listener_exits(fx, l));
    fx.started.clear();
    CHECK(connect_refused(port));
  }

  TEST_CASE("a request in flight finishes with connection: close; status is "
            "draining and info answers meanwhile") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = echo;
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    client busy{port};
    REQUIRE(
      busy.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhe"));
    client idle{port};
    REQUIRE(idle.send(get_root));
    REQUIRE(idle.read_response());
    REQUIRE(fx.await_active(l, 2));
    // Ask for the drain without waiting for its answer.
    fx.self->send(l, drain_atom::value,
                  caf::timespan{std::chrono::seconds(10)});
    CHECK(idle.closed_by_peer());
    CHECK(fx.ask<listener_status>(l, status_atom::value) ==
          listener_status::draining);
    // Only the busy one is left (the idle one's slot is released just after
    // its socket closed: wait for that down message).
    CHECK(fx.await_active(l, 1));
    // A request counts once it is dispatched (or refused after its head),
    // on every protocol: the busy one's body is still on its way.
    CHECK(fx.info_of(l).requests_served == 1);
    CHECK(connect_refused(port));
    REQUIRE(busy.send("llo"));
    auto res = busy.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body == "hello");
    CHECK(res->header("connection") == "close");
    CHECK(busy.closed_by_peer());
    bool drained = false;
    fx.self->receive(
      [&](drain_result& r) { drained = r.drained && r.remaining == 0; },
      caf::after(std::chrono::seconds(5)) >> [] {});
    CHECK(drained);
    CHECK(listener_exits(fx, l));
    fx.started.clear();
  }

  TEST_CASE("at the deadline the remaining connections are ended: timeout") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = echo;
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    client stuck{port};
    REQUIRE(
      stuck.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\nx"));
    REQUIRE(fx.await_active(l, 1));
    auto res = fx.ask<drain_result>(
      l, drain_atom::value, caf::timespan{std::chrono::milliseconds(200)});
    CHECK_FALSE(res.drained);
    CHECK(res.remaining == 1);
    CHECK(stuck.closed_by_peer());
    CHECK(listener_exits(fx, l));
    fx.started.clear();
  }

  TEST_CASE("graceful_drain = false: no notice; what is left ends at the "
            "deadline") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = echo;
    opts.graceful_drain = false;
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    client idle{port};
    REQUIRE(idle.send(get_root));
    REQUIRE(idle.read_response());
    fx.self->send(l, drain_atom::value,
                  caf::timespan{std::chrono::milliseconds(300)});
    // Not told: the idle connection still serves during the drain.
    REQUIRE(idle.send(get_root));
    auto res = idle.read_response();
    REQUIRE(res);
    CHECK_FALSE(res->header("connection"));
    bool timed_out = false;
    fx.self->receive(
      [&](drain_result& r) { timed_out = !r.drained && r.remaining == 1; },
      caf::after(std::chrono::seconds(5)) >> [] {});
    CHECK(timed_out);
    CHECK(idle.closed_by_peer());
    fx.started.clear();
  }

  TEST_CASE("a response still queued at the drain is finished, then the "
            "connection closes (not at the deadline)") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = [](request&) {
      return response::text(200, std::string(8 << 20, 'q'));
    };
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    int small = 16384;
    ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    REQUIRE(c.send(get_root));
    REQUIRE(fx.await_active(l, 1));
    fx.self->send(l, drain_atom::value,
                  caf::timespan{std::chrono::seconds(30)});
    auto res = c.read_response(20s);
    REQUIRE(res);
    CHECK(res->body.size() == (8u << 20));
    CHECK(c.closed_by_peer(5s));
    bool drained = false;
    fx.self->receive(
      [&](drain_result& r) { drained = r.drained && r.remaining == 0; },
      caf::after(std::chrono::seconds(5)) >> [] {});
    CHECK(drained);
    fx.started.clear();
  }

  TEST_CASE("an actor in the listener's drain group hears (drain, "
            "deadline) when the listener drains") {
    fixture fx;
    auto l = fx.start(fixture::loopback());
    auto g = drain_group_of(fx.sys, l);
    REQUIRE(g);
    auto me = caf::actor_cast<caf::actor>(fx.self);
    // A user actor (a chat hub, a background job): joins, says so, and
    // reports the notice. Function-based actors get an argument (CAF 0.17
    // dereferences a null tuple without one).
    auto member = fx.sys.spawn(
      [me, g = *g](caf::event_based_actor* self, int) -> caf::behavior {
        self->join(g);
        self->send(me, caf::ok_atom::value);
        return {[self, me](drain_atom, int64_t deadline_ms) {
          self->send(me, drain_atom::value, deadline_ms);
        }};
      },
      0);
    bool joined = false;
    fx.self->receive([&](caf::ok_atom) { joined = true; },
                     caf::after(5s) >> [] {});
    REQUIRE(joined);
    auto before = detail::monotonic_ms();
    auto res = fx.ask<drain_result>(l, drain_atom::value,
                                    caf::timespan{std::chrono::seconds(2)});
    fx.started.clear();
    CHECK(res.drained);
    int64_t heard = -1;
    fx.self->receive(
      [&](drain_atom, int64_t deadline_ms) { heard = deadline_ms; },
      caf::after(5s) >> [] {});
    CHECK(heard >= before + 2000);
    CHECK(heard <= detail::monotonic_ms() + 2000);
    caf::anon_send_exit(member, caf::exit_reason::user_shutdown);
  }

} // TEST_SUITE
