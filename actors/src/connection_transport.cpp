// The connection's transport: the TLS handshake, the choice of protocol,
// and reads / writes over plain TCP or TLS (shared by HTTP/1.1 and the
// HTTP/2 driver). See docs/architecture.md 11 and 12.

#include "connection.hpp"
#include "h2_connection.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>

namespace roadrunner::detail {

void connection::on_handshake(uint32_t events) {
  if ((events & EPOLLERR) != 0) {
    close_now();
    return;
  }
  // Both edges are registered, so want_read / want_write just wait for the
  // next event; the handshake timer bounds the whole exchange.
  switch (tls_->handshake()) {
  case tls::status::ok:
    break;
  case tls::status::want_read:
  case tls::status::want_write:
    return;
  default:
    // A failed handshake (wrong ALPN, no shared cipher, plain HTTP on the
    // TLS port, EOF): close without a word. The session is fatal, so no
    // close_notify is attempted.
    close_now();
    return;
  }
  start_protocol(tls_->protocol());
  if (phase_ == phase::closed)
    return;
  // OpenSSL may already hold application data that arrived with the
  // handshake's last flight: no new edge will announce it.
  if (h2_)
    h2_->on_io(EPOLLIN | EPOLLOUT);
  else
    read_input();
}

void connection::start_protocol(roadrunner::protocol proto) {
  if (proto == protocol::http2) {
    home().disarm(timer_);
    home().disarm(rate_node_);
    phase_ = phase::idle; // unused by HTTP/2; anything but closed/handshake
    h2_ = std::make_unique<h2_connection>(*this);
    // Streams defer through the driver (the exchange's tag is the stream
    // id); request bodies are always buffered whole on HTTP/2.
    info_.deferral = h2_.get();
    info_.manual_body = false;
    h2_->start();
    return;
  }
  // HTTP/1.1: the first request's deadline counts from the handshake.
  phase_ = phase::idle;
  home().arm(timer_, shared_->opts.request_timeout.count());
}

ssize_t connection::read_in(char* buf, size_t len) {
  // Lingering discards raw bytes (our close_notify is out: no more TLS).
  if (!tls_ || phase_ == phase::lingering)
    return ::read(fd_, buf, len);
  auto r = tls_->read(buf, len);
  switch (r.status) {
  case tls::status::ok:
    return static_cast<ssize_t>(r.bytes);
  case tls::status::eof:
    return 0;
  case tls::status::want_read:
    errno = EAGAIN;
    return -1;
  case tls::status::want_write:
    // OpenSSL must send first (e.g. a KeyUpdate answer): read again on the
    // next EPOLLOUT, which resumes paused reads.
    read_paused_ = true;
    errno = EAGAIN;
    return -1;
  case tls::status::failed:
    break;
  }
  errno = EIO;
  return -1;
}

io::output_queue::result connection::write_out() {
  return tls_ ? out_.flush(*tls_) : out_.flush(fd_);
}

void connection::close_tls() noexcept {
  // close_notify once, best effort (a full send buffer: give up), so the
  // client can tell a complete response from a truncated one and OpenSSL
  // keeps the session resumable.
  if (!tls_ || tls_closed_)
    return;
  tls_closed_ = true;
  static_cast<void>(tls_->shutdown());
}

} // namespace roadrunner::detail
