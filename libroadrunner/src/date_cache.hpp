#pragma once

#include <ctime>
#include <string_view>

namespace roadrunner {

/// The IMF-fixdate of the current second for the `date` header (RFC 9110
/// 6.6.1), formatted at most once per second per thread. Runs on: any
/// thread; each thread has its own cache.
std::string_view http_date() noexcept;

/// Formats `t` as IMF-fixdate into `out` (29 bytes, no terminator).
void format_http_date(std::time_t t, char* out) noexcept;

} // namespace roadrunner
