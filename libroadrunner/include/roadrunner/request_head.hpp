#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace roadrunner {

/// One header field. `value` is OWS-trimmed; `name` is as received (HTTP/1.1:
/// as on the wire; HTTP/2: lowercase, as RFC 9113 8.2.1 requires).
struct header_field {
  /// The field name.
  std::string_view name;
  /// The field value.
  std::string_view value;
};

/// How the request body is delimited (RFC 9112 6.3). An HTTP/2 stream is
/// `content_length` when it carries the field, else `none`: its body, if
/// any, ends with the stream.
enum class body_framing : uint8_t { none, content_length, chunked };

/// A request head in a form common to HTTP/1.1 and HTTP/2: what the HTTP/1.1
/// parser and the HTTP/2 engine both produce and `request` reads. Every view
/// points into the connection's buffers and is valid while they are unchanged.
struct request_head {
  /// Case-sensitive token, e.g. "GET".
  std::string_view method;
  /// As sent, never empty (HTTP/2: `:path`, or the authority for CONNECT).
  std::string_view target;
  /// The target up to the first '?' (raw, not percent-decoded).
  std::string_view path;
  /// After the first '?', without it; empty if none.
  std::string_view query;
  /// 0 (HTTP/1.0) or 1 (HTTP/1.1); 0 for HTTP/2.
  uint8_t version_minor = 1;
  /// 1, or 2 for an HTTP/2 stream.
  uint8_t version_major = 1;
  /// Wire order, duplicates kept (HTTP/2: pseudo-header fields left out).
  std::vector<header_field> headers;
  /// How the body is delimited.
  body_framing framing = body_framing::none;
  /// Valid when `framing == content_length`.
  uint64_t content_length = 0;
  /// RFC 9112 9.3: HTTP/1.1 unless a "close" token is in Connection;
  /// HTTP/1.0 only with a "keep-alive" token (and no "close").
  bool keep_alive = false;
  /// "Expect: 100-continue" (case-insensitive) on an HTTP/1.1 request; an
  /// HTTP/1.0 request's expectation is ignored (RFC 9110 10.1.1).
  bool expect_continue = false;
  /// The Host field (HTTP/2: `:authority`); empty if absent or empty.
  std::string_view host;
  /// HTTP/2 extended CONNECT (RFC 8441): its `:protocol` ("websocket");
  /// `method` is then "GET". Empty otherwise.
  std::string_view connect_protocol;

  /// The value of the first field named `name` (ASCII case-insensitive), or
  /// nullopt when there is none.
  std::optional<std::string_view> find(std::string_view name) const noexcept;
};

} // namespace roadrunner
