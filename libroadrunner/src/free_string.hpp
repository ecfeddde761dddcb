#pragma once
// Giving a string's heap buffer back.

#include <string>

namespace roadrunner::detail {

/// Frees `s`'s heap buffer and leaves it empty. `s = std::string{}` does
/// not: libstdc++'s move assignment from a short (inline) string copies the
/// characters into the existing buffer and keeps it; neither do `clear()`
/// nor `shrink_to_fit()` reliably.
inline void free_string(std::string& s) noexcept {
  std::string{}.swap(s);
}

} // namespace roadrunner::detail
