#include <roadrunner/sse.hpp>

namespace roadrunner::sse {

namespace {

bool is_single_line(std::string_view x) noexcept {
  return x.find_first_of(std::string_view{"\r\n\0", 3}) ==
         std::string_view::npos;
}

} // namespace

response head() {
  response r{200};
  r.header("content-type", "text/event-stream");
  r.header("cache-control", "no-cache");
  return r;
}

std::optional<std::string> format(const event& e) {
  if (!is_single_line(e.type) || !is_single_line(e.id))
    return std::nullopt;
  std::string out;
  out.reserve(e.data.size() + e.type.size() + e.id.size() + 32);
  if (!e.type.empty()) {
    out.append("event: ");
    out.append(e.type);
    out.push_back('\n');
  }
  if (!e.id.empty()) {
    out.append("id: ");
    out.append(e.id);
    out.push_back('\n');
  }
  if (e.retry_ms >= 0) {
    out.append("retry: ");
    out.append(std::to_string(e.retry_ms));
    out.push_back('\n');
  }
  // Each line of the payload becomes its own data field; CRLF, CR and LF
  // all end a line (the client's parser treats them alike). NUL is kept:
  // inside a data line it cannot start a field.
  size_t pos = 0;
  auto data = e.data;
  while (true) {
    auto end = data.find_first_of("\r\n", pos);
    out.append("data: ");
    out.append(data.substr(
      pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    out.push_back('\n');
    if (end == std::string_view::npos)
      break;
    pos = end + 1;
    if (data[end] == '\r' && pos < data.size() && data[pos] == '\n')
      ++pos;
  }
  out.push_back('\n');
  return out;
}

std::string comment(std::string_view text) {
  std::string out{": "};
  for (char c : text)
    out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  out.push_back('\n');
  return out;
}

} // namespace roadrunner::sse
