#pragma once

#include <ctime>
#include <optional>
#include <string_view>

namespace roadrunner::detail {

/// Parses an HTTP-date (RFC 9110 5.6.7): IMF-fixdate, and the obsolete
/// RFC 850 and asctime forms a recipient must accept. nullopt when it is
/// none of them (a conditional with a bad date is then ignored).
std::optional<std::time_t> parse_http_date(std::string_view s) noexcept;

} // namespace roadrunner::detail
