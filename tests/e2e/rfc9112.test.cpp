// End-to-end conformance tests of roadrunner-demo against RFC 9112 (HTTP/1.1
// message syntax) and the parts of RFC 9110 it relies on: raw request bytes
// over loopback sockets, exact responses back. Every rejection must have the
// framework error shape of docs/options.md (status, `connection: close`,
// `content-length: 0`, no body) and be followed by the server closing the
// connection with nothing else sent.
//
// Where the upstream inventory and docs/options.md differ (505 for
// unsupported versions, 501 for unsupported Transfer-Encoding, a duplicate
// or invalid Host rejected), docs/options.md and the parser header win.

#include "net.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

using namespace rrtest;
using namespace std::string_literals;

namespace {

/// One row of a table: what it is about, the raw bytes sent on a fresh
/// connection in one write, and the answer expected:
/// - a framework error status (400, 408, 413, 414, 431, 501, 505): exactly
///   the error answer (see check_rejected), then the server closes and
///   nothing else arrives;
/// - any other status: that status line, `body` and `fields` when given;
///   then, with `closes`, `connection: close` and the server's close with
///   nothing else sent; without, the answers to the requests pipelined
///   behind in `bytes` (200 with the bodies in `next`), and the connection
///   stays open: `bytes` again `times - 1` times, each answered alike, then
///   a GET / is served.
/// `writes` follow `bytes` at once, each in a write of its own.
struct row {
  std::string what;
  std::string bytes;
  int status;
  std::optional<std::string> body = std::nullopt;
  std::vector<std::string> next = {};
  std::vector<std::pair<std::string, std::string>> fields = {};
  bool closes = false;
  int times = 1;
  std::vector<std::string> writes = {};
};

const std::string hello = "Hello, World!";
const std::string json_body = R"({"message":"Hello, World!"})";

/// A request with `head_lines` (each ending in CRLF) after the request line.
std::string req(std::string_view request_line, std::string_view head_lines,
                std::string_view body = {}) {
  std::string out{request_line};
  out += "\r\n";
  out += head_lines;
  out += "\r\n";
  out += body;
  return out;
}

/// GET / HTTP/1.1 with Host and the extra header lines.
std::string get_with(std::string_view extra_lines) {
  return req("GET / HTTP/1.1", "Host: t\r\n"s + std::string{extra_lines});
}

/// POST /echo HTTP/1.1 with Host, the extra header lines and the body.
std::string post_with(std::string_view extra_lines, std::string_view body) {
  return req("POST /echo HTTP/1.1", "Host: t\r\n"s + std::string{extra_lines},
             body);
}

/// A chunked POST /echo with the raw chunked body `chunks`.
std::string chunked_post(std::string_view chunks) {
  return post_with("Transfer-Encoding: chunked\r\n", chunks);
}

/// The statuses the framework itself answers with (docs/options.md).
bool is_framework_error(int status) {
  for (int s : {400, 408, 413, 414, 431, 501, 505})
    if (status == s)
      return true;
  return false;
}

/// The status line the server sends for `status` (RFC 9110 15 reason
/// phrases).
std::string status_line(int status) {
  const char* reason = "";
  switch (status) {
  case 200:
    reason = "OK";
    break;
  case 204:
    reason = "No Content";
    break;
  case 404:
    reason = "Not Found";
    break;
  case 405:
    reason = "Method Not Allowed";
    break;
  case 400:
    reason = "Bad Request";
    break;
  case 408:
    reason = "Request Timeout";
    break;
  case 413:
    reason = "Content Too Large";
    break;
  case 414:
    reason = "URI Too Long";
    break;
  case 431:
    reason = "Request Header Fields Too Large";
    break;
  case 501:
    reason = "Not Implemented";
    break;
  case 505:
    reason = "HTTP Version Not Supported";
    break;
  default:
    FAIL_CHECK("no reason phrase known for ", status);
  }
  return "HTTP/1.1 " + std::to_string(status) + " " + reason;
}

/// An IMF-fixdate (RFC 9110 5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
bool is_imf_fixdate(std::string_view x) {
  static const std::regex date{
    "(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-3][0-9] "
    "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
    "[0-2][0-9]:[0-5][0-9]:[0-6][0-9] GMT"};
  return std::regex_match(x.begin(), x.end(), date);
}

/// Reads the next response and checks that it is exactly the framework
/// error answer of docs/options.md: the status line of `status`, the fields
/// `date` (an IMF-fixdate), `content-length: 0` and `connection: close` and
/// no other, no body; then the server closes and nothing else arrives.
void check_rejected(client& c, int status) {
  auto res = c.read_response();
  if (!res) {
    FAIL_CHECK("no complete response; received: ", c.leftover());
    return;
  }
  CHECK(res->status == status);
  CHECK(res->status_line == status_line(status));
  std::vector<std::string> names;
  for (auto& field : res->headers)
    names.push_back(field.first);
  std::sort(names.begin(), names.end());
  CHECK(names ==
        std::vector<std::string>{"connection", "content-length", "date"});
  CHECK(is_imf_fixdate(res->header("date").value_or("")));
  CHECK(res->header("connection") == "close");
  CHECK(res->header("content-length") == "0");
  CHECK(res->body.empty());
  CHECK(c.closed_by_peer());
  CHECK(c.leftover().empty());
}

/// Runs the rows (see `row`).
void run_rows(uint16_t port, const std::vector<row>& rows) {
  for (auto& r : rows) {
    INFO("row: ", r.what);
    client c{port};
    REQUIRE(c.send(r.bytes));
    for (auto& more : r.writes)
      REQUIRE(c.send(more));
    if (is_framework_error(r.status)) {
      check_rejected(c, r.status);
      continue;
    }
    bool open = true;
    for (int k = 0; k < r.times && open; ++k) {
      if (k > 0)
        REQUIRE(c.send(r.bytes));
      auto res = c.read_response();
      if (!res) {
        FAIL_CHECK("no complete response; received: ", c.leftover());
        open = false;
        break;
      }
      CHECK(res->status == r.status);
      CHECK(res->status_line == status_line(r.status));
      if (r.body)
        CHECK(res->body == *r.body);
      for (auto& [name, value] : r.fields)
        CHECK(res->header(name) == value);
      if (r.closes) {
        CHECK(res->header("connection") == "close");
        CHECK(c.closed_by_peer());
        CHECK(c.leftover().empty());
        open = false;
        break;
      }
      // Served, not a framework error: the connection stays open.
      CHECK_FALSE(res->header("connection") == "close");
      for (auto& body : r.next) {
        auto pipelined = c.read_response();
        REQUIRE(pipelined);
        CHECK(pipelined->status == 200);
        CHECK(pipelined->body == body);
      }
    }
    if (!open)
      continue;
    REQUIRE(c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto again = c.read_response();
    REQUIRE(again);
    CHECK(again->body == hello);
  }
}

/// A header line `X-Pad: aaa...` of exactly `n` bytes (without CRLF).
std::string pad_line(size_t n, char name_suffix = 'A') {
  std::string line = "X-Pad"s + name_suffix + ": ";
  REQUIRE(n >= line.size() + 1);
  line.append(n - line.size(), 'a');
  return line;
}

} // namespace

TEST_SUITE("e2e.rfc9112") {

  // -- 2.2 / 3: the request line ---------------------------------------------

  TEST_CASE("a bare LF or bare CR line ending is rejected with 400 and a "
            "close (RFC 9112 2.2)") {
    demo_server srv;
    run_rows(
      srv.port,
      {
        {"bare LF after the request line", "GET / HTTP/1.1\nHost: t\r\n\r\n",
         400},
        {"bare LF after a field line", "GET / HTTP/1.1\r\nHost: t\n\r\n", 400},
        {"bare LF ending the head", "GET / HTTP/1.1\r\nHost: t\r\n\n", 400},
        {"bare LF only", "GET / HTTP/1.1\n\n", 400},
        {"bare CR after the request line", "GET / HTTP/1.1\rHost: t\r\n\r\n",
         400},
        {"bare CR inside a field line",
         "GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n", 400},
        {"bare CR inside the method", "GE\rT / HTTP/1.1\r\n\r\n", 400},
      });
  }

  TEST_CASE("the request line must be method SP target SP version with "
            "single spaces, else 400 and a close (RFC 9112 3)") {
    demo_server srv;
    run_rows(
      srv.port,
      {
        {"double SP between method and target",
         "GET  / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"double SP between target and version",
         "GET /  HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"leading SP", " GET / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"trailing SP after the version", "GET / HTTP/1.1 \r\nHost: t\r\n\r\n",
         400},
        {"HTAB separators", "GET\t/\tHTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"HTAB after the method", "GET\t/ HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"missing version", "GET /\r\nHost: t\r\n\r\n", 400},
        {"empty version", "GET / \r\nHost: t\r\n\r\n", 400},
        {"lowercase http/1.1", "GET / http/1.1\r\nHost: t\r\n\r\n", 400},
        {"HTTP/1.1x", "GET / HTTP/1.1x\r\nHost: t\r\n\r\n", 400},
        {"HTTP/1.", "GET / HTTP/1.\r\nHost: t\r\n\r\n", 400},
        {"HTTP/11", "GET / HTTP/11\r\nHost: t\r\n\r\n", 400},
        {"HTTP/1.10", "GET / HTTP/1.10\r\nHost: t\r\n\r\n", 400},
        {"only a method", "GET\r\nHost: t\r\n\r\n", 400},
        {"an empty request line after the tolerated one", "\r\n\r\n", 400},
      });
  }

  TEST_CASE("a well-formed but unsupported HTTP version gets 505 and a close "
            "(RFC 9110 2.5, 15.6.6; docs/options.md)") {
    demo_server srv;
    run_rows(srv.port, {
                         {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: t\r\n\r\n", 505},
                         {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505},
                         {"HTTP/3.0", "GET / HTTP/3.0\r\nHost: t\r\n\r\n", 505},
                         {"HTTP/0.9", "GET / HTTP/0.9\r\nHost: t\r\n\r\n", 505},
                       });
  }

  TEST_CASE("HTTP/1.0 without keep-alive is served and closed (RFC 9112 "
            "9.3)") {
    demo_server srv;
    run_rows(srv.port, {{.what = "GET / HTTP/1.0",
                         .bytes = "GET / HTTP/1.0\r\n\r\n",
                         .status = 200,
                         .body = hello,
                         .closes = true}});
  }

  TEST_CASE("a method that is not a token is rejected with 400 and a close "
            "(RFC 9112 3.1, RFC 9110 5.6.2)") {
    demo_server srv;
    run_rows(
      srv.port,
      {
        {"'@' in the method", "G@T / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"'(' in the method", "GE(T / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"'/' in the method", "GE/T / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"NUL in the method", "GE\0T / HTTP/1.1\r\nHost: t\r\n\r\n"s, 400},
        {"DEL in the method",
         "GE\x7f"
         "T / HTTP/1.1\r\nHost: t\r\n\r\n",
         400},
        {"non-ASCII in the method", "G\xc3\x89T / HTTP/1.1\r\nHost: t\r\n\r\n",
         400},
        {"a method starting with a CTL",
         "\x01GET / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"a token method the demo does not route (405: served)",
         "M-SEARCH / HTTP/1.1\r\nHost: t\r\n\r\n", 405},
      });
  }

  TEST_CASE("a request-target with SP, CTL, DEL or non-ASCII bytes, or an "
            "empty one, is rejected with 400 and a close (RFC 9112 3.2)") {
    demo_server srv;
    run_rows(
      srv.port,
      {
        {"SP inside the target", "GET /a b HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"CTL 0x01 in the target",
         "GET /a\x01"
         "b HTTP/1.1\r\nHost: t\r\n\r\n",
         400},
        {"HTAB in the target", "GET /a\tb HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"NUL in the target", "GET /a\0b HTTP/1.1\r\nHost: t\r\n\r\n"s, 400},
        {"DEL in the target",
         "GET /a\x7f"
         "b HTTP/1.1\r\nHost: t\r\n\r\n",
         400},
        {"non-ASCII in the target",
         "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"empty target", "GET  HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"percent-encoded non-ASCII is fine (404: served)",
         "GET /caf%C3%A9 HTTP/1.1\r\nHost: t\r\n\r\n", 404},
        {"a query is fine", "GET /?a=b&c=%20 HTTP/1.1\r\nHost: t\r\n\r\n", 200},
        {"asterisk-form is served (204 + allow, RFC 9110 9.3.7)",
         "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n", 204},
        {"absolute-form is routed on its path (RFC 9112 3.2.2)",
         "GET http://t/ HTTP/1.1\r\nHost: t\r\n\r\n", 200},
      });
  }

  TEST_CASE("one empty line before the request line is tolerated, two are "
            "rejected with 400 and a close (RFC 9112 2.2)") {
    demo_server srv;
    run_rows(
      srv.port,
      {
        {"one leading CRLF", "\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n", 200},
        {"two leading CRLFs", "\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"a leading bare LF", "\nGET / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"a leading bare CR", "\rGET / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      });
    {
      INFO("the tolerated empty line also works between keep-alive "
           "requests");
      client c{srv.port};
      REQUIRE(c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
      auto a = c.read_response();
      REQUIRE(a);
      CHECK(a->status == 200);
      REQUIRE(c.send("\r\nGET /json HTTP/1.1\r\nHost: t\r\n\r\n"));
      auto b = c.read_response();
      REQUIRE(b);
      CHECK(b->status == 200);
      CHECK(b->body == json_body);
    }
  }

  // -- 5: field syntax -------------------------------------------------------

  TEST_CASE("malformed field lines are rejected with 400 and a close (RFC 9112 "
            "5.1, 5.2, RFC 9110 5.5)") {
    demo_server srv;
    run_rows(
      srv.port,
      {
        {"SP before the colon", get_with("X-A : b\r\n"), 400},
        {"HTAB before the colon", get_with("X-A\t: b\r\n"), 400},
        {"SP before the colon of Host", "GET / HTTP/1.1\r\nHost : t\r\n\r\n",
         400},
        {"obs-fold continuation line", get_with("X-A: b\r\n c\r\n"), 400},
        {"obs-fold with HTAB", get_with("X-A: b\r\n\tc\r\n"), 400},
        {"whitespace before the first field line",
         "GET / HTTP/1.1\r\n Host: t\r\n\r\n", 400},
        {"empty field name", get_with(": b\r\n"), 400},
        {"no colon at all", get_with("X-A b\r\n"), 400},
        {"'(' in the name", get_with("X(A): b\r\n"), 400},
        {"'@' in the name", get_with("X@A: b\r\n"), 400},
        {"SP inside the name", get_with("X A: b\r\n"), 400},
        {"non-ASCII in the name", get_with("X-\xc3\xa9: b\r\n"), 400},
        {"NUL in the name", get_with("X\0A: b\r\n"s), 400},
        {"NUL in the value", get_with("X-A: a\0b\r\n"s), 400},
        {"CTL 0x01 in the value",
         get_with("X-A: a\x01"
                  "b\r\n"),
         400},
        {"CTL 0x1f in the value",
         get_with("X-A: a\x1f"
                  "b\r\n"),
         400},
        {"VT in the value", get_with("X-A: a\vb\r\n"), 400},
        {"DEL in the value",
         get_with("X-A: a\x7f"
                  "b\r\n"),
         400},
        {"HTAB and obs-text in the value are fine",
         get_with("X-A: a\tb \xc3\xa9\r\n"), 200},
        {"an empty value is fine", get_with("X-A:\r\n"), 200},
        {"OWS around the value is fine", get_with("X-A: \t b \t\r\n"), 200},
      });
  }

  TEST_CASE("Host is required once on HTTP/1.1 and optional on HTTP/1.0 "
            "(RFC 9112 3.2)") {
    demo_server srv;
    run_rows(
      srv.port,
      {
        {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400},
        {"HTTP/1.1 without Host, other fields",
         "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400},
        {"duplicate Host", "GET / HTTP/1.1\r\nHost: t\r\nHost: t\r\n\r\n", 400},
        {"duplicate Host, different case and values",
         "GET / HTTP/1.1\r\nHost: a\r\nhOST: b\r\n\r\n", 400},
        {"Host with a '/'", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
        {"Host with a SP inside", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
        {"an empty Host is allowed", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 200},
        {"Host with a port", "GET / HTTP/1.1\r\nHost: t:8080\r\n\r\n", 200},
        {"Host as an IPv6 literal", "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
         200},
        {.what = "HTTP/1.0 without Host is served (200, then closed)",
         .bytes = "GET / HTTP/1.0\r\n\r\n",
         .status = 200,
         .body = hello,
         .closes = true},
      });
  }

  // -- 6: message body length, request smuggling ----------------------------

  TEST_CASE("Transfer-Encoding and Content-Length together, or an unsupported "
            "Transfer-Encoding, are rejected and closed (RFC 9112 6.1, 6.3)") {
    demo_server srv;
    run_rows(
      srv.port,
      {
        {"TE then CL",
         post_with("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                   "0\r\n\r\n"),
         400},
        {"CL then TE",
         post_with("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                   "0\r\n\r\n"),
         400},
        {"CL then an unsupported TE",
         post_with("Content-Length: 5\r\nTransfer-Encoding: gzip\r\n", "hello"),
         400},
        {"Transfer-Encoding: xchunked",
         post_with("Transfer-Encoding: xchunked\r\n", "0\r\n\r\n"), 501},
        {"Transfer-Encoding: chunkedx",
         post_with("Transfer-Encoding: chunkedx\r\n", "0\r\n\r\n"), 501},
        {"Transfer-Encoding: chunked, chunked",
         post_with("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n"),
         501},
        {"Transfer-Encoding: gzip, chunked",
         post_with("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"), 501},
        {"Transfer-Encoding: chunked, gzip",
         post_with("Transfer-Encoding: chunked, gzip\r\n", "0\r\n\r\n"), 501},
        {"Transfer-Encoding: identity",
         post_with("Transfer-Encoding: identity\r\n", ""), 501},
        {"two TE fields (chunked, then cow)",
         post_with("Transfer-Encoding: chunked\r\nTransfer-Encoding: cow\r\n",
                   "0\r\n\r\n"),
         501},
        {"two TE fields (chunked twice)",
         post_with(
           "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
           "0\r\n\r\n"),
         501},
        {"Transfer-Encoding : chunked (SP before the colon)",
         post_with("Transfer-Encoding : chunked\r\n", "0\r\n\r\n"), 400},
        {"Transfer-Encoding with VT before the value",
         post_with("Transfer-Encoding:\vchunked\r\n", "0\r\n\r\n"), 400},
        {"Transfer-Encoding as an obs-fold continuation",
         post_with("X-A: b\r\n Transfer-Encoding: chunked\r\n", "0\r\n\r\n"),
         400},
        {"Transfer-Encoding in HTTP/1.0",
         req("POST /echo HTTP/1.0", "Transfer-Encoding: chunked\r\n",
             "0\r\n\r\n"),
         400},
      });
    // Transfer-Encoding is case-insensitive and OWS-trimmed.
    std::vector<row> accepted;
    for (auto te : {"CHUNKED", "Chunked", "\tchunked ", "chunked\t"})
      accepted.push_back(
        {.what = "Transfer-Encoding: "s + te,
         .bytes = post_with("Transfer-Encoding: "s + te + "\r\n",
                            "2\r\nok\r\n0\r\n\r\n"),
         .status = 200,
         .body = "ok"});
    run_rows(srv.port, accepted);
  }

  TEST_CASE("a Content-Length that is not 1*DIGIT, too large, or differing "
            "between fields is rejected with 400 and a close (RFC 9110 8.6, "
            "RFC 9112 6.3)") {
    demo_server srv;
    run_rows(
      srv.port,
      {
        {"+5", post_with("Content-Length: +5\r\n", "hello"), 400},
        {"-1", post_with("Content-Length: -1\r\n", ""), 400},
        {"5, 5 (a list in one field)",
         post_with("Content-Length: 5, 5\r\n", "hello"), 400},
        {"5,5", post_with("Content-Length: 5,5\r\n", "hello"), 400},
        {"differing duplicates",
         post_with("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"),
         400},
        {"1e3", post_with("Content-Length: 1e3\r\n", ""), 400},
        {"0x5", post_with("Content-Length: 0x5\r\n", "hello"), 400},
        {"5.0", post_with("Content-Length: 5.0\r\n", "hello"), 400},
        {"5 5", post_with("Content-Length: 5 5\r\n", "hello"), 400},
        {"empty", post_with("Content-Length:\r\n", ""), 400},
        {"20 digits",
         post_with("Content-Length: 00000000000000000005\r\n", "hello"), 400},
        {"2^63 (19 digits, over the int64 range)",
         post_with("Content-Length: 9223372036854775808\r\n", ""), 400},
        {"2^64 + 1 (20 digits)",
         post_with("Content-Length: 18446744073709551617\r\n", ""), 400},
        {.what = "identical duplicate Content-Length fields are accepted",
         .bytes =
           post_with("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"),
         .status = 200,
         .body = "hello"},
        {.what = "duplicates with the same numeric value are accepted",
         .bytes =
           post_with("Content-Length: 5\r\ncontent-length: 05\r\n", "hello"),
         .status = 200,
         .body = "hello"},
        {.what = "19 digits with leading zeros is a valid Content-Length",
         .bytes = post_with("Content-Length: 0000000000000000005\r\n", "hello"),
         .status = 200,
         .body = "hello"},
      });
  }

  TEST_CASE("classic request smuggling payloads (CL.TE, TE.CL, TE.TE) get one "
            "rejection and a close, never a response to the smuggled request "
            "(RFC 9112 6.3, 11.2)") {
    demo_server srv;
    const std::string smuggled = "GET /json HTTP/1.1\r\nHost: t\r\n\r\n";
    // Exactly one response each: the rejection; then the close, with no
    // second response (in particular none carrying the /json body).
    run_rows(
      srv.port,
      {
        {"CL.TE: the front end uses CL, the back end TE",
         post_with("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n",
                   "0\r\n\r\nG") +
           smuggled,
         400},
        {"CL.TE with the smuggled request in the body",
         post_with("Content-Length: 37\r\nTransfer-Encoding: chunked\r\n",
                   "0\r\n\r\n" + smuggled),
         400},
        {"TE.CL: the front end uses TE, the back end CL",
         post_with("Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
                   "21\r\n" + smuggled + "\r\n0\r\n\r\n"),
         400},
        {"TE.TE: a second, obfuscated TE field",
         post_with("Transfer-Encoding: chunked\r\nTransfer-encoding: x\r\n",
                   "0\r\n\r\n" + smuggled),
         501},
        {"TE.TE: TE with a space before the colon, and CL",
         post_with("Content-Length: 4\r\nTransfer-Encoding : chunked\r\n",
                   "0\r\n\r\n" + smuggled),
         400},
        {"TE.TE: TE behind a bare LF",
         post_with("X: X\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n",
                   "0\r\n\r\n" + smuggled),
         400},
        {"TE.TE: TE folded into the previous field",
         post_with(
           "Content-Length: 4\r\nX: X\r\n Transfer-Encoding: chunked\r\n",
           "0\r\n\r\n" + smuggled),
         400},
        {"CL.CL: two different Content-Length fields",
         post_with("Content-Length: 0\r\nContent-Length: 37\r\n", smuggled),
         400},
        {"TE: xchunked with the smuggled request as the body",
         post_with("Transfer-Encoding: xchunked\r\n", smuggled), 501},
      });
    char chunk_size[16];
    std::snprintf(chunk_size, sizeof(chunk_size), "%zx", smuggled.size());
    run_rows(
      srv.port,
      {
        {.what =
           "a request-looking body framed by Content-Length is only a body",
         .bytes = post_with(
           "Content-Length: " + std::to_string(smuggled.size()) + "\r\n",
           smuggled),
         .status = 200,
         .body = smuggled, // echoed, not executed
         .next = {hello},  // the next response is the GET /
         .writes = {"GET / HTTP/1.1\r\nHost: t\r\n\r\n"}},
        {.what = "a request-looking body framed by chunked is only a body",
         .bytes =
           chunked_post(chunk_size + "\r\n"s + smuggled + "\r\n0\r\n\r\n"),
         .status = 200,
         .body = smuggled,
         .next = {hello},
         .writes = {"GET / HTTP/1.1\r\nHost: t\r\n\r\n"}},
      });
  }

  // -- 7: chunked transfer coding --------------------------------------------

  TEST_CASE("chunked bodies with extensions, trailers and uppercase hex are "
            "decoded and echoed (RFC 9112 7.1, 7.1.1, 7.1.2)") {
    demo_server srv;
    struct echo_row {
      std::string what;
      std::string chunks;
      std::string body;
    };
    const std::vector<echo_row> echoes{
      {"plain", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"},
      {"only the last chunk", "0\r\n\r\n", ""},
      {"a chunk extension", "5;name=value\r\nhello\r\n0\r\n\r\n", "hello"},
      {"a quoted chunk extension", "5;a=\"b c\";d\r\nhello\r\n0;e=f\r\n\r\n",
       "hello"},
      {"BWS before the extension", "5 ;x\r\nhello\r\n0\t;y\r\n\r\n", "hello"},
      {"a trailer field", "5\r\nhello\r\n0\r\nX-Trailer: v\r\n\r\n", "hello"},
      {"two trailer fields", "5\r\nhello\r\n0\r\nA: 1\r\nB: 2\r\n\r\n",
       "hello"},
      {"uppercase hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789"},
      {"mixed-case hex",
       "1F\r\n" + std::string(31, 'x') + "\r\n1f\r\n" + std::string(31, 'y') +
         "\r\n0\r\n\r\n",
       std::string(31, 'x') + std::string(31, 'y')},
      {"leading zeros (15 digits)", "000000000000005\r\nhello\r\n0\r\n\r\n",
       "hello"},
      {"binary data with CRLF inside", "4\r\n\r\n\r\n\r\n0\r\n\r\n",
       "\r\n\r\n"},
      {"BWS around ';' and '='", "5 ; a \t=\t b ;c\r\nhello\r\n0\r\n\r\n",
       "hello"},
      {"every tchar in an extension name and token value",
       "5;!#$%&'*+-.^_`|~09aZ=!#$%&'*+-.^_`|~09aZ\r\nhello\r\n0\r\n\r\n",
       "hello"},
      {"quoted-string values: empty, quoted-pairs, obs-text",
       "5;a=\"\";b=\"x\\\"y\\\\\";c=\"caf\xc3\xa9\"\r\nhello\r\n0\r\n\r\n",
       "hello"},
    };
    // Followed by a pipelined GET: the decoder must stop exactly at the
    // end of the chunked body (and trailers).
    std::vector<row> rows;
    for (auto& e : echoes)
      rows.push_back({.what = e.what,
                      .bytes = post_with("Transfer-Encoding: chunked\r\n"
                                         "Content-Type: text/x-chunked\r\n",
                                         e.chunks) +
                               "GET /json HTTP/1.1\r\nHost: t\r\n\r\n",
                      .status = 200,
                      .body = e.body,
                      .next = {json_body},
                      .fields = {{"content-type", "text/x-chunked"}}});
    run_rows(srv.port, rows);
  }

  TEST_CASE("a malformed chunk size, extension, chunk data or trailer is "
            "rejected with 400 and a close (RFC 9112 7.1)") {
    demo_server srv;
    run_rows(
      srv.port,
      {
        {"leading SP in the size", chunked_post(" 5\r\nhello\r\n0\r\n\r\n"),
         400},
        {"trailing SP in the size", chunked_post("5 \r\nhello\r\n0\r\n\r\n"),
         400},
        {"non-hex size", chunked_post("g\r\nhello\r\n0\r\n\r\n"), 400},
        {"0x prefix", chunked_post("0x5\r\nhello\r\n0\r\n\r\n"), 400},
        {"a sign", chunked_post("+5\r\nhello\r\n0\r\n\r\n"), 400},
        {"an empty size line", chunked_post("\r\nhello\r\n0\r\n\r\n"), 400},
        {"16 hex digits",
         chunked_post("0000000000000005\r\nhello\r\n0\r\n\r\n"), 400},
        {"17 hex digits",
         chunked_post("00000000000000005\r\nhello\r\n0\r\n\r\n"), 400},
        {"a bare LF after the size", chunked_post("5\nhello\r\n0\r\n\r\n"),
         400},
        {"a CTL in the extension",
         chunked_post("5;a\x01"
                      "b\r\nhello\r\n0\r\n\r\n"),
         400},
        // chunk-ext = *( BWS ";" BWS token [ BWS "=" BWS ( token /
        // quoted-string ) ] ) (RFC 9112 7.1.1); issue 12.
        {"an empty extension name", chunked_post("2;\r\nab\r\n0\r\n\r\n"), 400},
        {"an empty extension name on the last chunk",
         chunked_post("2\r\nab\r\n0;\r\n\r\n"), 400},
        {"';' then BWS only", chunked_post("5; \r\nhello\r\n0\r\n\r\n"), 400},
        {"';;'", chunked_post("5;;a\r\nhello\r\n0\r\n\r\n"), 400},
        {"'=' without a name", chunked_post("5;=b\r\nhello\r\n0\r\n\r\n"), 400},
        {"'=' without a value", chunked_post("5;a=\r\nhello\r\n0\r\n\r\n"),
         400},
        {"a non-tchar in the name", chunked_post("5;a@b\r\nhello\r\n0\r\n\r\n"),
         400},
        {"obs-text in the name",
         chunked_post("5;caf\xc3\xa9\r\nhello\r\n0\r\n\r\n"), 400},
        {"SP inside a token value",
         chunked_post("5;a=b c\r\nhello\r\n0\r\n\r\n"), 400},
        {"BWS before the CRLF", chunked_post("5;a=b \r\nhello\r\n0\r\n\r\n"),
         400},
        {"BWS between two names", chunked_post("5;a b\r\nhello\r\n0\r\n\r\n"),
         400},
        {"an unterminated quoted-string",
         chunked_post("5;a=\"b\r\nhello\r\n0\r\n\r\n"), 400},
        {"a CTL in a quoted-string",
         chunked_post("5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n"), 400},
        {"a quoted-pair cut by the CRLF",
         chunked_post("5;a=\"\\\r\nhello\r\n0\r\n\r\n"), 400},
        {"bytes after a closing quote",
         chunked_post("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n"), 400},
        {"a bare LF after an extension",
         chunked_post("5;a=b\nhello\r\n0\r\n\r\n"), 400},
        {"data longer than the size", chunked_post("5\r\nhelloX\r\n0\r\n\r\n"),
         400},
        {"data shorter than the size", chunked_post("5\r\nhell\r\n0\r\n\r\n"),
         400},
        {"data followed by a bare LF", chunked_post("5\r\nhello\n0\r\n\r\n"),
         400},
        {"a trailer line without a colon",
         chunked_post("5\r\nhello\r\n0\r\nX\r\n\r\n"), 400},
        {"Content-Length in the trailers",
         chunked_post("5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n"), 400},
        {"Transfer-Encoding in the trailers",
         chunked_post("5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n"),
         400},
        {"obs-fold in the trailers",
         chunked_post("5\r\nhello\r\n0\r\nA: 1\r\n 2\r\n\r\n"), 400},
        {"a CTL in a trailer value",
         chunked_post("5\r\nhello\r\n0\r\nA: 1\x01"
                      "2\r\n\r\n"),
         400},
      });
  }

  TEST_CASE("a chunked body over --max-content-length gets 413 and a close "
            "(RFC 9110 15.5.14)") {
    demo_server srv{{"--max-content-length=100"}};
    run_rows(
      srv.port,
      {
        {"one chunk of 101 bytes",
         chunked_post("65\r\n" + std::string(101, 'x') + "\r\n0\r\n\r\n"), 413},
        {"the 101st byte in a second chunk",
         chunked_post("32\r\n" + std::string(50, 'x') + "\r\n33\r\n" +
                      std::string(51, 'y') + "\r\n0\r\n\r\n"),
         413},
        {"a huge declared size, no data", chunked_post("fffffffffffffff\r\n"),
         413},
        {"the 413 comes from the size line, before the chunk data",
         chunked_post("65\r\n"), 413},
        {.what = "exactly 100 bytes in chunks is served",
         .bytes = chunked_post("32\r\n" + std::string(50, 'x') + "\r\n32\r\n" +
                               std::string(50, 'y') + "\r\n0\r\n\r\n"),
         .status = 200,
         .body = std::string(50, 'x') + std::string(50, 'y')},
      });
  }

  // -- limits ----------------------------------------------------------------

  TEST_CASE("--max-request-line: a request line over the limit gets 414 and a "
            "close, even without its CRLF (RFC 9112 3, RFC 9110 15.5.15)") {
    demo_server srv{{"--max-request-line=100"}};
    // "GET " + target + " HTTP/1.1" is 13 bytes plus the target.
    auto line = [](size_t total) {
      return "GET /" + std::string(total - 14, 'a') + " HTTP/1.1";
    };
    REQUIRE(line(100).size() == 100);
    run_rows(
      srv.port,
      {
        {"exactly 100 bytes is served", req(line(100), "Host: t\r\n"), 404},
        {"exactly 100 bytes after the tolerated empty line is served",
         "\r\n" + req(line(100), "Host: t\r\n"), 404},
        {"101 bytes gets 414", req(line(101), "Host: t\r\n"), 414},
        {"101 bytes in the method gets 414",
         std::string(101, 'G') + " / HTTP/1.1\r\n\r\n", 414},
        {"an overlong line without CRLF gets 414 at once",
         "GET /" + std::string(200, 'a'), 414}, // no CRLF, ever
        {"exactly 101 bytes without CRLF gets 414", line(101), 414},
      });
  }

  TEST_CASE("--max-header-line: a field line over the limit gets 431 and a "
            "close (RFC 6585 5)") {
    demo_server srv{{"--max-header-line=100"}};
    REQUIRE(pad_line(100).size() == 100);
    run_rows(srv.port,
             {
               {"exactly 100 bytes", get_with(pad_line(100) + "\r\n"), 200},
               {"101 bytes", get_with(pad_line(101) + "\r\n"), 431},
               {"101 bytes, CRLF never sent",
                "GET / HTTP/1.1\r\nHost: t\r\n" + pad_line(101), 431},
               {"a 101-byte name",
                "GET / HTTP/1.1\r\nHost: t\r\n" + std::string(101, 'X'), 431},
             });
  }

  TEST_CASE("--max-header-count: more field lines than the limit get 431 and "
            "a close (RFC 6585 5)") {
    demo_server srv{{"--max-header-count=5"}};
    auto fields = [](int n) { // Host plus n - 1 others
      std::string out = "Host: t\r\n";
      for (int i = 1; i < n; ++i)
        out += "X-" + std::to_string(i) + ": v\r\n";
      return out;
    };
    run_rows(srv.port, {
                         {"5 fields", req("GET / HTTP/1.1", fields(5)), 200},
                         {"6 fields", req("GET / HTTP/1.1", fields(6)), 431},
                         {"6 fields, the head never ends",
                          "GET / HTTP/1.1\r\n" + fields(6), 431},
                       });
  }

  TEST_CASE("--max-header-block: a field section over the limit gets 431 and "
            "a close (RFC 6585 5)") {
    demo_server srv{{"--max-header-block=200"}};
    // "Host: t" is 7 bytes; the rest is two padded lines.
    auto block = [](size_t total) {
      return "Host: t\r\n" + pad_line(100, 'A') + "\r\n" +
             pad_line(total - 107, 'B') + "\r\n";
    };
    run_rows(srv.port,
             {
               {"exactly 200 bytes", req("GET / HTTP/1.1", block(200)), 200},
               {"201 bytes", req("GET / HTTP/1.1", block(201)), 431},
               {"200 bytes, then one more field",
                req("GET / HTTP/1.1", block(200) + "X: y\r\n"), 431},
             });
  }

  // -- request bodies
  // ----------------------------------------------------------

  TEST_CASE("a Content-Length body sent in several TCP writes is echoed (RFC "
            "9112 6.2)") {
    demo_server srv;
    client c{srv.port};
    REQUIRE(
      c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 18\r\n\r\n"));
    REQUIRE(c.send("first-"));
    REQUIRE(c.send("second-"));
    REQUIRE(c.send("third"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body == "first-second-third");
    {
      INFO("and so is a chunked body split inside sizes and CRLFs");
      for (auto piece : {"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Enc",
                         "oding: chunked\r\n\r", "\n1", "0\r", "\n0123456789",
                         "abcdef\r", "\n0\r\n", "\r\n"})
        REQUIRE(c.send(piece));
      auto r2 = c.read_response();
      REQUIRE(r2);
      CHECK(r2->status == 200);
      CHECK(r2->body == "0123456789abcdef");
    }
  }

  TEST_CASE("a Content-Length over --max-content-length gets 413 before any "
            "body byte is sent, and no 100 Continue (RFC 9110 15.5.14, "
            "10.1.1)") {
    demo_server srv{{"--max-content-length=100"}};
    run_rows(
      srv.port,
      {
        {"the head alone gets the 413",
         "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n", 413},
        {"a huge Content-Length gets the 413",
         "POST /echo HTTP/1.1\r\nHost: t\r\n"
         "Content-Length: 9223372036854775807\r\n\r\n",
         413},
        {"with Expect: 100-continue the first response is the 413, not a 100",
         "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n"
         "Expect: 100-continue\r\n\r\n",
         413},
      });
    {
      INFO("exactly the limit with Expect: 100-continue gets 100, then 200");
      client c{srv.port};
      REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n"
                     "Expect: 100-continue\r\n\r\n"));
      auto cont = c.read_response();
      REQUIRE(cont);
      CHECK(cont->status == 100);
      CHECK(cont->status_line == "HTTP/1.1 100 Continue");
      REQUIRE(c.send(std::string(100, 'z')));
      auto res = c.read_response();
      REQUIRE(res);
      CHECK(res->status == 200);
      CHECK(res->body == std::string(100, 'z'));
    }
  }

  // -- 9.3: pipelining and persistence ---------------------------------------

  TEST_CASE("20 pipelined requests in one write get 20 responses in order "
            "(RFC 9112 9.3.2)") {
    demo_server srv;
    std::string batch;
    std::vector<std::string> expected;
    for (int i = 0; i < 20; ++i) {
      switch (i % 3) {
      case 0:
        batch += "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
        expected.push_back(hello);
        break;
      case 1:
        batch += "GET /json HTTP/1.1\r\nHost: t\r\n\r\n";
        expected.push_back(json_body);
        break;
      default: {
        auto body = "body #" + std::to_string(i);
        batch += post_with(
          "Content-Length: " + std::to_string(body.size()) + "\r\n", body);
        expected.push_back(body);
      }
      }
    }
    client c{srv.port};
    REQUIRE(c.send(batch));
    for (int i = 0; i < 20; ++i) {
      INFO("response #", i);
      auto res = c.read_response();
      REQUIRE(res);
      CHECK(res->status == 200);
      CHECK(res->body == expected[static_cast<size_t>(i)]);
      CHECK_FALSE(res->header("connection"));
    }
    CHECK(c.leftover().empty());
    // The connection is still usable.
    REQUIRE(c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto last = c.read_response();
    REQUIRE(last);
    CHECK(last->body == hello);
  }

  TEST_CASE("a bad request in the middle of a pipeline: the earlier responses, "
            "then 400 and a close, nothing for the later requests (RFC 9112 "
            "9.3.2, 9.6)") {
    demo_server srv;
    std::string batch = "GET / HTTP/1.1\r\nHost: t\r\n\r\n"
                        "GET /json HTTP/1.1\r\nHost: t\r\n\r\n" +
                        post_with("Content-Length: 3\r\n", "abc") +
                        "GET / HTTP/1.1\r\nHost : t\r\n\r\n" // bad
                        "GET /json HTTP/1.1\r\nHost: t\r\n\r\n" +
                        post_with("Content-Length: 3\r\n", "xyz");
    client c{srv.port};
    REQUIRE(c.send(batch));
    auto a = c.read_response();
    auto b = c.read_response();
    auto d = c.read_response();
    REQUIRE((a && b && d));
    CHECK(a->body == hello);
    CHECK(b->body == json_body);
    CHECK(d->body == "abc");
    for (auto* r : {&a, &b, &d})
      CHECK_FALSE((*r)->header("connection"));
    check_rejected(c, 400);
    {
      INFO("also when the bad one is a framing error after a chunked body");
      client c2{srv.port};
      REQUIRE(c2.send(chunked_post("3\r\nabc\r\n0\r\n\r\n") +
                      post_with("Content-Length: 1, 1\r\n", "x") +
                      "GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
      auto first = c2.read_response();
      REQUIRE(first);
      CHECK(first->body == "abc");
      check_rejected(c2, 400);
    }
  }

  TEST_CASE("the close connection option ends the connection, in any case and "
            "among other tokens; HTTP/1.0 closes by default (RFC 9112 9.3, "
            "9.6)") {
    demo_server srv;
    // A second request right behind: it must not be answered.
    const std::string behind = "GET /json HTTP/1.1\r\nHost: t\r\n\r\n";
    std::vector<row> rows;
    for (auto [what, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"Connection: keep-alive, close",
            get_with("Connection: keep-alive, close\r\n")},
           {"Connection: close, keep-alive",
            get_with("Connection: close, keep-alive\r\n")},
           {"Connection: CLOSE", get_with("Connection: CLOSE\r\n")},
           {"Connection: Close with OWS",
            get_with("Connection:  Close \t\r\n")},
           {"Connection: upgrade,close",
            get_with("Connection: upgrade,close\r\n")},
           {"close in a second Connection field",
            get_with("Connection: keep-alive\r\nConnection: close\r\n")},
           {"HTTP/1.0 by default", "GET / HTTP/1.0\r\n\r\n"},
           {"HTTP/1.0 with keep-alive and close",
            "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"},
         })
      rows.push_back({.what = what,
                      .bytes = bytes + behind,
                      .status = 200,
                      .body = hello,
                      .closes = true});
    // HTTP/1.1 without close and HTTP/1.0 with keep-alive persist: three
    // requests in turn on one connection.
    for (auto bytes : {get_with("Connection: keep-alive\r\n"), get_with(""),
                       get_with("Connection: closed\r\n"),
                       "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"s})
      rows.push_back({.what = "persists: " + bytes,
                      .bytes = bytes,
                      .status = 200,
                      .times = 3});
    run_rows(srv.port, rows);
  }

  // -- an independent client implementation
  // ------------------------------------

  TEST_CASE("h11 (python3-h11) accepts every response on one keep-alive "
            "connection as valid HTTP/1.1 (RFC 9112 6, 9.3)") {
    demo_server srv;
    // Six requests on one connection; h11 validates each response's framing
    // and syntax and raises on anything invalid (exit code != 0).
    const std::string script = R"PY(
import socket, sys
import h11

port = int(sys.argv[1])
sock = socket.create_connection(("127.0.0.1", port), timeout=5)
conn = h11.Connection(our_role=h11.CLIENT)
requests = [
    ("GET", "/", b""),
    ("GET", "/json", b""),
    ("POST", "/echo", b"ping\r\npong"),
    ("HEAD", "/", b""),
    ("GET", "/nope", b""),
    ("GET", "/large", b""),
]
for method, target, body in requests:
    headers = [("Host", "t")]
    if body:
        headers += [("Content-Length", str(len(body))),
                    ("Content-Type", "text/x-h11")]
    out = conn.send(h11.Request(method=method, target=target,
                                headers=headers))
    if body:
        out += conn.send(h11.Data(data=body))
    out += conn.send(h11.EndOfMessage())
    sock.sendall(out)
    status, got = None, b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(sock.recv(65536))
            continue
        if isinstance(event, h11.Response):
            assert event.http_version == b"1.1", event
            status = event.status_code
        elif isinstance(event, h11.Data):
            got += event.data
        elif isinstance(event, h11.EndOfMessage):
            break
        else:
            raise AssertionError("unexpected event %r" % (event,))
    print(method, target, status, len(got),
          got.decode() if len(got) < 64 else "")
    assert conn.our_state is h11.DONE and conn.their_state is h11.DONE
    conn.start_next_cycle()
print("ok")
)PY";
    // Not a structured binding: INFO captures `out` in a lambda, which
    // clang 14 does not allow for a binding.
    const auto result =
      run({"/usr/bin/python3", "-c", script, std::to_string(srv.port)}, 20s);
    const int code = result.first;
    const std::string& out = result.second;
    INFO("h11 client output:\n", out);
    CHECK(code == 0);
    CHECK(out == "GET / 200 13 Hello, World!\n"
                 "GET /json 200 27 " +
                   json_body +
                   "\n"
                   "POST /echo 200 10 ping\r\npong\n"
                   "HEAD / 200 0 \n"
                   "GET /nope 404 10 Not Found\n\n"
                   "GET /large 200 65536 \n"
                   "ok\n");
  }

} // TEST_SUITE
