#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace roadrunner::http1 {

// -- byte classes (one 256-entry table) ---------------------------------------

enum : uint8_t {
  cc_tchar = 0x01,  // RFC 9110 5.6.2 token character
  cc_target = 0x02, // request-target byte we accept: 0x21-0x7E
  cc_value = 0x04,  // field-value byte: HTAB, SP, VCHAR, obs-text
  cc_ows = 0x08,    // SP, HTAB
  cc_host = 0x10,   // RFC 3986 authority byte (without userinfo '@')
};

constexpr std::array<uint8_t, 256> make_char_table() noexcept {
  std::array<uint8_t, 256> t{};
  constexpr std::string_view tchar_extra = "!#$%&'*+-.^_`|~";
  constexpr std::string_view host_extra = "-._~!$&'()*+,;=:%[]";
  for (int i = 0; i < 256; ++i) {
    const char c = static_cast<char>(i);
    const bool alpha = (i >= 'A' && i <= 'Z') || (i >= 'a' && i <= 'z');
    const bool digit = i >= '0' && i <= '9';
    uint8_t m = 0;
    if (alpha || digit || tchar_extra.find(c) != std::string_view::npos)
      m |= cc_tchar;
    if (i >= 0x21 && i <= 0x7E)
      m |= cc_target;
    if (i == '\t' || (i >= 0x20 && i <= 0x7E) || i >= 0x80)
      m |= cc_value;
    if (i == ' ' || i == '\t')
      m |= cc_ows;
    if (alpha || digit || host_extra.find(c) != std::string_view::npos)
      m |= cc_host;
    t[static_cast<size_t>(i)] = m;
  }
  return t;
}

inline constexpr std::array<uint8_t, 256> char_table = make_char_table();

constexpr bool has_class(char c, uint8_t cls) noexcept {
  return (char_table[static_cast<unsigned char>(c)] & cls) != 0;
}

// The first offset in [p, end) whose byte is not in `cls` (or end); unrolled
// table lookups (used for tokens: methods and field names).
inline size_t skip_class(const char* s, size_t p, size_t end,
                         uint8_t cls) noexcept {
  while (end - p >= 8) {
    if (!has_class(s[p], cls))
      return p;
    if (!has_class(s[p + 1], cls))
      return p + 1;
    if (!has_class(s[p + 2], cls))
      return p + 2;
    if (!has_class(s[p + 3], cls))
      return p + 3;
    if (!has_class(s[p + 4], cls))
      return p + 4;
    if (!has_class(s[p + 5], cls))
      return p + 5;
    if (!has_class(s[p + 6], cls))
      return p + 6;
    if (!has_class(s[p + 7], cls))
      return p + 7;
    p += 8;
  }
  while (p < end && has_class(s[p], cls))
    ++p;
  return p;
}

// SWAR helpers over 8 bytes at a time (bit-twiddling hacks: "determine if a
// word has a byte less than n"); exact as a yes/no answer for the whole word.
constexpr uint64_t ones = 0x0101010101010101ULL;
constexpr uint64_t highs = 0x8080808080808080ULL;

inline uint64_t load8(const char* s) noexcept {
  uint64_t x;
  std::memcpy(&x, s, 8);
  return x;
}

// Any byte < n (n <= 128).
constexpr bool any_less(uint64_t x, uint64_t n) noexcept {
  return ((x - ones * n) & ~x & highs) != 0;
}

// Any byte > n (n <= 127), including any byte >= 0x80.
constexpr bool any_more(uint64_t x, uint64_t n) noexcept {
  return (((x + ones * (127 - n)) | x) & highs) != 0;
}

// Any byte == 0x7F.
constexpr bool any_del(uint64_t x) noexcept {
  return any_less(x ^ (ones * 0x7F), 1);
}

// The first offset in [p, end) that is not a field-value byte (or end):
// words with no CTL and no DEL are skipped whole (HTAB takes the slow path).
inline size_t skip_value(const char* s, size_t p, size_t end) noexcept {
  while (end - p >= 8) {
    const uint64_t x = load8(s + p);
    if (any_less(x, 0x20) || any_del(x)) {
      for (const size_t stop = p + 8; p < stop; ++p)
        if (!has_class(s[p], cc_value))
          return p;
    } else {
      p += 8;
    }
  }
  while (p < end && has_class(s[p], cc_value))
    ++p;
  return p;
}

/// tchar (RFC 9110 5.6.2): the bytes of a token (method, field name).
constexpr bool is_tchar(char c) noexcept {
  return has_class(c, cc_tchar);
}

/// A non-empty run of tchar.
inline bool is_token(std::string_view s) noexcept {
  return !s.empty() && skip_class(s.data(), 0, s.size(), cc_tchar) == s.size();
}

/// Only field-value bytes (RFC 9110 5.5: VCHAR, SP, HTAB, obs-text; no other
/// control byte). Empty is fine.
inline bool is_field_value(std::string_view s) noexcept {
  return skip_value(s.data(), 0, s.size()) == s.size();
}

} // namespace roadrunner::http1
