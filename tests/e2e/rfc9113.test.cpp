// End-to-end HTTP/2 (RFC 9113): roadrunner-demo as h2c with prior knowledge
// (`--protocols=http2`) and as h2 over TLS, driven by curl, nghttp, h2load
// and python3-h2 (tests/e2e/h2_client.py) for the protocol-level cases.
//
// The MUSTs of RFC 9113 5.1 (stream states), 5.1.1 (stream identifiers),
// 5.1.2 (concurrency), 6 (each frame type) and 8.1 (HTTP message framing,
// with 8.2 and 8.3, whose rules make a request malformed) are in the table
// `conformance` below: section, requirement, the case of
// tests/e2e/h2_frames.py that sends the frames (built by hand: python3-h2
// refuses to send most of them), and the exact answer expected (its format
// is in h2_frames.py: `goaway CODE LAST-STREAM-ID`, `rst STREAM CODE`,
// `status STREAM N`, then `ping` when the connection is still alive). The
// test runs every row on h2c and over TLS (ALPN h2).
//
// A stream error may be answered as a connection error (RFC 9113 5.4.1):
// nghttp2 does so for some (noted "as a connection error"). Frames on a
// closed stream are answered with a connection error STREAM_CLOSED, since
// nothing but PRIORITY may be sent on a closed stream (5.1), except on a
// stream the server reset while the client was still sending: those are
// ignored (5.1 "MUST minimally process and discard").
//
// Not applicable: the "reserved" states and everything about server push
// (the server never pushes; "no_push_when_disabled" checks it sends no
// PUSH_PROMISE). Covered elsewhere: the server's own frames (lowercase response
// field names, no connection-specific fields: 8.2, 8.2.2, tests/unit/http2 "a
// buffered response: ..."; flow control of what it sends: 6.9.1, the
// small_window case below and "settings_in_order"); GOAWAY in two steps
// on drain (6.8, "SIGTERM drains h2" below); a request body over
// the limit answered before the request is complete, then RST_STREAM
// (NO_ERROR) (8.1, "a body over max_content_length" below); a bad preface
// (3.4, "protocol errors" below).

#include "h2test.hpp"

#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

using namespace rrtest;

namespace {

struct conformance_case {
  const char* section;
  const char* requirement;
  /// The h2_frames.py case.
  const char* name;
  /// Its output line, after the name.
  const char* expected;
};

// The demo runs with --max-concurrent-streams=2 --stream-window=1000
// --max-content-length=1000 (see `conformance_flags`).
const conformance_case conformance[] = {
  {"5.1 idle", "DATA on an idle stream: connection error PROTOCOL_ERROR",
   "idle_data", "goaway PROTOCOL_ERROR 0 eof"},
  {"5.1 idle",
   "RST_STREAM on an idle stream: connection error PROTOCOL_ERROR (also 6.4)",
   "idle_rst_stream", "goaway PROTOCOL_ERROR 0 eof"},
  {"5.1 idle",
   "WINDOW_UPDATE on an idle stream: connection error PROTOCOL_ERROR",
   "idle_window_update", "goaway PROTOCOL_ERROR 0 eof"},
  {"5.1 idle",
   "CONTINUATION on an idle stream: connection error PROTOCOL_ERROR",
   "idle_continuation", "goaway PROTOCOL_ERROR 0 eof"},
  {"5.1 idle", "PRIORITY on an idle stream is allowed; the stream opens later",
   "idle_priority", "status 3 200 ping"},
  {"5.1 idle / 5.1.1",
   "HEADERS opening a server-initiated (even) stream: connection error "
   "PROTOCOL_ERROR",
   "idle_even_headers", "goaway PROTOCOL_ERROR 0 eof"},
  {"5.1 half-closed (remote)",
   "DATA: stream error STREAM_CLOSED (nghttp2: as a connection error, 5.4.1)",
   "half_closed_data", "goaway STREAM_CLOSED 1 eof"},
  {"5.1 half-closed (remote)",
   "HEADERS: stream error STREAM_CLOSED (as a connection error)",
   "half_closed_headers", "goaway STREAM_CLOSED 1 eof"},
  {"5.1 half-closed (remote)",
   "WINDOW_UPDATE and PRIORITY are allowed; the response still comes",
   "half_closed_window_update", "ping then 200"},
  {"5.1 half-closed (remote)", "RST_STREAM is allowed and closes the stream",
   "half_closed_rst_stream", "ping"},
  {"5.1 closed",
   "MUST NOT send frames other than PRIORITY on a closed stream: nothing after "
   "the client's RST_STREAM",
   "reset_then_silence", "ping"},
  {"5.1 closed (END_STREAM both ways)",
   "DATA: STREAM_CLOSED (6.1 MUST; connection error, as nothing may be sent on "
   "a closed stream)",
   "closed_data", "goaway STREAM_CLOSED 1 eof"},
  {"5.1 closed (END_STREAM both ways)",
   "HEADERS: connection error STREAM_CLOSED", "closed_headers",
   "goaway STREAM_CLOSED 1 eof"},
  {"5.1 closed",
   "WINDOW_UPDATE, PRIORITY and RST_STREAM after the stream closed are allowed",
   "closed_window_update_priority_rst", "ping"},
  {"5.1 closed (client's RST_STREAM)",
   "DATA after the client's RST_STREAM: STREAM_CLOSED", "client_reset_data",
   "goaway STREAM_CLOSED 1 eof"},
  {"5.1 closed (client's RST_STREAM)",
   "HEADERS after the client's RST_STREAM: STREAM_CLOSED",
   "client_reset_headers", "goaway STREAM_CLOSED 1 eof"},
  {"5.1 closed (client's RST_STREAM)",
   "DATA after the client's RST_STREAM, in a later read, newer streams "
   "between: STREAM_CLOSED",
   "client_reset_data_later", "goaway STREAM_CLOSED 3 eof"},
  {"5.1 closed (server's RST_STREAM)",
   "MUST minimally process and discard frames sent before the client saw our "
   "reset (413 + RST_STREAM(NO_ERROR), 8.1): DATA and a header block ignored, "
   "its HPACK entry still usable",
   "server_reset_then_frames",
   "rst 1 NO_ERROR status 1 413 status 3 200 ping then 200"},
  {"5.1 closed (server's RST_STREAM)",
   "the body of a request reset as malformed is ignored; the connection goes "
   "on",
   "server_reset_malformed_then_data", "rst 1 PROTOCOL_ERROR ping then 200"},
  {"5.1.1",
   "a new stream id lower than one already opened: connection error "
   "PROTOCOL_ERROR",
   "lower_stream_id", "goaway PROTOCOL_ERROR 5 eof"},
  {"5.1.1 / 5.1",
   "HEADERS reusing a closed stream's id: connection error STREAM_CLOSED",
   "reused_stream_id", "goaway STREAM_CLOSED 1 eof"},
  {"5.1.1 / 6.1",
   "DATA on a skipped id (closed by the higher one opened): STREAM_CLOSED",
   "skipped_id_data", "goaway STREAM_CLOSED 5 eof"},
  {"5.1.2",
   "a stream over SETTINGS_MAX_CONCURRENT_STREAMS (2 here): PROTOCOL_ERROR or "
   "REFUSED_STREAM; refused alone, the others go on (issue 18), also once "
   "the setting is acknowledged",
   "over_max_concurrent", "rst 5 REFUSED_STREAM ping"},
  {"6.1", "DATA on stream 0: connection error PROTOCOL_ERROR",
   "data_stream_zero", "goaway PROTOCOL_ERROR 0 eof"},
  {"6.1",
   "DATA whose padding is not shorter than the payload: connection error "
   "PROTOCOL_ERROR",
   "data_bad_padding", "goaway PROTOCOL_ERROR 1 eof"},
  {"6.1", "padded DATA: the padding is removed, the request is served",
   "data_padded_ok", "status 200"},
  {"6.2", "HEADERS on stream 0: connection error PROTOCOL_ERROR",
   "headers_stream_zero", "goaway PROTOCOL_ERROR 0 eof"},
  {"6.2", "HEADERS whose padding is too long: connection error PROTOCOL_ERROR",
   "headers_bad_padding", "goaway PROTOCOL_ERROR 0 eof"},
  {"6.2 / 6.10",
   "a header block followed by a PRIORITY frame: connection error "
   "PROTOCOL_ERROR",
   "headers_then_priority", "goaway PROTOCOL_ERROR 1 eof"},
  {"6.2 / 6.10",
   "a header block followed by HEADERS on another stream: connection error "
   "PROTOCOL_ERROR",
   "headers_then_other_stream", "goaway PROTOCOL_ERROR 1 eof"},
  {"6.2 / 5.3.1",
   "HEADERS with a stream depending on itself: PROTOCOL_ERROR (as a connection "
   "error)",
   "headers_self_dependency", "goaway PROTOCOL_ERROR 0 eof"},
  {"6.3", "PRIORITY on stream 0: connection error PROTOCOL_ERROR",
   "priority_stream_zero", "goaway PROTOCOL_ERROR 0 eof"},
  {"6.3",
   "PRIORITY with a length other than 5: FRAME_SIZE_ERROR (as a connection "
   "error)",
   "priority_bad_length", "goaway FRAME_SIZE_ERROR 0 eof"},
  {"6.3 / 5.3.1",
   "PRIORITY making a stream depend on itself: PROTOCOL_ERROR (as a connection "
   "error)",
   "priority_self_dependency", "goaway PROTOCOL_ERROR 0 eof"},
  {"6.4", "RST_STREAM on stream 0: connection error PROTOCOL_ERROR",
   "rst_stream_zero", "goaway PROTOCOL_ERROR 0 eof"},
  {"6.4",
   "RST_STREAM with a length other than 4: connection error FRAME_SIZE_ERROR",
   "rst_bad_length", "goaway FRAME_SIZE_ERROR 1 eof"},
  {"6.5", "SETTINGS ACK with a payload: connection error FRAME_SIZE_ERROR",
   "settings_ack_with_payload", "goaway FRAME_SIZE_ERROR 0 eof"},
  {"6.5", "SETTINGS on a stream: connection error PROTOCOL_ERROR",
   "settings_on_stream", "goaway PROTOCOL_ERROR 0 eof"},
  {"6.5",
   "SETTINGS length not a multiple of 6: connection error FRAME_SIZE_ERROR",
   "settings_bad_length", "goaway FRAME_SIZE_ERROR 0 eof"},
  {"6.5.2",
   "SETTINGS_ENABLE_PUSH other than 0 or 1: connection error PROTOCOL_ERROR",
   "settings_enable_push_2", "goaway PROTOCOL_ERROR 0 eof"},
  {"6.5.2",
   "SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1: connection error "
   "FLOW_CONTROL_ERROR",
   "settings_window_too_large", "goaway FLOW_CONTROL_ERROR 0 eof"},
  {"6.5.2",
   "SETTINGS_MAX_FRAME_SIZE below 16384: connection error PROTOCOL_ERROR",
   "settings_frame_size_too_small", "goaway PROTOCOL_ERROR 0 eof"},
  {"6.5.2",
   "SETTINGS_MAX_FRAME_SIZE above 2^24-1: connection error PROTOCOL_ERROR",
   "settings_frame_size_too_large", "goaway PROTOCOL_ERROR 0 eof"},
  {"6.5.2 / 6.5.3", "an unknown setting is ignored; a SETTINGS is acknowledged",
   "settings_unknown_and_ack", "ack ping"},
  {"6.5.3 / 6.9.1",
   "values are applied in order (the last INITIAL_WINDOW_SIZE, 3, wins) and "
   "DATA stays within the window",
   "settings_in_order", "data 3,3,3,3,1"},
  {"3.4", "the server's preface: SETTINGS is its first frame", "server_preface",
   "first 4 ping"},
  {"6.9.2",
   "a lower SETTINGS_INITIAL_WINDOW_SIZE makes a stream's send window "
   "negative (100 sent, window 100 -> -50, +30): nothing is sent until "
   "WINDOW_UPDATEs make it positive (+40: 20 bytes)",
   "initial_window_negative", "data 100,100,120 ping"},
  {"6.6 / 8.4", "a PUSH_PROMISE from a client: connection error PROTOCOL_ERROR",
   "client_push_promise", "goaway PROTOCOL_ERROR 1 eof"},
  {"6.6", "no PUSH_PROMISE to a client with SETTINGS_ENABLE_PUSH 0",
   "no_push_when_disabled", "ping"},
  {"6.7", "a PING is answered with an ACK carrying the same payload",
   "ping_echo", "pingack 6162636465666768 ping"},
  {"6.7", "a PING ACK is not answered", "ping_ack_not_answered", "ping"},
  {"6.7", "PING on a stream: connection error PROTOCOL_ERROR", "ping_on_stream",
   "goaway PROTOCOL_ERROR 0 eof"},
  {"6.7", "PING with a length other than 8: connection error FRAME_SIZE_ERROR",
   "ping_bad_length", "goaway FRAME_SIZE_ERROR 0 eof"},
  {"6.8", "GOAWAY on a stream: connection error PROTOCOL_ERROR",
   "goaway_on_stream", "goaway PROTOCOL_ERROR 0 eof"},
  {"6.8", "after the client's GOAWAY, its open stream is still answered",
   "goaway_from_client", "status 200"},
  {"6.9",
   "WINDOW_UPDATE of 0 on a stream: PROTOCOL_ERROR (nghttp2: as a connection "
   "error)",
   "window_update_zero_stream", "goaway PROTOCOL_ERROR 1 eof"},
  {"6.9",
   "WINDOW_UPDATE of 0 on the connection: connection error PROTOCOL_ERROR",
   "window_update_zero_connection", "goaway PROTOCOL_ERROR 0 eof"},
  {"6.9",
   "WINDOW_UPDATE with a length other than 4: connection error "
   "FRAME_SIZE_ERROR",
   "window_update_bad_length", "goaway FRAME_SIZE_ERROR 0 eof"},
  {"6.9.1",
   "the connection window over 2^31-1: connection error FLOW_CONTROL_ERROR",
   "window_overflow_connection", "goaway FLOW_CONTROL_ERROR 0 eof"},
  {"6.9.1", "a stream window over 2^31-1: stream error FLOW_CONTROL_ERROR",
   "window_overflow_stream", "rst 1 FLOW_CONTROL_ERROR ping"},
  {"6.9.2",
   "SETTINGS_INITIAL_WINDOW_SIZE taking a stream window over 2^31-1: "
   "connection error FLOW_CONTROL_ERROR",
   "initial_window_overflow", "goaway FLOW_CONTROL_ERROR 1 eof"},
  {"6.9.1",
   "DATA beyond the advertised stream window (1000 here): FLOW_CONTROL_ERROR",
   "data_over_window", "rst 1 FLOW_CONTROL_ERROR ping"},
  {"6.10", "CONTINUATION on stream 0: connection error PROTOCOL_ERROR",
   "continuation_stream_zero", "goaway PROTOCOL_ERROR 1 eof"},
  {"6.10",
   "CONTINUATION after a HEADERS with END_HEADERS: connection error "
   "PROTOCOL_ERROR",
   "continuation_after_end_headers", "goaway PROTOCOL_ERROR 1 eof"},
  {"6.10", "CONTINUATION after DATA: connection error PROTOCOL_ERROR",
   "continuation_after_data", "goaway PROTOCOL_ERROR 1 eof"},
  {"6.10", "a header block over HEADERS and two CONTINUATIONs is one request",
   "continuation_split_ok", "status 200"},
  {"4.1 / 5.5", "frames of unknown types and unknown flags are ignored",
   "unknown_frame_ignored", "status 3 200 ping"},
  {"4.3",
   "any other frame inside a header block, even of an unknown type: connection "
   "error PROTOCOL_ERROR",
   "unknown_frame_in_header_block", "goaway PROTOCOL_ERROR 1 eof"},
  {"8.1",
   "a second HEADERS (trailers) without END_STREAM: malformed, stream error "
   "PROTOCOL_ERROR",
   "trailers_without_end_stream", "rst 1 PROTOCOL_ERROR ping"},
  {"8.1 / 8.3", "pseudo-header fields in trailers: malformed",
   "trailers_with_pseudo", "rst 1 PROTOCOL_ERROR ping"},
  {"8.1", "trailers with END_STREAM end the request; it is served",
   "trailers_ok", "status 200"},
  {"8.1.1", "content-length larger than the DATA: malformed",
   "content_length_short", "rst 1 PROTOCOL_ERROR ping"},
  {"8.1.1", "DATA beyond content-length (over two frames): malformed",
   "content_length_long", "rst 1 PROTOCOL_ERROR ping"},
  {"8.1.1", "content-length with END_STREAM on the HEADERS: malformed",
   "content_length_no_body", "rst 1 PROTOCOL_ERROR ping"},
  {"8.1", "a GET with content is not malformed", "get_with_body", "status 200"},
  {"8.2", "an uppercase field name: malformed", "uppercase_name",
   "rst 1 PROTOCOL_ERROR ping"},
  {"8.2.1", "a field name with a space: malformed", "bad_name_char",
   "rst 1 PROTOCOL_ERROR ping"},
  {"8.2.1", "a field value with LF: malformed", "bad_value_char",
   "rst 1 PROTOCOL_ERROR ping"},
  {"8.2.1", "a field value with leading whitespace: malformed",
   "value_leading_space", "rst 1 PROTOCOL_ERROR ping"},
  {"8.2.2", "connection: malformed", "connection_field",
   "rst 1 PROTOCOL_ERROR ping"},
  {"8.2.2", "keep-alive: malformed", "keep_alive_field",
   "rst 1 PROTOCOL_ERROR ping"},
  {"8.2.2", "proxy-connection: malformed", "proxy_connection_field",
   "rst 1 PROTOCOL_ERROR ping"},
  {"8.2.2", "transfer-encoding: malformed", "transfer_encoding_field",
   "rst 1 PROTOCOL_ERROR ping"},
  {"8.2.2", "upgrade: malformed", "upgrade_field", "rst 1 PROTOCOL_ERROR ping"},
  {"8.2.2", "TE other than \"trailers\": malformed", "te_not_trailers",
   "rst 1 PROTOCOL_ERROR ping"},
  {"8.2.2", "TE: trailers is allowed", "te_trailers_ok", "status 1 200 ping"},
  {"8.3", "an undefined pseudo-header: malformed", "unknown_pseudo",
   "rst 1 PROTOCOL_ERROR ping"},
  {"8.3", "a response pseudo-header (:status) in a request: malformed",
   "status_in_request", "rst 1 PROTOCOL_ERROR ping"},
  {"8.3", "a pseudo-header after a regular field: malformed",
   "pseudo_after_regular", "rst 1 PROTOCOL_ERROR ping"},
  {"8.3.1", "a duplicate :method: malformed", "duplicate_method",
   "rst 1 PROTOCOL_ERROR ping"},
  {"8.3.1", "a duplicate :path: malformed", "duplicate_path",
   "rst 1 PROTOCOL_ERROR ping"},
  {"8.3.1", "a duplicate :scheme: malformed", "duplicate_scheme",
   "rst 1 PROTOCOL_ERROR ping"},
  {"8.3.1", "no :method: malformed", "missing_method",
   "rst 1 PROTOCOL_ERROR ping"},
  {"8.3.1", "no :scheme: malformed", "missing_scheme",
   "rst 1 PROTOCOL_ERROR ping"},
  {"8.3.1", "no :path: malformed", "missing_path", "rst 1 PROTOCOL_ERROR ping"},
  {"8.3.1", "an empty :path: malformed", "empty_path",
   "rst 1 PROTOCOL_ERROR ping"},
  {"8.3.1", "host other than :authority: malformed (SHOULD; done)",
   "host_differs", "rst 1 PROTOCOL_ERROR ping"},

};

std::vector<std::string> conformance_flags() {
  return {"--protocols=http2", "--max-concurrent-streams=2",
          "--stream-window=1000", "--max-content-length=1000"};
}

/// Runs every h2_frames.py case against `port`; returns its output (a line
/// `NAME OUTCOME` per case).
std::string run_frames(uint16_t port, bool tls) {
  auto script =
    std::filesystem::path{ROADRUNNER_H2_CLIENT}.parent_path() / "h2_frames.py";
  std::vector<std::string> argv{"/usr/bin/python3", script.string(),
                                std::to_string(port)};
  if (tls)
    argv.emplace_back("--tls");
  auto [code, out] = run(argv, 120s);
  CHECK(code == 0);
  return out;
}

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
      CHECK(na.find("allow: GET, OPTIONS\r\n") != std::string::npos);
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

  TEST_CASE("SIGTERM drains h2 in two steps (RFC 9113 6.8): GOAWAY(2^31-1) "
            "and a PING; a stream sent before the ACK is served; the final "
            "GOAWAY names it (or, for a client that never answers, comes "
            "after about 1 s); the loop handler hears the drain; the close") {
    test_certs certs;
    for (bool tls : {false, true}) {
      for (std::string mode : {"ack", "silent"}) {
        INFO("tls: " << tls << ", client: " << mode);
        auto flags = tls ? certs.flags() : std::vector<std::string>{};
        flags.push_back("--protocols=http2");
        demo_server srv{flags};
        std::vector<std::string> args{mode};
        if (tls)
          args.push_back("--tls");
        process client{h2_argv("drain", srv.port, args)};
        REQUIRE(client.read_line(10s) == "ready");
        srv.proc.signal(SIGTERM);
        auto out = client.read_all(10s);
        INFO(out);
        CHECK(value_of(out, "order") == "goaway,ping,goaway");
        CHECK(value_of(out, "notice") == "(0, 2147483647)");
        auto ms = to_long(value_of(out, "final_ms"));
        if (mode == "ack") {
          CHECK(value_of(out, "goaway") == "(0, 3)");
          CHECK(ms < 900); // the ACK ended the wait, not the 1 s bound
          CHECK(value_of(out, "status3") == "200");
          CHECK(value_of(out, "ended3") == "1");
        } else {
          CHECK(value_of(out, "goaway") == "(0, 1)");
          CHECK(ms >= 900);
          CHECK(ms < 3000);
          CHECK(value_of(out, "status3") == "None");
        }
        CHECK(value_of(out, "drain_event") == "1");
        CHECK(value_of(out, "ended") == "1");
        CHECK(value_of(out, "eof") == "1");
        CHECK(srv.proc.wait_exit(10s) == 0);
      }
    }
  }

  TEST_CASE("RFC 9113 5.1, 5.1.1, 5.1.2, 6, 8.1: the exact answer to each "
            "case of the conformance table, on h2c and over TLS") {
    test_certs certs;
    for (bool tls : {false, true}) {
      auto flags = conformance_flags();
      if (tls)
        for (auto& f : certs.flags())
          flags.push_back(f);
      demo_server srv{flags};
      auto out = run_frames(srv.port, tls);
      // One line per case: the table covers every case of the script.
      CHECK(std::count(out.begin(), out.end(), '\n') ==
            static_cast<long>(std::size(conformance)));
      for (auto& c : conformance) {
        INFO((tls ? "TLS: " : "h2c: ")
             << "RFC 9113 " << c.section << ": " << c.requirement << " ("
             << c.name << ")");
        CHECK(value_of(out, c.name) == std::string{c.expected});
      }
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
