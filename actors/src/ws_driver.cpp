#include "ws_driver.hpp"

#include "listener_shared.hpp"
#include "transport.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/message.hpp>
#include <caf/send.hpp>

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace roadrunner::detail {

namespace {

// Buffers above this are freed once empty: an idle session keeps none.
constexpr size_t keep_buffer = 4096;

// The close code a session actor's end stands for (RFC 6455 7.4.1): a
// normal exit 1000, anything else (an exception, a kill) 1011.
uint16_t close_code_of(const caf::error& reason) {
  if (!reason || reason == caf::exit_reason::normal ||
      reason == caf::exit_reason::user_shutdown)
    return ws::close_code::normal;
  return ws::close_code::internal_error;
}

} // namespace

ws_driver::ws_driver(driver_host& host, std::shared_ptr<const ws_route> route,
                     open_request req, std::string protocol,
                     std::optional<ws::deflate_params> deflate,
                     std::string leftover)
  : host_(&host), route_(std::move(route)), req_(std::move(req)),
    protocol_(std::move(protocol)), in_(std::move(leftover)) {
  if (deflate)
    deflate_ = std::make_unique<ws::deflate_session>(
      *deflate, route_->opts.deflate_mem_level);
}

ws_driver::~ws_driver() = default;

void ws_driver::start() {
  // The connection's handle goes to the session (its websocket_handle and
  // the functor below) only: a copy kept here would be a cycle that keeps
  // the connection alive for ever.
  auto self = caf::actor_cast<caf::actor>(life().self());
  host_->shared().stats.websocket_sessions.fetch_add(1,
                                                     std::memory_order_relaxed);
  emit(telemetry_kind::websocket_open);
  try {
    session_ = route_->spawn(*route_->sys, websocket_handle{self, protocol_});
  } catch (const std::exception& ex) {
    life().report_exception(ex.what());
  } catch (...) {
    life().report_exception("unknown exception in the session factory");
  }
  if (!session_) {
    start_close(ws::close_code::internal_error, "no session actor");
    flush();
    return;
  }
  // The session actor's end closes the session (1000 or 1011). The
  // functor runs on whatever thread the actor ends on: it only sends.
  session_->attach_functor([conn = std::move(self)](const caf::error& reason) {
    caf::anon_send(conn, ws_down_atom::value, close_code_of(reason));
  });
  if (auto ms = route_->opts.ping_interval.count(); ms > 0)
    home().arm(ping_.node, ms);
  if (auto ms = route_->opts.idle_timeout.count(); ms > 0)
    home().arm(idle_.node, ms);
  // Frames that came with the upgrading request, then what the socket
  // holds (no new edge announces bytes that arrived before the switch).
  if (!in_.empty()) {
    auto used = consume(in_.data(), in_.size());
    if (done_)
      return;
    in_.erase(0, used);
  }
  flush();
  if (!done_)
    read_input();
}

// -- events -------------------------------------------------------------------

void ws_driver::on_io(uint32_t events) {
  if (done_)
    return;
  if ((events & EPOLLERR) != 0) {
    host_->close(); // 1006 for the session
    return;
  }
  if ((events & (EPOLLRDHUP | EPOLLHUP)) != 0)
    io().rdhup = true;
  bool resume = false;
  if ((events & EPOLLOUT) != 0 && io().write_blocked()) {
    flush();
    if (done_ || io().write_blocked())
      return;
    resume = std::exchange(io().read_paused, false);
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0 || resume)
    read_input();
}

void ws_driver::on_wake(uint32_t) {
  // No exchange is open on a WebSocket connection.
}

void ws_driver::on_drain(int64_t deadline_ms) {
  if (done_)
    return;
  // RFC 6455 7.4.1: 1001, the server is going away; the peer has until the
  // drain deadline (or the close timeout) to answer.
  start_close(ws::close_code::going_away, "server shutting down");
  if (deadline_ms >= 0) {
    auto left = std::max<int64_t>(0, deadline_ms - home().now_ms());
    home().arm(timer_.node,
               std::min<int64_t>(left, route_->opts.close_timeout.count()));
  }
  flush();
}

void ws_driver::on_message(caf::message& msg) {
  if (done_)
    return;
  if (msg.match_elements<ws_send_atom, ws_message>()) {
    send(msg.get_mutable_as<ws_message>(1));
  } else if (msg.match_elements<ws_close_atom, uint16_t, std::string>()) {
    auto code = msg.get_as<uint16_t>(1);
    if (!ws::valid_close_code(code) || code == 1002)
      code = ws::close_code::normal;
    start_close(code, msg.get_as<std::string>(2));
  } else if (msg.match_elements<ws_down_atom, uint16_t>()) {
    // The session actor ended: nobody to deliver to any more.
    session_ = nullptr;
    auto code = msg.get_as<uint16_t>(1);
    start_close(code, code == ws::close_code::normal ? "" : "session ended");
  } else {
    return;
  }
  flush();
}

void ws_driver::on_timer() {
  // The peer did not answer our close frame in time (or the drain
  // deadline passed): close the socket.
  host_->close();
}

void ws_driver::on_ping() {
  // RFC 6455 5.5.2: a keep-alive ping (no payload); not after our close.
  if (done_ || close_sent_)
    return;
  ws::write_frame_header(io().out().buffer(), ws::opcode::ping, 0);
  home().arm(ping_.node, route_->opts.ping_interval.count());
  flush();
}

void ws_driver::on_idle() {
  // Nothing received for idle_timeout: going away (the close handshake
  // then has close_timeout).
  start_close(ws::close_code::going_away, "idle timeout");
  flush();
}

void ws_driver::stop() noexcept {
  if (done_)
    return;
  done_ = true;
  home().disarm(timer_.node);
  home().disarm(ping_.node);
  home().disarm(idle_.node);
  host_->shared().stats.websocket_sessions.fetch_sub(1,
                                                     std::memory_order_relaxed);
  emit(telemetry_kind::websocket_close);
  // The upgrading request ends with the session: admission slot back,
  // request_stop (101, bytes of the head and the messages sent).
  bytes_out sent{req_.sent.total + sent_, sent_};
  life().finish(req_.ticket(), 101, sent);
  if (session_) {
    auto session = std::move(session_);
    session_ = nullptr;
    try {
      caf::anon_send(session, ws_closed_atom::value, code_, reason_);
      caf::anon_send_exit(session, caf::exit_reason::user_shutdown);
    } catch (...) {
      // Out of memory while telling the actor: it ends with the system.
    }
  }
}

// -- input --------------------------------------------------------------------

void ws_driver::read_input() {
  while (!done_ && !peer_closed_ && !failed_) {
    if (io().write_blocked()) {
      // The peer does not read what we send (pongs, echoes): leave its
      // input in the socket until it does (bounded memory).
      io().read_paused = true;
      return;
    }
    auto [buf, cap] = home().scratch();
    auto n = io().read(buf, cap);
    if (n > 0) {
      auto got = static_cast<size_t>(n);
      if (in_.empty()) {
        auto used = consume(buf, got);
        if (done_)
          return;
        if (used < got && !peer_closed_ && !failed_)
          in_.assign(buf + used, got - used);
      } else {
        in_.append(buf, got);
        auto used = consume(in_.data(), in_.size());
        if (done_)
          return;
        in_.erase(0, used);
      }
      if (in_.empty() && in_.capacity() > keep_buffer)
        std::string{}.swap(in_);
      flush();
      if (got < cap && io().short_read_drains())
        return;
      continue;
    }
    if (n == 0) {
      // The peer went away without a close frame: 1006 for the session.
      host_->close();
      return;
    }
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      host_->close();
    return;
  }
}

size_t ws_driver::consume(char* data, size_t size) {
  size_t pos = 0;
  while (!done_ && !peer_closed_ && !failed_) {
    ws::frame_header fh;
    ws::frame_error err;
    auto res = ws::parse_frame_header({data + pos, size - pos},
                                      route_->opts.max_frame_size, fh, err,
                                      deflate_ != nullptr);
    if (res == ws::parse_result::need_more)
      break;
    if (res == ws::parse_result::fail) {
      fail(err.code, err.reason);
      return size;
    }
    if (size - pos - fh.header_size < fh.payload_size)
      break; // the payload is still arriving (at most max_frame_size)
    if (auto ms = route_->opts.idle_timeout.count(); ms > 0)
      home().arm(idle_.node, ms); // a frame: the peer is alive
    auto* payload = data + pos + fh.header_size;
    ws::unmask(payload, fh.payload_size, fh.mask);
    pos += fh.header_size + fh.payload_size;
    on_frame(fh, payload);
  }
  return pos;
}

void ws_driver::on_frame(const ws::frame_header& fh, char* payload) {
  auto size = static_cast<size_t>(fh.payload_size);
  switch (fh.op) {
  case ws::opcode::text:
  case ws::opcode::binary:
  case ws::opcode::continuation:
    on_data(fh, payload);
    return;
  case ws::opcode::ping:
    // RFC 6455 5.5.2: answer with a pong carrying the same payload (not
    // after our close frame: nothing may follow it).
    if (!close_sent_) {
      auto& out = io().out().buffer();
      ws::write_frame_header(out, ws::opcode::pong, size);
      out.append(payload, size);
    }
    return;
  case ws::opcode::pong:
    return; // unsolicited pongs are allowed (RFC 6455 5.5.3)
  case ws::opcode::close:
    on_close_frame(payload, size);
    return;
  }
}

void ws_driver::on_data(const ws::frame_header& fh, char* payload) {
  auto size = static_cast<size_t>(fh.payload_size);
  auto max = route_->opts.max_message_size;
  if (fh.op == ws::opcode::continuation) {
    if (!fragmented_) {
      fail(ws::close_code::protocol_error,
           "continuation frame outside a message (RFC 6455 5.4)");
      return;
    }
  } else {
    if (fragmented_) {
      fail(ws::close_code::protocol_error,
           "new data frame inside a fragmented message (RFC 6455 5.4)");
      return;
    }
    msg_op_ = fh.op;
    compressed_ = fh.rsv1;
    utf8_.reset();
  }
  if (compressed_) {
    on_compressed(fh, payload);
    return;
  }
  if (msg_.size() + size > max) {
    fail(ws::close_code::too_big, "message over max_message_size");
    return;
  }
  bool text = msg_op_ == ws::opcode::text;
  // RFC 6455 8.1: text is UTF-8; fail as soon as it cannot be, even in
  // the middle of a fragmented message.
  if (text && !utf8_.feed({payload, size})) {
    fail(ws::close_code::invalid_data, "invalid UTF-8 in a text message");
    return;
  }
  if (!fh.fin) {
    fragmented_ = true;
    msg_.append(payload, size);
    return;
  }
  if (text && !utf8_.complete()) {
    fail(ws::close_code::invalid_data,
         "text message ends inside a UTF-8 sequence");
    return;
  }
  if (!fragmented_) {
    deliver(std::string{payload, size}, !text);
    return;
  }
  msg_.append(payload, size);
  fragmented_ = false;
  auto data = std::move(msg_);
  msg_ = std::string{};
  deliver(std::move(data), !text);
}

void ws_driver::on_compressed(const ws::frame_header& fh, char* payload) {
  // RFC 7692 6.2: the frames' payloads together are one deflate stream;
  // inflate at the end, the output bounded by max_message_size (a
  // decompression bomb stops there), then check the text.
  auto size = static_cast<size_t>(fh.payload_size);
  auto max = route_->opts.max_message_size;
  if (msg_.size() + size > max) {
    fail(ws::close_code::too_big, "message over max_message_size");
    return;
  }
  msg_.append(payload, size);
  if (!fh.fin) {
    fragmented_ = true;
    return;
  }
  fragmented_ = false;
  compressed_ = false;
  std::string data;
  auto res = deflate_->decompress(msg_, data, max);
  msg_.clear();
  if (msg_.capacity() > keep_buffer)
    std::string{}.swap(msg_);
  if (res == ws::inflate_result::too_big) {
    fail(ws::close_code::too_big, "message over max_message_size");
    return;
  }
  if (res == ws::inflate_result::bad_data) {
    fail(ws::close_code::invalid_data, "bad deflate data (RFC 7692 7.2.2)");
    return;
  }
  bool text = msg_op_ == ws::opcode::text;
  if (text && !ws::valid_utf8(data)) {
    fail(ws::close_code::invalid_data, "invalid UTF-8 in a text message");
    return;
  }
  deliver(std::move(data), !text);
}

void ws_driver::on_close_frame(const char* payload, size_t size) {
  // RFC 6455 5.5.1: empty, or a two-byte code and a UTF-8 reason.
  uint16_t code = ws::close_code::no_status;
  std::string_view reason;
  if (size == 1) {
    fail(ws::close_code::protocol_error,
         "close frame with a one-byte payload (RFC 6455 5.5.1)");
    return;
  }
  if (size >= 2) {
    code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                                 static_cast<uint8_t>(payload[1]));
    if (!ws::valid_close_code(code)) {
      fail(ws::close_code::protocol_error, "invalid close code (RFC 6455 7.4)");
      return;
    }
    reason = {payload + 2, size - 2};
    if (!ws::valid_utf8(reason)) {
      fail(ws::close_code::invalid_data, "close reason is not UTF-8");
      return;
    }
  }
  peer_closed_ = true;
  if (!close_sent_) {
    // Answer with the same code (RFC 6455 5.5.1), then close: the server
    // closes the TCP connection first (RFC 6455 7.1.1).
    code_ = code;
    reason_ = std::string{reason};
    auto& out = io().out().buffer();
    if (code == ws::close_code::no_status)
      ws::write_frame_header(out, ws::opcode::close, 0);
    else
      ws::write_close_frame(out, code, {});
    close_sent_ = true;
  }
  // else: the handshake we started is complete; code_ is ours.
}

void ws_driver::deliver(std::string data, bool binary) {
  ++received_;
  if (!session_)
    return;
  caf::anon_send(session_, ws_message{std::move(data), binary});
}

// -- output -------------------------------------------------------------------

void ws_driver::send(ws_message& msg) {
  if (close_sent_)
    return; // RFC 6455 5.5.1: no data after a close frame
  auto& out = io().out();
  if (full_) {
    ++dropped_;
    return;
  }
  auto size = msg.data.size();
  auto op = msg.binary ? ws::opcode::binary : ws::opcode::text;
  if (deflate_ && size >= route_->opts.deflate_min_size) {
    std::string packed;
    if (deflate_->compress(msg.data, packed)) {
      ws::write_frame_header(out.buffer(), op, packed.size(), true);
      out.append_body(std::move(packed));
      sent_ += size;
      check_full();
      return;
    }
  }
  ws::write_frame_header(out.buffer(), op, size);
  out.append_body(std::move(msg.data));
  sent_ += size;
  check_full();
}

void ws_driver::check_full() {
  if (io().out().pending() >= route_->opts.send_buffer) {
    full_ = true;
    notify(ws_full_atom::value);
  }
}

void ws_driver::start_close(uint16_t code, std::string_view reason) {
  if (close_sent_ || done_)
    return;
  close_sent_ = true;
  code_ = code;
  reason_ = std::string{reason};
  ws::write_close_frame(io().out().buffer(), code, reason);
  home().arm(timer_.node, route_->opts.close_timeout.count());
}

void ws_driver::fail(uint16_t code, std::string_view reason) {
  // RFC 6455 7.1.7: fail the WebSocket connection: a close frame with the
  // reason, no more input processed, then the socket closes.
  failed_ = true;
  if (!close_sent_) {
    close_sent_ = true;
    code_ = code;
    reason_ = std::string{reason};
    ws::write_close_frame(io().out().buffer(), code, reason);
  }
  in_.clear();
  msg_.clear();
  fragmented_ = false;
}

void ws_driver::flush() {
  if (done_)
    return;
  auto res = io().flush();
  if (res == transport::flush_result::failed) {
    host_->close();
    return;
  }
  check_buffer();
  if (done_ || res == transport::flush_result::blocked)
    return; // the transport's send deadline runs while the peer does not read
  io().out().release_spare(); // an idle session keeps no output buffer
  if (peer_closed_) {
    host_->close(); // both close frames went: the server closes first
  } else if (failed_) {
    // The peer may still be sending: a lingering close keeps our close
    // frame from being destroyed by a reset.
    host_->linger();
  }
}

void ws_driver::check_buffer() {
  if (full_ && io().out().pending() < route_->opts.send_buffer / 2) {
    full_ = false;
    notify(ws_ready_atom::value);
  }
}

void ws_driver::emit(telemetry_kind kind) noexcept {
  auto& sh = host_->shared();
  if (!sh.opts.telemetry)
    return;
  telemetry_event e;
  e.kind = kind;
  e.request_id = req_.request_id;
  e.method = req_.method;
  e.path = req_.path;
  e.peer = &host_->info().peer;
  e.protocol = protocol_;
  if (kind == telemetry_kind::websocket_close) {
    e.error_code = code_;
    e.reason = reason_;
    e.count = received_;
  }
  sh.emit(e);
}

template <class Atom>
void ws_driver::notify(Atom what) {
  if (session_)
    caf::anon_send(session_, what);
}

} // namespace roadrunner::detail
