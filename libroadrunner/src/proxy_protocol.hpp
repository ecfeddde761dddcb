#pragma once

// The PROXY protocol header parser (HAProxy's "The PROXY protocol", versions
// 1 and 2): pure, no I/O. The transport peeks at the socket, hands the bytes
// here, and consumes exactly `consumed` bytes once the header is complete,
// so whatever follows (a TLS ClientHello, an HTTP/1.1 request, the HTTP/2
// preface) stays in the socket for the next layer.

#include <roadrunner/proxy_protocol.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace roadrunner::proxy {

/// The largest header accepted, in bytes. A v1 line is at most 107 bytes
/// (spec 2.1); a v2 header is 16 bytes plus its length field, which may
/// announce up to 64 KiB of addresses and TLVs: HAProxy's own TLVs (ALPN,
/// authority, unique id <= 128, SSL) fit well under this cap.
inline constexpr size_t max_header_size = 4096;

/// The longest v1 line, CRLF included (spec 2.1).
inline constexpr size_t max_v1_size = 107;

/// The v2 signature (spec 2.2).
inline constexpr std::string_view v2_signature{
  "\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A", 12};

/// Why a header was refused. The connection closes without a word either
/// way (a PROXY header comes from a proxy, not from a client that could
/// read an answer).
enum class reject_reason : uint8_t {
  none = 0,
  /// The first bytes are neither "PROXY " nor the v2 signature (also: a
  /// client that skipped the proxy).
  not_proxy,
  /// A v1 line over 107 bytes without its CRLF.
  v1_too_long,
  /// A v1 line that does not follow the grammar (single spaces, CRLF).
  v1_syntax,
  /// A v1 address that is not a valid address of the announced family.
  v1_address,
  /// A v1 port that is not a decimal 0..65535.
  v1_port,
  /// v2: a version other than 2.
  v2_version,
  /// v2: a command other than LOCAL (0) or PROXY (1).
  v2_command,
  /// v2: a family/transport byte that is not allowed (datagram, unknown).
  v2_family,
  /// v2: the length field is too short for the address family.
  v2_length,
  /// v2: a header longer than `max_header_size`.
  v2_too_long,
  /// v2: a TLV that overruns the header, or a bad PP2_TYPE_UNIQUE_ID
  /// (over 128 bytes), PP2_TYPE_SSL or PP2_TYPE_CRC32C (not 4 bytes, or
  /// more than one).
  v2_tlv,
  /// v2: a PP2_TYPE_CRC32C whose checksum does not match the header (spec
  /// 2.2.5): the header was damaged on the way, so nothing in it is
  /// trusted.
  v2_crc,
};

/// "not_proxy", "v1_syntax", ...: a stable name for logs and telemetry.
const char* to_string(reject_reason r) noexcept;

/// The three outcomes of one parse step (never an empty error meaning
/// "more").
enum class parse_status : uint8_t {
  /// The header is complete: `consumed` bytes belong to it, `out` is set.
  complete,
  /// Every byte so far is a valid prefix: read more and parse again from
  /// the start.
  need_more,
  /// The header is invalid (`reason`): close the connection.
  reject,
};

struct parse_result {
  parse_status status = parse_status::need_more;
  size_t consumed = 0;
  reject_reason reason = reject_reason::none;
};

/// The CRC32C (Castagnoli, the polynomial of iSCSI, RFC 3720 B.4) of
/// `data`, as PP2_TYPE_CRC32C carries it. Continues from `crc` (0 to
/// start).
uint32_t crc32c(std::string_view data, uint32_t crc = 0) noexcept;

/// Parses the header at the start of `input` (every byte received so far).
/// Decides as early as possible: a wrong first byte is refused at once, not
/// after a timeout. `out` is written only on `complete`.
parse_result parse(std::string_view input, proxy_info& out);

} // namespace roadrunner::proxy
