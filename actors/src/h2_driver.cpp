#include "h2_driver.hpp"

#include "free_string.hpp"
#include "listener_shared.hpp"
#include "transport.hpp"
#include <roadrunner/listener.hpp>

#include <caf/message.hpp>

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <utility>

namespace roadrunner::detail {

namespace {

// Frames taken from the session per write: bounds what waits in the
// connection's output queue (nghttp2 keeps the rest, bodies stay in the
// session) and lets a blocked socket stop the producer.
constexpr size_t output_chunk = 65536;

// The slow-client guard's grace period (as HTTP/1.1).
constexpr int64_t rate_grace_ms = 1000;

// Drain (RFC 9113 6.8): how long the final GOAWAY waits for the ACK of the
// notice's PING (a client that never answers), at most half of the time
// left to the drain deadline.
constexpr int64_t notice_wait_ms = 1000;

// Input processed per wake-up before the connection yields to the other
// connections of its reactor (and is called again in the next loop
// iteration): one client sending as fast as loopback allows cannot hold
// the reactor (issue 18: 3.4 s stalls before).
constexpr size_t round_bytes = 128 * 1024;

http2::session_config session_config_of(const listener_shared& shared) {
  auto& opts = shared.opts;
  http2::session_config cfg;
  cfg.bodies = &shared.bodies;
  for (auto& x : opts.protocols)
    if (x.proto == protocol::http2)
      cfg.http2 = x.http2;
  cfg.max_content_length = static_cast<uint64_t>(opts.max_content_length);
  return cfg;
}

} // namespace

h2_driver::h2_driver(driver_host& host) noexcept : host_(&host) {}

h2_driver::~h2_driver() {
  // stop() ran on the reactor thread (the connection's teardown): every
  // timer is disarmed, every exchange voided. The session goes first: its
  // callbacks point at this object.
  session_.reset();
}

void h2_driver::start() {
  session_ =
    std::make_unique<http2::session>(session_config_of(shared()), *this);
  // RFC 9113 3.4: the client's preface (and SETTINGS) must come within
  // request_timeout (from the accept for h2c, the handshake for TLS).
  main_what_ = main_timer::preface;
  home().arm(main_.node, shared().opts.request_timeout.count());
}

// -- I/O ----------------------------------------------------------------------

void h2_driver::on_io(uint32_t events) {
  dead_tunnels_.clear();
  if (closed_)
    return;
  if ((events & EPOLLERR) != 0) {
    close();
    return;
  }
  if ((events & (EPOLLRDHUP | EPOLLHUP)) != 0)
    io().rdhup = true;
  bool resume = false;
  if ((events & EPOLLOUT) != 0) {
    if (io().write_blocked())
      flush_out();
    if (closed_)
      return;
    // A TLS read that wanted to write, or input left in the socket while
    // output waited: read again (no new edge would announce it). While the
    // output still waits, read_loop only marks reading as paused again.
    resume = std::exchange(io().read_paused, false);
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0 || resume)
    read_loop();
  after_event();
}

void h2_driver::read_loop() {
  auto& r = home();
  size_t round = 0;
  while (!closed_ && !peer_eof_ && !fatal_) {
    if (round >= round_bytes) {
      io().yield_read(); // the rest waits for the next loop iteration
      return;
    }
    if (io().write_blocked()) {
      // Backpressure: a client that does not read its responses does not
      // get more requests served (its bytes stay in the socket).
      io().read_paused = true;
      return;
    }
    // nghttp2 keeps partial frames itself: the reactor's scratch buffer is
    // free again as soon as `feed` returns.
    auto [buf, cap] = r.scratch();
    auto n = io().read(buf, cap);
    if (n > 0) {
      auto got = static_cast<size_t>(n);
      rate_bytes_ += got;
      round += got;
      if (session_->feed({buf, got}) == http2::feed_result::fatal) {
        // Bad preface, flood, protocol error: the GOAWAY nghttp2 queued
        // goes out, then the connection ends with a lingering close
        // (maybe_close), so that bytes the client already sent do not turn
        // the close into a reset that destroys the GOAWAY.
        fatal_ = true;
        pump();
        return;
      }
      pump();
      // Plain TCP, edge-triggered: a short read drained the socket. Not
      // with TLS (a read returns at most one record), nor after RDHUP.
      if (got < cap && io().short_read_drains())
        return;
      continue;
    }
    if (n == 0) {
      // The client closed its side. HTTP/2 has no half-closed connection
      // (a client ends with GOAWAY or a close), so it is gone: end the
      // streams in flight (their handlers hear on_cancel) and close.
      peer_eof_ = true;
      close();
      return;
    }
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      close();
    return;
  }
}

void h2_driver::pump() {
  // Frames out while the socket takes them; never while it is blocked
  // (nghttp2 holds the frames, the bodies stay in the session).
  auto& out = io().out();
  int idle_rounds = 0;
  while (!closed_ && !io().write_blocked()) {
    if (out.empty()) {
      if (!session_->want_write() || idle_rounds++ > 1)
        return;
      // take_output may report closed streams and room on streamed ones;
      // their callbacks only queue more frames.
      session_->take_output(out.buffer(), output_chunk);
      out.drop_empty_tail();
      if (out.empty())
        continue;
      idle_rounds = 0;
    }
    if (!flush_out())
      return;
  }
}

bool h2_driver::flush_out() {
  // Returns false when the output waits (or the connection closed). While
  // it waits the transport's send deadline runs.
  bool was_blocked = io().write_blocked();
  switch (io().flush()) {
  case transport::flush_result::done:
    if (was_blocked)
      main_what_ = main_timer::none; // update_timers picks the next one
    return true;
  case transport::flush_result::blocked:
    if (!was_blocked) {
      main_what_ = main_timer::none;
      home().disarm(main_.node);
    }
    return false;
  case transport::flush_result::failed:
    close();
    return false;
  }
  return false;
}

void h2_driver::after_event() {
  if (closed_)
    return;
  // Drain: the notice's PING came back, so every stream the client opened
  // before it saw the notice has arrived: the final GOAWAY may name them.
  if (notice_.armed() && session_->notice_acked())
    final_goaway();
  pump();
  update_timers();
  maybe_close();
}

void h2_driver::maybe_close() {
  if (closed_ || io().write_blocked() || !io().out().empty())
    return;
  bool idle = session_->is_idle();
  if (fatal_ && shared().opts.telemetry) {
    // A connection error (a protocol violation, a flood, a slow client):
    // the error log and metrics hear its GOAWAY code.
    auto code = session_->goaway_code();
    telemetry_event e;
    e.kind = telemetry_kind::http2_connection_error;
    e.peer = &host_->info().peer;
    e.error_code = static_cast<int64_t>(code);
    e.reason = http2::to_string(code);
    shared().emit(e);
  }
  if (fatal_ && !peer_eof_) {
    host_->linger(); // stops this driver (its streams end)
    return;
  }
  if (fatal_ || (!session_->want_read() && !session_->want_write()) ||
      (session_->going_away() && idle)) {
    // A graceful end (GOAWAY(NO_ERROR): drain, keep-alive limit, idle)
    // lingers too: the client may still be sending (WINDOW_UPDATEs for
    // the last responses), and a close with unread input is a reset that
    // can destroy those responses before the client reads them.
    if (!peer_eof_)
      host_->linger();
    else
      close();
  }
}

void h2_driver::close() {
  if (!closed_)
    host_->close(); // stops this driver; the object outlives the call
}

void h2_driver::stop() noexcept {
  if (closed_)
    return;
  closed_ = true;
  auto& r = home();
  r.disarm(main_.node);
  r.disarm(tick_.node);
  r.disarm(notice_.node);
  // Requests still open end here: admission slots back, telemetry, and
  // their handlers hear on_cancel (a loop handler actor is stopped).
  auto open = std::move(streams_);
  streams_.clear();
  for (auto& [id, st] : open) {
    r.disarm(st->deadline.node);
    end(*st, st->req.status); // guarded: on_cancel never throws out
  }
  for (auto& [id, t] : tunnels_) {
    t->stop();
    dead_tunnels_.push_back(std::move(t));
  }
  tunnels_.clear();
}

// -- timers -------------------------------------------------------------------

void h2_driver::update_timers() {
  if (closed_)
    return;
  auto& r = home();
  auto& opts = shared().opts;
  // The main timer: the preface deadline, or the idle timeout — only while
  // no stream is open (docs/upstream-bugs.md F8: upstream timed out open
  // streams). None while output waits: the transport's send deadline runs then.
  main_timer want = main_timer::none;
  if (io().write_blocked())
    want = main_timer::none;
  else if (!session_->preface_received())
    want = main_timer::preface;
  else if (session_->open_streams() == 0)
    want = main_timer::idle;
  else if (io().out().empty() && !session_->want_write() &&
           session_->send_stalled())
    want = main_timer::stalled; // h2's own "peer does not read"
  // A request served since the idle timer started restarts it (the
  // stream may have opened and closed between two updates); so do bytes
  // the peer took for the stalled timer.
  if (want != main_what_ ||
      (want == main_timer::idle && idle_served_ != life().served()) ||
      (want == main_timer::stalled && stall_mark_ != io().bytes_written())) {
    main_what_ = want;
    idle_served_ = life().served();
    stall_mark_ = io().bytes_written();
    switch (want) {
    case main_timer::none:
      r.disarm(main_.node);
      break;
    case main_timer::preface:
      r.arm(main_.node, opts.request_timeout.count());
      break;
    case main_timer::idle:
      // As on HTTP/1.1: request_timeout until the first request, then
      // keep_alive_timeout between requests.
      r.arm(main_.node, life().served() == 0 ? opts.request_timeout.count()
                                             : opts.keep_alive_timeout.count());
      break;
    case main_timer::stalled:
      r.arm(main_.node, opts.request_timeout.count());
      break;
    }
  }
  // Requests arriving: the per-stream request timeout and the slow-client
  // guard tick while any is incomplete.
  if (!tick_.armed() && session_->incomplete_requests() > 0)
    start_request_clock(r.now_ms());
}

void h2_driver::start_request_clock(int64_t now) {
  auto& opts = shared().opts;
  rate_start_ms_ = now;
  rate_bytes_ = 0;
  first_seen_.clear();
  ids_.clear();
  session_->incomplete_streams(ids_);
  for (auto id : ids_)
    first_seen_.emplace(id, now);
  auto interval = opts.rate_check_interval.count();
  if (auto rt = opts.request_timeout.count(); rt > 0)
    interval = std::min(interval, rt);
  home().arm(tick_.node, interval);
}

void h2_driver::on_main_timer() {
  if (closed_)
    return;
  switch (main_what_) {
  case main_timer::stalled: // the peer stopped opening its window
  case main_timer::preface: // no client preface in time
    close();
    return;
  case main_timer::idle:
    // No stream for keep_alive_timeout: say goodbye (RFC 9113 6.8), then
    // close once the GOAWAY is out.
    main_what_ = main_timer::none;
    session_->goaway_graceful();
    after_event();
    return;
  case main_timer::none:
    return;
  }
}

void h2_driver::on_tick() {
  if (closed_)
    return;
  auto& opts = shared().opts;
  auto now = home().now_ms();
  ids_.clear();
  session_->incomplete_streams(ids_);
  if (ids_.empty()) {
    first_seen_.clear();
    return; // the clock starts again with the next incomplete request
  }
  // Slow-client guard: while requests arrive, the average since the first
  // one started must reach min_bytes_per_second after a grace second. As
  // on HTTP/1.1 the check pauses while our output waits (we stopped
  // reading) and the connection closes (a GOAWAY first).
  auto elapsed = now - rate_start_ms_;
  auto min_rate = static_cast<uint64_t>(opts.min_bytes_per_second);
  if (min_rate > 0 && !io().write_blocked() && elapsed >= rate_grace_ms &&
      rate_bytes_ * 1000 < min_rate * static_cast<uint64_t>(elapsed)) {
    session_->terminate(http2::error_code::enhance_your_calm);
    fatal_ = true;
    after_event();
    return;
  }
  // request_timeout per stream, from when the connection first saw it
  // incomplete (tick granularity): 408 + RST_STREAM(NO_ERROR).
  auto limit = opts.request_timeout.count();
  for (auto id : ids_) {
    auto [it, fresh] = first_seen_.emplace(id, now);
    if (!fresh && now - it->second >= limit)
      session_->expire(id);
  }
  std::erase_if(first_seen_, [this](const auto& kv) {
    return std::find(ids_.begin(), ids_.end(), kv.first) == ids_.end();
  });
  auto interval = opts.rate_check_interval.count();
  if (limit > 0)
    interval = std::min(interval, limit);
  home().arm(tick_.node, interval);
  after_event();
}

void h2_driver::stream_state::expired() {
  owner->on_deadline(*this);
}

void h2_driver::on_deadline(stream_state& st) {
  // The handler did not answer in time (actor_handler_options::timeout).
  if (closed_ || !st.req.open() || st.streaming)
    return;
  st.req.status = 504;
  session_->submit(st.id, response::text(504, "Gateway Timeout"));
  end(st, 504);
  after_event();
}

// -- messages -----------------------------------------------------------------

void h2_driver::on_wake(uint32_t stream_id) {
  dead_tunnels_.clear();
  if (closed_)
    return;
  auto it = streams_.find(static_cast<int32_t>(stream_id));
  if (it == streams_.end())
    return; // the stream is gone (reset, closed): drop it quietly
  apply(*it->second);
  forget(static_cast<int32_t>(stream_id));
  after_event();
}

void h2_driver::on_drain(int64_t deadline_ms) {
  if (closed_)
    return;
  draining_ = true;
  drain_deadline_ms_ = deadline_ms;
  // RFC 9113 6.8, two steps. First GOAWAY(NO_ERROR, 2^31-1) and a PING:
  // the client opens no new stream, and the streams it sent before it saw
  // them are served. Then (on the PING's ACK, see after_event, or after
  // notice_wait_ms) GOAWAY(NO_ERROR, last stream id): streams up to it
  // finish, newer ones are refused (REFUSED_STREAM: safe to retry).
  if (session_->goaway_notice()) {
    auto wait = notice_wait_ms;
    if (deadline_ms >= 0)
      wait = std::min(wait, (deadline_ms - home().now_ms()) / 2);
    if (wait > 0)
      home().arm(notice_.node, wait);
    else
      session_->goaway_graceful();
  } else if (!notice_.armed()) {
    session_->goaway_graceful(); // no-op when already going away
  }
  notify_draining();
  for (auto& [id, t] : tunnels_)
    t->on_drain(deadline_ms); // WebSocket: close 1001
  after_event();
}

void h2_driver::on_message(caf::message& msg) {
  dead_tunnels_.clear();
  if (closed_ || msg.size() < 2 || !msg.match_element<uint32_t>(1))
    return;
  auto it = tunnels_.find(static_cast<int32_t>(msg.get_as<uint32_t>(1)));
  if (it == tunnels_.end())
    return; // the stream is gone: dropped
  it->second->on_message(msg);
  after_event();
}

void h2_driver::tunnel_flush() {
  after_event();
}

bool h2_driver::open_tunnel(int32_t stream_id, response& resp,
                            request_ticket& t) {
  // RFC 8441: an extended CONNECT whose handler accepted the protocol
  // (`offer_upgrade`) and answered 200: the 200 goes out without an end,
  // and the stream belongs to the tunnel until it closes. Any other
  // answer goes out as usual (a 2xx without an offer becomes a 501).
  auto offer = life().take_upgrade();
  if (!offer || resp.status() != 200)
    return false;
  offer->request.adopt(t, nullptr, resp);
  auto tunnel = offer->make_tunnel(*this, stream_id);
  if (!tunnel)
    return false;
  if (session_->open_tunnel(stream_id, std::move(resp)) !=
      http2::submit_result::ok) {
    // The stream is gone (reset before the answer): nothing went out.
    life().finish(t, 0, {});
    return true;
  }
  auto& ref = *tunnel;
  tunnels_[stream_id] = std::move(tunnel);
  ref.start();
  return true;
}

void h2_driver::on_notice_timer() {
  if (closed_)
    return;
  final_goaway(); // the client did not answer the PING in time
  after_event();
}

void h2_driver::final_goaway() {
  home().disarm(notice_.node);
  session_->goaway_graceful();
  notify_draining(); // streams that arrived after the notice
}

void h2_driver::notify_draining() {
  // Deferred streams (loop handlers) hear the drain once each; stream ids
  // grow, so the highest told is enough.
  if (!draining_)
    return;
  auto told = drain_told_;
  for (auto& [id, st] : streams_) {
    if (id > drain_told_)
      request_lifecycle::notify_drain(st->req, drain_deadline_ms_);
    told = std::max(told, id);
  }
  drain_told_ = told;
}

// -- requests -----------------------------------------------------------------

void h2_driver::on_request(int32_t stream_id, const request_head& head,
                           std::string_view body) {
  request req{head, body, host_->info()};
  request_ticket t;
  std::shared_ptr<actor_exchange> x;
  auto resp = life().dispatch(req, static_cast<uint32_t>(stream_id), t, x);
  if (!x && !head.connect_protocol.empty() && open_tunnel(stream_id, resp, t))
    return; // the tunnel finishes the request when it ends
  // max_keep_alive_requests: after the last one, GOAWAY (the streams in
  // flight finish; the client opens a new connection for more).
  if (life().served() >=
      static_cast<uint64_t>(shared().opts.max_keep_alive_requests))
    session_->goaway_graceful();
  if (x) {
    auto st = std::make_unique<stream_state>(this, stream_id);
    st->req.adopt(t, std::move(x), resp);
    if (shared().opts.body_buffering == body_buffering::manual) {
      // Served by read_body in pieces (see docs), without a copy; a spooled
      // body is read from its file, not kept mapped.
      st->body = session_->take_body(stream_id);
      st->body.unmap();
    }
    if (auto ms = st->req.x->deadline(); ms >= 0)
      home().arm(st->deadline.node, ms);
    auto& ref = *st;
    streams_[stream_id] = std::move(st);
    // Operations the handler queued during the call (an answer sent at
    // once, a stream started and finished): apply them now.
    apply(ref);
    forget(stream_id);
    return;
  }
  if (!head.connect_protocol.empty() && resp.status() >= 200 &&
      resp.status() <= 299)
    resp = response::text(501, "Not Implemented: no such protocol here\n");
  auto status = resp.status();
  auto sent = body_out(resp, head.method);
  if (session_->submit(stream_id, std::move(resp)) ==
      http2::submit_result::invalid_response) {
    status = 500;
    sent = {};
  }
  life().finish(t, status, sent);
}

void h2_driver::sent(stream_state& st, size_t n) {
  // A streamed piece went to the session.
  st.req.sent.body += n;
  st.req.sent.total += n;
  if (st.req.x)
    st.req.x->written(n); // may run the writer's on_ready (guarded)
}

bytes_out h2_driver::body_out(const response& resp, std::string_view method) {
  // HTTP/2 counts body bytes (the HPACK-compressed head is not told apart
  // per stream); HEAD, 1xx, 204 and 304 send none.
  if (!allows_content(resp.status()) || method == "HEAD")
    return {};
  auto n = static_cast<uint64_t>(resp.body_size());
  return {n, n};
}

void h2_driver::apply(stream_state& st) {
  // Applies what the handler side queued, in order.
  auto x = st.req.x; // keeps the exchange alive through the callbacks
  if (!x)
    return;
  while (!closed_ && x->take(ops_)) {
    for (auto& op : ops_) {
      if (closed_)
        break;
      switch (op.what) {
      case exchange_op::kind::respond: {
        if (!st.req.open() || st.streaming)
          break;
        for (auto& f : st.req.extra)
          op.resp.header(std::move(f.name), std::move(f.value));
        st.req.status = op.resp.status();
        st.req.sent = body_out(op.resp, st.req.method);
        if (session_->submit(st.id, std::move(op.resp)) ==
            http2::submit_result::invalid_response) {
          st.req.status = 500;
          st.req.sent = {};
        }
        end(st, st.req.status);
        break;
      }
      case exchange_op::kind::start: {
        if (!st.req.open() || st.streaming)
          break;
        for (auto& f : st.req.extra)
          op.resp.header(std::move(f.name), std::move(f.value));
        st.req.extra.clear();
        st.req.status = op.resp.status();
        home().disarm(st.deadline.node); // it was for the answer's start
        auto r = session_->start_stream(st.id, std::move(op.resp));
        if (r == http2::submit_result::ok) {
          st.streaming = true;
        } else {
          // A 500 went out instead, or the stream is gone.
          end(st, r == http2::submit_result::invalid_response ? 500 : 0);
        }
        break;
      }
      case exchange_op::kind::chunk: {
        auto n = op.data.size();
        if (!st.streaming || !st.req.open()) {
          x->written(n);
          break;
        }
        if (!st.held.empty()) {
          st.held.push_back(std::move(op.data)); // keep the order
          break;
        }
        // The session's per-stream queue is bounded (max_stream_buffer):
        // `busy` leaves the data with us until on_stream_writable; the
        // writer's own limit (stream_writer::limit) bounds what we hold.
        if (session_->push(st.id, std::move(op.data)) ==
            http2::submit_result::busy)
          st.held.push_back(std::move(op.data));
        else
          sent(st, n);
        break;
      }
      case exchange_op::kind::finish:
        if (!st.streaming || !st.req.open())
          break;
        st.trailers = std::move(op.trailers);
        st.finish_pending = true;
        if (st.held.empty())
          finish_stream(st);
        break;
      case exchange_op::kind::abort:
      case exchange_op::kind::abandon:
        fail_stream(st);
        break;
      case exchange_op::kind::read_body: {
        // HTTP/2 bodies are buffered whole before dispatch (manual mode is
        // served from that copy): hand out the next piece.
        auto piece = st.body.read_at(st.body_pos, op.max, st.piece);
        if (!piece) {
          // The spool file could not be read: the handler cannot have its
          // body. As an abort.
          fail_stream(st);
          break;
        }
        st.body_pos += piece->size();
        bool last = st.body_pos == st.body.size();
        // The callback may queue more operations (taken next round); if
        // it throws, the exchange queued an abort.
        life().deliver(st.req, op.cb, *piece, last);
        if (last) {
          st.body.clear();
          free_string(st.piece);
        }
        break;
      }
      }
    }
    ops_.clear();
  }
  ops_.clear();
}

void h2_driver::fail_stream(stream_state& st) {
  // The answer cannot be given (the handler aborted or left): a 500, or,
  // once the head is out, a cut (RST_STREAM) so the client can tell the
  // response is incomplete.
  if (!st.req.open())
    return;
  if (st.streaming) {
    session_->reset(st.id, http2::error_code::internal_error);
    end(st, st.req.status);
  } else {
    session_->submit(st.id, response::text(500, "Internal Server Error"));
    end(st, 500);
  }
}

void h2_driver::finish_stream(stream_state& st) {
  st.finish_pending = false;
  session_->finish(st.id, std::move(st.trailers));
  end(st, st.req.status);
}

void h2_driver::end(stream_state& st, int status) {
  // The answer is complete from the handler's side: the lifecycle releases
  // the admission slot, reports it and voids the responder (its on_close
  // stops a loop handler). Streamed bytes may still be in the session.
  if (!st.req.open())
    return;
  home().disarm(st.deadline.node);
  life().end(st.req, status);
}

void h2_driver::forget(int32_t stream_id) {
  // A stream state is kept while it may still act: an open answer, or
  // streamed data held back by the session's full buffer.
  auto it = streams_.find(stream_id);
  if (it == streams_.end())
    return;
  auto& st = *it->second;
  if (!st.req.open() && st.held.empty() && !st.finish_pending)
    streams_.erase(it);
}

void h2_driver::on_stream_closed(int32_t stream_id, http2::error_code) {
  if (auto t = tunnels_.find(stream_id); t != tunnels_.end()) {
    t->second->stop(); // 1006 for a session still open
    dead_tunnels_.push_back(std::move(t->second));
    tunnels_.erase(t);
    return;
  }
  // The response went out, or the stream was reset (by the client, or by
  // us): a handler still working hears on_cancel.
  auto it = streams_.find(stream_id);
  if (it == streams_.end())
    return;
  auto st = std::move(it->second);
  streams_.erase(it);
  end(*st, st->req.status);
}

void h2_driver::on_request_rejected(int32_t, int status,
                                    std::string_view reason) {
  // As on HTTP/1.1: a request whose head was complete counts as served (a
  // body over max_content_length, a body that stopped coming, no memory
  // left for its body and no spooling); a malformed
  // head (400, 431) or a method we do not serve (501) does not.
  life().reject(status, reason,
                status == 408 || status == 413 || status == 503);
}

void h2_driver::on_tunnel_data(int32_t stream_id, std::string& data, bool eof) {
  // A stream whose handler refused the tunnel: its bytes are dropped.
  if (auto t = tunnels_.find(stream_id); t != tunnels_.end())
    t->second->on_data(data, eof);
}

void h2_driver::on_stream_writable(int32_t stream_id) {
  if (auto t = tunnels_.find(stream_id); t != tunnels_.end()) {
    t->second->on_writable();
    return;
  }
  auto it = streams_.find(stream_id);
  if (it == streams_.end())
    return;
  auto& st = *it->second;
  while (!st.held.empty()) {
    auto n = st.held.front().size();
    if (session_->push(stream_id, std::move(st.held.front())) ==
        http2::submit_result::busy)
      break; // the data stays: wait for the next on_stream_writable
    st.held.pop_front();
    sent(st, n);
  }
  if (st.held.empty() && st.finish_pending)
    finish_stream(st);
  forget(stream_id);
}

} // namespace roadrunner::detail
