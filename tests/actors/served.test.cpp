// requests_served counts the same on HTTP/1.1 and HTTP/2 for every status
// (issue 12 item 3). The rule (stats.hpp, request_lifecycle.hpp `dispatch`
// and `reject`): a request counts once it is dispatched to its handler,
// whatever the answer, or when it is refused after its head was complete
// (408, 413); a malformed head (400, 431) does not count. Each row sends one
// request of its kind to a fresh HTTP/1.1 listener and to a fresh h2c listener.

#include "fixture.hpp"
#include "lifecycle.hpp"
#include "net.hpp"
#include <roadrunner/roadrunner.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace rrtest;
using namespace roadrunner;
using namespace std::chrono_literals;

namespace {

struct served_case {
  const char* what;
  int status;
  /// requests_served after the row's requests (the documented rule).
  uint64_t counted;
  /// HTTP/1.1: sends the row's request(s) and checks the answer.
  std::function<void(fixture&, const listener_actor&, uint16_t)> h1;
  /// HTTP/2: h2_script.py commands; the answer is stream `sid`'s.
  std::vector<std::string> h2;
  int sid = 1;
};

// One raw request on a fresh connection; its answer's status (0: none).
int h1_status(uint16_t port, const std::string& req) {
  client c{port};
  if (!c.send(req))
    return 0;
  auto r = c.read_response(10s);
  return r ? r->status : 0;
}

std::function<void(fixture&, const listener_actor&, uint16_t)>
h1_one(std::string req, int status) {
  return [req = std::move(req), status](fixture&, const listener_actor&,
                                        uint16_t port) {
    CHECK(h1_status(port, req) == status);
  };
}

const std::string post_head = "POST /ok HTTP/1.1\r\nHost: t\r\n";

const std::vector<served_case> cases{
  {"a handler's answer",
   200,
   1,
   h1_one(get_req("/ok"), 200),
   {"get", "1", "/ok", "wait", "1"}},
  {"no route",
   404,
   1,
   h1_one(get_req("/nope"), 404),
   {"get", "1", "/nope", "wait", "1"}},
  {"a method the route does not serve",
   405,
   1,
   h1_one("DELETE /ok HTTP/1.1\r\nHost: t\r\n\r\n", 405),
   {"method", "1", "DELETE", "/ok", "wait", "1"}},
  {"a throwing handler",
   500,
   1,
   h1_one(get_req("/boom"), 500),
   {"get", "1", "/boom", "wait", "1"}},
  {"over max_concurrent_requests (with the request holding the slot)",
   503,
   2,
   [](fixture& fx, const listener_actor& l, uint16_t port) {
     client holder{port};
     REQUIRE(holder.send(get_req("/hold")));
     REQUIRE(eventually([&] { return fx.info_of(l).in_flight == 1; }));
     CHECK(h1_status(port, get_req("/hold")) == 503);
   },
   {"get", "1", "/hold", "get", "3", "/hold", "wait", "3"},
   3},
  {"a body over max_content_length (from Content-Length)",
   413,
   1,
   h1_one(post_head + "Content-Length: 2000\r\n\r\n", 413),
   {"open", "1", "/ok", "2000", "wait", "1"}},
  {"a body that stops coming (request_timeout)",
   408,
   1,
   h1_one(post_head + "Content-Length: 10\r\n\r\nxx", 408),
   {"open", "1", "/ok", "10", "data", "1", "2", "wait", "1"}},
  {"a malformed head",
   400,
   0,
   h1_one("GET /ok HTTP/1.1\r\nHost: t\r\nbad header\r\n\r\n", 400),
   {"badpath", "1", "wait", "1"}},
  {"a header section over the limits",
   431,
   0,
   h1_one(get_req("/ok", "x-big: " + std::string(9000, 'a') + "\r\n"), 431),
   {"big", "1", "/ok", "40000", "wait", "1"}},
};

// request_timeout: short only where a row waits for it (408); the others
// get time to spare, since a loaded machine can take longer than that
// between the connect and the last byte of a 40 KB header block.
listener_options served_options(proto p, keeper<responder>& held,
                                std::chrono::milliseconds request_timeout) {
  auto opts = options_for(p);
  opts.max_content_length = 1000;
  opts.request_timeout = request_timeout;
  opts.min_bytes_per_second = 0;
  opts.max_concurrent_requests = 1;
  opts.routes = route_list{
    route_of("/ok", ok),
    route_of("/boom",
             [](request&) -> response { throw std::runtime_error("boom"); }),
    route_of("/hold",
             [&held](request& req) {
               held.put(req.defer());
               return response::deferred();
             }),
  };
  return opts;
}

} // namespace

TEST_SUITE("lifecycle.served") {

  TEST_CASE("requests_served: the same count on HTTP/1.1 and HTTP/2 for "
            "every status") {
    for (auto& row : cases) {
      INFO(row.status << ": " << std::string{row.what});
      fixture fx;
      keeper<responder> held;
      auto timeout = row.status == 408 ? 500ms : 10000ms;
      auto h1 = fx.start(served_options(proto::h1, held, timeout));
      auto h2 = fx.start(served_options(proto::h2, held, timeout));
      row.h1(fx, h1, fx.port_of(h1));
      auto out = h2_script(fx.port_of(h2), row.h2);
      INFO(out);
      auto st = stream_of(out, row.sid);
      if (row.status == 400) {
        // HTTP/2: a malformed request is a stream error (RFC 9113 8.1.1).
        CHECK(st.reset == h2_protocol_error);
      } else {
        CHECK(st.status == row.status);
      }
      auto on_h1 = fx.info_of(h1).requests_served;
      auto on_h2 = fx.info_of(h2).requests_served;
      CHECK(on_h1 == on_h2);
      CHECK(on_h1 == row.counted);
      CHECK(on_h2 == row.counted);
      held.clear();
    }
  }
}
