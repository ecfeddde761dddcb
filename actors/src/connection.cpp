#include "connection.hpp"

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
                       listener_shared_ptr shared, peer_address peer)
  : hosted_actor(cfg, home),
    driver_host(home, shared.get(), &info_, &io_, &life_),
    shared_(std::move(shared)),
    io_(*home, fd, *this, shared_->opts.request_timeout.count()),
    life_(this, *home, *shared_, info_) {
  info_.peer = std::move(peer);
  info_.listener_name = shared_->name;
  info_.stats = &shared_->stats;
  info_.deferral = &life_;
  info_.manual_body = shared_->opts.body_buffering == body_buffering::manual;
}

connection::~connection() = default;

caf::behavior connection::make_behavior() {
  self_ref_ = ctrl();
  if (!io_.attach(this)) {
    teardown();
    return {}; // no behavior: the actor ends, the acceptor frees the slot
  }
  if (shared_->opts.proxy_protocol) {
    // The PROXY header comes first, before the TLS handshake (upstream
    // F12) and the first request, within its own deadline.
    awaiting_proxy_ = true;
    io_.set_deadline(shared_->opts.proxy_protocol_timeout.count());
  } else {
    start_transport();
  }
  // Every message handler runs with in_message_ set, so that a close
  // inside it ends the actor with quit() alone (resume() finalizes).
  auto in_message = [this](auto&& fn) {
    in_message_ = true;
    fn();
    in_message_ = false;
  };
  // Anything else belongs to the driver's own protocol (WebSocket sends
  // from any thread); without a driver for it, it is dropped.
  set_default_handler(
    [this, in_message](caf::scheduled_actor*,
                       caf::message_view& view) -> caf::result<caf::message> {
      auto msg = view.move_content_to_message();
      in_message([&] {
        if (driver_ != nullptr && !closed_)
          driver_->on_message(msg);
      });
      return caf::message{};
    });
  return {
    [this, in_message](drain_atom, int64_t deadline_ms) {
      in_message([&] { on_drain(deadline_ms); });
    },
    [this, in_message](exchange_wake_atom, uint32_t tag) {
      in_message([&] {
        if (driver_ != nullptr && !closed_)
          driver_->on_wake(tag);
      });
    },
  };
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
