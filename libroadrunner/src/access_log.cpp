#include "log_text.hpp"
#include <roadrunner/access_log.hpp>

#include <cstdio>

namespace roadrunner {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

using detail::time_of;
using detail::time_text;

void text_field(std::string& out, std::string_view x) {
  detail::append_escaped(out, x);
}

void number_or_dash(std::string& out, uint64_t x) {
  if (x == 0)
    out += '-';
  else
    out += std::to_string(x);
}

// A JSON string: "-" when empty, as the text formats print it.
void json_string(std::string& out, std::string_view x) {
  out += '"';
  if (x.empty())
    out += '-';
  for (unsigned char c : x) {
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
      if (c < 0x20 || c >= 0x7f) {
        out += "\\u00";
        out += hex_digits[c >> 4];
        out += hex_digits[c & 0xf];
      } else {
        out += static_cast<char>(c);
      }
    }
  }
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
    out += std::to_string(e.status);
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
  out += std::to_string(e.peer != nullptr ? e.peer->port : 0);
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
  out += std::to_string(e.status);
  json_key(out, "body_bytes_sent");
  out += std::to_string(e.body_bytes_sent);
  json_key(out, "bytes_sent");
  out += std::to_string(e.bytes_sent);
  json_key(out, "bytes_received");
  out += std::to_string(e.bytes_received);
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

telemetry_handler access_log::observer() const {
  return [file = file_, format = format_](const telemetry_event& e) {
    if (e.kind != telemetry_kind::request_stop)
      return;
    auto now = std::chrono::system_clock::now();
    file->append_with(
      [&](std::string& out) { format_access_line(format, e, now, out); });
  };
}

uint64_t access_log::dropped() const noexcept {
  return file_->dropped();
}

} // namespace roadrunner
