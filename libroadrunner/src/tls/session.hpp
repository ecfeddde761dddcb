#pragma once

#include "tls/context.hpp"

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

struct ssl_st; // OpenSSL's SSL

namespace roadrunner::tls {

/// What a session step achieved or needs next.
enum class status {
  /// Done: the handshake completed, or bytes were read / all were written.
  ok,
  /// Call again once the socket is readable. For `read` this means the
  /// socket returned EAGAIN: with edge-triggered epoll, wait for the edge.
  want_read,
  /// Call again once the socket is writable (its send buffer is full).
  want_write,
  /// The peer ended its side (close_notify, or a TCP FIN: an EOF without
  /// close_notify is treated alike; HTTP framing detects truncation).
  eof,
  /// Fatal: `error()` says why. Close the socket; do not call `shutdown`.
  failed,
};

/// The outcome of `read` or `write`: a status and the bytes moved (also
/// set when a write stops with `want_write` after partial progress).
struct io_result {
  tls::status status = tls::status::ok;
  size_t bytes = 0;
};

/// One server-side TLS connection over a non-blocking socket, driven by the
/// connection's readiness events: `handshake` until `ok`, then `read` and
/// `write`, then `shutdown`. Does not own the socket (the caller closes it
/// after destroying or shutting down the session).
///
/// I/O goes through a small custom BIO on the fd: `read(2)` for input (with
/// read-ahead: one syscall takes what the socket holds) and
/// `send(MSG_NOSIGNAL)` for output, so a peer reset gives EPIPE instead of
/// SIGPIPE (OpenSSL's socket BIO uses write(2)). No memory BIOs: they would
/// copy every byte once more and hold a ciphertext buffer per connection.
/// The BIO also serves OpenSSL's kTLS controls (see `ktls_send`).
///
/// Memory: OpenSSL's 16 KiB record buffers are released whenever they are
/// empty (SSL_MODE_RELEASE_BUFFERS), so an idle connection keeps only the
/// SSL object. Runs on: the owning connection's thread; not thread-safe.
class session {
public:
  /// Largest plaintext in one TLS record (RFC 8446 5.1).
  static constexpr size_t max_record = 16384;

  /// Prepares a server session on `fd` (non-blocking, connected). Keeps
  /// `ctx` alive (its ALPN list is read during the handshake). If OpenSSL
  /// cannot allocate, the first `handshake` fails.
  session(context_ptr ctx, int fd);

  ~session();

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // -- steps ------------------------------------------------------------------

  /// Advances the handshake: `ok` once established (then always `ok`),
  /// `want_read` / `want_write`, or `failed` (e.g. "unsupported protocol",
  /// "no shared cipher", "no application protocol", "http request" for
  /// plain HTTP on the TLS port, "peer closed the connection during the
  /// handshake").
  status handshake();

  /// Decrypts up to `len` bytes into `buf` (at most one record per call).
  /// A short read says nothing about the socket: call again until
  /// `want_read` (the socket is drained) or `eof`, or until
  /// `input_drained` says the next call would find nothing. `want_write`:
  /// OpenSSL must send first (e.g. a TLS 1.3 KeyUpdate answer); call again on
  /// writability. Requires an established session.
  io_result read(char* buf, size_t len);

  /// Encrypts and sends the concatenation of `data` (a gather list like
  /// sendmsg's), in records of up to `max_record` bytes: small segments are
  /// coalesced into one record (copied into a per-thread buffer), large ones
  /// are encrypted in place. Returns `ok` with every byte taken, or
  /// `want_write` with `bytes` taken so far, or `failed`.
  ///
  /// Retry rule: after `want_write` (or `want_read`), one record is in
  /// flight; the next call must start with the same `retry_length()` bytes
  /// (the ones not taken, unchanged; more may follow, and they may sit at
  /// another address). Starting with fewer bytes fails. With kTLS
  /// (`ktls_send()`) the bytes go to the kernel, which encrypts them: no
  /// record is in flight and a partial write needs no retry rule.
  io_result write(std::span<const iovec> data);

  /// `write` of one contiguous buffer.
  io_result write(std::string_view bytes);

  /// Sends `len` bytes of the file `file_fd` from `offset` with
  /// `SSL_sendfile`: the kernel reads, encrypts and sends them without a
  /// copy through user space. Only while `ktls_send()`; `failed` otherwise.
  /// `ok` with every byte sent, `want_write` with the bytes sent so far
  /// (the socket is full), `failed` (also when the file ends early). The
  /// calling thread must have SIGPIPE blocked or ignored (sendfile has no
  /// MSG_NOSIGNAL; `io::output_queue` blocks it).
  io_result sendfile(int file_fd, uint64_t offset, size_t len);

  /// Sends close_notify without waiting for the peer's (non-blocking, best
  /// effort): `ok` when sent (or nothing to do: no handshake, a fatal
  /// error), `want_write` to retry on writability, `failed` otherwise (also
  /// while a record is still in flight). Then close the socket, or shut
  /// its write side and discard raw input while lingering.
  status shutdown();

  // -- properties -------------------------------------------------------------

  /// True once the handshake completed.
  bool established() const noexcept { return established_; }

  /// The ALPN protocol id the handshake chose; empty when the client
  /// offered none.
  std::string_view alpn() const noexcept;

  /// The protocol to speak: from ALPN, else the context's default protocol
  /// (HTTP/1.1 when enabled, HTTP/2 for `protocols = [http2]`).
  roadrunner::protocol protocol() const noexcept;

  /// True when the handshake resumed an earlier session (ticket or cache).
  bool resumed() const noexcept;

  /// The negotiated version ("TLSv1.3") and cipher, for logs and tests.
  std::string_view version() const noexcept;
  std::string_view cipher() const noexcept;

  /// True when the kernel encrypts what this session sends (kTLS, asked
  /// for with `tls_options::ktls`, set up by OpenSSL at the end of the
  /// handshake): `write` then hands plaintext straight to the socket and
  /// `sendfile` works.
  bool ktls_send() const noexcept { return io_.ktls_tx; }

  /// Why kTLS was tried and is off ("TCP_ULP tls: No such file or
  /// directory" on a kernel without the `tls` module); empty when it is on
  /// or was never tried (not asked for, TLS 1.2 before its keys, a cipher
  /// OpenSSL does not offload).
  std::string ktls_error() const;

  /// True when OpenSSL holds input not yet returned by `read` (no epoll
  /// edge will announce it): a reader that paused must call `read` again.
  bool has_pending() const noexcept;

  /// After a `read` that returned data: the socket's last read(2) returned
  /// less than asked (it was drained then) and OpenSSL holds no input, so
  /// the next `read` would only find EAGAIN; new input raises a new
  /// (edge-triggered) epoll event.
  bool input_drained() const noexcept {
    return io_.short_read && !has_pending();
  }

  /// Bytes of the record in flight after a `want_*` from `write` (0 when
  /// none): the next `write` must start with these bytes.
  size_t retry_length() const noexcept { return retry_len_; }

  /// Why the last step failed.
  const std::string& error() const noexcept { return error_; }

  /// The OpenSSL object (tests, diagnostics).
  ssl_st* native_handle() const noexcept { return ssl_; }

  /// The state the socket BIO shares with the session.
  struct fd_state {
    int fd = -1;
    int last_errno = 0;        // errno of the last failed read/send, 0 if none
    bool eof = false;          // read(2) returned 0
    bool drained = false;      // read(2) returned EAGAIN since the last reset
    bool short_read = false;   // the last read(2) returned less than asked
    bool ktls_tx = false;      // the kernel encrypts what we send
    bool ktls_tried = false;   // OpenSSL offered the keys
    int ktls_record_type = -1; // type of the next record via kTLS, -1: data
    int ktls_errno = 0;        // why kTLS could not start
    const char* ktls_step = "";
  };

private:
  status fail(int ret, bool handshaking);
  io_result write_ktls(std::span<const iovec> data, size_t total);

  context_ptr ctx_;
  ssl_st* ssl_ = nullptr;
  fd_state io_;
  size_t retry_len_ = 0;
  bool established_ = false;
  bool fatal_ = false;
  std::string error_;
};

} // namespace roadrunner::tls
