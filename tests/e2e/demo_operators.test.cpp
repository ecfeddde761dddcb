// The demo's operator routes with real clients: /healthz, /readyz (503 once
// a drain starts), /metrics parsed by python3-prometheus-client (issue 14
// items 3 and 4).

#include "../unit/operators.hpp"
#include "net.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

using namespace rrtest;

namespace {

std::pair<int, std::string> curl(std::vector<std::string> args) {
  std::vector<std::string> argv{"curl", "-sS", "--max-time", "10"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

// Sums the samples of `name` whose labels include every `labels` entry
// (so a test does not depend on labels it does not name, e.g. the
// protocol, which connections do not report yet).
double sum(const std::map<std::string, std::string>& parsed,
           const std::string& name, std::vector<std::string> labels = {}) {
  double total = 0;
  for (auto& [key, value] : parsed) {
    if (key.rfind(name + "{", 0) != 0)
      continue;
    bool all = true;
    for (auto& l : labels)
      all = all && key.find(l) != std::string::npos;
    if (all)
      total += std::stod(value);
  }
  return total;
}

std::string temp_path(const char* stem) {
  return std::string{"/tmp/rr-"} + stem + "-" + std::to_string(::getpid()) +
         ".log";
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in{path};
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);)
    out.push_back(l);
  return out;
}

} // namespace

TEST_SUITE("e2e.demo_operators") {

  TEST_CASE("GET /healthz and /readyz answer 200 while serving") {
    demo_server srv;
    auto [c1, health] = curl({"-i", srv.url("/healthz")});
    CHECK(health.find("HTTP/1.1 200 OK\r\n") == 0);
    CHECK(health.find("cache-control: no-store\r\n") != std::string::npos);
    CHECK(health.substr(health.size() - 3) == "ok\n");
    auto [c2, ready] = curl({srv.url("/readyz")});
    CHECK(ready == "ready\n");
    auto [c3, post] = curl({"-i", "-X", "POST", srv.url("/readyz")});
    CHECK(post.find("HTTP/1.1 405") == 0);
  }

  TEST_CASE("/readyz turns 503 once a drain starts; /healthz stays 200") {
    // Without graceful drain, open connections keep being served while the
    // listening socket is closed: the balancer's probe sees the change.
    demo_server srv{{"--graceful-drain=false", "--drain-timeout=10s"}};
    client probe{srv.port};
    REQUIRE(probe.send("GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto res = probe.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
    srv.proc.signal(SIGTERM);
    // The drain starts on the listener's thread: poll, bounded.
    int status = 200;
    for (int i = 0; i < 200 && status == 200; ++i) {
      REQUIRE(probe.send("GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n"));
      res = probe.read_response();
      REQUIRE(res);
      status = res->status;
    }
    CHECK(status == 503);
    CHECK(res->header("retry-after") == "1");
    CHECK(res->body == "draining\n");
    REQUIRE(probe.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
    res = probe.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
  }

  TEST_CASE("GET /metrics is Prometheus text that counts what happened") {
    demo_server srv;
    for (int i = 0; i < 3; ++i)
      curl({srv.url("/")});
    curl({"-X", "DELETE", srv.url("/")}); // 405
    curl({srv.url("/nope")});             // 404
    {
      client bad{srv.port};
      REQUIRE(bad.send("GET / HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n"));
      auto res = bad.read_response();
      REQUIRE(res);
      REQUIRE(res->status == 400);
    }
    auto [code, text] = curl({"-i", srv.url("/metrics")});
    REQUIRE(code == 0);
    CHECK(text.find("content-type: text/plain; version=0.0.4; "
                    "charset=utf-8\r\n") != std::string::npos);
    auto body = text.substr(text.find("\r\n\r\n") + 4);
    auto p = optest::parse_prometheus(body);
    CHECK(p["family roadrunner_requests"] == "counter");
    CHECK(p["family roadrunner_request_duration_seconds"] == "histogram");
    CHECK(sum(p, "roadrunner_requests_total",
              {R"(method="GET")", R"(status="2xx")", R"(listener="demo")"}) ==
          3);
    CHECK(sum(p, "roadrunner_requests_total",
              {R"(method="DELETE")", R"(status="4xx")"}) == 1);
    CHECK(sum(p, "roadrunner_requests_total", {R"(status="4xx")"}) == 2);
    CHECK(sum(p, "roadrunner_request_duration_seconds_count") == 5);
    CHECK(sum(p, "roadrunner_request_duration_seconds_bucket",
              {R"(le="+Inf")"}) == 5);
    CHECK(sum(p, "roadrunner_requests_rejected_total", {R"(status="400")"}) ==
          1);
    // Six connections came and went (the scrape's own is still open).
    CHECK(sum(p, "roadrunner_connections_accepted_total") == 7);
    CHECK(sum(p, "roadrunner_requests_in_flight") == 1); // the scrape
    CHECK(sum(p, "roadrunner_connections_max") == 150);
    CHECK(p["roadrunner_log_lines_dropped_total{}"] == "0");
    // The closed ones leave the gauge as their reactors see the EOF: poll
    // until only the scraping connection is left (bounded).
    client scraper{srv.port};
    double active = -1;
    for (int i = 0; i < 200 && active != 1; ++i) {
      REQUIRE(scraper.send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"));
      auto res = scraper.read_response();
      REQUIRE(res);
      active = sum(optest::parse_prometheus(res->body),
                   "roadrunner_connections_active");
    }
    CHECK(active == 1);
  }

  TEST_CASE("the HTTP/2 open-streams gauge counts a stream in progress") {
    // A scrape over HTTP/2 sees its own stream open (its request_start was
    // counted, its request_stop not yet); HTTP/1.1 requests, whose starts
    // the metrics subscriber does not take, leave the gauge alone.
    {
      demo_server srv;
      REQUIRE(curl({srv.url("/")}).first == 0);
      auto r = curl({srv.url("/metrics")});
      REQUIRE(r.first == 0);
      auto p = optest::parse_prometheus(r.second);
      CHECK(sum(p, "roadrunner_http2_streams_open") == 0);
      CHECK(sum(p, "roadrunner_requests_total", {R"(protocol="HTTP/1.1")"}) ==
            1);
    }
    demo_server srv{{"--protocols=http2"}};
    REQUIRE(curl({"--http2-prior-knowledge", srv.url("/")}).first == 0);
    auto r = curl({"--http2-prior-knowledge", srv.url("/metrics")});
    REQUIRE(r.first == 0);
    auto p = optest::parse_prometheus(r.second);
    CHECK(sum(p, "roadrunner_http2_streams_open") == 1);
    CHECK(sum(p, "roadrunner_requests_total", {R"(protocol="HTTP/2")"}) == 1);
  }

  TEST_CASE("connections over max_clients are counted as rejected") {
    demo_server srv{{"--max-clients=1"}};
    client held{srv.port};
    REQUIRE(held.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
    REQUIRE(held.read_response());
    client over{srv.port};
    CHECK(over.closed_by_peer());
    REQUIRE(held.send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto res = held.read_response();
    REQUIRE(res);
    auto p = optest::parse_prometheus(res->body);
    CHECK(sum(p, "roadrunner_connections_rejected_total") == 1);
  }

  TEST_CASE("--access-log writes a combined line per request; SIGTERM "
            "flushes it") {
    auto path = temp_path("access");
    ::unlink(path.c_str());
    {
      demo_server srv{{"--access-log=" + path}};
      curl({"-A", "probe/1.0", srv.url("/")});
      curl({srv.url("/nope?x=1")});
      curl({"-X", "DELETE", srv.url("/")});
      srv.proc.signal(SIGTERM);
      REQUIRE(srv.proc.wait_exit(10s) == 0);
    }
    auto ls = read_lines(path);
    ::unlink(path.c_str());
    REQUIRE(ls.size() == 3);
    // Protocol, sizes, query, referer and user agent are "-" until the
    // connection layer reports them; the line shape is the same either way.
    const std::string head =
      R"re(127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8} \+0000\] )re";
    CHECK(std::regex_match(
      ls[0], std::regex{head + R"re("GET / (-|HTTP/1\.1)" 200 (-|13) )re"
                               R"re("-" "(-|probe/1\.0)")re"}));
    CHECK(std::regex_match(
      ls[1], std::regex{head + R"re("GET /nope(\?x=1)? (-|HTTP/1\.1)" 404 )re"
                               R"re((-|[0-9]+) "-" "[^"]*")re"}));
    CHECK(std::regex_match(
      ls[2], std::regex{head + R"re("DELETE / (-|HTTP/1\.1)" 405 .*)re"}));
  }

  TEST_CASE("--access-log-format=json writes one JSON object per line") {
    auto path = temp_path("access-json");
    ::unlink(path.c_str());
    {
      demo_server srv{{"--access-log=" + path, "--access-log-format=json"}};
      for (int i = 0; i < 5; ++i)
        curl({srv.url("/json")});
      srv.proc.signal(SIGTERM);
      REQUIRE(srv.proc.wait_exit(10s) == 0);
    }
    auto ls = read_lines(path);
    ::unlink(path.c_str());
    REQUIRE(ls.size() == 5);
    std::set<std::string> ids;
    for (auto& l : ls) {
      auto j = nlohmann::json::parse(l);
      CHECK(j["listener"] == "demo");
      CHECK(j["method"] == "GET");
      CHECK(j["path"] == "/json");
      CHECK(j["status"] == 200);
      CHECK(j["peer"] == "127.0.0.1");
      CHECK(j["duration_ms"].get<double>() >= 0);
      ids.insert(j["request_id"].get<std::string>());
    }
    CHECK(ids.size() == 5);
  }

  TEST_CASE("access log fields from the request lifecycle, HTTP/1.1 and "
            "HTTP/2: protocol, host, query, user agent, referer, bytes") {
    for (bool h2 : {false, true}) {
      CAPTURE(h2);
      auto path = temp_path(h2 ? "fields-h2" : "fields-h1");
      ::unlink(path.c_str());
      std::vector<std::string> flags{"--access-log=" + path,
                                     "--access-log-format=json"};
      std::vector<std::string> proto;
      if (h2) {
        flags.push_back("--protocols=http2");
        proto.push_back("--http2-prior-knowledge");
      }
      {
        demo_server srv{flags};
        auto args = proto;
        for (auto a : {"-A", "ua-test/1", "-e", "http://ref.example/"})
          args.push_back(a);
        args.push_back(srv.url("/users/42?x=1"));
        REQUIRE(curl(args).first == 0);
        args = proto;
        for (auto a : {"-d", "hello"})
          args.push_back(a);
        args.push_back(srv.url("/echo"));
        REQUIRE(curl(args).second == "hello");
        args = proto;
        args.push_back("-I");
        args.push_back(srv.url("/"));
        REQUIRE(curl(args).first == 0);
        srv.proc.signal(SIGTERM);
        REQUIRE(srv.proc.wait_exit(10s) == 0);
      }
      auto ls = read_lines(path);
      ::unlink(path.c_str());
      REQUIRE(ls.size() == 3);
      auto get = nlohmann::json::parse(ls[0]);
      CHECK(get["protocol"] == (h2 ? "HTTP/2" : "HTTP/1.1"));
      CHECK(get["path"] == "/users/42");
      CHECK(get["query"] == "x=1");
      CHECK(get["host"].get<std::string>().rfind("127.0.0.1:", 0) == 0);
      CHECK(get["user_agent"] == "ua-test/1");
      CHECK(get["referer"] == "http://ref.example/");
      CHECK(get["body_bytes_sent"] == 11); // {"id":"42"}
      if (h2) {
        CHECK(get["bytes_sent"] == 11); // HTTP/2: body bytes only
      } else {
        CHECK(get["bytes_sent"].get<uint64_t>() > 11 + 30); // head + body
        CHECK(get["bytes_received"].get<uint64_t>() > 40);  // the head
      }
      auto post = nlohmann::json::parse(ls[1]);
      CHECK(post["method"] == "POST");
      CHECK(post["body_bytes_sent"] == 5);
      CHECK(post["bytes_received"].get<uint64_t>() >= 5);
      auto head = nlohmann::json::parse(ls[2]);
      CHECK(head["method"] == "HEAD");
      CHECK(head["body_bytes_sent"] == 0); // RFC 9110 9.3.2
    }
  }

  TEST_CASE("a bad --access-log fails start naming the flag") {
    auto [code, out] =
      run({"sh", "-c",
           std::string{"\""} + ROADRUNNER_DEMO_PATH +
             "\" --port=0 --access-log=/nonexistent/dir/a.log 2>&1"});
    CHECK(code == 1);
    CHECK(out.find("--access-log=/nonexistent/dir/a.log: No such file or "
                   "directory") != std::string::npos);
    CHECK(out.find("listening") == std::string::npos);
    auto [code2, out2] = run({"sh", "-c",
                              std::string{"\""} + ROADRUNNER_DEMO_PATH +
                                "\" --check-config --access-log-format=xml "
                                "2>&1"});
    CHECK(code2 == 1);
    CHECK(out2.find("--access-log-format=xml: common, combined or json") !=
          std::string::npos);
  }

  TEST_CASE("--error-log records protocol rejections, rate limited per kind") {
    auto path = temp_path("error");
    ::unlink(path.c_str());
    {
      demo_server srv{{"--error-log=" + path}};
      client bad{srv.port};
      REQUIRE(bad.send("GET / HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n"));
      REQUIRE(bad.read_response());
      client old{srv.port};
      REQUIRE(old.send("GET / HTTP/2.1\r\nHost: t\r\n\r\n"));
      auto res = old.read_response();
      REQUIRE(res);
      CHECK(res->status == 505);
      // A storm of bad requests: the kind is limited to 10 lines a second.
      for (int i = 0; i < 40; ++i) {
        client c{srv.port};
        REQUIRE(c.send("GET / HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n"));
        REQUIRE(c.read_response());
      }
      srv.proc.signal(SIGTERM);
      REQUIRE(srv.proc.wait_exit(10s) == 0);
    }
    auto ls = read_lines(path);
    ::unlink(path.c_str());
    REQUIRE(!ls.empty());
    const std::regex first{
      R"re([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z warning listener=demo )re"
      R"re(event=request_rejected status=400 reason=obs_fold )re"
      R"re(peer=127\.0\.0\.1:[0-9]+)re"};
    CHECK(std::regex_match(ls[0], first));
    size_t rejected = 0;
    bool saw_505 = false;
    for (auto& l : ls) {
      rejected += l.find("event=request_rejected") != std::string::npos;
      saw_505 = saw_505 || l.find("status=505") != std::string::npos;
    }
    CHECK(saw_505);
    // 42 rejections in at most a few seconds: 10 per second get through.
    CHECK(rejected >= 10);
    CHECK(rejected < 42);
  }

  TEST_CASE("--error-log records an HTTP/2 connection error with its GOAWAY "
            "code") {
    auto path = temp_path("error-h2");
    ::unlink(path.c_str());
    {
      demo_server srv{{"--error-log=" + path, "--protocols=http2"}};
      client bad{srv.port};
      // Not the client preface: a connection error (RFC 9113 3.4).
      REQUIRE(bad.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
      CHECK(bad.closed_by_peer());
      srv.proc.signal(SIGTERM);
      REQUIRE(srv.proc.wait_exit(10s) == 0);
    }
    auto ls = read_lines(path);
    ::unlink(path.c_str());
    bool seen = false;
    for (auto& l : ls)
      seen =
        seen || (l.find("event=http2_connection_error") != std::string::npos &&
                 l.find("PROTOCOL_ERROR") != std::string::npos);
    CHECK(seen);
  }

  TEST_CASE("--log-level=info adds drain lines; debug adds connections") {
    auto path = temp_path("error-info");
    ::unlink(path.c_str());
    {
      demo_server srv{{"--error-log=" + path, "--log-level=debug"}};
      curl({srv.url("/")});
      srv.proc.signal(SIGTERM);
      REQUIRE(srv.proc.wait_exit(10s) == 0);
    }
    auto ls = read_lines(path);
    ::unlink(path.c_str());
    auto has = [&](std::string_view what) {
      for (auto& l : ls)
        if (l.find(what) != std::string::npos)
          return true;
      return false;
    };
    CHECK(
      has(" debug listener=demo event=connection_accepted peer=127.0.0.1:"));
    CHECK(has(" info listener=demo event=drain_started"));
    CHECK(has(" info listener=demo event=drain_finished count=0"));
  }
}
