#pragma once

#include <roadrunner/response.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace roadrunner::http1 {

/// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b) noexcept;

/// True when the comma-separated `list` holds `token` (OWS-trimmed,
/// case-insensitive), as in `Connection: keep-alive, close`.
bool has_token(std::string_view list, std::string_view token) noexcept;

/// The reason phrase for `status`, or empty for codes without a standard one
/// (the status line then ends with "NNN " as RFC 9112 4 allows).
std::string_view reason_phrase(int status) noexcept;

/// True when `x` holds no CR, LF or NUL (safe to write in a header field).
bool is_safe_field_text(std::string_view x) noexcept;

/// True when the response's status and header fields can be written as they
/// are: a final status 200..999, token field names and values without
/// control bytes other than HTAB (no header injection, RFC 9110 5.5).
bool is_writable(const response& r) noexcept;

/// What the server says in the `connection` field of a response.
enum class connection_field : uint8_t {
  /// Nothing (HTTP/1.1 persistence is the default).
  none,
  /// `connection: close`: the server closes after this response.
  close,
  /// `connection: keep-alive`: an HTTP/1.0 client asked to keep it open.
  keep_alive,
};

/// Appends the status line and header section of `r` to `out`: `date`, the
/// user fields (minus framing and `connection`, which are the server's),
/// `content-type`, `content-length: body_size` and the `connection` field.
/// Precondition: `is_writable(r)`.
void write_head(std::string& out, const response& r, size_t body_size,
                std::string_view date, connection_field conn);

/// Appends the head of a streamed response: as `write_head`, without
/// `content-length`; `chunked` adds `transfer-encoding: chunked` (HTTP/1.1).
/// Without it the body ends with the connection (HTTP/1.0: `conn` must be
/// `close`).
void write_stream_head(std::string& out, const response& r,
                       std::string_view date, connection_field conn,
                       bool chunked);

/// Appends the chunk-size line of a chunk of `n` > 0 bytes ("1a\r\n").
void write_chunk_size(std::string& out, size_t n);

/// True when every trailer field may be written: token name, value without
/// control bytes, and not a framing/routing field (RFC 9110 6.5.1).
bool is_writable_trailers(std::span<const response::field> trailers) noexcept;

/// Appends the last chunk and the trailer section.
void write_last_chunk(std::string& out,
                      std::span<const response::field> trailers);

/// Appends a framework-generated error response: status line, `date`,
/// `content-length: 0` and `connection: close` (the connection then closes).
void write_error(std::string& out, int status, std::string_view date);

} // namespace roadrunner::http1
