#include <roadrunner/units.hpp>

#include <algorithm>
#include <limits>
#include <vector>

namespace roadrunner {

namespace {

// Splits "123unit" into the number and the unit; nullopt when the number is
// missing or overflows.
std::optional<std::pair<int64_t, std::string_view>>
split_number(std::string_view text) {
  size_t i = 0;
  int64_t value = 0;
  constexpr auto max = std::numeric_limits<int64_t>::max();
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    auto digit = text[i] - '0';
    if (value > (max - digit) / 10)
      return std::nullopt;
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0)
    return std::nullopt;
  return std::pair{value, text.substr(i)};
}

std::optional<int64_t> scaled(int64_t value, int64_t factor) {
  if (value > std::numeric_limits<int64_t>::max() / factor)
    return std::nullopt;
  return value * factor;
}

} // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto parts = split_number(text);
  if (!parts)
    return std::nullopt;
  auto [value, unit] = *parts;
  int64_t factor = 0;
  if (unit.empty() || unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = int64_t{60} * 1000;
  else if (unit == "h")
    factor = int64_t{60} * 60 * 1000;
  else
    return std::nullopt;
  auto ms = scaled(value, factor);
  if (!ms)
    return std::nullopt;
  return std::chrono::milliseconds{*ms};
}

std::optional<int64_t> parse_size(std::string_view text) {
  auto parts = split_number(text);
  if (!parts)
    return std::nullopt;
  auto [value, unit] = *parts;
  if (unit.empty())
    return value;
  if (unit == "k" || unit == "K" || unit == "KiB")
    return scaled(value, int64_t{1} << 10);
  if (unit == "M" || unit == "MiB")
    return scaled(value, int64_t{1} << 20);
  if (unit == "G" || unit == "GiB")
    return scaled(value, int64_t{1} << 30);
  return std::nullopt;
}

std::optional<int64_t> parse_count(std::string_view text) {
  auto parts = split_number(text);
  if (!parts || !parts->second.empty())
    return std::nullopt;
  return parts->first;
}

std::optional<bool> parse_bool(std::string_view text) {
  if (text == "true")
    return true;
  if (text == "false")
    return false;
  return std::nullopt;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  // One row of the classic dynamic programme.
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min(
        {row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string nearest_name(std::string_view name,
                         std::span<const std::string_view> candidates) {
  std::string_view best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (auto candidate : candidates) {
    auto d = edit_distance(name, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  auto longer = std::max(name.size(), best.size());
  auto limit = std::max<size_t>(2, longer / 3);
  if (best.empty() || best_distance > limit)
    return {};
  return std::string{best};
}

} // namespace roadrunner
