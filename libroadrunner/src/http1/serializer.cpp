#include "http1/serializer.hpp"

#include "http1/chars.hpp"

#include <charconv>
#include <cstring>

namespace roadrunner::http1 {

namespace {

void append_number(std::string& out, size_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), n);
  static_cast<void>(ec);
  out.append(buf, end);
}

void append_status_line(std::string& out, int status) {
  out.append("HTTP/1.1 ");
  char digits[3] = {static_cast<char>('0' + status / 100),
                    static_cast<char>('0' + status / 10 % 10),
                    static_cast<char>('0' + status % 10)};
  out.append(digits, 3);
  out.push_back(' ');
  out.append(reason_phrase(status));
  out.append("\r\n");
}

} // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  const size_t n = a.size();
  if (n != b.size())
    return false;
  // Most compares are of equal bytes (lowercase names against lowercase
  // names): whole words first, case folding only from the first difference.
  size_t i = 0;
  for (; n - i >= 8; i += 8)
    if (load8(a.data() + i) != load8(b.data() + i))
      break;
  for (; i < n; ++i) {
    auto x = static_cast<unsigned char>(a[i]);
    auto y = static_cast<unsigned char>(b[i]);
    if (x == y)
      continue;
    if (static_cast<unsigned>(x - 'A') < 26u)
      x += 32;
    if (static_cast<unsigned>(y - 'A') < 26u)
      y += 32;
    if (x != y)
      return false;
  }
  return true;
}

bool has_token(std::string_view list, std::string_view token) noexcept {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (iequals(item, token))
      return true;
    if (comma == std::string_view::npos)
      break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
  case 100:
    return "Continue";
  case 101:
    return "Switching Protocols";
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 202:
    return "Accepted";
  case 204:
    return "No Content";
  case 206:
    return "Partial Content";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 303:
    return "See Other";
  case 304:
    return "Not Modified";
  case 307:
    return "Temporary Redirect";
  case 308:
    return "Permanent Redirect";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 409:
    return "Conflict";
  case 411:
    return "Length Required";
  case 413:
    return "Content Too Large";
  case 414:
    return "URI Too Long";
  case 415:
    return "Unsupported Media Type";
  case 416:
    return "Range Not Satisfiable";
  case 417:
    return "Expectation Failed";
  case 426:
    return "Upgrade Required";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return {};
  }
}

bool is_safe_field_text(std::string_view x) noexcept {
  for (unsigned char c : x)
    if (c == '\r' || c == '\n' || c == '\0')
      return false;
  return true;
}

bool is_writable(const response& r) noexcept {
  // A final response is 2xx..9xx: a 1xx from a handler would be taken as
  // interim by the client, which then pairs the next response with this
  // request (and 101 would switch protocols under our feet).
  if (r.status() < 200 || r.status() > 999)
    return false;
  for (auto& f : r.fields())
    if (!is_token(f.name) || !is_field_value(f.value))
      return false;
  return true;
}

namespace {

// content-length, transfer-encoding or connection (the length first: most
// fields are none of these and cost one compare).
bool is_framing_field(std::string_view name) noexcept {
  switch (name.size()) {
  case 10:
    return iequals(name, "connection");
  case 14:
    return iequals(name, "content-length");
  case 17:
    return iequals(name, "transfer-encoding");
  default:
    return false;
  }
}

// Status line, date, the user's fields (minus framing and connection, which
// are ours) and content-type.
void append_common_head(std::string& out, const response& r,
                        std::string_view date) {
  append_status_line(out, r.status());
  out.append("date: ");
  out.append(date);
  out.append("\r\n");
  for (auto& f : r.fields()) {
    // Framing is ours (RFC 9112 6): a handler's own content-length or
    // transfer-encoding would contradict the body we actually send.
    if (is_framing_field(f.name))
      continue;
    out.append(f.name);
    out.append(": ");
    out.append(f.value);
    out.append("\r\n");
  }
  if (!r.content_type().empty()) {
    out.append("content-type: ");
    out.append(r.content_type());
    out.append("\r\n");
  }
}

void append_connection(std::string& out, connection_field conn) {
  if (conn == connection_field::close)
    out.append("connection: close\r\n");
  else if (conn == connection_field::keep_alive)
    out.append("connection: keep-alive\r\n");
  out.append("\r\n");
}

} // namespace

void write_head(std::string& out, const response& r, size_t body_size,
                std::string_view date, connection_field conn) {
  append_common_head(out, r, date);
  // RFC 9110 8.6: no content-length in 1xx or 204 responses, and a 304's
  // would have to be the size of the 200 we do not know: leave it out.
  if (r.status() >= 200 && r.status() != 204 && r.status() != 304) {
    out.append("content-length: ");
    append_number(out, body_size);
    out.append("\r\n");
  }
  append_connection(out, conn);
}

void write_stream_head(std::string& out, const response& r,
                       std::string_view date, connection_field conn,
                       bool chunked) {
  append_common_head(out, r, date);
  if (chunked)
    out.append("transfer-encoding: chunked\r\n");
  append_connection(out, conn);
}

void write_chunk_size(std::string& out, size_t n) {
  constexpr char digits[] = "0123456789abcdef";
  char tmp[2 * sizeof(size_t)];
  size_t len = 0;
  do {
    tmp[len++] = digits[n & 0xf];
    n >>= 4;
  } while (n != 0);
  while (len > 0)
    out.push_back(tmp[--len]);
  out.append("\r\n");
}

bool is_writable_trailers(std::span<const response::field> trailers) noexcept {
  for (auto& f : trailers) {
    if (!is_token(f.name) || !is_field_value(f.value))
      return false;
    // RFC 9110 6.5.1: no framing, routing or connection fields in trailers.
    for (auto banned : {"content-length", "transfer-encoding", "connection",
                        "host", "trailer", "content-type", "keep-alive"})
      if (iequals(f.name, banned))
        return false;
  }
  return true;
}

void write_last_chunk(std::string& out,
                      std::span<const response::field> trailers) {
  out.append("0\r\n");
  for (auto& f : trailers) {
    out.append(f.name);
    out.append(": ");
    out.append(f.value);
    out.append("\r\n");
  }
  out.append("\r\n");
}

void write_error(std::string& out, int status, std::string_view date) {
  append_status_line(out, status);
  out.append("date: ");
  out.append(date);
  out.append("\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
}

} // namespace roadrunner::http1
