#include "operators.hpp"
#include <roadrunner/metrics.hpp>
#include <roadrunner/stats.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using roadrunner::telemetry_kind;

TEST_SUITE("metrics") {

  TEST_CASE("requests are counted by method, status class and protocol") {
    roadrunner::metrics m;
    auto observe = m.observer();
    auto get = optest::stop_event("GET", 200, 2ms);
    get.protocol = "HTTP/1.1";
    observe(get);
    observe(get);
    auto post = optest::stop_event("POST", 404, 30ms);
    post.protocol = "HTTP/2";
    observe(post);
    observe(optest::stop_event("BREW", 503, 3s)); // protocol unknown today
    auto p = optest::parse_prometheus(m.render());
    CHECK(p["family roadrunner_requests"] == "counter");
    CHECK(
      p[R"(roadrunner_requests_total{listener="demo",method="GET",protocol="HTTP/1.1",status="2xx"})"] ==
      "2");
    CHECK(
      p[R"(roadrunner_requests_total{listener="demo",method="POST",protocol="HTTP/2",status="4xx"})"] ==
      "1");
    CHECK(
      p[R"(roadrunner_requests_total{listener="demo",method="other",protocol="unknown",status="5xx"})"] ==
      "1");
    SUBCASE("the duration histogram is cumulative with sum and count") {
      CHECK(p["family roadrunner_request_duration_seconds"] == "histogram");
      auto bucket = [&](const char* le) {
        return p[std::string{
                   R"(roadrunner_request_duration_seconds_bucket{le=")"} +
                 le + R"(",listener="demo"})"];
      };
      CHECK(bucket("0.001") == "0");
      CHECK(bucket("0.0025") == "2");
      CHECK(bucket("0.025") == "2");
      CHECK(bucket("0.05") == "3");
      CHECK(bucket("2.5") == "3");
      CHECK(bucket("5") == "4");
      CHECK(bucket("+Inf") == "4");
      CHECK(
        p[R"(roadrunner_request_duration_seconds_count{listener="demo"})"] ==
        "4");
      CHECK(
        std::stod(
          p[R"(roadrunner_request_duration_seconds_sum{listener="demo"})"]) ==
        doctest::Approx(3.034));
    }
  }

  TEST_CASE("connection, rejection, TLS, HTTP/2 and byte counters") {
    roadrunner::metrics m;
    auto observe = m.observer();
    for (auto k :
         {telemetry_kind::connection_accepted,
          telemetry_kind::connection_accepted,
          telemetry_kind::connection_closed,
          telemetry_kind::connection_rejected,
          telemetry_kind::tls_handshake_completed,
          telemetry_kind::tls_handshake_failed,
          telemetry_kind::tls_handshake_failed,
          telemetry_kind::http2_connection_error, telemetry_kind::accept_error,
          telemetry_kind::request_exception, telemetry_kind::drain_started})
      observe(optest::event(k));
    auto rejected = optest::event(telemetry_kind::request_rejected);
    rejected.status = 414;
    observe(rejected);
    rejected.status = 418; // not one of the parser's: "other"
    observe(rejected);
    auto start = optest::event(telemetry_kind::request_start);
    start.protocol = "HTTP/2";
    observe(start);
    observe(start);
    auto stop = optest::stop_event("GET", 200, 1ms);
    stop.protocol = "HTTP/2";
    stop.bytes_received = 100;
    stop.bytes_sent = 250;
    observe(stop);
    auto p = optest::parse_prometheus(m.render());
    CHECK(p[R"(roadrunner_connections_accepted_total{listener="demo"})"] ==
          "2");
    CHECK(p[R"(roadrunner_connections_closed_total{listener="demo"})"] == "1");
    CHECK(p[R"(roadrunner_connections_rejected_total{listener="demo"})"] ==
          "1");
    CHECK(
      p[R"(roadrunner_tls_handshakes_total{listener="demo",result="completed"})"] ==
      "1");
    CHECK(
      p[R"(roadrunner_tls_handshakes_total{listener="demo",result="failed"})"] ==
      "2");
    CHECK(p[R"(roadrunner_http2_connection_errors_total{listener="demo"})"] ==
          "1");
    CHECK(p[R"(roadrunner_accept_errors_total{listener="demo"})"] == "1");
    CHECK(p[R"(roadrunner_request_exceptions_total{listener="demo"})"] == "1");
    CHECK(
      p[R"(roadrunner_requests_rejected_total{listener="demo",status="414"})"] ==
      "1");
    CHECK(
      p[R"(roadrunner_requests_rejected_total{listener="demo",status="other"})"] ==
      "1");
    CHECK(p[R"(roadrunner_http2_streams_open{listener="demo"})"] == "1");
    CHECK(p[R"(roadrunner_received_bytes_total{listener="demo"})"] == "100");
    CHECK(p[R"(roadrunner_sent_bytes_total{listener="demo"})"] == "250");
    CHECK(p[R"(roadrunner_drains_total{listener="demo"})"] == "1");
  }

  TEST_CASE("listeners are labelled apart; label values are escaped") {
    roadrunner::metrics m;
    auto observe = m.observer();
    observe(optest::stop_event("GET", 200, 1ms, "a"));
    observe(optest::stop_event("GET", 200, 1ms, "b\"\\\n"));
    observe(optest::stop_event("GET", 200, 1ms, "b\"\\\n"));
    auto p = optest::parse_prometheus(m.render());
    CHECK(
      p[R"(roadrunner_requests_total{listener="a",method="GET",protocol="unknown",status="2xx"})"] ==
      "1");
    CHECK(
      p[R"(roadrunner_requests_total{listener="b\"\\\n",method="GET",protocol="unknown",status="2xx"})"] ==
      "2");
  }

  TEST_CASE("counts from many threads are summed exactly, scrapes meanwhile "
            "parse") {
    roadrunner::metrics m;
    auto observe = m.observer();
    constexpr int threads = 4;
    constexpr int per_thread = 20000;
    std::atomic<int> running{threads};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&] {
        auto e = optest::stop_event("GET", 200, 1ms);
        for (int i = 0; i < per_thread; ++i)
          observe(e);
        --running;
      });
    // Scrapes while the counters move (ends when the writers do).
    std::string mid;
    while (running > 0)
      mid = m.render();
    for (auto& t : ts)
      t.join();
    CHECK_NOTHROW(optest::parse_prometheus(mid));
    auto p = optest::parse_prometheus(m.render());
    CHECK(
      p[R"(roadrunner_requests_total{listener="demo",method="GET",protocol="unknown",status="2xx"})"] ==
      std::to_string(threads * per_thread));
  }

  TEST_CASE("the endpoint adds the scraping listener's live gauges") {
    roadrunner::metrics m;
    roadrunner::detail::listener_stats stats;
    stats.max_clients = 150;
    REQUIRE(stats.try_acquire_slot());
    REQUIRE(stats.try_acquire_slot());
    REQUIRE(stats.try_admit());
    stats.throttled = 3;
    optest::fake_request r{"/metrics", &stats, "edge"};
    auto res = m.endpoint()(r.req);
    CHECK(res.status() == 200);
    bool type = false;
    for (auto& f : res.fields())
      type = type || (f.name == "content-type" &&
                      f.value == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(type);
    auto p = optest::parse_prometheus(res.body());
    CHECK(p[R"(roadrunner_connections_active{listener="edge"})"] == "2");
    CHECK(p[R"(roadrunner_connections_max{listener="edge"})"] == "150");
    CHECK(p[R"(roadrunner_requests_in_flight{listener="edge"})"] == "1");
    CHECK(p[R"(roadrunner_requests_throttled_total{listener="edge"})"] == "3");
  }

  TEST_CASE("values added by the application are read at each scrape") {
    roadrunner::metrics m;
    std::atomic<uint64_t> dropped{3};
    m.add("app_log_lines_dropped_total", "Lines dropped.", "counter",
          [&] { return dropped.load(); });
    auto p = optest::parse_prometheus(m.render());
    CHECK(p["family app_log_lines_dropped"] == "counter");
    CHECK(p["app_log_lines_dropped_total{}"] == "3");
    dropped = 7;
    optest::fake_request r{"/metrics"};
    p = optest::parse_prometheus(m.endpoint()(r.req).body());
    CHECK(p["app_log_lines_dropped_total{}"] == "7");
  }
}
