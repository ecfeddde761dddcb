// SO_REUSEPORT (issue 17 item 2): two roadrunner-demo processes on one
// port, and a rolling restart under load — a new process joins the port,
// the old one gets SIGTERM — in which no request is lost: every request
// gets a whole 200 answer, on new and on keep-alive connections.

#include "net.hpp"

#include <doctest/doctest.h>

#include <atomic>
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
}
