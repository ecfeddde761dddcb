#include "http1/parser.hpp"

#include "http1/chars.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace roadrunner::http1 {

namespace {

// The first offset in [p, end) that is not a request-target byte (or end).
inline size_t skip_target(const char* s, size_t p, size_t end) noexcept {
  while (end - p >= 8) {
    const uint64_t x = load8(s + p);
    if (any_less(x, 0x21) || any_more(x, 0x7E))
      break; // the first bad byte is among these 8
    p += 8;
  }
  while (p < end && has_class(s[p], cc_target))
    ++p;
  return p;
}

constexpr std::array<int8_t, 256> make_hex_table() noexcept {
  std::array<int8_t, 256> t{};
  for (int i = 0; i < 256; ++i) {
    int v = -1;
    if (i >= '0' && i <= '9')
      v = i - '0';
    else if (i >= 'a' && i <= 'f')
      v = i - 'a' + 10;
    else if (i >= 'A' && i <= 'F')
      v = i - 'A' + 10;
    t[static_cast<size_t>(i)] = static_cast<int8_t>(v);
  }
  return t;
}

constexpr std::array<int8_t, 256> hex_table = make_hex_table();

inline int hex_value(char c) noexcept {
  return hex_table[static_cast<unsigned char>(c)];
}

inline char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

// ASCII case-insensitive comparison of `x` with the lower-case literal `lit`.
inline bool equals_lower(std::string_view x, std::string_view lit) noexcept {
  if (x.size() != lit.size())
    return false;
  for (size_t i = 0; i < x.size(); ++i)
    if (ascii_lower(x[i]) != lit[i])
      return false;
  return true;
}

// ASCII case-insensitive comparison of two arbitrary strings.
inline bool equals_icase(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i]))
      return false;
  return true;
}

std::string_view trim_ows(std::string_view x) noexcept {
  while (!x.empty() && has_class(x.front(), cc_ows))
    x.remove_prefix(1);
  while (!x.empty() && has_class(x.back(), cc_ows))
    x.remove_suffix(1);
  return x;
}

// Content-Length = 1*DIGIT; at most 19 digits and at most 2^63-1.
bool parse_content_length(std::string_view x, uint64_t& out) noexcept {
  if (x.empty() || x.size() > 19)
    return false;
  uint64_t v = 0;
  for (char c : x) {
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + static_cast<uint64_t>(c - '0'); // < 10^19 < 2^64
  }
  if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return false;
  out = v;
  return true;
}

struct reason_info {
  int status;
  const char* name;
  const char* text;
};

constexpr std::array<reason_info, reject_reason_count> reason_table{{
  {400, "bad_request_line",
   "malformed request-line: METHOD SP target SP HTTP-version CRLF "
   "(RFC 9112 3)"},
  {414, "request_line_too_long",
   "request-line longer than the limit (RFC 9112 3; RFC 9110 15.5.15)"},
  {400, "bad_method", "method is not a token (RFC 9110 9.1, 5.6.2)"},
  {400, "bad_target",
   "request-target empty or with CTL, DEL, SP or non-ASCII byte "
   "(RFC 9112 3.2; RFC 3986)"},
  {505, "unsupported_version",
   "HTTP version not supported, only 1.0 and 1.1 (RFC 9110 2.5, 15.6.6)"},
  {400, "bad_header_name",
   "field-name not a token, or whitespace before the colon (RFC 9112 5.1)"},
  {400, "obs_fold",
   "obs-fold not allowed: line starts with whitespace (RFC 9112 5.2, 2.2)"},
  {400, "bad_header_value",
   "field-value with a CTL or DEL byte (RFC 9110 5.5)"},
  {431, "header_line_too_long",
   "field line longer than the limit (RFC 6585 5)"},
  {431, "header_block_too_long",
   "field section larger than the limit (RFC 6585 5)"},
  {431, "too_many_headers", "more field lines than the limit (RFC 6585 5)"},
  {400, "missing_host", "HTTP/1.1 request without Host (RFC 9112 3.2)"},
  {400, "duplicate_host", "more than one Host field line (RFC 9112 3.2)"},
  {400, "bad_host",
   "Host value is not a valid authority (RFC 9112 3.2; RFC 3986 3.2.2)"},
  {400, "conflicting_framing",
   "both Transfer-Encoding and Content-Length (RFC 9112 6.1, 6.3)"},
  {400, "bad_content_length",
   "Content-Length not 1*DIGIT, too large, or differing values "
   "(RFC 9110 8.6; RFC 9112 6.3)"},
  {501, "unsupported_transfer_encoding",
   "Transfer-Encoding other than exactly \"chunked\" "
   "(RFC 9112 6.1; RFC 9110 15.6.2)"},
  {400, "transfer_encoding_in_http10",
   "Transfer-Encoding in an HTTP/1.0 request is faulty framing "
   "(RFC 9112 6.1)"},
  {400, "bad_chunk_size", "chunk-size is not 1*HEXDIG (RFC 9112 7.1)"},
  {400, "bad_chunk_extension",
   "chunk-ext is not *( BWS \";\" BWS token [ BWS \"=\" BWS "
   "( token / quoted-string ) ] ) (RFC 9112 7.1.1)"},
  {400, "chunk_line_too_long",
   "chunk-size line longer than the limit (RFC 9112 7.1)"},
  {400, "bad_chunk", "chunk-data not followed by CRLF (RFC 9112 7.1)"},
  {400, "forbidden_trailer",
   "Content-Length or Transfer-Encoding in the trailer section "
   "(RFC 9110 6.5.1; RFC 9112 7.1.2)"},
  {400, "bad_line_ending",
   "bare CR or LF: every line must end with CRLF (RFC 9112 2.2)"},
  {413, "body_too_large",
   "chunked body larger than the limit (RFC 9110 15.5.14)"},
}};

const reason_info& info(reject_reason r) noexcept {
  const auto i = static_cast<size_t>(r);
  return reason_table[i < reason_table.size() ? i : 0];
}

} // namespace

int status_of(reject_reason r) noexcept {
  return info(r).status;
}

const char* describe(reject_reason r) noexcept {
  return info(r).text;
}

const char* to_string(reject_reason r) noexcept {
  return info(r).name;
}

// -- request_parser -----------------------------------------------------------

// The field vectors are allocated with the first field, not here: an idle
// connection's parser owns no heap memory until a request arrives.
request_parser::request_parser(limits lim) : lim_(lim) {}

void request_parser::release() noexcept {
  reset();
  // Swap, not `= {}`: that assigns an empty initializer list and keeps the
  // capacity.
  std::vector<field_offsets>{}.swap(fields_);
  std::vector<header_field>{}.swap(head_.headers);
}

void request_parser::reset() noexcept {
  fields_.clear();
  head_.headers.clear();
  head_.method = head_.target = head_.path = head_.query = head_.host = {};
  head_.version_minor = 1;
  head_.framing = body_framing::none;
  head_.content_length = 0;
  head_.keep_alive = false;
  head_.expect_continue = false;
  pos_ = consumed_ = limit_end_ = line_start_ = block_used_ = 0;
  rl_start_ = method_end_ = target_start_ = target_end_ = version_start_ = 0;
  name_start_ = name_end_ = value_start_ = value_end_ = host_index_ = 0;
  content_length_ = 0;
  state_ = state::start;
  error_ = reject_reason::bad_request_line;
  version_minor_ = 1;
  seen_host_ = seen_content_length_ = seen_transfer_encoding_ = false;
  connection_close_ = connection_keep_alive_ = expect_continue_ = false;
}

parse_status request_parser::fail(reject_reason r) noexcept {
  error_ = r;
  state_ = state::failed;
  return parse_status::reject;
}

reject_reason request_parser::too_long_reason(size_t pos) const noexcept {
  switch (state_) {
  case state::method:
  case state::target:
  case state::version:
    return reject_reason::request_line_too_long;
  default:
    return pos - line_start_ >= lim_.max_header_line
             ? reject_reason::header_line_too_long
             : reject_reason::header_block_too_long;
  }
}

void request_parser::begin_field_line(size_t pos) noexcept {
  line_start_ = pos;
  const size_t block_left = lim_.max_header_block - block_used_;
  const size_t line_max = lim_.max_header_line;
  limit_end_ = pos + (line_max < block_left ? line_max : block_left);
}

// Field-specific rules, checked when a field line ends. Returns false (after
// fail()) when the request must be rejected.
bool request_parser::on_field(const char* s) {
  const std::string_view name(s + name_start_, name_end_ - name_start_);
  const std::string_view value(s + value_start_, value_end_ - value_start_);
  if (fields_.capacity() == 0)
    fields_.reserve(initial_fields);
  fields_.push_back(
    {static_cast<uint32_t>(name_start_), static_cast<uint32_t>(name.size()),
     static_cast<uint32_t>(value_start_), static_cast<uint32_t>(value.size())});
  switch (name.size()) {
  case 4:
    if (equals_lower(name, "host")) {
      if (seen_host_) {
        fail(reject_reason::duplicate_host);
        return false;
      }
      for (char c : value) {
        if (!has_class(c, cc_host)) {
          fail(reject_reason::bad_host);
          return false;
        }
      }
      seen_host_ = true;
      host_index_ = fields_.size() - 1;
    }
    break;
  case 6:
    if (equals_lower(name, "expect") && equals_lower(value, "100-continue"))
      expect_continue_ = true;
    break;
  case 10:
    if (equals_lower(name, "connection")) {
      size_t i = 0;
      for (;;) {
        size_t j = value.find(',', i);
        if (j == std::string_view::npos)
          j = value.size();
        const auto token = trim_ows(value.substr(i, j - i));
        if (equals_lower(token, "close"))
          connection_close_ = true;
        else if (equals_lower(token, "keep-alive"))
          connection_keep_alive_ = true;
        if (j == value.size())
          break;
        i = j + 1;
      }
    }
    break;
  case 14:
    if (equals_lower(name, "content-length")) {
      if (seen_transfer_encoding_) {
        fail(reject_reason::conflicting_framing);
        return false;
      }
      uint64_t v = 0;
      if (!parse_content_length(value, v) ||
          (seen_content_length_ && v != content_length_)) {
        fail(reject_reason::bad_content_length);
        return false;
      }
      seen_content_length_ = true;
      content_length_ = v;
    }
    break;
  case 17:
    if (equals_lower(name, "transfer-encoding")) {
      if (seen_content_length_) {
        fail(reject_reason::conflicting_framing);
        return false;
      }
      if (version_minor_ == 0) {
        fail(reject_reason::transfer_encoding_in_http10);
        return false;
      }
      // Exactly one coding, "chunked": a second field would make the
      // combined value "chunked, chunked" (or similar).
      if (seen_transfer_encoding_ || !equals_lower(value, "chunked")) {
        fail(reject_reason::unsupported_transfer_encoding);
        return false;
      }
      seen_transfer_encoding_ = true;
    }
    break;
  default:
    break;
  }
  return true;
}

bool request_parser::on_head_end() noexcept {
  if (version_minor_ == 1 && !seen_host_) {
    fail(reject_reason::missing_host);
    return false;
  }
  head_.version_minor = version_minor_;
  if (seen_transfer_encoding_) {
    head_.framing = body_framing::chunked;
    head_.content_length = 0;
  } else if (seen_content_length_) {
    head_.framing = body_framing::content_length;
    head_.content_length = content_length_;
  } else {
    head_.framing = body_framing::none;
    head_.content_length = 0;
  }
  head_.keep_alive =
    !connection_close_ && (version_minor_ == 1 || connection_keep_alive_);
  head_.expect_continue = version_minor_ == 1 && expect_continue_;
  return true;
}

// Points the head's views at buffer `s`.
void request_parser::materialize(const char* s) {
  head_.method = std::string_view(s + rl_start_, method_end_ - rl_start_);
  head_.target =
    std::string_view(s + target_start_, target_end_ - target_start_);
  const size_t q = head_.target.find('?');
  if (q == std::string_view::npos) {
    head_.path = head_.target;
    head_.query = {};
  } else {
    head_.path = head_.target.substr(0, q);
    head_.query = head_.target.substr(q + 1);
  }
  head_.headers.clear();
  head_.headers.reserve(std::max(fields_.size(), initial_fields));
  for (const auto& f : fields_)
    head_.headers.push_back(
      {std::string_view(s + f.name_begin, f.name_size),
       std::string_view(s + f.value_begin, f.value_size)});
  head_.host =
    seen_host_ ? head_.headers[host_index_].value : std::string_view{};
}

// The scanning loop. Each state scans as many bytes as it can; line states
// scan at most up to limit_end_ (the first byte past the line limit). When a
// scan stops at limit_end_, the byte there may only be the CR ending the line
// (the line is then exactly at the limit); anything else crosses the limit.
parse_status request_parser::parse(std::string_view input) {
  if (state_ == state::done) {
    materialize(input.data());
    return parse_status::complete;
  }
  if (state_ == state::failed)
    return parse_status::reject;
  const char* const s = input.data();
  const size_t n = input.size();
  size_t p = pos_;
  using rr = reject_reason;

// Shared tail of a bounded scan that stopped at `end`.
#define RR_LIMIT_CHECK(end)                                                    \
  if (p == (end)) {                                                            \
    if (p == n)                                                                \
      break;                                                                   \
    if (s[p] != '\r')                                                          \
      return fail(too_long_reason(p));                                         \
  }

  while (p < n) {
    switch (state_) {
    case state::start:
    case state::start_after_empty: {
      const char c = s[p];
      if (c == '\r') {
        // RFC 9112 2.2: one empty line before the request line is ok.
        if (state_ == state::start_after_empty)
          return fail(rr::bad_request_line);
        state_ = state::leading_lf;
        ++p;
        continue;
      }
      if (!has_class(c, cc_tchar))
        return fail(c == '\n'              ? rr::bad_line_ending
                    : has_class(c, cc_ows) ? rr::bad_request_line
                                           : rr::bad_method);
      rl_start_ = p;
      limit_end_ = p + lim_.max_request_line;
      state_ = state::method;
      continue;
    }
    case state::leading_lf:
      if (s[p] != '\n')
        return fail(rr::bad_line_ending);
      ++p;
      state_ = state::start_after_empty;
      continue;
    case state::method: {
      const size_t end = n < limit_end_ ? n : limit_end_;
      p = skip_class(s, p, end, cc_tchar);
      RR_LIMIT_CHECK(end)
      const char c = s[p];
      if (c != ' ')
        return fail(c == '\n'                ? rr::bad_line_ending
                    : c == '\r' || c == '\t' ? rr::bad_request_line
                                             : rr::bad_method);
      method_end_ = p;
      ++p;
      target_start_ = p;
      state_ = state::target;
      continue;
    }
    case state::target: {
      const size_t end = n < limit_end_ ? n : limit_end_;
      p = skip_target(s, p, end);
      RR_LIMIT_CHECK(end)
      const char c = s[p];
      if (c != ' ')
        return fail(c == '\n'   ? rr::bad_line_ending
                    : c == '\r' ? rr::bad_request_line
                                : rr::bad_target);
      if (p == target_start_) // two SPs
        return fail(rr::bad_request_line);
      target_end_ = p;
      ++p;
      version_start_ = p;
      state_ = state::version;
      continue;
    }
    case state::version: {
      // HTTP-version is exactly 8 bytes: "HTTP/" DIGIT "." DIGIT.
      const size_t end = n < limit_end_ ? n : limit_end_;
      while (p < end && s[p] != '\r' && s[p] != '\n') {
        if (p - version_start_ == 8)
          return fail(rr::bad_request_line);
        ++p;
      }
      RR_LIMIT_CHECK(end)
      if (s[p] == '\n')
        return fail(rr::bad_line_ending);
      const std::string_view v(s + version_start_, p - version_start_);
      auto digit = [](char c) { return c >= '0' && c <= '9'; };
      if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || !digit(v[5]) ||
          v[6] != '.' || !digit(v[7]))
        return fail(rr::bad_request_line);
      if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
        return fail(rr::unsupported_version);
      version_minor_ = static_cast<uint8_t>(v[7] - '0');
      ++p;
      state_ = state::request_line_lf;
      continue;
    }
    case state::request_line_lf:
      if (s[p] != '\n')
        return fail(rr::bad_line_ending);
      ++p;
      begin_field_line(p);
      state_ = state::field_start;
      continue;
    case state::field_start: {
      const char c = s[p];
      if (c == '\r') {
        ++p;
        state_ = state::head_lf;
        continue;
      }
      if (p == limit_end_)
        return fail(too_long_reason(p));
      if (!has_class(c, cc_tchar))
        return fail(has_class(c, cc_ows) ? rr::obs_fold
                    : c == '\n'          ? rr::bad_line_ending
                                         : rr::bad_header_name);
      if (fields_.size() >= lim_.max_header_count)
        return fail(rr::too_many_headers);
      name_start_ = p;
      ++p;
      state_ = state::field_name;
      continue;
    }
    case state::field_name: {
      const size_t end = n < limit_end_ ? n : limit_end_;
      p = skip_class(s, p, end, cc_tchar);
      RR_LIMIT_CHECK(end)
      const char c = s[p];
      if (c != ':')
        return fail(c == '\n' ? rr::bad_line_ending : rr::bad_header_name);
      name_end_ = p;
      ++p;
      state_ = state::value_ows;
      continue;
    }
    case state::value_ows: {
      const size_t end = n < limit_end_ ? n : limit_end_;
      while (p < end && has_class(s[p], cc_ows))
        ++p;
      RR_LIMIT_CHECK(end)
      value_start_ = p;
      state_ = state::value;
      continue;
    }
    case state::value: {
      const size_t end = n < limit_end_ ? n : limit_end_;
      p = skip_value(s, p, end);
      RR_LIMIT_CHECK(end)
      const char c = s[p];
      if (c != '\r')
        return fail(c == '\n' ? rr::bad_line_ending : rr::bad_header_value);
      size_t e = p;
      while (e > value_start_ && has_class(s[e - 1], cc_ows))
        --e;
      value_end_ = e;
      ++p;
      state_ = state::field_lf;
      continue;
    }
    case state::field_lf: {
      if (s[p] != '\n')
        return fail(rr::bad_line_ending);
      const size_t line_size = (p - 1) - line_start_;
      if (!on_field(s))
        return parse_status::reject;
      block_used_ += line_size;
      ++p;
      begin_field_line(p);
      state_ = state::field_start;
      continue;
    }
    case state::head_lf:
      if (s[p] != '\n')
        return fail(rr::bad_line_ending);
      ++p;
      if (!on_head_end())
        return parse_status::reject;
      pos_ = consumed_ = p;
      state_ = state::done;
      materialize(s);
      return parse_status::complete;
    case state::done:
    case state::failed:
      break; // unreachable: handled above
    }
    break;
  }
#undef RR_LIMIT_CHECK
  pos_ = p;
  return parse_status::need_more;
}

// -- chunked_decoder ----------------------------------------------------------

chunked_decoder::chunked_decoder(limits lim, uint64_t max_body)
  : lim_(lim), max_body_(max_body) {}

void chunked_decoder::reset() noexcept {
  declared_ = delivered_ = size_ = remaining_ = 0;
  consumed_ = 0;
  line_len_ = block_used_ = trailer_count_ = 0;
  digits_ = name_len_ = 0;
  state_ = state::size_first;
  error_ = reject_reason::bad_chunk_size;
}

parse_status chunked_decoder::fail(reject_reason r, size_t pos) noexcept {
  error_ = r;
  state_ = state::failed;
  consumed_ = pos;
  return parse_status::reject;
}

// chunk-ext (RFC 9112 7.1.1), one transition per byte:
//   chunk-ext      = *( BWS ";" BWS chunk-ext-name
//                       [ BWS "=" BWS chunk-ext-val ] )
//   chunk-ext-name = token
//   chunk-ext-val  = token / quoted-string
// with quoted-string as in RFC 9110 5.6.4 (qdtext: HTAB, SP, VCHAR but
// DQUOTE and backslash, obs-text; a backslash quotes HTAB, SP, VCHAR or
// obs-text). BWS may precede ';' and '=' and follow them, nothing else:
// the line ends only after a name, a token or a closing quote (CR -> the
// size line's LF). Any other byte (CTLs, DEL, LF included) -> failed.
constexpr chunked_decoder::ext_transitions chunked_decoder::ext_next_ = [] {
  static_assert(static_cast<size_t>(state::ext_value_end) -
                  static_cast<size_t>(state::ext_name_bws) + 1 ==
                std::tuple_size_v<ext_transitions>);
  ext_transitions t{};
  for (auto& row : t)
    row.fill(state::failed);
  for (size_t i = 0; i < 256; ++i) {
    const char c = static_cast<char>(i);
    const bool tchar = has_class(c, cc_tchar);
    const bool ws = has_class(c, cc_ows);
    auto set = [&](state from, state to) {
      t[static_cast<size_t>(from) - static_cast<size_t>(state::ext_name_bws)]
       [i] = to;
    };
    auto set_if = [&](bool cond, state from, state to) {
      if (cond)
        set(from, to);
    };
    // After ';': BWS, then a non-empty name.
    set_if(ws, state::ext_name_bws, state::ext_name_bws);
    set_if(tchar, state::ext_name_bws, state::ext_name);
    // In a name: more of it, '=', the next ';', BWS, or the end.
    set_if(tchar, state::ext_name, state::ext_name);
    set_if(c == '=', state::ext_name, state::ext_value_bws);
    set_if(c == ';', state::ext_name, state::ext_name_bws);
    set_if(ws, state::ext_name, state::ext_name_end);
    set_if(c == '\r', state::ext_name, state::size_lf);
    // BWS after a name: '=' or the next ';'.
    set_if(ws, state::ext_name_end, state::ext_name_end);
    set_if(c == '=', state::ext_name_end, state::ext_value_bws);
    set_if(c == ';', state::ext_name_end, state::ext_name_bws);
    // After '=': BWS, then a token or a quoted-string.
    set_if(ws, state::ext_value_bws, state::ext_value_bws);
    set_if(tchar, state::ext_value_bws, state::ext_token);
    set_if(c == '"', state::ext_value_bws, state::ext_quoted);
    // In a token value: more of it, the next ';', BWS, or the end.
    set_if(tchar, state::ext_token, state::ext_token);
    set_if(c == ';', state::ext_token, state::ext_name_bws);
    set_if(ws, state::ext_token, state::ext_value_end);
    set_if(c == '\r', state::ext_token, state::size_lf);
    // In a quoted-string.
    set_if(has_class(c, cc_value), state::ext_quoted, state::ext_quoted);
    set_if(c == '\\', state::ext_quoted, state::ext_quoted_pair);
    set_if(c == '"', state::ext_quoted, state::ext_quoted_end);
    set_if(has_class(c, cc_value), state::ext_quoted_pair, state::ext_quoted);
    // After the closing quote: the next ';', BWS, or the end.
    set_if(c == ';', state::ext_quoted_end, state::ext_name_bws);
    set_if(ws, state::ext_quoted_end, state::ext_value_end);
    set_if(c == '\r', state::ext_quoted_end, state::size_lf);
    // BWS after a value: the next ';'.
    set_if(ws, state::ext_value_end, state::ext_value_end);
    set_if(c == ';', state::ext_value_end, state::ext_name_bws);
  }
  return t;
}();

parse_status chunked_decoder::decode_impl(std::string_view input,
                                          data_sink on_data) {
  consumed_ = 0;
  if (state_ == state::done)
    return parse_status::complete;
  if (state_ == state::failed)
    return parse_status::reject;
  const char* const s = input.data();
  const size_t n = input.size();
  size_t p = 0;
  using rr = reject_reason;
  while (p < n) {
    const char c = s[p];
    switch (state_) {
    // ---- chunk-size line: chunk-size [ chunk-ext ] CRLF ----------------
    case state::size_first:
    case state::size:
    case state::size_bws: {
      if (c == '\r') {
        // BWS only before ';' (RFC 9112 7.1.1): "1 " CRLF is refused.
        if (state_ != state::size)
          return fail(rr::bad_chunk_size, p);
        state_ = state::size_lf;
        ++p;
        continue;
      }
      if (line_len_ >= lim_.max_chunk_line)
        return fail(rr::chunk_line_too_long, p);
      ++line_len_;
      if (c == '\n')
        return fail(rr::bad_line_ending, p);
      if (c == ';' && state_ != state::size_first) {
        state_ = state::ext_name_bws;
      } else if (has_class(c, cc_ows) && state_ != state::size_first) {
        state_ = state::size_bws;
      } else {
        const int h = hex_value(c);
        if (h < 0 || state_ == state::size_bws)
          return fail(rr::bad_chunk_size, p);
        if (digits_ == 15) // 15 hex digits = 60 bits: no overflow
          return fail(rr::bad_chunk_size, p);
        ++digits_;
        size_ = size_ * 16 + static_cast<uint64_t>(h);
        if (size_ > max_body_ - declared_)
          return fail(rr::body_too_large, p);
        state_ = state::size;
      }
      ++p;
      continue;
    }
    case state::ext_name_bws:
    case state::ext_name:
    case state::ext_name_end:
    case state::ext_value_bws:
    case state::ext_token:
    case state::ext_quoted:
    case state::ext_quoted_pair:
    case state::ext_quoted_end:
    case state::ext_value_end: {
      const state next = ext_next_[static_cast<size_t>(state_) -
                                   static_cast<size_t>(state::ext_name_bws)]
                                  [static_cast<unsigned char>(c)];
      if (c != '\r') { // CR is not part of the line's length
        if (line_len_ >= lim_.max_chunk_line)
          return fail(rr::chunk_line_too_long, p);
        ++line_len_;
        if (c == '\n')
          return fail(rr::bad_line_ending, p);
      }
      if (next == state::failed)
        return fail(rr::bad_chunk_extension, p);
      state_ = next;
      ++p;
      continue;
    }
    case state::size_lf:
      if (c != '\n')
        return fail(rr::bad_line_ending, p);
      ++p;
      line_len_ = 0;
      digits_ = 0;
      if (size_ == 0) {
        block_used_ = 0;
        trailer_count_ = 0;
        state_ = state::trailer_start;
      } else {
        declared_ += size_;
        remaining_ = size_;
        size_ = 0;
        state_ = state::data;
      }
      continue;
    // ---- chunk-data CRLF -----------------------------------------------
    case state::data: {
      const size_t avail = n - p;
      const size_t k =
        remaining_ < avail ? static_cast<size_t>(remaining_) : avail;
      const std::string_view piece(s + p, k);
      p += k;
      remaining_ -= k;
      delivered_ += k;
      if (remaining_ == 0)
        state_ = state::data_cr;
      on_data(piece);
      continue;
    }
    case state::data_cr:
      if (c != '\r')
        return fail(rr::bad_chunk, p);
      ++p;
      state_ = state::data_lf;
      continue;
    case state::data_lf:
      if (c != '\n')
        return fail(rr::bad_chunk, p);
      ++p;
      state_ = state::size_first;
      continue;
    // ---- trailer-section: *( field-line CRLF ) CRLF --------------------
    case state::trailer_start:
    case state::trailer_name:
    case state::trailer_value: {
      if (c == '\r') {
        if (state_ == state::trailer_name)
          return fail(rr::bad_header_name, p);
        state_ =
          state_ == state::trailer_start ? state::final_lf : state::trailer_lf;
        ++p;
        continue;
      }
      {
        const uint32_t block_left = lim_.max_header_block - block_used_;
        const uint32_t cap =
          lim_.max_header_line < block_left ? lim_.max_header_line : block_left;
        if (line_len_ >= cap)
          return fail(line_len_ >= lim_.max_header_line
                        ? rr::header_line_too_long
                        : rr::header_block_too_long,
                      p);
      }
      ++line_len_;
      if (state_ == state::trailer_value) {
        if (!has_class(c, cc_value))
          return fail(c == '\n' ? rr::bad_line_ending : rr::bad_header_value,
                      p);
      } else if (state_ == state::trailer_start) {
        if (!has_class(c, cc_tchar))
          return fail(has_class(c, cc_ows) ? rr::obs_fold
                      : c == '\n'          ? rr::bad_line_ending
                                           : rr::bad_header_name,
                      p);
        if (trailer_count_ >= lim_.max_header_count)
          return fail(rr::too_many_headers, p);
        name_buf_[0] = ascii_lower(c);
        name_len_ = 1;
        state_ = state::trailer_name;
      } else if (c == ':') {
        if (name_len_ <= name_buf_size) {
          const std::string_view name(name_buf_, name_len_);
          if (name == "content-length" || name == "transfer-encoding")
            return fail(rr::forbidden_trailer, p);
        }
        state_ = state::trailer_value;
      } else if (has_class(c, cc_tchar)) {
        if (name_len_ < name_buf_size)
          name_buf_[name_len_] = ascii_lower(c);
        if (name_len_ <= name_buf_size)
          ++name_len_; // name_buf_size + 1 = "longer than any we check"
      } else {
        return fail(c == '\n' ? rr::bad_line_ending : rr::bad_header_name, p);
      }
      ++p;
      continue;
    }
    case state::trailer_lf:
      if (c != '\n')
        return fail(rr::bad_line_ending, p);
      ++p;
      block_used_ += line_len_;
      line_len_ = 0;
      ++trailer_count_;
      state_ = state::trailer_start;
      continue;
    case state::final_lf:
      if (c != '\n')
        return fail(rr::bad_line_ending, p);
      ++p;
      state_ = state::done;
      consumed_ = p;
      return parse_status::complete;
    case state::done:
    case state::failed:
      break; // unreachable: handled above
    }
    break;
  }
  consumed_ = p;
  return parse_status::need_more;
}

} // namespace roadrunner::http1

// -- request_head -------------------------------------------------------------

namespace roadrunner {

std::optional<std::string_view>
request_head::find(std::string_view name) const noexcept {
  for (const auto& f : headers)
    if (http1::equals_icase(f.name, name))
      return f.value;
  return std::nullopt;
}

} // namespace roadrunner
