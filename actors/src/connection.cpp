#include "connection.hpp"

#include "acceptor.hpp"
#include "h2_driver.hpp"
#include "tls/session.hpp"
#include <roadrunner/listener.hpp>
#include <roadrunner/proxy_protocol.hpp>

#include <sys/epoll.h>

#include <memory>
#include <string>
#include <utility>

namespace roadrunner::detail {

connection::connection(caf::actor_config& cfg, reactor* home, int fd,
                       listener_shared_ptr shared, peer_address peer,
                       acceptor_ref owner)
  : hosted_actor(cfg, home),
    driver_host(this, *home, fd, std::move(shared), *this), owner_(owner.ptr) {
  reset_info(std::move(peer));
}

connection::~connection() = default;

void connection::reset_info(peer_address peer) {
  info_.peer = std::move(peer);
  info_.scheme = "http";
  info_.listener_name = shared_->name;
  info_.stats = &shared_->stats;
  info_.deferral = &life_;
  info_.manual_body = shared_->opts.body_buffering == body_buffering::manual;
  info_.proxy.reset();
}

bool connection::begin() {
  self_ref_ = ctrl();
  if (!io_.attach(this))
    return false;
  if (shared_->opts.proxy_protocol) {
    // The PROXY header comes first, before the TLS handshake (upstream
    // F12) and the first request, within its own deadline.
    awaiting_proxy_ = true;
    io_.set_deadline(shared_->opts.proxy_protocol_timeout.count());
  } else {
    start_transport();
  }
  return true;
}

void connection::reopen(int fd, peer_address peer) {
  // The last socket's drivers were stopped by its close and may be
  // destroyed now (no frame of theirs is on the stack: the acceptor calls).
  driver_ = nullptr;
  other_.reset();
  h1_.reset();
  io_.reopen(fd);
  life_.reset();
  reset_info(std::move(peer));
  draining_ = false;
  closed_ = false;
  slot_held_ = true; // the acceptor took one for this socket
  awaiting_proxy_ = false;
  if (!begin())
    close();
}

namespace {

// Never sent: the one case of the behaviour every connection shares.
using connection_idle_atom = caf::atom_constant<caf::atom("rrconidle")>;

// One behaviour for every connection actor. CAF allocates a behaviour's
// cases per make_behavior (about 128 bytes a connection, each capturing its
// actor); this one captures nothing and its refcount is shared, and every
// real message goes to the default handler, which CAF calls with the actor
// (docs/architecture.md 14, memory per idle connection).
const caf::behavior& shared_behavior() {
  static const caf::behavior behavior{[](connection_idle_atom) {}};
  return behavior;
}

caf::result<caf::message> dispatch_message(caf::scheduled_actor* self,
                                           caf::message_view& view) {
  static_cast<connection*>(self)->on_message(view);
  return caf::message{};
}

} // namespace

caf::behavior connection::make_behavior() {
  if (!begin()) {
    teardown();
    return {}; // no behavior: the actor ends, the acceptor frees the slot
  }
  set_default_handler(dispatch_message); // a function pointer: no allocation
  return shared_behavior();
}

void connection::on_message(caf::message_view& view) {
  // Every message handler runs with in_message_ set, so that a close
  // inside it ends the actor with quit() alone (resume() finalizes).
  in_message_ = true;
  auto& xs = view.content();
  if (xs.match_elements<drain_atom, int64_t>()) {
    on_drain(xs.get_as<int64_t>(1));
  } else if (xs.match_elements<exchange_wake_atom, uint32_t>()) {
    if (driver_ != nullptr && !closed_)
      driver_->on_wake(xs.get_as<uint32_t>(1));
  } else if (driver_ != nullptr && !closed_) {
    // Anything else belongs to the driver's own protocol (WebSocket sends
    // from any thread); without a driver for it, it is dropped.
    auto msg = view.move_content_to_message();
    driver_->on_message(msg);
  }
  in_message_ = false;
}

void connection::start_transport() {
  if (shared_->tls) {
    // TLS: the handshake runs here, driven by readiness events (the first
    // comes at once: the socket is writable), within handshake_timeout
    // from the accept (or from the PROXY header); an acceptor never waits
    // for it (docs/upstream-bugs.md F1).
    info_.scheme = "https";
    io_.start_tls(shared_->tls);
    io_.set_deadline(shared_->tls->handshake_timeout().count());
  } else {
    // protocols = [http2] on plain TCP: h2c with prior knowledge (the
    // server preface goes out on the first readiness event).
    start_protocol(shared_->h2c ? protocol::http2 : protocol::http1);
  }
}

// -- events -------------------------------------------------------------------

void connection::on_io(uint32_t events) {
  if (closed_)
    return;
  if (io_.lingering()) {
    io_.on_linger_io(events);
    return;
  }
  if (awaiting_proxy_) {
    on_proxy_header(events);
    return;
  }
  if (driver_ == nullptr) {
    on_handshake(events);
    return;
  }
  driver_->on_io(events);
}

void connection::on_proxy_header(uint32_t events) {
  if ((events & EPOLLERR) != 0) {
    refuse_proxy("socket_error");
    return;
  }
  proxy_info header;
  std::string_view reason;
  switch (io_.read_proxy_header(header, reason)) {
  case transport::proxy_result::more:
    return;
  case transport::proxy_result::failed:
    refuse_proxy(reason);
    return;
  case transport::proxy_result::done:
    break;
  }
  awaiting_proxy_ = false;
  io_.disarm_deadline();
  // The proxied client is the request's peer; LOCAL, UNKNOWN, UNSPEC and
  // UNIX headers carry none and keep the socket's.
  if (!header.source.ip.empty())
    info_.peer = header.source;
  info_.proxy = std::make_shared<const proxy_info>(std::move(header));
  start_transport();
  if (closed_)
    return;
  // The bytes after the header (ClientHello, request, h2 preface) may be in
  // the socket already: no new edge will announce them.
  if (driver_ == nullptr)
    on_handshake(EPOLLIN | EPOLLOUT);
  else
    driver_->on_io(EPOLLIN | EPOLLOUT);
}

void connection::refuse_proxy(std::string_view reason) {
  // Missing, malformed, oversized or late: close without a word (the
  // bytes came from something that is not our proxy) and count it. No
  // byte after a refused header is ever read as HTTP, so no desync.
  shared_->stats.proxy_rejected.fetch_add(1, std::memory_order_relaxed);
  if (shared_->opts.telemetry) {
    std::string text{"proxy_protocol:"};
    text += reason;
    telemetry_event e;
    e.kind = telemetry_kind::connection_rejected;
    e.peer = &info_.peer;
    e.reason = text;
    shared_->emit(e);
  }
  close();
}

void connection::on_handshake(uint32_t events) {
  if ((events & EPOLLERR) != 0) {
    close();
    return;
  }
  // Both edges are registered, so want_read / want_write just wait for the
  // next event; the handshake deadline bounds the whole exchange.
  switch (io_.tls()->handshake()) {
  case tls::status::ok:
    break;
  case tls::status::want_read:
  case tls::status::want_write:
    return;
  default:
    // A failed handshake (wrong ALPN, no shared cipher, plain HTTP on the
    // TLS port, EOF): close without a word. The session is fatal, so no
    // close_notify is attempted.
    handshake_event(telemetry_kind::tls_handshake_failed,
                    io_.tls()->error().empty() ? std::string_view{"eof"}
                                               : io_.tls()->error());
    close();
    return;
  }
  io_.disarm_deadline();
  handshake_event(telemetry_kind::tls_handshake_completed, {});
  start_protocol(io_.tls()->protocol());
  if (closed_)
    return;
  // OpenSSL may already hold application data that arrived with the
  // handshake's last flight: no new edge will announce it.
  driver_->on_io(EPOLLIN | EPOLLOUT);
}

void connection::start_protocol(protocol proto) {
  if (proto == protocol::http2) {
    // Request bodies are always buffered whole on HTTP/2.
    info_.manual_body = false;
    other_ = std::make_unique<h2_driver>(*this);
    driver_ = other_.get();
  } else {
    driver_ = &h1_.emplace(*this);
  }
  driver_->start();
}

void connection::upgrade(std::unique_ptr<protocol_driver> next) {
  // Called by the HTTP/1.1 driver (inline in h1_, stopped, never destroyed
  // before the connection): only other_ changes hands here.
  other_ = std::move(next);
  driver_ = other_.get();
  driver_->start();
}

void connection::on_drain(int64_t deadline_ms) {
  draining_ = true;
  if (driver_ == nullptr) {
    // Still in the PROXY header or the TLS handshake: no request yet,
    // nothing to finish.
    close();
    return;
  }
  if (!io_.lingering())
    driver_->on_drain(deadline_ms);
}

void connection::transport_done() {
  // The PROXY header, handshake or send deadline passed, a lingering close
  // is over.
  if (awaiting_proxy_) {
    refuse_proxy("proxy_timeout");
    return;
  }
  if (driver_ == nullptr && io_.tls() != nullptr)
    handshake_event(telemetry_kind::tls_handshake_failed, "handshake_timeout");
  close();
}

void connection::handshake_event(telemetry_kind kind, std::string_view reason) {
  if (!shared_->opts.telemetry)
    return;
  telemetry_event e;
  e.kind = kind;
  e.peer = &info_.peer;
  e.reason = reason;
  if (kind == telemetry_kind::tls_handshake_completed)
    e.protocol = io_.tls()->alpn();
  shared_->emit(e);
}

void connection::on_exit() {
  teardown();
}

// -- closing ------------------------------------------------------------------

void connection::close() {
  if (closed_)
    return;
  teardown();
  end_or_recycle();
}

void connection::end_or_recycle() {
  // An actor nobody else knows of goes back to its acceptor for the next
  // socket: no spawn, monitor, down message and cleanup per connection
  // (docs/architecture.md 3).
  if (owner_ != nullptr && !draining_ && !listed_ && !life_.exposed() &&
      owner_->recycle(*this))
    return;
  // End the actor now. From a reactor callback: finalize() sends the down
  // message at once. Inside a message handler: quit() alone, resume()
  // finalizes (finalize() here would run cleanup under resume's feet).
  quit();
  if (!in_message_)
    finalize();
}

void connection::linger() {
  stop_driver();
  io_.linger(); // hears transport_done when it is over
}

bool connection::release_slot() noexcept {
  if (!slot_held_)
    return false;
  slot_held_ = false;
  shared_->stats.release_slot();
  return true;
}

void connection::stop_driver() noexcept {
  if (driver_ != nullptr)
    driver_->stop(); // ends its open requests; the object lives on (callers)
}

void connection::teardown() noexcept {
  if (closed_)
    return;
  closed_ = true;
  if (shared_->opts.telemetry) {
    telemetry_event e;
    e.kind = telemetry_kind::connection_closed;
    e.peer = &info_.peer;
    e.count = life_.served();
    shared_->emit(e);
  }
  stop_driver();
  // The slot goes back before the socket closes: a client that sees the
  // close and connects again at once finds it free (the acceptor's down
  // message comes later and finds it released).
  release_slot();
  io_.close();
  if (self_ref_)
    home().release_later(std::move(self_ref_));
}

} // namespace roadrunner::detail
