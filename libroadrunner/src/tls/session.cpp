#include "tls/session.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace roadrunner::tls {

namespace {

using fd_state = session::fd_state;

// -- the socket BIO -----------------------------------------------------------

// OpenSSL's socket BIO writes with write(2), which raises SIGPIPE on a reset
// peer, and hides whether a read stopped at EAGAIN. This one sends with
// MSG_NOSIGNAL and records EAGAIN, EOF and errno for the session.

int bio_write(BIO* b, const char* data, size_t len, size_t* written) {
  auto* st = static_cast<fd_state*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  for (;;) {
    auto n = ::send(st->fd, data, len, MSG_NOSIGNAL);
    if (n >= 0) {
      *written = static_cast<size_t>(n);
      return 1;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      BIO_set_retry_write(b);
      return 0;
    }
    st->last_errno = errno;
    return 0;
  }
}

int bio_read(BIO* b, char* buf, size_t len, size_t* got) {
  auto* st = static_cast<fd_state*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  for (;;) {
    auto n = ::read(st->fd, buf, len);
    if (n > 0) {
      *got = static_cast<size_t>(n);
      return 1;
    }
    if (n == 0) {
      st->eof = true;
      return 0;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      st->drained = true;
      BIO_set_retry_read(b);
      return 0;
    }
    st->last_errno = errno;
    return 0;
  }
}

long bio_ctrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
  case BIO_CTRL_FLUSH: // nothing buffered here
    return 1;
  case BIO_CTRL_EOF:
    return static_cast<fd_state*>(BIO_get_data(b))->eof ? 1 : 0;
  default: // no kTLS, no fd queries, no push/pop
    return 0;
  }
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

BIO_METHOD* fd_method() {
  // Created once, never freed (a process-lifetime table, like OpenSSL's own).
  static BIO_METHOD* method = [] {
    auto* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                           "roadrunner socket");
    if (m != nullptr) {
      BIO_meth_set_write_ex(m, bio_write);
      BIO_meth_set_read_ex(m, bio_read);
      BIO_meth_set_ctrl(m, bio_ctrl);
      BIO_meth_set_create(m, bio_create);
    }
    return m;
  }();
  return method;
}

// -- helpers ------------------------------------------------------------------

// Coalescing buffer for small segments, one per thread: OpenSSL copies the
// plaintext into its record buffer during SSL_write, and a retry re-sends
// the encrypted record without reading the plaintext again
// (ACCEPT_MOVING_WRITE_BUFFER allows the new address), so no connection
// keeps a staging buffer of its own.
char* staging_buffer() {
  thread_local std::unique_ptr<char[]> buf;
  if (!buf)
    buf = std::make_unique<char[]>(session::max_record);
  return buf.get();
}

// The earliest error in this thread's queue; empties the queue (it is
// shared by every connection on the reactor thread).
std::string openssl_reason() {
  auto first = ERR_get_error();
  while (ERR_get_error() != 0) {
  }
  if (first == 0)
    return {};
  if (auto* r = ERR_reason_error_string(first))
    return r;
  char buf[256];
  ERR_error_string_n(first, buf, sizeof(buf));
  return buf;
}

} // namespace

session::session(context_ptr ctx, int fd) : ctx_(std::move(ctx)) {
  io_.fd = fd;
  ERR_clear_error();
  auto* method = fd_method();
  BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
  ssl_ = bio != nullptr ? SSL_new(ctx_->native_handle()) : nullptr;
  if (ssl_ == nullptr) {
    BIO_free(bio);
    error_ = "cannot create the TLS session: " + openssl_reason();
    fatal_ = true;
    return;
  }
  BIO_set_data(bio, &io_);
  SSL_set_bio(ssl_, bio, bio); // one reference for both directions
  SSL_set_accept_state(ssl_);
}

session::~session() {
  SSL_free(ssl_);
}

status session::fail(int ret, bool handshaking) {
  switch (SSL_get_error(ssl_, ret)) {
  case SSL_ERROR_WANT_READ:
    return status::want_read;
  case SSL_ERROR_WANT_WRITE:
    return status::want_write;
  case SSL_ERROR_ZERO_RETURN: // close_notify, or EOF (IGNORE_UNEXPECTED_EOF)
    if (!handshaking)
      return status::eof;
    error_ = "peer closed the connection during the handshake";
    break;
  case SSL_ERROR_SYSCALL:
    if (io_.last_errno != 0)
      error_ = std::strerror(io_.last_errno);
    else if (auto why = openssl_reason(); !why.empty())
      error_ = why;
    else if (io_.eof && !handshaking)
      return status::eof;
    else
      error_ = io_.eof ? "peer closed the connection during the handshake"
                       : "I/O error";
    break;
  default:
    error_ = openssl_reason();
    if (error_.empty())
      error_ = "TLS error";
  }
  ERR_clear_error();
  // OpenSSL forbids SSL_shutdown after SSL_ERROR_SYSCALL / SSL_ERROR_SSL.
  fatal_ = true;
  return status::failed;
}

status session::handshake() {
  if (established_)
    return status::ok;
  if (fatal_)
    return status::failed;
  ERR_clear_error();
  io_.last_errno = 0;
  auto ret = SSL_do_handshake(ssl_);
  if (ret == 1) {
    established_ = true;
    return status::ok;
  }
  return fail(ret, true);
}

io_result session::read(char* buf, size_t len) {
  if (!established_ || fatal_) {
    if (error_.empty())
      error_ = "read before the handshake completed";
    return {status::failed, 0};
  }
  if (len == 0)
    return {status::ok, 0};
  ERR_clear_error();
  io_.last_errno = 0;
  // AUTO_RETRY makes SSL_read go on after records that carry no
  // application data, so want_read comes from an EAGAIN; the bound guards
  // the edge-triggered caller against a want_read with bytes left unread.
  for (int round = 0; round < 8; ++round) {
    io_.drained = false;
    size_t got = 0;
    if (SSL_read_ex(ssl_, buf, len, &got) == 1)
      return {status::ok, got};
    auto st = fail(0, false);
    if (st != status::want_read || io_.drained)
      return {st, 0};
  }
  return {status::want_read, 0};
}

io_result session::write(std::string_view bytes) {
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  return write(std::span<const iovec>{&iov, 1});
}

io_result session::write(std::span<const iovec> data) {
  if (!established_ || fatal_) {
    if (error_.empty())
      error_ = "write before the handshake completed";
    return {status::failed, 0};
  }
  size_t total = 0;
  for (auto& x : data)
    total += x.iov_len;
  if (retry_len_ > total) {
    error_ = "write retried with fewer bytes than the record in flight";
    fatal_ = true;
    return {status::failed, 0};
  }
  ERR_clear_error();
  io_.last_errno = 0;
  size_t done = 0; // bytes taken from `data`
  size_t seg = 0;  // cursor: segment and offset of the next byte
  size_t off = 0;
  while (done < total) {
    while (off == data[seg].iov_len) {
      ++seg;
      off = 0;
    }
    // One record: the one in flight again after a want_*, else up to
    // max_record bytes.
    auto len =
      retry_len_ != 0 ? retry_len_ : std::min(max_record, total - done);
    auto* base = static_cast<const char*>(data[seg].iov_base);
    const char* ptr = base + off;
    if (data[seg].iov_len - off < len) {
      // Coalesce small segments into one record instead of one each.
      auto* buf = staging_buffer();
      size_t copied = 0;
      size_t s = seg;
      size_t o = off;
      while (copied < len) {
        auto n = std::min(len - copied, data[s].iov_len - o);
        std::memcpy(buf + copied,
                    static_cast<const char*>(data[s].iov_base) + o, n);
        copied += n;
        ++s;
        o = 0;
      }
      ptr = buf;
    }
    size_t written = 0;
    if (SSL_write_ex(ssl_, ptr, len, &written) != 1) {
      auto st = fail(0, false);
      if (st == status::want_read || st == status::want_write)
        retry_len_ = len;
      else if (st == status::eof) // cannot happen on a write; be strict
        st = status::failed;
      return {st, done};
    }
    // Partial-write mode returns after each record; a record may be smaller
    // than `len` when the peer negotiated a smaller max fragment length.
    retry_len_ = 0;
    done += written;
    while (written > 0) {
      auto n = std::min(written, data[seg].iov_len - off);
      written -= n;
      off += n;
      if (off == data[seg].iov_len && written > 0) {
        ++seg;
        off = 0;
      }
    }
  }
  return {status::ok, done};
}

status session::shutdown() {
  if (ssl_ == nullptr || fatal_ || !established_)
    return status::ok; // nothing to close cleanly
  if (retry_len_ != 0) {
    error_ = "shutdown while a record is in flight";
    return status::failed;
  }
  ERR_clear_error();
  io_.last_errno = 0;
  // 0: our close_notify is out, the peer's is not awaited (we close
  // anyway); 1: both sides done.
  auto ret = SSL_shutdown(ssl_);
  if (ret >= 0)
    return status::ok;
  auto st = fail(ret, false);
  return st == status::eof ? status::ok : st;
}

std::string_view session::alpn() const noexcept {
  const unsigned char* id = nullptr;
  unsigned len = 0;
  if (ssl_ != nullptr)
    SSL_get0_alpn_selected(ssl_, &id, &len);
  return id == nullptr
           ? std::string_view{}
           : std::string_view{reinterpret_cast<const char*>(id), len};
}

roadrunner::protocol session::protocol() const noexcept {
  auto id = alpn();
  if (id == alpn_h2)
    return roadrunner::protocol::http2;
  if (id == alpn_http11)
    return roadrunner::protocol::http1;
  return ctx_->default_protocol();
}

bool session::resumed() const noexcept {
  return ssl_ != nullptr && SSL_session_reused(ssl_) == 1;
}

std::string_view session::version() const noexcept {
  return ssl_ != nullptr ? SSL_get_version(ssl_) : "";
}

std::string_view session::cipher() const noexcept {
  return ssl_ != nullptr && established_ ? SSL_get_cipher_name(ssl_) : "";
}

bool session::has_pending() const noexcept {
  return ssl_ != nullptr && SSL_has_pending(ssl_) == 1;
}

} // namespace roadrunner::tls
