#include "http1/serializer.hpp"
#include "request_lifecycle.hpp"
#include "ws/codec.hpp"
#include "ws/deflate.hpp"
#include "ws_driver.hpp"
#include <roadrunner/websocket.hpp>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace roadrunner {

// -- websocket_handle ---------------------------------------------------------

void websocket_handle::send_text(std::string data) const {
  send(ws_message{std::move(data), false});
}

void websocket_handle::send_binary(std::string data) const {
  send(ws_message{std::move(data), true});
}

void websocket_handle::send(ws_message msg) const {
  if (conn_)
    caf::anon_send(conn_, ws_send_atom::value, stream_, std::move(msg));
}

void websocket_handle::close(uint16_t code, std::string reason) const {
  if (conn_)
    caf::anon_send(conn_, ws_close_atom::value, stream_, code,
                   std::move(reason));
}

namespace {

using relay_atom = caf::atom_constant<caf::atom("ws_relay")>;

// A typed actor can neither join a group nor receive from one: a plain
// actor is subscribed for it and passes on what the room says. Linked to
// the session, so that it ends with it (and the other way round).
caf::behavior group_relay(caf::event_based_actor* self, caf::actor session) {
  self->link_to(session);
  self->set_default_handler(
    [session](caf::scheduled_actor*,
              caf::message_view& view) -> caf::result<caf::message> {
      session->enqueue(nullptr, caf::make_message_id(),
                       view.move_content_to_message(), nullptr);
      return caf::message{};
    });
  return {[](relay_atom) {}};
}

} // namespace

caf::actor ws_group_relay(caf::actor_system& sys, caf::group room,
                          caf::actor session) {
  // The session is an argument (CAF 0.17 dereferences a null argument
  // tuple for a function actor spawned without any). The subscription is
  // made here, not by the relay's join: the relay starts later, on a
  // scheduler thread, and what the session says first must already reach
  // the room's relay. Its end unsubscribes it.
  auto relay = sys.spawn(group_relay, std::move(session));
  room.subscribe(caf::actor_cast<caf::strong_actor_ptr>(relay));
  relay->attach_functor([room, who = caf::actor_cast<caf::actor_control_block*>(
                                 relay)] { room.unsubscribe(who); });
  return relay;
}

namespace {

using detail::ws_route;

// The 101 and the driver of one accepted handshake.
class ws_offer final : public detail::upgrade_offer {
public:
  ws_offer(std::shared_ptr<const ws_route> route, std::string accept,
           std::string protocol, std::optional<ws::deflate_params> deflate)
    : route_(std::move(route)), accept_(std::move(accept)),
      protocol_(std::move(protocol)), deflate_(deflate) {}

  void write_head(std::string& out, const response& resp) override {
    // RFC 6455 4.2.2 item 5.
    out.append("HTTP/1.1 101 Switching Protocols\r\n"
               "upgrade: websocket\r\nconnection: upgrade\r\n"
               "sec-websocket-accept: ");
    out.append(accept_);
    out.append("\r\n");
    if (!protocol_.empty()) {
      out.append("sec-websocket-protocol: ");
      out.append(protocol_);
      out.append("\r\n");
    }
    if (deflate_) {
      out.append("sec-websocket-extensions: ");
      out.append(ws::extension_header(*deflate_));
      out.append("\r\n");
    }
    // Fields the middlewares added (a cookie, say), unless they are ours
    // or could not be written safely.
    response check{200};
    for (auto& f : resp.fields())
      check.header(f.name, f.value);
    if (http1::is_writable(check)) {
      for (auto& f : resp.fields()) {
        auto& n = f.name;
        if (http1::iequals(n, "connection") || http1::iequals(n, "upgrade") ||
            http1::iequals(n, "content-length") ||
            http1::iequals(n, "transfer-encoding") ||
            http1::iequals(n, "sec-websocket-accept") ||
            http1::iequals(n, "sec-websocket-protocol") ||
            http1::iequals(n, "sec-websocket-extensions"))
          continue;
        out.append(n);
        out.append(": ");
        out.append(f.value);
        out.append("\r\n");
      }
    }
    out.append("\r\n");
  }

  std::unique_ptr<detail::protocol_driver>
  make_driver(detail::driver_host& host, std::string leftover) override {
    request.sent.total = head_bytes; // the 101 head counts as sent
    return std::make_unique<detail::ws_driver>(host, route_, request,
                                               std::move(protocol_), deflate_,
                                               std::move(leftover));
  }

  std::unique_ptr<detail::stream_tunnel>
  make_tunnel(detail::tunnel_host& host, int32_t stream_id) override {
    return std::make_unique<detail::ws_tunnel>(host, stream_id, route_, request,
                                               std::move(protocol_), deflate_);
  }

private:
  std::shared_ptr<const ws_route> route_;
  std::string accept_;
  std::string protocol_;
  std::optional<ws::deflate_params> deflate_;
};

response refuse(int status, std::string_view reason) {
  return response::text(status, std::string{reason} + "\n");
}

// Every value of every field named `name`, joined by ", " (RFC 9110 5.3).
std::string joined(const request& req, std::string_view name, size_t& count) {
  std::string out;
  count = 0;
  for (auto& f : req.headers()) {
    if (!http1::iequals(f.name, name))
      continue;
    if (count++ > 0)
      out.append(", ");
    out.append(f.value);
  }
  return out;
}

// The server's first subprotocol that the client offered.
std::string select_protocol(const std::vector<std::string>& ours,
                            std::string_view offered) {
  for (auto& p : ours)
    if (http1::has_token(offered, p))
      return p;
  return {};
}

// The version field: 13, or the refusal (RFC 6455 4.4).
std::optional<response> check_version(const request& req) {
  size_t n = 0;
  auto version = joined(req, "sec-websocket-version", n);
  if (n != 0 && version == "13")
    return std::nullopt;
  // RFC 6455 4.4: answer with the versions we speak.
  auto r = n == 0
             ? refuse(400, "Sec-WebSocket-Version missing (RFC 6455 4.2.1)")
             : refuse(426, "unsupported Sec-WebSocket-Version (RFC 6455 4.4)");
  r.header("sec-websocket-version", "13");
  return r;
}

response handshake(const std::shared_ptr<const ws_route>& route, request& req) {
  // RFC 6455 4.2.1: what the opening handshake must hold; over HTTP/2, RFC
  // 8441 5: an extended CONNECT (presented as GET) with :protocol
  // websocket, no key (nor accept), the other fields as on HTTP/1.1.
  bool h2 = req.version() == "HTTP/2";
  if (h2 ? req.connect_protocol() != "websocket" : req.version() != "HTTP/1.1")
    return refuse(400, h2 ? "WebSocket over HTTP/2 needs an extended CONNECT "
                            "with :protocol websocket (RFC 8441 4)"
                          : "WebSocket needs HTTP/1.1 (RFC 6455 4.1)");
  if (req.method() != "GET") {
    auto r = refuse(405, "WebSocket handshake must be GET (RFC 6455 4.1)");
    r.header("allow", "GET");
    return r;
  }
  size_t n = 0;
  std::string key;
  if (!h2) {
    auto upgrade = joined(req, "upgrade", n);
    auto connection = joined(req, "connection", n);
    if (!http1::has_token(upgrade, "websocket") ||
        !http1::has_token(connection, "upgrade")) {
      // RFC 9110 15.5.22: a 426 names the protocol to switch to.
      auto r = refuse(426, "WebSocket upgrade required (RFC 6455 4.2.1)");
      r.header("upgrade", "websocket");
      r.header("connection", "upgrade");
      return r;
    }
  }
  if (auto refused = check_version(req))
    return std::move(*refused);
  if (!h2) {
    key = joined(req, "sec-websocket-key", n);
    if (n != 1 || !ws::valid_key(key))
      return refuse(400, "bad or missing Sec-WebSocket-Key (RFC 6455 4.2.1)");
  }
  if (req.content_length().value_or(0) > 0 || req.body_pending() ||
      !req.body().empty())
    return refuse(400, "WebSocket handshake with a body");
  if (route->opts.check_origin && !route->opts.check_origin(req))
    return refuse(403, "origin not allowed (RFC 6455 10.2)");
  auto* life = detail::request_lifecycle::current();
  if (life == nullptr)
    return refuse(500, "no connection to upgrade");
  auto offered = joined(req, "sec-websocket-protocol", n);
  auto proto = select_protocol(route->opts.protocols, offered);
  std::optional<ws::deflate_params> deflate;
  if (route->opts.deflate) {
    ws::deflate_config cfg;
    cfg.max_window_bits = route->opts.deflate_window_bits;
    cfg.mem_level = route->opts.deflate_mem_level;
    cfg.server_no_context_takeover = route->opts.deflate_no_context_takeover;
    deflate =
      ws::negotiate_deflate(joined(req, "sec-websocket-extensions", n), cfg);
  }
  if (!h2) {
    life->offer_upgrade(std::make_unique<ws_offer>(route, ws::accept_key(key),
                                                   std::move(proto), deflate));
    return response{101};
  }
  // RFC 8441 5: a 200 opens the tunnel; the negotiated fields go with it.
  response ok{200};
  if (!proto.empty())
    ok.header("sec-websocket-protocol", proto);
  if (deflate)
    ok.header("sec-websocket-extensions", ws::extension_header(*deflate));
  life->offer_upgrade(std::make_unique<ws_offer>(route, std::string{},
                                                 std::move(proto), deflate));
  return ok;
}

} // namespace

handler websocket(caf::actor_system& sys, ws_session_factory spawn,
                  websocket_options opts) {
  if (opts.max_frame_size > opts.max_message_size)
    opts.max_frame_size = opts.max_message_size;
  opts.deflate_window_bits = std::clamp(opts.deflate_window_bits, 9, 15);
  opts.deflate_mem_level = std::clamp(opts.deflate_mem_level, 1, 9);
  auto route = std::make_shared<ws_route>();
  route->sys = &sys;
  route->spawn = std::move(spawn);
  route->opts = std::move(opts);
  std::shared_ptr<const ws_route> shared = std::move(route);
  return [shared](request& req) { return handshake(shared, req); };
}

} // namespace roadrunner
