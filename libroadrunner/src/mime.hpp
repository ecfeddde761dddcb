#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace roadrunner::detail {

/// Extension (lowercase) -> content type.
using mime_table = std::unordered_map<std::string, std::string>;

/// The table read from a mime.types file (once per path, kept), or a small
/// built-in one when the file cannot be read. Thread-safe.
std::shared_ptr<const mime_table> load_mime_table(const std::string& path);

/// `name`'s type by its extension (after the last '.' of the last
/// segment, case-insensitive), or `fallback`.
std::string_view lookup_mime(const mime_table& t, std::string_view name,
                             std::string_view fallback);

} // namespace roadrunner::detail
