#pragma once

// WebSocket framing (RFC 6455 5) and handshake helpers (RFC 6455 4), CAF
// free: the server side of the codec. Frames are parsed in place over the
// caller's buffer; limits are enforced at the frame header, before any
// payload byte is buffered.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace roadrunner::ws {

/// Frame opcodes (RFC 6455 5.2).
enum class opcode : uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xa,
};

/// True for close, ping and pong (RFC 6455 5.5).
constexpr bool is_control(opcode op) noexcept {
  return (static_cast<uint8_t>(op) & 0x8) != 0;
}

/// Close status codes used by the server (RFC 6455 7.4.1).
namespace close_code {
constexpr uint16_t normal = 1000;
constexpr uint16_t going_away = 1001;
constexpr uint16_t protocol_error = 1002;
constexpr uint16_t unsupported_data = 1003;
constexpr uint16_t no_status = 1005; // never sent: "the close had no code"
constexpr uint16_t abnormal = 1006;  // never sent: "no close frame at all"
constexpr uint16_t invalid_data = 1007;
constexpr uint16_t policy_violation = 1008;
constexpr uint16_t too_big = 1009;
constexpr uint16_t internal_error = 1011;
} // namespace close_code

/// Whether a peer may send `code` in a close frame (RFC 6455 7.4.1, 7.4.2:
/// 1000-1003, 1007-1014 as registered with IANA, 3000-4999).
bool valid_close_code(uint16_t code) noexcept;

/// One parsed frame header; the payload follows at `header_size`.
struct frame_header {
  opcode op = opcode::continuation;
  bool fin = false;
  bool masked = false;
  bool rsv1 = false; // permessage-deflate: a compressed message
  uint8_t mask[4] = {0, 0, 0, 0};
  size_t header_size = 0;
  uint64_t payload_size = 0;
};

/// What `parse_frame_header` made of the bytes.
enum class parse_result : uint8_t { need_more, ok, fail };

/// Why a frame was refused: the close code to send and a reason that cites
/// the RFC (a static text).
struct frame_error {
  uint16_t code = 0;
  std::string_view reason;
};

/// Parses a client frame header from `in` (RFC 6455 5.2): reserved bits set
/// (RSV1 is allowed with `deflate`, on the first frame of a data message
/// only: RFC 7692 6), unknown opcodes, an unmasked frame, a control frame
/// over 125 bytes or fragmented all fail with 1002; a payload over
/// `max_frame_size` (or a 64-bit length with the top bit set) with 1009.
parse_result parse_frame_header(std::string_view in, uint64_t max_frame_size,
                                frame_header& out, frame_error& err,
                                bool deflate = false) noexcept;

/// XORs `len` bytes at `data` with the mask (RFC 6455 5.3).
void unmask(char* data, size_t len, const uint8_t mask[4]) noexcept;

/// Appends a server frame header (FIN set, unmasked) for a payload of
/// `len` bytes; `rsv1` marks a compressed message (RFC 7692 6).
void write_frame_header(std::string& out, opcode op, uint64_t len,
                        bool rsv1 = false);

/// Appends a whole close frame with `code` and `reason` (truncated to fit
/// the 125-byte control payload at a UTF-8 character boundary).
void write_close_frame(std::string& out, uint16_t code,
                       std::string_view reason);

/// Incremental UTF-8 validation (RFC 3629), for text messages that arrive
/// in fragments: a code point may be split across them.
class utf8_validator {
public:
  /// Feeds bytes; false as soon as they cannot be valid UTF-8.
  bool feed(std::string_view bytes) noexcept;

  /// True if everything fed so far ends on a character boundary.
  bool complete() const noexcept { return state_ == 0; }

  void reset() noexcept { state_ = 0; }

private:
  uint32_t state_ = 0;
};

/// True if `bytes` is complete, valid UTF-8.
bool valid_utf8(std::string_view bytes) noexcept;

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` (RFC 6455
/// 4.2.2: base64 of the SHA-1 of the key and the protocol's GUID).
std::string accept_key(std::string_view key);

/// Whether `key` is a valid `Sec-WebSocket-Key`: base64 of 16 bytes
/// (RFC 6455 4.1, 4.2.1 item 5).
bool valid_key(std::string_view key) noexcept;

} // namespace roadrunner::ws
