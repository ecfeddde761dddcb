// libFuzzer target for roadrunner::http1::request_parser and chunked_decoder.
//
// Input layout: 4 configuration bytes, then the wire bytes.
//   byte 0: bits 0-2 max_request_line, bits 3-5 max_header_line,
//           bits 6-7 max_header_count            (index 0 = the default)
//   byte 1: bits 0-2 max_header_block, bits 3-5 max_chunk_line,
//           bits 6-7 decoder max_body: 10 MiB (default), 0, 20, 2^64-1
//   byte 2: bits 0-3 head split mode, bits 4-7 body split mode
//           (0 = byte by byte, 1 = fixed step, 2..15 = random steps of
//           1..2^(mode-1) bytes)
//   byte 3: seed of the split steps
// So "\0\0\0\0" + request = default limits, heads fed byte by byte.
//
// For each pipelined message (up to max_messages) the head is parsed
//   (a) one-shot, by a parser reused across messages with reset(), and
//   (b) in pieces, by a fresh parser, each call given a fresh exact-size heap
//       copy of everything received so far (the old copy is freed first, so a
//       parser keeping pointers instead of offsets trips ASan),
// and both must agree on the verdict, error(), consumed() and the head
// (compared by content and by offset). A complete head is then checked
// against an independent validator of the documented grammar and rules. A
// chunked body is decoded one-shot, byte by byte and in pieces; all three must
// agree, and an accepted body is re-validated and re-decoded independently.
// Any mismatch prints what failed and aborts.

#include "http1/parser.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace {

namespace h1 = roadrunner::http1;

[[noreturn]] void check_failed(const char* what, int line) {
  std::fprintf(stderr, "http1_parser.fuzz.cpp:%d: check failed: %s\n", line,
               what);
  std::abort();
}

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond))                                                               \
      check_failed(#cond, __LINE__);                                           \
  } while (0)

constexpr size_t config_size = 4;
constexpr int max_messages = 8;

// -- outcome coverage ---------------------------------------------------------

// Each outcome (status + reject reason, of the head and of the body) reaches
// its own function, so libFuzzer sees it as new coverage even where the parser
// picks the reason without a branch (e.g. a select in too_long_reason).
template <size_t I>
[[gnu::noinline]] void outcome_reached() {
  static volatile unsigned hits;
  hits = hits + 1;
}

template <size_t... I>
void mark_outcome(size_t i, std::index_sequence<I...>) {
  ((i == I ? outcome_reached<I>() : void()), ...);
}

constexpr size_t outcomes_per_kind = h1::reject_reason_count + 2;

// kind 0: request head, kind 1: chunked body.
void mark(size_t kind, h1::parse_status st, h1::reject_reason r) {
  const size_t i = st == h1::parse_status::reject ? static_cast<size_t>(r)
                   : st == h1::parse_status::complete
                     ? h1::reject_reason_count
                     : h1::reject_reason_count + 1;
  mark_outcome(kind * outcomes_per_kind + i,
               std::make_index_sequence<2 * outcomes_per_kind>{});
}

// -- configuration ------------------------------------------------------------

constexpr uint32_t small_sizes[8] = {0 /* default */, 0, 1, 8, 16, 24, 32, 64};
constexpr uint32_t small_counts[4] = {0 /* default */, 0, 1, 3};
constexpr uint64_t small_bodies[4] = {0 /* default */, 0, 20,
                                      std::numeric_limits<uint64_t>::max()};

uint32_t pick_size(uint32_t def, unsigned idx) {
  return idx == 0 ? def : small_sizes[idx];
}

struct config {
  h1::limits lim;
  uint64_t max_body = 10485760; // chunked_decoder's default
  uint8_t head_mode = 0;
  uint8_t body_mode = 0;
  uint8_t seed = 0;
};

config read_config(const uint8_t* d) {
  config c;
  const h1::limits def;
  c.lim.max_request_line = pick_size(def.max_request_line, d[0] & 7);
  c.lim.max_header_line = pick_size(def.max_header_line, (d[0] >> 3) & 7);
  const unsigned count = d[0] >> 6;
  c.lim.max_header_count =
    count == 0 ? def.max_header_count : small_counts[count];
  c.lim.max_header_block = pick_size(def.max_header_block, d[1] & 7);
  c.lim.max_chunk_line = pick_size(def.max_chunk_line, (d[1] >> 3) & 7);
  const unsigned body = d[1] >> 6;
  if (body != 0)
    c.max_body = small_bodies[body];
  c.head_mode = d[2] & 15;
  c.body_mode = d[2] >> 4;
  c.seed = d[3];
  return c;
}

// Piece sizes for a split feed (deterministic in mode and seed).
class splitter {
public:
  splitter(uint8_t mode, uint8_t seed)
    : mode_(mode), seed_(seed), rng_(0x9E3779B9u * (seed + 1u) + mode) {}

  // A piece size in [1, left] (left > 0).
  size_t next(size_t left) {
    size_t k = 1;
    if (mode_ == 1) {
      k = size_t{seed_} % 32 + 1;
    } else if (mode_ >= 2) {
      rng_ ^= rng_ << 13;
      rng_ ^= rng_ >> 17;
      rng_ ^= rng_ << 5;
      k = rng_ % (size_t{1} << (mode_ - 1)) + 1;
    }
    return k < left ? k : left;
  }

private:
  uint8_t mode_;
  uint8_t seed_;
  uint32_t rng_;
};

// -- independent byte classes and helpers -------------------------------------

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9'))
    return true;
  return c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_target_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7E;
}

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

// HTAB, SP, VCHAR, obs-text.
bool is_value_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return c == '\t' || (u >= 0x20 && u != 0x7F);
}

bool is_host_byte(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9'))
    return true;
  return c != '\0' && std::strchr("-._~!$&'()*+,;=:%[]", c) != nullptr;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i]))
      return false;
  return true;
}

std::string_view trim(std::string_view x) {
  while (!x.empty() && is_ows(x.front()))
    x.remove_prefix(1);
  while (!x.empty() && is_ows(x.back()))
    x.remove_suffix(1);
  return x;
}

bool no_cr_lf_nul(std::string_view x) {
  return x.find_first_of(std::string_view("\r\n\0", 3)) ==
         std::string_view::npos;
}

// -- request head -------------------------------------------------------------

// Offset of `v` in buffer `base` (views of empty strings may point anywhere,
// so only their size is compared).
size_t offset_of(std::string_view v, const char* base) {
  return v.empty() ? 0 : static_cast<size_t>(v.data() - base);
}

void check_same_view(std::string_view a, const char* abase, std::string_view b,
                     const char* bbase) {
  CHECK(a == b);
  CHECK(offset_of(a, abase) == offset_of(b, bbase));
}

void check_same_head(const h1::request_head& a, const char* abase,
                     const h1::request_head& b, const char* bbase) {
  check_same_view(a.method, abase, b.method, bbase);
  check_same_view(a.target, abase, b.target, bbase);
  check_same_view(a.path, abase, b.path, bbase);
  check_same_view(a.query, abase, b.query, bbase);
  check_same_view(a.host, abase, b.host, bbase);
  CHECK(a.version_minor == b.version_minor);
  CHECK(a.framing == b.framing);
  CHECK(a.content_length == b.content_length);
  CHECK(a.keep_alive == b.keep_alive);
  CHECK(a.expect_continue == b.expect_continue);
  CHECK(a.headers.size() == b.headers.size());
  for (size_t i = 0; i < a.headers.size(); ++i) {
    check_same_view(a.headers[i].name, abase, b.headers[i].name, bbase);
    check_same_view(a.headers[i].value, abase, b.headers[i].value, bbase);
  }
}

bool within(std::string_view v, const char* base, size_t size) {
  return v.empty() || (v.data() >= base && v.data() + v.size() <= base + size);
}

// Checks a complete head of `consumed` bytes at `base` (of `size` bytes)
// against the grammar and rules documented in parser.hpp, independently of
// the parser's own scanning.
void check_head(const char* base, size_t size, size_t consumed,
                const h1::request_head& h, const h1::limits& lim) {
  CHECK(consumed >= 4 && consumed <= size);
  auto at = [&](size_t i) {
    CHECK(i < consumed);
    return base[i];
  };

  // Views point into the head.
  CHECK(within(h.method, base, consumed) && within(h.target, base, consumed));
  CHECK(within(h.path, base, consumed) && within(h.query, base, consumed));
  CHECK(within(h.host, base, consumed));
  for (const auto& f : h.headers)
    CHECK(within(f.name, base, consumed) && within(f.value, base, consumed));

  // Request line: [CRLF] method SP target SP HTTP/1.x CRLF.
  size_t p = 0;
  if (at(0) == '\r') {
    CHECK(at(1) == '\n');
    p = 2;
  }
  const size_t rl_begin = p;
  CHECK(!h.method.empty() && h.method.data() == base + p);
  for (char c : h.method)
    CHECK(is_tchar(c));
  p += h.method.size();
  CHECK(at(p) == ' ');
  ++p;
  CHECK(!h.target.empty() && h.target.data() == base + p);
  for (char c : h.target)
    CHECK(is_target_byte(c));
  p += h.target.size();
  CHECK(at(p) == ' ');
  ++p;
  CHECK(h.version_minor <= 1);
  CHECK(p + 8 <= consumed && std::memcmp(base + p, "HTTP/1.", 7) == 0);
  CHECK(base[p + 7] == char('0' + h.version_minor));
  p += 8;
  CHECK(p - rl_begin <= lim.max_request_line);
  CHECK(at(p) == '\r' && at(p + 1) == '\n');
  p += 2;

  // Path and query split at the first '?'.
  const size_t q = h.target.find('?');
  if (q == std::string_view::npos) {
    CHECK(h.path.data() == h.target.data() && h.path == h.target);
    CHECK(h.query.empty());
  } else {
    CHECK(h.path.data() == h.target.data() && h.path.size() == q);
    CHECK(h.query == h.target.substr(q + 1));
    CHECK(h.query.empty() || h.query.data() == h.target.data() + q + 1);
  }

  // Field lines: name ":" OWS value OWS CRLF, then CRLF.
  CHECK(h.headers.size() <= lim.max_header_count);
  size_t block = 0;
  for (const auto& f : h.headers) {
    const size_t line_begin = p;
    CHECK(!f.name.empty() && f.name.data() == base + p);
    CHECK(no_cr_lf_nul(f.name) && no_cr_lf_nul(f.value));
    for (char c : f.name)
      CHECK(is_tchar(c));
    p += f.name.size();
    CHECK(at(p) == ':');
    ++p;
    while (is_ows(at(p)))
      ++p;
    if (!f.value.empty()) {
      CHECK(f.value.data() == base + p);
      CHECK(!is_ows(f.value.front()) && !is_ows(f.value.back()));
      for (char c : f.value)
        CHECK(is_value_byte(c));
      p += f.value.size();
    }
    while (is_ows(at(p)))
      ++p;
    CHECK(at(p) == '\r' && at(p + 1) == '\n');
    CHECK(p - line_begin <= lim.max_header_line);
    block += p - line_begin;
    p += 2;
  }
  CHECK(block <= lim.max_header_block);
  CHECK(at(p) == '\r' && at(p + 1) == '\n');
  p += 2;
  CHECK(p == consumed);

  // Field rules.
  int hosts = 0, cls = 0, tes = 0;
  std::string_view host;
  uint64_t cl = 0;
  bool close = false, keep_alive = false, expect = false;
  for (const auto& f : h.headers) {
    if (iequals(f.name, "host")) {
      ++hosts;
      host = f.value;
      for (char c : f.value)
        CHECK(is_host_byte(c));
    } else if (iequals(f.name, "content-length")) {
      CHECK(!f.value.empty() && f.value.size() <= 19);
      uint64_t v = 0;
      for (char c : f.value) {
        CHECK(c >= '0' && c <= '9');
        v = v * 10 + uint64_t(c - '0');
      }
      CHECK(v <= uint64_t(std::numeric_limits<int64_t>::max()));
      CHECK(cls == 0 || v == cl);
      cl = v;
      ++cls;
    } else if (iequals(f.name, "transfer-encoding")) {
      ++tes;
      CHECK(iequals(f.value, "chunked"));
    } else if (iequals(f.name, "connection")) {
      std::string_view rest = f.value;
      for (;;) {
        const size_t comma = rest.find(',');
        const auto token = trim(rest.substr(0, comma));
        close = close || iequals(token, "close");
        keep_alive = keep_alive || iequals(token, "keep-alive");
        if (comma == std::string_view::npos)
          break;
        rest.remove_prefix(comma + 1);
      }
    } else if (iequals(f.name, "expect")) {
      expect = expect || iequals(f.value, "100-continue");
    }
  }
  CHECK(hosts <= 1);
  CHECK(h.version_minor == 0 || hosts == 1);
  CHECK(h.host == host);
  CHECK(h.host.empty() || h.host.data() == host.data());
  CHECK(tes <= 1);
  CHECK(!(tes && cls));
  CHECK(tes == 0 || h.version_minor == 1);
  if (h.framing == h1::body_framing::content_length) {
    CHECK(cls > 0 && tes == 0 && h.content_length == cl);
  } else if (h.framing == h1::body_framing::chunked) {
    CHECK(tes == 1 && cls == 0 && h.content_length == 0);
  } else {
    CHECK(h.framing == h1::body_framing::none);
    CHECK(tes == 0 && cls == 0 && h.content_length == 0);
  }
  CHECK(h.keep_alive == (!close && (h.version_minor == 1 || keep_alive)));
  CHECK(h.expect_continue == (h.version_minor == 1 && expect));

  // find(): the first field with that name, case-insensitively.
  for (size_t i = 0; i < h.headers.size() && i < 4; ++i) {
    size_t first = 0;
    while (!iequals(h.headers[first].name, h.headers[i].name))
      ++first;
    const auto found = h.find(h.headers[i].name);
    CHECK(found && found->data() == h.headers[first].value.data() &&
          found->size() == h.headers[first].value.size());
  }
}

struct head_result {
  h1::parse_status status = h1::parse_status::need_more;
  size_t consumed = 0;
  h1::reject_reason error = h1::reject_reason::bad_request_line;
};

head_result snapshot(const h1::request_parser& p, h1::parse_status st) {
  return {st, p.consumed(), p.error()};
}

void check_same_result(const head_result& a, const head_result& b) {
  CHECK(a.status == b.status);
  CHECK(a.consumed == b.consumed);
  if (a.status == h1::parse_status::reject)
    CHECK(a.error == b.error);
}

// Feeds `in` to `parser` in pieces, each call with a fresh exact-size copy of
// all bytes so far; after a verdict, the rest arrives in one call (which must
// repeat the verdict and re-point the views). Returns the result; `buf` keeps
// the last copy (all of `in`) alive for comparing views.
head_result parse_split(h1::request_parser& parser, std::string_view in,
                        const config& cfg, std::unique_ptr<char[]>& buf) {
  splitter split(cfg.head_mode, cfg.seed);
  head_result first;
  size_t fed = 0;
  do {
    const size_t k = first.status == h1::parse_status::need_more
                       ? split.next(in.size() - fed)
                       : in.size() - fed;
    fed += k;
    buf.reset(); // free the previous copy before the parser sees the next
    buf.reset(new char[fed ? fed : 1]);
    std::memcpy(buf.get(), in.data(), fed);
    const auto st = parser.parse(std::string_view(buf.get(), fed));
    const auto now = snapshot(parser, st);
    if (first.status != h1::parse_status::need_more)
      check_same_result(first, now); // sticky verdict, same consumed()
    else
      first = now;
    if (st == h1::parse_status::need_more)
      CHECK(parser.consumed() == 0);
  } while (fed < in.size());
  if (first.status == h1::parse_status::complete)
    CHECK(first.consumed <= in.size());
  return first;
}

// -- chunked body -------------------------------------------------------------

struct body_result {
  h1::parse_status status = h1::parse_status::need_more;
  size_t consumed = 0; // over all calls
  h1::reject_reason error = h1::reject_reason::bad_chunk_size;
  uint64_t body_size = 0;
  std::string data;
};

// One decode call over `in`; appends the data to `out` and checks the
// per-call contract. Returns the status.
h1::parse_status decode_call(h1::chunked_decoder& d, std::string_view in,
                             body_result& out) {
  const auto st = d.decode(in, [&](std::string_view piece) {
    CHECK(!piece.empty());
    CHECK(piece.data() >= in.data() &&
          piece.data() + piece.size() <= in.data() + in.size());
    out.data.append(piece);
  });
  CHECK(d.consumed() <= in.size());
  if (st == h1::parse_status::need_more)
    CHECK(d.consumed() == in.size());
  out.status = st;
  out.consumed += d.consumed();
  if (st == h1::parse_status::reject)
    out.error = d.error();
  out.body_size = d.body_size();
  CHECK(out.body_size == out.data.size());
  return st;
}

// After a verdict the decoder repeats it and consumes nothing.
void check_sticky(h1::chunked_decoder& d, std::string_view rest,
                  const body_result& r) {
  if (r.status == h1::parse_status::need_more)
    return;
  bool called = false;
  const auto st = d.decode(rest, [&](std::string_view) { called = true; });
  CHECK(st == r.status && !called);
  if (st == h1::parse_status::complete)
    CHECK(d.consumed() == 0);
  else
    CHECK(d.error() == r.error);
}

// Decodes `in` in pieces of `split` (mode 0 = byte by byte), each piece in a
// fresh exact-size copy.
body_result decode_split(std::string_view in, const config& cfg,
                         splitter split) {
  h1::chunked_decoder d(cfg.lim, cfg.max_body);
  body_result r;
  size_t fed = 0;
  while (fed < in.size()) {
    const size_t k = split.next(in.size() - fed);
    std::unique_ptr<char[]> piece(new char[k]);
    std::memcpy(piece.get(), in.data() + fed, k);
    fed += k;
    if (decode_call(d, std::string_view(piece.get(), k), r) !=
        h1::parse_status::need_more)
      break;
  }
  check_sticky(d, in.substr(r.consumed), r);
  return r;
}

void check_same_body(const body_result& a, const body_result& b) {
  CHECK(a.status == b.status);
  CHECK(a.consumed == b.consumed);
  if (a.status == h1::parse_status::reject)
    CHECK(a.error == b.error);
  CHECK(a.body_size == b.body_size);
  CHECK(a.data == b.data);
}

// Re-validates an accepted chunked body of `consumed` bytes and re-decodes it
// independently (RFC 9112 7.1, 7.1.1 with the rules documented in
// parser.hpp).
void check_body(std::string_view in, const body_result& r, const config& cfg) {
  const size_t n = r.consumed;
  CHECK(n <= in.size());
  auto at = [&](size_t i) {
    CHECK(i < n);
    return in[i];
  };
  std::string data;
  size_t p = 0;
  for (;;) {
    const size_t line_begin = p;
    uint64_t size = 0;
    int digits = 0;
    while (hex_digit(at(p)) >= 0) {
      size = size * 16 + uint64_t(hex_digit(at(p)));
      ++digits;
      ++p;
      CHECK(digits <= 15);
    }
    CHECK(digits >= 1);
    // chunk-ext = *( BWS ";" BWS token [ BWS "=" BWS ( token /
    // quoted-string ) ] ): BWS only before ';' or '=' and after ';' or '='.
    auto skip_bws = [&] {
      while (is_ows(at(p)))
        ++p;
    };
    auto skip_token = [&] {
      const size_t from = p;
      while (is_tchar(at(p)))
        ++p;
      CHECK(p > from);
    };
    while (at(p) != '\r') {
      skip_bws();
      CHECK(at(p) == ';');
      ++p;
      skip_bws();
      skip_token();
      const size_t name_end = p;
      skip_bws();
      if (at(p) != '=') {
        p = name_end;
        continue;
      }
      ++p;
      skip_bws();
      if (at(p) != '"') {
        skip_token();
        continue;
      }
      for (++p; at(p) != '"'; ++p) {
        if (at(p) == '\\')
          ++p;
        CHECK(is_value_byte(at(p)));
      }
      ++p;
    }
    CHECK(at(p) == '\r' && at(p + 1) == '\n');
    CHECK(p - line_begin <= cfg.lim.max_chunk_line);
    p += 2;
    if (size == 0)
      break;
    CHECK(size <= cfg.max_body - data.size());
    CHECK(size <= n - p);
    data.append(in.substr(p, size));
    p += size;
    CHECK(at(p) == '\r' && at(p + 1) == '\n');
    p += 2;
  }
  size_t count = 0, block = 0;
  while (at(p) != '\r') {
    const size_t line_begin = p;
    while (is_tchar(at(p)))
      ++p;
    const std::string_view name = in.substr(line_begin, p - line_begin);
    CHECK(!name.empty() && at(p) == ':');
    CHECK(!iequals(name, "content-length") &&
          !iequals(name, "transfer-encoding"));
    ++p;
    while (at(p) != '\r') {
      CHECK(is_value_byte(at(p)));
      ++p;
    }
    CHECK(at(p + 1) == '\n');
    CHECK(p - line_begin <= cfg.lim.max_header_line);
    block += p - line_begin;
    ++count;
    p += 2;
  }
  CHECK(count <= cfg.lim.max_header_count);
  CHECK(block <= cfg.lim.max_header_block);
  CHECK(at(p + 1) == '\n');
  p += 2;
  CHECK(p == n);
  CHECK(data == r.data);
}

// Decodes a chunked body one-shot (with `d`, reused via reset()), byte by
// byte and in pieces; all must agree. Returns the one-shot result.
body_result check_chunked(std::string_view in, const config& cfg,
                          h1::chunked_decoder& d) {
  d.reset();
  body_result one;
  decode_call(d, in, one);
  check_sticky(d, in.substr(one.consumed), one);

  check_same_body(one, decode_split(in, cfg, splitter(0, 0)));
  if (cfg.body_mode != 0)
    check_same_body(one,
                    decode_split(in, cfg, splitter(cfg.body_mode, cfg.seed)));

  if (one.status == h1::parse_status::complete)
    check_body(in, one, cfg);
  return one;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < config_size)
    return 0;
  const config cfg = read_config(data);
  const std::string_view all(reinterpret_cast<const char*>(data) + config_size,
                             size - config_size);

  h1::request_parser one_shot(cfg.lim); // reused across messages via reset()
  h1::chunked_decoder decoder(cfg.lim, cfg.max_body);
  size_t off = 0;
  for (int m = 0; m < max_messages && off < all.size(); ++m) {
    const std::string_view in = all.substr(off);

    // (a) one-shot over the rest of the input (the fuzzer's own exact-size
    // buffer), after a reset.
    one_shot.reset();
    const auto st = one_shot.parse(in);
    const auto a = snapshot(one_shot, st);
    if (st == h1::parse_status::need_more)
      CHECK(one_shot.consumed() == 0);

    // (b) split into pieces, fresh copies, fresh parser.
    h1::request_parser split(cfg.lim);
    std::unique_ptr<char[]> buf;
    const auto b = parse_split(split, in, cfg, buf);
    check_same_result(a, b);
    mark(0, st, a.error);
    if (st != h1::parse_status::complete)
      break;

    const auto& head = one_shot.head();
    check_same_head(head, in.data(), split.head(), buf.get());
    check_head(in.data(), in.size(), a.consumed, head, cfg.lim);

    const std::string_view body = in.substr(a.consumed);
    size_t used = 0;
    if (head.framing == h1::body_framing::content_length) {
      if (head.content_length > body.size())
        break;
      used = static_cast<size_t>(head.content_length);
    } else if (head.framing == h1::body_framing::chunked) {
      const auto r = check_chunked(body, cfg, decoder);
      mark(1, r.status, r.error);
      if (r.status != h1::parse_status::complete)
        break;
      used = r.consumed;
    }
    off += a.consumed + used;
  }
  return 0;
}
