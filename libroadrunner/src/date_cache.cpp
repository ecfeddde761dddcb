#include "date_cache.hpp"

#include <cstdio>
#include <cstring>
#include <time.h>

namespace roadrunner {

namespace {

struct cache {
  std::time_t second = -1;
  char text[32] = {};
};

thread_local cache tl_cache;

} // namespace

void format_http_date(std::time_t t, char* out) noexcept {
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed",
                                         "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr",
                                           "May", "Jun", "Jul", "Aug",
                                           "Sep", "Oct", "Nov", "Dec"};
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::memcpy(out, buf, 29);
}

std::string_view http_date() noexcept {
  // CLOCK_REALTIME_COARSE is a vDSO read without a syscall; one-second
  // resolution is all the header needs.
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  auto& c = tl_cache;
  if (ts.tv_sec != c.second) {
    format_http_date(ts.tv_sec, c.text);
    c.second = ts.tv_sec;
  }
  return std::string_view{c.text, 29};
}

} // namespace roadrunner
