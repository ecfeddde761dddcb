// The wire format of handler-actor messages (issue 17 item 3): an
// http_request and a response through CAF's binary serializer and back,
// every field compared.

#include <roadrunner/detail/request_access.hpp>
#include <roadrunner/handler_actor.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace roadrunner;

namespace {

template <class T>
T round_trip(caf::actor_system& sys, T& in) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto err = sink(in);
  REQUIRE(!err);
  T out;
  caf::binary_deserializer source{sys, buf};
  err = source(out);
  REQUIRE(!err);
  return out;
}

} // namespace

TEST_SUITE("actors.remote") {

  TEST_CASE("an http_request crosses the wire with every field") {
    caf::actor_system_config cfg;
    add_remote_types(cfg);
    caf::actor_system sys{cfg};
    request_head head;
    head.method = "POST";
    head.target = "/users/42?full=1";
    head.path = "/users/42";
    head.query = "full=1";
    head.headers = {{"host", "a.test"}, {"x-one", "1"}, {"x-one", "2"}};
    head.framing = body_framing::content_length;
    head.content_length = 4;
    detail::connection_info info;
    info.peer = {"192.0.2.7", 4242};
    info.scheme = "https";
    info.listener_name = "api";
    request r{head, "ping", info};
    path_bindings b;
    b.push("id", "42");
    detail::request_access::bindings(r, b);
    detail::request_access::request_id(r, uint64_t{0xabc});
    http_request msg{owned_request::make(r), {}, {}};
    auto out = round_trip(sys, msg);
    REQUIRE(out.req);
    CHECK(out->method() == "POST");
    CHECK(out->target() == "/users/42?full=1");
    CHECK(out->path() == "/users/42");
    CHECK(out->query() == "full=1");
    CHECK(out->version() == "HTTP/1.1");
    REQUIRE(out->headers().size() == 3);
    CHECK(out->headers()[2].value == "2");
    CHECK(out->header("host") == "a.test");
    CHECK(out->body() == "ping");
    CHECK(out->content_length() == 4u);
    CHECK(out->binding("id") == "42");
    CHECK(out->param<int>("id").value_or(0) == 42);
    CHECK(out->peer().ip == "192.0.2.7");
    CHECK(out->peer().port == 4242);
    CHECK(out->scheme() == "https");
    CHECK(out->listener_name() == "api");
    CHECK(out->request_id() == "0000000000000abc");
    CHECK_FALSE(out.reply); // no agent: no remote responder
  }

  TEST_CASE("an HTTP/2 request keeps its version") {
    caf::actor_system_config cfg;
    add_remote_types(cfg);
    caf::actor_system sys{cfg};
    request_head head;
    head.method = "GET";
    head.target = head.path = "/";
    head.version_major = 2;
    head.version_minor = 0;
    detail::connection_info info;
    request r{head, {}, info};
    http_request msg{owned_request::make(r), {}, {}};
    auto out = round_trip(sys, msg);
    CHECK(out->version() == "HTTP/2");
    CHECK_FALSE(out->content_length());
  }

  TEST_CASE("a response crosses the wire: typed, plain, deferred, file") {
    caf::actor_system_config cfg;
    add_remote_types(cfg);
    caf::actor_system sys{cfg};
    auto json = response::json(201, R"({"a":1})");
    json.header("x-id", "7");
    auto j = round_trip(sys, json);
    CHECK(j.status() == 201);
    CHECK(j.content_type() == "application/json");
    CHECK(j.body() == R"({"a":1})");
    REQUIRE(j.fields().size() == 1);
    CHECK(j.fields()[0].value == "7");
    response plain{204};
    plain.header("content-type", "text/x-custom");
    auto p = round_trip(sys, plain);
    CHECK(p.status() == 204);
    CHECK(p.content_type().empty());
    CHECK(p.fields()[0].value == "text/x-custom");
    auto deferred = response::deferred();
    CHECK(round_trip(sys, deferred).is_deferred());
    // A file lives on its node: the other side answers 500.
    auto file = response::file(200, "/etc/hostname", "text/plain");
    if (file.file_body() != nullptr)
      CHECK(round_trip(sys, file).status() == 500);
  }
}
