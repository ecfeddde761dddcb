#pragma once

// A request as the connection builds it (method, target, fields, body), for
// unit tests that call routers, middlewares and handlers without a socket.

#include <roadrunner/detail/request_access.hpp>
#include <roadrunner/request.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rrtest {

struct fake_request {
  roadrunner::request_head head;
  roadrunner::detail::connection_info conn;
  std::string body_bytes;
  roadrunner::request req;

  explicit fake_request(std::string_view method, std::string_view target,
                        std::vector<roadrunner::header_field> fields = {},
                        std::string body = {})
    : head(make_head(method, target, std::move(fields))),
      body_bytes(std::move(body)), req(head, body_bytes, conn) {}

  static roadrunner::request_head
  make_head(std::string_view method, std::string_view target,
            std::vector<roadrunner::header_field> fields) {
    roadrunner::request_head h;
    h.method = method;
    h.target = target;
    auto q = target.find('?');
    h.path = target.substr(0, q);
    h.query =
      q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
    h.headers = std::move(fields);
    return h;
  }

  /// Binds the route parameter `name` to `raw` (as the router would).
  fake_request& bind(std::string_view name, std::string_view raw) {
    roadrunner::path_bindings b;
    b.push(name, raw);
    roadrunner::detail::request_access::bindings(req, b);
    return *this;
  }
};

} // namespace rrtest
