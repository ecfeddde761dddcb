#include "transport.hpp"

#include "io/socket.hpp"
#include "proxy_protocol.hpp"
#include "tls/session.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace roadrunner::detail {

transport::transport(reactor& home, int fd, transport_owner& owner,
                     int64_t send_timeout_ms) noexcept
  : home_(&home), fd_(fd), owner_(&owner), send_timeout_ms_(send_timeout_ms) {}

transport::~transport() {
  // close() ran on the reactor thread (the connection's teardown); this is
  // for a connection that never registered its socket.
  tls_.reset();
  io::close_fd(fd_);
}

bool transport::attach(io_handler* handler) {
  handler_ = handler;
  return home_->add(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, handler);
}

void transport::start_tls(tls::context_ptr ctx) {
  tls_ = std::make_unique<tls::session>(std::move(ctx), fd_);
}

// -- input --------------------------------------------------------------------

ssize_t transport::read(char* buf, size_t len) {
  // Lingering discards raw bytes (our close_notify is out: no more TLS).
  if (!tls_ || lingering_)
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
    read_paused = true;
    errno = EAGAIN;
    return -1;
  case tls::status::failed:
    break;
  }
  errno = EIO;
  return -1;
}

bool transport::tls_drained() const noexcept {
  return tls_->input_drained();
}

void transport::yield_read() {
  if (handler_ != nullptr)
    home_->resume_later(handler_, EPOLLIN);
}

// -- PROXY protocol -----------------------------------------------------------

transport::proxy_result transport::read_proxy_header(proxy_info& out,
                                                     std::string_view& reason) {
  // Peek, so that the bytes after the header (a TLS record, the request)
  // stay in the socket for the next layer: OpenSSL reads the socket itself.
  auto [buf, cap] = home_->scratch();
  auto want = std::min(cap, proxy::max_header_size);
  ssize_t n = 0;
  do {
    n = ::recv(fd_, buf, want, MSG_PEEK);
  } while (n < 0 && errno == EINTR);
  if (n == 0) {
    reason = "eof";
    return proxy_result::failed;
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return proxy_result::more;
    reason = "read_error";
    return proxy_result::failed;
  }
  auto res = proxy::parse({buf, static_cast<size_t>(n)}, out);
  switch (res.status) {
  case proxy::parse_status::need_more:
    // A prefix below the size cap (the parser refuses at the cap): the
    // next arrival raises a new edge; the header deadline bounds the wait.
    return proxy_result::more;
  case proxy::parse_status::reject:
    reason = proxy::to_string(res.reason);
    return proxy_result::failed;
  case proxy::parse_status::complete:
    break;
  }
  // The peeked header is in the receive queue: this read takes exactly it.
  ssize_t m = 0;
  do {
    m = ::recv(fd_, buf, res.consumed, 0);
  } while (m < 0 && errno == EINTR);
  if (m != static_cast<ssize_t>(res.consumed)) {
    reason = "read_error";
    return proxy_result::failed;
  }
  return proxy_result::done;
}

// -- output -------------------------------------------------------------------

transport::flush_result transport::flush() {
  if (out_.empty()) {
    if (write_blocked_) {
      write_blocked_ = false;
      home_->disarm(timer_.node);
    }
    return flush_result::done;
  }
  auto before = out_.pending();
  auto res = tls_ ? out_.flush(*tls_) : out_.flush(fd_);
  written_ += before - out_.pending();
  switch (res) {
  case io::output_queue::result::done:
    if (write_blocked_) {
      write_blocked_ = false;
      home_->disarm(timer_.node); // the send deadline is over
    }
    return flush_result::done;
  case io::output_queue::result::blocked:
    // A peer that stops reading must not hold the connection (and its
    // slot) forever: while output waits, the send deadline runs, restarted
    // whenever the peer takes some bytes.
    if (!write_blocked_ || out_.pending() < before)
      home_->arm(timer_.node, send_timeout_ms_);
    write_blocked_ = true;
    return flush_result::blocked;
  case io::output_queue::result::failed:
    break;
  }
  return flush_result::failed;
}

// -- closing ------------------------------------------------------------------

void transport::linger() {
  if (lingering_ || fd_ < 0)
    return;
  lingering_ = true;
  write_blocked_ = false;
  close_tls(); // close_notify first, then the FIN; input is then discarded
  ::shutdown(fd_, SHUT_WR);
  home_->arm(timer_.node, lingering_ms);
  discard_input(); // what is already there (no new edge would come)
}

void transport::on_linger_io(uint32_t events) {
  if ((events & EPOLLERR) != 0) {
    owner_->transport_done();
    return;
  }
  if ((events & (EPOLLRDHUP | EPOLLHUP)) != 0)
    rdhup = true;
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0)
    discard_input();
}

void transport::discard_input() {
  auto [buf, cap] = home_->scratch();
  // A peer still flooding (a connection cut for abuse) gets 16 reads per
  // wake-up, then the other connections of the reactor go first.
  for (int reads = 0;; ++reads) {
    if (reads == 16) {
      yield_read();
      return;
    }
    auto n = ::read(fd_, buf, cap);
    if (n > 0) {
      if (static_cast<size_t>(n) < cap && !rdhup)
        return; // drained: the next arrival raises a new edge
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    // The peer closed (or the socket broke): lingering is over.
    owner_->transport_done();
    return;
  }
}

void transport::on_timer() {
  // The send deadline passed without the peer reading, or lingering is
  // over: either way the connection ends.
  owner_->transport_done();
}

void transport::close_tls() noexcept {
  // close_notify once, best effort (a full send buffer: give up), so the
  // client can tell a complete response from a truncated one and OpenSSL
  // keeps the session resumable.
  if (!tls_ || tls_closed_)
    return;
  tls_closed_ = true;
  static_cast<void>(tls_->shutdown());
}

void transport::close() noexcept {
  home_->disarm(timer_.node);
  if (fd_ < 0)
    return;
  close_tls();
  // Deregistered before the close (a forked child may hold a copy).
  if (handler_ != nullptr)
    home_->close_registered(fd_, handler_);
  else
    io::close_fd(fd_);
  fd_ = -1;
  out_.clear();
}

void transport::reopen(int fd) noexcept {
  close(); // a no-op unless the last socket is still open

  tls_.reset();
  fd_ = fd;
  handler_ = nullptr;
  written_ = 0;
  out_.clear();
  read_paused = rdhup = false;
  write_blocked_ = lingering_ = tls_closed_ = false;
}

} // namespace roadrunner::detail
