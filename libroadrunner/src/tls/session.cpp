#include "tls/session.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <linux/tls.h>
#include <memory>

namespace roadrunner::tls {

namespace {

using fd_state = session::fd_state;

// -- the socket BIO -----------------------------------------------------------

// OpenSSL's socket BIO writes with write(2), which raises SIGPIPE on a reset
// peer, and hides whether a read stopped at EAGAIN. This one sends with
// MSG_NOSIGNAL and records EAGAIN, EOF and errno for the session.
//
// kTLS (`tls_options::ktls`): OpenSSL 3.0 hands a BIO the record keys with
// the BIO controls below once the handshake has derived the application
// write keys, and asks it whether the kernel now encrypts. These controls
// are OpenSSL's internal BIO interface (`BIO_set_ktls`; the numbers are
// listed in <openssl/bio.h>), served here for our own BIO.
constexpr int ctrl_set_ktls = 72;          // num != 0: transmit; ptr: keys
constexpr int ctrl_set_ktls_ctrl_msg = 74; // num: the next record's type
constexpr int ctrl_clear_ktls_ctrl_msg = 75;

// Size of the kernel's crypto_info for `cipher_type` (linux/tls.h); 0 for
// a cipher we do not hand to the kernel. OpenSSL passes the struct inside
// a union whose length field we do not rely on.
size_t crypto_info_size(uint16_t cipher_type) {
  switch (cipher_type) {
  case TLS_CIPHER_AES_GCM_128:
    return sizeof(tls12_crypto_info_aes_gcm_128);
  case TLS_CIPHER_AES_GCM_256:
    return sizeof(tls12_crypto_info_aes_gcm_256);
  case TLS_CIPHER_CHACHA20_POLY1305:
    return sizeof(tls12_crypto_info_chacha20_poly1305);
  default:
    return 0;
  }
}

// Attaches the kernel's TLS layer to the socket and gives it the transmit
// keys: from then on the kernel frames and encrypts what we send. Records
// why it could not (a kernel without the `tls` module answers ENOENT).
bool start_ktls_send(fd_state& st, const void* keys) {
  st.ktls_tried = true;
  auto* info = static_cast<const tls_crypto_info*>(keys);
  auto size = info != nullptr ? crypto_info_size(info->cipher_type) : 0;
  if (size == 0) {
    st.ktls_step = "cipher not offloaded";
    st.ktls_errno = 0;
    return false;
  }
  // EEXIST: the ULP is attached already (never here: one call per socket).
  if (::setsockopt(st.fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) != 0 &&
      errno != EEXIST) {
    st.ktls_step = "TCP_ULP tls";
    st.ktls_errno = errno;
    return false;
  }
  if (::setsockopt(st.fd, SOL_TLS, TLS_TX, keys,
                   static_cast<socklen_t>(size)) != 0) {
    st.ktls_step = "SOL_TLS TLS_TX";
    st.ktls_errno = errno;
    return false;
  }
  st.ktls_tx = true;
  return true;
}

// A non-application record (an alert, a NewSessionTicket, a KeyUpdate)
// through kTLS: the kernel encrypts it with the record type from the
// control message. It takes the record whole or not at all.
ssize_t send_ktls_record(int fd, unsigned char type, const char* data,
                         size_t len) {
  union {
    cmsghdr hdr;
    char buf[CMSG_SPACE(sizeof(unsigned char))];
  } control{};
  iovec iov{const_cast<char*>(data), len};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof(control.buf);
  auto* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_TLS;
  cmsg->cmsg_type = TLS_SET_RECORD_TYPE;
  cmsg->cmsg_len = CMSG_LEN(sizeof(unsigned char));
  *CMSG_DATA(cmsg) = type;
  msg.msg_controllen = cmsg->cmsg_len;
  return ::sendmsg(fd, &msg, MSG_NOSIGNAL);
}

int bio_write(BIO* b, const char* data, size_t len, size_t* written) {
  auto* st = static_cast<fd_state*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  for (;;) {
    auto n =
      st->ktls_record_type >= 0
        ? send_ktls_record(
            st->fd, static_cast<unsigned char>(st->ktls_record_type), data, len)
        : ::send(st->fd, data, len, MSG_NOSIGNAL);
    if (n >= 0) {
      st->ktls_record_type = -1;
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

/// SSL_get_error reads the thread's error queue, which must be empty
/// before an SSL call. In OpenSSL 3 ERR_clear_error costs about 800
/// instructions even on an empty queue, ERR_peek_error about 200: the
/// queue is cleared only when it holds something (read and write run for
/// every record).
void clear_errors() noexcept {
  if (ERR_peek_error() != 0)
    ERR_clear_error();
}

int bio_read(BIO* b, char* buf, size_t len, size_t* got) {
  auto* st = static_cast<fd_state*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  for (;;) {
    auto n = ::read(st->fd, buf, len);
    if (n > 0) {
      *got = static_cast<size_t>(n);
      st->short_read = *got < len;
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

long bio_ctrl(BIO* b, int cmd, long num, void* ptr) {
  auto* st = static_cast<fd_state*>(BIO_get_data(b));
  if (st == nullptr) // not attached to a session yet
    return 0;
  switch (cmd) {
  case BIO_CTRL_FLUSH: // nothing buffered here
    return 1;
  case BIO_CTRL_EOF:
    return st->eof ? 1 : 0;
  case BIO_C_GET_FD: // SSL_get_wfd, for SSL_sendfile
    if (ptr != nullptr)
      *static_cast<int*>(ptr) = st->fd;
    return st->fd;
  case ctrl_set_ktls:
    // num != 0: transmit (OpenSSL passes `which & SSL3_CC_WRITE`). Only
    // transmit is offloaded: OpenSSL 3.0 receives through kTLS for TLS 1.2
    // alone, and reading stays on our EAGAIN-aware path.
    return num != 0 && start_ktls_send(*st, ptr) ? 1 : 0;
  case BIO_CTRL_GET_KTLS_SEND:
    return st->ktls_tx ? 1 : 0;
  case BIO_CTRL_GET_KTLS_RECV:
    return 0;
  case ctrl_set_ktls_ctrl_msg:
    st->ktls_record_type = static_cast<int>(num);
    return 0;
  case ctrl_clear_ktls_ctrl_msg:
    st->ktls_record_type = -1;
    return 0;
  default: // no push/pop, no other fd queries
    return 0;
  }
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

BIO_METHOD* fd_method() {
  // Created once, never freed (a process-lifetime table, like OpenSSL's own).
  // A descriptor BIO, so that SSL_get_wfd (SSL_sendfile) finds the socket.
  static BIO_METHOD* method = [] {
    auto* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK |
                             BIO_TYPE_DESCRIPTOR,
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
  clear_errors();
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
  if (io_.ktls_tx)
    return write_ktls(data, total);
  clear_errors();
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

io_result session::write_ktls(std::span<const iovec> data, size_t total) {
  // The kernel frames and encrypts (its sequence numbers, OpenSSL's keys):
  // the plaintext goes straight to the socket in one gathering call, and a
  // partial write needs no retry with the same bytes. OpenSSL's own
  // records (alerts, tickets) reach the kernel through the BIO.
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(data.data());
  msg.msg_iovlen = std::min<size_t>(data.size(), IOV_MAX);
  for (;;) {
    auto n = ::sendmsg(io_.fd, &msg, MSG_NOSIGNAL);
    if (n >= 0) {
      auto sent = static_cast<size_t>(n);
      return {sent == total ? status::ok : status::want_write, sent};
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return {status::want_write, 0};
    error_ = std::strerror(errno);
    fatal_ = true;
    return {status::failed, 0};
  }
}

io_result session::sendfile(int file_fd, uint64_t offset, size_t len) {
  if (!established_ || fatal_ || !io_.ktls_tx) {
    if (error_.empty())
      error_ = "sendfile without kernel TLS";
    return {status::failed, 0};
  }
  size_t done = 0;
  while (done < len) {
    ERR_clear_error();
    auto n = SSL_sendfile(ssl_, file_fd, static_cast<off_t>(offset + done),
                          len - done, 0);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    auto err = errno;
    ERR_clear_error();
    if (n < 0 &&
        (err == EAGAIN || err == EWOULDBLOCK || err == EINTR || err == EBUSY))
      return {status::want_write, done};
    // 0: the file ended before `len` (it shrank): the promised length
    // cannot be kept.
    error_ =
      n == 0 ? "file shorter than the range to send" : std::strerror(err);
    fatal_ = true;
    return {status::failed, done};
  }
  return {status::ok, done};
}

std::string session::ktls_error() const {
  if (io_.ktls_tx || !io_.ktls_tried)
    return {};
  std::string out = io_.ktls_step;
  if (io_.ktls_errno != 0) {
    out += ": ";
    out += std::strerror(io_.ktls_errno);
  }
  return out;
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
