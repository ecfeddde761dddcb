// SO_REUSEPORT (issue 17 item 2): two roadrunner-demo processes on one
// port, and a rolling restart under load — a new process joins the port,
// the old one gets SIGTERM — in which no request is lost: every request
// gets a whole 200 answer, on new and on keep-alive connections.

#include "net.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace rrtest;

namespace {

const std::string get_whoami = "GET /whoami HTTP/1.1\r\nHost: t\r\n\r\n";

// The "pid" of a /whoami answer, or -1.
long pid_of(const http_response& r) {
  auto at = r.body.find("\"pid\":");
  if (at == std::string::npos)
    return -1;
  return std::strtol(r.body.c_str() + at + 6, nullptr, 10);
}

bool whole(const std::optional<http_response>& r) {
  return r && r->status == 200 && pid_of(*r) > 0 &&
         r->body.size() ==
           std::stoul(r->header("content-length").value_or("0"));
}

// Load from `threads` clients until `stop`: even-numbered clients open a
// connection per request, odd ones keep theirs alive (and reconnect when
// the server says `connection: close`). Counts answers per pid and
// failures (connect refused, reset, a truncated or missing answer).
struct load {
  std::atomic<bool> stop{false};
  std::atomic<long> ok{0};
  std::atomic<long> failed{0};
  std::mutex mtx;
  std::set<long> pids;
  std::vector<std::string> errors;
  std::vector<std::thread> workers;

  load(uint16_t port, int threads) {
    for (int i = 0; i < threads; ++i)
      workers.emplace_back(
        [this, port, keep = i % 2 == 1] { run(port, keep); });
  }

  ~load() { finish(); }

  void finish() {
    stop = true;
    for (auto& w : workers)
      if (w.joinable())
        w.join();
  }

  void fail(std::string what) {
    ++failed;
    std::lock_guard<std::mutex> guard{mtx};
    if (errors.size() < 10)
      errors.push_back(std::move(what));
  }

  void run(uint16_t port, bool keep_alive) {
    std::optional<client> c;
    int served = 0; // on the current connection
    while (!stop) {
      try {
        if (!c) {
          c.emplace(port);
          served = 0;
        }
        auto where = std::string{keep_alive ? "keep-alive" : "new"} +
                     " connection after " + std::to_string(served) +
                     " answers: ";
        if (!c->send(get_whoami)) {
          fail(where + "send failed");
          c.reset();
          continue;
        }
        auto r = c->read_response(5s);
        if (!whole(r)) {
          fail(where + (r ? "status " + std::to_string(r->status)
                          : std::string{"no whole answer"}));
          c.reset();
          continue;
        }
        ++served;
        ++ok;
        {
          std::lock_guard<std::mutex> guard{mtx};
          pids.insert(pid_of(*r));
        }
        if (!keep_alive ||
            lower(r->header("connection").value_or("")) == "close")
          c.reset();
      } catch (const std::exception& e) {
        fail(e.what());
        c.reset();
      }
    }
  }
};

// h2load's totals ("requests: ..." and "status codes: ..." lines); -1
// where the output had none.
struct h2load_totals {
  long total = -1, started = -1, done = -1, succeeded = -1, failed = -1,
       errored = -1, timeout = -1;
  long s2xx = -1, s3xx = -1, s4xx = -1, s5xx = -1;
};

h2load_totals parse_h2load(const std::string& out) {
  h2load_totals t;
  auto req = out.find("requests: ");
  if (req != std::string::npos)
    std::sscanf(out.c_str() + req,
                "requests: %ld total, %ld started, %ld done, %ld succeeded, "
                "%ld failed, %ld errored, %ld timeout",
                &t.total, &t.started, &t.done, &t.succeeded, &t.failed,
                &t.errored, &t.timeout);
  auto st = out.find("status codes: ");
  if (st != std::string::npos)
    std::sscanf(out.c_str() + st,
                "status codes: %ld 2xx, %ld 3xx, %ld 4xx, %ld 5xx", &t.s2xx,
                &t.s3xx, &t.s4xx, &t.s5xx);
  return t;
}

} // namespace

TEST_SUITE("e2e.reuseport") {

  TEST_CASE("two demo processes with --reuse-port serve one port") {
    demo_server a{{"--reuse-port"}};
    demo_server b{{"--reuse-port", "--port=" + std::to_string(a.port)}};
    // The kernel spreads new connections over both sockets by hash.
    std::set<long> pids;
    for (int i = 0; i < 400 && pids.size() < 2; ++i) {
      client c{a.port};
      c.send(get_whoami);
      auto r = c.read_response();
      REQUIRE(whole(r));
      pids.insert(pid_of(*r));
    }
    CHECK(pids.size() == 2);
    // A process without --reuse-port cannot join the port.
    process other{demo_server::make_argv({"--port=" + std::to_string(a.port)})};
    CHECK(other.wait_exit(10s) == 1);
  }

  TEST_CASE("a rolling restart under load loses no request") {
    demo_server old_srv{{"--reuse-port", "--drain-timeout=5000"}};
    auto port = old_srv.port;
    load l{port, 6};
    REQUIRE(eventually([&] { return l.ok > 200; }, 10s));
    // Start the new process on the same port, then stop the old one.
    demo_server new_srv{{"--reuse-port", "--port=" + std::to_string(port)}};
    REQUIRE(eventually(
      [&] {
        std::lock_guard<std::mutex> guard{l.mtx};
        return l.pids.size() == 2;
      },
      10s));
    auto before = l.ok.load();
    old_srv.proc.signal(SIGTERM);
    CHECK(old_srv.proc.wait_exit(10s) == 0);
    // Load goes on against the new process alone.
    REQUIRE(eventually([&] { return l.ok > before + 500; }, 10s));
    l.finish();
    std::string errors;
    for (auto& e : l.errors)
      errors += "\n  " + e;
    INFO("failures: ", l.failed.load(), errors);
    CHECK(l.failed == 0);
    CHECK(l.ok > 700);
  }

  TEST_CASE("a rolling restart under h2load: GOAWAY ends the old process's "
            "HTTP/2 connections, whose streams get whole 200s") {
    // (No keep-alive limit: its GOAWAY would end h2load's connections
    // before the drain's.)
    std::vector<std::string> h2{"--reuse-port", "--protocols=http2",
                                "--max-keep-alive-requests=100000000"};
    auto with = [&](std::vector<std::string> more) {
      more.insert(more.begin(), h2.begin(), h2.end());
      return more;
    };
    demo_server old_srv{with({"--drain-timeout=5000"})};
    auto port = old_srv.port;
    auto url = "http://127.0.0.1:" + std::to_string(port) + "/";
    // Four h2c connections, ten streams each, all on the old process (the
    // only one yet); far more requests than the test lets it send.
    process load{
      {"h2load", "-n", "400000", "-c", "4", "-m", "10", "-t", "1", url}};
    bool going = false;
    for (int i = 0; i < 40 && !going; ++i) {
      auto line = load.read_line(60s);
      if (!line)
        break;
      going = line->find("progress: 10% done") != std::string::npos;
    }
    REQUIRE(going);
    // The new process joins the port, the old one drains: GOAWAY on its
    // four connections with streams in flight.
    demo_server new_srv{with({"--port=" + std::to_string(port)})};
    old_srv.proc.signal(SIGTERM);
    CHECK(old_srv.proc.wait_exit(10s) == 0);
    auto out = load.read_all(60s);
    load.wait_exit(10s);
    auto t = parse_h2load(out);
    INFO(out);
    REQUIRE(t.total == 400000);
    // The GOAWAY stopped the run early: h2load sends nothing more on a
    // connection that got one and does not reconnect for HTTP/2 (it counts
    // what it never sent as failed), so the path was taken.
    CHECK(t.started < t.total);
    CHECK(t.started > 40000);
    // Every answer was a whole 200 and nothing timed out. The drain's
    // first GOAWAY (2^31-1, RFC 9113 6.8) stops new streams while the ones
    // already on their way are still served; the final GOAWAY goes out
    // after the PING round trip and names the last of them, so the server
    // refuses none (issue 17: with the one-step GOAWAY, 40 of 40 in flight
    // were refused). What h2load may still lose is its own: it refills
    // its -m streams inside nghttp2's stream-close callbacks, so when the
    // notice arrives in the same read as the last responses, the requests
    // it queued during that read are never sent (nghttp2 sends no request
    // HEADERS after any GOAWAY and closes them with REFUSED_STREAM
    // locally), yet h2load counts them as started. That is at most one
    // batch per connection: in 14 runs h2load lost 0 (9 times), 10 (2),
    // 20 (1), 40 (2), while a server instrumented to log every
    // REFUSED_STREAM logged none in 5 of them. It is also why the one-step
    // version flaked (its 40 plus such a batch).
    CHECK(t.s2xx == t.succeeded);
    CHECK(t.timeout == 0);
    CHECK(t.started - t.succeeded <= 4 * 10);
    CHECK(t.failed == t.total - t.succeeded);
    // The new process serves HTTP/2 on the port alone: nothing fails.
    // (No structured binding: clang 14 refuses one captured by INFO.)
    auto after =
      run({"h2load", "-n", "2000", "-c", "4", "-m", "10", "-t", "1", url}, 60s)
        .second;
    auto u = parse_h2load(after);
    INFO(after);
    CHECK(u.succeeded == 2000);
    CHECK(u.failed == 0);
    CHECK(u.s2xx == 2000);
  }
}
