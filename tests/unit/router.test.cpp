// Unit tests of the router, middleware composition and the request helpers
// the router fills (bindings, state) or that parse on demand (query,
// cookies, request id).

#include "fake_request.hpp"
#include <roadrunner/detail/request_access.hpp>
#include <roadrunner/middleware.hpp>
#include <roadrunner/request.hpp>
#include <roadrunner/response.hpp>
#include <roadrunner/router.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

using namespace std::literals;
using roadrunner::compile;
using roadrunner::compile_single;
using roadrunner::header_field;
using roadrunner::match_status;
using roadrunner::middleware;
using roadrunner::next_fn;
using roadrunner::request;
using roadrunner::response;
using roadrunner::route;
using roadrunner::route_errc;
using roadrunner::route_error;
using roadrunner::route_list;

// -- allocation counter -------------------------------------------------------

// Counts global operator new calls so a test can prove matching allocates
// nothing. Replacing operator new is allowed (and works under ASan).
namespace {
std::atomic<size_t> allocations{0};
} // namespace

// GCC pairs the inlined malloc/free below with new/delete expressions at
// their call sites and warns; these replacements are matched by design.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size))
    return p;
  throw std::bad_alloc{};
}

void operator delete(void* p) noexcept {
  std::free(p);
}

void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

#pragma GCC diagnostic pop

namespace {

// -- helpers ------------------------------------------------------------------

using rrtest::fake_request;

// A handler answering 200 with `name` as the body.
roadrunner::handler answer(std::string name) {
  return [name](request&) { return response::text(200, name); };
}

route make_route(std::string path, std::vector<std::string> methods = {},
                 std::string name = {}) {
  route r;
  r.handler = answer(name.empty() ? path : name);
  r.path = std::move(path);
  r.methods = std::move(methods);
  return r;
}

// "a=1,b=2" from the bindings of a match.
std::string render(const roadrunner::path_bindings& b) {
  std::string out;
  for (const auto& [name, value] : b) {
    if (!out.empty())
      out += ',';
    out.append(name).append("=").append(value);
  }
  return out;
}

const char* status_name(match_status st) {
  switch (st) {
  case match_status::found:
    return "found";
  case match_status::not_found:
    return "not_found";
  case match_status::method_not_allowed:
    return "method_not_allowed";
  }
  return "?";
}

std::string field(const response& r, std::string_view name) {
  for (const auto& f : r.fields())
    if (f.name == name)
      return f.value;
  return "<none>";
}

// The route table most matching tests use; index in the comment.
route_list sample_routes() {
  return {
    make_route("/", {"GET"}),                         // 0
    make_route("/users", {"GET"}),                    // 1
    make_route("/users/:id", {"PUT", "GET"}),         // 2
    make_route("/users/:id/posts/:post"),             // 3: any method
    make_route("/static/*path", {"GET"}),             // 4
    make_route("/users/me", {"GET"}),                 // 5: never wins
    make_route("/items", {"POST"}),                   // 6
    make_route("/items", {"POST", "DELETE", "POST"}), // 7
    make_route("/a/b"),                               // 8
    make_route("/head-only", {"HEAD"}),               // 9
    make_route("/opt/:x", {"OPTIONS"}),               // 10
  };
}

struct match_case {
  std::string_view method;
  std::string_view path;
  match_status status;
  size_t index;              // when found
  std::string_view bindings; // when found, as render() prints them
  std::string_view allow;    // when method_not_allowed
};

constexpr auto found = match_status::found;
constexpr auto not_found = match_status::not_found;
constexpr auto not_allowed = match_status::method_not_allowed;

} // namespace

TEST_SUITE("router") {

  // -- matching ---------------------------------------------------------------

  TEST_CASE("paths and methods match by the table (first match wins)") {
    auto table = compile(sample_routes());
    REQUIRE(table);
    const match_case cases[] = {
      {"GET", "/", found, 0, "", ""},
      {"GET", "//", found, 0, "", ""},
      {"GET", "/users", found, 1, "", ""},
      {"GET", "/users/", found, 1, "", ""},
      {"GET", "//users//", found, 1, "", ""},
      {"GET", "/Users", not_found, 0, "", ""},
      {"GET", "/users/42", found, 2, "id=42", ""},
      {"PUT", "/users/42", found, 2, "id=42", ""},
      {"GET", "/users/me", found, 2, "id=me", ""},
      {"GET", "/users/john%20doe", found, 2, "id=john%20doe", ""},
      {"GET", "/users/a%2Fb", found, 2, "id=a%2Fb", ""},
      {"DELETE", "/users/42", not_allowed, 0, "", "GET, PUT"},
      {"GET", "/users/42/posts/7", found, 3, "id=42,post=7", ""},
      {"PATCH", "/users/42/posts/7/", found, 3, "id=42,post=7", ""},
      {"GET", "/users/42/posts", not_found, 0, "", ""},
      {"GET", "/users/42/posts/7/x", not_found, 0, "", ""},
      {"GET", "/static", found, 4, "path=", ""},
      {"GET", "/static/", found, 4, "path=", ""},
      {"GET", "/static/css/a.css", found, 4, "path=css/a.css", ""},
      {"GET", "/static//css//a.css/", found, 4, "path=css//a.css/", ""},
      {"GET", "/staticx", not_found, 0, "", ""},
      {"POST", "/static/x", not_allowed, 0, "", "GET"},
      {"POST", "/items", found, 6, "", ""},
      {"DELETE", "/items", found, 7, "", ""},
      {"GET", "/items", not_allowed, 0, "", "DELETE, POST"},
      {"get", "/users", not_allowed, 0, "", "GET"},
      {"GET", "/a/b", found, 8, "", ""},
      {"GET", "/a", not_found, 0, "", ""},
      {"GET", "/a/b/c", not_found, 0, "", ""},
      {"GET", "/nope", not_found, 0, "", ""},
      {"OPTIONS", "*", not_found, 0, "", ""},
      {"CONNECT", "example.com:443", not_found, 0, "", ""},
      {"GET", "http://example.com/users/5", found, 2, "id=5", ""},
      {"GET", "http://example.com", found, 0, "", ""},
      {"GET", "ftp:/x", not_found, 0, "", ""},
      {"OPTIONS", "/opt/1", found, 10, "x=1", ""},
      {"GET", "/opt/1", not_allowed, 0, "", "OPTIONS"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.method);
      CAPTURE(c.path);
      auto m = table->match(c.method, c.path);
      CHECK(status_name(m.status) == std::string_view{status_name(c.status)});
      if (c.status == found && m.status == found) {
        REQUIRE(m.route != nullptr);
        CHECK(m.route->index() == c.index);
        CHECK(render(m.bindings) == c.bindings);
      } else {
        CHECK(m.route == nullptr);
        CHECK(m.bindings.empty());
      }
      if (c.status == not_allowed)
        CHECK(table->allow(c.path) == c.allow);
    }
  }

  TEST_CASE("the first-segment index picks what trying every route would") {
    // Random tables from patterns whose first segments collide in every
    // way (literal / :param / wildcard / none, shared prefixes), against a
    // reference matcher written here: the first route in list order whose
    // pattern matches the path's segments and whose methods allow the
    // method wins; else 405 if some pattern matched, else 404.
    const std::vector<std::string> patterns = {
      "/",     "/a",    "/b",    "/ab",      "/a/b",  "/:x",
      "/:x/b", "/a/:y", "/*all", "/a/*rest", "/b/:y", "/:x/:y/*z",
    };
    const std::vector<std::vector<std::string>> method_sets = {
      {}, {"GET"}, {"POST"}, {"GET", "POST"}};
    const std::vector<std::string> paths = {
      "/",     "//", "/a",   "/a/",  "/b",     "/ab",      "/a/b",
      "/a//b", "/c", "/c/b", "/b/x", "/a/x/y", "/x/y/z/w", "/aa",
    };
    const std::vector<std::string> methods = {"GET", "POST", "HEAD", "PUT"};
    auto split = [](std::string_view p) {
      std::vector<std::string_view> out;
      size_t pos = 0;
      while (pos < p.size()) {
        auto end = std::min(p.find('/', pos), p.size());
        if (end > pos)
          out.push_back(p.substr(pos, end - pos));
        pos = end + 1;
      }
      return out;
    };
    auto path_matches = [&](std::string_view pattern, std::string_view path) {
      auto pat = split(pattern);
      auto segs = split(path);
      for (size_t i = 0; i < pat.size(); ++i) {
        if (pat[i][0] == '*')
          return true;
        if (i >= segs.size() || (pat[i][0] != ':' && pat[i] != segs[i]))
          return false;
      }
      return pat.size() == segs.size();
    };
    auto allows = [](const std::vector<std::string>& ms, std::string_view m) {
      auto has = [&](std::string_view x) {
        return std::find(ms.begin(), ms.end(), x) != ms.end();
      };
      return ms.empty() || has(m) || (m == "HEAD" && has("GET"));
    };
    uint32_t rng = 12345; // deterministic: the same tables every run
    auto next = [&](size_t n) {
      rng = rng * 1664525u + 1013904223u;
      return static_cast<size_t>((rng >> 8) % n);
    };
    for (int t = 0; t < 300; ++t) {
      std::vector<std::pair<std::string, std::vector<std::string>>> spec;
      route_list routes;
      auto count = 1 + next(8);
      for (size_t i = 0; i < count; ++i) {
        spec.emplace_back(patterns[next(patterns.size())],
                          method_sets[next(method_sets.size())]);
        routes.push_back(make_route(spec.back().first, spec.back().second));
      }
      auto table = compile(routes);
      REQUIRE(table);
      for (const auto& path : paths) {
        for (const auto& method : methods) {
          auto want = match_status::not_found;
          size_t want_index = 0;
          for (size_t i = 0; i < spec.size(); ++i) {
            if (!path_matches(spec[i].first, path))
              continue;
            if (allows(spec[i].second, method)) {
              want = match_status::found;
              want_index = i;
              break;
            }
            want = match_status::method_not_allowed;
          }
          auto m = table->match(method, path);
          CAPTURE(t);
          CAPTURE(path);
          CAPTURE(method);
          REQUIRE(status_name(m.status) == std::string_view{status_name(want)});
          if (want == match_status::found) {
            REQUIRE(m.route != nullptr);
            REQUIRE(m.route->index() == want_index);
          }
        }
      }
    }
  }

  TEST_CASE(
    "HEAD matches a GET route, allow lists declared methods (RFC 9110 9.3.2)") {
    auto table = compile(sample_routes());
    REQUIRE(table);
    auto m = table->match("HEAD", "/users/7");
    REQUIRE(m.status == found);
    CHECK(m.route->index() == 2);
    CHECK(m.route->allows("HEAD"));
    CHECK_FALSE(m.route->allows("POST"));
    // A HEAD-only route does not accept GET.
    CHECK(table->match("HEAD", "/head-only").status == found);
    CHECK(table->match("GET", "/head-only").status == not_allowed);
    CHECK(table->allow("/head-only") == "HEAD");
    // HEAD on a route without GET or HEAD is a 405.
    CHECK(table->match("HEAD", "/items").status == not_allowed);
    CHECK(table->allow("/items") == "DELETE, POST");
  }

  TEST_CASE("methods are sorted and de-duplicated at compile time") {
    auto table = compile({route{.path = "/x",
                                .handler = answer("x"),
                                .methods = {"PUT", "GET", "DELETE", "GET"}}});
    REQUIRE(table);
    auto methods = table->routes()[0].methods();
    REQUIRE(methods.size() == 3);
    CHECK(methods[0] == "DELETE");
    CHECK(methods[1] == "GET");
    CHECK(methods[2] == "PUT");
  }

  TEST_CASE(
    "the allow value is the union over every route whose path matches") {
    auto table = compile({
      make_route("/r/:id", {"PUT"}),
      make_route("/r/fixed", {"DELETE", "PUT"}),
      make_route("/r/*rest", {"PATCH"}),
      make_route("/other", {"POST"}),
    });
    REQUIRE(table);
    CHECK(table->match("GET", "/r/fixed").status == not_allowed);
    CHECK(table->allow("/r/fixed") == "DELETE, PATCH, PUT");
    CHECK(table->allow("/r/other") == "PATCH, PUT");
    CHECK(table->allow("/missing").empty());
  }

  TEST_CASE("an empty route list compiles and answers 404 to everything") {
    auto table = compile({});
    REQUIRE(table);
    CHECK(table->match("GET", "/").status == not_found);
    fake_request f{"GET", "/"};
    auto resp = table->dispatch(f.req);
    CHECK(resp.status() == 404);
    CHECK(resp.body() == "Not Found\n");
    CHECK(resp.content_type() == "text/plain; charset=utf-8");
  }

  TEST_CASE("matching allocates nothing") {
    auto table = compile(sample_routes());
    REQUIRE(table);
    size_t results = 0;
    auto before = allocations.load();
    for (auto [method, path] : {std::pair{"GET"sv, "/users/42/posts/7"sv},
                                {"GET"sv, "/static/css/a.css"sv},
                                {"DELETE"sv, "/users/42"sv},
                                {"GET"sv, "/nope/at/all"sv}}) {
      auto m = table->match(method, path);
      results += m.bindings.size();
    }
    auto after = allocations.load();
    CHECK(after == before);
    CHECK(results == 3);
    // The counter does see allocations.
    auto probe = std::make_unique<std::string>(100, 'x');
    CHECK(allocations.load() > after);
  }

  TEST_CASE("a route may declare path_bindings::capacity bindings, no more") {
    std::string eight;
    std::string path;
    for (int i = 0; i < 8; ++i) {
      eight += "/:p" + std::to_string(i);
      path += "/v" + std::to_string(i);
    }
    auto table = compile({make_route(eight)});
    REQUIRE(table);
    auto m = table->match("GET", path);
    REQUIRE(m.status == found);
    CHECK(m.bindings.size() == 8);
    CHECK(m.bindings.find("p7") == "v7");
    auto nine = compile({make_route(eight + "/*rest")});
    REQUIRE_FALSE(nine);
    CHECK(nine.error().code == route_errc::too_many_bindings);
  }

  // -- compile errors ---------------------------------------------------------

  TEST_CASE(
    "invalid routes fail compile with the route index, path and reason") {
    struct error_case {
      std::string path;
      std::vector<std::string> methods;
      route_errc code;
    };
    const error_case cases[] = {
      {"", {}, route_errc::empty_path},
      {"users", {}, route_errc::relative_path},
      {"*", {}, route_errc::relative_path},
      {"/users/:", {}, route_errc::empty_binding_name},
      {"/files/*", {}, route_errc::empty_binding_name},
      {"/a/:id/:id", {}, route_errc::duplicate_binding_name},
      {"/a/:id/*id", {}, route_errc::duplicate_binding_name},
      {"/a/*rest/b", {}, route_errc::wildcard_not_last},
      {"/a/*rest/:x", {}, route_errc::wildcard_not_last},
      {"/a b", {}, route_errc::bad_literal},
      {"/a?b=1", {}, route_errc::bad_literal},
      {"/caf\xc3\xa9", {}, route_errc::bad_literal},
      {"/tab\t", {}, route_errc::bad_literal},
      {"/x", {"GET", ""}, route_errc::bad_method},
      {"/x", {"GE T"}, route_errc::bad_method},
      {"/x", {"GET\r\n"}, route_errc::bad_method},
      {"/x", {"G(ET"}, route_errc::bad_method},
    };
    for (const auto& c : cases) {
      CAPTURE(c.path);
      CAPTURE(roadrunner::to_string(c.code));
      // A good route first, so the index must point at the second.
      auto res = compile({make_route("/ok"), make_route(c.path, c.methods)});
      REQUIRE_FALSE(res);
      CHECK(res.value() == nullptr);
      CHECK(std::string_view{roadrunner::to_string(res.error().code)} ==
            roadrunner::to_string(c.code));
      CHECK(res.error().index == 1);
      CHECK(res.error().path == c.path);
      CHECK_FALSE(res.error().reason.empty());
    }
  }

  TEST_CASE("an empty handler or middleware fails compile") {
    SUBCASE("empty handler") {
      route r;
      r.path = "/x";
      auto res = compile({r});
      REQUIRE_FALSE(res);
      CHECK(res.error().code == route_errc::empty_handler);
      CHECK(res.error().index == 0);
    }
    SUBCASE("empty route middleware") {
      auto r = make_route("/x");
      r.middlewares.push_back(
        [](request& req, const next_fn& next) { return next(req); });
      r.middlewares.emplace_back();
      auto res = compile({make_route("/y"), make_route("/z"), r});
      REQUIRE_FALSE(res);
      CHECK(res.error().code == route_errc::empty_middleware);
      CHECK(res.error().index == 2);
      CHECK(res.error().reason == "middleware 1 is empty");
    }
    SUBCASE("empty listener middleware") {
      auto res = compile({make_route("/x")}, {middleware{}});
      REQUIRE_FALSE(res);
      CHECK(res.error().code == route_errc::empty_middleware);
      CHECK(res.error().index == route_error::listener);
      CHECK(res.error().path.empty());
    }
    SUBCASE("single handler") {
      CHECK(compile_single({}).error().code == route_errc::empty_handler);
      CHECK(compile_single(answer("x"), {}, {middleware{}}).error().code ==
            route_errc::empty_middleware);
      CHECK(compile_single(answer("x"), {}, {}, {middleware{}}).error().index ==
            route_error::listener);
    }
  }

  TEST_CASE("the error reason names the offending piece") {
    auto res = compile({make_route("/a/:id/:id")});
    REQUIRE_FALSE(res);
    CHECK(res.error().reason == "binding name 'id' used twice");
    res = compile({make_route("/a/*rest/b")});
    CHECK(res.error().reason == "wildcard '*rest' must be the last segment");
    res = compile({make_route("/x", {"GE T"})});
    CHECK(res.error().reason == "method 'GE T' is not a token (RFC 9110 9.1)");
  }

  // -- dispatch and middleware ------------------------------------------------

  TEST_CASE("middlewares run listener-wide then per-route, first outermost") {
    std::vector<std::string> log;
    auto layer = [&log](std::string name) -> middleware {
      return [&log, name](request& req, const next_fn& next) {
        log.push_back(name + ">");
        auto resp = next(req);
        log.push_back("<" + name);
        return resp;
      };
    };
    route r;
    r.path = "/x";
    r.handler = [&log](request&) {
      log.push_back("handler");
      return response::text(200, "ok");
    };
    r.middlewares = {layer("r1"), layer("r2")};
    auto table = compile({r}, {layer("l1"), layer("l2")});
    REQUIRE(table);
    fake_request f{"GET", "/x"};
    auto resp = table->dispatch(f.req);
    CHECK(resp.status() == 200);
    const std::vector<std::string> expected{
      "l1>", "l2>", "r1>", "r2>", "handler", "<r2", "<r1", "<l2", "<l1"};
    CHECK(log == expected);
  }

  TEST_CASE("a middleware may short-circuit or rewrite the response") {
    bool handler_ran = false;
    route r;
    r.path = "/secret";
    r.handler = [&](request&) {
      handler_ran = true;
      return response::text(200, "secret");
    };
    r.middlewares.push_back([](request& req, const next_fn& next) {
      if (!req.header("authorization"))
        return response::status_only(401);
      return next(req);
    });
    auto stamp = [](request& req, const next_fn& next) {
      auto resp = next(req);
      resp.header("x-stamp", "1");
      return resp;
    };
    auto table = compile({r}, {stamp});
    REQUIRE(table);
    fake_request anon{"GET", "/secret"};
    auto resp = table->dispatch(anon.req);
    CHECK(resp.status() == 401);
    CHECK(field(resp, "x-stamp") == "1");
    CHECK_FALSE(handler_ran);
    fake_request authed{"GET", "/secret", {{"Authorization", "Bearer t"}}};
    resp = table->dispatch(authed.req);
    CHECK(resp.status() == 200);
    CHECK(resp.body() == "secret");
    CHECK(handler_ran);
  }

  TEST_CASE("404 and 405 pass through listener middlewares, not route ones "
            "(upstream F4)") {
    std::vector<std::string> log;
    auto security = [&log](request& req, const next_fn& next) {
      log.push_back("security");
      auto resp = next(req);
      resp.header("x-frame-options", "DENY");
      return resp;
    };
    auto r = make_route("/things", {"GET"});
    r.middlewares.push_back([&log](request& req, const next_fn& next) {
      log.push_back("route");
      return next(req);
    });
    auto table = compile({r}, {security});
    REQUIRE(table);

    SUBCASE("404") {
      fake_request f{"GET", "/missing"};
      auto resp = table->dispatch(f.req);
      CHECK(resp.status() == 404);
      CHECK(resp.body() == "Not Found\n");
      CHECK(field(resp, "x-frame-options") == "DENY");
      CHECK(field(resp, "allow") == "<none>");
      CHECK(log == std::vector<std::string>{"security"});
    }
    SUBCASE("405") {
      fake_request f{"DELETE", "/things"};
      auto resp = table->dispatch(f.req);
      CHECK(resp.status() == 405);
      CHECK(resp.body() == "Method Not Allowed\n");
      CHECK(resp.content_type() == "text/plain; charset=utf-8");
      CHECK(field(resp, "allow") == "GET, OPTIONS");
      CHECK(field(resp, "x-frame-options") == "DENY");
      CHECK(log == std::vector<std::string>{"security"});
    }
  }

  TEST_CASE("a CORS middleware answers a preflight to a GET-only route (F4)") {
    auto cors = [](request& req, const next_fn& next) {
      if (req.method() == "OPTIONS" &&
          req.header("access-control-request-method")) {
        auto resp = response::status_only(204);
        resp.header("access-control-allow-origin", "*");
        resp.header("access-control-allow-methods", "GET");
        return resp;
      }
      auto resp = next(req);
      resp.header("access-control-allow-origin", "*");
      return resp;
    };
    auto table = compile({make_route("/api", {"GET"})}, {cors});
    REQUIRE(table);
    fake_request preflight{"OPTIONS",
                           "/api",
                           {{"Origin", "https://a.example"},
                            {"Access-Control-Request-Method", "GET"}}};
    auto resp = table->dispatch(preflight.req);
    CHECK(resp.status() == 204);
    CHECK(field(resp, "access-control-allow-methods") == "GET");
    // A plain OPTIONS is the router's (RFC 9110 9.3.7), through the
    // middleware too.
    fake_request plain_options{"OPTIONS", "/api"};
    resp = table->dispatch(plain_options.req);
    CHECK(resp.status() == 204);
    CHECK(field(resp, "allow") == "GET, OPTIONS");
    CHECK(field(resp, "access-control-allow-origin") == "*");
  }

  TEST_CASE(
    "middlewares are composed once and shared, not copied per request") {
    struct counted {
      std::shared_ptr<std::atomic<int>> copies;
      counted(std::shared_ptr<std::atomic<int>> c) : copies(std::move(c)) {}
      counted(const counted& other) : copies(other.copies) { ++*copies; }
      counted& operator=(const counted&) = default;
      response operator()(request& req, const next_fn& next) const {
        return next(req);
      }
    };
    auto copies = std::make_shared<std::atomic<int>>(0);
    std::vector<middleware> listener{middleware{counted{copies}}};
    auto before_compile = copies->load();
    auto table =
      compile({make_route("/a"), make_route("/b"), make_route("/c")}, listener);
    REQUIRE(table);
    auto after_compile = copies->load();
    // At most one copy into the shared instance: the 3 route pipelines and
    // the 2 fallbacks hold it by shared_ptr.
    CHECK(after_compile - before_compile <= 1);
    for (int i = 0; i < 50; ++i) {
      fake_request f{"GET", i % 2 == 0 ? "/a"sv : "/nope"sv};
      CHECK(table->dispatch(f.req).status() == (i % 2 == 0 ? 200 : 404));
    }
    CHECK(copies->load() == after_compile);
  }

  TEST_CASE("compose with no layers returns the handler itself") {
    int calls = 0;
    auto h = roadrunner::compose({}, [&](request&) {
      ++calls;
      return response::status_only(204);
    });
    fake_request f{"GET", "/"};
    CHECK(h(f.req).status() == 204);
    CHECK(calls == 1);
    auto skipping = roadrunner::compose({middleware{}}, h);
    CHECK(skipping(f.req).status() == 204);
  }

  // -- request: bindings and state --------------------------------------------

  TEST_CASE(
    "bindings and per-route state are set before the first middleware") {
    struct config {
      std::string greeting;
    };
    route r;
    r.path = "/hello/:name/*rest";
    r.state = config{"hi"};
    std::string seen_by_middleware;
    r.middlewares.push_back([&](request& req, const next_fn& next) {
      seen_by_middleware = std::string{req.binding("name").value_or("?")};
      return next(req);
    });
    r.handler = [](request& req) {
      const auto* cfg = req.state_as<config>();
      if (cfg == nullptr || req.state_as<std::string>() != nullptr)
        return response::status_only(500);
      std::string body = cfg->greeting;
      body += ' ';
      body += req.binding("name").value_or("?");
      body += ' ';
      body += req.binding("rest").value_or("?");
      body += ' ';
      body += std::to_string(req.bindings().size());
      if (req.binding("missing"))
        body += " missing?";
      return response::text(200, std::move(body));
    };
    auto plain = make_route("/plain");
    plain.handler = [](request& req) {
      return response::text(200, req.state().has_value() ? "state" : "none");
    };
    auto table = compile({r, plain});
    REQUIRE(table);

    fake_request f{"GET", "/hello/ann/x/y?z=1"};
    auto resp = table->dispatch(f.req);
    CHECK(resp.status() == 200);
    CHECK(resp.body() == "hi ann x/y 2");
    CHECK(seen_by_middleware == "ann");
    CHECK(f.req.bindings().items()[0].name == "name");

    fake_request g{"GET", "/plain"};
    CHECK(table->dispatch(g.req).body() == "none");
    CHECK(g.req.bindings().empty());
  }

  TEST_CASE("a 404 clears bindings and state left from an earlier dispatch") {
    auto r = make_route("/u/:id");
    r.state = 7;
    auto table = compile({r});
    REQUIRE(table);
    fake_request f{"GET", "/u/1"};
    table->dispatch(f.req);
    CHECK(f.req.binding("id") == "1");
    CHECK(*f.req.state_as<int>() == 7);
    auto m = table->match("GET", "/other");
    CHECK(table->respond(f.req, m).status() == 404);
    CHECK(f.req.bindings().empty());
    CHECK_FALSE(f.req.state().has_value());
  }

  TEST_CASE("a request outside any dispatch has no bindings, state or id") {
    fake_request f{"GET", "/"};
    CHECK(f.req.bindings().empty());
    CHECK_FALSE(f.req.binding("x"));
    CHECK_FALSE(f.req.state().has_value());
    CHECK(f.req.state_as<int>() == nullptr);
    CHECK(f.req.request_id().empty());
  }

  TEST_CASE("path_bindings holds at most its capacity") {
    roadrunner::path_bindings b;
    for (size_t i = 0; i < roadrunner::path_bindings::capacity; ++i)
      CHECK(b.push("n", "v"));
    CHECK_FALSE(b.push("n", "v"));
    CHECK(b.size() == roadrunner::path_bindings::capacity);
    b.clear();
    CHECK(b.empty());
  }

  // -- single handler
  // -----------------------------------------------------------

  TEST_CASE("single-handler mode gets every method and path, with state") {
    std::vector<std::string> log;
    auto mw = [&log](std::string name) -> middleware {
      return [&log, name](request& req, const next_fn& next) {
        log.push_back(name);
        return next(req);
      };
    };
    auto table = compile_single(
      [](request& req) {
        return response::text(200, *req.state_as<std::string>());
      },
      std::string{"state!"}, {mw("own")}, {mw("listener")});
    REQUIRE(table);
    CHECK(table->single_handler());
    for (auto req_line : {std::pair{"GET"sv, "/"sv},
                          {"DELETE"sv, "/any/thing"sv},
                          {"OPTIONS"sv, "*"sv},
                          {"CONNECT"sv, "example.com:443"sv}}) {
      auto method = req_line.first;
      auto path = req_line.second;
      CAPTURE(path);
      auto m = table->match(method, path);
      CHECK(m.status == found);
      fake_request f{method, path};
      auto resp = table->dispatch(f.req);
      CHECK(resp.status() == 200);
      CHECK(resp.body() == "state!");
    }
    CHECK(log.size() == 8);
    CHECK(log[0] == "listener");
    CHECK(log[1] == "own");
    CHECK(table->allow("/").empty());
  }

  TEST_CASE("one table serves several threads at once") {
    auto r = make_route("/n/:id");
    r.handler = [](request& req) {
      return response::text(200, std::string{req.binding("id").value_or("")});
    };
    auto table = compile(
      {r}, {[](request& req, const next_fn& next) { return next(req); }});
    REQUIRE(table);
    std::shared_ptr<const roadrunner::compiled_routes> shared = table.value();
    std::atomic<int> failures{0};
    auto work = [&](int id) {
      auto path = "/n/" + std::to_string(id);
      for (int i = 0; i < 2000; ++i) {
        fake_request f{"GET", path};
        if (shared->dispatch(f.req).body() != std::to_string(id))
          ++failures;
      }
    };
    std::thread t1{work, 1};
    std::thread t2{work, 2};
    t1.join();
    t2.join();
    CHECK(failures.load() == 0);
  }

  // -- request: query, cookies, id
  // ----------------------------------------------

  TEST_CASE("parse_query decodes pairs in order and keeps duplicates") {
    fake_request f{"GET",
                   "/s?a=1&b=hello+world&c=%41%42%2f&d&&e=&%zz=x&f=%4&a=2"};
    using pairs = std::vector<std::pair<std::string, std::string>>;
    const pairs expected{
      {"a", "1"}, {"b", "hello world"}, {"c", "AB/"}, {"d", ""},
      {"e", ""},  {"%zz", "x"},         {"f", "%4"},  {"a", "2"}};
    CHECK(f.req.parse_query() == expected);
    CHECK(f.req.query_param("a") == "1");
    CHECK(f.req.query_param("b") == "hello world");
    CHECK(f.req.query_param("d") == "");
    CHECK_FALSE(f.req.query_param("missing"));
    fake_request encoded{"GET", "/s?na%6De=v&sp+ace=w"};
    CHECK(encoded.req.query_param("name") == "v");
    CHECK(encoded.req.query_param("sp ace") == "w");
    fake_request none{"GET", "/s"};
    CHECK(none.req.parse_query().empty());
    CHECK_FALSE(none.req.query_param("a"));
  }

  TEST_CASE("cookie finds a value across Cookie fields (RFC 6265 5.4)") {
    fake_request f{"GET",
                   "/",
                   {{"Cookie", "a=1; b=\"two\";c=3 ;  d = 4; flag; e="},
                    {"Host", "x"},
                    {"cookie", "f=6; a=dup; g=x=y"}}};
    CHECK(f.req.cookie("a") == "1");
    CHECK(f.req.cookie("b") == "two");
    CHECK(f.req.cookie("c") == "3");
    CHECK(f.req.cookie("d") == "4");
    CHECK(f.req.cookie("e") == "");
    CHECK(f.req.cookie("f") == "6");
    CHECK(f.req.cookie("g") == "x=y");
    CHECK_FALSE(f.req.cookie("flag"));
    CHECK_FALSE(f.req.cookie("A"));
    CHECK_FALSE(f.req.cookie("missing"));
    auto all = f.req.cookies();
    REQUIRE(all.size() == 8);
    CHECK(all[0] == std::pair{"a"sv, "1"sv});
    CHECK(all[6] == std::pair{"a"sv, "dup"sv});
    auto before = allocations.load();
    auto v = f.req.cookie("g");
    CHECK(allocations.load() == before);
    CHECK(v == "x=y");
    fake_request none{"GET", "/"};
    CHECK_FALSE(none.req.cookie("a"));
    CHECK(none.req.cookies().empty());
  }

  TEST_CASE("request_id holds 16 hex digits set by the connection") {
    fake_request f{"GET", "/"};
    roadrunner::detail::request_access::request_id(
      f.req, uint64_t{0x0123456789abcdef});
    CHECK(f.req.request_id() == "0123456789abcdef");
    roadrunner::detail::request_access::request_id(f.req, uint64_t{42});
    CHECK(f.req.request_id() == "000000000000002a");
    roadrunner::detail::request_access::request_id(f.req,
                                                   "ffffffffffffffffEXTRA"sv);
    CHECK(f.req.request_id() == "ffffffffffffffff");
    roadrunner::detail::request_access::request_id(f.req, "abc"sv);
    CHECK(f.req.request_id() == "abc");
  }
}
