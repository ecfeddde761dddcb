#pragma once

// Testing routes and handler actors in-process: a listener on an ephemeral
// loopback port and a blocking HTTP/1.1 client for it.
//
//     roadrunner::system_config cfg;
//     caf::actor_system sys{cfg};
//     roadrunner::testing::test_listener srv{sys, my_options()};
//     auto res = srv.get("/users/42");
//     CHECK(res && res->status == 200 && res->body == R"({"id":42})");
//
// Runs on: the calling thread (a test's main thread; it blocks, so never
// call it from an actor).

#include <roadrunner/listener.hpp>
#include <roadrunner/options.hpp>

#include <caf/expected.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roadrunner::testing {

/// One response as the client read it.
struct reply {
  /// The status code, e.g. 200.
  int status = 0;
  /// Header fields in order, names lowercased.
  std::vector<std::pair<std::string, std::string>> headers;
  /// The body (a chunked body decoded).
  std::string body;

  /// The first field named `name` (lowercase), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
};

/// Header fields to send with a request.
using field_list = std::vector<std::pair<std::string, std::string>>;

/// A listener started with the caller's options on 127.0.0.1 and an
/// ephemeral port (overriding `port` and `bind_address`) under a unique
/// name, stopped by the destructor.
class test_listener {
public:
  /// Starts the listener; throws `std::runtime_error` with the rendered
  /// error (e.g. "invalid_listener_opt(...)") when it does not start.
  test_listener(caf::actor_system& sys, listener_options opts);

  ~test_listener();

  test_listener(const test_listener&) = delete;
  test_listener& operator=(const test_listener&) = delete;

  /// The bound port.
  uint16_t port() const noexcept { return port_; }

  /// The listener, for its messages (`info_of(sys, srv.actor())`, ...).
  const listener_actor& actor() const noexcept { return actor_; }

  /// Sends one request on a new connection (HTTP/1.1 with `Host` and
  /// `Connection: close`, plus `Content-Length` when there is a body) and
  /// reads the response until the server closes. Errors
  /// (`caf::sec::runtime_error` with a reason): the connection failed, the
  /// answer did not come within `timeout`, or it was not HTTP.
  caf::expected<reply>
  request(std::string_view method, std::string_view target,
          const field_list& fields = {}, std::string_view body = {},
          std::chrono::milliseconds timeout = std::chrono::seconds{5});

  /// `request("GET", target)`.
  caf::expected<reply> get(std::string_view target) {
    return request("GET", target);
  }

private:
  caf::actor_system& sys_;
  listener_actor actor_;
  uint16_t port_ = 0;
};

} // namespace roadrunner::testing
