#pragma once

// WebSocket sessions as actors (RFC 6455 over HTTP/1.1, and over HTTP/2
// with an extended CONNECT, RFC 8441).
//
//     auto echo = roadrunner::websocket(sys, [](caf::actor_system& sys,
//                                               roadrunner::websocket_handle
//                                               ws) {
//       return sys.spawn([ws](caf::event_based_actor*) -> caf::behavior {
//         return {[ws](roadrunner::ws_message& m) { ws.send(std::move(m)); }};
//       });
//     });
//     routes.push_back({.path = "/ws/echo", .handler = echo,
//                       .methods = {"GET"}});
//
// The route's handler checks the handshake (RFC 6455 4.2.1) after the
// middlewares ran, answers 101 and hands the connection to the WebSocket
// driver, which spawns one session actor through the factory. Over HTTP/2
// the handshake is an extended CONNECT (RFC 8441: `:protocol websocket`;
// routes see it as a GET, `request::connect_protocol()` "websocket"),
// answered 200; the stream's DATA then carries the frames, and the other
// streams of the connection go on. From then on:
// - the session actor receives every complete message as a `ws_message`
//   (fragments reassembled, at most `max_message_size` bytes; text is
//   valid UTF-8), `ws_full_atom` / `ws_ready_atom` when its send buffer
//   fills and drains, and `(ws_closed_atom, code, reason)` when the
//   session is over, followed by an exit message (`user_shutdown`);
// - while the actor has `inbox_buffer` bytes of messages still to handle,
//   the server takes no more input from the peer (backpressure);
// - any actor or thread sends through the `websocket_handle` (text,
//   binary, close); pings are answered by the server;
// - the actor's own end closes the session: 1000 after a normal exit,
//   1011 after a crash (any other exit reason).
// The upgrading request counts in `requests_served` and holds its
// admission slot (`max_concurrent_requests`) until the session ends.

#include <roadrunner/middleware.hpp>
#include <roadrunner/request.hpp>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/atom.hpp>
#include <caf/detail/type_list.hpp>
#include <caf/fwd.hpp>
#include <caf/group.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace roadrunner {

// -- messages -----------------------------------------------------------------

/// A complete WebSocket message (RFC 6455 6.2), in either direction.
struct ws_message {
  /// The payload: UTF-8 for text, any bytes for binary.
  std::string data;
  /// Binary (opcode 2) rather than text (opcode 1).
  bool binary = false;
};

/// Inspection (printing) of a `ws_message`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ws_message& x) {
  return f(caf::meta::type_name("ws_message"), x.data, x.binary);
}

/// A piece of a message too large for `max_message_size`, in streaming mode
/// (`websocket_options::max_streamed_size`): the pieces of one message
/// arrive in order, the first with `first`, the last with `last`; together
/// they are the message (text: valid UTF-8 as a whole; a piece may end
/// inside a character).
struct ws_fragment {
  /// The bytes of this piece.
  std::string data;
  /// Binary (opcode 2) rather than text (opcode 1).
  bool binary = false;
  /// The message's first piece.
  bool first = false;
  /// The message's last piece.
  bool last = false;
};

/// Inspection (printing) of a `ws_fragment`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ws_fragment& x) {
  return f(caf::meta::type_name("ws_fragment"), x.data, x.binary, x.first,
           x.last);
}

/// To the session actor: `(ws_closed, code, reason)`, the session is over
/// (close handshake done, the peer failed the protocol or vanished: 1006,
/// the server drained: 1001). An exit message follows.
using ws_closed_atom = caf::atom_constant<caf::atom("ws_closed")>;
/// To the session actor: the send buffer is full; messages sent until
/// `ws_ready_atom` arrives are dropped.
using ws_full_atom = caf::atom_constant<caf::atom("ws_full")>;
/// To the session actor: the send buffer drained below half; send again.
using ws_ready_atom = caf::atom_constant<caf::atom("ws_ready")>;
/// To the connection: `(ws_send, stream, ws_message)` (sent by
/// `websocket_handle`; `stream` names the HTTP/2 stream, 0 on HTTP/1.1).
using ws_send_atom = caf::atom_constant<caf::atom("ws_send")>;
/// To the connection: `(ws_close, stream, code, reason)`
/// (`websocket_handle`).
using ws_close_atom = caf::atom_constant<caf::atom("ws_close")>;
/// To the connection: `(ws_down, stream, code)`, the session actor ended.
using ws_down_atom = caf::atom_constant<caf::atom("ws_down")>;

// -- the handle ---------------------------------------------------------------

/// Sends on one WebSocket session. Copyable; usable from any actor or
/// thread (every call is one asynchronous message to the connection).
/// Calls after the session ended are dropped.
class websocket_handle {
public:
  /// An empty handle (false; every call is dropped).
  websocket_handle() = default;
  /// A handle on the session carried by connection actor `conn` (on its
  /// HTTP/2 stream `stream`, or 0 for the connection itself after an
  /// HTTP/1.1 upgrade), with the negotiated subprotocol `protocol` (made by
  /// the server).
  websocket_handle(caf::actor conn, std::string protocol, uint32_t stream = 0)
    : conn_(std::move(conn)), protocol_(std::move(protocol)), stream_(stream) {}

  /// Sends a text message (`data` must be UTF-8: the peer fails the
  /// session with 1007 otherwise).
  void send_text(std::string data) const;

  /// Sends a binary message.
  void send_binary(std::string data) const;

  /// Sends `msg` as it is.
  void send(ws_message msg) const;

  /// Starts the close handshake with `code` (1000, 1001, 1003, 1007-1014 or
  /// 3000-4999; anything else is sent as 1000) and `reason` (cut to 123
  /// bytes).
  void close(uint16_t code = 1000, std::string reason = {}) const;

  /// The connection actor carrying the session (monitor it to learn when
  /// the socket is gone).
  const caf::actor& connection() const noexcept { return conn_; }

  /// The subprotocol chosen in the handshake (empty: none).
  const std::string& protocol() const noexcept { return protocol_; }

  /// The HTTP/2 stream carrying the session (RFC 8441), 0 on HTTP/1.1.
  uint32_t stream() const noexcept { return stream_; }

  /// Whether the handle names a session (it may have ended since).
  explicit operator bool() const noexcept { return static_cast<bool>(conn_); }

private:
  caf::actor conn_;
  std::string protocol_;
  uint32_t stream_ = 0;
};

/// Inspection (printing) of a `websocket_handle`: its protocol only.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, websocket_handle& x) {
  auto proto = x.protocol();
  return f(caf::meta::type_name("websocket_handle"), proto);
}

// -- the typed interface ------------------------------------------------------

/// What every session actor receives, as a CAF typed interface: a session
/// spawned as a `ws_session_actor` (see `typed_websocket`) is checked at
/// compile time to handle each of these. (A plain `caf::actor` session is
/// what `websocket` takes: CAF 0.17's typed actors cannot join groups, so a
/// chat room member is either dynamically typed or a typed session with a
/// `ws_group_relay`.)
using ws_session_actor =
  caf::typed_actor<caf::reacts_to<ws_message>, caf::reacts_to<ws_full_atom>,
                   caf::reacts_to<ws_ready_atom>,
                   caf::reacts_to<ws_closed_atom, uint16_t, std::string>>;

/// A session that also takes the pieces of messages over
/// `max_message_size` (streaming mode, `max_streamed_size`).
using ws_streaming_session_actor =
  ws_session_actor::extend<caf::reacts_to<ws_fragment>>;

// -- routes -------------------------------------------------------------------

/// Spawns the session actor of a new session (called on the connection's
/// reactor thread: spawn, do not block). An invalid actor or an exception
/// closes the session with 1011.
using ws_session_factory =
  std::function<caf::actor(caf::actor_system&, websocket_handle)>;

/// Options of a WebSocket route.
struct websocket_options {
  /// Subprotocols the server speaks, in its order of preference; the first
  /// one the client offers (`Sec-WebSocket-Protocol`) is chosen. None
  /// offered or none in common: the session has no subprotocol.
  std::vector<std::string> protocols{};
  /// Checks the handshake's `Origin` (RFC 6455 10.2); false answers 403.
  /// Empty: every origin is accepted.
  std::function<bool(const request&)> check_origin{};
  /// Largest message, after reassembly, in bytes -> close 1009.
  uint64_t max_message_size = 1024 * 1024;
  /// Largest single frame payload in bytes -> close 1009 (the read buffer
  /// never holds more than one frame and its header).
  uint64_t max_frame_size = 1024 * 1024;
  /// Bytes queued for the peer before the session actor hears
  /// `ws_full_atom` and further messages are dropped.
  uint64_t send_buffer = 1024 * 1024;
  /// Bytes of messages handed to the session actor and not handled yet
  /// (in its mailbox) before the server stops taking the peer's input: on
  /// HTTP/1.1 it stops reading the socket, over HTTP/2 the stream earns
  /// the peer no flow-control credit. Input goes on once the actor handled
  /// half of it. 0: no limit.
  uint64_t inbox_buffer = 1024 * 1024;
  /// How long the server waits for the peer's close frame after sending
  /// its own, in ms; then the socket closes.
  std::chrono::milliseconds close_timeout{5000};
  /// permessage-deflate (RFC 7692) when the client offers it. Each zlib
  /// stream is allocated on first use: a compressor costs about
  /// 2^(deflate_window_bits+2) + 2^(deflate_mem_level+9) bytes, a
  /// decompressor about 39 KiB (docs/websocket.md).
  bool deflate = true;
  /// The largest window the server compresses with (9..15).
  int deflate_window_bits = 15;
  /// zlib's memLevel for the compressor (1..9).
  int deflate_mem_level = 8;
  /// Reset the compressor after every message: less ratio, and no
  /// compression window kept between messages.
  bool deflate_no_context_takeover = false;
  /// Messages shorter than this are sent uncompressed.
  size_t deflate_min_size = 64;
  /// The server pings the peer this often (0: never); the pong is not
  /// awaited, `idle_timeout` judges silence.
  std::chrono::milliseconds ping_interval{0};
  /// A session that receives no frame for this long is closed with 1001
  /// (0: never). Pongs count, so with `ping_interval` below it only a
  /// peer that no longer answers is closed.
  std::chrono::milliseconds idle_timeout{0};
  /// Streaming mode (0: off). Above 0, a message that outgrows
  /// `max_message_size` is not refused but delivered as `ws_fragment`
  /// pieces as its bytes arrive (a frame of any size up to this limit is
  /// never buffered whole), up to this many bytes -> close 1009. Compressed
  /// messages (permessage-deflate) are not streamed: they stay bounded by
  /// `max_message_size`.
  uint64_t max_streamed_size = 0;
};

/// A route handler that upgrades to a WebSocket session (see the file
/// comment). Refusals: 426 with `upgrade: websocket` for a request without
/// `Upgrade: websocket` / `Connection: upgrade`; 426 with
/// `sec-websocket-version: 13` for another version; 400 for a bad or
/// missing key, version or method, a body, HTTP/1.0, or an HTTP/2 request
/// that is not an extended CONNECT for `websocket` (RFC 8441); 403 when
/// `check_origin` refuses. Middlewares run before it, as for any handler.
handler websocket(caf::actor_system& sys, ws_session_factory spawn,
                  websocket_options opts = {});

/// `websocket` with a typed session: `spawn(sys, handle)` returns a
/// `ws_session_actor` or a handle to a wider interface (a
/// `ws_streaming_session_actor`, a session that takes more messages); a
/// session that does not handle every message of `ws_session_actor` does
/// not compile. Streaming mode (`max_streamed_size`) needs a
/// `ws_streaming_session_actor`: for any other handle it is turned off.
template <class Factory>
handler typed_websocket(caf::actor_system& sys, Factory spawn,
                        websocket_options opts = {}) {
  using handle_type = decltype(spawn(std::declval<caf::actor_system&>(),
                                     std::declval<websocket_handle>()));
  static_assert(
    caf::detail::tl_subset_of<ws_session_actor::signatures,
                              typename handle_type::signatures>::value,
    "the session must handle every message of ws_session_actor");
  if constexpr (!caf::detail::tl_subset_of<
                  ws_streaming_session_actor::signatures,
                  typename handle_type::signatures>::value)
    opts.max_streamed_size = 0;
  return websocket(
    sys,
    [spawn = std::move(spawn)](caf::actor_system& s, websocket_handle ws) {
      return caf::actor_cast<caf::actor>(spawn(s, std::move(ws)));
    },
    std::move(opts));
}

/// Group membership for a typed session (CAF 0.17's typed actors cannot
/// join a group, nor `send` to one: they `anon_send`): spawns a relay,
/// subscribes it to `room` before returning, and the relay forwards every
/// message it hears there to `session`. The relay is linked to the
/// session: it ends, and leaves the room, when the session ends. Returns
/// the relay.
caf::actor ws_group_relay(caf::actor_system& sys, caf::group room,
                          caf::actor session);

/// `ws_group_relay` for a typed session handle.
template <class... Sigs>
caf::actor ws_group_relay(caf::actor_system& sys, caf::group room,
                          const caf::typed_actor<Sigs...>& session) {
  return ws_group_relay(sys, std::move(room),
                        caf::actor_cast<caf::actor>(session));
}

} // namespace roadrunner
