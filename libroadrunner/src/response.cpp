#include "http1/chars.hpp"
#include <roadrunner/response.hpp>

#include <string>

namespace roadrunner {

response response::text(int status, std::string body) {
  return response{status, "text/plain; charset=utf-8", std::move(body)};
}

response response::html(int status, std::string body) {
  return response{status, "text/html; charset=utf-8", std::move(body)};
}

response response::json(int status, std::string body) {
  return response{status, "application/json", std::move(body)};
}

response response::file(int status, const std::string& path,
                        std::string_view content_type, uint64_t offset,
                        int64_t length) {
  auto body = std::make_shared<roadrunner::file_body>(path, offset, length);
  switch (body->error()) {
  case 0:
    break;
  case 404:
    return text(404, "Not Found\n");
  case 403:
    return text(403, "Forbidden\n");
  case 416:
    return text(416, "Range Not Satisfiable\n");
  default:
    return text(500, "Internal Server Error\n");
  }
  response r{status};
  r.header("content-type", std::string{content_type});
  r.file_ = std::move(body);
  return r;
}

response response::file(int status, file_body_ptr body,
                        std::string content_type) {
  response r{status};
  if (!content_type.empty())
    r.header("content-type", std::move(content_type));
  r.file_ = std::move(body);
  return r;
}

response response::redirect(int status, std::string location) {
  auto r = text(status, "Redirecting to " + location + "\n");
  r.header("location", std::move(location));
  return r;
}

namespace {

bool is_cookie_octet(unsigned char c) noexcept {
  // RFC 6265 4.1.1: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
  return c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) ||
         (c >= 0x3C && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

bool is_attribute_text(std::string_view x) noexcept {
  for (unsigned char c : x)
    if (c < 0x20 || c == 0x7F || c == ';')
      return false;
  return true;
}

} // namespace

bool response::set_cookie(std::string_view name, std::string_view value,
                          const cookie_options& opts) {
  if (!http1::is_token(name))
    return false;
  for (unsigned char c : value)
    if (!is_cookie_octet(c))
      return false;
  if (!is_attribute_text(opts.path) || !is_attribute_text(opts.domain) ||
      !is_attribute_text(opts.same_site))
    return false;
  std::string out{name};
  out += '=';
  out += value;
  if (!opts.path.empty())
    out += "; Path=" + opts.path;
  if (!opts.domain.empty())
    out += "; Domain=" + opts.domain;
  if (opts.max_age >= 0)
    out += "; Max-Age=" + std::to_string(opts.max_age);
  if (opts.secure)
    out += "; Secure";
  if (opts.http_only)
    out += "; HttpOnly";
  if (!opts.same_site.empty())
    out += "; SameSite=" + opts.same_site;
  header("set-cookie", std::move(out));
  return true;
}

} // namespace roadrunner
