// Connection edge cases found in review: resets in the middle of a
// pipeline, a read that fills the reactor's scratch buffer, peers that stop
// reading, and slow readers of big responses.

#include "fixture.hpp"
#include "net.hpp"
#include <roadrunner/roadrunner.hpp>

#include <doctest/doctest.h>

#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <poll.h>
#include <string>
#include <thread>
#include <vector>

using namespace rrtest;
using namespace roadrunner;

namespace {

const std::string get_root = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

response routes_for_tests(request& req) {
  if (req.path() == "/big")
    return response::text(200, std::string(8 << 20, 'b'));
  return response::text(200, std::string{req.body()});
}

void set_rcvbuf(client& c, int bytes) {
  ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

void reset_now(client& c) {
  linger lg{1, 0}; // close() sends RST
  ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

} // namespace

TEST_SUITE("actors.connection") {

  TEST_CASE("a reset while 100-continue is written ends only that connection") {
    // /slow holds the reactor until the client has reset the connection,
    // so the reset lands while the rest of the pipeline (a POST waiting for
    // 100 Continue) is still unprocessed.
    event_count slow_started, client_reset;
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = [&](request& req) {
      if (req.path() != "/slow")
        return routes_for_tests(req);
      slow_started.raise();
      client_reset.await(slow_started.count());
      return response::text(200, "slow");
    };
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    for (uint64_t i = 1; i <= 5; ++i) {
      auto c = std::make_unique<client>(port);
      REQUIRE(c->send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"
                      "POST /echo HTTP/1.1\r\nHost: t\r\n"
                      "Transfer-Encoding: chunked\r\n"
                      "Expect: 100-continue\r\n\r\n"));
      // The server read both and runs /slow: reset now. The 100 Continue
      // written after /slow's answer then hits a dead socket.
      REQUIRE(slow_started.await(i));
      reset_now(*c);
      c.reset();
      client_reset.raise();
    }
    REQUIRE(fx.await_active(l, 0));
    client ok{port};
    REQUIRE(ok.send(get_root));
    auto res = ok.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
  }

  TEST_CASE("pooled request states keep each listener's limits") {
    // Idle connections give their parser back to a per-thread pool; a
    // connection of another listener on the same reactor must not get one
    // made with different limits.
    fixture fx;
    auto strict_opts = fixture::loopback();
    strict_opts.routes = routes_for_tests;
    strict_opts.protocols[0].http1.max_header_count = 2;
    strict_opts.max_content_length = 4;
    auto relaxed_opts = fixture::loopback();
    relaxed_opts.routes = routes_for_tests;
    auto strict = fx.start(strict_opts);
    auto relaxed = fx.start(relaxed_opts);
    const std::string three_fields =
      "GET / HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\n\r\n";
    const std::string body5 = "POST /echo HTTP/1.1\r\nHost: t\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n"
                              "5\r\nhello\r\n0\r\n\r\n";
    std::vector<std::unique_ptr<client>> keep; // held idle: their states pool
    for (int round = 0; round < 4; ++round) {
      for (auto l : {strict, relaxed}) {
        auto c = std::make_unique<client>(fx.port_of(l));
        REQUIRE(c->send(get_root));
        auto ok = c->read_response();
        REQUIRE(ok);
        CHECK(ok->status == 200);
        bool is_strict = l == strict;
        REQUIRE(c->send(three_fields));
        auto res = c->read_response();
        REQUIRE(res);
        CHECK(res->status == (is_strict ? 431 : 200));
        if (!is_strict) {
          REQUIRE(c->send(body5));
          auto echo = c->read_response();
          REQUIRE(echo);
          CHECK(echo->status == 200);
          CHECK(echo->body == "hello");
          keep.push_back(std::move(c));
        }
      }
    }
  }

  TEST_CASE("hibernated keep-alive connections serve their next request") {
    // hibernate_after gives back the parser, the output buffers and the
    // read buffer; all come back with the next byte, pipelined or not.
    // info's `hibernations` shows that each connection did hibernate (idle
    // connections hold no buffers even before that, so memory cannot tell).
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = routes_for_tests;
    opts.hibernate_after = std::chrono::milliseconds{1};
    auto l = fx.start(opts);
    std::vector<std::unique_ptr<client>> cs;
    for (int i = 0; i < 8; ++i) {
      cs.push_back(std::make_unique<client>(fx.port_of(l)));
      REQUIRE(cs.back()->send(get_root));
      auto res = cs.back()->read_response();
      REQUIRE(res);
      CHECK(res->status == 200);
    }
    REQUIRE(eventually([&] { return fx.info_of(l).hibernations >= 8; }));
    CHECK(fx.info_of(l).hibernations == 8); // once each
    for (auto& c : cs) {
      REQUIRE(c->send("POST /echo HTTP/1.1\r\nHost: t\r\n"
                      "Content-Length: 3\r\n\r\nabc" +
                      get_root));
      auto a = c->read_response();
      auto b = c->read_response();
      REQUIRE((a && b));
      CHECK(a->body == "abc");
      CHECK(b->status == 200);
    }
    // Idle again: each hibernates once more.
    CHECK(eventually([&] { return fx.info_of(l).hibernations >= 16; }));
  }

  TEST_CASE("a read that fills the scratch buffer with a body to relocate") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = routes_for_tests;
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    // 27-byte GET + a POST whose head and body fill the rest of 64 KiB.
    std::string get = "GET /a HTTP/1.1\r\nHost: t\r\n\r\n";
    std::string head_prefix =
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: ";
    size_t total = 64 * 1024 - 6;
    size_t body_len = total - get.size() - head_prefix.size() - 5 - 4;
    std::string post = head_prefix + std::to_string(body_len) + "\r\n\r\n";
    std::string body(body_len, 'z');
    REQUIRE(c.send(get + post + body));
    auto a = c.read_response();
    auto b = c.read_response();
    REQUIRE((a && b));
    CHECK(a->body.empty());
    CHECK(b->body.size() == body_len);
    CHECK(b->body == body);
  }

  TEST_CASE("a peer that stops reading is dropped after the send deadline") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = routes_for_tests;
    opts.request_timeout = millis{300};
    opts.keep_alive_timeout = millis{300};
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    client c{port};
    set_rcvbuf(c, 4096);
    std::string batch;
    for (int i = 0; i < 16; ++i)
      batch += "GET /big HTTP/1.1\r\nHost: t\r\n\r\n";
    REQUIRE(c.send(batch));
    REQUIRE(fx.await_active(l, 1));
    // Never read: the connection (and its slot) must go within a few
    // deadlines, not live forever.
    CHECK(fx.await_active(l, 0));
  }

  TEST_CASE("a slow reader gets the whole response past the keep-alive "
            "timeout") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = routes_for_tests;
    opts.keep_alive_timeout = millis{200};
    opts.request_timeout = millis{2000};
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    set_rcvbuf(c, 16384);
    REQUIRE(c.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n"));
    // Read 8 MiB (more than the server send buffer holds) in 64 KiB steps,
    // 5 ms apart: well past the 200 ms keep-alive timeout, always progressing.
    // The pause is the behaviour under test (a slow reader), not a wait.
    std::string got;
    const auto start = clock_type::now();
    auto deadline = start + 20s;
    char buf[65536];
    while (got.size() < (8u << 20) + 50 && clock_type::now() < deadline) {
      pollfd p{c.fd(), POLLIN, 0};
      if (::poll(&p, 1, 1000) <= 0)
        break;
      auto n = ::recv(c.fd(), buf, sizeof(buf), 0);
      if (n <= 0)
        break;
      got.append(buf, static_cast<size_t>(n));
      pollfd none{-1, 0, 0};
      ::poll(&none, 0, 5); // pace the reader
    }
    auto head_end = got.find("\r\n\r\n");
    REQUIRE(head_end != std::string::npos);
    CHECK(got.size() - head_end - 4 == (8u << 20));
    // The case happened: the response outlived the keep-alive timeout.
    CHECK(clock_type::now() - start > 2 * opts.keep_alive_timeout);
  }

  TEST_CASE("requests sent while a deferred answer is pending are served") {
    // After a deferred answer the connection reads the socket again only
    // if bytes arrived meanwhile (it skips a read that would find none):
    // a request that arrives in its own segment during the wait, and one
    // sent after the answer, must both be served. One reactor, so that a
    // round trip on a second connection shows the reactor has seen the
    // first connection's new bytes (its readiness came first).
    event_count deferred, answer;
    fixture fx{1};
    struct joiner {
      std::vector<std::thread> ts;
      ~joiner() {
        for (auto& t : ts)
          t.join();
      }
    } threads; // joined before fx goes, also when a check fails
    auto opts = fixture::loopback();
    opts.routes = [&](request& req) {
      if (req.path() != "/later")
        return response::text(200, "now");
      auto reply = req.defer();
      deferred.raise();
      threads.ts.emplace_back([reply, &answer, n = deferred.count()] {
        answer.await(n);
        reply.send(response::text(200, "later"));
      });
      return response::deferred();
    };
    auto l = fx.start(opts);
    const auto port = fx.port_of(l);
    client c{port};
    REQUIRE(c.send("GET /later HTTP/1.1\r\nHost: t\r\n\r\n"));
    REQUIRE(deferred.await(1));
    REQUIRE(c.send(get_root)); // arrives while /later waits
    {
      client other{port};
      REQUIRE(other.send(get_root));
      REQUIRE(other.read_response());
    }
    pollfd nothing_yet{c.fd(), POLLIN, 0};
    CHECK(::poll(&nothing_yet, 1, 0) == 0); // /now waits for /later
    answer.raise();
    auto a = c.read_response();
    auto b = c.read_response();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->body == "later");
    CHECK(b->body == "now");
    REQUIRE(c.send("GET /later HTTP/1.1\r\nHost: t\r\n\r\n"));
    REQUIRE(deferred.await(2));
    answer.raise();
    auto again = c.read_response();
    REQUIRE(again);
    CHECK(again->body == "later");
    REQUIRE(c.send(get_root)); // after the answer: a fresh edge
    auto last = c.read_response();
    REQUIRE(last);
    CHECK(last->body == "now");
  }

} // TEST_SUITE
