// roadrunner/testing.hpp as a user would use it to test an application's
// routes and handler actors (issue 13, item 8): no fixture of ours, only
// the public API.
#include <roadrunner/json.hpp>
#include <roadrunner/roadrunner.hpp>
#include <roadrunner/testing.hpp>

#include <caf/actor_system.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

namespace {

// The application under test: a route list with a typed parameter, a JSON
// body, an echo and a reactor-local handler actor.
roadrunner::listener_options app_options(caf::actor_system& sys) {
  roadrunner::listener_options opts;
  opts.routes = roadrunner::route_list{
    {"/users/:id",
     [](roadrunner::request& r) {
       auto id = r.param<int64_t>("id");
       if (!id)
         return roadrunner::response::text(400, to_string(id.error()));
       return roadrunner::json_response(200, {{"id", *id}});
     },
     {},
     {},
     {"GET"}},
    {"/echo",
     [](roadrunner::request& r) {
       return roadrunner::response::text(200, std::string{r.body()});
     },
     {},
     {},
     {"POST"}},
    {"/actor", roadrunner::reactor_local_handler(
                 sys,
                 [](roadrunner::handler_actor::pointer)
                   -> roadrunner::handler_actor::behavior_type {
                   return {[](roadrunner::http_request&) {
                     return roadrunner::response::text(200, "from an actor");
                   }};
                 })},
  };
  return opts;
}

struct config : roadrunner::system_config {
  config() { set("roadrunner.reactors", size_t{2}); }
};

} // namespace

TEST_SUITE("actors.testing") {

  TEST_CASE("test_listener serves the application's routes to its client") {
    config cfg;
    caf::actor_system sys{cfg};
    roadrunner::testing::test_listener srv{sys, app_options(sys)};
    CHECK(srv.port() > 0);
    auto user = srv.get("/users/42");
    REQUIRE(user);
    CHECK(user->status == 200);
    CHECK(user->header("content-type") == "application/json");
    CHECK(user->body == R"({"id":42})");
    auto bad = srv.get("/users/x");
    REQUIRE(bad);
    CHECK(bad->status == 400);
    CHECK(bad->body == "not_a_number");
    auto echo =
      srv.request("POST", "/echo", {{"content-type", "text/plain"}}, "ping");
    REQUIRE(echo);
    CHECK(echo->body == "ping");
    auto wrong_method = srv.get("/echo");
    REQUIRE(wrong_method);
    CHECK(wrong_method->status == 405);
    CHECK(wrong_method->header("allow") == "POST, OPTIONS");
    auto actor = srv.get("/actor");
    REQUIRE(actor);
    CHECK(actor->body == "from an actor");
    CHECK(roadrunner::info_of(sys, srv.actor())->requests_served == 5);
  }

  TEST_CASE("test_listener reports a listener that does not start") {
    config cfg;
    caf::actor_system sys{cfg};
    auto opts = app_options(sys);
    opts.max_clients = 0;
    CHECK_THROWS_WITH_AS(roadrunner::testing::test_listener(sys, opts),
                         doctest::Contains("max_clients"), std::runtime_error);
  }

} // TEST_SUITE
