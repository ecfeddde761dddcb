#pragma once

#include "h1_driver.hpp"
#include "hosted_actor.hpp"
#include "listener_shared.hpp"
#include "protocol_driver.hpp"
#include "reactor.hpp"
#include "request_lifecycle.hpp"
#include "transport.hpp"
#include <roadrunner/options.hpp>
#include <roadrunner/request.hpp>
#include <roadrunner/telemetry.hpp>

#include <memory>
#include <optional>
#include <string_view>

namespace roadrunner::detail {

class acceptor;

/// The acceptor that spawned a connection (a struct: CAF's spawn would
/// turn a plain actor pointer into a handle).
struct acceptor_ref {
  acceptor* ptr;
};

/// One connection actor per accepted socket (the seed's `roadrunner_conn`):
/// a transport (socket, TLS, output, send deadline, lingering close), one
/// protocol driver (HTTP/1.1, or HTTP/2 by ALPN `h2` or h2c with prior
/// knowledge) and the request lifecycle the driver hands requests to.
/// See docs/architecture.md 14 for the shape and one request's path.
///
/// Socket readiness and timers run inline on the home reactor's thread,
/// with no mailbox hop; messages (drain, exchange wake-ups, exit) run there
/// too. On a TLS listener the handshake runs here first (never in the
/// acceptor), bounded by `tls.handshake_timeout`.
///
/// Its `max_clients` slot is given back in `teardown`, before the socket
/// closes, so a client that saw the close can connect again at once (the
/// acceptor's down handler releases it only for a connection that could
/// not: see `release_slot`).
/// Runs on: its home reactor thread (state is never touched elsewhere).
class connection final : public hosted_actor,
                         public io_handler,
                         public transport_owner,
                         public driver_host {
public:
  connection(caf::actor_config& cfg, reactor* home, int fd,
             listener_shared_ptr shared, peer_address peer, acceptor_ref owner);
  ~connection() override;

  caf::behavior make_behavior() override;

  void on_io(uint32_t events) override;

  void on_exit() override;

  /// Every message (drain, exchange wake-ups, a driver's own): the default
  /// handler of the shared behaviour calls it.
  void on_message(caf::message_view& view);

  const char* name() const override { return "roadrunner.connection"; }

  /// The acceptor, on the same reactor thread: gives the `max_clients`
  /// slot back if this connection still holds it. True if it did.
  bool release_slot() noexcept;

  /// The acceptor, on the same reactor thread: this closed connection's
  /// actor serves `fd`, a new socket, from its start (as a newly spawned
  /// one would). See `acceptor::recycle` for which actors are reused.
  void reopen(int fd, peer_address peer);

  /// True while closed (a reusable actor between two sockets).
  bool closed() const noexcept { return closed_; }

  /// The acceptor ends: a close no longer offers this actor back.
  void disown() noexcept { owner_ = nullptr; }

  /// The actor's handle went out (an operator's `connections` list): it
  /// may be sent a kill meant for this socket, so it is never reused.
  void expose() noexcept { listed_ = true; }

  // -- driver_host ------------------------------------------------------------

  using hosted_actor::home;
  void close() override;
  void linger() override;
  void upgrade(std::unique_ptr<protocol_driver> next) override;

  // -- transport_owner --------------------------------------------------------

  void transport_done() override;

private:
  bool begin();
  void start_transport();
  void on_proxy_header(uint32_t events);
  void refuse_proxy(std::string_view reason);
  void on_handshake(uint32_t events);
  void handshake_event(telemetry_kind kind, std::string_view reason);
  void start_protocol(protocol proto);
  void on_drain(int64_t deadline_ms);
  void teardown() noexcept;
  void end_or_recycle();
  void reset_info(peer_address peer);
  void stop_driver() noexcept;

  // The transport, the lifecycle and the listener's state are driver_host's
  // (it dies after these members: the drivers go first).
  std::optional<h1_driver> h1_;            // inline: most connections
  std::unique_ptr<protocol_driver> other_; // HTTP/2, or after an upgrade
  protocol_driver* driver_ = nullptr;      // null during the handshake
  caf::strong_actor_ptr self_ref_;
  acceptor* owner_;         // same reactor thread; null once it ended
  bool in_message_ = false; // inside a message handler: end with quit()
  bool listed_ = false;     // see expose()
  bool closed_ = false;
  bool slot_held_ = true;       // the max_clients slot the acceptor took
  bool awaiting_proxy_ = false; // proxy_protocol: the header is not read yet
};

} // namespace roadrunner::detail
