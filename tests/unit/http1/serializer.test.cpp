#include "http1/serializer.hpp"

#include "date_cache.hpp"
#include <roadrunner/response.hpp>

#include <doctest/doctest.h>

#include <string>

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

} // TEST_SUITE
