// End-to-end tests of roadrunner-demo, the product's front door: a real
// server process on 127.0.0.1, real clients (curl and raw sockets).

#include "net.hpp"

#include <doctest/doctest.h>

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <poll.h>
#include <regex>
#include <string>
#include <thread>
#include <vector>

using namespace rrtest;

namespace {

const std::string get_root = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

std::pair<int, std::string> curl(std::vector<std::string> args) {
  std::vector<std::string> argv{"curl", "-sS", "--max-time", "10"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

} // namespace

TEST_SUITE("e2e.demo") {

  TEST_CASE("the demo prints exactly one start line with the bound port") {
    demo_server srv;
    CHECK(std::regex_match(
      srv.start_line,
      std::regex{
        R"(roadrunner-demo listening on http://127\.0\.0\.1:[0-9]+)"}));
    CHECK(srv.port > 0);
    // Nothing else is printed on stdout.
    CHECK(srv.proc.read_all(100ms).empty());
  }

  TEST_CASE("curl gets the demo routes") {
    demo_server srv;
    SUBCASE("GET / is Hello, World! with content-length and date") {
      auto [code, out] = curl({"-i", srv.url("/")});
      REQUIRE(code == 0);
      CHECK(out.find("HTTP/1.1 200 OK\r\n") == 0);
      CHECK(out.find("content-length: 13\r\n") != std::string::npos);
      CHECK(out.find("content-type: text/plain; charset=utf-8\r\n") !=
            std::string::npos);
      CHECK(std::regex_search(out, std::regex{"date: [A-Z][a-z]{2}, [0-9]{2} "
                                              "[A-Z][a-z]{2} [0-9]{4} "
                                              "[0-9:]{8} GMT\r\n"}));
      CHECK(out.substr(out.size() - 13) == "Hello, World!");
    }
    SUBCASE("POST /echo returns the body with the request's content-type") {
      auto [code, out] =
        curl({"-i", "-H", "content-type: text/x-test", "--data-binary",
              "ping\npong", srv.url("/echo")});
      REQUIRE(code == 0);
      CHECK(out.find("content-type: text/x-test\r\n") != std::string::npos);
      CHECK(out.substr(out.size() - 9) == "ping\npong");
    }
    SUBCASE("POST /echo with a chunked body") {
      auto [code, out] = curl({"-H", "Transfer-Encoding: chunked",
                               "--data-binary", "chunky", srv.url("/echo")});
      REQUIRE(code == 0);
      CHECK(out == "chunky");
    }
    SUBCASE("POST /echo with a 3 MiB body, Content-Length and chunked") {
      std::string body;
      for (int i = 0; body.size() < 3 * 1024 * 1024; ++i)
        body += std::to_string(i) + ",";
      char path[] = "/tmp/rr-body-XXXXXX";
      int fd = ::mkstemp(path);
      REQUIRE(fd >= 0);
      REQUIRE(::write(fd, body.data(), body.size()) ==
              static_cast<ssize_t>(body.size()));
      ::close(fd);
      auto [code, out] =
        curl({"--data-binary", std::string{"@"} + path, srv.url("/echo")});
      CHECK(code == 0);
      CHECK(out == body);
      auto [code2, out2] =
        curl({"-H", "Transfer-Encoding: chunked", "--data-binary",
              std::string{"@"} + path, srv.url("/echo")});
      ::unlink(path);
      CHECK(code2 == 0);
      CHECK(out2 == body);
    }
    SUBCASE("GET /json is application/json") {
      auto [code, out] = curl({"-i", srv.url("/json")});
      REQUIRE(code == 0);
      CHECK(out.find("content-type: application/json\r\n") !=
            std::string::npos);
      CHECK(out.find(R"({"message":"Hello, World!"})") != std::string::npos);
    }
    SUBCASE("GET /large is 65536 bytes") {
      auto [code, out] = curl({srv.url("/large")});
      REQUIRE(code == 0);
      CHECK(out.size() == 65536);
    }
    SUBCASE("GET /info is the listener's info as JSON") {
      auto [code, out] = curl({srv.url("/info")});
      REQUIRE(code == 0);
      CHECK(std::regex_match(out, std::regex{R"(\{"active_clients":1,)"
                                             R"("in_flight":1,)"
                                             R"("max_clients":150,)"
                                             R"("max_concurrent_requests":0,)"
                                             R"("proxy_rejected":0,)"
                                             R"("rejected":0,)"
                                             R"("requests_served":1,)"
                                             R"("throttled":0\})"}));
    }
    SUBCASE("GET /users/:id answers the binding as JSON") {
      auto [code, out] = curl({srv.url("/users/42")});
      REQUIRE(code == 0);
      CHECK(out == R"({"id":"42"})");
    }
    SUBCASE("a route with another method gets 405 and allow") {
      auto [code, out] = curl({"-i", "-X", "DELETE", srv.url("/")});
      REQUIRE(code == 0);
      CHECK(out.find("HTTP/1.1 405 Method Not Allowed\r\n") == 0);
      CHECK(out.find("allow: GET, OPTIONS\r\n") != std::string::npos);
    }
    SUBCASE("anything else is 404") {
      auto [code, out] =
        curl({"-o", "/dev/null", "-w", "%{http_code}", srv.url("/nope")});
      REQUIRE(code == 0);
      CHECK(out == "404");
    }
    SUBCASE("HEAD / has the headers and no body") {
      client c{srv.port};
      REQUIRE(c.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"));
      auto res = c.read_response(5s, true);
      REQUIRE(res);
      CHECK(res->status == 200);
      CHECK(res->header("content-length") == "13");
      REQUIRE(c.send(get_root)); // the next response starts right after
      res = c.read_response();
      REQUIRE(res);
      CHECK(res->body == "Hello, World!");
    }
  }

  TEST_CASE("1000 sequential requests on one keep-alive connection") {
    demo_server srv;
    client c{srv.port};
    for (int i = 1; i <= 1000; ++i) {
      REQUIRE(c.send(get_root));
      auto res = c.read_response();
      REQUIRE(res);
      REQUIRE(res->status == 200);
      REQUIRE(res->body == "Hello, World!");
      // max_keep_alive_requests (1000): the last response says close.
      if (i < 1000)
        REQUIRE_FALSE(res->header("connection"));
      else
        CHECK(res->header("connection") == "close");
    }
    CHECK(c.closed_by_peer());
  }

  TEST_CASE("50 concurrent clients are all served") {
    demo_server srv;
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 50; ++t)
      threads.emplace_back([&] {
        client c{srv.port};
        for (int i = 0; i < 20; ++i) {
          if (!c.send(get_root))
            return;
          auto res = c.read_response();
          if (!res || res->status != 200 || res->body != "Hello, World!")
            return;
        }
        ++ok;
      });
    for (auto& t : threads)
      t.join();
    CHECK(ok == 50);
    auto [code, out] = curl({srv.url("/info")});
    CHECK(out.find(R"("requests_served":1001)") != std::string::npos);
  }

  TEST_CASE("pipelined requests are answered in order") {
    demo_server srv;
    client c{srv.port};
    REQUIRE(c.send("GET /json HTTP/1.1\r\nHost: t\r\n\r\n"
                   "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n"
                   "hello"
                   "GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto a = c.read_response();
    auto b = c.read_response();
    auto d = c.read_response();
    REQUIRE((a && b && d));
    CHECK(a->body == R"({"message":"Hello, World!"})");
    CHECK(b->body == "hello");
    CHECK(d->body == "Hello, World!");
  }

  TEST_CASE("a pipelining client that does not read cannot make the server "
            "buffer without bound") {
    // Under ASan freed memory waits in a quarantine (256 MiB by default), so
    // the RSS would count every response ever freed: the bound is about the
    // server's live memory, so the demo runs without one (no effect on a
    // build without ASan).
    struct no_quarantine { // for the demo started while it lives
      std::optional<std::string> saved;
      no_quarantine() {
        if (const char* x = std::getenv("ASAN_OPTIONS"))
          saved = x;
        const std::string add = "quarantine_size_mb=0";
        ::setenv("ASAN_OPTIONS", (saved ? *saved + ":" + add : add).c_str(), 1);
      }
      ~no_quarantine() {
        if (saved)
          ::setenv("ASAN_OPTIONS", saved->c_str(), 1);
        else
          ::unsetenv("ASAN_OPTIONS");
      }
    };
    demo_server srv = [] {
      no_quarantine scope;
      return demo_server{{"--max-keep-alive-requests=100000"}};
    }();
    const std::string status_path =
      "/proc/" + std::to_string(srv.proc.pid()) + "/status";
    auto rss_kib = [&] {
      std::ifstream in{status_path};
      std::string line;
      while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0)
          return std::stol(line.substr(6));
      FAIL("no VmRSS in " << status_path);
      return 0L;
    };
    auto before = rss_kib();
    long peak = before;
    client c{srv.port};
    // 1500 requests for 64 KiB each: 96 MiB of responses if all were queued.
    std::string batch;
    for (int i = 0; i < 1500; ++i)
      batch += "GET /large HTTP/1.1\r\nHost: t\r\n\r\n";
    REQUIRE(c.send(batch));
    // The server answers: once the client's receive buffer holds a response,
    // sample the server's RSS, then after every 100 responses read. A server
    // that queued every response would hold most of 96 MiB until the client
    // has read most of it, so its peak shows in the samples however fast it
    // was; a bounded one holds its send buffers' worth throughout.
    CHECK(eventually([&] {
      int queued = 0;
      return ::ioctl(c.fd(), FIONREAD, &queued) == 0 && queued >= 65536;
    }));
    for (int i = 0; i < 1500; ++i) {
      if (i % 100 == 0)
        peak = std::max(peak, rss_kib());
      auto res = c.read_response(10s);
      REQUIRE(res);
      REQUIRE(res->body.size() == 65536);
    }
    INFO("RSS before: ", before, " KiB, peak: ", peak, " KiB");
    CHECK(peak - before < 16 * 1024); // far below 96 MiB
  }

  TEST_CASE("connection management: close, HTTP/1.0, errors") {
    demo_server srv;
    SUBCASE("Connection: close gets connection: close and a close") {
      client c{srv.port};
      REQUIRE(c.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
      auto res = c.read_response();
      REQUIRE(res);
      CHECK(res->header("connection") == "close");
      CHECK(c.closed_by_peer());
    }
    SUBCASE("a client that half-closes after its requests gets every answer") {
      client c{srv.port};
      REQUIRE(c.send("GET /large HTTP/1.1\r\nHost: t\r\n\r\n"
                     "GET /json HTTP/1.1\r\nHost: t\r\n\r\n"));
      ::shutdown(c.fd(), SHUT_WR);
      auto a = c.read_response();
      auto b = c.read_response();
      REQUIRE((a && b));
      CHECK(a->body.size() == 65536);
      CHECK(b->body == R"({"message":"Hello, World!"})");
      CHECK(c.closed_by_peer());
    }
    SUBCASE("HTTP/1.0 without keep-alive closes") {
      client c{srv.port};
      REQUIRE(c.send("GET / HTTP/1.0\r\n\r\n"));
      auto res = c.read_response();
      REQUIRE(res);
      CHECK(res->status == 200);
      CHECK(res->status_line.rfind("HTTP/1.1 200", 0) == 0);
      CHECK(res->header("connection") == "close");
      CHECK(c.closed_by_peer());
    }
    SUBCASE("HTTP/1.0 with keep-alive stays open and says so") {
      client c{srv.port};
      for (int i = 0; i < 3; ++i) {
        REQUIRE(c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
        auto res = c.read_response();
        REQUIRE(res);
        CHECK(res->header("connection") == "keep-alive");
      }
    }
    SUBCASE("a malformed request gets 400, connection: close and a close") {
      client c{srv.port};
      REQUIRE(c.send("GET / HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n"));
      auto res = c.read_response();
      REQUIRE(res);
      CHECK(res->status == 400);
      CHECK(res->header("connection") == "close");
      CHECK(res->header("content-length") == "0");
      CHECK(c.closed_by_peer());
    }
    SUBCASE("Expect: 100-continue gets 100 before the body is sent") {
      client c{srv.port};
      REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
                     "Expect: 100-continue\r\n\r\n"));
      auto cont = c.read_response();
      REQUIRE(cont);
      CHECK(cont->status == 100);
      REQUIRE(c.send("abc"));
      auto res = c.read_response();
      REQUIRE(res);
      CHECK(res->status == 200);
      CHECK(res->body == "abc");
    }
  }

  TEST_CASE("limits and timeouts from the command line") {
    SUBCASE("--max-content-length: a bigger body gets 413 and a close") {
      demo_server srv{{"--max-content-length=10"}};
      client c{srv.port};
      REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n"
                     "Expect: 100-continue\r\n\r\n"));
      auto res = c.read_response();
      REQUIRE(res);
      CHECK(res->status == 413); // and no 100 Continue before it
      CHECK(c.closed_by_peer());
    }
    SUBCASE("--request-timeout: a silent connection gets 408 and a close") {
      demo_server srv{{"--request-timeout=200"}};
      client c{srv.port};
      auto res = c.read_response(5s);
      REQUIRE(res);
      CHECK(res->status == 408);
      CHECK(res->header("connection") == "close");
      CHECK(c.closed_by_peer());
    }
    SUBCASE("--keep-alive-timeout: an idle keep-alive connection is closed") {
      demo_server srv{{"--keep-alive-timeout=200"}};
      client c{srv.port};
      REQUIRE(c.send(get_root));
      REQUIRE(c.read_response());
      CHECK(c.closed_by_peer(5s));
      CHECK(c.leftover().empty()); // silently: no response
    }
    SUBCASE("--hibernate-after: a hibernated connection serves and times out") {
      demo_server srv{{"--hibernate-after=20", "--keep-alive-timeout=600"}};
      client c{srv.port};
      for (int i = 0; i < 3; ++i) {
        REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5"
                       "\r\n\r\nhello"));
        auto res = c.read_response();
        REQUIRE(res);
        CHECK(res->body == "hello");
        // Idle well past hibernate_after (and nothing arrives meanwhile).
        CHECK_FALSE(c.read_response(100ms));
      }
      // The keep-alive timeout still fires after hibernation (upstream F3).
      CHECK(c.closed_by_peer(5s));
      CHECK(c.leftover().empty());
    }
    SUBCASE("--max-clients: over the cap the socket is closed and counted") {
      demo_server srv{{"--max-clients=1"}};
      client held{srv.port};
      REQUIRE(held.send(get_root));
      REQUIRE(held.read_response());
      client over{srv.port};
      CHECK(over.closed_by_peer());
      REQUIRE(held.send("GET /info HTTP/1.1\r\nHost: t\r\n\r\n"));
      auto res = held.read_response();
      REQUIRE(res);
      CHECK(res->body.find(R"("rejected":1)") != std::string::npos);
    }
    SUBCASE("--min-bytes-per-second: a trickling client is dropped") {
      demo_server srv{
        {"--min-bytes-per-second=1000", "--rate-check-interval=100"}};
      client c{srv.port};
      REQUIRE(c.send("GET / HTTP/1.1\r\n")); // then nothing
      CHECK(c.closed_by_peer(5s));
      CHECK(c.leftover().empty());
    }
    SUBCASE("an invalid option value fails start with a clear error") {
      auto [code, out] =
        run({ROADRUNNER_DEMO_PATH, "--port=0", "--max-clients=0"});
      CHECK(code == 1);
      CHECK(out.empty()); // no start line
    }
  }

  TEST_CASE("options also come from an INI file (CAF config)") {
    char path[] = "/tmp/rr-demo-XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    std::string ini = "[global]\nmax-clients=3\nmax-keep-alive-requests=2\n";
    REQUIRE(::write(fd, ini.data(), ini.size()) ==
            static_cast<ssize_t>(ini.size()));
    ::close(fd);
    demo_server srv{{std::string{"--config-file="} + path}};
    ::unlink(path);
    client c{srv.port};
    REQUIRE(c.send("GET /info HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->body.find(R"("max_clients":3)") != std::string::npos);
    REQUIRE(c.send(get_root));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->header("connection") == "close"); // the 2nd of at most 2
  }

  TEST_CASE("--reactors sets the number of reactor threads") {
    demo_server srv{{"--reactors=3"}};
    auto task_dir = "/proc/" + std::to_string(srv.proc.pid()) + "/task";
    auto [code, out] = run({"sh", "-c", "cat " + task_dir + "/*/comm"});
    REQUIRE(code == 0);
    size_t reactors = 0;
    for (size_t pos = 0;
         (pos = out.find("rr.reactor.", pos)) != std::string::npos; ++pos)
      ++reactors;
    CHECK(reactors == 3);
  }

  TEST_CASE("SIGTERM drains: idle connections close, a request in flight "
            "finishes, exit code 0") {
    demo_server srv;
    client idle{srv.port};
    REQUIRE(idle.send(get_root));
    REQUIRE(idle.read_response());
    client busy{srv.port};
    REQUIRE(busy.send("POST /echo HTTP/1.1\r\nHost: t\r\n"
                      "Content-Length: 4\r\n\r\nab"));
    srv.proc.signal(SIGTERM);
    CHECK(idle.closed_by_peer());
    REQUIRE(busy.send("cd"));
    auto res = busy.read_response();
    REQUIRE(res);
    CHECK(res->body == "abcd");
    // The drain reaches each connection on its own reactor: the idle one
    // closing says nothing about when `busy` hears of it. Told before its
    // answer went out, the answer says `connection: close`; told after,
    // the then idle connection is closed. Either way it ends, and it is
    // never kept open for another request.
    if (res->header("connection") != "close")
      MESSAGE("the drain reached the busy connection after its answer");
    CHECK(busy.closed_by_peer());
    CHECK(srv.proc.wait_exit(10s) == 0);
  }

  TEST_CASE("a second signal during the drain stops at once") {
    demo_server srv{{"--drain-timeout=60000"}};
    client stuck{srv.port};
    REQUIRE(stuck.send("POST /echo HTTP/1.1\r\nHost: t\r\n"
                       "Content-Length: 9\r\n\r\nx"));
    client probe{srv.port};
    REQUIRE(probe.send(get_root));
    REQUIRE(probe.read_response());
    srv.proc.signal(SIGTERM);
    CHECK(probe.closed_by_peer()); // the drain is on: idle ones close
    srv.proc.signal(SIGTERM);
    CHECK(stuck.closed_by_peer(5s)); // not the 60 s drain deadline
    CHECK(srv.proc.wait_exit(10s) == 0);
  }

  TEST_CASE("handler-actor and streaming routes") {
    demo_server srv;
    SUBCASE("/slow answers after the asked time; others go on meanwhile") {
      std::pair<int, std::string> slow;
      auto t0 = clock_type::now();
      std::thread t{[&] { slow = curl({"-i", srv.url("/slow?ms=400")}); }};
      // While /slow waits on its timer, the same reactors serve others.
      for (int i = 0; i < 20; ++i) {
        auto [code, out] = curl({srv.url("/")});
        CHECK(code == 0);
        CHECK(out == "Hello, World!");
      }
      auto fast_done = clock_type::now() - t0;
      t.join();
      auto slow_done = clock_type::now() - t0;
      REQUIRE(slow.first == 0);
      CHECK(slow.second.find("HTTP/1.1 200 OK\r\n") == 0);
      CHECK(slow.second.find("slept 400 ms") != std::string::npos);
      CHECK(slow_done >= 400ms);
      CHECK(fast_done < slow_done);
      auto [code, out] = curl({"-i", srv.url("/slow?ms=nope")});
      CHECK(out.find("HTTP/1.1 400") == 0);
    }
    SUBCASE("/stream is 4 chunks of 4096 bytes") {
      client c{srv.port};
      REQUIRE(c.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n"));
      auto r = c.read_response();
      REQUIRE(r);
      CHECK(r->header("transfer-encoding") == "chunked");
      CHECK(r->chunks == std::vector<size_t>{4096, 4096, 4096, 4096});
      CHECK(r->body == std::string(4096, 'a') + std::string(4096, 'b') +
                         std::string(4096, 'c') + std::string(4096, 'd'));
      auto [code, out] = curl({srv.url("/stream")});
      CHECK(code == 0);
      CHECK(out.size() == 16384);
    }
    SUBCASE("/sse: an event every 100 ms until the client leaves") {
      auto t0 = clock_type::now();
      auto [code, out] = curl({"-N", "--max-time", "0.55", srv.url("/sse")});
      CHECK(code == 28); // curl's own timeout ended it
      CHECK(out.find("id: 1\ndata: tick 1\n\n") == 0);
      CHECK(out.find("data: tick 3\n") != std::string::npos);
      CHECK(out.find("data: tick 9\n") == std::string::npos);
      CHECK(clock_type::now() - t0 >= 500ms);
      // The loop handler ended with its client: nothing stays in flight.
      CHECK(eventually([&] {
        auto [c2, info] = curl({srv.url("/info")});
        return info.find("\"in_flight\":1,") != std::string::npos;
      }));
    }
    SUBCASE("the new routes list their methods") {
      auto [code, out] = curl({"-i", "-X", "DELETE", srv.url("/sse")});
      CHECK(out.find("HTTP/1.1 405") == 0);
      CHECK(out.find("allow: GET, OPTIONS\r\n") != std::string::npos);
    }
  }

  TEST_CASE("SIGTERM sends a drain event to /sse clients, then exits") {
    demo_server srv;
    client c{srv.port};
    REQUIRE(c.send("GET /sse HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto deadline = clock_type::now() + 5s;
    while (c.leftover().find("data: tick 1") == std::string::npos)
      REQUIRE(c.fill(deadline) > 0);
    srv.proc.signal(SIGTERM);
    CHECK(c.closed_by_peer());
    CHECK(c.leftover().find("event: drain\ndata: server draining\n\n") !=
          std::string::npos);
    CHECK(c.leftover().find("\r\n0\r\n\r\n") != std::string::npos);
    CHECK(srv.proc.wait_exit(10s) == 0);
  }

  TEST_CASE("--body-buffering=manual: /echo pulls the body in pieces") {
    demo_server srv{{"--body-buffering=manual"}};
    std::string big(300000, 'm');
    for (size_t i = 0; i < big.size(); i += 7)
      big[i] = static_cast<char>('a' + i % 26);
    auto path = "/tmp/rr-manual-" + std::to_string(::getpid());
    {
      FILE* f = std::fopen(path.c_str(), "wb");
      REQUIRE(f != nullptr);
      std::fwrite(big.data(), 1, big.size(), f);
      std::fclose(f);
    }
    auto [code, out] = curl({"--data-binary", "@" + path, srv.url("/echo")});
    CHECK(code == 0);
    CHECK(out == big);
    auto [code2, out2] = curl({"-H", "Transfer-Encoding: chunked",
                               "--data-binary", "@" + path, srv.url("/echo")});
    CHECK(code2 == 0);
    CHECK(out2 == big);
    std::remove(path.c_str());
  }

  TEST_CASE("--drain-timeout bounds the drain on SIGINT") {
    demo_server srv{{"--drain-timeout=200"}};
    client stuck{srv.port};
    REQUIRE(stuck.send("POST /echo HTTP/1.1\r\nHost: t\r\n"
                       "Content-Length: 9\r\n\r\nx"));
    srv.proc.signal(SIGINT);
    CHECK(stuck.closed_by_peer(5s));
    CHECK(srv.proc.wait_exit(10s) == 0);
  }

} // TEST_SUITE
