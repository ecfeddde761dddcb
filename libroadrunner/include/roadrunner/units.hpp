#pragma once

// Values as an operator writes them on a command line or in a config file:
// durations with units, sizes with binary suffixes, booleans, and the
// "did you mean" lookup for a misspelt option name.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace roadrunner {

/// Parses a duration: a non-negative integer followed by `ms`, `s`, `m` or
/// `h` (`500ms`, `30s`, `2m`, `1h`); a plain number is milliseconds (the unit
/// of every duration option). Returns nullopt for anything else (a sign, a
/// fraction, an unknown unit, overflow).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Parses a size in bytes: a non-negative integer, optionally followed by
/// `k`/`K`/`KiB` (1024), `M`/`MiB` (1024^2) or `G`/`GiB` (1024^3), as nginx
/// reads `k` and `m`. Returns nullopt for anything else or on overflow of
/// int64_t.
std::optional<int64_t> parse_size(std::string_view text);

/// Parses a count: a plain non-negative integer that fits int64_t.
std::optional<int64_t> parse_count(std::string_view text);

/// Parses a boolean: exactly `true` or `false`.
std::optional<bool> parse_bool(std::string_view text);

/// The edit (Levenshtein) distance between two strings.
size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `name` by edit distance when it is close enough
/// to be a plausible typo (at most a third of the longer name, at least 2);
/// empty otherwise. Ties go to the earlier candidate.
std::string nearest_name(std::string_view name,
                         std::span<const std::string_view> candidates);

} // namespace roadrunner
