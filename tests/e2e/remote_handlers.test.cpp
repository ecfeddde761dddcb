// Handler actors on another CAF node (issue 17 item 3): two roadrunner-demo
// processes on 127.0.0.1, a handler node (--handler-node) publishing the
// /slow, /stream and /hello actors through caf::io::middleman and a front
// end (--remote-handlers) serving them as /remote/... . The node is killed
// with requests in flight (503 at once, not after the 30 s timeout) and
// started again (the routes recover).

#include "h2test.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace rrtest;

namespace {

struct node {
  std::unique_ptr<process> proc;
  uint16_t port = 0;

  explicit node(uint16_t wanted) {
    proc = std::make_unique<process>(std::vector<std::string>{
      ROADRUNNER_DEMO_PATH, "--handler-node=" + std::to_string(wanted),
      "--bind=127.0.0.1", "--reactors=1"});
    auto line = proc->read_line(10s);
    if (!line || line->find("handler node on") == std::string::npos)
      throw std::runtime_error("no handler node start line");
    port = static_cast<uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  }
};

std::pair<int, std::string> get(uint16_t port, const std::string& path,
                                std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"-o", "-", "-w", "\n%{http_code}"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(http_url(port, path));
  auto [code, out] = curl(args);
  if (code != 0)
    return {-code, out};
  auto nl = out.rfind('\n');
  return {std::stoi(out.substr(nl + 1)), out.substr(0, nl)};
}

bool answers(uint16_t port, const std::string& path, int status) {
  return get(port, path).first == status;
}

} // namespace

TEST_SUITE("e2e.remote_handlers") {

  TEST_CASE("a front end serves handler actors of another node") {
    node n{0};
    demo_server front{
      {"--remote-handlers=127.0.0.1:" + std::to_string(n.port)}};
    // The link is made in the background: 503 until then.
    REQUIRE(eventually(
      [&] { return answers(front.port, "/remote/hello", 200); }, 10s));
    SUBCASE("a reply message crosses back") {
      auto [status, body] = get(front.port, "/remote/hello");
      CHECK(status == 200);
      CHECK(body == "Hello, World!");
    }
    SUBCASE("a deferred answer through the remote responder") {
      auto [status, body] = get(front.port, "/remote/slow?ms=50");
      CHECK(status == 200);
      CHECK(body == "slept 50 ms\n");
      CHECK(get(front.port, "/remote/slow?ms=x").first == 400);
    }
    SUBCASE("a stream, with backpressure across the wire") {
      auto [status, body] = get(front.port, "/remote/stream");
      CHECK(status == 200);
      CHECK(body == std::string(4096, 'a') + std::string(4096, 'b') +
                      std::string(4096, 'c') + std::string(4096, 'd'));
      // 1.2 MB, more than the two stream budgets (node and server) hold:
      // the node must wait for the client, read at 4 MB/s.
      auto big =
        get(front.port, "/remote/stream?n=300", {"--limit-rate", "4M"});
      CHECK(big.first == 200);
      REQUIRE(big.second.size() == 300u * 4096u);
      bool whole = true;
      for (size_t i = 0; i < 300; ++i)
        whole &= big.second[i * 4096] == static_cast<char>('a' + i % 26);
      CHECK(whole);
    }
    SUBCASE("twenty requests on one keep-alive connection") {
      client c{front.port};
      for (int i = 0; i < 20; ++i) {
        c.send("GET /remote/hello HTTP/1.1\r\nHost: t\r\n\r\n");
        auto r = c.read_response();
        REQUIRE(r);
        CHECK(r->status == 200);
      }
    }
  }

  TEST_CASE("a node going down answers 503 at once; the route recovers") {
    auto n = std::make_unique<node>(0);
    auto node_port = n->port;
    demo_server front{
      {"--remote-handlers=127.0.0.1:" + std::to_string(node_port)}};
    REQUIRE(eventually(
      [&] { return answers(front.port, "/remote/hello", 200); }, 10s));
    // Two requests held by the node (it would answer after 20 s).
    client a{front.port};
    client b{front.port};
    a.send("GET /remote/slow?ms=20000 HTTP/1.1\r\nHost: t\r\n\r\n");
    b.send("GET /remote/slow?ms=20000 HTTP/1.1\r\nHost: t\r\n\r\n");
    // Both reached the node once the front end holds them in flight.
    REQUIRE(eventually(
      [&] {
        client c{front.port};
        c.send("GET /info HTTP/1.1\r\nHost: t\r\n\r\n");
        auto r = c.read_response();
        return r && info_field(r->body, "in_flight") == 3; // + this one
      },
      5s));
    auto killed_at = clock_type::now();
    n->proc->signal(SIGKILL);
    n->proc->wait_exit(5s);
    auto ra = a.read_response(5s);
    auto rb = b.read_response(5s);
    REQUIRE(ra);
    REQUIRE(rb);
    CHECK(ra->status == 503);
    CHECK(rb->status == 503);
    CHECK(clock_type::now() - killed_at < 3s); // not the 30 s timeout
    // The next requests: 503 at once while the node is away.
    auto t0 = clock_type::now();
    CHECK(get(front.port, "/remote/hello").first == 503);
    CHECK(clock_type::now() - t0 < 2s);
    // The node comes back on the same port: the route recovers.
    n = std::make_unique<node>(node_port);
    CHECK(eventually([&] { return answers(front.port, "/remote/hello", 200); },
                     10s));
    CHECK(get(front.port, "/remote/slow?ms=10").second == "slept 10 ms\n");
  }
}
