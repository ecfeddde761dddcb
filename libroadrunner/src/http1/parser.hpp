#pragma once

// Strict, zero-copy, resumable HTTP/1.1 request-head parser and chunked
// transfer-coding decoder (RFC 9112, RFC 9110).
//
// Both are plain state machines over bytes: no threads, no exceptions for
// control flow, no std::string, no locale. The request parser keeps byte
// OFFSETS (never pointers) into the caller's buffer, so the caller may move or
// grow the buffer between calls; the only allocations are the two vectors the
// parser owns, reused across requests (clear() keeps their capacity).

#include <roadrunner/request_head.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <vector>

namespace roadrunner::http1 {

/// Outcome of one parse step. `need_more` is a state, never an error.
enum class parse_status : uint8_t { complete, need_more, reject };

/// Why a request was rejected. Stable: each value maps to one HTTP status
/// (`status_of`), one short text citing the RFC (`describe`) and one name
/// (`to_string`).
enum class reject_reason : uint8_t {
  bad_request_line,              // 400: request-line syntax (RFC 9112 3)
  request_line_too_long,         // 414: longer than limits::max_request_line
  bad_method,                    // 400: method is not a token
  bad_target,                    // 400: empty target, CTL, DEL or obs-text
  unsupported_version,           // 505: valid HTTP/x.y other than 1.0 / 1.1
  bad_header_name,               // 400: not a token, whitespace before ':'
  obs_fold,                      // 400: line starting with SP / HTAB
  bad_header_value,              // 400: CTL / DEL in a field value
  header_line_too_long,          // 431: longer than limits::max_header_line
  header_block_too_long,         // 431: more than limits::max_header_block
  too_many_headers,              // 431: more than limits::max_header_count
  missing_host,                  // 400: HTTP/1.1 request without Host
  duplicate_host,                // 400: more than one Host field
  bad_host,                      // 400: Host value with non-authority bytes
  conflicting_framing,           // 400: Transfer-Encoding and Content-Length
  bad_content_length,            // 400: not 1*DIGIT, too large, or differing
  unsupported_transfer_encoding, // 501: anything but exactly "chunked"
  transfer_encoding_in_http10,   // 400: Transfer-Encoding in HTTP/1.0
  bad_chunk_size,                // 400: chunk-size not 1*15HEXDIG (+ BWS ;)
  bad_chunk_extension,           // 400: chunk-ext not name[=value] (7.1.1)
  chunk_line_too_long,           // 400: chunk-size line over the limit
  bad_chunk,                     // 400: chunk-data not followed by CRLF
  forbidden_trailer,             // 400: Content-Length / TE in trailers
  bad_line_ending,               // 400: bare CR or bare LF
  body_too_large,                // 413: chunked body over max_body
};

/// Number of `reject_reason` values (for tables and tests).
inline constexpr size_t reject_reason_count = 25;

/// The response status for `r`: 400, 413, 414, 431, 501 or 505.
int status_of(reject_reason r) noexcept;

/// A short text citing the RFC, e.g. "obs-fold not allowed (RFC 9112 5.2)".
const char* describe(reject_reason r) noexcept;

/// The enumerator's name, e.g. "obs_fold".
const char* to_string(reject_reason r) noexcept;

/// Parser limits; the defaults are those of the Erlang seed. Each limit is
/// enforced at the byte that crosses it, without waiting for the CRLF.
struct limits {
  /// Bytes of `method SP target SP version`, excluding the CRLF (and
  /// excluding the one tolerated leading empty line) -> 414.
  uint32_t max_request_line = 8192;
  /// Bytes of one field line `name: value`, excluding the CRLF -> 431.
  uint32_t max_header_line = 8192;
  /// Sum of the field-line lengths of one header (or trailer) section,
  /// excluding every CRLF and the request line -> 431.
  uint32_t max_header_block = 10240;
  /// Field lines in one header (or trailer) section -> 431.
  uint32_t max_header_count = 100;
  /// Bytes of one chunk-size line (size and extensions), excluding the CRLF
  /// (chunked_decoder only) -> 400 chunk_line_too_long.
  uint32_t max_chunk_line = 8192;

  friend bool operator==(const limits&, const limits&) = default;
};

// The parser fills the protocol-neutral head every request is read from.
using roadrunner::body_framing;
using roadrunner::header_field;
using roadrunner::request_head;

/// Parses one request head (request line + header section).
///
/// Choices beyond the RFC minimum (strict by design):
/// - request-target bytes: 0x21-0x7E only (obs-text rejected: RFC 3986 has
///   no raw non-ASCII); the target is split at the first '?' only.
/// - "HTTP/x.y" with digits other than 1.0 / 1.1 -> 505 (even 1.2).
/// - bare LF anywhere, or CR not followed by LF where a line may end ->
///   bad_line_ending; CR inside a method/target/name -> that part's error.
/// - whitespace at the start of any field line (incl. the first) -> obs_fold.
/// - Host: at most one field; its value may only hold RFC 3986 authority
///   bytes (unreserved, sub-delims, ':', '%', '[', ']'); may be empty.
/// - Content-Length: 1..19 digits, value <= 2^63-1; duplicates must have
///   the same numeric value.
/// - Transfer-Encoding: exactly one field whose value is "chunked"
///   (case-insensitive); never with Content-Length; never in HTTP/1.0.
/// - The first rule broken (in byte order) decides the reason; field rules
///   (Host, Content-Length, Transfer-Encoding) are checked when the field's
///   line ends, the missing-Host rule when the head ends.
class request_parser {
public:
  explicit request_parser(limits lim = {});

  /// `input` holds all not-yet-consumed bytes, starting at the first byte of
  /// this request; bytes passed earlier must be unchanged and at the same
  /// offsets (the buffer itself may move). Scanning resumes where the last
  /// call stopped. On complete, `head()` views point into `input` and
  /// `consumed()` is the head's size including the final CRLF CRLF. Calling
  /// again after complete re-points the views at the new `input`; after
  /// reject it returns reject until `reset()`.
  parse_status parse(std::string_view input);

  /// The parsed head; meaningful after `parse` returned complete.
  const request_head& head() const noexcept { return head_; }

  /// Bytes of the head (0 until complete).
  size_t consumed() const noexcept { return consumed_; }

  /// The reason of the last reject; meaningful only after reject.
  reject_reason error() const noexcept { return error_; }

  /// Ready for the next request; keeps the vectors' capacity.
  void reset() noexcept;

  /// `reset()`, and frees the vectors too (the next request allocates
  /// them again): for a parser that a big head grew.
  void release() noexcept;

private:
  enum class state : uint8_t {
    start,
    leading_lf,
    start_after_empty,
    method,
    target,
    version,
    request_line_lf,
    field_start,
    field_name,
    value_ows,
    value,
    field_lf,
    head_lf,
    done,
    failed,
  };

  // Offsets into the head, which is far below 4 GiB (`limits`): 16 bytes
  // a field instead of 32.
  struct field_offsets {
    uint32_t name_begin;
    uint32_t name_size;
    uint32_t value_begin;
    uint32_t value_size;
  };

  // Capacity of the field vectors when the first field arrives.
  static constexpr size_t initial_fields = 8;

  parse_status fail(reject_reason r) noexcept;
  reject_reason too_long_reason(size_t pos) const noexcept;
  void begin_field_line(size_t pos) noexcept;
  bool on_field(const char* s);
  bool on_head_end() noexcept;
  void materialize(const char* s);

  limits lim_;
  request_head head_;
  std::vector<field_offsets> fields_;
  size_t pos_ = 0;        // next byte to scan
  size_t consumed_ = 0;   // head size once complete
  size_t limit_end_ = 0;  // offset of the first byte over the line limit
  size_t line_start_ = 0; // current field line
  size_t block_used_ = 0; // sum of finished field-line lengths
  size_t rl_start_ = 0;   // request line (= method) start
  size_t method_end_ = 0;
  size_t target_start_ = 0;
  size_t target_end_ = 0;
  size_t version_start_ = 0;
  size_t name_start_ = 0;
  size_t name_end_ = 0;
  size_t value_start_ = 0;
  size_t value_end_ = 0;
  size_t host_index_ = 0;
  uint64_t content_length_ = 0;
  state state_ = state::start;
  reject_reason error_ = reject_reason::bad_request_line;
  uint8_t version_minor_ = 1;
  bool seen_host_ = false;
  bool seen_content_length_ = false;
  bool seen_transfer_encoding_ = false;
  bool connection_close_ = false;
  bool connection_keep_alive_ = false;
  bool expect_continue_ = false;
};

class data_sink;

/// A callable `void(std::string_view)` other than data_sink itself.
template <class F>
concept data_callback = !std::is_same_v<std::remove_cv_t<F>, data_sink> &&
                        std::is_invocable_v<F&, std::string_view>;

/// A non-owning reference to a callable `void(std::string_view)`; valid while
/// the referenced callable lives (like the proposed std::function_ref).
class data_sink {
public:
  template <data_callback F>
  data_sink(F& f) noexcept
    : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
      call_(&invoke<F>) {}

  void operator()(std::string_view data) const { call_(obj_, data); }

private:
  template <class F>
  static void invoke(void* obj, std::string_view data) {
    (*static_cast<F*>(obj))(data);
  }

  void* obj_;
  void (*call_)(void*, std::string_view);
};

/// Decodes the chunked transfer coding (RFC 9112 7.1), streaming and in
/// place: chunk data is handed to the callback as views into `input`.
///
/// Every call consumes input from its first byte; the decoder keeps its own
/// state (partial size line, partial CRLF, remaining chunk bytes), so the
/// caller never re-sends bytes. Rules:
/// - chunk-size: 1..15 HEXDIG, no leading whitespace; BWS (SP / HTAB) is
///   allowed only before ';'. The declared size is checked against max_body
///   (minus what was already decoded) at each digit, so body_too_large is
///   decided from the size line, before any of that chunk's data.
/// - chunk-ext: *( BWS ";" BWS token [ BWS "=" BWS ( token /
///   quoted-string ) ] ) exactly (RFC 9112 7.1.1): an empty name, "=" with
///   no value, an unterminated or bad quoted-string, whitespace before CRLF
///   or any other byte the grammar does not allow is bad_chunk_extension.
///   Extensions are validated, then ignored. The size line (size + ext) is
///   limited to limits::max_chunk_line bytes, excluding CRLF.
/// - chunk-data must be followed by exactly CRLF (else bad_chunk).
/// - trailer section: the header-field rules and limits (max_header_line,
///   max_header_block, max_header_count) apply; Content-Length and
///   Transfer-Encoding are forbidden. Trailer fields are validated, then
///   discarded (not exposed).
class chunked_decoder {
public:
  explicit chunked_decoder(limits lim = {}, uint64_t max_body = 10485760);

  /// Feeds `input` (the bytes after the head, or after what earlier calls
  /// consumed) and calls `on_data(std::string_view)` for each piece of chunk
  /// data, never with an empty view. Returns:
  /// - complete: the last chunk and trailer section were read; `consumed()`
  ///   is the number of bytes of this `input` used (the rest belongs to the
  ///   next message). Later calls return complete, consuming nothing.
  /// - need_more: all of `input` was used (`consumed() == input.size()`).
  /// - reject: see `error()`; later calls return reject until `reset()`.
  /// If `on_data` throws, the decoder must be reset before reuse.
  template <class OnData>
  parse_status decode(std::string_view input, OnData&& on_data) {
    return decode_impl(input, data_sink{on_data});
  }

  /// Bytes of the last `decode` input that were used.
  size_t consumed() const noexcept { return consumed_; }

  /// The reason of the last reject; meaningful only after reject.
  reject_reason error() const noexcept { return error_; }

  /// Total chunk-data bytes delivered so far.
  uint64_t body_size() const noexcept { return delivered_; }

  /// Ready for the next body.
  void reset() noexcept;

private:
  enum class state : uint8_t {
    size_first,
    size,
    size_bws,
    // chunk-ext (RFC 9112 7.1.1): ext_name_bws..ext_value_end, in this
    // order (ext_next_ is indexed by state - ext_name_bws).
    ext_name_bws,    // after ';'
    ext_name,        // in chunk-ext-name
    ext_name_end,    // BWS after a name
    ext_value_bws,   // after '='
    ext_token,       // in a token value
    ext_quoted,      // in a quoted-string value
    ext_quoted_pair, // after a backslash in a quoted-string
    ext_quoted_end,  // after the closing quote
    ext_value_end,   // BWS after a value
    size_lf,
    data,
    data_cr,
    data_lf,
    trailer_start,
    trailer_name,
    trailer_value,
    trailer_lf,
    final_lf,
    done,
    failed,
  };

  static constexpr size_t name_buf_size = 17; // strlen("transfer-encoding")

  parse_status decode_impl(std::string_view input, data_sink on_data);
  parse_status fail(reject_reason r, size_t pos) noexcept;

  // chunk-ext transitions: [state - ext_name_bws][byte] -> the next state
  // (size_lf after a CR that may end the line), failed for a byte the
  // grammar refuses there. Built at compile time in parser.cpp.
  using ext_transitions = std::array<std::array<state, 256>, 9>;
  static const ext_transitions ext_next_;

  limits lim_;
  uint64_t max_body_;
  uint64_t declared_ = 0;  // sum of the chunk sizes accepted so far
  uint64_t delivered_ = 0; // chunk-data bytes handed to on_data
  uint64_t size_ = 0;      // chunk-size being read
  uint64_t remaining_ = 0; // data bytes left in the current chunk
  size_t consumed_ = 0;
  uint32_t line_len_ = 0;   // bytes of the current line, excluding CRLF
  uint32_t block_used_ = 0; // trailer section bytes so far
  uint32_t trailer_count_ = 0;
  uint8_t digits_ = 0;
  uint8_t name_len_ = 0; // saturates at name_buf_size + 1
  char name_buf_[name_buf_size] = {};
  state state_ = state::size_first;
  reject_reason error_ = reject_reason::bad_chunk_size;
};

} // namespace roadrunner::http1

namespace roadrunner {

struct listener_options;

/// The parser limits a listener's options ask for (options.cpp).
http1::limits http1_limits(const listener_options& opts) noexcept;

} // namespace roadrunner
