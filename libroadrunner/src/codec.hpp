#pragma once

// Streaming content codings (RFC 9110 8.4.1): gzip (zlib), br (libbrotli)
// and zstd (libzstd), behind one small interface so the compression
// filter and request-body decoding do not care which library runs.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace roadrunner::detail {

/// One compressed stream. Runs on one thread at a time.
class encoder {
public:
  virtual ~encoder() = default;
  /// Compresses `in`, appending to `out`; with `flush`, everything given so
  /// far is decodable from the bytes out (a flush per streamed write).
  /// False on a library failure.
  virtual bool update(std::string_view in, std::string& out, bool flush) = 0;
  /// Ends the stream (appends the trailer).
  virtual bool finish(std::string& out) = 0;
  /// The bytes the library's state holds now (what a stream costs while it
  /// lasts): counted by our allocator for zlib and libbrotli,
  /// `ZSTD_sizeof_CCtx` for libzstd.
  virtual size_t memory() const noexcept = 0;
};

/// Levels per coding (each library's own scale), and the window of
/// streamed answers.
struct codec_levels {
  int gzip = 6;   // 1..9
  int brotli = 4; // 0..11
  int zstd = 3;   // 1..19
  /// log2 of the history window a stream keeps (brotli's lgwin, zstd's
  /// windowLog, gzip's windowBits up to its maximum of 15). A stream's
  /// length is unknown and it may last (SSE), so it gets a smaller window
  /// than a buffered body, whose window follows its size.
  int stream_window_bits = 16;
};

/// An encoder for "gzip", "br" or "zstd" for a stream of unknown length
/// (`size_hint` 0: `stream_window_bits`), or for a body of `size_hint`
/// bytes (window and tables sized for it); nullptr for another name or when
/// the library cannot allocate its state.
std::unique_ptr<encoder> make_encoder(std::string_view coding,
                                      const codec_levels& levels,
                                      size_t size_hint = 0);

/// Compresses a whole body at once into `out` (replaced). gzip and zstd
/// reuse one library state per thread (deflateReset, ZSTD_CCtx_reset):
/// no allocation, and no fresh pages to fault in, per response; brotli
/// (which has no reset) makes a state per body, its window sized to the
/// body, in a per-thread buffer reused from body to body. False on
/// another name or a library failure.
bool encode_whole(std::string_view coding, const codec_levels& levels,
                  std::string_view in, std::string& out);

/// One decompressed stream with an output bound.
class decoder {
public:
  virtual ~decoder() = default;
  enum class result : unsigned char { ok, done, too_large, corrupt };
  /// Decodes `in`, appending to `out` while `out` stays within `limit`
  /// bytes (too_large past it). `done` once the stream's end was seen.
  virtual result update(std::string_view in, std::string& out,
                        size_t limit) = 0;
};

/// A decoder for "gzip" (also "x-gzip"), "br" or "zstd"; nullptr otherwise.
std::unique_ptr<decoder> make_decoder(std::string_view coding);

} // namespace roadrunner::detail
