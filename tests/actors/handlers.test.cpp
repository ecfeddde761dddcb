// Deferred responses, handler actors, streaming, loop handlers and the
// manual body mode, through real listeners and raw loopback clients.

#include "fixture.hpp"
#include "net.hpp"
#include <roadrunner/roadrunner.hpp>

#include <caf/logger.hpp>
#include <caf/scoped_actor.hpp>

#include <doctest/doctest.h>

#include <sys/ioctl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <malloc.h>
#include <memory>
#include <mutex>
#include <poll.h>
#include <string>
#include <thread>
#include <vector>

using namespace rrtest;
using namespace roadrunner;
using namespace std::chrono_literals;

namespace {

// Completes responders from other threads; joins them all. The answer may
// reach the connection before or after the handler returned: the
// connection applies it once the handler is done either way.
class completer {
public:
  ~completer() { join(); }

  void run(std::function<void()> fn) {
    std::lock_guard<std::mutex> guard{mtx_};
    threads_.emplace_back(std::move(fn));
  }

  void join() {
    std::vector<std::thread> ts;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      ts.swap(threads_);
    }
    for (auto& t : ts)
      t.join();
  }

private:
  std::mutex mtx_;
  std::vector<std::thread> threads_;
};

#if defined(__SANITIZE_ADDRESS__)
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

// Bytes of heap in use by the whole process (glibc's arenas and mmapped
// chunks; ASan's allocator under ASan, which glibc's counters do not see).
size_t heap_in_use() {
#if defined(__SANITIZE_ADDRESS__)
  return __sanitizer_get_current_allocated_bytes();
#else
  const auto mi = ::mallinfo2();
  return mi.uordblks + mi.hblkhd;
#endif
}

route get(std::string path, handler h) {
  return route{
    .path = std::move(path), .handler = std::move(h), .methods = {"GET"}};
}

std::string get_req(std::string_view path, std::string_view extra = {}) {
  std::string out{"GET "};
  out += path;
  out += " HTTP/1.1\r\nHost: t\r\n";
  out += extra;
  out += "\r\n";
  return out;
}

} // namespace

TEST_SUITE("actors.handlers") {

  TEST_CASE("a deferred answer from another thread keeps pipelined order") {
    fixture fx;
    completer done;
    auto opts = fixture::loopback();
    opts.routes = route_list{
      get("/later",
          [&done](request& req) {
            auto reply = req.defer();
            done.run([reply] {
              CHECK(reply.send(response::text(200, "later")));
              CHECK_FALSE(reply.send(response::text(200, "twice")));
            });
            return response::deferred();
          }),
      get("/now", [](request&) { return response::text(200, "now"); }),
    };
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    REQUIRE(c.send(get_req("/later") + get_req("/now")));
    auto a = c.read_response();
    auto b = c.read_response();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->body == "later");
    CHECK(b->body == "now");
    // The connection is still usable after the deferred answer.
    REQUIRE(c.send(get_req("/later")));
    auto again = c.read_response();
    REQUIRE(again);
    CHECK(again->body == "later");
  }

  TEST_CASE("middleware fields on the deferred marker reach the answer") {
    fixture fx;
    completer done;
    auto opts = fixture::loopback();
    opts.middlewares.push_back([](request& req, const next_fn& next) {
      auto r = next(req);
      r.header("x-mw", "seen");
      return r;
    });
    opts.routes = route_list{get("/d", [&done](request& req) {
      auto reply = req.defer();
      done.run([reply] { reply.send(response::text(201, "d")); });
      return response::deferred();
    })};
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    REQUIRE(c.send(get_req("/d")));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 201);
    CHECK(r->header("x-mw") == "seen");
    CHECK(r->body == "d");
  }

  TEST_CASE("a responder dropped unanswered, or no responder at all: 500") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = route_list{
      get("/drop",
          [](request& req) {
            auto reply = req.defer(); // dropped when the handler returns
            return response::deferred();
          }),
      get("/none", [](request&) { return response::deferred(); }),
      get("/ok", [](request&) { return response::text(200, "ok"); }),
    };
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    REQUIRE(c.send(get_req("/drop") + get_req("/none") + get_req("/ok")));
    auto a = c.read_response();
    auto b = c.read_response();
    auto ok = c.read_response();
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(ok);
    CHECK(a->status == 500);
    CHECK(b->status == 500);
    CHECK(ok->status == 200);
    CHECK(fx.info_of(l).in_flight == 0);
  }

  TEST_CASE("reactor-hosted actors resume without CAF's per-resume logger "
            "bookkeeping when the logger is quiet") {
    // With a current logger, every resume pays logger::thread_local_aid (a
    // locked map update); the reactor clears the thread's logger when it
    // would log nothing anyway. Seen from inside a reactor-hosted handler
    // actor, and after a connection was spawned on that same thread (a
    // spawn sets the logger again).
    fixture fx;
    bool quiet = fx.sys.logger().verbosity() == CAF_LOG_LEVEL_QUIET;
    auto probe = reactor_local_handler(
      fx.sys, [](handler_actor::pointer) -> handler_actor::behavior_type {
        return {[](http_request&) {
          bool none = caf::logger::current_logger() == nullptr;
          return response::text(200, none ? "none" : "set");
        }};
      });
    auto opts = fixture::loopback();
    opts.routes = route_list{get("/probe", probe)};
    auto l = fx.start(opts);
    for (int i = 0; i < 3; ++i) { // a new connection (a spawn) each time
      client c{fx.port_of(l)};
      REQUIRE(c.send(get_req("/probe")));
      auto r = c.read_response();
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(r->body == (quiet ? "none" : "set"));
    }
  }

  TEST_CASE(
    "handler actors: answer, timeout 504, dead 503, dying 500 at once") {
    fixture fx;
    auto opts = fixture::loopback();
    auto hello = reactor_local_handler(
      fx.sys, [](handler_actor::pointer) -> handler_actor::behavior_type {
        return {[](http_request& req) {
          return response::text(
            200, "hi " + std::string{req->binding("name").value_or("?")});
        }};
      });
    // Never answers: the promise is dropped (CAF 0.17 sends no error).
    auto silent = reactor_local_handler(
      fx.sys,
      [](handler_actor::pointer self) -> handler_actor::behavior_type {
        return {[self](http_request&) -> caf::result<response> {
          return self->make_response_promise<response>();
        }};
      },
      actor_handler_options{.timeout = 200ms});
    // Function-based actors get an argument: CAF 0.17 dereferences a null
    // tuple when it spawns one without (UBSan reports it).
    auto dead_actor = fx.sys.spawn(
      [](handler_actor::pointer, int) -> handler_actor::behavior_type {
        return {[](http_request&) { return response::text(200, "alive"); }};
      },
      0);
    caf::anon_send_exit(dead_actor, caf::exit_reason::kill);
    fx.self->wait_for(dead_actor);
    // Dies while it holds the request.
    auto dying = fx.sys.spawn(
      [](handler_actor::pointer self, int) -> handler_actor::behavior_type {
        return {[self](http_request&) -> caf::result<response> {
          self->quit(caf::exit_reason::user_shutdown);
          return self->make_response_promise<response>();
        }};
      },
      0);
    opts.routes = route_list{
      get("/hello/:name", hello),
      get("/silent", silent),
      get("/dead", actor_handler(dead_actor)),
      get("/dying", actor_handler(dying, {.timeout = 30s})),
    };
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    REQUIRE(c.send(get_req("/hello/bob")));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "hi bob");

    auto t0 = clock_type::now();
    REQUIRE(c.send(get_req("/silent")));
    r = c.read_response(3s);
    REQUIRE(r);
    CHECK(r->status == 504);
    CHECK(clock_type::now() - t0 >= 150ms);

    REQUIRE(c.send(get_req("/dead")));
    r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 503);

    // The actor is watched while it holds the request (the livery seed's
    // monitor): its end answers at once, long before the 30 s deadline.
    t0 = clock_type::now();
    REQUIRE(c.send(get_req("/dying")));
    r = c.read_response(10s);
    REQUIRE(r);
    CHECK(r->status == 500);
    CHECK(clock_type::now() - t0 < 10s);

    // Every request ended: nothing holds an admission slot.
    CHECK(eventually([&] { return fx.info_of(l).in_flight == 0; }));
  }

  TEST_CASE("admission counts a deferred request until it is answered") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.max_concurrent_requests = 1;
    auto held = std::make_shared<std::vector<responder>>();
    auto mtx = std::make_shared<std::mutex>();
    opts.routes = route_list{get("/hold", [held, mtx](request& req) {
      std::lock_guard<std::mutex> guard{*mtx};
      held->push_back(req.defer());
      return response::deferred();
    })};
    auto l = fx.start(opts);
    client a{fx.port_of(l)};
    REQUIRE(a.send(get_req("/hold")));
    REQUIRE(eventually([&] { return fx.info_of(l).in_flight == 1; }));
    client b{fx.port_of(l)};
    REQUIRE(b.send(get_req("/hold")));
    auto rb = b.read_response();
    REQUIRE(rb);
    CHECK(rb->status == 503);
    CHECK(rb->header("retry-after") == "1");
    {
      std::lock_guard<std::mutex> guard{*mtx};
      REQUIRE(held->size() == 1);
      CHECK(held->front().send(response::text(200, "released")));
    }
    auto ra = a.read_response();
    REQUIRE(ra);
    CHECK(ra->body == "released");
    CHECK(eventually([&] { return fx.info_of(l).in_flight == 0; }));
    CHECK(fx.info_of(l).throttled == 1);
  }

  TEST_CASE("streaming: chunks, trailers, HEAD without body, HTTP/1.0") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = route_list{get("/s", [](request& req) {
      response head{200};
      head.header("x-a", "1");
      auto out = req.defer().stream(std::move(head));
      CHECK(out.write("hello") == write_status::ok);
      CHECK(out.write("") == write_status::ok); // ignored, no empty chunk
      CHECK(out.write("world") == write_status::ok);
      CHECK(out.finish({{"x-checksum", "abc"}}));
      CHECK(out.write("late") == write_status::closed);
      return response::deferred();
    })};
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    REQUIRE(c.send(get_req("/s")));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->header("transfer-encoding") == "chunked");
    CHECK_FALSE(r->header("content-length"));
    CHECK(r->header("x-a") == "1");
    CHECK(r->body == "helloworld");
    CHECK(r->chunks == std::vector<size_t>{5, 5});
    REQUIRE(r->trailers.size() == 1);
    CHECK(r->trailers[0].first == "x-checksum");
    CHECK(r->trailers[0].second == "abc");

    // HEAD: the head only; the next response follows right after it.
    REQUIRE(c.send("HEAD /s HTTP/1.1\r\nHost: t\r\n\r\n" + get_req("/s")));
    auto h = c.read_response(5s, true);
    REQUIRE(h);
    CHECK(h->status == 200);
    auto next = c.read_response();
    REQUIRE(next);
    CHECK(next->body == "helloworld");

    // HTTP/1.0 has no chunked coding: the body ends with the connection.
    client old{fx.port_of(l)};
    REQUIRE(old.send("GET /s HTTP/1.0\r\n\r\n"));
    CHECK(old.closed_by_peer());
    auto& raw = old.leftover();
    CHECK(raw.find("transfer-encoding") == std::string::npos);
    CHECK(raw.find("connection: close") != std::string::npos);
    CHECK(raw.size() >= 10);
    CHECK(raw.substr(raw.size() - 10) == "helloworld");
  }

  TEST_CASE("streaming: an unsafe trailer cuts the body short") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = route_list{get("/bad", [](request& req) {
      auto out = req.defer().stream(response{200});
      out.write("part");
      out.finish({{"x-evil", "a\r\nset-cookie: x=1"}});
      return response::deferred();
    })};
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    REQUIRE(c.send(get_req("/bad")));
    CHECK_FALSE(c.read_response(2s));
    CHECK(c.closed_by_peer());
    CHECK(c.leftover().find("set-cookie") == std::string::npos);
    CHECK(eventually([&] { return fx.info_of(l).in_flight == 0; }));
  }

  TEST_CASE("streaming to a reader that does not read stays bounded") {
    fixture fx;
    auto opts = fixture::loopback();
    constexpr size_t piece = 64 * 1024;
    constexpr size_t total = 64 * 1024 * 1024;
    struct state {
      stream_writer out;
      std::atomic<size_t> accepted{0};
      std::atomic<size_t> max_buffered{0};
      std::atomic<bool> saw_full{false};
      // While the client reads nothing: the most heap the process held
      // beyond `heap_before`, sampled each time the producer stops.
      std::atomic<bool> sampling{true};
      size_t heap_before = 0;
      std::atomic<size_t> max_heap_growth{0};
      event_count parked;
    };
    auto st = std::make_shared<state>();
    auto pump = std::make_shared<std::function<void()>>();
    *pump = [st, pump_ref = std::weak_ptr<std::function<void()>>(pump)] {
      while (st->accepted < total) {
        auto res = st->out.write(std::string(piece, 'z'));
        auto b = st->out.buffered();
        if (b > st->max_buffered)
          st->max_buffered = b;
        if (res == write_status::full) {
          st->saw_full = true;
          if (st->sampling) {
            const size_t now = heap_in_use();
            const size_t growth =
              now > st->heap_before ? now - st->heap_before : 0;
            if (growth > st->max_heap_growth)
              st->max_heap_growth = growth;
          }
          st->parked.raise();
          return; // on_ready calls us again
        }
        if (res == write_status::closed)
          return;
        st->accepted += piece;
      }
      st->out.finish();
    };
    opts.routes = route_list{get("/big", [st, pump](request& req) {
      st->out = req.defer().stream(response{200});
      st->out.on_ready([pump] { (*pump)(); });
      (*pump)();
      return response::deferred();
    })};
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    st->heap_before = heap_in_use();
    REQUIRE(c.send(get_req("/big")));
    // The client reads nothing. Wait until the producer was stopped (full)
    // and the server has filled the client's receive buffer, so the
    // samples cover a connection whose output is blocked.
    const auto client_has = [&](int bytes) {
      int queued = 0;
      return ::ioctl(c.fd(), FIONREAD, &queued) == 0 && queued >= bytes;
    };
    REQUIRE(st->parked.await(1));
    CHECK(eventually([&] { return client_has(64 * 1024); }));
    st->sampling = false;
    CHECK(st->saw_full);
    CHECK(st->max_buffered <= stream_writer::limit + piece);
    // An unbounded queue would hold most of the 64 MiB by now (the socket
    // buffers take a few MiB); what the process holds is the writer's limit,
    // one piece and the output queue's share, far below.
    INFO("heap growth while not reading: ", st->max_heap_growth.load());
    CHECK(st->max_heap_growth <= 4 * (stream_writer::limit + piece));
    CHECK(st->accepted < total / 3);
    auto r = c.read_response(30s);
    REQUIRE(r);
    CHECK(r->body.size() == total);
    CHECK(st->accepted == total);
  }

  TEST_CASE("loop handler: drain notice ends the stream; drain completes") {
    fixture fx;
    auto opts = fixture::loopback();
    auto stopped = std::make_shared<std::atomic<int>>(0);
    opts.routes = route_list{get(
      "/events", loop_handler(fx.sys,
                              [stopped](loop_handler_actor::pointer self)
                                -> loop_handler_actor::behavior_type {
                                self->attach_functor([stopped] { ++*stopped; });
                                auto out = std::make_shared<stream_writer>();
                                return {
                                  [out](http_request& req) {
                                    *out = req.reply.stream(sse::head());
                                    out->write(*sse::format({.data = "hello"}));
                                    return response::deferred();
                                  },
                                  [out](drain_atom, int64_t deadline_ms) {
                                    CHECK(deadline_ms > 0);
                                    out->write(*sse::format(
                                      {.data = "bye", .type = "drain"}));
                                    out->finish();
                                  },
                                };
                              }))};
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    REQUIRE(c.send(get_req("/events")));
    auto deadline = clock_type::now() + 5s;
    while (c.leftover().find("data: hello") == std::string::npos)
      REQUIRE(c.fill(deadline) > 0);
    CHECK(c.leftover().find("text/event-stream") != std::string::npos);
    drain_result res;
    fx.self->request(l, 10s, drain_atom::value, caf::timespan{5s})
      .receive([&](drain_result& x) { res = x; },
               [&](caf::error& e) { FAIL(fx.sys.render(e)); });
    CHECK(res.drained);
    CHECK(c.closed_by_peer());
    auto& raw = c.leftover();
    CHECK(raw.find("event: drain\ndata: bye\n\n") != std::string::npos);
    CHECK(raw.find("\r\n0\r\n\r\n") != std::string::npos); // a clean end
    CHECK(eventually([&] { return *stopped == 1; }));
  }

  TEST_CASE("loop handler: stopped when the client leaves") {
    fixture fx;
    auto opts = fixture::loopback();
    auto stopped = std::make_shared<std::atomic<int>>(0);
    auto cancelled = std::make_shared<std::atomic<int>>(0);
    opts.routes = route_list{
      get("/quiet",
          loop_handler(fx.sys,
                       [stopped, cancelled](loop_handler_actor::pointer self)
                         -> loop_handler_actor::behavior_type {
                         self->attach_functor([stopped] { ++*stopped; });
                         // Keeps the writer (dropping it would abort the stream
                         // at once).
                         auto out = std::make_shared<stream_writer>();
                         return {
                           [cancelled, out](http_request& req) {
                             req.reply.on_cancel([cancelled] { ++*cancelled; });
                             *out = req.reply.stream(sse::head());
                             out->write(sse::comment("open"));
                             return response::deferred();
                           },
                           [](drain_atom, int64_t) {},
                         };
                       }))};
    auto l = fx.start(opts);
    {
      client c{fx.port_of(l)};
      REQUIRE(c.send(get_req("/quiet")));
      auto deadline = clock_type::now() + 5s;
      while (c.leftover().find(": open") == std::string::npos)
        REQUIRE(c.fill(deadline) > 0);
    } // the client closes without a word
    CHECK(eventually([&] { return *stopped == 1; }));
    CHECK(*cancelled == 1);
    CHECK(fx.await_active(l, 0));
    CHECK(fx.info_of(l).in_flight == 0);
  }

  TEST_CASE(
    "manual body mode: bounded pieces, 100-continue, 413, early answer") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.body_buffering = body_buffering::manual;
    opts.max_content_length = 100000;
    auto calls = std::make_shared<std::atomic<int>>(0);
    struct sum_state {
      size_t total = 0;
      size_t pieces = 0;
      size_t largest = 0;
    };
    std::function<void(responder, std::shared_ptr<sum_state>)> pull;
    pull = [&pull](responder reply, std::shared_ptr<sum_state> s) {
      reply.read_body(
        1000, [reply, s, &pull](std::string_view data, bool last) {
          s->total += data.size();
          s->pieces += data.empty() ? 0 : 1;
          s->largest = std::max(s->largest, data.size());
          if (!last) {
            pull(reply, s);
            return;
          }
          reply.send(response::text(200, std::to_string(s->total) + " " +
                                           std::to_string(s->largest)));
        });
    };
    opts.routes = route_list{
      route{.path = "/sum",
            .handler =
              [calls, &pull](request& req) {
                ++*calls;
                CHECK(req.body().empty());
                if (!req.body_pending())
                  return response::text(200, "no body");
                pull(req.defer(), std::make_shared<sum_state>());
                return response::deferred();
              },
            .methods = {"POST"}},
      route{.path = "/early",
            .handler = [](request&) { return response::text(200, "early"); },
            .methods = {"POST"}},
    };
    auto l = fx.start(opts);
    auto post = [](std::string_view path, size_t n, std::string extra = {}) {
      std::string out{"POST "};
      out += path;
      out += " HTTP/1.1\r\nHost: t\r\ncontent-length: ";
      out += std::to_string(n);
      out += "\r\n" + extra + "\r\n";
      return out;
    };

    SUBCASE("Content-Length body in pieces of at most 1000 bytes") {
      client c{fx.port_of(l)};
      REQUIRE(c.send(post("/sum", 50000) + std::string(50000, 'a')));
      auto r = c.read_response();
      REQUIRE(r);
      CHECK(r->body == "50000 1000");
      CHECK_FALSE(r->header("connection"));
      // The connection goes on: the body was read to its end.
      REQUIRE(c.send(post("/sum", 0)));
      r = c.read_response();
      REQUIRE(r);
      CHECK(r->body == "no body");
    }
    SUBCASE("chunked body") {
      client c{fx.port_of(l)};
      std::string req{"POST /sum HTTP/1.1\r\nHost: t\r\n"
                      "transfer-encoding: chunked\r\n\r\n"};
      for (int i = 0; i < 5; ++i)
        req += "1b58\r\n" + std::string(7000, 'b') + "\r\n";
      req += "0\r\n\r\n";
      REQUIRE(c.send(req));
      auto r = c.read_response();
      REQUIRE(r);
      CHECK(r->body == "35000 1000");
    }
    SUBCASE("100-continue only when the handler reads") {
      client c{fx.port_of(l)};
      REQUIRE(c.send(post("/sum", 10, "expect: 100-continue\r\n")));
      auto interim = c.read_response();
      REQUIRE(interim);
      CHECK(interim->status == 100);
      REQUIRE(c.send("0123456789"));
      auto r = c.read_response();
      REQUIRE(r);
      CHECK(r->body == "10 10");
    }
    SUBCASE("413 from Content-Length before the handler runs") {
      client c{fx.port_of(l)};
      REQUIRE(c.send(post("/sum", 200000)));
      auto r = c.read_response();
      REQUIRE(r);
      CHECK(r->status == 413);
      CHECK(*calls == 0);
      CHECK(c.closed_by_peer());
    }
    SUBCASE("chunked body over the cap: 413 while reading") {
      client c{fx.port_of(l)};
      std::string req{"POST /sum HTTP/1.1\r\nHost: t\r\n"
                      "transfer-encoding: chunked\r\n\r\n"};
      for (int i = 0; i < 12; ++i)
        req += "2710\r\n" + std::string(10000, 'c') + "\r\n";
      c.send(req); // the server may close before taking all of it
      auto r = c.read_response();
      REQUIRE(r);
      CHECK(r->status == 413);
      CHECK(c.closed_by_peer());
    }
    SUBCASE("an answer before the body is read closes the connection") {
      client c{fx.port_of(l)};
      REQUIRE(c.send(post("/early", 5000) + std::string(5000, 'e')));
      auto r = c.read_response();
      REQUIRE(r);
      CHECK(r->body == "early");
      CHECK(r->header("connection") == "close");
      CHECK(c.closed_by_peer());
    }
    CHECK(eventually([&] { return fx.info_of(l).in_flight == 0; }));
  }
}
