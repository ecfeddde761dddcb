#include "proxy_protocol.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

namespace roadrunner::proxy {

namespace {

constexpr std::string_view v1_prefix = "PROXY ";

// Spec 2.2: the fixed part of a v2 header, and the address blocks.
constexpr size_t v2_fixed = 16;
constexpr size_t v2_inet_block = 12;  // 2 x 4 address bytes, 2 x 2 port bytes
constexpr size_t v2_inet6_block = 36; // 2 x 16 address bytes, 2 ports
constexpr size_t v2_unix_block = 216; // 2 x 108 path bytes

// Spec 2.2.7: the TLV types read here.
constexpr uint8_t pp2_type_alpn = 0x01;
constexpr uint8_t pp2_type_authority = 0x02;
constexpr uint8_t pp2_type_crc32c = 0x03;
constexpr uint8_t pp2_type_unique_id = 0x05;
constexpr uint8_t pp2_type_ssl = 0x20;
constexpr uint8_t pp2_subtype_ssl_version = 0x21;
constexpr uint8_t pp2_client_ssl = 0x01;
constexpr size_t max_unique_id = 128; // spec 2.2.5

// The reflected CRC32C table (polynomial 0x82F63B78), built at compile
// time: Debian has no C/C++ CRC-32C library, and it costs one checksum of
// at most `max_header_size` bytes per connection, only when the proxy
// sends the TLV (docs/architecture.md 18).
constexpr auto crc32c_table = [] {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}();

parse_result reject(reject_reason r) {
  return {parse_status::reject, 0, r};
}

parse_result need_more() {
  return {parse_status::need_more, 0, reject_reason::none};
}

uint8_t byte_at(std::string_view in, size_t i) {
  return static_cast<uint8_t>(in[i]);
}

uint16_t be16(std::string_view in, size_t i) {
  return static_cast<uint16_t>((byte_at(in, i) << 8) | byte_at(in, i + 1));
}

// The canonical text of a binary address (inet_ntop).
std::string address_text(int family, const void* raw) {
  char text[INET6_ADDRSTRLEN] = {};
  if (::inet_ntop(family, raw, text, sizeof(text)) == nullptr)
    return {};
  return text;
}

// -- version 1 ----------------------------------------------------------------

// A v1 port: 1..5 decimal digits, at most 65535 (spec 2.1).
bool parse_port(std::string_view x, uint16_t& out) {
  if (x.empty() || x.size() > 5)
    return false;
  uint32_t v = 0;
  for (char c : x) {
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > 65535)
    return false;
  out = static_cast<uint16_t>(v);
  return true;
}

// A v1 address of `family` as inet_pton reads it, canonicalised.
bool parse_address(int family, std::string_view x, std::string& out) {
  if (x.empty() || x.size() >= INET6_ADDRSTRLEN)
    return false;
  char text[INET6_ADDRSTRLEN] = {};
  std::memcpy(text, x.data(), x.size());
  unsigned char raw[sizeof(in6_addr)];
  if (::inet_pton(family, text, raw) != 1)
    return false;
  out = address_text(family, raw);
  return !out.empty();
}

// Splits off the next token ending at a single space; false on an empty
// token (two spaces in a row, a space at the end).
bool next_token(std::string_view& rest, std::string_view& token, bool last) {
  auto sp = rest.find(' ');
  if (last) {
    if (sp != std::string_view::npos || rest.empty())
      return false;
    token = rest;
    rest = {};
    return true;
  }
  if (sp == std::string_view::npos || sp == 0)
    return false;
  token = rest.substr(0, sp);
  rest.remove_prefix(sp + 1);
  return true;
}

parse_result parse_v1(std::string_view in, proxy_info& out) {
  // "PROXY " byte by byte: a client that skipped the proxy is refused at
  // its first wrong byte, not after the header timeout.
  auto n = std::min(in.size(), v1_prefix.size());
  if (in.substr(0, n) != v1_prefix.substr(0, n))
    return reject(reject_reason::not_proxy);
  auto window = in.substr(0, std::min(in.size(), max_v1_size));
  auto cr = window.find('\r');
  auto lf = window.find('\n');
  // A bare LF, or a CR followed by anything but LF, is not a v1 line.
  if (lf != std::string_view::npos && (cr == std::string_view::npos || lf < cr))
    return reject(reject_reason::v1_syntax);
  if (cr == std::string_view::npos || cr + 1 >= window.size()) {
    if (in.size() >= max_v1_size)
      return reject(reject_reason::v1_too_long);
    return need_more();
  }
  if (window[cr + 1] != '\n')
    return reject(reject_reason::v1_syntax);
  auto line = in.substr(v1_prefix.size(), cr - v1_prefix.size());
  size_t consumed = cr + 2;
  proxy_info info;
  info.version = 1;
  // "UNKNOWN": the receiver ignores the rest of the line and keeps the
  // connection's own addresses (spec 2.1).
  if (line == "UNKNOWN" || line.substr(0, 8) == "UNKNOWN ") {
    out = std::move(info);
    return {parse_status::complete, consumed, reject_reason::none};
  }
  std::string_view proto;
  std::string_view src;
  std::string_view dst;
  std::string_view sport;
  std::string_view dport;
  auto rest = line;
  if (!next_token(rest, proto, false) || !next_token(rest, src, false) ||
      !next_token(rest, dst, false) || !next_token(rest, sport, false) ||
      !next_token(rest, dport, true))
    return reject(reject_reason::v1_syntax);
  int family = 0;
  if (proto == "TCP4")
    family = AF_INET;
  else if (proto == "TCP6")
    family = AF_INET6;
  else
    return reject(reject_reason::v1_syntax);
  if (!parse_address(family, src, info.source.ip) ||
      !parse_address(family, dst, info.destination.ip))
    return reject(reject_reason::v1_address);
  if (!parse_port(sport, info.source.port) ||
      !parse_port(dport, info.destination.port))
    return reject(reject_reason::v1_port);
  out = std::move(info);
  return {parse_status::complete, consumed, reject_reason::none};
}

// -- version 2 ----------------------------------------------------------------

// PP2_TYPE_SSL (spec 2.2.5): client bits (1), verify (4), sub-TLVs.
bool parse_ssl_tlv(std::string_view v, proxy_info& info) {
  if (v.size() < 5)
    return false;
  info.ssl = (byte_at(v, 0) & pp2_client_ssl) != 0;
  size_t off = 5;
  while (off < v.size()) {
    if (v.size() - off < 3)
      return false;
    auto type = byte_at(v, off);
    size_t len = be16(v, off + 1);
    off += 3;
    if (v.size() - off < len)
      return false;
    if (type == pp2_subtype_ssl_version && info.ssl_version.empty())
      info.ssl_version.assign(v.substr(off, len));
    off += len;
  }
  return true;
}

// The TLVs after the address block; unknown types are skipped (spec 2.2.7:
// a receiver ignores what it does not know). The first of a repeated type
// wins. A PP2_TYPE_CRC32C's value offset (within `tlvs`) goes to
// `crc_at`; a second one, or one that is not 4 bytes, is refused.
bool parse_tlvs(std::string_view tlvs, proxy_info& info, size_t& crc_at) {
  size_t off = 0;
  crc_at = std::string_view::npos;
  bool seen_alpn = false;
  bool seen_authority = false;
  bool seen_id = false;
  bool seen_ssl = false;
  while (off < tlvs.size()) {
    if (tlvs.size() - off < 3)
      return false;
    auto type = byte_at(tlvs, off);
    size_t len = be16(tlvs, off + 1);
    off += 3;
    if (tlvs.size() - off < len)
      return false;
    auto value = tlvs.substr(off, len);
    off += len;
    switch (type) {
    case pp2_type_alpn:
      if (!std::exchange(seen_alpn, true))
        info.alpn.assign(value);
      break;
    case pp2_type_authority:
      if (!std::exchange(seen_authority, true))
        info.authority.assign(value);
      break;
    case pp2_type_unique_id:
      if (len > max_unique_id)
        return false;
      if (!std::exchange(seen_id, true))
        info.unique_id.assign(value);
      break;
    case pp2_type_ssl:
      if (!std::exchange(seen_ssl, true) && !parse_ssl_tlv(value, info))
        return false;
      break;
    case pp2_type_crc32c:
      if (len != 4 || crc_at != std::string_view::npos)
        return false;
      crc_at = off - len;
      break;
    default:
      break; // NOOP, NETNS, custom: not read
    }
  }
  return true;
}

parse_result parse_v2(std::string_view in, proxy_info& out) {
  auto n = std::min(in.size(), v2_signature.size());
  if (in.substr(0, n) != v2_signature.substr(0, n))
    return reject(reject_reason::not_proxy);
  if (in.size() >= 13 && (byte_at(in, 12) >> 4) != 2)
    return reject(reject_reason::v2_version);
  if (in.size() >= 13 && (byte_at(in, 12) & 0x0f) > 1)
    return reject(reject_reason::v2_command);
  if (in.size() < v2_fixed)
    return need_more();
  bool local = (byte_at(in, 12) & 0x0f) == 0;
  auto family = byte_at(in, 13);
  size_t total = v2_fixed + be16(in, 14);
  if (total > max_header_size)
    return reject(reject_reason::v2_too_long);
  // The family byte is checked before the whole block arrived, so a
  // datagram or unknown family is refused at once.
  size_t block = 0;
  switch (family) {
  case 0x00: // UNSPEC
    break;
  case 0x11: // TCP over IPv4
    block = v2_inet_block;
    break;
  case 0x21: // TCP over IPv6
    block = v2_inet6_block;
    break;
  case 0x31: // UNIX stream
    block = v2_unix_block;
    break;
  default:
    // Datagram transports make no sense before HTTP; any other value must
    // be rejected (spec 2.2).
    if (!local)
      return reject(reject_reason::v2_family);
  }
  if (!local && total - v2_fixed < block)
    return reject(reject_reason::v2_length);
  if (in.size() < total)
    return need_more();
  proxy_info info;
  info.version = 2;
  if (local) {
    // LOCAL: the proxy speaks for itself (health checks); the block is
    // discarded, the connection's own addresses stay (spec 2.2).
    info.local = true;
    out = std::move(info);
    return {parse_status::complete, total, reject_reason::none};
  }
  if (family == 0x00) {
    // UNSPEC: the receiver ignores the block (spec 2.2).
    out = std::move(info);
    return {parse_status::complete, total, reject_reason::none};
  }
  auto raw = in.substr(v2_fixed, total - v2_fixed);
  if (family == 0x11) {
    info.source.ip = address_text(AF_INET, raw.data());
    info.destination.ip = address_text(AF_INET, raw.data() + 4);
    info.source.port = be16(raw, 8);
    info.destination.port = be16(raw, 10);
  } else if (family == 0x21) {
    info.source.ip = address_text(AF_INET6, raw.data());
    info.destination.ip = address_text(AF_INET6, raw.data() + 16);
    info.source.port = be16(raw, 32);
    info.destination.port = be16(raw, 34);
  }
  size_t crc_at = 0;
  if (!parse_tlvs(raw.substr(block), info, crc_at))
    return reject(reject_reason::v2_tlv);
  if (crc_at != std::string_view::npos) {
    // Spec 2.2.5: the checksum of the whole header with the checksum
    // field itself set to zero, big-endian on the wire.
    auto at = v2_fixed + block + crc_at;
    auto sent = (static_cast<uint32_t>(be16(in, at)) << 16) | be16(in, at + 2);
    static constexpr char zeros[4] = {};
    auto crc = crc32c(in.substr(0, at));
    crc = crc32c(std::string_view{zeros, 4}, crc);
    crc = crc32c(in.substr(at + 4, total - at - 4), crc);
    if (crc != sent)
      return reject(reject_reason::v2_crc);
  }
  out = std::move(info);
  return {parse_status::complete, total, reject_reason::none};
}

} // namespace

const char* to_string(reject_reason r) noexcept {
  switch (r) {
  case reject_reason::none:
    return "none";
  case reject_reason::not_proxy:
    return "not_proxy";
  case reject_reason::v1_too_long:
    return "v1_too_long";
  case reject_reason::v1_syntax:
    return "v1_syntax";
  case reject_reason::v1_address:
    return "v1_address";
  case reject_reason::v1_port:
    return "v1_port";
  case reject_reason::v2_version:
    return "v2_version";
  case reject_reason::v2_command:
    return "v2_command";
  case reject_reason::v2_family:
    return "v2_family";
  case reject_reason::v2_length:
    return "v2_length";
  case reject_reason::v2_too_long:
    return "v2_too_long";
  case reject_reason::v2_tlv:
    return "v2_tlv";
  case reject_reason::v2_crc:
    return "v2_crc";
  }
  return "unknown";
}

uint32_t crc32c(std::string_view data, uint32_t crc) noexcept {
  crc = ~crc;
  for (char ch : data)
    crc = crc32c_table[(crc ^ static_cast<uint8_t>(ch)) & 0xff] ^ (crc >> 8);
  return ~crc;
}

parse_result parse(std::string_view input, proxy_info& out) {
  if (input.empty())
    return need_more();
  // The first byte tells the versions apart: 'P' (v1) or CR (v2).
  if (input[0] == v2_signature[0])
    return parse_v2(input, out);
  return parse_v1(input, out);
}

} // namespace roadrunner::proxy
