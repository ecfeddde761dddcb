#include "log_text.hpp"
#include <roadrunner/access_log.hpp>

#include <charconv>
#include <cstdio>

namespace roadrunner {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

using detail::time_of;
using detail::time_text;

void text_field(std::string& out, std::string_view x) {
  detail::append_escaped(out, x);
}

// Appends a number without a temporary string.
void append_number(std::string& out, uint64_t x) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  out.append(buf, static_cast<size_t>(res.ptr - buf));
}

void number_or_dash(std::string& out, uint64_t x) {
  if (x == 0)
    out += '-';
  else
    append_number(out, x);
}

// A JSON string: "-" when empty, as the text formats print it. Runs of
// plain bytes are appended at once.
void json_string(std::string& out, std::string_view x) {
  out += '"';
  if (x.empty())
    out += '-';
  size_t start = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    auto c = static_cast<unsigned char>(x[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
      continue;
    out.append(x.data() + start, i - start);
    start = i + 1;
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      out += "\\u00";
      out += hex_digits[c >> 4];
      out += hex_digits[c & 0xf];
    }
  }
  out.append(x.data() + start, x.size() - start);
  out += '"';
}

void json_key(std::string& out, const char* key) {
  out += ",\"";
  out += key;
  out += "\":";
}

void common_line(const telemetry_event& e, const time_text& t,
                 std::string& out) {
  text_field(out, e.peer != nullptr ? std::string_view{e.peer->ip} : "");
  out += " - - [";
  out += t.clf;
  out += "] \"";
  text_field(out, e.method);
  out += ' ';
  if (e.path.empty() && e.query.empty()) {
    out += '-';
  } else {
    text_field(out, e.path);
    if (!e.query.empty()) {
      out += '?';
      text_field(out, e.query);
    }
  }
  out += ' ';
  text_field(out, e.protocol);
  out += "\" ";
  if (e.status > 0)
    append_number(out, static_cast<uint64_t>(e.status));
  else
    out += '-';
  out += ' ';
  number_or_dash(out, e.body_bytes_sent);
}

void json_line(const telemetry_event& e, const time_text& t, std::string& out) {
  out += "{\"time\":\"";
  out += t.iso;
  out += '"';
  json_key(out, "listener");
  json_string(out, e.listener_name);
  json_key(out, "request_id");
  json_string(out, e.request_id);
  json_key(out, "peer");
  json_string(out, e.peer != nullptr ? std::string_view{e.peer->ip} : "");
  json_key(out, "peer_port");
  append_number(out, e.peer != nullptr ? e.peer->port : 0u);
  json_key(out, "method");
  json_string(out, e.method);
  json_key(out, "path");
  json_string(out, e.path);
  json_key(out, "query");
  json_string(out, e.query);
  json_key(out, "protocol");
  json_string(out, e.protocol);
  json_key(out, "host");
  json_string(out, e.host);
  json_key(out, "status");
  append_number(out, static_cast<uint64_t>(e.status > 0 ? e.status : 0));
  json_key(out, "body_bytes_sent");
  append_number(out, e.body_bytes_sent);
  json_key(out, "bytes_sent");
  append_number(out, e.bytes_sent);
  json_key(out, "bytes_received");
  append_number(out, e.bytes_received);
  json_key(out, "duration_ms");
  char ms[32];
  std::snprintf(ms, sizeof(ms), "%.3f",
                std::chrono::duration<double, std::milli>(e.duration).count());
  out += ms;
  json_key(out, "user_agent");
  json_string(out, e.user_agent);
  json_key(out, "referer");
  json_string(out, e.referer);
  out += '}';
}

} // namespace

std::optional<access_log_format> parse_access_log_format(std::string_view x) {
  if (x == "common")
    return access_log_format::common;
  if (x == "combined")
    return access_log_format::combined;
  if (x == "json")
    return access_log_format::json;
  return std::nullopt;
}

void format_access_line(access_log_format format, const telemetry_event& e,
                        std::chrono::system_clock::time_point now,
                        std::string& out) {
  auto started =
    now -
    std::chrono::duration_cast<std::chrono::system_clock::duration>(e.duration);
  auto& t = time_of(started);
  switch (format) {
  case access_log_format::common:
    common_line(e, t, out);
    break;
  case access_log_format::combined:
    common_line(e, t, out);
    out += " \"";
    text_field(out, e.referer);
    out += "\" \"";
    text_field(out, e.user_agent);
    out += '"';
    break;
  case access_log_format::json:
    json_line(e, t, out);
    break;
  }
  out += '\n';
}

access_log::access_log(log_file_ptr file, access_log_format format)
  : file_(std::move(file)), format_(format) {}

telemetry_sink access_log::observer() const {
  return {
    [file = file_, format = format_](const telemetry_event& e) {
      if (e.kind != telemetry_kind::request_stop)
        return;
      auto now = std::chrono::system_clock::now();
      file->append_with(
        [&](std::string& out) { format_access_line(format, e, now, out); });
    },
    telemetry_interest{telemetry_kind::request_stop}.with_request_fields()};
}

uint64_t access_log::dropped() const noexcept {
  return file_->dropped();
}

} // namespace roadrunner
