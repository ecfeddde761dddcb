#include "http1/serializer.hpp"
#include <roadrunner/json.hpp>
#include <roadrunner/response.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace roadrunner;

namespace {

std::string field(const response& r, std::string_view name) {
  for (auto& f : r.fields())
    if (f.name == name)
      return f.value;
  return {};
}

} // namespace

TEST_SUITE("response") {

  TEST_CASE("redirect sets location and a short body") {
    auto r = response::redirect(302, "/login?next=%2F");
    CHECK(r.status() == 302);
    CHECK(field(r, "location") == "/login?next=%2F");
    CHECK(r.body() == "Redirecting to /login?next=%2F\n");
    CHECK(http1::is_writable(r));
    // CR/LF in the location cannot inject a header: the response is refused.
    CHECK_FALSE(
      http1::is_writable(response::redirect(302, "/x\r\nset-cookie: a=b")));
  }

  TEST_CASE("set_cookie writes the attributes and refuses bad octets") {
    response r{200};
    CHECK(r.set_cookie("sid", "abc123"));
    CHECK(field(r, "set-cookie") ==
          "sid=abc123; Path=/; HttpOnly; SameSite=Lax");
    response s{200};
    response::cookie_options opts;
    opts.max_age = 3600;
    opts.secure = true;
    opts.http_only = false;
    opts.same_site = "Strict";
    opts.domain = "example.test";
    CHECK(s.set_cookie("t", "v", opts));
    CHECK(field(s, "set-cookie") ==
          "t=v; Path=/; Domain=example.test; Max-Age=3600; Secure; "
          "SameSite=Strict");
    response bad{200};
    CHECK_FALSE(bad.set_cookie("a b", "v"));       // name not a token
    CHECK_FALSE(bad.set_cookie("a", "x;y"));       // ';' not a cookie-octet
    CHECK_FALSE(bad.set_cookie("a", "x y"));       // nor SP
    CHECK_FALSE(bad.set_cookie("a", "v\r\nx: y")); // nor CR/LF
    opts.path = "/;evil";
    CHECK_FALSE(bad.set_cookie("a", "v", opts)); // attribute injection
    CHECK(bad.fields().empty());
  }

  TEST_CASE("json_response serializes nlohmann::json") {
    auto r = json_response(201, nlohmann::json{{"id", 7}, {"name", "a\"b"}});
    CHECK(r.status() == 201);
    CHECK(r.content_type() == "application/json");
    CHECK(r.body() == R"({"id":7,"name":"a\"b"})");
  }

} // TEST_SUITE
