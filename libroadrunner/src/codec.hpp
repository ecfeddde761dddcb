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
};

/// Levels per coding (each library's own scale).
struct codec_levels {
  int gzip = 6;   // 1..9
  int brotli = 4; // 0..11
  int zstd = 3;   // 1..19
};

/// An encoder for "gzip", "br" or "zstd"; nullptr for another name or when
/// the library cannot allocate its state.
std::unique_ptr<encoder> make_encoder(std::string_view coding,
                                      const codec_levels& levels);

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
