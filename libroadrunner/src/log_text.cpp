#include "log_text.hpp"

namespace roadrunner::detail {

const time_text& time_of(std::chrono::system_clock::time_point t) {
  thread_local time_text cache;
  auto second = std::chrono::system_clock::to_time_t(t);
  if (second != cache.second) {
    std::tm tm{};
    ::gmtime_r(&second, &tm);
    std::strftime(cache.clf, sizeof(cache.clf), "%d/%b/%Y:%H:%M:%S +0000", &tm);
    std::strftime(cache.iso, sizeof(cache.iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
    cache.second = second;
  }
  return cache;
}

void append_escaped(std::string& out, std::string_view x) {
  constexpr char hex_digits[] = "0123456789abcdef";
  if (x.empty()) {
    out += '-';
    return;
  }
  for (unsigned char c : x) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
      out += "\\x";
      out += hex_digits[c >> 4];
      out += hex_digits[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
}

} // namespace roadrunner::detail
