// Micro-benchmarks of route matching (`compiled_routes::match`) on a
// 20-route table shaped like a small REST API: literals, `:param` routes
// and one trailing wildcard. Matching walks the routes in order, so the
// position of the winning route matters; the comment on each case says
// where it sits.

#include <roadrunner/request.hpp>
#include <roadrunner/response.hpp>
#include <roadrunner/router.hpp>

#include <benchmark/benchmark.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using roadrunner::match_status;
using roadrunner::request;
using roadrunner::response;
using roadrunner::route;
using roadrunner::route_list;

route make_route(std::string path, std::vector<std::string> methods = {}) {
  route r;
  r.path = std::move(path);
  r.handler = [](request&) { return response::text(200, "ok"); };
  r.methods = std::move(methods);
  return r;
}

route_list twenty_routes() {
  return {
    make_route("/", {"GET"}),                                     // 0
    make_route("/health", {"GET"}),                               // 1
    make_route("/metrics", {"GET"}),                              // 2
    make_route("/login", {"POST"}),                               // 3
    make_route("/logout", {"POST"}),                              // 4
    make_route("/users", {"GET", "POST"}),                        // 5
    make_route("/users/:id", {"GET", "PUT", "DELETE"}),           // 6
    make_route("/users/:id/posts", {"GET"}),                      // 7
    make_route("/users/:id/posts/:post", {"GET"}),                // 8
    make_route("/users/:id/followers", {"GET"}),                  // 9
    make_route("/orgs", {"GET"}),                                 // 10
    make_route("/orgs/:org", {"GET"}),                            // 11
    make_route("/orgs/:org/repos", {"GET"}),                      // 12
    make_route("/orgs/:org/repos/:repo", {"GET"}),                // 13
    make_route("/orgs/:org/repos/:repo/issues/:number", {"GET"}), // 14
    make_route("/search", {"GET"}),                               // 15
    make_route("/api/v1/status", {"GET"}),                        // 16
    make_route("/api/v1/items/:item", {"GET", "PUT"}),            // 17
    make_route("/about", {"GET"}),                                // 18
    make_route("/static/*path", {"GET"}),                         // 19
  };
}

void match(benchmark::State& state, std::string_view path,
           match_status expected) {
  auto table = roadrunner::compile(twenty_routes());
  if (!table) {
    state.SkipWithError("the route table did not compile");
    return;
  }
  for (auto _ : state) {
    auto m = table->match("GET", path);
    if (m.status != expected) {
      state.SkipWithError("unexpected match result");
      break;
    }
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
}

// Route 16 of 20, three literal segments.
void BM_route_literal(benchmark::State& state) {
  match(state, "/api/v1/status", match_status::found);
}
BENCHMARK(BM_route_literal);

// Route 14 of 20, three bindings.
void BM_route_params(benchmark::State& state) {
  match(state, "/orgs/acme/repos/widgets/issues/42", match_status::found);
}
BENCHMARK(BM_route_params);

// Route 19 of 20 (the last), the wildcard binds "css/site/main.css".
void BM_route_wildcard(benchmark::State& state) {
  match(state, "/static/css/site/main.css", match_status::found);
}
BENCHMARK(BM_route_wildcard);

// No route matches: every route is tried.
void BM_route_404(benchmark::State& state) {
  match(state, "/nope/nothing/here", match_status::not_found);
}
BENCHMARK(BM_route_404);

} // namespace
