#pragma once

#include <roadrunner/detail/connection_info.hpp>
#include <roadrunner/peer_address.hpp>
#include <roadrunner/request_head.hpp>
#include <roadrunner/stats.hpp>

#include <any>
#include <array>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace roadrunner {

class responder;
struct proxy_info; // <roadrunner/proxy_protocol.hpp>

namespace detail {
struct request_access;
} // namespace detail

// -- typed path parameters ----------------------------------------------------

/// Why `request::param` has no value.
enum class param_error : uint8_t {
  /// The route binds no parameter of that name.
  missing = 1,
  /// A '%' not followed by two hex digits (RFC 3986 2.1).
  bad_encoding,
  /// Not a number of the asked type (decimal digits, optional '-' for a
  /// signed type; nothing else, no spaces).
  not_a_number,
  /// A number outside the asked type's range.
  out_of_range,
};

/// "missing", "bad_encoding", "not_a_number" or "out_of_range".
const char* to_string(param_error x) noexcept;

/// A path parameter converted to `T`, or the reason it could not be:
/// `if (auto id = r.param<int64_t>("id")) use(*id); else
/// respond(400, to_string(id.error()))`.
template <class T>
class param_result {
public:
  /// A converted value.
  param_result(T value) : value_(std::move(value)) {} // NOLINT: implicit
  /// No value, for the reason `err`.
  param_result(param_error err) : err_(err) {} // NOLINT: implicit

  /// True when there is a value.
  explicit operator bool() const noexcept { return value_.has_value(); }
  /// True when there is a value.
  bool has_value() const noexcept { return value_.has_value(); }

  /// The value; only when `has_value()`.
  const T& operator*() const& noexcept { return *value_; }
  /// The value, moved out; only when `has_value()`.
  T&& operator*() && noexcept { return std::move(*value_); }
  /// Members of the value; only when `has_value()`.
  const T* operator->() const noexcept { return &*value_; }

  /// The value, or `fallback` when there is none.
  T value_or(T fallback) const& { return value_ ? *value_ : fallback; }

  /// Why there is no value (meaningless when there is one).
  param_error error() const noexcept { return err_; }

private:
  std::optional<T> value_;
  param_error err_ = param_error::missing;
};

/// Percent-decodes a path segment (RFC 3986 2.1: "%XX" is one byte; '+' is
/// a plus sign in a path), or nullopt when a '%' is not followed by two hex
/// digits.
std::optional<std::string> percent_decode(std::string_view raw);

/// One path binding: the name of a `:name` or `*name` segment of the matched
/// route and the raw (not percent-decoded) bytes of the path it matched.
/// `name` points into the compiled route table, `value` into the request.
struct path_binding {
  /// The binding's name, without the ':' or '*'.
  std::string_view name;
  /// The matched bytes of the path, raw.
  std::string_view value;
};

/// The bindings of one route match, in route order, stored inline (no heap):
/// at most `capacity` of them (the router rejects routes with more).
class path_bindings {
public:
  /// The most bindings one route may declare.
  static constexpr size_t capacity = 8;

  /// Appends a binding; returns false and stores nothing when full.
  bool push(std::string_view name, std::string_view value) noexcept {
    if (size_ == capacity)
      return false;
    items_[size_++] = path_binding{name, value};
    return true;
  }

  /// The value bound to `name` (byte-exact), or nullopt.
  std::optional<std::string_view> find(std::string_view name) const noexcept {
    for (size_t i = 0; i < size_; ++i)
      if (items_[i].name == name)
        return items_[i].value;
    return std::nullopt;
  }

  /// Forgets every binding.
  void clear() noexcept { size_ = 0; }

  /// Number of bindings.
  size_t size() const noexcept { return size_; }
  /// True when there is no binding.
  bool empty() const noexcept { return size_ == 0; }
  /// The first binding, in route order.
  const path_binding* begin() const noexcept { return items_.data(); }
  /// Past the last binding.
  const path_binding* end() const noexcept { return items_.data() + size_; }

  /// The bindings as a span.
  std::span<const path_binding> items() const noexcept {
    return {items_.data(), size_};
  }

private:
  std::array<path_binding, capacity> items_{};
  size_t size_ = 0;
};

/// One HTTP request as seen by a handler.
///
/// Every view (method, target, headers, body) points into the connection's
/// read buffer and is valid only while the handler runs. Copy what must
/// outlive the call. Runs on: the connection's reactor thread.
class request {
public:
  /// Built by the connection; not meant to be constructed by users.
  request(const request_head& head, std::string_view body,
          const detail::connection_info& conn) noexcept
    : head_(&head), body_(body), conn_(&conn) {}

  /// The method token, case-sensitive ("GET").
  std::string_view method() const noexcept { return head_->method; }

  /// The request target as sent ("/path?query").
  std::string_view target() const noexcept { return head_->target; }

  /// The target up to the first '?' (not percent-decoded).
  std::string_view path() const noexcept { return head_->path; }

  /// The target after the first '?' (empty when absent).
  std::string_view query() const noexcept { return head_->query; }

  /// "HTTP/1.1", "HTTP/1.0" or "HTTP/2".
  std::string_view version() const noexcept {
    if (head_->version_major == 2)
      return "HTTP/2";
    return head_->version_minor == 1 ? "HTTP/1.1" : "HTTP/1.0";
  }

  /// The `:protocol` of an HTTP/2 extended CONNECT (RFC 8441), e.g.
  /// "websocket": the HTTP/2 form of an HTTP/1.1 `Upgrade`, presented as a
  /// GET. Empty for every other request.
  std::string_view connect_protocol() const noexcept {
    return head_->connect_protocol;
  }

  /// All header fields in wire order, duplicates kept; values OWS-trimmed.
  std::span<const header_field> headers() const noexcept {
    return head_->headers;
  }

  /// The first header field named `name` (ASCII case-insensitive).
  std::optional<std::string_view> header(std::string_view name) const noexcept {
    return head_->find(name);
  }

  /// The request body (empty when the request had none).
  std::string_view body() const noexcept { return body_; }

  /// Replaces the body view (a middleware that decodes the body); `b` must
  /// stay valid until the pipeline call returns.
  void body(std::string_view b) noexcept { body_ = b; }

  /// The remote address of the connection.
  const peer_address& peer() const noexcept { return conn_->peer; }

  /// "http" or "https".
  std::string_view scheme() const noexcept { return conn_->scheme; }

  /// What the connection's PROXY protocol header said (include
  /// <roadrunner/proxy_protocol.hpp> to read it): the client and the
  /// address it reached at the proxy, v2 TLVs. Null when the listener does
  /// not take the PROXY protocol. `peer()` is already the proxied client.
  const std::shared_ptr<const proxy_info>& proxy() const noexcept {
    return conn_->proxy;
  }

  /// The name of the listener that accepted the connection.
  std::string_view listener_name() const noexcept {
    return conn_->listener_name;
  }

  /// A snapshot of the listener's counters (what `info` answers).
  listener_info listener_stats() const noexcept {
    return conn_->stats != nullptr ? conn_->stats->snapshot() : listener_info{};
  }

  // -- deferred responses -------------------------------------------------

  /// Takes the request out of the synchronous path: the handler returns
  /// `response::deferred()` and answers later through the responder (from
  /// any thread). Only during the handler call on the connection's thread;
  /// repeated calls return the same responder. Empty (false) for a request
  /// that cannot be deferred (a copy).
  responder defer() const;

  /// True when the body was not read before the handler ran
  /// (`body_buffering = manual` and the request has a body): pull it with
  /// `responder::read_body`.
  bool body_pending() const noexcept {
    return conn_->manual_body &&
           (head_->framing == body_framing::chunked ||
            (head_->framing == body_framing::content_length &&
             head_->content_length > 0));
  }

  /// The Content-Length of the request, when it has one.
  std::optional<uint64_t> content_length() const noexcept {
    if (head_->framing != body_framing::content_length)
      return std::nullopt;
    return head_->content_length;
  }

  // -- parsed helpers -----------------------------------------------------

  /// Every `name=value` pair of the query string in order, duplicates kept,
  /// percent-decoded with '+' meaning space (application/x-www-form-urlencoded,
  /// WHATWG URL 5.1). A pair without '=' has an empty value; empty pairs
  /// ("a=1&&b=2") are skipped; a '%' not followed by two hex digits is kept
  /// as is. Parsed on every call (nothing is cached): keep the result when
  /// it is needed more than once.
  std::vector<std::pair<std::string, std::string>> parse_query() const;

  /// The decoded value of the first query parameter whose decoded name is
  /// `name`, or nullopt. Same rules as `parse_query`; allocates only the
  /// result.
  std::optional<std::string> query_param(std::string_view name) const;

  /// The value of the first cookie named `name` (byte-exact) across every
  /// Cookie header field, or nullopt. Parsing follows what a user agent
  /// sends (RFC 6265 5.4, syntax in 4.2.1): pairs separated by ';', optional
  /// SP / HTAB around them, the name up to the first '='; a pair without
  /// '=' is skipped; a value wrapped in DQUOTEs is returned without them.
  /// Values are not decoded. No allocation; the view points into the header.
  std::optional<std::string_view> cookie(std::string_view name) const noexcept;

  /// Every cookie (name, value) in header order, by the rules of `cookie`.
  std::vector<std::pair<std::string_view, std::string_view>> cookies() const;

  // -- routing (set by the router before the pipeline runs) ---------------

  /// The raw bytes bound to the route's `:name` or `*name`, or nullopt.
  std::optional<std::string_view>
  binding(std::string_view name) const noexcept {
    return bindings_.find(name);
  }

  /// The route's `:name` (or `*name`) parameter, percent-decoded and
  /// converted: `std::string` (the default) or any integer type (decimal;
  /// `param_error::not_a_number` / `out_of_range` otherwise); the error
  /// `missing` when the route binds no such name, `bad_encoding` for a bad
  /// '%' escape. Allocates only for a decoded string.
  template <class T = std::string>
  requires std::same_as<T, std::string> || std::integral<T> param_result<T>
  param(std::string_view name)
  const {
    auto raw = bindings_.find(name);
    if (!raw)
      return param_error::missing;
    auto text = percent_decode(*raw);
    if (!text)
      return param_error::bad_encoding;
    if constexpr (std::same_as<T, std::string>) {
      return std::move(*text);
    } else {
      static_assert(!std::same_as<T, bool>, "param<bool> is not supported");
      T out{};
      auto* first = text->data();
      auto* last = first + text->size();
      auto [end, ec] = std::from_chars(first, last, out);
      if (ec == std::errc::result_out_of_range)
        return param_error::out_of_range;
      if (ec != std::errc{} || end != last || text->empty())
        return param_error::not_a_number;
      return out;
    }
  }

  /// All bindings of the matched route, in route order.
  const path_bindings& bindings() const noexcept { return bindings_; }

  /// The matched route's state; an empty `std::any` when the route has none
  /// or no route matched. Owned by the compiled route table, which outlives
  /// the pipeline call.
  const std::any& state() const noexcept {
    return state_ != nullptr ? *state_ : no_state_;
  }

  /// The route's state as a `T` when it holds exactly a `T`, else nullptr.
  template <class T>
  const T* state_as() const noexcept {
    return std::any_cast<T>(&state());
  }

  // -- request id (set by the connection) ---------------------------------

  /// The request id (16 lowercase hex digits when set from a number); empty
  /// until the connection sets it.
  std::string_view request_id() const noexcept {
    return {id_.data(), id_size_};
  }

private:
  friend struct detail::request_access;

  static inline const std::any no_state_{};

  const request_head* head_;
  std::string_view body_;
  const detail::connection_info* conn_;
  const std::any* state_ = nullptr;
  path_bindings bindings_;
  std::array<char, 16> id_{};
  size_t id_size_ = 0;
};

} // namespace roadrunner
