#pragma once

#include <roadrunner/http1/parser.hpp>
#include <roadrunner/stats.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace roadrunner {

/// The remote end of a connection.
struct peer_address {
  /// Numeric address, e.g. "127.0.0.1" or "::1".
  std::string ip;
  uint16_t port = 0;
};

/// Facts about the connection a request arrived on; owned by the connection.
struct connection_info {
  peer_address peer;
  /// "http" or "https".
  std::string_view scheme = "http";
  /// The listener's name as given to `start_listener`.
  std::string_view listener_name;
  /// The listener's live counters.
  const listener_stats* stats = nullptr;
};

/// One HTTP request as seen by a handler.
///
/// Every view (method, target, headers, body) points into the connection's
/// read buffer and is valid only while the handler runs. Copy what must
/// outlive the call. Runs on: the connection's reactor thread.
class request {
public:
  /// Built by the connection; not meant to be constructed by users.
  request(const http1::request_head& head, std::string_view body,
          const connection_info& conn) noexcept
    : head_(&head), body_(body), conn_(&conn) {}

  /// The method token, case-sensitive ("GET").
  std::string_view method() const noexcept { return head_->method; }

  /// The request target as sent ("/path?query").
  std::string_view target() const noexcept { return head_->target; }

  /// The target up to the first '?' (not percent-decoded).
  std::string_view path() const noexcept { return head_->path; }

  /// The target after the first '?' (empty when absent).
  std::string_view query() const noexcept { return head_->query; }

  /// "HTTP/1.1" or "HTTP/1.0".
  std::string_view version() const noexcept {
    return head_->version_minor == 1 ? "HTTP/1.1" : "HTTP/1.0";
  }

  /// All header fields in wire order, duplicates kept; values OWS-trimmed.
  std::span<const http1::header_field> headers() const noexcept {
    return head_->headers;
  }

  /// The first header field named `name` (ASCII case-insensitive).
  std::optional<std::string_view> header(std::string_view name) const noexcept {
    return head_->find(name);
  }

  /// The request body (empty when the request had none).
  std::string_view body() const noexcept { return body_; }

  /// The remote address of the connection.
  const peer_address& peer() const noexcept { return conn_->peer; }

  /// "http" or "https".
  std::string_view scheme() const noexcept { return conn_->scheme; }

  /// The name of the listener that accepted the connection.
  std::string_view listener_name() const noexcept {
    return conn_->listener_name;
  }

  /// A snapshot of the listener's counters (what `info` answers).
  listener_info listener_stats() const noexcept {
    return conn_->stats != nullptr ? conn_->stats->snapshot() : listener_info{};
  }

private:
  const http1::request_head* head_;
  std::string_view body_;
  const connection_info* conn_;
};

} // namespace roadrunner
