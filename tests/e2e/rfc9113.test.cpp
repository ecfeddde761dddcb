// End-to-end HTTP/2 (RFC 9113): roadrunner-demo as h2c with prior knowledge
// (`--protocols=http2`) and as h2 over TLS, driven by curl, nghttp, h2load
// and python3-h2 (tests/e2e/h2_client.py) for the protocol-level cases.

#include "h2test.hpp"

#include <doctest/doctest.h>

#include <signal.h>

#include <regex>
#include <string>
#include <vector>

using namespace rrtest;

namespace {

std::vector<std::string> h2c_flags(std::vector<std::string> more = {}) {
  std::vector<std::string> flags{"--protocols=http2"};
  flags.insert(flags.end(), more.begin(), more.end());
  return flags;
}

// curl with prior knowledge.
std::pair<int, std::string> curl_h2c(std::vector<std::string> args) {
  args.insert(args.begin(), "--http2-prior-knowledge");
  return curl(std::move(args));
}

long info(uint16_t port, std::string_view field) {
  auto [code, out] = curl_h2c({http_url(port, "/info")});
  return code == 0 ? info_field(out, field) : -1;
}

long to_long(const std::optional<std::string>& x) {
  return x ? std::stol(*x) : -1;
}

} // namespace

TEST_SUITE("e2e.rfc9113") {

  TEST_CASE("curl with prior knowledge gets the routes, 404 and 405 (F4)") {
    demo_server srv{h2c_flags()};
    CHECK(std::regex_match(
      srv.start_line,
      std::regex{
        R"(roadrunner-demo listening on http://127\.0\.0\.1:[0-9]+)"}));
    auto url = [&](std::string_view p) { return http_url(srv.port, p); };
    SUBCASE("GET / over HTTP/2 with date and content-length") {
      auto [code, out] = curl_h2c({"-i", url("/")});
      REQUIRE(code == 0);
      CHECK(out.find("HTTP/2 200") == 0);
      CHECK(out.find("content-length: 13\r\n") != std::string::npos);
      CHECK(out.find("date: ") != std::string::npos);
      CHECK(out.substr(out.size() - 13) == "Hello, World!");
    }
    SUBCASE("bindings, JSON, a 64 KiB body, POST echo") {
      CHECK(curl_h2c({url("/users/42")}).second == R"({"id":"42"})");
      CHECK(curl_h2c({url("/large")}).second == std::string(65536, 'x'));
      auto [code, out] = curl_h2c({"-H", "content-type: text/x-test",
                                   "--data-binary", "ping", url("/echo")});
      CHECK(out == "ping");
    }
    SUBCASE("404, and 405 with allow (upstream crashed the stream: F4)") {
      auto [c1, nf] =
        curl_h2c({"-o", "/dev/null", "-w", "%{http_code}", url("/nope")});
      CHECK(nf == "404");
      auto [c2, na] = curl_h2c({"-i", "-X", "DELETE", url("/")});
      CHECK(na.find("HTTP/2 405") == 0);
      CHECK(na.find("allow: GET\r\n") != std::string::npos);
    }
    SUBCASE("HEAD: the GET head, no content") {
      auto [code, out] = curl_h2c({"-I", url("/large")});
      CHECK(out.find("HTTP/2 200") == 0);
      CHECK(out.find("content-length: 65536\r\n") != std::string::npos);
    }
    SUBCASE("a body over max_content_length: 413, the rest reset with "
            "NO_ERROR (RFC 9113 8.1); exactly the limit is accepted") {
      demo_server small{h2c_flags({"--max-content-length=1000"})};
      // (curl 7.88 may report its own stream error for an early answer
      // while it uploads, so python3-h2 checks the frames.)
      auto big = h2_case("post", small.port, {"100000"});
      CHECK(value_of(big, "status") == "413 reset 0");
      auto fits = h2_case("post", small.port, {"1000"});
      CHECK(value_of(fits, "status") == "200 reset None");
      CHECK(value_of(fits, "len") == "1000");
    }
  }

  TEST_CASE("nghttp sees the SETTINGS and the early connection WINDOW_UPDATE") {
    demo_server srv{
      h2c_flags({"--conn-window=1048576", "--stream-window=131072",
                 "--max-concurrent-streams=7", "--max-header-list-size=9000"})};
    auto [code, out] =
      run({"nghttp", "-v", "-n", "-t", "10", http_url(srv.port, "/")});
    REQUIRE(code == 0);
    CHECK(out.find("[SETTINGS_MAX_CONCURRENT_STREAMS(0x03):7]") !=
          std::string::npos);
    CHECK(out.find("[SETTINGS_INITIAL_WINDOW_SIZE(0x04):131072]") !=
          std::string::npos);
    CHECK(out.find("[SETTINGS_MAX_HEADER_LIST_SIZE(0x06):9000]") !=
          std::string::npos);
    // 1048576 - 65535, right after the SETTINGS.
    CHECK(std::regex_search(
      out,
      std::regex{
        R"(recv WINDOW_UPDATE frame <length=4, flags=0x00, stream_id=0>\s+\(window_size_increment=983041\))"}));
    CHECK(out.find(":status: 200") != std::string::npos);
  }

  TEST_CASE("h2load: many streams on few connections, all served and "
            "counted (F13)") {
    SUBCASE("h2c") {
      demo_server srv{h2c_flags()};
      auto [code, out] = run({"h2load", "-n", "2000", "-c", "4", "-m", "50",
                              http_url(srv.port, "/")},
                             60s);
      REQUIRE(code == 0);
      CHECK(out.find("2000 succeeded, 0 failed, 0 errored") !=
            std::string::npos);
      CHECK(out.find("status codes: 2000 2xx") != std::string::npos);
      CHECK(info(srv.port, "requests_served") == 2001);
    }
    SUBCASE("h2 over TLS, with handler actors") {
      test_certs certs;
      auto flags = certs.flags();
      flags.push_back("--protocols=http2,http1");
      demo_server srv{flags};
      auto [code, out] = run({"h2load", "-n", "600", "-c", "2", "-m", "30",
                              https_url(srv.port, "/hello/actor")},
                             60s);
      REQUIRE(code == 0);
      CHECK(out.find("Application protocol: h2") != std::string::npos);
      CHECK(out.find("600 succeeded, 0 failed, 0 errored") !=
            std::string::npos);
      auto [c2, json] = curl({"-k", https_url(srv.port, "/info")});
      CHECK(info_field(json, "requests_served") == 601);
    }
  }

  TEST_CASE("streams of one connection are served concurrently: handler "
            "actors in parallel") {
    demo_server srv{h2c_flags()};
    auto out = h2_case("concurrent", srv.port, {"4", "500"});
    auto statuses = values_of(out, "status");
    REQUIRE(statuses.size() == 4);
    for (auto& s : statuses)
      CHECK(s == "200 - slept 500 ms");
    // Four 500 ms answers one after the other would take 2 s.
    CHECK(to_long(value_of(out, "ms")) < 1500);
  }

  TEST_CASE("admission over max_concurrent_requests: 503 + retry-after") {
    demo_server srv{h2c_flags({"--max-concurrent-requests=1"})};
    auto out = h2_case("concurrent", srv.port, {"2", "300"});
    auto statuses = values_of(out, "status");
    REQUIRE(statuses.size() == 2);
    CHECK(statuses[0] == "200 - slept 300 ms");
    CHECK(statuses[1] == "503 1 Service Unavailable");
    CHECK(info(srv.port, "throttled") == 1);
  }

  TEST_CASE("streaming and SSE over h2") {
    demo_server srv{h2c_flags({"--keep-alive-timeout=300"})};
    SUBCASE("/stream: the four pieces in order") {
      auto [code, out] = curl_h2c({http_url(srv.port, "/stream")});
      REQUIRE(code == 0);
      CHECK(out == std::string(4096, 'a') + std::string(4096, 'b') +
                     std::string(4096, 'c') + std::string(4096, 'd'));
    }
    SUBCASE("/sse outlives keep_alive_timeout: idle means no stream (F8)") {
      auto out = h2_case("sse", srv.port, {"1.5"});
      CHECK(value_of(out, "status") == "200");
      CHECK(to_long(value_of(out, "events")) >= 10);
      CHECK(value_of(out, "goaway") == "None");
      CHECK(value_of(out, "eof") == "0");
    }
    SUBCASE("a client with a 1000-byte window gets /large within it") {
      auto out = h2_case("small_window", srv.port);
      CHECK(value_of(out, "status") == "200");
      CHECK(value_of(out, "len") == "65536");
      CHECK(to_long(value_of(out, "largest_frame")) <= 1000);
    }
    // The SSE stream's loop handler ended with its client: nothing leaks.
    CHECK(info(srv.port, "in_flight") == 1);
  }

  TEST_CASE("protocol errors: bad preface, flow control, malformed, 431") {
    demo_server srv{
      h2c_flags({"--stream-window=1000", "--max-header-list-size=4096"})};
    SUBCASE("an HTTP/1.1 request is a bad preface: GOAWAY(PROTOCOL_ERROR), "
            "close (RFC 9113 3.4)") {
      auto out = h2_case("bad_preface", srv.port);
      CHECK(value_of(out, "goaway") == "1 0");
      CHECK(value_of(out, "eof") == "1");
    }
    SUBCASE("DATA beyond the stream window: RST_STREAM(FLOW_CONTROL_ERROR); "
            "the connection lives (RFC 9113 6.9.1)") {
      auto out = h2_case("flow_control", srv.port);
      CHECK(value_of(out, "rst") == "1 3");
      CHECK_FALSE(value_of(out, "goaway"));
      CHECK(value_of(out, "ping_ack") == "12345678");
    }
    SUBCASE("a connection-specific field: RST_STREAM(PROTOCOL_ERROR) "
            "(RFC 9113 8.2.2)") {
      auto out = h2_case("malformed", srv.port);
      CHECK(value_of(out, "first") == "None 1");
      CHECK(value_of(out, "next") == "200");
    }
    SUBCASE("a header list over max_header_list_size: 431 (RFC 9113 "
            "10.5.1), then the next request is served") {
      auto out = h2_case("headers", srv.port, {"5000"});
      CHECK(value_of(out, "first") == "431 None");
      CHECK(value_of(out, "next") == "200");
    }
  }

  TEST_CASE("a client reset ends the stream's request: its admission slot "
            "comes back") {
    demo_server srv{h2c_flags()};
    auto out = h2_case("reset", srv.port);
    CHECK(value_of(out, "status") == "200");
    // Only the /info request itself is in flight.
    CHECK(info_field(value_of(out, "body").value_or(""), "in_flight") == 1);
  }

  TEST_CASE("timeouts (F8): preface, idle only without streams, request, "
            "slow client") {
    SUBCASE("no preface within request_timeout: closed") {
      demo_server srv{h2c_flags({"--request-timeout=300"})};
      auto out = h2_case("silent", srv.port);
      CHECK(value_of(out, "eof") == "1");
      auto ms = to_long(value_of(out, "ms"));
      CHECK(ms >= 250);
      CHECK(ms < 3000);
    }
    SUBCASE("keep_alive_timeout with no stream open: GOAWAY(NO_ERROR), "
            "close") {
      demo_server srv{h2c_flags({"--keep-alive-timeout=300"})};
      auto out = h2_case("idle", srv.port);
      CHECK(value_of(out, "goaway") == "(0, 1)");
      CHECK(value_of(out, "eof") == "1");
      auto ms = to_long(value_of(out, "ms"));
      CHECK(ms >= 250);
      CHECK(ms < 3000);
    }
    SUBCASE("a request that stops arriving: 408 on its stream; the "
            "connection goes on") {
      demo_server srv{
        h2c_flags({"--request-timeout=500", "--min-bytes-per-second=0"})};
      auto out = h2_case("stalled_request", srv.port);
      CHECK(values_of(out, "status") == std::vector<std::string>{"408", "200"});
      auto ms = to_long(value_of(out, "ms"));
      CHECK(ms >= 450);
      CHECK(ms < 3000);
    }
    SUBCASE("a client that never opens its flow-control window: closed "
            "after request_timeout without progress") {
      demo_server srv{h2c_flags({"--request-timeout=500"})};
      auto out = h2_case("closed_window", srv.port);
      CHECK(value_of(out, "received") == "65535");
      CHECK(value_of(out, "eof") == "1");
      auto ms = to_long(value_of(out, "ms"));
      CHECK(ms >= 450);
      CHECK(ms < 3000);
      CHECK(info(srv.port, "active_clients") == 1);
    }
    SUBCASE("a body trickling under min_bytes_per_second: GOAWAY, close") {
      demo_server srv{h2c_flags(
        {"--min-bytes-per-second=1000", "--rate-check-interval=100"})};
      auto out = h2_case("slow_upload", srv.port);
      CHECK(value_of(out, "goaway") == "(11, 1)"); // ENHANCE_YOUR_CALM
      CHECK(value_of(out, "eof") == "1");
      CHECK(to_long(value_of(out, "ms")) < 5000);
    }
  }

  TEST_CASE("SIGTERM drains h2: GOAWAY with the last stream id, the loop "
            "handler hears it and ends its stream, then the close") {
    test_certs certs;
    for (bool tls : {false, true}) {
      INFO("tls: " << tls);
      auto flags = tls ? certs.flags() : std::vector<std::string>{};
      flags.push_back("--protocols=http2");
      demo_server srv{flags};
      process client{h2_argv("drain", srv.port,
                             tls ? std::vector<std::string>{"--tls"}
                                 : std::vector<std::string>{})};
      REQUIRE(client.read_line(10s) == "ready");
      srv.proc.signal(SIGTERM);
      auto out = client.read_all(10s);
      CHECK(value_of(out, "goaway") == "(0, 1)");
      CHECK(value_of(out, "drain_event") == "1");
      CHECK(value_of(out, "ended") == "1");
      CHECK(value_of(out, "eof") == "1");
      CHECK(srv.proc.wait_exit(10s) == 0);
    }
  }

  TEST_CASE("h2 over TLS: curl, nghttp, the python client") {
    test_certs certs;
    auto flags = certs.flags();
    flags.push_back("--protocols=http2,http1");
    demo_server srv{flags};
    auto [code, out] = curl({"-k", "--http2", "-i", https_url(srv.port, "/")});
    REQUIRE(code == 0);
    CHECK(out.find("HTTP/2 200") == 0);
    auto [c2, ng] =
      run({"nghttp", "-n", "-s", "-t", "10", https_url(srv.port, "/large"),
           https_url(srv.port, "/stream"), https_url(srv.port, "/nope")});
    CHECK(c2 == 0);
    auto py = h2_case("get", srv.port, {"/slow?ms=20", "3", "--tls"});
    CHECK(values_of(py, "status") ==
          std::vector<std::string>{"200 len 12", "200 len 12", "200 len 12"});
    auto [c3, sse] = run({"curl", "-sS", "-k", "-N", "--http2", "--max-time",
                          "1", https_url(srv.port, "/sse")});
    CHECK(c3 == 28); // timed out: the stream is endless
    CHECK(sse.find("data: tick 3\n") != std::string::npos);
  }
}
