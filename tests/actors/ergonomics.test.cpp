// What a user of the library writes most (issue 13, item 6): typed and
// percent-decoded path parameters, handler actors that are dynamically
// typed or stateful.

#include "fixture.hpp"
#include "net.hpp"
#include <roadrunner/roadrunner.hpp>

#include <caf/event_based_actor.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

using namespace rrtest;
using namespace roadrunner;

namespace {

std::string get(client& c, const std::string& target) {
  REQUIRE(c.send("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto res = c.read_response();
  REQUIRE(res);
  return std::to_string(res->status) + " " + res->body;
}

// Answers the parameter, or 400 naming why there is none.
template <class T>
response echo_param(request& r, std::string_view name) {
  auto x = r.param<T>(name);
  if (!x)
    return response::text(400, to_string(x.error()));
  if constexpr (std::is_same_v<T, std::string>)
    return response::text(200, *x);
  else
    return response::text(200, std::to_string(*x));
}

struct counter_state {
  int64_t served = 0;
};

} // namespace

TEST_SUITE("actors.ergonomics") {

  TEST_CASE("r.param<T> percent-decodes and converts path parameters, with "
            "an error value instead of a bad number") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = route_list{
      {"/i64/:id", [](request& r) { return echo_param<int64_t>(r, "id"); }},
      {"/u8/:id", [](request& r) { return echo_param<uint8_t>(r, "id"); }},
      {"/s/:name",
       [](request& r) { return echo_param<std::string>(r, "name"); }},
      {"/files/*rest",
       [](request& r) { return echo_param<std::string>(r, "rest"); }},
      {"/missing", [](request& r) { return echo_param<int>(r, "id"); }},
    };
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    CHECK(get(c, "/i64/42") == "200 42");
    CHECK(get(c, "/i64/-9223372036854775808") == "200 -9223372036854775808");
    CHECK(get(c, "/i64/4%32") == "200 42");
    CHECK(get(c, "/i64/9223372036854775808") == "400 out_of_range");
    CHECK(get(c, "/i64/abc") == "400 not_a_number");
    CHECK(get(c, "/i64/12x") == "400 not_a_number");
    CHECK(get(c, "/i64/+1") == "400 not_a_number");
    CHECK(get(c, "/i64/%20") == "400 not_a_number");
    CHECK(get(c, "/i64/%4") == "400 bad_encoding");
    CHECK(get(c, "/i64/%zz") == "400 bad_encoding");
    CHECK(get(c, "/u8/255") == "200 255");
    CHECK(get(c, "/u8/256") == "400 out_of_range");
    CHECK(get(c, "/u8/-1") == "400 not_a_number");
    CHECK(get(c, "/s/a%22b") == "200 a\"b");
    CHECK(get(c, "/s/caf%C3%A9") == "200 caf\xC3\xA9");
    CHECK(get(c, "/s/a+b") == "200 a+b"); // '+' is a plus sign in a path
    CHECK(get(c, "/files/a/b%2Fc") == "200 a/b/c");
    CHECK(get(c, "/missing") == "400 missing");
  }

  TEST_CASE("actor_handler takes a dynamically typed actor and checks its "
            "reply at run time") {
    fixture fx;
    // Function-based actors get an argument: CAF 0.17 dereferences a null
    // tuple when it spawns one without (UBSan reports it).
    auto good = fx.sys.spawn(
      [](caf::event_based_actor*, int) -> caf::behavior {
        return {[](http_request& req) {
          return response::text(200, "dynamic " + std::string{req->path()});
        }};
      },
      0);
    auto wrong = fx.sys.spawn(
      [](caf::event_based_actor*, int) -> caf::behavior {
        return {[](http_request&) { return std::string{"not a response"}; }};
      },
      0);
    auto opts = fixture::loopback();
    opts.routes = route_list{
      {"/good", actor_handler(good)},
      {"/wrong", actor_handler(wrong)},
      {"/none", actor_handler(caf::actor{})},
    };
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    CHECK(get(c, "/good") == "200 dynamic /good");
    CHECK(get(c, "/wrong").rfind("500 ", 0) == 0);
    CHECK(get(c, "/none").rfind("500 ", 0) == 0);
    CHECK(get(c, "/good") == "200 dynamic /good");
    caf::anon_send_exit(good, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(wrong, caf::exit_reason::user_shutdown);
  }

  TEST_CASE("reactor_local_handler and loop_handler take stateful actors") {
    fixture fx;
    auto counting = reactor_local_handler(
      fx.sys,
      [](handler_actor::stateful_pointer<counter_state> self)
        -> handler_actor::behavior_type {
        return {[self](http_request&) {
          return response::text(200, std::to_string(++self->state.served));
        }};
      });
    auto looping = loop_handler(
      fx.sys,
      [](loop_handler_actor::stateful_pointer<counter_state> self)
        -> loop_handler_actor::behavior_type {
        return {
          [self](http_request&) {
            return response::text(200, std::to_string(++self->state.served));
          },
          [](drain_atom, int64_t) {},
        };
      });
    auto opts = fixture::loopback();
    opts.routes = route_list{{"/count", counting}, {"/loop", looping}};
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    // One connection stays on one reactor: the same instance counts on.
    CHECK(get(c, "/count") == "200 1");
    CHECK(get(c, "/count") == "200 2");
    CHECK(get(c, "/count") == "200 3");
    // A loop handler is a new actor (new state) per request.
    CHECK(get(c, "/loop") == "200 1");
    CHECK(get(c, "/loop") == "200 1");
  }

} // TEST_SUITE
