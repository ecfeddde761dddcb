#pragma once

// Serving a directory: a handler to mount on a wildcard route.
//
//     std::string why;
//     auto h = roadrunner::static_files({.root = "/srv/www"}, why);
//     if (!h) fail(why);
//     routes.push_back({.path = "/static/*path", .handler = h,
//                       .methods = {"GET"}});
//
// What it does (RFC 9110): GET and HEAD; `etag` (strong, from size and
// modification time) and `last-modified`; If-Match / If-Unmodified-Since ->
// 412, If-None-Match / If-Modified-Since -> 304 (section 13.2.2's order);
// `Range` (single -> 206 with `content-range`, several ->
// `multipart/byteranges`, none satisfiable -> 416 with `content-range:
// bytes */N`) and `If-Range`; `accept-ranges: bytes`; a directory's index
// file; precompressed siblings (`x.br`, `x.zst`, `x.gz`) chosen by
// `Accept-Encoding`. Bodies go out with sendfile(2) (plain TCP) or bounded
// reads (TLS), never read whole on the reactor thread.
//
// Paths cannot leave the root: the route's binding is percent-decoded once;
// NUL, a backslash, a `..` segment or a bad escape answer 400; the file is
// opened with openat2(RESOLVE_BENEATH) under the root's descriptor (or, on
// kernels without it, one openat(O_NOFOLLOW) per component, which refuses
// every symlink).

#include <roadrunner/middleware.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace roadrunner {

/// How the static handler treats symbolic links under the root.
enum class symlink_policy : uint8_t {
  /// Followed while they stay under the root (a link leaving it: 404).
  beneath,
  /// Never followed (any link in the path: 404).
  refuse,
};

/// Options of `static_files`.
struct static_options {
  /// The directory served. Opened once, by `static_files`.
  std::string root{};
  /// The route's wildcard binding holding the file's path (`*path`).
  std::string binding = "path";
  /// File served for a directory ("" = none: a directory is 404). A
  /// directory asked for without a trailing '/' is redirected (301) there.
  std::string index = "index.html";
  /// `cache-control` value sent with every answer ("" = none).
  std::string cache_control{};
  /// Serve `name.br`, `name.zst` or `name.gz` (when present beside the
  /// file, and accepted by the client) instead of `name`.
  bool precompressed = true;
  /// Serve names with a segment starting with '.' (default: 404).
  bool dotfiles = false;
  /// Which symbolic links may be followed (default: those that stay
  /// beneath the root).
  symlink_policy symlinks = symlink_policy::beneath;
  /// MIME table: lines of "type ext ext ..." (Debian `media-types`); when
  /// it cannot be read, a small built-in table (html, css, js, json, ...).
  std::string mime_types = "/etc/mime.types";
  /// Content type of an extension the table does not know.
  std::string default_type = "application/octet-stream";
  /// A Range with more parts than this is ignored (200, whole file).
  size_t max_ranges = 16;
  /// A multi-part range answer is read into memory; past this many bytes
  /// the Range is ignored (200, whole file by sendfile).
  uint64_t max_multipart_bytes = 256 * 1024;
};

/// A handler serving `opts.root`, or an empty handler with the reason in
/// `error` (the root cannot be opened or is not a directory). Runs on the
/// connection's thread: it opens and stats files (a few system calls) and reads
/// at most `max_multipart_bytes`. Bad paths answer 400, missing files 404,
/// unreadable ones 403. On a route taking any method, OPTIONS answers 204
/// and other methods but GET and HEAD 405, both with `allow: GET, HEAD,
/// OPTIONS`.
handler static_files(static_options opts, std::string& error);

/// The content type for `name`'s extension (after its last '.',
/// case-insensitive) from a mime.types file, or `fallback`. The table is
/// read once per file path and kept (thread-safe).
std::string mime_type(std::string_view name,
                      const std::string& table = "/etc/mime.types",
                      std::string_view fallback = "application/octet-stream");

} // namespace roadrunner
