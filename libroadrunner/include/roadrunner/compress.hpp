#pragma once

// Response compression (RFC 9110 8.4, 12.5.3) as a middleware, and
// request-body decoding as another.
//
//     roadrunner::compress_options c;      // br, zstd, gzip; >= 1 KiB
//     c.gzip_level = 1;
//     opts.middlewares.push_back(roadrunner::compress(c));

#include <roadrunner/middleware.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace roadrunner {

/// Options of `compress`.
struct compress_options {
  /// Codings offered, in the server's order of preference for equal
  /// q-values: any of "br", "zstd", "gzip".
  std::vector<std::string> codings{"br", "zstd", "gzip"};
  /// gzip level, 1..9 (zlib).
  int gzip_level = 6;
  /// brotli quality, 0..11 (libbrotli).
  int brotli_level = 4;
  /// zstd level, 1..19 (libzstd).
  int zstd_level = 3;
  /// Buffered bodies shorter than this are sent as they are (streamed
  /// ones, whose size is unknown, are always compressed).
  size_t min_size = 1024;
  /// Content types to compress: an entry ending in '/' is a prefix
  /// ("text/"), any other is exact ("application/json"); parameters
  /// (`; charset=...`) are ignored, case-insensitive.
  std::vector<std::string> types{"text/",
                                 "application/json",
                                 "application/javascript",
                                 "application/xml",
                                 "application/wasm",
                                 "image/svg+xml",
                                 "application/x-ndjson"};
  /// Compress streamed (and SSE) answers, with a flush after each write so
  /// every piece reaches the client at once.
  bool streams = true;
  /// log2 of the history window of a streamed answer: brotli's lgwin and
  /// zstd's windowLog (10..24), gzip's windowBits (at most its 15). A
  /// stream's length is unknown and it may last long (SSE), so it keeps a
  /// smaller window than a buffered body, whose window follows its size.
  /// With 16 (64 KiB), after 1 MiB of text a brotli level-4 stream holds
  /// 767 KiB (2687 KiB with lgwin 20), a zstd level-3 one 1225 KiB (3577
  /// KiB with its windowLog 21), a gzip one 261 KiB either way.
  int stream_window_bits = 16;
};

/// The compression middleware. For a request whose Accept-Encoding accepts
/// one of `codings` (highest q-value, ties in `codings` order; `*`,
/// `identity;q=0` honoured; no field: no compression), a response with
/// content of an allowed type is compressed: buffered bodies at once
/// (>= `min_size`), deferred and streamed ones as the connection takes
/// them. Never for HEAD, 1xx/204/304, 206 or `content-range`, file bodies,
/// a response with `content-encoding` already or `cache-control:
/// no-transform`. Compressible answers get `vary: accept-encoding` whether
/// compressed or not; a strong `etag` becomes weak when compressed. When
/// the client refuses identity and accepts none of `codings`, a 2xx answer
/// becomes 406 (RFC 9110 12.5.3). Runs on the connection's thread; CPU
/// cost is the library's for the body's bytes.
middleware compress(compress_options opts = {});

/// Options of `decompress_requests`.
struct decompress_options {
  /// Decoded request bodies larger than this answer 413 (set it to the
  /// listener's max_content_length).
  size_t max_decoded = 10 * 1024 * 1024;
};

/// Decodes request bodies sent with `Content-Encoding: gzip`, `br` or
/// `zstd` before the handler runs (automatic body buffering only; in
/// manual mode the request passes untouched). The handler sees the decoded
/// body and no `content-encoding`; a body decoding past `max_decoded`
/// answers 413 (a "zip bomb" stops at the limit), a corrupt one 400, an
/// unknown coding 415 (RFC 9110 15.5.16).
middleware decompress_requests(decompress_options opts = {});

} // namespace roadrunner
