#pragma once

#include "io/output_queue.hpp"
#include "reactor.hpp"
#include "tls/context.hpp"

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace roadrunner {
struct proxy_info;
} // namespace roadrunner

namespace roadrunner::tls {
class session;
} // namespace roadrunner::tls

namespace roadrunner::detail {

/// What a transport tells the connection that owns it.
class transport_owner {
public:
  virtual ~transport_owner() = default;

  /// The transport is done: the send deadline passed, a write failed, or a
  /// lingering close is over. The connection ends (reactor callback: never
  /// inside a message handler).
  virtual void transport_done() = 0;
};

/// The byte stream under a protocol driver: the socket (plain or TLS), the
/// output queue, readiness flags, the send deadline and the lingering close.
/// Protocol drivers read and write through it and never touch the socket.
///
/// - `flush` writes the output queue. While the peer does not take the
///   bytes (`blocked`) a send deadline runs (`send_timeout`, restarted
///   whenever some bytes leave); when it passes the owner hears
///   `transport_done`.
/// - `linger` ends the protocol's use of the socket so that unread input
///   does not turn the close into a reset that destroys the response in
///   flight (RFC 9112 9.6): close_notify, shut the write side, discard
///   input until the peer closes or `lingering_ms` passed.
/// - `read_proxy_header` reads a PROXY protocol header (`proxy_protocol`)
///   before the TLS handshake and before any driver sees a byte.
///
/// Runs on: the connection's reactor thread.
class transport {
public:
  /// After a response that closes the connection: how long unread input is
  /// discarded before the socket closes anyway.
  static constexpr int64_t lingering_ms = 1000;

  transport(reactor& home, int fd, transport_owner& owner,
            int64_t send_timeout_ms) noexcept;
  ~transport();

  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;

  int fd() const noexcept { return fd_; }
  reactor& home() const noexcept { return *home_; }

  /// Registers the socket with the reactor for every readiness event,
  /// edge-triggered, once for the connection's life (no epoll_ctl per
  /// request); `handler` hears them. False (errno set) on failure.
  bool attach(io_handler* handler);

  // -- TLS --------------------------------------------------------------------

  /// Wraps the socket in a server-side TLS session (before any byte).
  void start_tls(tls::context_ptr ctx);

  /// The TLS session, or null on plain TCP.
  tls::session* tls() const noexcept { return tls_.get(); }

  // -- input ------------------------------------------------------------------

  /// Reads at most `len` bytes: the count, 0 at the peer's end of stream,
  /// or -1 with errno (EAGAIN: nothing now; with TLS a read that must first
  /// write also sets `read_paused`).
  ssize_t read(char* buf, size_t len);

  /// A read that returned less than asked drained the socket: true on plain
  /// TCP (edge-triggered, a new arrival raises a new edge) unless the
  /// peer's FIN was announced; with TLS (a read returns one record) only
  /// when the socket's own last read was short and OpenSSL holds nothing
  /// more (`tls::session::input_drained`).
  bool short_read_drains() const noexcept {
    return !rdhup && (!tls_ || lingering_ || tls_drained());
  }

  /// Input was left in the socket (output backlog, a TLS read that must
  /// write first): read again once the output drained.
  bool read_paused = false;

  /// epoll announced the peer's FIN (its edge is spent: read until 0).
  bool rdhup = false;

  /// Leaves the input for later: the reactor calls the handler with EPOLLIN
  /// again in its next iteration, after the other ready connections and
  /// the timers (a driver's bounded work per wake-up; no edge is lost).
  void yield_read();

  // -- PROXY protocol (issue 17) ----------------------------------------------

  enum class proxy_result : uint8_t {
    done,   // the header is read: `out` is set
    more,   // a valid prefix so far: wait for the next EPOLLIN
    failed, // EOF, a socket error or a refused header: close
  };

  /// Reads the PROXY protocol header and not one byte more: it peeks,
  /// parses (`proxy::parse`) and consumes exactly the header once it is
  /// complete, so the TLS ClientHello or the first request stays in the
  /// socket (no new edge announces it: the caller reads on at once). On
  /// `failed`, `reason` names the cause ("eof", "v1_syntax", ...).
  proxy_result read_proxy_header(proxy_info& out, std::string_view& reason);

  // -- output -----------------------------------------------------------------

  io::output_queue& out() noexcept { return out_; }

  enum class flush_result : uint8_t {
    done,    // the queue is empty
    blocked, // the socket is full: wait for EPOLLOUT
    failed,  // the socket is broken: the connection must end
  };

  /// Writes what the output queue holds, as much as the socket takes.
  flush_result flush();

  /// True while output waits for the peer (EPOLLOUT).
  bool write_blocked() const noexcept { return write_blocked_; }

  /// Bytes written to the socket so far (TLS: plaintext bytes).
  uint64_t bytes_written() const noexcept { return written_; }

  // -- closing ----------------------------------------------------------------

  /// Starts the lingering close (see the class comment); the owner hears
  /// `transport_done` when it is over. Discards what the socket holds now.
  void linger();

  bool lingering() const noexcept { return lingering_; }

  /// Readiness while lingering: read and discard.
  void on_linger_io(uint32_t events);

  /// A deadline for the transport itself (the TLS handshake): when it
  /// passes the owner hears `transport_done`. Replaced by the send
  /// deadline and the lingering limit; `disarm_deadline` cancels it.
  void set_deadline(int64_t ms) { home_->arm(timer_.node, ms); }
  void disarm_deadline() noexcept { home_->disarm(timer_.node); }

  /// Sends close_notify once (best effort; TLS only).
  void close_tls() noexcept;

  /// close_notify, then closes the socket (which deregisters it from
  /// epoll: a connection's socket is never duplicated). Idempotent.
  void close() noexcept;

  /// Drops queued output and its buffers.
  void clear_output() noexcept { out_.clear(); }

  /// After `close`: takes `fd`, a new socket (a reused connection), with
  /// nothing left of the last one.
  void reopen(int fd) noexcept;

private:
  void on_timer();
  void discard_input();
  bool tls_drained() const noexcept;

  reactor* home_;
  int fd_;
  io_handler* handler_ = nullptr;
  transport_owner* owner_;
  int64_t send_timeout_ms_;
  io::output_queue out_;
  uint64_t written_ = 0;
  std::unique_ptr<tls::session> tls_;
  // The handshake deadline, the send deadline while output waits, the
  // lingering limit after (never two at once).
  member_timer<transport, &transport::on_timer> timer_{this};
  bool write_blocked_ = false;
  bool lingering_ = false;
  bool tls_closed_ = false; // close_notify sent (or given up)
};

} // namespace roadrunner::detail
