#pragma once

// permessage-deflate (RFC 7692) for WebSocket sessions: the negotiation of
// `Sec-WebSocket-Extensions` and one message compressor / decompressor pair
// per session on zlib (raw deflate, the 00 00 ff ff tail stripped).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace roadrunner::ws {

/// What the server allows in the negotiation.
struct deflate_config {
  /// The largest LZ77 window the server compresses with (9..15; RFC 7692
  /// 7.1.2.1). zlib cannot make raw deflate with 8 (an offer limiting us
  /// to 8 is declined).
  int max_window_bits = 15;
  /// zlib's memLevel for the compressor (1..9): memory against ratio.
  int mem_level = 8;
  /// Always reset the compressor after each message (RFC 7692 7.1.1.1),
  /// so an idle session holds no compression window.
  bool server_no_context_takeover = false;
};

/// The parameters agreed (RFC 7692 7.1).
struct deflate_params {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;
  /// The client's window (what the server inflates with).
  int client_max_window_bits = 15;
  /// The offer had client_max_window_bits: the answer may name it.
  bool client_window_offered = false;
};

/// Picks the first acceptable `permessage-deflate` offer in `offers` (every
/// `Sec-WebSocket-Extensions` value, joined by ", "), or nullopt when the
/// client offered none or none is acceptable (unknown or repeated
/// parameters, values out of range: RFC 7692 5.1).
std::optional<deflate_params> negotiate_deflate(std::string_view offers,
                                                const deflate_config& cfg);

/// The response's `Sec-WebSocket-Extensions` value for `p`.
std::string extension_header(const deflate_params& p);

/// What `inflater::decompress` made of a message.
enum class inflate_result : uint8_t { ok, too_big, bad_data };

/// The compressor and decompressor of one session; each zlib stream is
/// created on first use (most sessions only ever use one direction).
/// Runs on: the session's connection thread.
class deflate_session {
public:
  deflate_session(const deflate_params& p, int mem_level);
  ~deflate_session();

  deflate_session(const deflate_session&) = delete;
  deflate_session& operator=(const deflate_session&) = delete;

  /// Compresses one message into `out` (appended; the tail stripped).
  /// False if zlib failed.
  bool compress(std::string_view in, std::string& out);

  /// Decompresses one whole message (the payload of all its frames) into
  /// `out`, refusing more than `max` bytes of output: the bound on a
  /// decompression bomb.
  inflate_result decompress(std::string_view in, std::string& out,
                            uint64_t max);

  /// Bytes zlib holds for this session right now (measured by our
  /// allocator hooks).
  size_t memory() const noexcept { return memory_; }

private:
  struct zstreams;
  deflate_params params_;
  int mem_level_;
  std::unique_ptr<zstreams> z_;
  size_t memory_ = 0;
};

} // namespace roadrunner::ws
