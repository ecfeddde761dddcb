#include "http1/serializer.hpp"

#include "date_cache.hpp"
#include "http1/chars.hpp"
#include <roadrunner/response.hpp>

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using namespace roadrunner;
using namespace roadrunner::http1;

TEST_SUITE("http1.serializer") {

  TEST_CASE("a text response gets date, content-type and content-length") {
    std::string out;
    auto r = response::text(200, "Hello, World!");
    write_head(out, r, r.body().size(), "Mon, 23 Nov 2026 10:00:00 GMT",
               connection_field::none);
    CHECK(out == "HTTP/1.1 200 OK\r\n"
                 "date: Mon, 23 Nov 2026 10:00:00 GMT\r\n"
                 "content-type: text/plain; charset=utf-8\r\n"
                 "content-length: 13\r\n\r\n");
  }

  TEST_CASE("user fields come first; framing and connection are the server's") {
    std::string out;
    auto r = response::json(201, "{}")
               .header("x-a", "1")
               .header("Content-Length", "999")
               .header("transfer-encoding", "chunked")
               .header("Connection", "keep-alive");
    write_head(out, r, 2, "D", connection_field::close);
    CHECK(out == "HTTP/1.1 201 Created\r\n"
                 "date: D\r\n"
                 "x-a: 1\r\n"
                 "content-type: application/json\r\n"
                 "content-length: 2\r\n"
                 "connection: close\r\n\r\n");
  }

  TEST_CASE("a 304 has no content-length (RFC 9110 8.6)") {
    std::string out;
    write_head(out, response::status_only(304), 0, "D", connection_field::none);
    CHECK(out == "HTTP/1.1 304 Not Modified\r\ndate: D\r\n\r\n");
  }

  TEST_CASE("HTTP/1.0 keep-alive is echoed; 204 has no content-length") {
    std::string out;
    write_head(out, response::status_only(204), 0, "D",
               connection_field::keep_alive);
    CHECK(out == "HTTP/1.1 204 No Content\r\ndate: D\r\n"
                 "connection: keep-alive\r\n\r\n");
  }

  TEST_CASE("an unknown status has an empty reason phrase (RFC 9112 4)") {
    std::string out;
    write_head(out, response::status_only(299), 0, "D", connection_field::none);
    CHECK(out.rfind("HTTP/1.1 299 \r\n", 0) == 0);
    CHECK(reason_phrase(431) == "Request Header Fields Too Large");
  }

  TEST_CASE("framework errors are empty and close the connection") {
    std::string out;
    write_error(out, 414, "D");
    CHECK(out == "HTTP/1.1 414 URI Too Long\r\ndate: D\r\n"
                 "content-length: 0\r\nconnection: close\r\n\r\n");
  }

  TEST_CASE("CR, LF or NUL in a header, or a bad status, is not writable") {
    CHECK(is_writable(response::text(200, "x").header("a", "b")));
    CHECK_FALSE(is_writable(response::text(200, "x").header("a", "b\r\nc: d")));
    CHECK_FALSE(is_writable(response::text(200, "x").header("a\n", "b")));
    CHECK_FALSE(is_writable(
      response::text(200, "x").header("a", std::string{"b\0c", 3})));
    CHECK_FALSE(is_writable(response::text(200, "x").header("", "b")));
    CHECK_FALSE(is_writable(response::status_only(99)));
    CHECK_FALSE(is_writable(response::status_only(100))); // 1xx is not final
    CHECK_FALSE(is_writable(response::status_only(101)));
    CHECK_FALSE(
      is_writable(response::text(200, "x").header("content-length ", "1")));
    CHECK_FALSE(is_writable(response::text(200, "x").header("a b", "1")));
    CHECK_FALSE(is_writable(response::text(200, "x").header("a", "b\x7f")));
    CHECK_FALSE(is_writable(response::text(200, "x").header("a", "b\x01")));
    CHECK(is_writable(response::text(200, "x").header("a", "b\tc \xc3\xa9")));
    CHECK_FALSE(is_writable(response::status_only(1000)));
  }

  TEST_CASE("connection tokens are found case-insensitively in lists") {
    CHECK(has_token("close", "close"));
    CHECK(has_token("keep-alive, Close", "close"));
    CHECK(has_token(" upgrade ,\tCLOSE ", "close"));
    CHECK_FALSE(has_token("closed", "close"));
    CHECK_FALSE(has_token("", "close"));
    CHECK(iequals("Content-Length", "content-length"));
    CHECK_FALSE(iequals("content-length", "content-lengtH1"));
  }

  TEST_CASE("the date is IMF-fixdate (RFC 9110 5.6.7)") {
    char buf[29];
    format_http_date(0, buf);
    CHECK(std::string(buf, 29) == "Thu, 01 Jan 1970 00:00:00 GMT");
    format_http_date(1795428000, buf); // 2026-11-23 10:00:00 UTC
    CHECK(std::string(buf, 29) == "Mon, 23 Nov 2026 10:00:00 GMT");
    CHECK(http_date().size() == 29);
  }

  TEST_CASE("iequals folds ASCII case only, in and after whole words") {
    struct row {
      std::string_view a, b;
      bool equal;
    };
    // Differences in the first word, in a later word and in the tail (the
    // word-at-a-time compare stops at the first differing word and folds
    // from there).
    const row rows[] = {
      {"", "", true},
      {"vary", "VARY", true},
      {"content-length", "Content-Length", true},
      {"content-length", "content-lengtH", true},
      {"transfer-encoding", "TRANSFER-ENCODING", true},
      {"transfer-encoding", "transfer-encodinh", false},
      {"content-length", "content-lengt", false},
      {"accept-encoding", "accept-Encodinf", false},
      {"abcdefgh", "abcdefgi", false},
      {"abcdefghijklmnop", "abcdefghijklmnoP", true},
      {"@[`{", "`{@[", false}, // neighbours of the letter ranges don't fold
      {"\xc3\xa9", "\xc3\x89", false}, // no folding beyond ASCII
    };
    for (const auto& r : rows) {
      CAPTURE(r.a);
      CAPTURE(r.b);
      CHECK(iequals(r.a, r.b) == r.equal);
      CHECK(iequals(r.b, r.a) == r.equal);
    }
  }

  TEST_CASE("tokens and field values are checked byte by byte, every offset") {
    // A bad byte at every position of names and values longer than a word.
    const std::string name = "x-custom-field-name";
    const std::string value = "some value\twith tab, obs-text \xff and more";
    CHECK(is_token(name));
    CHECK(is_field_value(value));
    CHECK_FALSE(is_token(""));
    CHECK(is_field_value(""));
    for (size_t i = 0; i < name.size(); ++i) {
      for (char bad : {' ', ':', '"', '\x7f', '\0', '\xc3'}) {
        auto n = name;
        n[i] = bad;
        CAPTURE(i);
        CHECK_FALSE(is_token(n));
      }
    }
    for (size_t i = 0; i < value.size(); ++i) {
      for (char bad : {'\r', '\n', '\0', '\x7f', '\x1f'}) {
        auto v = value;
        v[i] = bad;
        CAPTURE(i);
        CHECK_FALSE(is_field_value(v));
        auto r = response::text(200, "x").header("x-a", v);
        CHECK_FALSE(is_writable(r));
      }
    }
    CHECK(is_writable(response::text(200, "x").header("x-a", value)));
  }
} // TEST_SUITE
