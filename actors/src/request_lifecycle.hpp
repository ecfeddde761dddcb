#pragma once

#include "actor_exchange.hpp"
#include "listener_shared.hpp"
#include "reactor.hpp"
#include "stream_tunnel.hpp"
#include <roadrunner/request.hpp>
#include <roadrunner/responder.hpp>
#include <roadrunner/response.hpp>
#include <roadrunner/telemetry.hpp>

#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace roadrunner::detail {

/// One request from its dispatch to its end, as the lifecycle sees it. The
/// views are valid during the dispatch only; `open_request` keeps copies.
struct request_ticket {
  std::string_view method;
  std::string_view path;
  std::string_view request_id;
  std::chrono::steady_clock::time_point started;
  bool admitted = false; // holds an admission slot
  // For telemetry (filled only when the listener has a subscriber).
  std::string_view query;
  std::string_view protocol; // "HTTP/1.0", "HTTP/1.1", "HTTP/2"
  std::string_view host;     // Host, or :authority on HTTP/2
  std::string_view user_agent;
  std::string_view referer;
  uint64_t bytes_received = 0; // head and body as received (HTTP/2: body)
};

/// What went out for a request (telemetry `request_stop`): the response's
/// head and body as queued, before TLS (HTTP/2: body bytes only, the
/// HPACK-compressed head is not told apart), and the body alone.
struct bytes_out {
  uint64_t total = 0;
  uint64_t body = 0;
};

/// A request whose answer is deferred: what every protocol driver keeps of
/// it until it ends (the driver adds its own framing state beside it).
struct open_request {
  std::shared_ptr<actor_exchange> x;
  std::vector<response::field> extra; // fields middlewares added
  std::string method;
  std::string path;
  std::string request_id;
  std::chrono::steady_clock::time_point started;
  bool admitted = false;
  int status = 0; // the status sent (0: none yet)
  bytes_out sent; // streamed answers add up as they go
  // Telemetry copies (empty without a subscriber).
  std::string query;
  std::string host;
  std::string user_agent;
  std::string referer;
  std::string_view protocol;
  uint64_t bytes_received = 0;

  /// A ticket over this record's copies.
  request_ticket ticket() const noexcept;

  /// Takes over a dispatched request (copies the ticket's views).
  void adopt(const request_ticket& t, std::shared_ptr<actor_exchange> ex,
             const response& deferred);

  bool open() const noexcept { return x != nullptr; }
};

class driver_host;
class protocol_driver;

/// A protocol switch a handler accepted (HTTP/1.1 101 to WebSocket): the
/// HTTP/1.1 driver writes its head, then hands the connection to the
/// driver it makes; the HTTP/2 driver answers an extended CONNECT's 200 and
/// hands the stream to the tunnel it makes. The upgrading request stays open
/// (`request`: its admission slot, its `request_stop`) until that driver ends
/// it.
class upgrade_offer {
public:
  virtual ~upgrade_offer() = default;

  /// Appends the 101 head to `out`, with the fields `resp` (the handler's
  /// answer, after the middlewares) carries.
  virtual void write_head(std::string& out, const response& resp) = 0;

  /// The driver that takes the connection over; `leftover` holds the
  /// bytes read after the request.
  virtual std::unique_ptr<protocol_driver>
  make_driver(driver_host& host, std::string leftover) = 0;

  /// HTTP/2 (RFC 8441): the tunnel that carries the protocol on stream
  /// `stream_id` once the handler's 200 is queued (null: HTTP/1.1 only).
  virtual std::unique_ptr<stream_tunnel> make_tunnel(tunnel_host& host,
                                                     int32_t stream_id) {
    static_cast<void>(host);
    static_cast<void>(stream_id);
    return nullptr;
  }

  /// The upgrading request, adopted by the HTTP/1.1 driver.
  open_request request;
  /// Bytes of the 101 head (telemetry).
  uint64_t head_bytes = 0;
};

/// The request lifecycle shared by every protocol driver (HTTP/1.1,
/// HTTP/2, and any later one): the only place a request becomes a handler
/// call.
///
/// - `dispatch`: telemetry `request_start`, `requests_served`, admission
///   (`max_concurrent_requests`: 503 + retry-after over the cap), the
///   current route table (RCU reload), the handler under the guard (an
///   exception is a 500 and a `request_exception` event), and the deferral
///   rules (a deferred answer without a responder is a 500; a responder
///   made for an answer given at once is voided).
/// - `finish` / `end`: the admission slot back, telemetry `request_stop`,
///   the exchange voided (its `on_cancel` / `on_close` run guarded).
/// - `reject`: a request the protocol refused before any handler ran.
///
/// Every user callback the connection runs goes through the exchange's or
/// this class's guard: an exception never leaves the reactor.
/// Runs on: the connection's reactor thread.
class request_lifecycle final : public detail::deferral_source {
public:
  request_lifecycle(caf::event_based_actor* self, reactor& home,
                    listener_shared& shared,
                    detail::connection_info& info) noexcept;

  request_lifecycle(const request_lifecycle&) = delete;
  request_lifecycle& operator=(const request_lifecycle&) = delete;

  /// Runs one complete request (head and buffered body). `tag` names it to
  /// its exchange (HTTP/2: the stream id). Returns the response to send;
  /// when it is deferred, `x` holds the exchange that will say how it ends
  /// (and is null otherwise).
  response dispatch(request& req, uint32_t tag, request_ticket& t,
                    std::shared_ptr<actor_exchange>& x);

  /// The request is over from the connection's side with `status` (0: no
  /// answer went out): admission slot back, telemetry `request_stop`.
  void finish(const request_ticket& t, int status, bytes_out sent) noexcept;

  /// As `finish` for a deferred request, then voids its exchange (its
  /// handler hears on_cancel if it had not completed). Idempotent.
  void end(open_request& r, int status) noexcept;

  /// A request refused by the protocol before any handler ran (400, 408,
  /// 413, 414, 431, 501, 505...). `head_parsed`: its head was complete
  /// (a 413 decided from Content-Length, say), so it counts as served.
  void reject(int status, std::string_view reason, bool head_parsed) noexcept;

  /// True when a telemetry subscriber listens (drivers count bytes then).
  bool observed() const noexcept;

  /// Requests dispatched (or rejected after their head) on this connection.
  uint64_t served() const noexcept { return served_; }

  /// True once the connection actor was made known beyond its own reactor
  /// callbacks: a request was deferred (its exchange wakes the actor by
  /// message, from any thread, maybe late) or an upgrade was offered. Such
  /// an actor is never reused for another socket.
  bool exposed() const noexcept { return exposed_; }

  /// A reused connection's next socket: no request served yet (the routes
  /// table stays; its version is still checked per request).
  void reset() noexcept {
    served_ = 0;
    dispatching_ = false;
    current_x_.reset();
    upgrade_.reset();
  }

  /// Tells a deferred request about a drain (its on_drain runs guarded).
  static void notify_drain(open_request& r, int64_t deadline_ms) noexcept;

  /// Calls a `read_body` callback under the guard: false if it threw (the
  /// exchange then ended the request as if the handler had aborted).
  bool deliver(open_request& r, body_callback& cb, std::string_view piece,
               bool last) noexcept;

  /// Telemetry for a user callback that threw (handler, middleware,
  /// on_ready, on_drain, on_cancel, on_close, read_body).
  void report_exception(std::string_view what,
                        const request* req = nullptr) noexcept;

  // -- deferral_source ------------------------------------------------------

  responder defer() override;

  const listener_shared& shared() const noexcept { return *shared_; }

  // -- protocol upgrades ------------------------------------------------------

  /// The lifecycle running a handler on this thread right now (null outside
  /// `dispatch`): how a handler reaches `offer_upgrade`.
  static request_lifecycle* current() noexcept;

  /// During a dispatch: the handler accepts an upgrade; it happens if the
  /// final answer is 101 and the driver can switch (HTTP/1.1).
  void offer_upgrade(std::unique_ptr<upgrade_offer> offer) noexcept {
    exposed_ = true;
    upgrade_ = std::move(offer);
  }

  /// The upgrade offered during the last dispatch (null: none).
  std::unique_ptr<upgrade_offer> take_upgrade() noexcept {
    return std::move(upgrade_);
  }

  /// The connection actor.
  caf::event_based_actor* self() const noexcept { return self_; }

private:
  void fill(telemetry_event& e, const request_ticket& t) const noexcept;

  caf::event_based_actor* self_;
  reactor* home_;
  listener_shared* shared_;
  detail::connection_info* info_;
  std::shared_ptr<const compiled_routes> routes_; // see listener_shared
  uint64_t routes_version_ = 0;
  uint64_t served_ = 0;
  // Dispatch of one request (defer() is valid only during it).
  std::shared_ptr<actor_exchange> current_x_;
  uint32_t current_tag_ = 0;
  bool dispatching_ = false;
  bool exposed_ = false;                   // see exposed()
  std::unique_ptr<upgrade_offer> upgrade_; // offered during the dispatch
};

} // namespace roadrunner::detail
