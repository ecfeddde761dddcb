#pragma once

#include <roadrunner/file_body.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roadrunner {

/// RFC 9110 6.4.1: 1xx, 204 and 304 responses carry no content (whatever
/// the body, none is sent, and 204/304 announce no length). The one copy of
/// the rule, for every protocol.
constexpr bool allows_content(int status) noexcept {
  return status >= 200 && status != 204 && status != 304;
}

/// A buffered HTTP response: status, header fields and a body.
///
/// The server adds `content-length` (from the body size) and a cached `date`
/// automatically; a handler never frames the body itself. Header names and
/// values must not contain CR, LF or NUL: the server refuses such a response
/// with a 500 instead of writing it (no header injection).
class response {
public:
  /// One response header field. Names are written as given (use lowercase).
  struct field {
    /// The field name (lowercase).
    std::string name;
    /// The field value.
    std::string value;
  };

  response() = default;

  /// A response with `status` and an empty body.
  explicit response(int status) : status_(status) {}

  /// `text/plain; charset=utf-8` body.
  static response text(int status, std::string body);

  /// `text/html; charset=utf-8` body.
  static response html(int status, std::string body);

  /// `application/json` body; `body` must already be serialized JSON.
  static response json(int status, std::string body);

  /// A bare status with an empty body (`content-length: 0`).
  static response status_only(int status) { return response{status}; }

  /// A file range as the body, sent with `sendfile(2)`: `length` < 0 means
  /// to the end of the file. A missing file gives a 404, an unreadable one
  /// 403, a range outside the file 416 (plain-text bodies).
  static response file(int status, const std::string& path,
                       std::string_view content_type, uint64_t offset = 0,
                       int64_t length = -1);

  /// An already opened file range as the body (see `file_body`'s adopting
  /// constructor), with `content_type` (may be empty: no field).
  static response file(int status, file_body_ptr body,
                       std::string content_type);

  /// The marker a handler returns after `request::defer()`: the request is
  /// answered later through the responder. Middlewares around the handler
  /// see this marker; header fields they add to it are merged into the
  /// final response (appended after the responder's own fields).
  static response deferred() {
    response r{0};
    r.deferred_ = true;
    return r;
  }

  /// True for `deferred()`.
  bool is_deferred() const noexcept { return deferred_; }

  /// The file body set by `file`, or nullptr.
  const file_body_ptr& file_body() const noexcept { return file_; }

  /// The size of the body to announce in `content-length`.
  uint64_t body_size() const noexcept {
    return file_ ? file_->length() : body_.size();
  }

  /// A redirect (301, 302, 303, 307 or 308) to `location`, with a short
  /// plain-text body. A location with CR, LF or NUL makes the response
  /// unwritable (the server answers 500 instead: no header injection).
  static response redirect(int status, std::string location);

  /// Options of `set_cookie` (RFC 6265 4.1).
  struct cookie_options {
    /// `Path` attribute; empty: not sent.
    std::string path = "/";
    /// `Domain` attribute; empty: not sent.
    std::string domain;
    /// Max-Age in seconds; negative = a session cookie (no Max-Age).
    long long max_age = -1;
    /// `Secure` attribute (HTTPS only).
    bool secure = false;
    /// `HttpOnly` attribute (not readable from scripts).
    bool http_only = true;
    /// "Strict", "Lax", "None" or empty (not sent).
    std::string same_site = "Lax";
  };

  /// Appends a `set-cookie` field. The name must be a token and the value
  /// cookie-octets (RFC 6265 4.1.1); otherwise nothing is added and the
  /// function returns false.
  bool set_cookie(std::string_view name, std::string_view value,
                  const cookie_options& opts);

  /// `set_cookie` with the default options.
  bool set_cookie(std::string_view name, std::string_view value) {
    return set_cookie(name, value, cookie_options{});
  }

  /// Appends a header field and returns `*this` for chaining.
  response& header(std::string name, std::string value) {
    fields_.push_back(field{std::move(name), std::move(value)});
    return *this;
  }

  /// Replaces the body.
  response& body(std::string data) {
    body_ = std::move(data);
    return *this;
  }

  /// The status code (100..999 is written as-is; see the serializer).
  int status() const noexcept { return status_; }

  /// Header fields in insertion order, excluding `content-type` when set by
  /// the typed helpers (see `content_type()`).
  const std::vector<field>& fields() const noexcept { return fields_; }

  /// Header fields, for middlewares that rewrite or remove some.
  std::vector<field>& fields() noexcept { return fields_; }

  /// The content type set by `text`/`html`/`json` (a static string), or empty.
  std::string_view content_type() const noexcept { return content_type_; }

  /// The body bytes.
  const std::string& body() const noexcept { return body_; }

  /// Moves the body out (used by the connection to avoid a copy).
  std::string take_body() noexcept { return std::move(body_); }

private:
  response(int status, std::string_view type, std::string body)
    : status_(status), content_type_(type), body_(std::move(body)) {}

  int status_ = 200;
  std::string_view content_type_; // always a string literal
  std::vector<field> fields_;
  std::string body_;
  file_body_ptr file_;
  bool deferred_ = false;
};

} // namespace roadrunner
