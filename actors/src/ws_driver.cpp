#include "ws_driver.hpp"

#include "free_string.hpp"
#include "http2/session.hpp"
#include "listener_shared.hpp"
#include "transport.hpp"

#include <caf/actor_cast.hpp>
#include <caf/detail/tuple_vals.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/send.hpp>
#include <caf/type_erased_tuple.hpp>

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace roadrunner::detail {

namespace {

// The close code a session actor's end stands for (RFC 6455 7.4.1): a
// normal exit 1000, anything else (an exception, a kill) 1011.
uint16_t close_code_of(const caf::error& reason) {
  if (!reason || reason == caf::exit_reason::normal ||
      reason == caf::exit_reason::user_shutdown)
    return ws::close_code::normal;
  return ws::close_code::internal_error;
}

// A message for the session actor whose end (handled, or dropped with a
// closed mailbox) takes its bytes off the session's inbox.
template <class T>
class counted_element final
  : public caf::mailbox_element,
    public caf::detail::tuple_vals_impl<caf::type_erased_tuple, T> {
public:
  using tuple = caf::detail::tuple_vals_impl<caf::type_erased_tuple, T>;

  counted_element(std::shared_ptr<ws_inbox> inbox, uint64_t n, T&& x)
    : caf::mailbox_element(nullptr, caf::make_message_id(), {}),
      tuple(std::move(x)), inbox_(std::move(inbox)), n_(n) {}

  ~counted_element() override { inbox_->handled(n_); }

  caf::type_erased_tuple& content() override { return *this; }

  const caf::type_erased_tuple& content() const override { return *this; }

  caf::message move_content_to_message() override {
    return caf::make_message(std::move(std::get<0>(this->data())));
  }

  caf::message copy_content_to_message() const override {
    return caf::make_message(std::get<0>(this->data()));
  }

private:
  std::shared_ptr<ws_inbox> inbox_;
  uint64_t n_;
};

// Sends `msg` (`n` bytes of payload) to `session` through `inbox`.
template <class T>
void send_counted(const std::shared_ptr<ws_inbox>& inbox,
                  const caf::actor& session, T msg, uint64_t n) {
  inbox->add(n); // counted before it can be handled (and subtracted)
  caf::mailbox_element_ptr e{new counted_element<T>(inbox, n, std::move(msg))};
  session->enqueue(std::move(e), nullptr);
}

} // namespace

// -- ws_inbox -----------------------------------------------------------------

bool ws_inbox::full() noexcept {
  if (limit_ == 0 || bytes_.load() < limit_)
    return false;
  // Ask for the wake-up, then look again: a drain that came before the
  // flag was seen is caught here, one after it sends the wake-up.
  waiting_.store(true);
  if (bytes_.load() >= limit_)
    return true;
  waiting_.exchange(false); // (or handled() took it: a spare wake-up)
  return false;
}

void ws_inbox::handled(uint64_t n) noexcept {
  auto left = bytes_.fetch_sub(n) - n;
  if (left > limit_ / 2 || !waiting_.exchange(false))
    return;
  try {
    if (auto conn = caf::actor_cast<caf::actor>(conn_))
      caf::anon_send(conn, ws_inbox_atom::value, tag_);
  } catch (...) {
    // Out of memory: the connection ends with the system.
  }
}

// -- kept_request -------------------------------------------------------------

kept_request::kept_request(const open_request& req)
  : admitted_(req.admitted), started_(req.started), protocol_(req.protocol),
    bytes_received_(req.bytes_received), head_bytes_(req.sent.total) {
  const std::string* parts[texts] = {&req.method, &req.path, &req.request_id,
                                     &req.query,  &req.host, &req.user_agent,
                                     &req.referer};
  size_t total = 0;
  for (auto* p : parts)
    total += p->size();
  // The texts came through the request head's limits; a head over 4 GiB
  // cannot have been parsed.
  if (total > 0)
    text_ = std::make_unique_for_overwrite<char[]>(total);
  size_t at = 0;
  for (size_t i = 0; i < texts; ++i) {
    if (!parts[i]->empty())
      std::memcpy(text_.get() + at, parts[i]->data(), parts[i]->size());
    at += parts[i]->size();
    end_[i] = static_cast<uint32_t>(at);
  }
}

std::string_view kept_request::text(size_t i) const noexcept {
  auto begin = i == 0 ? 0 : end_[i - 1];
  return {text_.get() + begin, end_[i] - begin};
}

request_ticket kept_request::ticket() const noexcept {
  request_ticket t;
  t.method = text(0);
  t.path = text(1);
  t.request_id = text(2);
  t.started = started_;
  t.admitted = admitted_;
  t.query = text(3);
  t.host = text(4);
  t.user_agent = text(5);
  t.referer = text(6);
  t.protocol = protocol_;
  t.bytes_received = bytes_received_;
  return t;
}

// -- ws_session ---------------------------------------------------------------

ws_session::ws_session(driver_host& host, ws_carrier& carrier,
                       std::shared_ptr<const ws_route> route,
                       const open_request& req, std::string protocol,
                       std::optional<ws::deflate_params> deflate, uint32_t tag,
                       int status)
  : host_(&host), out_(&carrier), route_(std::move(route)), req_(req),
    protocol_(std::move(protocol)), tag_(tag),
    status_(static_cast<int16_t>(status)) {
  if (deflate)
    deflate_ = std::make_unique<ws::deflate_session>(
      *deflate, route_->opts.deflate_mem_level);
}

ws_session::~ws_session() = default;

void ws_session::start() {
  // The connection's handle goes to the session (its websocket_handle and
  // the functor below) only: a copy kept here would be a cycle that keeps
  // the connection alive for ever.
  auto self = caf::actor_cast<caf::actor>(life().self());
  host_->shared().stats.websocket_sessions.fetch_add(1,
                                                     std::memory_order_relaxed);
  emit(telemetry_kind::websocket_open);
  try {
    session_ =
      route_->spawn(*route_->sys, websocket_handle{self, protocol_, tag_});
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
  session_->attach_functor(
    [conn = std::move(self), tag = tag_](const caf::error& reason) {
      caf::anon_send(conn, ws_down_atom::value, tag, close_code_of(reason));
    });
  auto& opts = route_->opts;
  if (opts.ping_interval.count() > 0 || opts.idle_timeout.count() > 0) {
    keep_ = std::make_unique<keepalive>(this);
    if (auto ms = opts.ping_interval.count(); ms > 0)
      home().arm(keep_->ping.node, ms);
    alive();
  }
}

void ws_session::feed_held() {
  // Frames that came with the upgrading request.
  if (in_.empty() || !wants_input())
    return;
  auto used = consume(in_.data(), in_.size());
  if (done_)
    return;
  in_.erase(0, std::min(used, in_.size()));
  if (in_.empty())
    detail::free_string(in_);
}

// -- events -------------------------------------------------------------------

void ws_session::on_drain(int64_t deadline_ms) {
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

void ws_session::on_message(caf::message& msg) {
  if (done_)
    return;
  // (atom, tag, ...): the tag named this session already.
  if (msg.match_elements<ws_send_atom, uint32_t, ws_message>()) {
    send(msg.get_mutable_as<ws_message>(2));
  } else if (msg.match_elements<ws_close_atom, uint32_t, uint16_t,
                                std::string>()) {
    auto code = msg.get_as<uint16_t>(2);
    if (!ws::valid_close_code(code) || code == 1002)
      code = ws::close_code::normal;
    start_close(code, msg.get_as<std::string>(3));
  } else if (msg.match_elements<ws_inbox_atom, uint32_t>()) {
    out_->resume_input(); // the session actor caught up
    return;
  } else if (msg.match_elements<ws_down_atom, uint32_t, uint16_t>()) {
    // The session actor ended: nobody to deliver to any more.
    session_ = nullptr;
    auto code = msg.get_as<uint16_t>(2);
    start_close(code, code == ws::close_code::normal ? "" : "session ended");
  } else {
    return;
  }
  flush();
}

void ws_session::on_timer() {
  // The peer did not answer our close frame in time (or the drain
  // deadline passed): end without it.
  out_->abort();
  out_->after_timer();
}

void ws_session::on_ping() {
  // RFC 6455 5.5.2: a keep-alive ping (no payload); not after our close.
  if (done_ || close_sent_)
    return;
  ws::write_frame_header(out_->frames(), ws::opcode::ping, 0);
  home().arm(keep_->ping.node, route_->opts.ping_interval.count());
  flush();
  out_->after_timer();
}

void ws_session::on_idle() {
  // Nothing received for idle_timeout: going away (the close handshake
  // then has close_timeout).
  start_close(ws::close_code::going_away, "idle timeout");
  flush();
  out_->after_timer();
}

void ws_session::stop() noexcept {
  if (done_)
    return;
  done_ = true;
  home().disarm(timer_.node);
  if (keep_) {
    home().disarm(keep_->ping.node);
    home().disarm(keep_->idle.node);
  }
  host_->shared().stats.websocket_sessions.fetch_sub(1,
                                                     std::memory_order_relaxed);
  emit(telemetry_kind::websocket_close);
  // The upgrading request ends with the session: admission slot back,
  // request_stop (101 or 200, bytes of the head and the messages sent).
  bytes_out sent{req_.head_bytes() + sent_, sent_};
  life().finish(req_.ticket(), status_, sent);
  if (session_) {
    auto session = std::move(session_);
    session_ = nullptr;
    try {
      caf::anon_send(session, ws_closed_atom::value, code_,
                     reason_ ? std::move(*reason_) : std::string{});
      caf::anon_send_exit(session, caf::exit_reason::user_shutdown);
    } catch (...) {
      // Out of memory while telling the actor: it ends with the system.
    }
  }
}

// -- input --------------------------------------------------------------------

void ws_session::feed(char* data, size_t size) {
  if (!wants_input())
    return;
  if (in_.empty()) {
    auto used = consume(data, size);
    if (done_)
      return;
    if (used < size && wants_input())
      in_.assign(data + used, size - used);
  } else {
    in_.append(data, size);
    auto used = consume(in_.data(), in_.size());
    if (done_)
      return;
    in_.erase(0, std::min(used, in_.size()));
  }
  // An idle session keeps no read buffer (a partial frame costs one
  // allocation; a whole frame in the reactor's scratch buffer none).
  if (in_.empty() && in_.capacity() > 0)
    detail::free_string(in_);
}

ws_session::partial& ws_session::part() {
  if (!part_)
    part_ = std::make_unique<partial>();
  return *part_;
}

void ws_session::end_message() noexcept {
  // The message is complete (or the session failed): nothing of it stays.
  fragmented_ = false;
  compressed_ = false;
  streaming_ = false;
  part_.reset();
}

void ws_session::alive() {
  // A frame arrived: the peer is alive (idle_timeout starts again).
  if (keep_)
    if (auto ms = route_->opts.idle_timeout.count(); ms > 0)
      home().arm(keep_->idle.node, ms);
}

void ws_session::set_reason(std::string_view reason) {
  if (reason.empty())
    reason_.reset();
  else if (reason_)
    reason_->assign(reason);
  else
    reason_ = std::make_unique<std::string>(reason);
}

size_t ws_session::consume(char* data, size_t size) {
  auto& opts = route_->opts;
  bool streams = opts.max_streamed_size > 0;
  // Streaming mode: frames up to max_streamed_size pass the header check;
  // only data frames that are streamed may exceed max_frame_size.
  auto limit = streams ? std::max(opts.max_streamed_size, opts.max_frame_size)
                       : opts.max_frame_size;
  size_t pos = 0;
  while (wants_input()) {
    if (in_frame()) {
      // Inside a streamed frame: its bytes go on as they arrive.
      auto& p = *part_;
      auto n =
        static_cast<size_t>(std::min<uint64_t>(p.frame_left, size - pos));
      if (n == 0)
        break;
      uint8_t mask[4];
      for (size_t i = 0; i < 4; ++i)
        mask[i] = p.mask[(p.frame_off + i) & 3];
      ws::unmask(data + pos, n, mask);
      p.frame_off += n;
      p.frame_left -= n;
      pos += n;
      on_piece(data + pos - n, n, p.frame_left == 0 && frame_fin_);
      continue;
    }
    ws::frame_header fh;
    ws::frame_error err;
    auto res = ws::parse_frame_header({data + pos, size - pos}, limit, fh, err,
                                      deflate_ != nullptr);
    if (res == ws::parse_result::need_more)
      break;
    if (res == ws::parse_result::fail) {
      fail(err.code, err.reason);
      return size;
    }
    bool is_data = !ws::is_control(fh.op);
    bool packed = fh.rsv1 || (fh.op == ws::opcode::continuation && compressed_);
    if (fh.payload_size > opts.max_frame_size && (!is_data || packed)) {
      fail(ws::close_code::too_big, "frame over max_frame_size");
      return size;
    }
    bool incomplete = size - pos - fh.header_size < fh.payload_size;
    if (incomplete && streams && is_data && !packed &&
        (fh.payload_size > opts.max_frame_size || streaming_ ||
         held() + fh.payload_size > opts.max_message_size)) {
      // A frame of a message that outgrows max_message_size (or one too
      // big to buffer): its bytes go to the session as they arrive.
      alive();
      pos += fh.header_size;
      if (!start_frame(fh))
        return size;
      if (!streaming_)
        begin_stream();
      auto& p = part();
      std::memcpy(p.mask, fh.mask, sizeof p.mask);
      p.frame_off = 0;
      p.frame_left = fh.payload_size;
      frame_fin_ = fh.fin;
      continue;
    }
    if (incomplete)
      break; // the payload is still arriving (at most max_frame_size)
    alive();
    auto* payload = data + pos + fh.header_size;
    ws::unmask(payload, fh.payload_size, fh.mask);
    pos += fh.header_size + fh.payload_size;
    on_frame(fh, payload);
  }
  return pos;
}

void ws_session::on_frame(const ws::frame_header& fh, char* payload) {
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
      auto& out = out_->frames();
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

bool ws_session::start_frame(const ws::frame_header& fh) {
  // RFC 6455 5.4: a continuation only inside a message, a new message only
  // outside one.
  if (fh.op == ws::opcode::continuation) {
    if (!fragmented_) {
      fail(ws::close_code::protocol_error,
           "continuation frame outside a message (RFC 6455 5.4)");
      return false;
    }
  } else {
    if (fragmented_) {
      fail(ws::close_code::protocol_error,
           "new data frame inside a fragmented message (RFC 6455 5.4)");
      return false;
    }
    msg_op_ = fh.op;
    compressed_ = fh.rsv1;
    utf8_.reset();
  }
  fragmented_ = true; // until the message's last frame
  return true;
}

void ws_session::on_data(const ws::frame_header& fh, char* payload) {
  auto size = static_cast<size_t>(fh.payload_size);
  auto max = route_->opts.max_message_size;
  if (!start_frame(fh))
    return;
  if (compressed_) {
    on_compressed(fh, payload);
    return;
  }
  if (!streaming_ && held() + size > max) {
    if (route_->opts.max_streamed_size == 0) {
      fail(ws::close_code::too_big, "message over max_message_size");
      return;
    }
    begin_stream(); // the message goes on in pieces
  }
  if (streaming_) {
    on_piece(payload, size, fh.fin);
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
    part().data.append(payload, size);
    return;
  }
  if (text && !utf8_.complete()) {
    fail(ws::close_code::invalid_data,
         "text message ends inside a UTF-8 sequence");
    return;
  }
  if (held() == 0) {
    end_message();
    deliver(std::string{payload, size}, !text);
    return;
  }
  auto data = std::move(part_->data);
  data.append(payload, size);
  end_message();
  deliver(std::move(data), !text);
}

void ws_session::begin_stream() {
  // What was reassembled so far (already checked) is the first piece.
  streaming_ = true;
  first_piece_ = true;
  auto& p = part();
  p.streamed = p.data.size();
  if (!p.data.empty())
    send_piece(std::exchange(p.data, std::string{}), false);
}

void ws_session::on_piece(const char* data, size_t size, bool last) {
  auto& opts = route_->opts;
  auto& p = part();
  p.streamed += size;
  if (p.streamed > opts.max_streamed_size) {
    fail(ws::close_code::too_big, "message over max_streamed_size");
    return;
  }
  bool text = msg_op_ == ws::opcode::text;
  if (text && !utf8_.feed({data, size})) {
    fail(ws::close_code::invalid_data, "invalid UTF-8 in a text message");
    return;
  }
  if (last && text && !utf8_.complete()) {
    fail(ws::close_code::invalid_data,
         "text message ends inside a UTF-8 sequence");
    return;
  }
  if (size == 0 && !last)
    return;
  send_piece(std::string{data, size}, last);
  if (last)
    end_message();
}

void ws_session::send_piece(std::string data, bool last) {
  bool first = std::exchange(first_piece_, false);
  if (last)
    ++received_;
  if (!session_)
    return;
  auto n = data.size();
  send_counted(
    inbox(), session_,
    ws_fragment{std::move(data), msg_op_ == ws::opcode::binary, first, last},
    n);
}

void ws_session::on_compressed(const ws::frame_header& fh, char* payload) {
  // RFC 7692 6.2: the frames' payloads together are one deflate stream;
  // inflate at the end, the output bounded by max_message_size (a
  // decompression bomb stops there), then check the text.
  auto size = static_cast<size_t>(fh.payload_size);
  auto max = route_->opts.max_message_size;
  if (held() + size > max) {
    fail(ws::close_code::too_big, "message over max_message_size");
    return;
  }
  if (!fh.fin) {
    part().data.append(payload, size);
    return;
  }
  std::string data;
  ws::inflate_result res;
  if (held() == 0) {
    res = deflate_->decompress({payload, size}, data, max);
  } else {
    part_->data.append(payload, size);
    res = deflate_->decompress(part_->data, data, max);
  }
  end_message();
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

void ws_session::on_close_frame(const char* payload, size_t size) {
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
    set_reason(reason);
    auto& out = out_->frames();
    if (code == ws::close_code::no_status)
      ws::write_frame_header(out, ws::opcode::close, 0);
    else
      ws::write_close_frame(out, code, {});
    close_sent_ = true;
  }
  // else: the handshake we started is complete; code_ is ours.
}

void ws_session::deliver(std::string data, bool binary) {
  ++received_;
  if (!session_)
    return;
  auto n = data.size();
  send_counted(inbox(), session_, ws_message{std::move(data), binary}, n);
}

const std::shared_ptr<ws_inbox>& ws_session::inbox() {
  if (!inbox_)
    inbox_ = std::make_shared<ws_inbox>(life().self()->address(), tag_,
                                        route_->opts.inbox_buffer);
  return inbox_;
}

// -- output -------------------------------------------------------------------

void ws_session::send(ws_message& msg) {
  if (close_sent_)
    return; // RFC 6455 5.5.1: no data after a close frame
  if (full_) {
    ++dropped_;
    return;
  }
  auto size = msg.data.size();
  auto op = msg.binary ? ws::opcode::binary : ws::opcode::text;
  if (deflate_ && size >= route_->opts.deflate_min_size) {
    std::string packed;
    if (deflate_->compress(msg.data, packed)) {
      ws::write_frame_header(out_->frames(), op, packed.size(), true);
      out_->append(std::move(packed));
      sent_ += size;
      check_full();
      return;
    }
  }
  ws::write_frame_header(out_->frames(), op, size);
  out_->append(std::move(msg.data));
  sent_ += size;
  check_full();
}

void ws_session::check_full() {
  if (out_->queued() >= route_->opts.send_buffer) {
    full_ = true;
    notify(ws_full_atom::value);
  }
}

void ws_session::start_close(uint16_t code, std::string_view reason) {
  if (close_sent_ || done_)
    return;
  close_sent_ = true;
  code_ = code;
  set_reason(reason);
  ws::write_close_frame(out_->frames(), code, reason);
  home().arm(timer_.node, route_->opts.close_timeout.count());
}

void ws_session::fail(uint16_t code, std::string_view reason) {
  // RFC 6455 7.1.7: fail the WebSocket connection: a close frame with the
  // reason, no more input processed, then the socket closes.
  failed_ = true;
  if (!close_sent_) {
    close_sent_ = true;
    code_ = code;
    set_reason(reason);
    ws::write_close_frame(out_->frames(), code, reason);
  }
  in_.clear();
  end_message();
}

void ws_session::flush() {
  if (done_)
    return;
  auto res = out_->flush();
  if (res == ws_carrier::flush_result::ended || done_)
    return;
  check_buffer();
  if (done_ || res == ws_carrier::flush_result::blocked)
    return;     // the carrier's send deadline runs while the peer does not read
  out_->idle(); // an idle session keeps no output buffer
  if (peer_closed_)
    out_->close(); // both close frames went: the server ends first
  else if (failed_)
    out_->linger();
}

void ws_session::check_buffer() {
  if (full_ && out_->queued() < route_->opts.send_buffer / 2) {
    full_ = false;
    notify(ws_ready_atom::value);
  }
}

void ws_session::emit(telemetry_kind kind) noexcept {
  auto& sh = host_->shared();
  if (!sh.opts.telemetry)
    return;
  telemetry_event e;
  e.kind = kind;
  e.request_id = req_.request_id();
  e.method = req_.method();
  e.path = req_.path();
  e.peer = &host_->info().peer;
  e.protocol = protocol_;
  if (kind == telemetry_kind::websocket_close) {
    e.error_code = code_;
    if (reason_)
      e.reason = *reason_;
    e.count = received_;
  }
  sh.emit(e);
}

template <class Atom>
void ws_session::notify(Atom what) {
  if (session_)
    caf::anon_send(session_, what);
}

// -- ws_driver: after an HTTP/1.1 upgrade -------------------------------------

ws_driver::ws_driver(driver_host& host, std::shared_ptr<const ws_route> route,
                     const open_request& req, std::string protocol,
                     std::optional<ws::deflate_params> deflate,
                     std::string leftover)
  : ws_(host, *this, std::move(route), req, std::move(protocol), deflate, 0,
        101) {
  ws_.hold_input(std::move(leftover));
}

ws_driver::~ws_driver() = default;

void ws_driver::start() {
  ws_.start();
  if (ws_.done())
    return;
  // Frames that came with the upgrading request, then what the socket
  // holds (no new edge announces bytes that arrived before the switch).
  ws_.feed_held();
  ws_.flush();
  if (!ws_.done())
    read_input();
}

void ws_driver::on_io(uint32_t events) {
  if (ws_.done())
    return;
  if ((events & EPOLLERR) != 0) {
    host().close(); // 1006 for the session
    return;
  }
  if ((events & (EPOLLRDHUP | EPOLLHUP)) != 0)
    io().rdhup = true;
  bool resume = false;
  if ((events & EPOLLOUT) != 0 && io().write_blocked()) {
    ws_.flush();
    if (ws_.done() || io().write_blocked())
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
  ws_.on_drain(deadline_ms);
}

void ws_driver::on_message(caf::message& msg) {
  ws_.on_message(msg);
}

void ws_driver::stop() noexcept {
  ws_.stop();
}

void ws_driver::read_input() {
  while (ws_.wants_input()) {
    if (io().write_blocked()) {
      // The peer does not read what we send (pongs, echoes): leave its
      // input in the socket until it does (bounded memory).
      io().read_paused = true;
      return;
    }
    if (ws_.inbox_full())
      return; // the session actor is behind: resume_input reads on
    auto [buf, cap] = host().home().scratch();
    auto n = io().read(buf, cap);
    if (n > 0) {
      auto got = static_cast<size_t>(n);
      ws_.feed(buf, got);
      if (ws_.done())
        return;
      ws_.flush();
      if (got < cap && io().short_read_drains())
        return;
      continue;
    }
    if (n == 0) {
      // The peer went away without a close frame: 1006 for the session.
      host().close();
      return;
    }
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      host().close();
    return;
  }
}

std::string& ws_driver::frames() {
  return io().out().buffer();
}

void ws_driver::append(std::string&& payload) {
  io().out().append_body(std::move(payload));
}

uint64_t ws_driver::queued() const noexcept {
  return io().out().pending();
}

ws_carrier::flush_result ws_driver::flush() {
  switch (io().flush()) {
  case transport::flush_result::done:
    return flush_result::sent;
  case transport::flush_result::blocked:
    return flush_result::blocked;
  case transport::flush_result::failed:
    break;
  }
  host().close();
  return flush_result::ended;
}

void ws_driver::idle() noexcept {
  io().out().release_spare();
}

void ws_driver::close() {
  host().close();
}

void ws_driver::linger() {
  host().linger();
}

void ws_driver::abort() {
  host().close();
}

void ws_driver::resume_input() {
  // The bytes wait in the socket: no new edge announces them.
  if (!io().write_blocked())
    read_input();
}

// -- ws_tunnel: over an HTTP/2 stream (RFC 8441) ------------------------------

namespace {

// Payloads up to this size are copied behind their frame header (one
// queue entry); larger ones are queued as they are.
constexpr size_t copy_payload = 1024;

} // namespace

ws_tunnel::ws_tunnel(tunnel_host& host, int32_t stream_id,
                     std::shared_ptr<const ws_route> route,
                     const open_request& req, std::string protocol,
                     std::optional<ws::deflate_params> deflate)
  : host_(&host), id_(stream_id),
    ws_(host.conn(), *this, std::move(route), req, std::move(protocol), deflate,
        static_cast<uint32_t>(stream_id), 200) {}

ws_tunnel::~ws_tunnel() = default;

void ws_tunnel::start() {
  ws_.start();
  ws_.flush();
}

void ws_tunnel::on_data(std::string& data, bool eof) {
  if (!data.empty())
    ws_.feed(data.data(), data.size());
  ws_.flush();
  if (eof && !ws_.done()) {
    // The peer ended its side (RFC 8441 5, as a TCP FIN) before the close
    // handshake was over: 1006 for the session; our side ends too.
    close();
  }
}

void ws_tunnel::on_writable() {
  if (!push_held())
    return;        // still no room
  update_window(); // caught up: the peer may send again
  if (finishing_)
    finish();
  else
    ws_.flush(); // ws_ready, or the end after a blocked flush
}

void ws_tunnel::on_message(caf::message& msg) {
  ws_.on_message(msg);
}

void ws_tunnel::on_drain(int64_t deadline_ms) {
  ws_.on_drain(deadline_ms);
}

void ws_tunnel::stop() noexcept {
  ws_.stop();
  ended_ = true;
  held_.clear();
  held_bytes_ = 0;
}

void ws_tunnel::append(std::string&& payload) {
  if (payload.size() <= copy_payload) {
    frames_.append(payload);
    return;
  }
  if (!frames_.empty()) {
    held_bytes_ += frames_.size();
    held_.push_back(std::exchange(frames_, std::string{}));
  }
  held_bytes_ += payload.size();
  held_.push_back(std::move(payload));
}

uint64_t ws_tunnel::queued() const noexcept {
  return frames_.size() + held_bytes_ + host_->h2().buffered(id_);
}

ws_carrier::flush_result ws_tunnel::flush() {
  if (ended_)
    return flush_result::ended;
  if (!frames_.empty()) {
    held_bytes_ += frames_.size();
    held_.push_back(std::exchange(frames_, std::string{}));
  }
  auto sent = push_held();
  update_window();
  return sent ? flush_result::sent : flush_result::blocked;
}

void ws_tunnel::update_window() {
  // While the peer does not take our output (pongs, echoes), or the
  // session actor is behind with its inbox, the peer's DATA earns no new
  // credit, as a HTTP/1.1 session stops reading its socket (bounded
  // memory: at most the rest of the stream's window arrives meanwhile).
  bool hold = !held_.empty() || ws_.inbox_full();
  if (window_held_ == hold || ended_)
    return;
  window_held_ = hold;
  host_->h2().hold_window(id_, hold);
}

void ws_tunnel::resume_input() {
  update_window(); // the driver sends the WINDOW_UPDATE after the message
}

bool ws_tunnel::push_held() {
  // The engine's stream queue is bounded (max_stream_buffer): what it
  // refuses waits here, in order, for on_writable.
  while (!held_.empty()) {
    auto n = held_.front().size();
    if (host_->h2().push(id_, std::move(held_.front())) ==
        http2::submit_result::busy)
      return false;
    // Taken (or the stream is gone, and on_stream_closed follows).
    held_.pop_front();
    held_bytes_ -= n;
  }
  return true;
}

void ws_tunnel::finish() {
  if (ended_)
    return;
  if (!held_.empty()) {
    finishing_ = true; // after the rest went (on_writable)
    return;
  }
  finishing_ = false;
  ended_ = true;
  host_->h2().finish(id_); // END_STREAM after the queue
}

void ws_tunnel::close() {
  finish();
  ws_.stop();
}

void ws_tunnel::linger() {
  // The engine resets the stream with NO_ERROR after our END_STREAM if the
  // peer is still sending (RFC 9113 8.1): our close frame is not lost.
  finish();
  ws_.stop();
}

void ws_tunnel::abort() {
  if (!ended_) {
    ended_ = true;
    held_.clear();
    held_bytes_ = 0;
    frames_.clear();
    host_->h2().reset(id_, http2::error_code::cancel);
  }
  ws_.stop();
}

void ws_tunnel::after_timer() {
  host_->tunnel_flush();
}

} // namespace roadrunner::detail
