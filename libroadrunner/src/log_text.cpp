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

namespace {

bool needs_escape(unsigned char c) noexcept {
  return c < 0x20 || c > 0x7e || c == '"' || c == '\\';
}

} // namespace

void append_escaped(std::string& out, std::string_view x) {
  constexpr char hex_digits[] = "0123456789abcdef";
  if (x.empty()) {
    out += '-';
    return;
  }
  // Runs of plain bytes are appended at once: this runs for every field of
  // every access-log line.
  size_t start = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    auto c = static_cast<unsigned char>(x[i]);
    if (!needs_escape(c))
      continue;
    out.append(x.data() + start, i - start);
    char esc[4] = {'\\', 'x', hex_digits[c >> 4], hex_digits[c & 0xf]};
    out.append(esc, sizeof(esc));
    start = i + 1;
  }
  out.append(x.data() + start, x.size() - start);
}

} // namespace roadrunner::detail
