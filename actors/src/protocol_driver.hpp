#pragma once

#include "listener_shared.hpp"
#include "request_lifecycle.hpp"
#include "transport.hpp"
#include <roadrunner/detail/connection_info.hpp>

#include <cstdint>
#include <memory>

namespace caf {
class message;
} // namespace caf

namespace roadrunner::detail {

class protocol_driver;
class reactor;

/// What a protocol driver may ask of the connection that runs it. The
/// connection owns the transport, the request lifecycle and the driver;
/// the driver reaches the first two through here and never the
/// connection's own state. The accessors are plain loads (a driver calls
/// them dozens of times per request: virtual calls cost about 300
/// instructions per HTTP/1.1 request, measured with instructions.sh).
class driver_host {
public:
  reactor& home() const noexcept { return io_.home(); }
  listener_shared& shared() const noexcept { return *shared_; }
  detail::connection_info& info() noexcept { return info_; }
  transport& io() noexcept { return io_; }
  request_lifecycle& requests() noexcept { return life_; }

  /// True once the listener asked the connection to drain.
  bool draining() const noexcept { return draining_; }

  /// Ends the connection now: the driver is stopped, the slot released,
  /// the socket closed, the actor ends. Safe from reactor callbacks and
  /// message handlers alike; the driver object outlives the call (the
  /// caller may be one of its members), but must do nothing more.
  virtual void close() = 0;

  /// Ends the connection with a lingering close (the transport discards
  /// input for a while, then the connection ends). The driver is stopped
  /// at once, as with `close`.
  virtual void linger() = 0;

  /// Hands the connection to `next` (a protocol upgrade: HTTP/1.1 101 to
  /// WebSocket). Only the HTTP/1.1 driver calls it, as its last act: it has
  /// stopped itself; `next` starts at once.
  virtual void upgrade(std::unique_ptr<protocol_driver> next) = 0;

protected:
  /// The parts live here rather than in the connection, so a driver
  /// reaches them with one load and an idle connection carries no
  /// pointers to its own members (docs/architecture.md 14).
  driver_host(caf::event_based_actor* self, reactor& home, int fd,
              listener_shared_ptr shared, transport_owner& owner) noexcept
    : shared_(std::move(shared)),
      io_(home, fd, owner, shared_->opts.request_timeout.count()),
      life_(self, home, *shared_, info_) {}
  ~driver_host() = default;

  // Members die in reverse order: the lifecycle, then the transport (the
  // TLS session); the connection's own members (its drivers) before all.
  listener_shared_ptr shared_;
  detail::connection_info info_;
  transport io_;
  request_lifecycle life_;
  bool draining_ = false;
};

/// One protocol spoken over a connection's transport: HTTP/1.1, HTTP/2, or
/// (later) WebSocket after an upgrade. A driver frames bytes into requests
/// (or messages), hands requests to the lifecycle, writes answers to the
/// transport and keeps its own timers (member_timer). Drivers never reach
/// into each other.
/// Runs on: the connection's reactor thread.
class protocol_driver {
public:
  virtual ~protocol_driver() = default;

  /// Begins speaking over the transport (the socket is registered and, for
  /// TLS, the handshake is done). Input may already wait (TLS).
  virtual void start() = 0;

  /// Socket readiness (epoll events).
  virtual void on_io(uint32_t events) = 0;

  /// `(exchange_wake_atom, tag)`: the handler side of a deferred request
  /// queued operations (message handler).
  virtual void on_wake(uint32_t tag) = 0;

  /// The listener drains (message handler).
  virtual void on_drain(int64_t deadline_ms) = 0;

  /// A message the connection's behaviour does not handle itself (message
  /// handler): a driver's own protocol (WebSocket sends). Dropped by
  /// default.
  virtual void on_message(caf::message&) {}

  /// The connection is closing: end every open request (its handler hears
  /// on_cancel), disarm the timers. No I/O, no call back into the host.
  virtual void stop() noexcept = 0;
};

} // namespace roadrunner::detail
