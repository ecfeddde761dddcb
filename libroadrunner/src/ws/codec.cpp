#include "ws/codec.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstring>

namespace roadrunner::ws {

bool valid_close_code(uint16_t code) noexcept {
  // RFC 6455 7.4.1: 1004-1006 and 1015 are reserved and never sent;
  // 1012-1014 are registered since (IANA); 3000-4999 are for libraries
  // and applications.
  if (code >= 1000 && code <= 1003)
    return true;
  if (code >= 1007 && code <= 1014)
    return true;
  return code >= 3000 && code <= 4999;
}

parse_result parse_frame_header(std::string_view in, uint64_t max_frame_size,
                                frame_header& out, frame_error& err,
                                bool deflate) noexcept {
  if (in.size() < 2)
    return parse_result::need_more;
  auto b0 = static_cast<uint8_t>(in[0]);
  auto b1 = static_cast<uint8_t>(in[1]);
  auto fail = [&](uint16_t code, std::string_view reason) {
    err = frame_error{code, reason};
    return parse_result::fail;
  };
  if ((b0 & (deflate ? 0x30 : 0x70)) != 0)
    return fail(close_code::protocol_error,
                "reserved bit set without an extension (RFC 6455 5.2)");
  out.rsv1 = (b0 & 0x40) != 0;
  auto op = b0 & 0x0f;
  switch (op) {
  case 0x0:
  case 0x1:
  case 0x2:
  case 0x8:
  case 0x9:
  case 0xa:
    break;
  default:
    return fail(close_code::protocol_error, "unknown opcode (RFC 6455 5.2)");
  }
  out.op = static_cast<opcode>(op);
  if (out.rsv1 && (is_control(out.op) || out.op == opcode::continuation))
    return fail(close_code::protocol_error,
                "RSV1 on a control or continuation frame (RFC 7692 6.1)");
  out.fin = (b0 & 0x80) != 0;
  out.masked = (b1 & 0x80) != 0;
  if (!out.masked)
    return fail(close_code::protocol_error,
                "client frame not masked (RFC 6455 5.1)");
  uint64_t len = b1 & 0x7f;
  size_t pos = 2;
  if (is_control(out.op)) {
    if (!out.fin)
      return fail(close_code::protocol_error,
                  "fragmented control frame (RFC 6455 5.5)");
    if (len > 125)
      return fail(close_code::protocol_error,
                  "control frame payload over 125 bytes (RFC 6455 5.5)");
  }
  if (len == 126) {
    if (in.size() < 4)
      return parse_result::need_more;
    len = (uint64_t{static_cast<uint8_t>(in[2])} << 8) |
          static_cast<uint8_t>(in[3]);
    pos = 4;
  } else if (len == 127) {
    if (in.size() < 10)
      return parse_result::need_more;
    len = 0;
    for (size_t i = 2; i < 10; ++i)
      len = (len << 8) | static_cast<uint8_t>(in[i]);
    pos = 10;
    if ((len >> 63) != 0)
      return fail(close_code::too_big,
                  "64-bit payload length with the top bit set (RFC 6455 5.2)");
  }
  if (len > max_frame_size)
    return fail(close_code::too_big, "frame over max_frame_size");
  if (in.size() < pos + 4)
    return parse_result::need_more;
  std::memcpy(out.mask, in.data() + pos, 4);
  out.header_size = pos + 4;
  out.payload_size = len;
  return parse_result::ok;
}

void unmask(char* data, size_t len, const uint8_t mask[4]) noexcept {
  // Eight bytes at a time: the mask repeated twice.
  uint8_t m8[8];
  for (size_t i = 0; i < 8; ++i)
    m8[i] = mask[i & 3];
  uint64_t m;
  std::memcpy(&m, m8, 8);
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t v;
    std::memcpy(&v, data + i, 8);
    v ^= m;
    std::memcpy(data + i, &v, 8);
  }
  for (; i < len; ++i)
    data[i] = static_cast<char>(static_cast<uint8_t>(data[i]) ^ mask[i & 3]);
}

void write_frame_header(std::string& out, opcode op, uint64_t len, bool rsv1) {
  char head[10];
  size_t n = 2;
  head[0] =
    static_cast<char>(0x80 | (rsv1 ? 0x40 : 0) | static_cast<uint8_t>(op));
  if (len < 126) {
    head[1] = static_cast<char>(len);
  } else if (len <= 0xffff) {
    head[1] = 126;
    head[2] = static_cast<char>(len >> 8);
    head[3] = static_cast<char>(len & 0xff);
    n = 4;
  } else {
    head[1] = 127;
    for (size_t i = 0; i < 8; ++i)
      head[2 + i] = static_cast<char>((len >> (56 - 8 * i)) & 0xff);
    n = 10;
  }
  out.append(head, n);
}

void write_close_frame(std::string& out, uint16_t code,
                       std::string_view reason) {
  // RFC 6455 5.5: a control payload holds at most 125 bytes, two of them
  // the code; cut the reason at a character boundary so it stays UTF-8.
  if (reason.size() > 123) {
    size_t n = 123;
    while (n > 0 && (static_cast<uint8_t>(reason[n]) & 0xc0) == 0x80)
      --n;
    reason = reason.substr(0, n);
  }
  write_frame_header(out, opcode::close, 2 + reason.size());
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xff));
  out.append(reason);
}

// -- UTF-8 --------------------------------------------------------------------

// state_: bits 0-1 the continuation bytes still expected, bits 8-15 and
// 16-23 the lowest and highest value the next one may take (RFC 3629 4:
// no overlong forms, no surrogates, nothing above U+10FFFF).
bool utf8_validator::feed(std::string_view bytes) noexcept {
  auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  auto* end = p + bytes.size();
  uint32_t st = state_;
  while (p != end) {
    if (st == 0) {
      // ASCII runs, eight bytes at a time.
      while (end - p >= 8) {
        uint64_t v;
        std::memcpy(&v, p, 8);
        if ((v & 0x8080808080808080ull) != 0)
          break;
        p += 8;
      }
      if (p == end)
        break;
      auto b = *p++;
      if (b < 0x80)
        continue;
      uint32_t rem = 0;
      uint32_t lo = 0x80;
      uint32_t hi = 0xbf;
      if (b >= 0xc2 && b <= 0xdf) {
        rem = 1;
      } else if (b >= 0xe0 && b <= 0xef) {
        rem = 2;
        if (b == 0xe0)
          lo = 0xa0;
        else if (b == 0xed)
          hi = 0x9f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        rem = 3;
        if (b == 0xf0)
          lo = 0x90;
        else if (b == 0xf4)
          hi = 0x8f;
      } else {
        state_ = 0;
        return false;
      }
      st = rem | (lo << 8) | (hi << 16);
      continue;
    }
    auto b = *p++;
    auto lo = (st >> 8) & 0xff;
    auto hi = (st >> 16) & 0xff;
    if (b < lo || b > hi) {
      state_ = 0;
      return false;
    }
    auto rem = (st & 3) - 1;
    st = rem == 0 ? 0 : (rem | (0x80u << 8) | (0xbfu << 16));
  }
  state_ = st;
  return true;
}

bool valid_utf8(std::string_view bytes) noexcept {
  utf8_validator v;
  return v.feed(bytes) && v.complete();
}

// -- handshake ----------------------------------------------------------------

std::string accept_key(std::string_view key) {
  // RFC 6455 1.3 / 4.2.2 item 5.4.
  static constexpr std::string_view guid =
    "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string in;
  in.reserve(key.size() + guid.size());
  in.append(key);
  in.append(guid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  unsigned char out[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  auto n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string{reinterpret_cast<const char*>(out),
                     static_cast<size_t>(n)};
}

bool valid_key(std::string_view key) noexcept {
  // 16 bytes in base64: 22 significant characters and "==".
  if (key.size() != 24 || key[22] != '=' || key[23] != '=')
    return false;
  unsigned char out[18];
  auto n = EVP_DecodeBlock(
    out, reinterpret_cast<const unsigned char*>(key.data()), 24);
  // EVP_DecodeBlock counts the padding as zero bytes (18); the 22nd
  // character's low four bits must be zero for exactly 16 bytes.
  if (n != 18)
    return false;
  static constexpr std::string_view last = "AQgw"; // values with low bits 0
  return last.find(key[21]) != std::string_view::npos;
}

} // namespace roadrunner::ws
