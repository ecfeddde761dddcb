#pragma once

// Text helpers shared by the access log and the error log.

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace roadrunner::detail {

/// A second formatted once per second per thread.
struct time_text {
  std::time_t second = -1;
  char clf[40] = {}; // 03/Dec/2026:09:39:02 +0000 (common log format)
  char iso[32] = {}; // 2026-12-03T09:39:02Z (RFC 3339, UTC)
};

/// The calling thread's formatting of `t`'s second (cached).
const time_text& time_of(std::chrono::system_clock::time_point t);

/// Appends `x`, "-" when empty, with '"', '\' and bytes outside 0x20..0x7e
/// as \xHH (nginx's escaping), so a value cannot forge a line or a field.
void append_escaped(std::string& out, std::string_view x);

} // namespace roadrunner::detail
