// Unit tests of the chunked transfer-coding decoder (RFC 9112 7.1).

#include "http1/parser.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace std::literals;
using roadrunner::http1::chunked_decoder;
using roadrunner::http1::limits;
using roadrunner::http1::parse_status;
using roadrunner::http1::reject_reason;

namespace {

constexpr uint64_t default_max_body = 10485760;

struct run_result {
  parse_status status = parse_status::need_more;
  std::string reason;  // reject reason name, empty otherwise
  std::string data;    // all data delivered
  size_t consumed = 0; // total bytes consumed over all calls
  uint64_t body_size = 0;
  size_t calls_with_empty_piece = 0;
  size_t pieces_outside_input = 0;

  std::string show() const {
    std::string o;
    switch (status) {
    case parse_status::complete:
      o = "complete";
      break;
    case parse_status::need_more:
      o = "need_more";
      break;
    case parse_status::reject:
      o = "reject " + reason;
      break;
    }
    o += " consumed=" + std::to_string(consumed);
    o += " body_size=" + std::to_string(body_size);
    o += " data=[" + data + "]";
    if (calls_with_empty_piece != 0)
      o += " EMPTY-PIECE";
    if (pieces_outside_input != 0)
      o += " PIECE-OUTSIDE-INPUT";
    return o;
  }
};

// Feeds `wire` cut into pieces at `cuts` (ascending offsets). Each piece is
// copied into its own buffer, freed after the call: the decoder keeps no
// pointer into earlier input.
run_result run(std::string_view wire, const std::vector<size_t>& cuts,
               limits lim = {}, uint64_t max_body = default_max_body) {
  chunked_decoder d(lim, max_body);
  run_result r;
  size_t from = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    const size_t to = i < cuts.size() ? cuts[i] : wire.size();
    if (to < from)
      continue;
    auto buf = std::make_unique<std::string>(wire.substr(from, to - from));
    const std::string_view in = *buf;
    r.status = d.decode(in, [&](std::string_view piece) {
      if (piece.empty())
        ++r.calls_with_empty_piece;
      if (piece.data() < in.data() ||
          piece.data() + piece.size() > in.data() + in.size())
        ++r.pieces_outside_input;
      r.data.append(piece);
    });
    if (r.status == parse_status::need_more && d.consumed() != in.size())
      r.reason = "need_more did not consume all input";
    r.consumed += d.consumed();
    from = to;
    if (r.status != parse_status::need_more)
      break;
  }
  if (r.status == parse_status::reject)
    r.reason = to_string(d.error());
  r.body_size = d.body_size();
  return r;
}

run_result one_shot(std::string_view wire, limits lim = {},
                    uint64_t max_body = default_max_body) {
  return run(wire, {}, lim, max_body);
}

run_result byte_by_byte(std::string_view wire, limits lim = {},
                        uint64_t max_body = default_max_body) {
  std::vector<size_t> cuts;
  for (size_t k = 1; k < wire.size(); ++k)
    cuts.push_back(k);
  return run(wire, cuts, lim, max_body);
}

// Short outcome: "complete", "need_more" or the reject reason's name.
std::string outcome(std::string_view wire, limits lim = {},
                    uint64_t max_body = default_max_body) {
  const auto r = one_shot(wire, lim, max_body);
  switch (r.status) {
  case parse_status::complete:
    return "complete";
  case parse_status::need_more:
    return "need_more";
  case parse_status::reject:
    return r.reason;
  }
  return "?";
}

// The number of bytes after which the decoder first stops answering
// need_more when fed one byte per call (0 if it never does).
size_t decisive_byte(std::string_view wire, limits lim = {},
                     uint64_t max_body = default_max_body) {
  chunked_decoder d(lim, max_body);
  for (size_t k = 0; k < wire.size(); ++k)
    if (d.decode(wire.substr(k, 1), [](std::string_view) {}) !=
        parse_status::need_more)
      return k + 1;
  return 0;
}

struct row {
  std::string wire;
  std::string expected; // "complete", "need_more" or a reject reason name
};

void check_table(const std::vector<row>& rows, limits lim = {},
                 uint64_t max_body = default_max_body) {
  for (const auto& r : rows) {
    CAPTURE(r.wire);
    CHECK(outcome(r.wire, lim, max_body) == r.expected);
    CHECK(byte_by_byte(r.wire, lim, max_body).show() ==
          one_shot(r.wire, lim, max_body).show());
  }
}

const std::vector<std::string>& valid_bodies() {
  static const std::vector<std::string> bodies = {
    "0\r\n\r\n",
    "5\r\nhello\r\n0\r\n\r\n",
    "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    "A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n",
    "005\r\nhello\r\n000\r\n\r\n",
    "5;name=value\r\nhello\r\n0;last\r\n\r\n",
    "5 ;a=b\t;c\r\nhello\r\n0\r\n\r\n",
    "1; q = \"a\\\"b\" ;r;s=t\r\nx\r\n0;e=\"\"\r\n\r\n",
    "3\r\n\r\n\r\r\n0\r\n\r\n", // data may contain CR / LF bytes
    "1\r\n\0\r\n0\r\n\r\n"s,
    "4\r\nwiki\r\n0\r\nX-Checksum: abc\r\nY:\r\n\r\n",
    "2\r\nab\r\n0\r\nTrailer-A: 1\r\nTrailer-B:  two \t\r\n\r\n",
  };
  return bodies;
}

// An independent, line-based reference decoder (default limits). Returns the
// decoded data and the consumed size when `wire` starts with a complete valid
// chunked body, nullopt otherwise (invalid or incomplete).
struct ref_result {
  std::string data;
  size_t consumed;
};

bool ref_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') ||
         "!#$%&'*+-.^_`|~"sv.find(c) != std::string_view::npos;
}

bool ref_text(char c) { // HTAB, SP, VCHAR, obs-text
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

// chunk-ext = *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] )
// (RFC 9112 7.1.1; quoted-string RFC 9110 5.6.4), read left to right.
bool ref_chunk_ext(std::string_view e) {
  size_t i = 0;
  auto bws = [&] {
    while (i < e.size() && (e[i] == ' ' || e[i] == '\t'))
      ++i;
  };
  auto token = [&] {
    const size_t from = i;
    while (i < e.size() && ref_tchar(e[i]))
      ++i;
    return i > from;
  };
  auto quoted_string = [&] {
    if (i == e.size() || e[i] != '"')
      return false;
    for (++i; i < e.size(); ++i) {
      if (e[i] == '"') {
        ++i;
        return true;
      }
      if (e[i] == '\\' && ++i == e.size())
        return false;
      if (!ref_text(e[i]))
        return false;
    }
    return false; // no closing quote
  };
  while (i < e.size()) {
    bws();
    if (i == e.size() || e[i] != ';')
      return false;
    ++i;
    bws();
    if (!token())
      return false;
    const size_t after_name = i;
    bws();
    if (i < e.size() && e[i] == '=') {
      ++i;
      bws();
      if (!token() && !quoted_string())
        return false;
    } else {
      i = after_name; // the BWS belongs to the next ";"
    }
  }
  return true;
}

std::string lower(std::string_view x) {
  std::string o(x);
  for (auto& c : o)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c + 32);
  return o;
}

std::optional<ref_result> ref_decode(std::string_view w,
                                     uint64_t max_body = default_max_body) {
  ref_result r;
  size_t pos = 0;
  uint64_t total = 0;
  for (;;) {
    const size_t eol = w.find("\r\n", pos);
    if (eol == std::string_view::npos)
      return std::nullopt;
    const auto line = w.substr(pos, eol - pos);
    if (line.size() > 8192 || line.find_first_of("\r\n") != line.npos)
      return std::nullopt;
    size_t i = 0;
    uint64_t size = 0;
    for (; i < line.size(); ++i) {
      const auto digit = "0123456789abcdef"sv.find(lower(line.substr(i, 1)));
      if (digit == std::string_view::npos)
        break;
      size = size * 16 + digit;
    }
    if (i == 0 || i > 15)
      return std::nullopt;
    if (!ref_chunk_ext(line.substr(i)))
      return std::nullopt;
    if (size > max_body - total)
      return std::nullopt;
    total += size;
    pos = eol + 2;
    if (size == 0)
      break;
    if (w.size() < pos + size + 2 || w.substr(pos + size, 2) != "\r\n")
      return std::nullopt;
    r.data.append(w.substr(pos, size));
    pos += size + 2;
  }
  size_t count = 0, block = 0;
  for (;;) {
    const size_t eol = w.find("\r\n", pos);
    if (eol == std::string_view::npos)
      return std::nullopt;
    const auto line = w.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty())
      break;
    block += line.size();
    if (++count > 100 || line.size() > 8192 || block > 10240)
      return std::nullopt;
    const size_t colon = line.find(':');
    if (colon == 0 || colon == line.npos)
      return std::nullopt;
    for (size_t k = 0; k < colon; ++k)
      if (!ref_tchar(line[k]))
        return std::nullopt;
    for (size_t k = colon + 1; k < line.size(); ++k)
      if (!ref_text(line[k]))
        return std::nullopt;
    const auto name = lower(line.substr(0, colon));
    if (name == "content-length" || name == "transfer-encoding")
      return std::nullopt;
  }
  r.consumed = pos;
  return r;
}

// Deterministic PRNG (xorshift64*).
struct prng {
  uint64_t s;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ULL;
  }
  size_t below(size_t n) {
    return n == 0 ? 0 : static_cast<size_t>(next() % n);
  }
};

} // namespace

TEST_SUITE("http1.chunked") {

  TEST_CASE("a chunked body is decoded into its chunk data, zero-copy "
            "(RFC 9112 7.1)") {
    const std::string wire = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    chunked_decoder d;
    std::vector<std::string_view> pieces;
    REQUIRE(d.decode(wire, [&](std::string_view x) { pieces.push_back(x); }) ==
            parse_status::complete);
    CHECK(d.consumed() == wire.size());
    CHECK(d.body_size() == 11);
    REQUIRE(pieces.size() == 2);
    CHECK(pieces[0] == "hello");
    CHECK(pieces[1] == " world");
    // The pieces are views into the input, not copies.
    CHECK(pieces[0].data() == wire.data() + 3);
    CHECK(pieces[1].data() == wire.data() + wire.find(" world"));
  }

  TEST_CASE("chunk sizes are 1*HEXDIG, case-insensitive, leading zeros allowed "
            "(RFC 9112 7.1)") {
    CHECK(one_shot("A\r\n0123456789\r\n0\r\n\r\n").data == "0123456789");
    CHECK(one_shot("a\r\n0123456789\r\n0\r\n\r\n").data == "0123456789");
    CHECK(
      one_shot("1f\r\n" + std::string(31, 'x') + "\r\n0\r\n\r\n").data.size() ==
      31);
    CHECK(
      one_shot("1F\r\n" + std::string(31, 'x') + "\r\n0\r\n\r\n").data.size() ==
      31);
    CHECK(one_shot("00005\r\nhello\r\n0\r\n\r\n").data == "hello");
    CHECK(one_shot("000000000000005\r\nhello\r\n0\r\n\r\n").show() ==
          "complete consumed=29 body_size=5 data=[hello]");
    CHECK(outcome("000\r\n\r\n") == "complete");
    CHECK(outcome("000000000000000\r\n\r\n") == "complete");
  }

  TEST_CASE("malformed chunk-size lines are rejected with 400 (RFC 9112 7.1)") {
    check_table({
      {"\r\n", "bad_chunk_size"},
      {" 5\r\nhello\r\n0\r\n\r\n", "bad_chunk_size"},
      {"\t5\r\nhello\r\n0\r\n\r\n", "bad_chunk_size"},
      {"+5\r\nhello\r\n0\r\n\r\n", "bad_chunk_size"},
      {"-5\r\nhello\r\n0\r\n\r\n", "bad_chunk_size"},
      {"0x5\r\nhello\r\n0\r\n\r\n", "bad_chunk_size"},
      {"5 \r\nhello\r\n0\r\n\r\n", "bad_chunk_size"},
      {"5\t\r\nhello\r\n0\r\n\r\n", "bad_chunk_size"},
      {"5 5\r\nhello\r\n0\r\n\r\n", "bad_chunk_size"},
      {"g\r\n", "bad_chunk_size"},
      {"5g\r\n", "bad_chunk_size"},
      {"5.0\r\n", "bad_chunk_size"},
      {"1_0\r\n", "bad_chunk_size"},
      {";ext\r\n", "bad_chunk_size"},
      {"\xef\xbc\x95\r\n", "bad_chunk_size"}, // FULLWIDTH DIGIT FIVE
      {"5\nhello\r\n0\r\n\r\n", "bad_line_ending"},
      {"5\rhello\r\n0\r\n\r\n", "bad_line_ending"},
      {"\n", "bad_line_ending"},
      {"0\n\r\n", "bad_line_ending"},
    });
    CHECK(status_of(reject_reason::bad_chunk_size) == 400);
  }

  TEST_CASE("chunk-size is overflow-safe: a 16th hex digit is refused "
            "(RFC 9112 7.1)") {
    const uint64_t unlimited = std::numeric_limits<uint64_t>::max();
    check_table(
      {
        {"fffffffffffffff\r\n", "need_more"}, // 2^60 - 1: waits for the data
        {"ffffffffffffffff\r\n", "bad_chunk_size"},
        {"10000000000000000\r\n", "bad_chunk_size"}, // 2^64 would wrap to 0
        {"0000000000000001\r\n", "bad_chunk_size"},
        {"0000000000000000\r\n\r\n", "bad_chunk_size"},
        {std::string(100, 'f'), "bad_chunk_size"},
      },
      {}, unlimited);
    CHECK(decisive_byte(std::string(100, 'f'), {}, unlimited) == 16);
  }

  TEST_CASE("body_too_large (413) is decided from the size line, before any of "
            "that chunk's data (RFC 9110 15.5.14)") {
    const uint64_t max = 10;
    check_table(
      {
        {"a\r\n0123456789\r\n0\r\n\r\n", "complete"},
        {"6\r\nabcdef\r\n4\r\nabcd\r\n0\r\n\r\n", "complete"}, // exactly 10
        {"b\r\n0123456789a\r\n0\r\n\r\n", "body_too_large"},
        {"6\r\nabcdef\r\n5\r\nabcde\r\n0\r\n\r\n", "body_too_large"},
        {"00000b\r\n", "body_too_large"},
        {"10\r\n", "body_too_large"},
        {"b", "body_too_large"}, // no CRLF needed
      },
      {}, max);
    // Rejected at the size digit: no data of the chunk was delivered.
    const auto r = one_shot("6\r\nabcdef\r\n5\r\nabcde\r\n0\r\n\r\n", {}, max);
    CHECK(r.reason == "body_too_large");
    CHECK(r.data == "abcdef");
    CHECK(decisive_byte("6\r\nabcdef\r\n5\r\nabcde\r\n0\r\n\r\n", {}, max) ==
          12);
    CHECK(decisive_byte("b\r\n0123456789a\r\n", {}, max) == 1);
    // The default limit is 10 MiB; "a00001" = 10485761.
    CHECK(outcome("a00000\r\n") == "need_more");
    CHECK(outcome("a00001\r\n") == "body_too_large");
    CHECK(decisive_byte("ffffffffffffffff\r\n") == 6); // 0xffffff > 10 MiB
    CHECK(status_of(reject_reason::body_too_large) == 413);
  }

  TEST_CASE("chunk extensions that follow the grammar are validated and "
            "skipped; the others are refused (RFC 9112 7.1.1)") {
    check_table({
      {"5;foo=bar\r\nhello\r\n0\r\n\r\n", "complete"},
      {"5;foo\r\nhello\r\n0\r\n\r\n", "complete"},
      {"5 ;foo\r\nhello\r\n0\r\n\r\n", "complete"},
      {"5\t \t;foo\r\nhello\r\n0\r\n\r\n", "complete"},
      {"5; foo = \"b a r\"\r\nhello\r\n0\r\n\r\n", "complete"},
      {"5;a;b=c;d=\"e;f\"\r\nhello\r\n0\r\n\r\n", "complete"},
      {"5;x=\"caf\xc3\xa9\"\r\nhello\r\n0\r\n\r\n", "complete"},
      {"5;x=\ty\r\nhello\r\n0\r\n\r\n", "complete"},
      {"0;last=1\r\n\r\n", "complete"},
      {"5;a\x01\r\nhello\r\n0\r\n\r\n", "bad_chunk_extension"},
      {"5;a\x7f\r\nhello\r\n0\r\n\r\n", "bad_chunk_extension"},
      {"5;a\0b\r\nhello\r\n0\r\n\r\n"s, "bad_chunk_extension"},
      {"5;a\x1b\r\nhello\r\n0\r\n\r\n", "bad_chunk_extension"},
      {"5;a\nb\r\nhello\r\n0\r\n\r\n", "bad_line_ending"},
      {"5;a\rb\r\nhello\r\n0\r\n\r\n", "bad_line_ending"},
      {"5;a\n\r\nhello\r\n0\r\n\r\n", "bad_line_ending"},
      // issue 12: an empty chunk-ext-name was accepted.
      {"2;\r\nab\r\n0\r\n\r\n", "bad_chunk_extension"},
      {"0;\r\n\r\n", "bad_chunk_extension"},
      {"5;a=b c\r\nhello\r\n0\r\n\r\n", "bad_chunk_extension"},
      {"5;a=\"b\r\nhello\r\n0\r\n\r\n", "bad_chunk_extension"},
    });
    CHECK(one_shot("5;foo=bar\r\nhello\r\n0\r\n\r\n").data == "hello");
    CHECK(status_of(reject_reason::bad_chunk_extension) == 400);
  }

  TEST_CASE("chunk-size lines: every row's exact verdict and the byte that "
            "decides it (RFC 9112 7.1, 7.1.1)") {
    struct line_row {
      std::string line; // the size line with its line ending
      size_t size;      // chunk data that follows when the line is valid
      std::string expected;
      size_t at; // bytes fed (one per call) when the verdict comes; 0 = all
    };
    // A valid line is followed by its data and the last chunk (or, for a
    // zero size, by the empty trailer section).
    const auto wire = [](const line_row& r) {
      return r.line + (r.size == 0
                         ? "\r\n"
                         : std::string(r.size, 'x') + "\r\n0\r\n\r\n");
    };
    const std::string c = "complete", size = "bad_chunk_size",
                      ext = "bad_chunk_extension", eol = "bad_line_ending",
                      big = "body_too_large";
    const std::vector<line_row> rows = {
      // -- chunk-size = 1*HEXDIG (at most 15 here: 60 bits, no overflow)
      {"1\r\n", 1, c, 0},
      {"01\r\n", 1, c, 0},
      {"000000000000001\r\n", 1, c, 0},
      {"0\r\n", 0, c, 0},
      {"000\r\n", 0, c, 0},
      {"a\r\n", 10, c, 0},
      {"A\r\n", 10, c, 0},
      {"1f\r\n", 31, c, 0},
      {"1F\r\n", 31, c, 0},
      {"fF\r\n", 255, c, 0},
      {"0000000000000001\r\n", 1, size, 16},
      {"0000000000000000\r\n", 0, size, 16},
      {"a00001\r\n", 0, big, 6},
      {"ffffffffffffffff\r\n", 0, big, 6},
      {"10000000000000000\r\n", 0, big, 7}, // 2^64 would wrap to 0
      {"\r\n", 0, size, 1},
      {"x\r\n", 0, size, 1},
      {"g\r\n", 0, size, 1},
      {"1g\r\n", 0, size, 2},
      {"0x1\r\n", 0, size, 2},
      {"+1\r\n", 0, size, 1},
      {"-1\r\n", 0, size, 1},
      {"1.0\r\n", 0, size, 2},
      {"1_0\r\n", 0, size, 2},
      {";a\r\n", 0, size, 1},
      {"\xef\xbc\x91\r\n", 0, size, 1}, // FULLWIDTH DIGIT ONE
      // -- whitespace: BWS only before ';'
      {" 1\r\n", 0, size, 1},
      {"\t1\r\n", 0, size, 1},
      {"1 1\r\n", 0, size, 3},
      {"1 \r\n", 0, size, 3},
      {"1\t\r\n", 0, size, 3},
      {"1 ;a\r\n", 1, c, 0},
      {"1\t;a\r\n", 1, c, 0},
      {"1 \t ;a\r\n", 1, c, 0},
      {"1; a\r\n", 1, c, 0},
      {"1;\ta\r\n", 1, c, 0},
      {"1;a =b\r\n", 1, c, 0},
      {"1;a= b\r\n", 1, c, 0},
      {"1;a \t=\t b\r\n", 1, c, 0},
      {"1;a ;b\r\n", 1, c, 0},
      {"1;a=b ;c\r\n", 1, c, 0},
      {"1;a=\"b\" ;c\r\n", 1, c, 0},
      {"1;a \r\n", 0, ext, 5},
      {"1;a=b \r\n", 0, ext, 7},
      {"1;a=b\t\r\n", 0, ext, 7},
      {"1;a=\"b\" \r\n", 0, ext, 9},
      {"1 ;\r\n", 0, ext, 4},
      {"1 ; \r\n", 0, ext, 5},
      {"1;a b\r\n", 0, ext, 5},
      {"1;a=b c\r\n", 0, ext, 7},
      {"1;a=\"b\"c\r\n", 0, ext, 8},
      // -- chunk-ext-name = token
      {"1;a\r\n", 1, c, 0},
      {"1;A\r\n", 1, c, 0},
      {"1;a;b;c\r\n", 1, c, 0},
      {"1;!#$%&'*+-.^_`|~09aZ\r\n", 1, c, 0},
      {"0;last\r\n", 0, c, 0},
      {"1;\r\n", 0, ext, 3},
      {"2;\r\n", 0, ext, 3}, // issue 12
      {"0;\r\n", 0, ext, 3},
      {"1; \r\n", 0, ext, 4},
      {"1;;a\r\n", 0, ext, 3},
      {"1;a;\r\n", 0, ext, 5},
      {"1;a;;b\r\n", 0, ext, 5},
      {"1;=b\r\n", 0, ext, 3},
      {"1;\"a\"\r\n", 0, ext, 3},
      {"1;a(b\r\n", 0, ext, 4},
      {"1;a@b\r\n", 0, ext, 4},
      {"1;a,b\r\n", 0, ext, 4},
      {"1;a:b\r\n", 0, ext, 4},
      {"1;a/b\r\n", 0, ext, 4},
      {"1;\xc3\xa9\r\n", 0, ext, 3}, // obs-text is no tchar
      {"1;a\x01\r\n", 0, ext, 4},
      {"1;a\x7f\r\n", 0, ext, 4},
      {"1;a\0\r\n"s, 0, ext, 4},
      // -- chunk-ext-val = token
      {"1;a=b\r\n", 1, c, 0},
      {"1;a=b;c=d\r\n", 1, c, 0},
      {"1;a=!#$%&'*+-.^_`|~09aZ\r\n", 1, c, 0},
      {"0;a=b\r\n", 0, c, 0},
      {"1;a=\r\n", 0, ext, 5},
      {"1;a= \r\n", 0, ext, 6},
      {"1;a=;b\r\n", 0, ext, 5},
      {"1;a==b\r\n", 0, ext, 5},
      {"1;a=b=c\r\n", 0, ext, 6},
      {"1;a=b\"c\"\r\n", 0, ext, 6},
      {"1;a=b\\c\r\n", 0, ext, 6},
      {"1;a=\xc3\xa9\r\n", 0, ext, 5},
      {"1;a=b\x01\r\n", 0, ext, 6},
      // -- chunk-ext-val = quoted-string (RFC 9110 5.6.4)
      {"1;a=\"b\"\r\n", 1, c, 0},
      {"1;a=\"\"\r\n", 1, c, 0},
      {"1;a=\" \t!#[]~\"\r\n", 1, c, 0},
      {"1;a=\"b;c=d\"\r\n", 1, c, 0},
      {"1;a=\"caf\xc3\xa9\"\r\n", 1, c, 0}, // obs-text
      {"1;a=\"\\\"\"\r\n", 1, c, 0},        // quoted-pair: \"
      {"1;a=\"\\\\\"\r\n", 1, c, 0},        // quoted-pair: \\ .
      {"1;a=\"\\\t\\ \\x\\\xff\"\r\n", 1, c, 0},
      {"1;a=\"b\";c\r\n", 1, c, 0},
      {"1;a=\"b\r\n", 0, ext, 7},    // unterminated
      {"1;a=\"\\\"\r\n", 0, ext, 8}, // the quote is escaped: unterminated
      {"1;a=\"\\\r\n", 0, ext, 7},   // quoted-pair cut by CR
      {"1;a=\"b\rc\"\r\n", 0, ext, 7},
      {"1;a=\"\x01\"\r\n", 0, ext, 6},
      {"1;a=\"\x7f\"\r\n", 0, ext, 6},
      {"1;a=\"\0\"\r\n"s, 0, ext, 6},
      {"1;a=\"\\\x01\"\r\n", 0, ext, 7},
      {"1;a=\"\\\x7f\"\r\n", 0, ext, 7},
      {"1;a=\"b\"\"c\"\r\n", 0, ext, 8},
      {"1;a=\"b\"=c\r\n", 0, ext, 8},
      // -- line endings: CRLF only (RFC 9112 2.2)
      {"1\n", 0, eol, 2},
      {"1;a\n", 0, eol, 4},
      {"1;a=b\n", 0, eol, 6},
      {"1;a=\"b\"\n", 0, eol, 8},
      {"1;a=\"b\nc\"\r\n", 0, eol, 7},
      {"1\r\r\n", 0, eol, 3},
      {"1\rx\r\n", 0, eol, 3},
      {"1;a\rb\r\n", 0, eol, 5},
      {"1;a=b\r\r\n", 0, eol, 7},
      {"\n", 0, eol, 1},
    };
    for (const auto& r : rows) {
      const std::string w = wire(r);
      CAPTURE(w);
      CHECK(outcome(w) == r.expected);
      CHECK(decisive_byte(w) == (r.at == 0 ? w.size() : r.at));
      CHECK(byte_by_byte(w).show() == one_shot(w).show());
      // The reference decoder agrees on every line.
      CHECK(ref_decode(w).has_value() == (r.expected == c));
    }
  }

  TEST_CASE("every byte value is classified by the grammar in a chunk-size, "
            "a chunk extension and a trailer field (RFC 9112 7.1)") {
    size_t wrong = 0;
    std::string first_wrong;
    auto expect = [&](const std::string& wire, std::string_view want) {
      const auto got = outcome(wire);
      if (got != want && wrong++ == 0)
        first_wrong = wire + " -> " + got + ", want " + std::string(want);
    };
    for (unsigned b = 0; b < 256; ++b) {
      const char c = static_cast<char>(b);
      const bool text = b == '\t' || (b >= 0x20 && b != 0x7F);
      const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                       (c >= 'A' && c <= 'F');
      const bool tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') ||
                         "!#$%&'*+-.^_`|~"sv.find(c) != std::string_view::npos;
      const bool crlf = c == '\r' || c == '\n';
      // chunk-ext bytes: in a name, in a token value, in a quoted-string,
      // after a backslash in a quoted-string.
      expect("1;a"s + c + "b\r\nx\r\n0\r\n\r\n",
             tchar || c == '=' || c == ';' ? "complete"
             : crlf                        ? "bad_line_ending"
                                           : "bad_chunk_extension");
      expect("1;a=b"s + c + "c\r\nx\r\n0\r\n\r\n",
             tchar || c == ';' ? "complete"
             : crlf            ? "bad_line_ending"
                               : "bad_chunk_extension");
      expect("1;a=\"b"s + c + "c\"\r\nx\r\n0\r\n\r\n",
             c == '\n'           ? "bad_line_ending"
             : c == '"'          ? "bad_chunk_extension"
             : text || c == '\\' ? "complete"
                                 : "bad_chunk_extension");
      expect("1;a=\"\\"s + c + "\"\r\nx\r\n0\r\n\r\n",
             c == '\n' ? "bad_line_ending"
             : text    ? "complete"
                       : "bad_chunk_extension");
      // Second byte of a chunk-size line "0?" CRLF ("0;" has an empty
      // extension name).
      expect("0"s + c + "\r\n", hex        ? "need_more"
                                : c == ';' ? "bad_chunk_extension"
                                : crlf     ? "bad_line_ending"
                                           : "bad_chunk_size");
      // Trailer value and trailer name bytes.
      expect("0\r\nX: a"s + c + "b\r\n\r\n", text ? "complete"
                                             : c == '\r' || c == '\n'
                                               ? "bad_line_ending"
                                               : "bad_header_value");
      expect("0\r\nX"s + c + "b: v\r\n\r\n", tchar || c == ':' ? "complete"
                                             : c == '\n' ? "bad_line_ending"
                                                         : "bad_header_name");
    }
    INFO(first_wrong);
    CHECK(wrong == 0);
  }

  TEST_CASE("the chunk-size line is limited to max_chunk_line bytes, refused "
            "at the crossing byte (RFC 9112 7.1)") {
    const limits lim;
    REQUIRE(lim.max_chunk_line == 8192);
    const auto line = [](size_t size) { // "1;" + ext
      return "1;" + std::string(size - 2, 'e');
    };
    CHECK(outcome(line(8192) + "\r\nx\r\n0\r\n\r\n") == "complete");
    CHECK(outcome(line(8193) + "\r\nx\r\n0\r\n\r\n") == "chunk_line_too_long");
    CHECK(decisive_byte(line(9000)) == 8193);
    CHECK(outcome(line(8192) + "\r") == "need_more");
    // Also for the last chunk and for BWS.
    CHECK(outcome("0;" + std::string(8191, 'e')) == "chunk_line_too_long");
    CHECK(outcome("0" + std::string(8192, ' ')) == "chunk_line_too_long");
    limits small;
    small.max_chunk_line = 4;
    check_table({{"1;ab\r\nx\r\n0\r\n\r\n", "complete"},
                 {"1;abc\r\nx\r\n0\r\n\r\n", "chunk_line_too_long"},
                 {"00001\r\nx\r\n0\r\n\r\n", "chunk_line_too_long"},
                 {"0001\r\nx\r\n0;ab\r\n\r\n", "complete"}},
                small);
  }

  TEST_CASE("chunk data must be followed by exactly CRLF (RFC 9112 7.1)") {
    check_table({
      {"5\r\nhelloX\r\n0\r\n\r\n", "bad_chunk"},
      {"5\r\nhello\n0\r\n\r\n", "bad_chunk"},
      {"5\r\nhello\rX0\r\n\r\n", "bad_chunk"},
      {"5\r\nhello\r\r\n0\r\n\r\n", "bad_chunk"},
      {"5\r\nhello0\r\n\r\n", "bad_chunk"},
      {"5\r\nhello world\r\n0\r\n\r\n", "bad_chunk"},
      {"5\r\nhell\r\n0\r\n\r\n", "bad_chunk"}, // data "hell\r", then "\n0"
      {"5\r\nhello\r\n", "need_more"},
      {"5\r\nhello\r", "need_more"},
    });
    // What was decoded before the error was delivered (callers discard it).
    CHECK(one_shot("5\r\nhelloX").data == "hello");
    CHECK(status_of(reject_reason::bad_chunk) == 400);
  }

  TEST_CASE("the trailer section follows the field-line rules and is "
            "discarded (RFC 9112 7.1.2)") {
    check_table({
      {"0\r\nX-Checksum: abc\r\n\r\n", "complete"},
      {"0\r\nA: 1\r\nb:\r\nC:  \t3 \r\n\r\n", "complete"},
      {"0\r\nX: caf\xc3\xa9\r\n\r\n", "complete"},
      {"0\r\nContent-Lengths: 5\r\n\r\n", "complete"},
      {"0\r\nX-Content-Length: 5\r\n\r\n", "complete"},
      {"0\r\nTransfer-Encodings: x\r\n\r\n", "complete"},
      {"0\r\nContent-Length: 5\r\n\r\n", "forbidden_trailer"},
      {"0\r\ncontent-length: 5\r\n\r\n", "forbidden_trailer"},
      {"0\r\nCONTENT-LENGTH:5\r\n\r\n", "forbidden_trailer"},
      {"0\r\nTransfer-Encoding: chunked\r\n\r\n", "forbidden_trailer"},
      {"0\r\nX: 1\r\ntransfer-encoding: chunked\r\n\r\n", "forbidden_trailer"},
      {"0\r\n X: y\r\n\r\n", "obs_fold"},
      {"0\r\nX: y\r\n z\r\n\r\n", "obs_fold"},
      {"0\r\nX: y\r\n\tz\r\n\r\n", "obs_fold"},
      {"0\r\nX : y\r\n\r\n", "bad_header_name"},
      {"0\r\n: y\r\n\r\n", "bad_header_name"},
      {"0\r\nX\r\n\r\n", "bad_header_name"},
      {"0\r\nX(: y\r\n\r\n", "bad_header_name"},
      {"0\r\nX: a\0b\r\n\r\n"s, "bad_header_value"},
      {"0\r\nX: a\x7f\r\n\r\n", "bad_header_value"},
      {"0\r\nX: a\nb\r\n\r\n", "bad_line_ending"},
      {"0\r\nX: y\rZ\r\n\r\n", "bad_line_ending"},
      {"0\r\nX: y\n\r\n", "bad_line_ending"},
      {"0\r\n\n", "bad_line_ending"},
      {"0\r\n\rX", "bad_line_ending"},
      {"0\r\nX\n", "bad_line_ending"},
      {"0\r\nX: y\r\n", "need_more"},
    });
    // Trailers are not data.
    const auto r = one_shot("3\r\nabc\r\n0\r\nX: y\r\n\r\n");
    CHECK(r.data == "abc");
    CHECK(r.body_size == 3);
    CHECK(status_of(reject_reason::forbidden_trailer) == 400);
  }

  TEST_CASE("trailer limits max_header_line, max_header_block and "
            "max_header_count apply at the crossing byte (RFC 6585 5)") {
    const limits lim;
    const auto field = [](size_t size) {
      return "X: " + std::string(size - 3, 'v');
    };
    CHECK(outcome("0\r\n" + field(8192) + "\r\n\r\n", lim) == "complete");
    CHECK(outcome("0\r\n" + field(8193) + "\r\n\r\n", lim) ==
          "header_line_too_long");
    CHECK(decisive_byte("0\r\n" + field(9000), lim) == 3 + 8193);
    std::string many = "0\r\n";
    for (int i = 0; i < 100; ++i)
      many.append("T").append(std::to_string(i)).append(": v\r\n");
    CHECK(outcome(many + "\r\n", lim) == "complete");
    CHECK(outcome(many + "T100: v\r\n\r\n", lim) == "too_many_headers");
    CHECK(decisive_byte(many + "T100: v\r\n\r\n", lim) == many.size() + 1);
    const std::string big = field(8192);
    const std::string rest = field(10240 - 8192);
    CHECK(outcome("0\r\n" + big + "\r\n" + rest + "\r\n\r\n", lim) ==
          "complete");
    CHECK(outcome("0\r\n" + big + "\r\n" + rest + "x\r\n\r\n", lim) ==
          "header_block_too_long");
    limits small;
    small.max_header_line = 8;
    small.max_header_block = 12;
    small.max_header_count = 2;
    check_table({{"0\r\nAbc: 123\r\n\r\n", "complete"},
                 {"0\r\nAbc: 1234\r\n\r\n", "header_line_too_long"},
                 {"0\r\nAbc: 123\r\nD: 1\r\n\r\n", "complete"},
                 {"0\r\nAbc: 123\r\nD: 12\r\n\r\n", "header_block_too_long"},
                 {"0\r\nA: 1\r\nB: 2\r\n\r\n", "complete"},
                 {"0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", "too_many_headers"},
                 {"0\r\nA:1\r\nB:2\r\nC", "too_many_headers"}},
                small);
  }

  TEST_CASE("decoding is resumable: byte-by-byte and every 2-way split give "
            "the same result as one-shot") {
    for (const auto& wire : valid_bodies()) {
      CAPTURE(wire);
      const auto expected = one_shot(wire).show();
      REQUIRE(expected.rfind("complete consumed=" + std::to_string(wire.size()),
                             0) == 0);
      CHECK(byte_by_byte(wire).show() == expected);
      for (size_t k = 0; k <= wire.size(); ++k) {
        CAPTURE(k);
        CHECK(run(wire, {k}).show() == expected);
      }
      const auto ref = ref_decode(wire);
      REQUIRE(ref.has_value());
      CHECK(ref->data == one_shot(wire).data);
    }
  }

  TEST_CASE("complete stops at the end of the trailer section: pipelined bytes "
            "are left for the next request (RFC 9112 7.1, 9.3.2)") {
    const std::string body = "5\r\nhello\r\n0\r\nX: y\r\n\r\n";
    const std::string wire = body + "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    chunked_decoder d;
    std::string data;
    REQUIRE(d.decode(wire, [&](std::string_view x) { data.append(x); }) ==
            parse_status::complete);
    CHECK(d.consumed() == body.size());
    CHECK(data == "hello");
    // Fed byte by byte, the call with the final LF completes, consuming 1.
    const auto r = byte_by_byte(wire);
    CHECK(r.status == parse_status::complete);
    CHECK(r.consumed == body.size());
    // Fed in two parts, the second part's consumed() counts from its start.
    chunked_decoder e;
    auto sink = [](std::string_view) {};
    REQUIRE(e.decode(std::string_view(wire).substr(0, 7), sink) ==
            parse_status::need_more);
    CHECK(e.consumed() == 7);
    REQUIRE(e.decode(std::string_view(wire).substr(7), sink) ==
            parse_status::complete);
    CHECK(e.consumed() == body.size() - 7);
  }

  TEST_CASE("after complete or reject the decoder answers the same until "
            "reset(), which readies it for the next body") {
    chunked_decoder d;
    size_t calls = 0;
    auto sink = [&](std::string_view) { ++calls; };
    REQUIRE(d.decode("0\r\n\r\n", sink) == parse_status::complete);
    CHECK(d.decode("5\r\nhello\r\n0\r\n\r\n", sink) == parse_status::complete);
    CHECK(d.consumed() == 0);
    CHECK(calls == 0);
    d.reset();
    REQUIRE(d.decode("5\r\nhello\r\n0\r\n\r\n", sink) ==
            parse_status::complete);
    CHECK(calls == 1);
    CHECK(d.body_size() == 5);
    d.reset();
    CHECK(d.body_size() == 0);
    REQUIRE(d.decode("zz", sink) == parse_status::reject);
    CHECK(d.error() == reject_reason::bad_chunk_size);
    CHECK(d.decode("0\r\n\r\n", sink) == parse_status::reject);
    d.reset();
    CHECK(d.decode("0\r\n\r\n", sink) == parse_status::complete);
  }

  TEST_CASE("data pieces are never empty and a chunk split over calls arrives "
            "as several views") {
    const std::string wire = "a\r\n0123456789\r\n0\r\n\r\n";
    const auto r = run(wire, {5, 8, 9, 13});
    CHECK(r.show() == "complete consumed=20 body_size=10 data=[0123456789]");
    CHECK(r.calls_with_empty_piece == 0);
    CHECK(r.pieces_outside_input == 0);
    chunked_decoder d;
    std::vector<std::string> pieces;
    auto sink = [&](std::string_view x) { pieces.emplace_back(x); };
    CHECK(d.decode("a\r\n012", sink) == parse_status::need_more);
    CHECK(d.decode("", sink) == parse_status::need_more);
    CHECK(d.decode("3456", sink) == parse_status::need_more);
    CHECK(d.decode("789\r\n0\r\n\r\n", sink) == parse_status::complete);
    CHECK(pieces == std::vector<std::string>{"012", "3456", "789"});
  }

  TEST_CASE("random mutations of chunked bodies never crash, decode the same "
            "however fed, and agree with a reference decoder") {
    prng rng{0xD1B54A32D192ED03ULL};
    const auto& bodies = valid_bodies();
    static constexpr char interesting[] = {
      '\r',   '\n', ' ', '\t', ':', ';', '=', '\0', '\x7f',
      '\x80', 'f',  'F', '0',  '1', 'g', 'x', '"',
    };
    const std::vector<std::string_view> splices = {
      "\r\n", "0\r\n\r\n", "5\r\nhello\r\n", "Content-Length: 1\r\n",
      ";e=v", " ",         "ffffff",         "X: y\r\n",
    };
    size_t mismatches = 0, ref_mismatches = 0, completes = 0, rejects = 0;
    std::string first_failure;
    for (int iter = 0; iter < 20000; ++iter) {
      std::string s = bodies[rng.below(bodies.size())];
      if (rng.below(4) == 0) // several bodies chained: longer inputs
        s = "3\r\nabc\r\n" + s;
      const size_t mutations = 1 + rng.below(3);
      for (size_t m = 0; m < mutations; ++m) {
        const size_t pos = rng.below(s.size() + 1);
        switch (rng.below(6)) {
        case 0:
          if (!s.empty())
            s[std::min(pos, s.size() - 1)] =
              rng.below(2) ? interesting[rng.below(sizeof interesting)]
                           : static_cast<char>(rng.below(256));
          break;
        case 1:
          s.insert(pos, 1, interesting[rng.below(sizeof interesting)]);
          break;
        case 2:
          if (pos < s.size())
            s.erase(pos, 1 + rng.below(3));
          break;
        case 3:
          s.insert(pos, splices[rng.below(splices.size())]);
          break;
        case 4:
          if (pos < s.size())
            s.insert(pos, s.substr(pos, 1 + rng.below(10)));
          break;
        default:
          s.resize(pos);
          break;
        }
      }
      const uint64_t max_body = iter % 3 == 0 ? 8 : default_max_body;
      const auto expected = one_shot(s, {}, max_body);
      const auto e = expected.show();
      auto same = [&](const run_result& got, const char* how) {
        if (got.show() != e && mismatches++ == 0)
          first_failure = std::string(how) + " input=" + s + "\nexpected=" + e +
                          "\ngot=" + got.show();
      };
      same(byte_by_byte(s, {}, max_body), "byte_by_byte");
      const size_t a = rng.below(s.size() + 1);
      const size_t b = a + rng.below(s.size() - a + 1);
      same(run(s, {a, b}, {}, max_body), "3-way split");
      const auto ref = ref_decode(s, max_body);
      const bool ok = expected.status == parse_status::complete;
      if (ok != ref.has_value() ||
          (ok && (ref->data != expected.data ||
                  ref->consumed != expected.consumed))) {
        if (ref_mismatches++ == 0 && first_failure.empty())
          first_failure = "reference disagrees: input=" + s + "\ndecoder=" + e;
      }
      completes += ok ? 1 : 0;
      rejects += expected.status == parse_status::reject ? 1 : 0;
    }
    INFO(first_failure);
    CHECK(mismatches == 0);
    CHECK(ref_mismatches == 0);
    CHECK(completes > 1000);
    CHECK(rejects > 1000);
  }

} // TEST_SUITE
