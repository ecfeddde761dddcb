// The README's "Using the library" program, extracted and built verbatim
// (tests/CMakeLists.txt), run as a user would run it.
#include "h2test.hpp"
#include "net.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <regex>
#include <string>

using namespace rrtest;

namespace {

// Waits (bounded) until the program catches `sig` (SigCgt in
// /proc/PID/status): serve_until_signal installs its handler just after
// the start line, and a signal before that would end the process.
bool catches(pid_t pid, int sig) {
  auto deadline = clock_type::now() + 10s;
  while (clock_type::now() < deadline) {
    std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
    std::string line;
    while (std::getline(status, line))
      if (line.rfind("SigCgt:", 0) == 0 &&
          (std::stoull(line.substr(7), nullptr, 16) >> (sig - 1) & 1) != 0)
        return true;
    pollfd none{-1, 0, 0};
    ::poll(&none, 0, 5);
  }
  return false;
}

// An example program started with --port=0 (and `flags`); its start line
// must match `start_line`, whose first group is the port.
struct started_program {
  process proc;
  uint16_t port = 0;
  std::vector<std::string> groups; // of the start line's match

  started_program(std::string path, const std::string& start_line,
                  std::vector<std::string> flags = {"--roadrunner.reactors=2"})
    : proc(argv(std::move(path), std::move(flags))) {
    auto line = proc.read_line(10s);
    REQUIRE_MESSAGE(line, "the program printed no start line");
    std::smatch m;
    REQUIRE(std::regex_match(*line, m, std::regex{start_line}));
    groups.assign(m.begin(), m.end());
    port = static_cast<uint16_t>(std::stoi(groups.at(1)));
  }

  static std::vector<std::string> argv(std::string path,
                                       std::vector<std::string> flags) {
    std::vector<std::string> out{std::move(path), "--port=0"};
    out.insert(out.end(), flags.begin(), flags.end());
    return out;
  }

  std::string url(const std::string& target) const {
    return "http://127.0.0.1:" + std::to_string(port) + target;
  }

  bool catches(int sig) { return ::catches(proc.pid(), sig); }

  // SIGTERM once it is caught; the exit status.
  int terminate() {
    REQUIRE(catches(SIGTERM));
    proc.signal(SIGTERM);
    return proc.wait_exit(10s);
  }

  http_response get(const std::string& target) {
    client c{port};
    REQUIRE(c.send("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto res = c.read_response();
    REQUIRE(res);
    return *res;
  }
};

} // namespace

TEST_SUITE("e2e.readme") {

  TEST_CASE("the README program serves its routes until SIGTERM, then "
            "drains and exits 0") {
    started_program app{ROADRUNNER_README_PROGRAM,
                        "listening on port ([0-9]+)"};
    auto root = app.get("/");
    CHECK(root.status == 200);
    CHECK(root.body == "Hello, World!");
    auto user = app.get("/users/42");
    CHECK(user.status == 200);
    CHECK(nlohmann::json::parse(user.body) == nlohmann::json{{"id", 42}});
    CHECK(app.get("/users/4%32").body == R"({"id":42})");
    CHECK(app.get("/users/abc").status == 400);
    CHECK(app.get("/users/99999999999999999999").status == 400);
    CHECK(app.get("/nope").status == 404);
    // An idle keep-alive connection does not hold up the drain.
    client idle{app.port};
    REQUIRE(idle.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
    REQUIRE(idle.read_response());
    CHECK(app.terminate() == 0);
    CHECK(idle.closed_by_peer());
  }

  TEST_CASE("the README program refuses an id that is not a number") {
    started_program app{ROADRUNNER_README_PROGRAM,
                        "listening on port ([0-9]+)"};
    auto user = app.get("/users/a%22b");
    CHECK(user.status == 400);
    CHECK(user.body == "bad id\n");
    REQUIRE(app.catches(SIGINT));
    app.proc.signal(SIGINT);
    CHECK(app.proc.wait_exit(10s) == 0);
  }

  TEST_CASE("a bad --roadrunner.reactors value is refused with a message") {
    auto [code, out] = run(
      {ROADRUNNER_README_PROGRAM, "--port=0", "--roadrunner.reactors=many"});
    CHECK(code != 0);
  }

#ifdef ROADRUNNER_HELLO_WORLD
  TEST_CASE("examples/hello_world (CAF_MAIN with a system_config) takes "
            "--roadrunner.reactors, serves and drains on SIGTERM") {
    started_program app{ROADRUNNER_HELLO_WORLD,
                        "listening on ([0-9]+) with ([0-9]+) reactors",
                        {"--roadrunner.reactors=3"}};
    CHECK(app.groups.at(2) == "3");
    client c{app.port};
    REQUIRE(c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->body == "Hello, World!");
    CHECK(app.terminate() == 0);
    CHECK(c.closed_by_peer());
  }
#endif

#ifdef ROADRUNNER_JSON_API
  TEST_CASE("examples/json_api answers curl: typed ids, JSON in and out, "
            "middleware on 404 and 405") {
    started_program app{ROADRUNNER_JSON_API,
                        "json_api listening on port ([0-9]+)"};
    auto url = app.url("");
    auto curl = [&](std::vector<std::string> args) {
      args.insert(args.begin(), {"curl", "-s", "-i"});
      auto [code, out] = run(args);
      REQUIRE(code == 0);
      return out;
    };
    auto ends_with = [](const std::string& out, std::string_view tail) {
      return out.size() >= tail.size() &&
             out.compare(out.size() - tail.size(), tail.size(), tail) == 0;
    };
    auto first = curl({url + "/items/1"});
    CHECK(first.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(ends_with(first, R"({"id":1,"name":"first"})"));
    CHECK(first.find("x-api-version: 1\r\n") != std::string::npos);
    auto created =
      curl({"-X", "POST", url + "/items", "-d", R"({"name":"x"})"});
    CHECK(created.rfind("HTTP/1.1 201", 0) == 0);
    CHECK(ends_with(created, R"({"id":2,"name":"x"})"));
    CHECK(ends_with(curl({url + "/items/2"}), R"({"id":2,"name":"x"})"));
    auto bad = curl({url + "/items/abc"});
    CHECK(bad.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(ends_with(bad, R"({"error":"not_a_number"})"));
    auto junk = curl({"-X", "POST", url + "/items", "-d", "not json"});
    CHECK(junk.rfind("HTTP/1.1 400", 0) == 0);
    auto missing = curl({url + "/nothing"});
    CHECK(missing.rfind("HTTP/1.1 404", 0) == 0);
    CHECK(missing.find("x-api-version: 1\r\n") != std::string::npos);
    auto wrong = curl({"-X", "DELETE", url + "/items/1"});
    CHECK(wrong.rfind("HTTP/1.1 405", 0) == 0);
    CHECK(wrong.find("allow: GET, OPTIONS\r\n") != std::string::npos);
    CHECK(wrong.find("x-api-version: 1\r\n") != std::string::npos);
    CHECK(app.terminate() == 0);
  }
#endif

#ifdef ROADRUNNER_COUNTER
  TEST_CASE("examples/counter: a shared stateful actor counts every request, "
            "a reactor-local one per reactor") {
    started_program app{ROADRUNNER_COUNTER,
                        "counter listening on port ([0-9]+)"};
    auto url = app.url("");
    // One curl, one keep-alive connection, so one reactor for /local.
    auto [code, out] = run({"curl", "-s", url + "/shared", url + "/shared",
                            url + "/local", url + "/local", url + "/shared"});
    CHECK(code == 0);
    CHECK(out == R"({"count":1}{"count":2}{"count":1}{"count":2}{"count":3})");
    CHECK(app.terminate() == 0);
  }
#endif

#ifdef ROADRUNNER_SSE_TICKS
  TEST_CASE("examples/sse_ticks streams n events and ends; a drain sends a "
            "last drain event") {
    started_program app{ROADRUNNER_SSE_TICKS,
                        "sse_ticks listening on port ([0-9]+)"};
    auto [code, out] = run({"curl", "-s", "-N", app.url("/ticks/3")});
    CHECK(code == 0);
    CHECK(out == "id: 1\ndata: tick 1\n\nid: 2\ndata: tick 2\n\n"
                 "id: 3\ndata: tick 3\n\n");
    auto [bad_code, bad] = run({"curl", "-s", app.url("/ticks/0")});
    CHECK(bad_code == 0);
    CHECK(bad == "n must be 1..10000\n");
    // A long stream: the first event arrives, then SIGTERM drains it.
    process stream{{"curl", "-s", "-N", app.url("/ticks/10000")}};
    auto first = stream.read_line(10s);
    REQUIRE(first);
    CHECK(*first == "id: 1");
    CHECK(app.terminate() == 0);
    auto rest = stream.read_all(10s);
    CHECK(rest.find("event: drain\ndata: bye\n\n") != std::string::npos);
    CHECK(stream.wait_exit(10s) == 0);
  }
#endif

#ifdef ROADRUNNER_TLS_H2
  TEST_CASE("examples/tls_h2 serves h2 by ALPN and HTTP/1.1 over TLS") {
    test_certs certs;
    started_program app{ROADRUNNER_TLS_H2,
                        "tls_h2 listening on port ([0-9]+)",
                        {"--cert=" + certs.cert, "--key=" + certs.key,
                         "--roadrunner.reactors=2"}};
    auto url = "https://127.0.0.1:" + std::to_string(app.port) + "/";
    auto [h2_code, h2] = run({"curl", "-s", "-k", "--http2", url});
    CHECK(h2_code == 0);
    CHECK(h2 == "HTTP/2");
    auto [h1_code, h1] = run({"curl", "-s", "-k", "--http1.1", url});
    CHECK(h1_code == 0);
    CHECK(h1 == "HTTP/1.1");
    CHECK(app.terminate() == 0);
  }

  TEST_CASE("examples parse their options with parse_args: --help exits 0, "
            "a bad value 1") {
    auto [help_code, help] = run({ROADRUNNER_TLS_H2, "--help"});
    CHECK(help_code == 0);
    CHECK(help.find("--cert") != std::string::npos);
    auto [bad_code, bad] = run({ROADRUNNER_TLS_H2, "--port=many"});
    CHECK(bad_code == 1);
    CHECK(bad.empty()); // the error goes to stderr
  }

  TEST_CASE("examples/tls_h2 refuses a missing certificate with a message") {
    auto [code, out] = run({ROADRUNNER_TLS_H2, "--port=0",
                            "--cert=/nonexistent.pem", "--key=/nonexistent"});
    CHECK(code == 1);
  }
#endif

} // TEST_SUITE
