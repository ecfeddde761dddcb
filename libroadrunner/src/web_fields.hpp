#pragma once

// Field helpers shared by the web middlewares (CORS, compression, static
// files): comma-separated lists (RFC 9110 5.6.1) and response field edits.

#include "http1/serializer.hpp"
#include <roadrunner/response.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace roadrunner::detail {

/// `x` without leading and trailing OWS (SP / HTAB, RFC 9110 5.6.3).
inline std::string_view trim_ows(std::string_view x) noexcept {
  while (!x.empty() && (x.front() == ' ' || x.front() == '\t'))
    x.remove_prefix(1);
  while (!x.empty() && (x.back() == ' ' || x.back() == '\t'))
    x.remove_suffix(1);
  return x;
}

/// Calls `f(element)` for each non-empty element of a comma-separated list,
/// OWS-trimmed (RFC 9110 5.6.1: empty elements are ignored).
template <class F>
void for_each_element(std::string_view list, F&& f) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = trim_ows(list.substr(0, comma));
    list.remove_prefix(comma == std::string_view::npos ? list.size()
                                                       : comma + 1);
    if (!item.empty())
      f(item);
  }
}

/// The value of the first response field named `name` (case-insensitive),
/// or nullptr.
inline std::string* find_field(response& r, std::string_view name) {
  for (auto& f : r.fields())
    if (http1::iequals(f.name, name))
      return &f.value;
  return nullptr;
}

/// Adds `token` to the response's `vary` field unless it is listed
/// already (or the field is "*").
inline void add_vary(response& r, std::string_view token) {
  auto* vary = find_field(r, "vary");
  if (vary == nullptr) {
    r.header("vary", std::string{token});
    return;
  }
  bool listed = false;
  for_each_element(*vary, [&](std::string_view x) {
    listed = listed || x == "*" || http1::iequals(x, token);
  });
  if (!listed)
    vary->append(", ").append(token);
}

/// The list joined with ", ".
inline std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (const auto& x : xs) {
    if (!out.empty())
      out += ", ";
    out += x;
  }
  return out;
}

} // namespace roadrunner::detail
