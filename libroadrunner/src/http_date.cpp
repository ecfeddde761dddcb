#include "http_date.hpp"

#include <time.h>

namespace roadrunner::detail {

namespace {

bool digits(std::string_view s, size_t pos, size_t n, int& out) noexcept {
  if (pos + n > s.size())
    return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

int month_of(std::string_view m) noexcept {
  static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr",
                                                "May", "Jun", "Jul", "Aug",
                                                "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i)
    if (m == months[i])
      return i;
  return -1;
}

// "HH:MM:SS" at pos.
bool time_of_day(std::string_view s, size_t pos, struct tm& tm) noexcept {
  return pos + 8 <= s.size() && s[pos + 2] == ':' && s[pos + 5] == ':' &&
         digits(s, pos, 2, tm.tm_hour) && digits(s, pos + 3, 2, tm.tm_min) &&
         digits(s, pos + 6, 2, tm.tm_sec) && tm.tm_hour < 24 &&
         tm.tm_min < 60 && tm.tm_sec < 61;
}

} // namespace

std::optional<std::time_t> parse_http_date(std::string_view s) noexcept {
  struct tm tm {};
  auto comma = s.find(',');
  if (comma == 3) {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (s.size() != 29 || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s.substr(25) != " GMT" ||
        !digits(s, 5, 2, tm.tm_mday) || !digits(s, 12, 4, tm.tm_year) ||
        !time_of_day(s, 17, tm))
      return std::nullopt;
    tm.tm_mon = month_of(s.substr(8, 3));
    tm.tm_year -= 1900;
  } else if (comma != std::string_view::npos) {
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    auto d = s.substr(comma + 1);
    if (d.size() != 23 || d[0] != ' ' || d[3] != '-' || d[7] != '-' ||
        d[10] != ' ' || d.substr(19) != " GMT" ||
        !digits(d, 1, 2, tm.tm_mday) || !digits(d, 8, 2, tm.tm_year) ||
        !time_of_day(d, 11, tm))
      return std::nullopt;
    tm.tm_mon = month_of(d.substr(4, 3));
    // RFC 9110 5.6.7: a two-digit year more than 50 years in the future is
    // in the past century; 70..99 are 19xx here, 00..69 20xx.
    if (tm.tm_year < 70)
      tm.tm_year += 100;
  } else {
    // asctime: "Sun Nov  6 08:49:37 1994"
    if (s.size() != 24 || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' ||
        s[19] != ' ' || !time_of_day(s, 11, tm) ||
        !digits(s, 20, 4, tm.tm_year))
      return std::nullopt;
    if (s[8] == ' ') {
      if (!digits(s, 9, 1, tm.tm_mday))
        return std::nullopt;
    } else if (!digits(s, 8, 2, tm.tm_mday)) {
      return std::nullopt;
    }
    tm.tm_mon = month_of(s.substr(4, 3));
    tm.tm_year -= 1900;
  }
  if (tm.tm_mon < 0 || tm.tm_mday < 1 || tm.tm_mday > 31)
    return std::nullopt;
  return timegm(&tm);
}

} // namespace roadrunner::detail
