// Routing through a real listener: route lists, bindings, state, 404/405
// through the listener middlewares, reload_routes.

#include "fixture.hpp"
#include "net.hpp"
#include <roadrunner/roadrunner.hpp>

#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

using namespace rrtest;
using namespace roadrunner;

namespace {

std::string get(client& c, const std::string& method, const std::string& path,
                http_response* out = nullptr) {
  REQUIRE(c.send(method + " " + path + " HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto res = c.read_response(5s, method == "HEAD");
  REQUIRE(res);
  if (out != nullptr)
    *out = *res;
  return std::to_string(res->status) + " " + res->body;
}

response text(std::string body) {
  return response::text(200, std::move(body));
}

// Adds a header to every answer, 404 and 405 included (upstream bug F4).
response tag(request& req, const next_fn& next) {
  auto res = next(req);
  res.header("x-mw", "listener");
  return res;
}

route_list first_table() {
  return {
    {"/users/:id",
     [](request& r) { return text("user " + std::string{*r.binding("id")}); },
     {},
     {},
     {"GET", "PUT"}},
    {"/users/:id", [](request&) { return text("delete"); }, {}, {}, {"DELETE"}},
    {"/files/*rest",
     [](request& r) {
       return text("file " + std::string{*r.binding("rest")});
     }},
    {"/state", [](request& r) { return text(*r.state_as<std::string>()); },
     std::string{"route state"}},
  };
}

} // namespace

TEST_SUITE("actors.routes") {

  TEST_CASE("a route list dispatches with bindings, state, 404 and 405") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = first_table();
    opts.middlewares = {tag};
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    CHECK(get(c, "GET", "/users/42") == "200 user 42");
    CHECK(get(c, "DELETE", "/users/42") == "200 delete");
    CHECK(get(c, "GET", "/files/a/b.txt") == "200 file a/b.txt");
    CHECK(get(c, "GET", "/state") == "200 route state");
    http_response res;
    CHECK(get(c, "GET", "/nope", &res).rfind("404", 0) == 0);
    CHECK(res.header("x-mw") == "listener");
    CHECK(get(c, "POST", "/users/42", &res).rfind("405", 0) == 0);
    CHECK(res.header("allow") == "DELETE, GET, PUT, OPTIONS");
    CHECK(res.header("x-mw") == "listener");
    get(c, "HEAD", "/users/7", &res);
    CHECK(res.status == 200);
    CHECK(res.header("content-length") == "6"); // "user 7", not sent
  }

  TEST_CASE("reload_routes swaps the table for every later request") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = route_list{{"/a", [](request&) { return text("a"); }}};
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    CHECK(get(c, "GET", "/a") == "200 a");
    CHECK(get(c, "GET", "/b").rfind("404", 0) == 0);
    fx.ask<caf::ok_atom>(
      l, reload_routes_atom::value,
      route_list{{"/b", [](request&) { return text("b"); }}});
    // The same keep-alive connection sees the new table.
    CHECK(get(c, "GET", "/b") == "200 b");
    CHECK(get(c, "GET", "/a").rfind("404", 0) == 0);
    // A bad list is refused and the current table stays.
    bool refused = false;
    fx.self
      ->request(l, std::chrono::seconds(5), reload_routes_atom::value,
                route_list{{"no-slash", [](request&) { return text("x"); }}})
      .receive([](caf::ok_atom) {},
               [&](caf::error& err) {
                 refused = err.code() ==
                           static_cast<uint8_t>(errc::invalid_listener_opt);
               });
    CHECK(refused);
    CHECK(get(c, "GET", "/b") == "200 b");
  }

  TEST_CASE("reload_routes on a single-handler listener answers no_routes") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = [](request&) { return text("single"); };
    auto l = fx.start(opts);
    bool no_routes = false;
    fx.self
      ->request(l, std::chrono::seconds(5), reload_routes_atom::value,
                route_list{{"/b", [](request&) { return text("b"); }}})
      .receive([](caf::ok_atom) {},
               [&](caf::error& err) {
                 no_routes =
                   err.code() == static_cast<uint8_t>(errc::no_routes);
               });
    CHECK(no_routes);
    client c{fx.port_of(l)};
    CHECK(get(c, "GET", "/anything") == "200 single");
  }

  TEST_CASE("single handler with state and per-handler middlewares") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = routes::single(
      [](request& r) { return text(*r.state_as<std::string>()); },
      std::string{"handler state"}, {[](request& r, const next_fn& next) {
        auto res = next(r);
        res.header("x-inner", "1");
        return res;
      }});
    opts.middlewares = {tag};
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    http_response res;
    CHECK(get(c, "GET", "/x", &res) == "200 handler state");
    CHECK(res.header("x-inner") == "1");
    CHECK(res.header("x-mw") == "listener");
  }

  TEST_CASE("every request gets its own 16-hex-character id") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = [](request& r) { return text(std::string{r.request_id()}); };
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    std::vector<std::string> ids;
    for (int i = 0; i < 50; ++i) {
      auto answer = get(c, "GET", "/");
      REQUIRE(answer.size() == 4 + 16);
      auto id = answer.substr(4);
      CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
      ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    CHECK(std::unique(ids.begin(), ids.end()) == ids.end());
  }

  TEST_CASE("reload under load: 100 swaps, no failed request") {
    fixture fx;
    auto table = [](std::string tag) {
      return route_list{
        {"/", [tag](request&) { return text(tag); }},
        {"/users/:id",
         [](request& r) { return text(std::string{*r.binding("id")}); }},
      };
    };
    auto opts = fixture::loopback();
    opts.routes = table("v0");
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0};
    std::atomic<int> bad{0};
    std::vector<std::thread> load;
    for (int t = 0; t < 4; ++t)
      load.emplace_back([&, t] {
        client c{port};
        for (int i = 0; i < 100000 && !stop; ++i) {
          auto path =
            i % 2 == 0 ? std::string{"/"} : "/users/" + std::to_string(t);
          if (!c.send("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n")) {
            ++bad;
            return;
          }
          auto res = c.read_response(5s);
          bool good = res && res->status == 200 &&
                      (i % 2 == 0 ? res->body.rfind("v", 0) == 0
                                  : res->body == std::to_string(t));
          (good ? ok : bad)++;
          if (!good)
            return;
        }
      });
    for (int v = 1; v <= 100; ++v)
      fx.ask<caf::ok_atom>(l, reload_routes_atom::value,
                           table(std::string{"v"}.append(std::to_string(v))));
    stop = true;
    for (auto& t : load)
      t.join();
    CHECK(bad == 0);
    CHECK(ok > 0);
    client c{port};
    CHECK(get(c, "GET", "/") == "200 v100");
  }

  TEST_CASE("a file range is served with sendfile; HEAD and errors too") {
    char path[] = "/tmp/rr-file-XXXXXX";
    int tmp = ::mkstemp(path);
    REQUIRE(tmp >= 0);
    std::string content(3 << 20, '\0');
    for (size_t i = 0; i < content.size(); ++i)
      content[i] = static_cast<char>('a' + i % 23);
    REQUIRE(::write(tmp, content.data(), content.size()) ==
            static_cast<ssize_t>(content.size()));
    ::close(tmp);
    std::string file_path = path;
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = route_list{
      {"/whole",
       [file_path](request&) {
         return response::file(200, file_path, "application/octet-stream");
       }},
      {"/part",
       [file_path](request&) {
         return response::file(206, file_path, "text/plain", 100, 5000);
       }},
      {"/missing",
       [](request&) {
         return response::file(200, "/nonexistent/file", "text/plain");
       }},
    };
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    http_response res;
    get(c, "GET", "/whole", &res);
    CHECK(res.status == 200);
    CHECK(res.body == content);
    get(c, "GET", "/part", &res);
    CHECK(res.status == 206);
    CHECK(res.body == content.substr(100, 5000));
    get(c, "HEAD", "/whole", &res);
    CHECK(res.header("content-length") == std::to_string(content.size()));
    CHECK(get(c, "GET", "/missing").rfind("404", 0) == 0);
    // The connection is still in step after all of that.
    get(c, "GET", "/part", &res);
    CHECK(res.body == content.substr(100, 5000));
    ::unlink(path);
  }

  TEST_CASE("issue 12: every table's handler actors end once no table holds "
            "them, the start-time table included") {
    // Each table gets its own reactor-local handler (one actor per
    // reactor); `ended[k]` counts the instances of table k that ended.
    fixture fx;
    auto ended = std::make_shared<std::array<std::atomic<int>, 3>>();
    auto make = [&](int k, std::string body) {
      return reactor_local_handler(
        fx.sys,
        [ended, k,
         body](handler_actor::pointer self) -> handler_actor::behavior_type {
          self->attach_functor([ended, k] { ++(*ended)[k]; });
          return {[body](http_request&) { return text(body); }};
        });
    };
    // Instances per handler: one per reactor of the fixture's system.
    const int n = static_cast<int>(module::from(fx.sys)->num_reactors());
    auto wait_ended = [&](int k) {
      auto deadline = std::chrono::steady_clock::now() + 5s;
      while ((*ended)[k] < n && std::chrono::steady_clock::now() < deadline)
        fx.self->receive(caf::after(std::chrono::milliseconds(5)) >> [] {});
      return (*ended)[k].load();
    };
    auto opts = fixture::loopback();
    opts.routes = route_list{{"/t", make(0, "zero")}};
    auto l = fx.start(std::move(opts)); // no copy of table 0's list here
    client c{fx.port_of(l)};
    CHECK(get(c, "GET", "/t") == "200 zero");
    fx.ask<caf::ok_atom>(l, reload_routes_atom::value,
                         route_list{{"/t", make(1, "one")}});
    // The keep-alive connection still holds table 0 until its next request.
    CHECK((*ended)[0] == 0);
    CHECK(get(c, "GET", "/t") == "200 one");
    CHECK(wait_ended(0) == n);
    fx.ask<caf::ok_atom>(l, reload_routes_atom::value,
                         route_list{{"/t", make(2, "two")}});
    CHECK(get(c, "GET", "/t") == "200 two");
    CHECK(wait_ended(1) == n);
    CHECK((*ended)[2] == 0);
    // Stopping the listener (and so its connections) frees the last one.
    fx.ask<caf::ok_atom>(l, stop_atom::value);
    fx.started.clear();
    CHECK(c.closed_by_peer());
    CHECK(wait_ended(2) == n);
  }

} // TEST_SUITE
