// Unit tests of the strict HTTP/1.1 request-head parser (RFC 9112, 9110).

#include "http1/parser.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

using namespace std::literals;
using roadrunner::http1::body_framing;
using roadrunner::http1::limits;
using roadrunner::http1::parse_status;
using roadrunner::http1::reject_reason;
using roadrunner::http1::reject_reason_count;
using roadrunner::http1::request_head;
using roadrunner::http1::request_parser;

namespace {

// -- helpers ------------------------------------------------------------------

const char* status_name(parse_status st) {
  switch (st) {
  case parse_status::complete:
    return "complete";
  case parse_status::need_more:
    return "need_more";
  case parse_status::reject:
    return "reject";
  }
  return "?";
}

const char* framing_name(body_framing f) {
  switch (f) {
  case body_framing::none:
    return "none";
  case body_framing::content_length:
    return "content_length";
  case body_framing::chunked:
    return "chunked";
  }
  return "?";
}

// Everything the head exposes, as text (for one-shot vs resumed comparison).
std::string dump(const request_head& h) {
  std::string o;
  auto add = [&o](std::string_view k, std::string_view v) {
    o.append(k).append("=[").append(v).append("]\n");
  };
  add("method", h.method);
  add("target", h.target);
  add("path", h.path);
  add("query", h.query);
  add("version", h.version_minor == 1 ? "1.1" : "1.0");
  for (const auto& f : h.headers)
    add(f.name, f.value);
  add("framing", framing_name(h.framing));
  add("content_length", std::to_string(h.content_length));
  add("keep_alive", h.keep_alive ? "yes" : "no");
  add("expect_continue", h.expect_continue ? "yes" : "no");
  add("host", h.host);
  return o;
}

// The outcome of a parse as one comparable string.
std::string capture(const request_parser& p, parse_status st) {
  switch (st) {
  case parse_status::complete:
    return "complete consumed=" + std::to_string(p.consumed()) + "\n" +
           dump(p.head());
  case parse_status::need_more:
    return "need_more";
  case parse_status::reject:
    return std::string("reject ") + to_string(p.error());
  }
  return "?";
}

// Short outcome: "complete", "need_more" or the reject reason's name.
std::string outcome(std::string_view raw, limits lim = {}) {
  request_parser p(lim);
  const auto st = p.parse(raw);
  if (st == parse_status::reject)
    return to_string(p.error());
  return status_name(st);
}

std::string one_shot(std::string_view raw, limits lim = {}) {
  request_parser p(lim);
  return capture(p, p.parse(raw));
}

// Feeds growing prefixes of `raw`, one more byte each call.
std::string byte_by_byte(std::string_view raw, limits lim = {}) {
  request_parser p(lim);
  auto st = parse_status::need_more;
  for (size_t k = 1; k <= raw.size() && st == parse_status::need_more; ++k)
    st = p.parse(raw.substr(0, k));
  return capture(p, st);
}

// Feeds raw[0, k) then all of raw.
std::string split_at(std::string_view raw, size_t k, limits lim = {}) {
  request_parser p(lim);
  auto st = p.parse(raw.substr(0, k));
  if (st == parse_status::need_more)
    st = p.parse(raw);
  return capture(p, st);
}

// Feeds growing prefixes, each in a freshly allocated buffer; the previous
// buffer is scribbled over and freed (ASan catches any kept pointer).
std::string reallocating(std::string_view raw, size_t step, limits lim = {}) {
  request_parser p(lim);
  auto st = parse_status::need_more;
  std::unique_ptr<std::string> buf;
  for (size_t k = 0; k < raw.size() && st == parse_status::need_more;) {
    k = std::min(raw.size(), k + step);
    auto next = std::make_unique<std::string>(raw.substr(0, k));
    next->reserve(k + 64);
    if (buf)
      buf->assign(buf->size(), 'X');
    buf = std::move(next);
    st = p.parse(*buf);
  }
  return capture(p, st); // views point into *buf, still alive
}

// The prefix length at which the parser first stops answering need_more
// (0 if it never does).
size_t decisive_prefix(std::string_view raw, limits lim = {}) {
  request_parser p(lim);
  for (size_t k = 1; k <= raw.size(); ++k)
    if (p.parse(raw.substr(0, k)) != parse_status::need_more)
      return k;
  return 0;
}

// An HTTP/1.1 request with Host and then `fields` (each ending in CRLF).
std::string h11(std::string_view fields) {
  return "GET / HTTP/1.1\r\nHost: h\r\n"s.append(fields).append("\r\n");
}

std::string h10(std::string_view fields) {
  return "GET / HTTP/1.0\r\n"s.append(fields).append("\r\n");
}

struct row {
  std::string raw;
  std::string expected; // "complete", "need_more" or a reject reason name
};

void check_table(const std::vector<row>& rows, limits lim = {}) {
  for (const auto& r : rows) {
    CAPTURE(r.raw);
    CHECK(outcome(r.raw, lim) == r.expected);
    // The same answer no matter how the bytes arrive.
    CHECK(byte_by_byte(r.raw, lim) == one_shot(r.raw, lim));
  }
}

const std::vector<std::string>& valid_samples() {
  static const std::vector<std::string> samples = {
    "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "GET /index.html?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\n"
    "User-Agent: test/1.0\r\nAccept: */*\r\n\r\n",
    "POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
    "Content-Type: text/plain\r\n\r\n",
    "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
    "GET / HTTP/1.0\r\n\r\n",
    "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "\r\nGET /after-empty-line HTTP/1.1\r\nHost: a\r\n\r\n",
    "M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\n"
    "MAN: \"ssdp:discover\"\r\nMX: 1\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    "GET http://example.com/p?q HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "get /lower HTTP/1.1\r\nhost: a\r\nX-Empty:\r\nX-Ws: \t v a l \t \r\n"
    "X-Obs: caf\xc3\xa9\r\n\r\n",
    "PUT /x HTTP/1.1\r\nHost: [::1]:8080\r\nContent-Length: 0\r\n"
    "Content-Length: 0\r\nExpect: 100-continue\r\n"
    "Connection: keep-alive, Upgrade\r\n\r\n",
    "DELETE /a/b/c?d=e&f HTTP/1.1\r\nHOST: x.y\r\nconnection: close\r\n"
    "cookie: a=b; c=d\r\ncookie: e=f\r\n\r\n",
  };
  return samples;
}

// Deterministic PRNG (xorshift64*).
struct prng {
  uint64_t s;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ULL;
  }
  size_t below(size_t n) {
    return n == 0 ? 0 : static_cast<size_t>(next() % n);
  }
};

bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') ||
         "!#$%&'*+-.^_`|~"sv.find(c) != std::string_view::npos;
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) {
      return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
    };
    if (lower(a[i]) != lower(b[i]))
      return false;
  }
  return true;
}

size_t count_fields(const request_head& h, std::string_view name) {
  size_t n = 0;
  for (const auto& f : h.headers)
    n += iequal(f.name, name) ? 1 : 0;
  return n;
}

// Invariants of every accepted head; returns an empty string when they hold.
std::string check_invariants(std::string_view raw, const request_parser& p) {
  const auto& h = p.head();
  if (p.consumed() < 4 || p.consumed() > raw.size() ||
      raw.substr(p.consumed() - 4, 4) != "\r\n\r\n")
    return "consumed";
  if (h.method.empty() || h.target.empty())
    return "empty method/target";
  for (const auto& f : h.headers) {
    if (f.name.empty())
      return "empty name";
    for (char c : f.name)
      if (!is_tchar(c))
        return "name byte";
    for (char c : f.value)
      if (c == '\r' || c == '\n' || c == '\0')
        return "value byte";
    if (!f.value.empty() &&
        (f.value.front() == ' ' || f.value.front() == '\t' ||
         f.value.back() == ' ' || f.value.back() == '\t'))
      return "value not trimmed";
  }
  const size_t te = count_fields(h, "transfer-encoding");
  const size_t cl = count_fields(h, "content-length");
  switch (h.framing) {
  case body_framing::chunked:
    if (te != 1 || cl != 0 || h.version_minor != 1)
      return "chunked framing ambiguous";
    break;
  case body_framing::content_length:
    if (te != 0 || cl == 0)
      return "content-length framing ambiguous";
    break;
  case body_framing::none:
    if (te != 0 || cl != 0)
      return "no framing but framing fields";
    break;
  }
  if (count_fields(h, "host") > 1 ||
      (h.version_minor == 1 && count_fields(h, "host") != 1))
    return "host";
  return {};
}

} // namespace

TEST_SUITE("http1.parser") {

  // -- basics
  // -------------------------------------------------------------------

  TEST_CASE("a minimal HTTP/1.1 request yields method, target, version and "
            "fields (RFC 9112 3)") {
    const std::string raw = "GET /hello?name=world HTTP/1.1\r\n"
                            "Host: example.com\r\n"
                            "User-Agent: curl/8.0\r\n"
                            "\r\n";
    request_parser p;
    REQUIRE(p.parse(raw) == parse_status::complete);
    const auto& h = p.head();
    CHECK(h.method == "GET");
    CHECK(h.target == "/hello?name=world");
    CHECK(h.path == "/hello");
    CHECK(h.query == "name=world");
    CHECK(h.version_minor == 1);
    REQUIRE(h.headers.size() == 2);
    CHECK(h.headers[0].name == "Host");
    CHECK(h.headers[0].value == "example.com");
    CHECK(h.headers[1].name == "User-Agent");
    CHECK(h.headers[1].value == "curl/8.0");
    CHECK(h.host == "example.com");
    CHECK(h.framing == body_framing::none);
    CHECK(h.content_length == 0);
    CHECK(h.keep_alive);
    CHECK_FALSE(h.expect_continue);
    CHECK(p.consumed() == raw.size());
    // Zero-copy: the views point into the caller's buffer.
    CHECK(h.method.data() == raw.data());
    CHECK(h.headers[1].value.data() == raw.data() + raw.find("curl"));
  }

  TEST_CASE("an incomplete head answers need_more, never an error") {
    const std::string raw = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    for (size_t k = 0; k < raw.size(); ++k) {
      CAPTURE(k);
      CHECK(outcome(raw.substr(0, k)) == "need_more");
    }
    CHECK(outcome(raw) == "complete");
  }

  TEST_CASE("path and query split at the first '?' of the target "
            "(RFC 9112 3.2)") {
    struct t {
      std::string_view target, path, query;
    };
    for (const auto& x : {
           t{"/", "/", ""},
           t{"/a/b", "/a/b", ""},
           t{"/a?b=c", "/a", "b=c"},
           t{"/a?b?c", "/a", "b?c"},
           t{"/a?", "/a", ""},
           t{"/?", "/", ""},
           t{"*", "*", ""},
           t{"/%20x?%3F", "/%20x", "%3F"},
           t{"http://h/p?q=1", "http://h/p", "q=1"},
         }) {
      CAPTURE(x.target);
      const auto raw =
        "GET "s.append(x.target).append(" HTTP/1.1\r\nHost: h\r\n\r\n");
      request_parser p;
      REQUIRE(p.parse(raw) == parse_status::complete);
      CHECK(p.head().target == x.target);
      CHECK(p.head().path == x.path);
      CHECK(p.head().query == x.query);
    }
  }

  TEST_CASE("field values are OWS-trimmed and names keep their wire case, in "
            "wire order with duplicates (RFC 9112 5.1, RFC 9110 5.3)") {
    const std::string raw = "GET / HTTP/1.1\r\n"
                            "hOsT:h\r\n"
                            "X-A: \t  one two \t\r\n"
                            "X-Empty:\r\n"
                            "X-Blank: \t \r\n"
                            "x-a:three\r\n"
                            "\r\n";
    request_parser p;
    REQUIRE(p.parse(raw) == parse_status::complete);
    const auto& hs = p.head().headers;
    REQUIRE(hs.size() == 5);
    CHECK(hs[0].name == "hOsT");
    CHECK(hs[0].value == "h");
    CHECK(hs[1].name == "X-A");
    CHECK(hs[1].value == "one two");
    CHECK(hs[2].value.empty());
    CHECK(hs[3].name == "X-Blank");
    CHECK(hs[3].value.empty());
    CHECK(hs[4].name == "x-a");
    CHECK(hs[4].value == "three");
    CHECK(p.head().host == "h");
  }

  TEST_CASE("find() is ASCII case-insensitive and returns the first of "
            "duplicate fields (RFC 9110 5.1)") {
    const std::string raw = h11("Content-Type: text/plain\r\n"
                                "X-Dup: first\r\n"
                                "x-dup: second\r\n"
                                "X-Empty:\r\n");
    request_parser p;
    REQUIRE(p.parse(raw) == parse_status::complete);
    const auto& h = p.head();
    CHECK(h.find("content-type") == "text/plain");
    CHECK(h.find("CONTENT-TYPE") == "text/plain");
    CHECK(h.find("Content-Type") == "text/plain");
    CHECK(h.find("x-DUP") == "first");
    CHECK(h.find("host") == "h");
    REQUIRE(h.find("x-empty").has_value());
    CHECK(h.find("x-empty")->empty());
    CHECK_FALSE(h.find("content-length").has_value());
    CHECK_FALSE(h.find("content-typ").has_value());
    CHECK_FALSE(h.find("").has_value());
  }

  // -- resumability
  // -------------------------------------------------------------

  TEST_CASE("every valid sample parses identically one-shot, byte-by-byte and "
            "in every 2-way split") {
    for (const auto& raw : valid_samples()) {
      CAPTURE(raw);
      const auto expected = one_shot(raw);
      REQUIRE(expected.rfind("complete consumed=" + std::to_string(raw.size()),
                             0) == 0);
      CHECK(byte_by_byte(raw) == expected);
      for (size_t k = 0; k <= raw.size(); ++k) {
        CAPTURE(k);
        CHECK(split_at(raw, k) == expected);
      }
    }
  }

  TEST_CASE("the parser keeps offsets, not pointers: a buffer reallocated "
            "before every call gives the same head") {
    for (const auto& raw : valid_samples()) {
      CAPTURE(raw);
      const auto expected = one_shot(raw);
      for (size_t step : {1, 2, 3, 7, 16}) {
        CAPTURE(step);
        CHECK(reallocating(raw, step) == expected);
      }
    }
  }

  TEST_CASE("calling parse() again after complete re-points the views at the "
            "new buffer") {
    const std::string raw = valid_samples()[1];
    request_parser p;
    REQUIRE(p.parse(raw) == parse_status::complete);
    const auto expected = dump(p.head());
    const std::string moved = raw; // same bytes, another address
    REQUIRE(p.parse(moved) == parse_status::complete);
    CHECK(dump(p.head()) == expected);
    CHECK(p.head().method.data() == moved.data());
  }

  TEST_CASE("pipelined requests: consumed() stops exactly at the end of the "
            "first head (RFC 9112 9.3.2)") {
    const std::string first =
      "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
    const std::string second = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    const std::string third = "GET /c HTTP/1.0\r\n\r\n";
    const std::string wire = first + "hello" + second + third;
    request_parser p;
    REQUIRE(p.parse(wire) == parse_status::complete);
    CHECK(p.consumed() == first.size());
    CHECK(p.head().target == "/a");
    CHECK(p.head().content_length == 5);
    std::string_view rest = std::string_view(wire).substr(p.consumed() + 5);
    p.reset();
    REQUIRE(p.parse(rest) == parse_status::complete);
    CHECK(p.consumed() == second.size());
    CHECK(p.head().target == "/b");
    rest.remove_prefix(p.consumed());
    p.reset();
    REQUIRE(p.parse(rest) == parse_status::complete);
    CHECK(p.consumed() == third.size());
    CHECK(p.head().target == "/c");
    CHECK(p.head().version_minor == 0);
    // Byte by byte, the first request still stops at its own end.
    request_parser q;
    auto st = parse_status::need_more;
    size_t k = 0;
    while (st == parse_status::need_more && k < wire.size())
      st = q.parse(std::string_view(wire).substr(0, ++k));
    CHECK(st == parse_status::complete);
    CHECK(k == first.size());
    CHECK(q.consumed() == first.size());
  }

  TEST_CASE("a new parser and release() own no field storage; parsing "
            "allocates it again") {
    request_parser p;
    CHECK(p.head().headers.capacity() == 0);
    const std::string req = h11("A: 1\r\nB: 2\r\n");
    REQUIRE(p.parse(req) == parse_status::complete);
    CHECK(p.head().headers.size() == 3);
    CHECK(p.head().host == "h");
    p.release();
    CHECK(p.head().headers.empty());
    CHECK(p.head().headers.capacity() == 0);
    CHECK(p.consumed() == 0);
    REQUIRE(p.parse(req) == parse_status::complete);
    CHECK(p.head().headers.size() == 3);
    CHECK(p.head().find("b") == std::optional<std::string_view>{"2"});
  }

  TEST_CASE("reset() readies the parser for the next request and keeps the "
            "vector capacity") {
    request_parser p;
    const std::string big = h11("A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n"
                                "F: 6\r\nG: 7\r\nH: 8\r\nI: 9\r\nJ: 10\r\n"
                                "K: 11\r\nL: 12\r\nM: 13\r\nN: 14\r\nO: 15\r\n"
                                "P: 16\r\nQ: 17\r\nR: 18\r\n");
    REQUIRE(p.parse(big) == parse_status::complete);
    const auto cap = p.head().headers.capacity();
    CHECK(cap >= 19);
    p.reset();
    CHECK(p.head().headers.empty());
    CHECK(p.head().headers.capacity() == cap);
    CHECK(p.consumed() == 0);
    const std::string small = "GET /s HTTP/1.0\r\n\r\n";
    REQUIRE(p.parse(small) == parse_status::complete);
    CHECK(p.head().target == "/s");
    CHECK(p.head().headers.empty());
    CHECK(p.head().host.empty());
    CHECK(p.head().version_minor == 0);
    CHECK_FALSE(p.head().keep_alive);
    CHECK(p.head().headers.capacity() == cap);
  }

  TEST_CASE("after reject the parser keeps answering reject until reset()") {
    request_parser p;
    REQUIRE(p.parse("GET  / HTTP/1.1\r\n") == parse_status::reject);
    CHECK(p.error() == reject_reason::bad_request_line);
    CHECK(p.parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n") == parse_status::reject);
    CHECK(p.error() == reject_reason::bad_request_line);
    p.reset();
    CHECK(p.parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n") ==
          parse_status::complete);
  }

  // -- request line
  // ---------------------------------------------------------------

  TEST_CASE("one leading empty line is tolerated, a second is rejected "
            "(RFC 9112 2.2)") {
    check_table({
      {"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "complete"},
      {"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "bad_request_line"},
      {"\r\n", "need_more"},
      {"\r\n\r", "bad_request_line"},
      {"\n", "bad_line_ending"},
      {"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "bad_line_ending"},
      {"\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", "bad_line_ending"},
      {"\r\n\n", "bad_line_ending"},
    });
    const std::string raw = "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    request_parser p;
    REQUIRE(p.parse(raw) == parse_status::complete);
    CHECK(p.consumed() == raw.size()); // the empty line is consumed too
    CHECK(p.head().method == "GET");
  }

  TEST_CASE("the request line is METHOD SP target SP version with single SPs "
            "(RFC 9112 3)") {
    const auto end = "\r\nHost: a\r\n\r\n"s;
    check_table({
      {"GET / HTTP/1.1" + end, "complete"},
      {"GET  / HTTP/1.1" + end, "bad_request_line"},
      {"GET /  HTTP/1.1" + end, "bad_request_line"},
      {" GET / HTTP/1.1" + end, "bad_request_line"},
      {"\tGET / HTTP/1.1" + end, "bad_request_line"},
      {"GET\t/ HTTP/1.1" + end, "bad_request_line"},
      {"GET /\tHTTP/1.1" + end, "bad_target"},
      {"GET / HTTP/1.1 " + end, "bad_request_line"},
      {"GET / HTTP/1.1\t" + end, "bad_request_line"},
      {"GET / " + end, "bad_request_line"},
      {"GET /" + end, "bad_request_line"},
      {"GET" + end, "bad_request_line"},
      {"GET " + end, "bad_request_line"},
      {"GET HTTP/1.1" + end, "bad_request_line"},
      {"GET / HTTP/1.1 HTTP/1.1" + end, "bad_request_line"},
      {"" + end, "bad_method"}, // "\r\n" then "Host:" as a method
    });
  }

  TEST_CASE("methods are any RFC 9110 token, case-sensitive (RFC 9110 9.1)") {
    const auto rest = " / HTTP/1.1\r\nHost: a\r\n\r\n"s;
    for (std::string_view m : {"GET", "get", "M-SEARCH", "PROPFIND", "X", "B2B",
                               "!#$%&'*+-.^_`|~"}) {
      CAPTURE(m);
      request_parser p;
      const auto raw = std::string(m) + rest;
      REQUIRE(p.parse(raw) == parse_status::complete);
      CHECK(p.head().method == m);
    }
    check_table({
      {"G@T" + rest, "bad_method"},
      {"GET/" + rest, "bad_method"},
      {"(GET)" + rest, "bad_method"},
      {"G\"ET" + rest, "bad_method"},
      {"GE\0T"s + rest, "bad_method"},
      {"G\xc3\x89T" + rest, "bad_method"},
      {"GE,T" + rest, "bad_method"},
      {"\x7fGET" + rest, "bad_method"},
    });
  }

  TEST_CASE("the request-target rejects CTL, DEL, SP and non-ASCII bytes "
            "(RFC 9112 3.2, RFC 3986)") {
    const auto line = [](std::string_view target) {
      return "GET "s.append(target).append(" HTTP/1.1\r\nHost: a\r\n\r\n");
    };
    check_table({
      {line("/a/b;c=d?e=f&g#h"), "complete"},
      {line("/~user/%7E!$&'()*+,;=:@"), "complete"},
      {line("/\"{}|\\^`<>[]"),
       "complete"}, // printable ASCII is left to the app
      {line("/a\x7f"), "bad_target"},
      {line("/a\x80"), "bad_target"},
      {line("/caf\xc3\xa9"), "bad_target"},
      {line("/\xff"), "bad_target"},
      {line("/a\x01"), "bad_target"},
      {line("/a\0b"s), "bad_target"},
      {line("/a\x1f"), "bad_target"},
      {line("/a\x0b"), "bad_target"},
      {line("/a\tb"), "bad_target"},
      {"GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n", "bad_request_line"},
      {"GET /a\nb HTTP/1.1\r\nHost: a\r\n\r\n", "bad_line_ending"},
    });
  }

  TEST_CASE("HTTP/1.0 and HTTP/1.1 are accepted, other well-formed versions "
            "get 505, malformed ones 400 (RFC 9112 2.3, RFC 9110 2.5)") {
    const auto v = [](std::string_view version) {
      return "GET / "s.append(version).append("\r\nHost: a\r\n\r\n");
    };
    check_table({
      {v("HTTP/1.1"), "complete"},
      {v("HTTP/1.0"), "complete"},
      {v("HTTP/2.0"), "unsupported_version"},
      {v("HTTP/1.2"), "unsupported_version"},
      {v("HTTP/1.9"), "unsupported_version"},
      {v("HTTP/0.9"), "unsupported_version"},
      {v("HTTP/3.0"), "unsupported_version"},
      {v("HTTP/9.9"), "unsupported_version"},
      {v("HTTP/1.1x"), "bad_request_line"},
      {v("HTTP/1.10"), "bad_request_line"},
      {v("http/1.1"), "bad_request_line"},
      {v("Http/1.1"), "bad_request_line"},
      {v("HTTP/11"), "bad_request_line"},
      {v("HTTP/1"), "bad_request_line"},
      {v("HTTP/1."), "bad_request_line"},
      {v("HTTP/1.a"), "bad_request_line"},
      {v("HTTP/a.1"), "bad_request_line"},
      {v("HTTP/1,1"), "bad_request_line"},
      {v("HTTPS/1.1"), "bad_request_line"},
      {v("HTTP/2"), "bad_request_line"},
      {v("HTTP 1.1"), "bad_request_line"},
      {v("HTTP/1.1.1"), "bad_request_line"},
      {v(""), "bad_request_line"},
      {v("HTTP/\x31.\xb1"), "bad_request_line"},
    });
    request_parser p;
    REQUIRE(p.parse("GET / HTTP/1.0\r\n\r\n") == parse_status::complete);
    CHECK(p.head().version_minor == 0);
    // An overlong version is refused at its 9th byte, before any CRLF.
    CHECK(outcome("GET / HTTP/1.1") == "need_more");
    CHECK(outcome("GET / HTTP/1.1x") == "bad_request_line");
    CHECK(outcome("GET / HTTP/2.0") == "need_more");
    CHECK(outcome("GET / HTTP/2.0\r") == "unsupported_version");
  }

  TEST_CASE("bare LF or bare CR anywhere in the head is rejected "
            "(RFC 9112 2.2)") {
    check_table({
      {"GET / HTTP/1.1\nHost: a\r\n\r\n", "bad_line_ending"},
      {"GET / HTTP/1.1\rHost: a\r\n\r\n", "bad_line_ending"},
      {"GET / HTTP/1.1\r\r\nHost: a\r\n\r\n", "bad_line_ending"},
      {"GET / HTTP/1.1\r\nHost: a\n\r\n", "bad_line_ending"},
      {"GET / HTTP/1.1\r\nHost: a\r\n\n", "bad_line_ending"},
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", "bad_line_ending"},
      {"GET / HTTP/1.1\r\nHost: a\r\n\rX", "bad_line_ending"},
      {"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", "bad_line_ending"},
      {"GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n", "bad_line_ending"},
      {"GET / HTTP/1.1\r\nHost: a\r\nX\n: b\r\n\r\n", "bad_line_ending"},
      {"GET / HTTP/1.1\r\nHost: a\r\n\nX: b\r\n\r\n", "bad_line_ending"},
      {"GET / HTTP/1.1\r\nHost: a\r\nX\r: b\r\n\r\n", "bad_header_name"},
      {"GET\n/ HTTP/1.1\r\nHost: a\r\n\r\n", "bad_line_ending"},
      {"GET / HTTP/1.1\n\n", "bad_line_ending"},
    });
  }

  // -- header fields
  // ------------------------------------------------------------

  TEST_CASE("field names are non-empty tokens and no whitespace may precede "
            "the colon (RFC 9112 5.1)") {
    check_table({
      {h11("X-Ok_1.2~!#$%&'*+^`|: v\r\n"), "complete"},
      {h11(": v\r\n"), "bad_header_name"},
      {h11("Na me: v\r\n"), "bad_header_name"},
      {h11("Name : v\r\n"), "bad_header_name"},
      {h11("Name\t: v\r\n"), "bad_header_name"},
      {h11("Name\r\n"), "bad_header_name"},
      {h11("Name v\r\n"), "bad_header_name"},
      {h11("Na(me: v\r\n"), "bad_header_name"},
      {h11("Na/me: v\r\n"), "bad_header_name"},
      {h11("Na\"me: v\r\n"), "bad_header_name"},
      {h11("N\xc3\xa4me: v\r\n"), "bad_header_name"},
      {h11("Na\0me: v\r\n"s), "bad_header_name"},
      {h11("\x7fName: v\r\n"), "bad_header_name"},
      {h11("(Name: v\r\n"), "bad_header_name"},
      {h11("Name:v\r\n"), "complete"},
      {h11("Name:: v\r\n"), "complete"}, // the value is ": v"
    });
    request_parser p;
    const auto raw = h11("Name:: v\r\n");
    REQUIRE(p.parse(raw) == parse_status::complete);
    CHECK(p.head().find("name") == ": v");
  }

  TEST_CASE("obs-fold is rejected with 400 (RFC 9112 5.2)") {
    check_table({
      {h11("X: a\r\n b\r\n"), "obs_fold"},
      {h11("X: a\r\n\tb\r\n"), "obs_fold"},
      {h11("X: a\r\n \r\n"), "obs_fold"},
      {h11("X:\r\n  b\r\n"), "obs_fold"},
      // Whitespace between the request line and the first field (RFC 9112 2.2).
      {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", "obs_fold"},
      {"GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", "obs_fold"},
    });
    CHECK(status_of(reject_reason::obs_fold) == 400);
    CHECK(
      std::string_view(describe(reject_reason::obs_fold)).find("9112 5.2") !=
      std::string_view::npos);
  }

  TEST_CASE("field values allow HTAB, SP, VCHAR and obs-text but reject other "
            "CTLs and DEL (RFC 9110 5.5)") {
    check_table({
      {h11("X: a\tb c~!\r\n"), "complete"},
      {h11("X: caf\xc3\xa9 \x80\xff\r\n"), "complete"},
      {h11("X: a\0b\r\n"s), "bad_header_value"},
      {h11("X: a\x01\r\n"), "bad_header_value"},
      {h11("X: a\x1f\r\n"), "bad_header_value"},
      {h11("X: \x7f\r\n"), "bad_header_value"},
      {h11("X: a\x0b"
           "b\r\n"),
       "bad_header_value"},
      {h11("X: a\x0c\r\n"), "bad_header_value"},
      {h11("X: \x1b[31m\r\n"), "bad_header_value"},
      {h11("X: a\rb\r\n"), "bad_line_ending"},
      {h11("X: a\nb\r\n"), "bad_line_ending"},
    });
    request_parser p;
    const auto raw = h11("X: \t a\tb \t\r\n");
    REQUIRE(p.parse(raw) == parse_status::complete);
    CHECK(p.head().find("x") == "a\tb");
  }

  TEST_CASE("HTTP/1.1 requires exactly one Host field, HTTP/1.0 none "
            "(RFC 9112 3.2)") {
    check_table({
      {"GET / HTTP/1.1\r\n\r\n", "missing_host"},
      {"GET / HTTP/1.1\r\nX: y\r\n\r\n", "missing_host"},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", "duplicate_host"},
      {"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", "duplicate_host"},
      {"GET / HTTP/1.0\r\nHost: a\r\nHOST: b\r\n\r\n", "duplicate_host"},
      {"GET / HTTP/1.0\r\n\r\n", "complete"},
      {"GET / HTTP/1.0\r\nHost: a\r\n\r\n", "complete"},
      {"GET / HTTP/1.1\r\nHost:\r\n\r\n", "complete"}, // empty is allowed
      {"GET / HTTP/1.1\r\nHosts: a\r\n\r\n", "missing_host"},
    });
    request_parser p;
    REQUIRE(p.parse("GET / HTTP/1.0\r\nX: 1\r\nHoSt:  w.x:81 \r\n\r\n") ==
            parse_status::complete);
    CHECK(p.head().host == "w.x:81");
    CHECK(status_of(reject_reason::missing_host) == 400);
    CHECK(status_of(reject_reason::duplicate_host) == 400);
  }

  TEST_CASE("the Host value must be an authority without userinfo "
            "(RFC 9112 3.2, RFC 3986 3.2.2)") {
    const auto host = [](std::string_view v) {
      return "GET / HTTP/1.1\r\nHost: "s.append(v).append("\r\n\r\n");
    };
    check_table({
      {host("example.com"), "complete"},
      {host("example.com:8080"), "complete"},
      {host("[::1]:80"), "complete"},
      {host("127.0.0.1"), "complete"},
      {host("xn--caf-dma.example"), "complete"},
      {host("a%2Eb"), "complete"},
      {host("exa mple.com"), "bad_host"},
      {host("user@example.com"), "bad_host"},
      {host("example.com/path"), "bad_host"},
      {host("example.com?q"), "bad_host"},
      {host("example.com#f"), "bad_host"},
      {host("a\tb"), "bad_host"},
      {host("caf\xc3\xa9.example"), "bad_host"},
      {host("a\"b"), "bad_host"},
      {host("a\\b"), "bad_host"},
    });
  }

  // -- framing
  // -------------------------------------------------------------------

  TEST_CASE("body framing is none, content_length or chunked (RFC 9112 6.3)") {
    request_parser p;
    REQUIRE(p.parse(h11("")) == parse_status::complete);
    CHECK(p.head().framing == body_framing::none);
    p.reset();
    const auto cl = h11("Content-Length: 42\r\n");
    REQUIRE(p.parse(cl) == parse_status::complete);
    CHECK(p.head().framing == body_framing::content_length);
    CHECK(p.head().content_length == 42);
    p.reset();
    const auto te = h11("Transfer-Encoding: chunked\r\n");
    REQUIRE(p.parse(te) == parse_status::complete);
    CHECK(p.head().framing == body_framing::chunked);
    CHECK(p.head().content_length == 0);
    p.reset();
    const auto te2 = h11("transfer-encoding: \tChUnKeD \t\r\n");
    REQUIRE(p.parse(te2) == parse_status::complete);
    CHECK(p.head().framing == body_framing::chunked);
    p.reset();
    const auto cl10 = h10("Content-Length: 0\r\n");
    REQUIRE(p.parse(cl10) == parse_status::complete);
    CHECK(p.head().framing == body_framing::content_length);
    CHECK(p.head().content_length == 0);
  }

  TEST_CASE("Content-Length must be 1*DIGIT: no sign, inner space, list or "
            "other base (RFC 9110 8.6)") {
    const auto cl = [](std::string_view v) {
      return h11("Content-Length: "s.append(v).append("\r\n"));
    };
    check_table({
      {cl("0"), "complete"},
      {cl("5"), "complete"},
      {cl("007"), "complete"},
      {h11("Content-Length:\t5\t\r\n"), "complete"},
      {h11("Content-Length:5\r\n"), "complete"},
      {cl("+5"), "bad_content_length"},
      {cl("-5"), "bad_content_length"},
      {cl("5 5"), "bad_content_length"},
      {cl("5, 5"), "bad_content_length"},
      {cl("5,5"), "bad_content_length"},
      {cl("5,"), "bad_content_length"},
      {cl(",5"), "bad_content_length"},
      {cl("0x5"), "bad_content_length"},
      {cl("5.0"), "bad_content_length"},
      {cl("5e0"), "bad_content_length"},
      {cl("five"), "bad_content_length"},
      {cl("\"5\""), "bad_content_length"},
      {cl(""), "bad_content_length"},
      {cl(" "), "bad_content_length"},
      {cl("\xd9\xa5"), "bad_content_length"}, // ARABIC-INDIC DIGIT FIVE
    });
    request_parser p;
    REQUIRE(p.parse(cl("007")) == parse_status::complete);
    CHECK(p.head().content_length == 7);
  }

  TEST_CASE("Content-Length parsing is overflow-safe: at most 19 digits and "
            "2^63-1 (RFC 9110 8.6)") {
    const auto cl = [](std::string_view v) {
      return h11("Content-Length: "s.append(v).append("\r\n"));
    };
    check_table({
      {cl("9223372036854775807"), "complete"},            // 2^63 - 1
      {cl("9223372036854775808"), "bad_content_length"},  // 2^63
      {cl("18446744073709551615"), "bad_content_length"}, // 2^64 - 1
      {cl("18446744073709551616"), "bad_content_length"}, // 2^64 (wraps to 0)
      {cl("99999999999999999999"), "bad_content_length"},
      {cl("0000000000000000001"), "complete"},            // 19 digits
      {cl("00000000000000000001"), "bad_content_length"}, // 20 digits
      {cl(std::string(1000, '9')), "bad_content_length"},
    });
    request_parser p;
    REQUIRE(p.parse(cl("9223372036854775807")) == parse_status::complete);
    CHECK(p.head().content_length == 9223372036854775807ULL);
  }

  TEST_CASE("identical duplicate Content-Length fields are accepted, differing "
            "ones rejected (RFC 9110 8.6, RFC 9112 6.3)") {
    check_table({
      {h11("Content-Length: 5\r\nContent-Length: 5\r\n"), "complete"},
      {h11("Content-Length: 5\r\ncontent-length: 05\r\n"), "complete"},
      {h11("Content-Length: 5\r\nX: y\r\nCONTENT-LENGTH:5\r\n"), "complete"},
      {h11("Content-Length: 5\r\nContent-Length: 6\r\n"), "bad_content_length"},
      {h11("Content-Length: 5\r\nContent-Length: 0\r\n"), "bad_content_length"},
      {h11("Content-Length: 0\r\nContent-Length: 5\r\n"), "bad_content_length"},
      {h11("Content-Length: 5\r\nContent-Length: 5\r\nContent-Length: 7\r\n"),
       "bad_content_length"},
      {h11("Content-Length: 5\r\nContent-Length: \r\n"), "bad_content_length"},
    });
  }

  TEST_CASE("Transfer-Encoding must be exactly one \"chunked\" coding, else "
            "501 (RFC 9112 6.1, RFC 9110 15.6.2)") {
    const auto te = [](std::string_view v) {
      return h11("Transfer-Encoding: "s.append(v).append("\r\n"));
    };
    check_table({
      {te("chunked"), "complete"},
      {te("CHUNKED"), "complete"},
      {te("Chunked"), "complete"},
      {h11("Transfer-Encoding:\tchunked\t\r\n"), "complete"},
      {te("gzip, chunked"), "unsupported_transfer_encoding"},
      {te("chunked, gzip"), "unsupported_transfer_encoding"},
      {te("chunked, chunked"), "unsupported_transfer_encoding"},
      {te("chunked,"), "unsupported_transfer_encoding"},
      {te(", chunked"), "unsupported_transfer_encoding"},
      {te("identity"), "unsupported_transfer_encoding"},
      {te("gzip"), "unsupported_transfer_encoding"},
      {te(""), "unsupported_transfer_encoding"},
      {te("chunked;q=1"), "unsupported_transfer_encoding"},
      {te("\"chunked\""), "unsupported_transfer_encoding"},
      {te("chunk"), "unsupported_transfer_encoding"},
      {te("chunked chunked"), "unsupported_transfer_encoding"},
      {h11("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
       "unsupported_transfer_encoding"},
      {h11("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"),
       "unsupported_transfer_encoding"},
      {h11("Transfer-Encoding:\r\nTransfer-Encoding: chunked\r\n"),
       "unsupported_transfer_encoding"},
    });
    CHECK(status_of(reject_reason::unsupported_transfer_encoding) == 501);
  }

  TEST_CASE("Transfer-Encoding together with Content-Length is rejected in "
            "either order (RFC 9112 6.1, 6.3)") {
    check_table({
      {h11("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
       "conflicting_framing"},
      {h11("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
       "conflicting_framing"},
      {h11("Transfer-Encoding: chunked\r\nX: 1\r\nContent-Length: 0\r\n"),
       "conflicting_framing"},
      {h11("Content-Length: 5\r\nTransfer-Encoding: xchunked\r\n"),
       "conflicting_framing"},
      {h10("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
       "conflicting_framing"},
    });
    CHECK(status_of(reject_reason::conflicting_framing) == 400);
  }

  TEST_CASE("Transfer-Encoding in an HTTP/1.0 request is rejected with 400 "
            "(RFC 9112 6.1)") {
    check_table({
      {h10("Transfer-Encoding: chunked\r\n"), "transfer_encoding_in_http10"},
      {h10("Transfer-Encoding: gzip\r\n"), "transfer_encoding_in_http10"},
      {h10("Content-Length: 3\r\n"), "complete"},
    });
    CHECK(status_of(reject_reason::transfer_encoding_in_http10) == 400);
  }

  TEST_CASE("request smuggling vectors are rejected or framed one unambiguous "
            "way (RFC 9112 6.3, 11.2)") {
    check_table({
      // TE.TE obfuscations (PortSwigger).
      {h11("Transfer-Encoding: xchunked\r\n"), "unsupported_transfer_encoding"},
      {h11("Transfer-Encoding : chunked\r\n"), "bad_header_name"},
      {h11("Transfer-Encoding\t: chunked\r\n"), "bad_header_name"},
      {h11("Transfer-Encoding: chunked\r\nTransfer-encoding: x\r\n"),
       "unsupported_transfer_encoding"},
      {h11("Transfer-Encoding: x\r\nTransfer-Encoding: chunked\r\n"),
       "unsupported_transfer_encoding"},
      {h11(" Transfer-Encoding: chunked\r\n"), "obs_fold"},
      {h11("X: X\nTransfer-Encoding: chunked\r\n"), "bad_line_ending"},
      {h11("X: X\rTransfer-Encoding: chunked\r\n"), "bad_line_ending"},
      {h11("Transfer-Encoding\n: chunked\r\n"), "bad_line_ending"},
      // The empty TE line is refused when it ends, before the fold is seen.
      {h11("Transfer-Encoding:\r\n chunked\r\n"),
       "unsupported_transfer_encoding"},
      {h11("X:\r\n Transfer-Encoding: chunked\r\n"), "obs_fold"},
      {h11("Transfer-Encoding: chunked\r\n , identity\r\n"), "obs_fold"},
      {h11("Transfer-Encoding: chunked\r\n\tx\r\n"), "obs_fold"},
      {h11("Transfer-Encoding: chunked\x0b\r\n"), "bad_header_value"},
      {h11("Transfer-Encoding: chunked\x0c\r\n"), "bad_header_value"},
      {h11("Transfer-Encoding: chunked\0\r\n"s), "bad_header_value"},
      {h11("Transfer-Encoding: \x85"
           "chunked\r\n"),
       "unsupported_transfer_encoding"},
      {h11("Transfer-Encoding: chu\xc5\x84ked\r\n"),
       "unsupported_transfer_encoding"},
      {h11("Transfer-\0Encoding: chunked\r\n"s), "bad_header_name"},
      {h11("Transfer-Encoding: identity, chunked\r\n"),
       "unsupported_transfer_encoding"},
      // CL.CL and CL.TE.
      {h11("Content-Length: +5\r\n"), "bad_content_length"},
      {h11("Content-Length: 5, 5\r\n"), "bad_content_length"},
      {h11("Content-Length: 5\r\nContent-Length: 6\r\n"), "bad_content_length"},
      {h11("Content-Length : 5\r\n"), "bad_header_name"},
      {h11("Content-Length: 5\r\n\tTransfer-Encoding: chunked\r\n"),
       "obs_fold"},
      {h11("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
       "conflicting_framing"},
      {h11("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
       "conflicting_framing"},
      {h11("Content-Length: 0\r\n\r\nGET /smuggled HTTP/1.1\r\n"), "complete"},
      // Two Host fields (routing confusion).
      {h11("Host: evil\r\n"), "duplicate_host"},
      // Fields that merely look similar are other fields: no framing.
      {h11("Transfer_Encoding: chunked\r\n"), "complete"},
      {h11("Content_Length: 5\r\n"), "complete"},
      {h11("X-Transfer-Encoding: chunked\r\n"), "complete"},
    });
    for (std::string_view f :
         {"Transfer_Encoding: chunked\r\n", "Content_Length: 5\r\n",
          "X-Transfer-Encoding: chunked\r\n"}) {
      request_parser p;
      const auto raw = h11(f);
      REQUIRE(p.parse(raw) == parse_status::complete);
      CHECK(p.head().framing == body_framing::none);
      CHECK(check_invariants(raw, p).empty());
    }
    // The smuggled request after "Content-Length: 0" is not part of the head.
    const auto raw = h11("Content-Length: 0\r\n\r\nGET /smuggled HTTP/1.1\r\n");
    request_parser p;
    REQUIRE(p.parse(raw) == parse_status::complete);
    CHECK(p.consumed() == raw.find("GET /smuggled"));
    CHECK(p.head().framing == body_framing::content_length);
  }

  // -- connection semantics
  // -----------------------------------------------------

  TEST_CASE("keep_alive follows the version and the Connection tokens "
            "(RFC 9112 9.3)") {
    struct t {
      std::string raw;
      bool keep_alive;
    };
    for (const auto& x : std::vector<t>{
           {h11(""), true},
           {h11("Connection: close\r\n"), false},
           {h11("Connection: Close\r\n"), false},
           {h11("Connection: CLOSE\r\n"), false},
           {h11("Connection: keep-alive, close\r\n"), false},
           {h11("Connection:  foo ,\tclose \r\n"), false},
           {h11("Connection: foo\r\nConnection: close\r\n"), false},
           {h11("Connection: ,,close,,\r\n"), false},
           {h11("Connection: closed\r\n"), true},
           {h11("Connection: close-ish, upgrade\r\n"), true},
           {h11("Connection: \"close\"\r\n"), true},
           {h11("Connection: keep-alive\r\n"), true},
           {h11("Connection: Upgrade\r\n"), true},
           {h11("X-Connection: close\r\n"), true},
           {h10(""), false},
           {h10("Connection: keep-alive\r\n"), true},
           {h10("Connection: Keep-Alive\r\n"), true},
           {h10("Connection: foo, keep-alive\r\n"), true},
           {h10("Connection: foo\r\nConnection: keep-alive\r\n"), true},
           {h10("Connection: keep-alive, close\r\n"), false},
           {h10("Connection: close\r\n"), false},
           {h10("Connection: keep-alives\r\n"), false},
         }) {
      CAPTURE(x.raw);
      request_parser p;
      REQUIRE(p.parse(x.raw) == parse_status::complete);
      CHECK(p.head().keep_alive == x.keep_alive);
    }
  }

  TEST_CASE("expect_continue is set by Expect: 100-continue on HTTP/1.1 only "
            "(RFC 9110 10.1.1)") {
    struct t {
      std::string raw;
      bool expect;
    };
    for (const auto& x : std::vector<t>{
           {h11(""), false},
           {h11("Expect: 100-continue\r\n"), true},
           {h11("expect: 100-Continue\r\n"), true},
           {h11("Expect: \t100-CONTINUE \r\n"), true},
           {h11("Expect: foo\r\nExpect: 100-continue\r\n"), true},
           {h11("Expect: 100-continues\r\n"), false},
           {h11("Expect: 200-ok\r\n"), false},
           {h11("X-Expect: 100-continue\r\n"), false},
           {h10("Expect: 100-continue\r\n"), false}, // MUST be ignored
         }) {
      CAPTURE(x.raw);
      request_parser p;
      REQUIRE(p.parse(x.raw) == parse_status::complete);
      CHECK(p.head().expect_continue == x.expect);
    }
  }

  // -- limits
  // -------------------------------------------------------------------

  TEST_CASE("a request line of exactly max_request_line bytes is accepted, one "
            "more byte gets 414 (RFC 9110 15.5.15)") {
    const limits lim; // the seed's default: 8192
    REQUIRE(lim.max_request_line == 8192);
    const auto line = [](size_t size) {
      // "GET " + target + " HTTP/1.1" = 13 + target size.
      return "GET /" + std::string(size - 14, 'a') + " HTTP/1.1";
    };
    REQUIRE(line(8192).size() == 8192);
    const auto at = line(8192) + "\r\nHost: h\r\n\r\n";
    const auto over = line(8193) + "\r\nHost: h\r\n\r\n";
    CHECK(outcome(at, lim) == "complete");
    CHECK(outcome(over, lim) == "request_line_too_long");
    CHECK(status_of(reject_reason::request_line_too_long) == 414);
    // The leading empty line does not count.
    CHECK(outcome("\r\n" + at, lim) == "complete");
    CHECK(outcome("\r\n" + over, lim) == "request_line_too_long");
    // The same with a small custom limit, byte-by-byte too.
    limits small;
    small.max_request_line = 16;
    check_table(
      {{"GET /23 HTTP/1.1\r\nHost: h\r\n\r\n", "complete"},
       {"GET /234 HTTP/1.1\r\nHost: h\r\n\r\n", "request_line_too_long"},
       {"GET /234", "need_more"}},
      small);
  }

  TEST_CASE("an overlong request line gets 414 at the byte crossing the limit, "
            "before its CRLF") {
    const std::string line = "GET /" + std::string(9000, 'a'); // no CRLF
    CHECK(outcome(line.substr(0, 8192)) == "need_more");
    CHECK(outcome(line.substr(0, 8193)) == "request_line_too_long");
    CHECK(decisive_prefix(line) == 8193);
    CHECK(decisive_prefix("\r\n" + line) == 8195);
    // Exactly at the limit, the CR is fine and waits for its LF.
    const std::string at = "GET /" + std::string(8178, 'a') + " HTTP/1.1";
    REQUIRE(at.size() == 8192);
    CHECK(outcome(at + "\r") == "need_more");
    CHECK(outcome(at + "x") == "request_line_too_long");
    // Long in any part: method, target or version.
    CHECK(outcome(std::string(8193, 'G')) == "request_line_too_long");
    CHECK(outcome("GET /" + std::string(8187, 'a') + " H") ==
          "request_line_too_long");
    // Already-invalid bytes before the limit still win.
    CHECK(outcome("GET /\x01" + std::string(9000, 'a')) == "bad_target");
  }

  TEST_CASE("a field line of exactly max_header_line bytes is accepted, one "
            "more byte gets 431 (RFC 6585 5)") {
    const limits lim;
    REQUIRE(lim.max_header_line == 8192);
    const auto field = [](size_t size) { // "X: " + value
      return "X: " + std::string(size - 3, 'v');
    };
    REQUIRE(field(8192).size() == 8192);
    CHECK(outcome(h11(field(8192) + "\r\n"), lim) == "complete");
    CHECK(outcome(h11(field(8193) + "\r\n"), lim) == "header_line_too_long");
    // Trailing OWS counts: the limit is on the line as sent.
    CHECK(outcome(h11(field(8190) + "  \r\n"), lim) == "complete");
    CHECK(outcome(h11(field(8191) + "  \r\n"), lim) == "header_line_too_long");
    // A long name counts the same.
    CHECK(outcome(h11(std::string(8193, 'N') + ": v\r\n"), lim) ==
          "header_line_too_long");
    CHECK(status_of(reject_reason::header_line_too_long) == 431);
    limits small;
    small.max_header_line = 8;
    check_table({{h10("Abc: 123\r\n"), "complete"},
                 {h10("Abc: 1234\r\n"), "header_line_too_long"},
                 {h10("Abcdefgh\r\n"), "bad_header_name"},
                 {h10("Abcdefghi: 1\r\n"), "header_line_too_long"},
                 {h10("Abc: 12  \r\n"), "header_line_too_long"}},
                small);
  }

  TEST_CASE("an overlong field line gets 431 at the byte crossing the limit, "
            "before its CRLF") {
    const std::string prefix = "GET / HTTP/1.1\r\nHost: h\r\n";
    const std::string raw = prefix + "X: " + std::string(9000, 'v');
    CHECK(decisive_prefix(raw) == prefix.size() + 8193);
    CHECK(outcome(raw.substr(0, prefix.size() + 8192)) == "need_more");
    CHECK(outcome(raw.substr(0, prefix.size() + 8192) + "\r") == "need_more");
    CHECK(outcome(raw.substr(0, prefix.size() + 8193)) ==
          "header_line_too_long");
    // A long name with no colon yet.
    const std::string name = prefix + std::string(9000, 'N');
    CHECK(decisive_prefix(name) == prefix.size() + 8193);
    CHECK(outcome(name) == "header_line_too_long");
  }

  TEST_CASE("a header section of exactly max_header_block bytes is accepted, "
            "one more byte gets 431 (RFC 6585 5)") {
    const limits lim;
    REQUIRE(lim.max_header_block == 10240);
    // "Host: h" (7) + one 8192-byte line + one line filling the rest.
    const auto fill = [](size_t size) {
      return "Y: " + std::string(size - 3, 'w');
    };
    const std::string big = "X: " + std::string(8189, 'v');
    REQUIRE(big.size() == 8192);
    const auto at = h11(big + "\r\n" + fill(10240 - 7 - 8192) + "\r\n");
    const auto over = h11(big + "\r\n" + fill(10240 - 7 - 8192 + 1) + "\r\n");
    CHECK(outcome(at, lim) == "complete");
    CHECK(outcome(over, lim) == "header_block_too_long");
    CHECK(status_of(reject_reason::header_block_too_long) == 431);
    // Rejected at the crossing byte, before the line's CRLF.
    const auto cut = over.substr(0, over.find("\r\n\r\n"));
    CHECK(decisive_prefix(cut) == cut.size());
    CHECK(byte_by_byte(cut) == "reject header_block_too_long");
    // When the section is full, the first byte of another field crosses it.
    const auto full =
      h11(big + "\r\n" + fill(10240 - 7 - 8192) + "\r\nZ: 1\r\n");
    CHECK(outcome(full, lim) == "header_block_too_long");
    // Small limits: line limit 10, block limit 15 (CRLFs not counted).
    limits small;
    small.max_header_line = 10;
    small.max_header_block = 15;
    check_table({{h10("A: 123456\r\nB: 12\r\n"), "complete"}, // 9 + 6 = 15
                 {h10("A: 123456\r\nB: 1234\r\n"), "header_block_too_long"},
                 {h10("A: 1234567\r\nB: 12\r\n"), "complete"}, // 10 + 5 = 15
                 {h10("A: 1234567\r\nB: 12\r\nC"), "header_block_too_long"},
                 {h10("A: 1234567\r\nB: 1\r\nC: 1"), "header_block_too_long"},
                 {h10("A: 12345678\r\n"), "header_line_too_long"},
                 {h10("A: 1234567\r\nB: 12345\r\n"), "header_block_too_long"}},
                small);
  }

  TEST_CASE("max_header_count fields are accepted, the next is rejected at its "
            "first byte with 431 (RFC 6585 5)") {
    const limits lim;
    REQUIRE(lim.max_header_count == 100);
    std::string fields;
    for (int i = 1; i < 100; ++i) // + Host = 100 fields
      fields.append("F").append(std::to_string(i)).append(": v\r\n");
    const auto at = h11(fields);
    request_parser p;
    REQUIRE(p.parse(at) == parse_status::complete);
    CHECK(p.head().headers.size() == 100);
    const auto over = h11(fields + "F100: v\r\n");
    CHECK(outcome(over) == "too_many_headers");
    const size_t first_byte = over.find("F100");
    CHECK(outcome(over.substr(0, first_byte)) == "need_more");
    CHECK(outcome(over.substr(0, first_byte + 1)) == "too_many_headers");
    CHECK(decisive_prefix(over) == first_byte + 1);
    CHECK(status_of(reject_reason::too_many_headers) == 431);
    limits small;
    small.max_header_count = 2;
    check_table({{h10(""), "complete"},
                 {h10("A: 1\r\nB: 2\r\n"), "complete"},
                 {h10("A: 1\r\nB: 2\r\nC: 3\r\n"), "too_many_headers"},
                 {h10("A: 1\r\nB: 2\r\nC"), "too_many_headers"}},
                small);
    limits none;
    none.max_header_count = 0;
    check_table({{h10(""), "complete"}, {h10("A: 1\r\n"), "too_many_headers"}},
                none);
  }

  // -- reasons
  // ------------------------------------------------------------------

  TEST_CASE("every reject reason has a status, a stable name and an RFC "
            "citation") {
    for (size_t i = 0; i < reject_reason_count; ++i) {
      const auto r = static_cast<reject_reason>(i);
      CAPTURE(i);
      const int st = status_of(r);
      CHECK((st == 400 || st == 413 || st == 414 || st == 431 || st == 501 ||
             st == 505));
      REQUIRE(describe(r) != nullptr);
      REQUIRE(to_string(r) != nullptr);
      CHECK(std::string_view(describe(r)).find("RFC ") !=
            std::string_view::npos);
      CHECK_FALSE(std::string_view(to_string(r)).empty());
    }
    CHECK(std::string_view(to_string(reject_reason::obs_fold)) == "obs_fold");
    CHECK(std::string_view(to_string(reject_reason::body_too_large)) ==
          "body_too_large");
    CHECK(std::string_view(to_string(reject_reason::bad_request_line)) ==
          "bad_request_line");
    CHECK(status_of(reject_reason::unsupported_version) == 505);
    CHECK(status_of(reject_reason::body_too_large) == 413);
    CHECK(status_of(reject_reason::bad_line_ending) == 400);
    CHECK(status_of(reject_reason::bad_content_length) == 400);
  }

  TEST_CASE("every byte value is classified by the RFC grammar at every offset "
            "of a method, target, field name and field value") {
    const auto is_vchar_or_obs = [](unsigned b) {
      return b == '\t' || (b >= 0x20 && b != 0x7F);
    };
    size_t checked = 0, wrong = 0;
    std::string first_wrong;
    auto expect = [&](const std::string& raw, std::string_view want) {
      ++checked;
      const auto got = outcome(raw);
      if (got != want && wrong++ == 0)
        first_wrong = raw + " -> " + got + ", want " + std::string(want);
    };
    for (unsigned b = 0; b < 256; ++b) {
      const char c = static_cast<char>(b);
      const bool tchar = is_tchar(c);
      for (size_t pos = 0; pos < 24; ++pos) {
        const std::string before(pos, 'a'), after(23 - pos, 'a');
        const std::string mid = before + c + after; // 24 bytes
        // Field value.
        expect(h11("X: " + mid + "\r\n"), is_vchar_or_obs(b) ? "complete"
                                          : c == '\r' || c == '\n'
                                            ? "bad_line_ending"
                                            : "bad_header_value");
        // Request target.
        expect("GET /" + mid + " HTTP/1.1\r\nHost: h\r\n\r\n",
               b >= 0x21 && b <= 0x7E  ? "complete"
               : c == ' ' || c == '\r' ? "bad_request_line"
               : c == '\n'             ? "bad_line_ending"
                                       : "bad_target");
        // Field name (a ':' ends the name early: still a valid field).
        expect(h11("X" + mid + ": v\r\n"), tchar || c == ':' ? "complete"
                                           : c == '\n'       ? "bad_line_ending"
                                                       : "bad_header_name");
        // Method.
        expect("G" + mid + " / HTTP/1.1\r\nHost: h\r\n\r\n",
               tchar                                ? "complete"
               : c == ' ' || c == '\t' || c == '\r' ? "bad_request_line"
               : c == '\n'                          ? "bad_line_ending"
                                                    : "bad_method");
      }
    }
    INFO(first_wrong);
    CHECK(checked == 256 * 24 * 4);
    CHECK(wrong == 0);
  }

  // -- robustness
  // -----------------------------------------------------------------

  TEST_CASE("random mutations of valid requests never crash and parse the "
            "same one-shot, byte-by-byte, split and reallocated") {
    prng rng{0x9E3779B97F4A7C15ULL};
    const auto& samples = valid_samples();
    static constexpr char interesting[] = {
      '\r', '\n', ' ', '\t', ':', ',', ';', '\0',   '\x7f', '\x80', '\xff',
      'a',  'Z',  '0', '9',  '/', '?', '"', '\x0b', 'H',    '.',
    };
    const std::vector<std::string_view> splices = {
      "\r\n",
      "Transfer-Encoding: chunked\r\n",
      "Content-Length: 5\r\n",
      "Host: x\r\n",
      " ",
      "\r\n\r\n",
      "HTTP/1.0",
      "Connection: close\r\n",
      "Expect: 100-continue\r\n",
      "HTTP/1.1",
    };
    limits small; // also exercise the limits
    small.max_request_line = 40;
    small.max_header_line = 30;
    small.max_header_block = 90;
    small.max_header_count = 4;
    size_t mismatches = 0, completes = 0, rejects = 0, invariant_failures = 0;
    std::string first_failure;
    for (int iter = 0; iter < 20000; ++iter) {
      std::string s = samples[rng.below(samples.size())];
      const size_t mutations = 1 + rng.below(3);
      for (size_t m = 0; m < mutations; ++m) {
        const size_t pos = rng.below(s.size() + 1);
        switch (rng.below(6)) {
        case 0: // replace
          if (!s.empty())
            s[std::min(pos, s.size() - 1)] =
              rng.below(2) ? interesting[rng.below(sizeof interesting)]
                           : static_cast<char>(rng.below(256));
          break;
        case 1: // insert
          s.insert(pos, 1, interesting[rng.below(sizeof interesting)]);
          break;
        case 2: // delete
          if (pos < s.size())
            s.erase(pos, 1 + rng.below(3));
          break;
        case 3: // splice a known fragment
          s.insert(pos, splices[rng.below(splices.size())]);
          break;
        case 4: // duplicate a slice
          if (pos < s.size())
            s.insert(pos, s.substr(pos, 1 + rng.below(20)));
          break;
        default: // truncate
          s.resize(pos);
          break;
        }
      }
      const limits lim = iter % 4 == 3 ? small : limits{};
      const auto expected = one_shot(s, lim);
      auto same = [&](const std::string& got, const char* how) {
        if (got != expected) {
          if (mismatches++ == 0)
            first_failure = std::string(how) + " input=" + s +
                            "\nexpected=" + expected + "\ngot=" + got;
        }
      };
      same(byte_by_byte(s, lim), "byte_by_byte");
      same(split_at(s, rng.below(s.size() + 1), lim), "split");
      if (iter % 8 == 0)
        same(reallocating(s, 1 + rng.below(5), lim), "reallocating");
      request_parser p(lim);
      const auto st = p.parse(s);
      if (st == parse_status::complete) {
        ++completes;
        const auto why = check_invariants(s, p);
        if (!why.empty() && invariant_failures++ == 0 && first_failure.empty())
          first_failure = "invariant " + why + " input=" + s;
      } else if (st == parse_status::reject) {
        ++rejects;
      }
    }
    INFO(first_failure);
    CHECK(mismatches == 0);
    CHECK(invariant_failures == 0);
    // The loop must exercise both sides.
    CHECK(completes > 1000);
    CHECK(rejects > 1000);
  }

} // TEST_SUITE
