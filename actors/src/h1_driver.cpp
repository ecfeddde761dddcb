#include "h1_driver.hpp"

#include "date_cache.hpp"
#include "free_string.hpp"
#include "http1/serializer.hpp"
#include "listener_shared.hpp"
#include "transport.hpp"
#include <roadrunner/response.hpp>

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace roadrunner::detail {

namespace {

// First read buffer; grows (to the head limits or a Content-Length body)
// only when a request needs it.
constexpr size_t initial_buffer = 4096;

// Smallest free space worth a read() call.
constexpr size_t min_read_space = 1024;

// A Content-Length request up to this size is read whole into the input
// buffer; a larger body goes to the body store (io::body_store: charged to
// the listener's body budget, or spooled) as it arrives.
constexpr size_t max_buffered_request = initial_buffer * 16;

// Room for body bytes after the head while a stored body is read: the
// size of one read.
constexpr size_t body_read_space = 65536;

// Responses queued before processing more pipelined requests stops to flush.
constexpr size_t max_output_backlog = 256 * 1024;

constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";

} // namespace

h1_driver::h1_driver(driver_host& host) noexcept : host_(&host) {}

h1_driver::~h1_driver() {
  release_request_state();
}

void h1_driver::start() {
  // The first request's deadline counts from the accept (plain TCP: the
  // seed's header read timeout of a fresh connection) or the handshake.
  phase_ = phase::idle;
  home().arm(timer_.node, shared().opts.request_timeout.count());
}

// -- events -------------------------------------------------------------------

void h1_driver::on_io(uint32_t events) {
  if (phase_ == phase::done)
    return;
  if ((events & EPOLLERR) != 0) {
    close_now();
    return;
  }
  if ((events & (EPOLLRDHUP | EPOLLHUP)) != 0) {
    io().rdhup = true;
    if (phase_ == phase::streaming) {
      // The client left (or half-closed) while a response streams: a loop
      // handler that writes rarely must not hold the connection, so end
      // the stream now (its handler sees `closed` / on_cancel).
      close_now();
      return;
    }
  }
  bool resume = false;
  if ((events & EPOLLOUT) != 0) {
    if (io().write_blocked()) {
      flush();
      if (phase_ == phase::done || io().write_blocked())
        return;
    }
    // Output drained: serve the requests still buffered, then read what
    // the socket holds if we had stopped (no new edge would announce bytes
    // that arrived while we were not reading).
    if (end_ > begin_ && !closing_) {
      process_input();
      if (phase_ == phase::done)
        return;
    }
    if (peer_eof_ && !io().write_blocked())
      closing_ = true; // everything the peer sent is answered
    resume = std::exchange(io().read_paused, false);
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0 || resume)
    read_input();
  else
    flush();
}

void h1_driver::on_timer() {
  if (io().write_blocked()) {
    // A phase deadline passed while output still waits: give up.
    close_now();
    return;
  }
  switch (phase_) {
  case phase::idle:
    if (life().served() > 0 || last_call_) {
      // keep_alive_timeout between requests: a silent close.
      close_now();
      return;
    }
    [[fallthrough]]; // no byte of the first request: request_timeout
  case phase::head:
  case phase::body:
    respond_error(408, "request_timeout");
    flush();
    return;
  case phase::waiting:
    if (def().deadline_at >= 0 && home().now_ms() >= def().deadline_at) {
      // The handler did not answer in time (actor_handler_options).
      complete_deferred(response::text(504, "Gateway Timeout"));
      resume_after_deferred();
      return;
    }
    if (def().body_open && def().read_cb) {
      // Manual body mode: the client stopped sending the body the
      // handler is reading.
      end_deferred(408);
      respond_error(408, "request_timeout");
      flush();
    }
    return;
  case phase::streaming:
  case phase::done:
    return;
  }
}

void h1_driver::on_rate_check() {
  if (phase_ == phase::idle) {
    hibernate();
    return;
  }
  if (phase_ != phase::head && phase_ != phase::body)
    return;
  if (io().write_blocked()) {
    // We stopped reading (backpressure): the peer is not the slow one.
    home().arm(rate_.node, shared().opts.rate_check_interval.count());
    return;
  }
  auto elapsed = home().now_ms() - request_start_ms_;
  auto min_rate = static_cast<uint64_t>(shared().opts.min_bytes_per_second);
  // A one-second grace, then the average since the request's first byte
  // must reach min_bytes_per_second (slow-loris guard): else a silent close.
  if (elapsed >= 1000 &&
      request_bytes_ * 1000 < min_rate * static_cast<uint64_t>(elapsed)) {
    close_now();
    return;
  }
  home().arm(rate_.node, shared().opts.rate_check_interval.count());
}

void h1_driver::on_wake(uint32_t) {
  on_deferred();
}

void h1_driver::on_drain(int64_t deadline_ms) {
  if (phase_ == phase::done)
    return;
  if (deferred()) {
    // A deferred or streaming answer is open: it ends the connection, and
    // its handler (a loop handler, say) hears about the deadline.
    def().close = true;
    request_lifecycle::notify_drain(def().req, deadline_ms);
    return;
  }
  if (phase_ == phase::idle && end_ == begin_ && io().out().empty()) {
    if (shared().opts.reuse_port) {
      // A rolling restart (docs/scaling.md): the client may be sending its
      // next request right now, and closing would lose it (a keep-alive
      // client sees the close instead of its answer). The next request is
      // answered with `connection: close`; a connection that stays idle
      // closes at the end of this last call.
      last_call_ = true;
      home().arm(timer_.node, last_call_ms);
      return;
    }
    // An idle keep-alive connection (or one that never sent a byte) has
    // nothing in flight: close it now.
    close_now();
  }
  // Otherwise the request in flight finishes; its response carries
  // `connection: close` (dispatch checks draining).
}

void h1_driver::stop() noexcept {
  // The connection is closing (possibly from inside this driver): no I/O,
  // the open request ends (its handler hears on_cancel).
  phase_ = phase::done;
  home().disarm(timer_.node);
  home().disarm(rate_.node);
  if (deferred())
    end_deferred(0);
  drop_body(); // its budget and file go now, not with the driver
  // The buffers stay allocated until the driver is destroyed: a caller up
  // the stack may still hold a view into them.
  begin_ = end_ = 0;
}

void h1_driver::close_now() {
  phase_ = phase::done;
  host_->close(); // stops this driver (once: the host's close is idempotent)
}

// -- input --------------------------------------------------------------------

void h1_driver::read_input() {
  if (reading_) {
    again_ = true; // re-entered through flush()
    return;
  }
  reading_ = true;
  do {
    again_ = false;
    read_some();
    if (phase_ == phase::done)
      break;
    flush();
    if (phase_ != phase::done && !io().write_blocked() && io().read_paused &&
        phase_ != phase::waiting && phase_ != phase::streaming) {
      // The backlog drained while we were here: go on with what is
      // buffered and what the socket holds.
      io().read_paused = false;
      if (end_ > begin_ && !closing_)
        process_input();
      again_ = true;
    }
  } while (again_ && phase_ != phase::done);
  reading_ = false;
}

void h1_driver::read_some() {
  while (phase_ != phase::done) {
    if (closing_)
      break; // the answer is final: flush it, then close or linger
    if ((phase_ == phase::waiting || phase_ == phase::streaming) &&
        !(def().body_open && def().read_cb)) {
      // A deferred answer holds the pipeline: leave later requests in the
      // socket (bounded memory) until it is out. Only a manual-body read
      // that waits for bytes reads on.
      io().read_paused = true;
      break;
    }
    if (io().write_blocked()) {
      // Backpressure: leave input in the socket until the peer reads.
      io().read_paused = true;
      break;
    }
    // With nothing pending, read into the reactor's scratch buffer: most
    // requests arrive whole and are served from there, so a connection owns
    // a buffer only while it holds a partial request.
    bool scratch = begin_ == end_ && !head_complete_;
    if (scratch) {
      auto area = home().scratch();
      data_ = area.first;
      cap_ = area.second;
      begin_ = end_ = 0;
    } else if (!make_room(min_read_space)) {
      close_now();
      break;
    }
    auto space = cap_ - end_;
    auto n = io().read(data_ + end_, space);
    if (n > 0) {
      auto got = static_cast<size_t>(n);
      end_ += got;
      request_bytes_ += got;
      process_input();
      if (scratch)
        adopt_leftover();
      // Edge-triggered: a short read drained the socket (see
      // transport::short_read_drains).
      if (got < space && io().short_read_drains())
        break;
      continue;
    }
    if (scratch)
      adopt_leftover();
    if (n == 0) {
      // The peer closed (or half-closed) its side. Requests already
      // buffered are still answered; then the connection closes.
      peer_eof_ = true;
      if (!io().write_blocked())
        closing_ = true;
      break;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      break;
    close_now();
    break;
  }
}

void h1_driver::adopt_leftover() {
  // data_ is the reactor's scratch buffer, which the next connection
  // reuses: move any unprocessed bytes into our own buffer. (If processing
  // already moved them there — move_input() for a large body — or closed
  // the connection, there is nothing to do.)
  if (data_ != home().scratch().first)
    return;
  auto used = end_ - begin_;
  if (used == 0 || phase_ == phase::done) {
    data_ = own_.get();
    cap_ = own_cap_;
    begin_ = end_ = 0;
    return;
  }
  move_input(std::max(initial_buffer, used + min_read_space));
}

void h1_driver::hand_off() {
  // The last act of this driver: the connection goes to the driver the
  // offer makes, with the bytes read after the upgrading request. The
  // buffers stay until the connection ends (a caller up the stack may hold
  // a view into them, as after stop()).
  auto offer = std::move(upgrade_);
  std::string leftover{data_ + begin_, end_ - begin_};
  phase_ = phase::done;
  home().disarm(timer_.node);
  home().disarm(rate_.node);
  begin_ = end_ = 0;
  head_complete_ = false;
  release_request_state();
  auto next = offer->make_driver(*host_, std::move(leftover));
  host_->upgrade(std::move(next)); // may close the connection
}

void h1_driver::process_input() {
  if (phase_ == phase::waiting || phase_ == phase::streaming) {
    if (def().body_open && def().read_cb)
      deliver_body();
    return;
  }
  while (!closing_ && !io().write_blocked() && phase_ != phase::done &&
         phase_ != phase::waiting && phase_ != phase::streaming) {
    if (!head_complete_) {
      if (begin_ == end_)
        return;
      if (phase_ == phase::idle)
        begin_request_timing();
      auto st = rs().parser.parse({data_ + begin_, end_ - begin_});
      if (st == http1::parse_status::need_more)
        return;
      if (st == http1::parse_status::reject) {
        respond_error(http1::status_of(rs().parser.error()),
                      http1::to_string(rs().parser.error()));
        return;
      }
      head_complete_ = true; // it counts as served (dispatch or reject)
      if (!start_body())
        return;
      if (!head_complete_)
        continue; // manual body mode answered it already (dispatch_manual)
    }
    if (phase_ == phase::done || !body_ready())
      return;
    // A flood of pipelined requests must not pile up responses: past the
    // backlog limit write now, and stop while the peer does not read.
    if (io().out().pending() >= max_output_backlog)
      flush();
  }
}

bool h1_driver::start_body() {
  auto& h = rs().parser.head();
  auto head_len = rs().parser.consumed();
  auto max_body = static_cast<uint64_t>(shared().opts.max_content_length);
  phase_ = phase::body;
  if (h.framing == http1::body_framing::none)
    return true;
  bool body_started = end_ - begin_ > head_len;
  if (h.framing == http1::body_framing::content_length) {
    // 413 decided from Content-Length before reading the body (RFC 9110
    // 15.5.14); no 100 Continue is sent for it.
    if (h.content_length > max_body) {
      respond_error(413, "body_too_large");
      return false;
    }
    if (host_->info().manual_body && h.content_length > 0)
      return dispatch_manual();
    // A small request is read whole into the input buffer; a larger body
    // goes to the body store, sized to its Content-Length at once (memory
    // is only touched as bytes arrive) under the listener's budget, or
    // spooled (issue 18: 60 uploads of 10 MB must not take 600 MB).
    auto need = head_len + static_cast<size_t>(h.content_length);
    if (begin_ + need > cap_) {
      if (need <= max_buffered_request)
        move_input(std::max(need, initial_buffer));
      else if (!store_body(head_len, h.content_length))
        return false;
    }
  } else {
    rs().chunked.reset();
    body_pos_ = begin_ + head_len;
    if (host_->info().manual_body) {
      rs().chunked_body.clear();
      return dispatch_manual();
    }
    // Decoded chunk data goes to the body store (its size is unknown: it
    // grows in bounded steps under the budget, or spools).
    rs().body.start(&shared().bodies, max_body);
    rs().body_stored = true;
  }
  // move_input() re-parsed the head.
  if (rs().parser.head().expect_continue && !body_started) {
    // RFC 9110 10.1.1: the client waits for this before sending the body.
    io().out().buffer().append(continue_line);
    flush(); // may close the connection (write error)
  }
  return phase_ != phase::done;
}

bool h1_driver::store_body(size_t head_len, uint64_t len) {
  // The body goes to the store: the budget for all of it is taken now (or
  // it spools from the start), the bytes already here move over, and the
  // input buffer keeps the head and room for one read.
  auto& body = rs().body;
  body.start(&shared().bodies, len);
  rs().body_stored = true;
  auto at = begin_ + head_len;
  if (body.reserve() == io::body_store::result::no_room ||
      body.append(data_ + at, end_ - at) == io::body_store::result::no_room) {
    // Over the budget and no spooling (or the file failed): before the
    // body is sent when the client waits for 100 Continue.
    respond_error(503, "body_memory_budget");
    return false;
  }
  end_ = at;
  move_input(head_len + body_read_space);
  return true;
}

bool h1_driver::stored_body_ready(size_t head_len, uint64_t len) {
  // Moves the body bytes that arrived to the store (pipelined bytes after
  // the body slide down behind the head); true once the body is whole.
  auto& body = rs().body;
  auto at = begin_ + head_len;
  auto n =
    static_cast<size_t>(std::min<uint64_t>(end_ - at, len - body.size()));
  if (n > 0) {
    if (body.append(data_ + at, n) == io::body_store::result::no_room) {
      respond_error(503, "body_memory_budget");
      return false;
    }
    std::memmove(data_ + at, data_ + at + n, end_ - at - n);
    end_ -= n;
  }
  return body.size() == len;
}

bool h1_driver::chunked_body_ready() {
  bool no_room = false;
  auto st = rs().chunked.decode({data_ + body_pos_, end_ - body_pos_},
                                [this, &no_room](std::string_view d) {
                                  if (!no_room &&
                                      rs().body.append(d.data(), d.size()) ==
                                        io::body_store::result::no_room)
                                    no_room = true;
                                });
  body_pos_ += rs().chunked.consumed();
  if (st == http1::parse_status::need_more)
    compact_chunked(); // the next read gets the whole buffer
  if (no_room) {
    respond_error(503, "body_memory_budget");
    return false;
  }
  if (st == http1::parse_status::reject) {
    respond_error(http1::status_of(rs().chunked.error()),
                  http1::to_string(rs().chunked.error()));
    return false;
  }
  return st == http1::parse_status::complete;
}

bool h1_driver::compact_chunked() noexcept {
  // Decoded chunk bytes are copied out already: move the undecoded tail
  // down to the end of the head, which stays in place (its views too).
  auto keep_from = begin_ + rs_->parser.consumed();
  if (body_pos_ <= keep_from)
    return false;
  std::memmove(data_ + keep_from, data_ + body_pos_, end_ - body_pos_);
  end_ -= body_pos_ - keep_from;
  body_pos_ = keep_from;
  return true;
}

bool h1_driver::dispatch_stored() {
  // A spooled body is mapped for the handler; if that fails it gets no
  // empty body but a 503 (the whole body was read: nothing is left unread).
  auto body = rs().body.view();
  if (!body) {
    respond_error(503, "body_unmappable");
    return false;
  }
  dispatch(*body);
  drop_body(); // the handler is done with it (a deferred one gets no view)
  return true;
}

void h1_driver::drop_body() noexcept {
  if (!rs_)
    return;
  rs_->body.clear();
  rs_->body_stored = false;
}

bool h1_driver::body_ready() {
  auto& h = rs().parser.head();
  auto head_len = rs().parser.consumed();
  size_t used = 0;
  switch (h.framing) {
  case http1::body_framing::none:
    used = head_len;
    dispatch({});
    break;
  case http1::body_framing::content_length: {
    if (rs().body_stored) {
      if (!stored_body_ready(head_len, h.content_length) || !dispatch_stored())
        return false;
      used = head_len; // the body left the buffer for the store
      break;
    }
    auto len = static_cast<size_t>(h.content_length);
    if (end_ - begin_ < head_len + len)
      return false;
    used = head_len + len;
    dispatch({data_ + begin_ + head_len, len});
    break;
  }
  case http1::body_framing::chunked:
    if (!chunked_body_ready() || !dispatch_stored())
      return false;
    used = body_pos_ - begin_;
    break;
  }
  // The request is done: drop its bytes, keep any pipelined ones.
  begin_ += used;
  head_complete_ = false;
  rs().parser.reset();
  if (begin_ == end_)
    begin_ = end_ = 0;
  if (upgrade_) {
    hand_off(); // this driver is done
    return false;
  }
  if (deferred() && !apply_exchange())
    return false; // a deferred answer: wait for it (on_wake goes on)
  if (phase_ == phase::done)
    return false;
  if (closing_)
    return false;
  if (begin_ == end_)
    enter_idle();
  else
    begin_request_timing(); // a pipelined request is already here
  return true;
}

bool h1_driver::dispatch_manual() {
  // body_buffering = manual: the handler runs on the head alone and pulls
  // the body through its responder (deliver_body). The head's bytes are
  // dropped once it ran; what follows in the buffer is body.
  auto& h = rs().parser.head();
  bool expect = h.expect_continue;
  bool chunked = h.framing == http1::body_framing::chunked;
  auto head_len = rs().parser.consumed();
  dispatch({});
  begin_ += head_len;
  head_complete_ = false;
  rs().parser.reset();
  if (upgrade_) {
    hand_off(); // this driver is done
    return false;
  }
  if (phase_ == phase::done)
    return false;
  if (!deferred())
    return false; // answered at once: the unread body closes the connection
  def().expect_continue = expect;
  def().chunked_body = chunked;
  if (!apply_exchange())
    return false; // on_wake goes on
  after_request();
  return phase_ != phase::done && !closing_;
}

// -- requests -----------------------------------------------------------------

void h1_driver::dispatch(std::string_view body) {
  auto& h = rs().parser.head();
  home().disarm(timer_.node);
  home().disarm(rate_.node);
  request req{h, body, host_->info()};
  request_ticket t;
  std::shared_ptr<actor_exchange> x;
  auto resp = life().dispatch(req, 0, t, x);
  t.bytes_received += rs().parser.consumed(); // the head, as received
  auto max_requests =
    static_cast<uint64_t>(shared().opts.max_keep_alive_requests);
  bool close =
    !h.keep_alive || life().served() >= max_requests || host_->draining();
  bool head_only = h.method == "HEAD";
  if (x && phase_ != phase::done) {
    // The handler answers later through the responder: park the request
    // (later pipelined requests wait behind it) until the exchange says
    // how it ends.
    auto& d = def();
    d = deferred_request{};
    d.req.adopt(t, std::move(x), resp);
    d.version_minor = h.version_minor;
    d.head_only = head_only;
    d.close = close;
    d.body_open = req.body_pending();
    if (d.body_open && h.framing == http1::body_framing::content_length)
      d.body_left = h.content_length;
    if (auto ms = d.req.x->deadline(); ms >= 0)
      d.deadline_at = home().now_ms() + ms;
    phase_ = phase::waiting;
    arm_deadline();
    return;
  }
  if (x) {
    // The connection ended during the handler call: nobody will answer.
    x->cancel();
    resp = response::text(500, "Internal Server Error");
  }
  if (resp.status() == 101) {
    // A protocol switch the handler accepted (WebSocket): the 101 head
    // goes out now, the bytes after this request belong to the new
    // protocol (body_ready hands them over), and the request stays open
    // until the new driver ends it. Not while draining, not on HTTP/1.0.
    auto offer = life().take_upgrade();
    if (offer && phase_ != phase::done && !host_->draining() &&
        h.version_minor == 1 && !req.body_pending()) {
      offer->head_bytes =
        queued_head([&] { offer->write_head(io().out().buffer(), resp); });
      offer->request.adopt(t, nullptr, resp);
      upgrade_ = std::move(offer);
      return;
    }
    resp = host_->draining() ? response::text(503, "Service Unavailable")
                             : response::text(400, "Bad Request");
  }
  if (req.body_pending())
    close = true; // manual mode: the body was not read, do not parse it
  auto sent = write_response(resp, head_only, close, h.version_minor);
  life().finish(t, resp.status(), sent);
}

bytes_out h1_driver::write_response(roadrunner::response& resp, bool head_only,
                                    bool close, uint8_t version_minor) {
  if (!http1::is_writable(resp))
    resp = roadrunner::response::text(500, "Internal Server Error");
  for (auto& f : resp.fields())
    if (http1::iequals(f.name, "connection") &&
        http1::has_token(f.value, "close"))
      close = true;
  auto conn_field = http1::connection_field::none;
  if (close)
    conn_field = http1::connection_field::close;
  else if (version_minor == 0)
    conn_field = http1::connection_field::keep_alive;
  auto body_size =
    allows_content(resp.status()) ? static_cast<size_t>(resp.body_size()) : 0;
  auto head = queued_head([&] {
    http1::write_head(io().out().buffer(), resp, body_size, http_date(),
                      conn_field);
  });
  bytes_out sent{head, 0};
  // RFC 9110 9.3.2: HEAD gets the GET headers without the content.
  if (body_size > 0 && !head_only) {
    sent.body = body_size;
    sent.total += body_size;
    if (resp.file_body())
      io().out().append_file(resp.file_body()); // sendfile: zero copy
    else
      io().out().append_body(resp.take_body());
  }
  if (close)
    closing_ = true;
  return sent;
}

template <class F>
uint64_t h1_driver::queued_head(F&& write) {
  // Bytes a head took in the output queue, counted only for telemetry.
  if (!life().observed()) {
    write();
    return 0;
  }
  auto before = io().out().pending();
  write();
  return io().out().pending() - before;
}

// -- deferred requests ------------------------------------------------------

void h1_driver::on_deferred() {
  if (!deferred() || phase_ == phase::done)
    return;
  if (!apply_exchange()) {
    if (phase_ != phase::done && def().body_open && def().read_cb) {
      // A manual-body read waits for bytes: read the socket (the edge
      // that announced them may be long gone).
      io().read_paused = false;
      read_input();
    }
    return;
  }
  resume_after_deferred();
}

void h1_driver::resume_after_deferred() {
  // The deferred request is over: serve what waits behind it.
  after_request();
  if (phase_ == phase::done)
    return;
  if (end_ > begin_ && !closing_)
    process_input();
  if (phase_ == phase::done)
    return;
  // Read only if input was left in the socket meanwhile (io().read_paused):
  // otherwise the last read drained it and a new arrival raises a new edge.
  // Saves a read() -> EAGAIN per deferred request.
  if (std::exchange(io().read_paused, false))
    read_input();
  else
    flush();
}

bool h1_driver::apply_exchange() {
  // Returns true when the deferred request ended (def_ is reset then).
  auto x = def_.get() != nullptr ? def_->req.x : nullptr; // kept alive
  if (!x)
    return false;
  if (def().body_open)
    deliver_body();
  auto current = [this] { return def_ ? def_->req.x.get() : nullptr; };
  if (!ops_)
    ops_ = std::make_unique<std::vector<exchange_op>>();
  auto& ops = *ops_; // outlives def_ (complete_deferred resets it)
  while (current() == x.get() && phase_ != phase::done) {
    ops.clear();
    if (!x->take(ops))
      break;
    for (auto& op : ops) {
      if (current() != x.get() || phase_ == phase::done)
        break;
      switch (op.what) {
      case exchange_op::kind::respond:
        complete_deferred(std::move(op.resp));
        break;
      case exchange_op::kind::start:
        start_stream(std::move(op.resp));
        break;
      case exchange_op::kind::chunk:
        stream_chunk(std::move(op.data));
        break;
      case exchange_op::kind::finish:
        finish_stream(op.trailers);
        break;
      case exchange_op::kind::abort:
      case exchange_op::kind::abandon:
        if (phase_ == phase::streaming) {
          // The head is out: all we can do is cut the body short.
          end_deferred(def().req.status);
          close_now();
        } else {
          complete_deferred(
            roadrunner::response::text(500, "Internal Server Error"));
        }
        break;
      case exchange_op::kind::read_body:
        def().read_max = op.max;
        def().read_cb = std::move(op.cb);
        deliver_body();
        break;
      }
    }
  }
  ops.clear();
  if (phase_ == phase::done)
    return false;
  return current() != x.get();
}

void h1_driver::complete_deferred(roadrunner::response resp) {
  for (auto& f : def().req.extra)
    resp.header(std::move(f.name), std::move(f.value));
  bool close = def().close || host_->draining();
  if (def().body_open) {
    // The handler answered without reading the whole body: the rest of
    // the connection's bytes cannot be framed; close after the answer.
    close = true;
    linger_ = true;
  }
  def().req.sent =
    write_response(resp, def().head_only, close, def().version_minor);
  end_deferred(resp.status());
  flush();
}

void h1_driver::start_stream(roadrunner::response head) {
  for (auto& f : def().req.extra)
    head.header(std::move(f.name), std::move(f.value));
  def().req.extra.clear();
  if (def().body_open) {
    def().close = true;
    linger_ = true;
  }
  def().req.status = head.status();
  // HTTP/1.0 has no chunked coding: the body ends with the connection.
  def().chunked = def().version_minor == 1;
  bool close = def().close || host_->draining() || !def().chunked;
  for (auto& f : head.fields())
    if (http1::iequals(f.name, "connection") &&
        http1::has_token(f.value, "close"))
      close = true;
  def().close = close;
  auto conn_field =
    close ? http1::connection_field::close : http1::connection_field::none;
  def().req.sent.total += queued_head([&] {
    if (!allows_content(head.status())) {
      // 204 / 304 carry no content: announce an empty body, drop the
      // pieces.
      http1::write_head(io().out().buffer(), head, 0, http_date(), conn_field);
      def().discard = true;
    } else {
      http1::write_stream_head(io().out().buffer(), head, http_date(),
                               conn_field, def().chunked);
      def().discard = def().head_only;
    }
  });
  phase_ = phase::streaming;
  home().disarm(timer_.node); // the deadline was for the answer's start
  flush();
}

void h1_driver::stream_chunk(std::string data) {
  auto n = data.size();
  if (def().discard || n == 0) {
    def().req.x->written(n);
    return;
  }
  auto& sent = def().req.sent;
  sent.body += n;
  sent.total += n;
  if (def().chunked) {
    sent.total +=
      queued_head([&] { http1::write_chunk_size(io().out().buffer(), n); }) + 2;
    io().out().append_body(std::move(data));
    io().out().buffer().append("\r\n");
  } else {
    io().out().append_body(std::move(data));
  }
  def().out_payload += n;
  flush();
}

void h1_driver::finish_stream(
  std::vector<roadrunner::response::field>& trailers) {
  if (!def().discard && def().chunked) {
    if (!http1::is_writable_trailers(trailers)) {
      // The head is out: an unsafe trailer cuts the body short instead.
      end_deferred(def().req.status);
      close_now();
      return;
    }
    def().req.sent.total += queued_head(
      [&] { http1::write_last_chunk(io().out().buffer(), trailers); });
  }
  if (def().close)
    closing_ = true;
  end_deferred(def().req.status);
  flush();
}

void h1_driver::end_deferred(int status) {
  // The request is over from the connection's side: the lifecycle releases
  // the admission slot, reports it and voids the responder.
  auto d = std::move(*def_);
  def_.reset();
  if (d.body_open && !closing_) {
    closing_ = true;
    linger_ = true;
  }
  life().end(d.req, status);
}

void h1_driver::arm_deadline() {
  // Waiting: timer_ carries the handler's deadline (or, while a manual
  // body read waits for bytes, request_timeout: whichever is first).
  if (def().deadline_at < 0) {
    home().disarm(timer_.node);
    return;
  }
  home().arm(timer_.node,
             std::max<int64_t>(0, def().deadline_at - home().now_ms()));
}

void h1_driver::arm_body_wait() {
  auto wait = shared().opts.request_timeout.count();
  if (def().deadline_at >= 0)
    wait = std::min<int64_t>(
      wait, std::max<int64_t>(0, def().deadline_at - home().now_ms()));
  home().arm(timer_.node, wait);
}

void h1_driver::after_request() {
  // A deferred request ended: go on like a synchronous one would have.
  if (phase_ == phase::done)
    return;
  if (closing_) {
    phase_ = phase::idle;
    flush();
    return;
  }
  if (begin_ == end_)
    enter_idle();
  else
    begin_request_timing();
}

void h1_driver::report_written() {
  // Streamed payload still counts against the writer's limit until it
  // leaves the output queue (framing bytes are not told apart: the count
  // errs on the side of "still buffered").
  auto pending = io().out().pending();
  if (pending >= def().out_payload)
    return;
  auto n = def().out_payload - pending;
  def().out_payload = pending;
  def().req.x->written(n); // on_ready (guarded) can only queue operations
}

void h1_driver::deliver_body() {
  // Manual body mode: hand the next piece to a pending read_body.
  if (!def().read_cb)
    return;
  if (!def().body_open) {
    auto cb = std::move(def().read_cb);
    def().read_cb = nullptr;
    life().deliver(def().req, cb, {}, true);
    return;
  }
  if (!def().continue_sent) {
    def().continue_sent = true;
    if (def().expect_continue && end_ == begin_) {
      // RFC 9110 10.1.1: now the body will be read.
      io().out().buffer().append(continue_line);
      flush();
      if (phase_ == phase::done)
        return;
    }
  }
  std::string_view piece;
  bool last = false;
  if (!def().chunked_body) {
    auto avail = std::min<uint64_t>(end_ - begin_, def().body_left);
    if (avail == 0 && def().body_left > 0) {
      arm_body_wait();
      return; // wait for bytes
    }
    auto n = static_cast<size_t>(std::min<uint64_t>(avail, def().read_max));
    piece = {data_ + begin_, n};
    begin_ += n;
    def().body_left -= n;
    last = def().body_left == 0;
  } else {
    if (!def().chunked_done) {
      auto st = rs().chunked.decode(
        {data_ + begin_, end_ - begin_},
        [this](std::string_view data) { rs().chunked_body.append(data); });
      begin_ += rs().chunked.consumed();
      if (st == http1::parse_status::reject) {
        auto status = http1::status_of(rs().chunked.error());
        bool streaming = phase_ == phase::streaming;
        end_deferred(status);
        if (streaming) {
          close_now(); // the answer's head is out: cut it short
        } else {
          respond_error(status, http1::to_string(rs().chunked.error()));
          flush();
        }
        return;
      }
      def().chunked_done = st == http1::parse_status::complete;
    }
    if (rs().chunked_body.empty() && !def().chunked_done) {
      arm_body_wait();
      return; // wait for bytes
    }
    auto n = std::min(rs().chunked_body.size(), def().read_max);
    def().piece.assign(rs().chunked_body, 0, n);
    rs().chunked_body.erase(0, n);
    piece = def().piece;
    last = def().chunked_done && rs().chunked_body.empty();
  }
  arm_deadline();
  if (last)
    def().body_open = false;
  auto cb = std::move(def().read_cb);
  def().read_cb = nullptr;
  // A throwing callback ends the request as an abort would (the exchange
  // queued it: apply_exchange takes it next).
  life().deliver(def().req, cb, piece, last);
}

void h1_driver::respond_error(int status, std::string_view reason) {
  // A request whose head parsed counts as served (a 413, a bad chunk, a
  // body timeout), a malformed one does not.
  life().reject(status, reason, head_complete_);
  home().disarm(timer_.node);
  home().disarm(rate_.node);
  http1::write_error(io().out().buffer(), status, http_date());
  closing_ = true;
  linger_ = true; // the peer may still be sending (a body, more requests)
  head_complete_ = false;
  begin_ = end_ = 0; // nothing after a rejected request is trustworthy
  drop_body();
}

void h1_driver::begin_request_timing() {
  phase_ = phase::head;
  request_start_ms_ = home().now_ms();
  request_bytes_ = end_ - begin_;
  // The first request keeps the deadline armed at accept.
  if (life().served() > 0)
    home().arm(timer_.node, shared().opts.request_timeout.count());
  if (shared().opts.min_bytes_per_second > 0)
    home().arm(rate_.node, shared().opts.rate_check_interval.count());
}

void h1_driver::enter_idle() {
  phase_ = phase::idle;
  home().arm(timer_.node, shared().opts.keep_alive_timeout.count());
  if (auto& after = shared().opts.hibernate_after)
    home().arm(rate_.node, after->count());
  else
    home().disarm(rate_.node);
  shrink_buffers();
}

void h1_driver::shrink_buffers() noexcept {
  // A big request or response must not pin its buffers for the rest of a
  // keep-alive connection's life. The request state (parser, chunked
  // decoder) goes back to the thread's pool and the output queue's spare
  // buffer to its own pool: an idle connection owns neither.
  if (own_ && begin_ == end_) {
    own_.reset();
    own_cap_ = cap_ = begin_ = end_ = 0;
    data_ = nullptr;
  }
  if (begin_ == end_ && !head_complete_)
    release_request_state();
  if (def_ && !def_->req.open())
    def_.reset();
  if (io().out().empty())
    io().out().release_spare();
}

void h1_driver::hibernate() {
  // hibernate_after: an idle connection gives back its read and write
  // buffers (they come back on the next byte). The keep-alive deadline
  // (timer_) stays armed: hibernation never disables a timeout (upstream
  // bug F3, docs/upstream-bugs.md).
  if (phase_ != phase::idle || begin_ != end_ || !io().out().empty())
    return;
  own_.reset();
  own_cap_ = cap_ = begin_ = end_ = 0;
  data_ = nullptr;
  release_request_state();
  io().out().clear();
  shared().stats.hibernations.fetch_add(1, std::memory_order_relaxed);
}

// -- request state pool ------------------------------------------------------

namespace {

// Free request states of this thread (a reactor thread: connections use
// theirs only on their home reactor). Bounded: a burst of concurrent
// requests may allocate more, the surplus is freed when they end.
constexpr size_t request_state_pool_max = 64;

struct request_state_pool_t {
  std::vector<std::unique_ptr<h1_request_state>> free;
  [[gnu::noinline]] request_state_pool_t() {
    free.reserve(request_state_pool_max);
  }
};

std::vector<std::unique_ptr<h1_request_state>>& request_state_pool() {
  thread_local request_state_pool_t pool;
  return pool.free;
}

} // namespace

void h1_driver::acquire_request_state() {
  auto& pool = request_state_pool();
  auto max_body = static_cast<uint64_t>(shared().opts.max_content_length);
  // Listeners may differ in limits: take a state made for ours, if any
  // (nearly always the last one: most servers have one listener).
  for (auto i = pool.size(); i > 0; --i) {
    auto& st = pool[i - 1];
    if (st->max_body == max_body && st->limits == shared().limits) {
      rs_ = std::move(st);
      if (i != pool.size())
        pool[i - 1] = std::move(pool.back());
      pool.pop_back();
      return;
    }
  }
  rs_ = std::make_unique<h1_request_state>(shared().limits, max_body);
}

void h1_driver::release_request_state() noexcept {
  if (!rs_)
    return;
  auto& pool = request_state_pool();
  if (pool.size() >= request_state_pool_max) {
    rs_.reset();
    return;
  }
  // A pooled state keeps its vectors for the next request, unless a big
  // head grew them.
  if (rs_->parser.head().headers.capacity() > 32)
    rs_->parser.release();
  else
    rs_->parser.reset();
  rs_->chunked.reset();
  rs_->body.clear();
  rs_->body_stored = false;
  if (rs_->chunked_body.capacity() > initial_buffer)
    free_string(rs_->chunked_body);
  else
    rs_->chunked_body.clear();
  pool.push_back(std::move(rs_)); // capacity reserved: cannot throw
}

// -- output -------------------------------------------------------------------

void h1_driver::flush() {
  if (phase_ == phase::done)
    return;
  auto& out = io().out();
  if (!out.empty()) {
    bool was_blocked = io().write_blocked();
    auto res = io().flush();
    if (deferred() && def_->out_payload > 0 &&
        res != transport::flush_result::failed)
      report_written();
    switch (res) {
    case transport::flush_result::done:
      if (was_blocked)
        rearm_phase_timer(); // the send deadline is over
      if (phase_ == phase::idle)
        out.release_spare(); // an idle connection keeps no buffer
      break;
    case transport::flush_result::blocked:
      // The transport's send deadline runs while output waits; the phase
      // timer starts again once it is out.
      home().disarm(timer_.node);
      return;
    case transport::flush_result::failed:
      close_now();
      return;
    }
  }
  // Told to drain while a response was still queued: now it is out and
  // nothing else is pending, so the connection is idle — close it.
  if (host_->draining() && phase_ == phase::idle && begin_ == end_ &&
      out.empty())
    closing_ = true;
  if (closing_)
    finish_connection();
}

void h1_driver::finish_connection() {
  // Linger (shut our side, discard input for a while) only when the peer
  // may still be sending — after a rejection, or with pipelined bytes we
  // will not answer — so that close() does not turn into a reset that
  // destroys the response in flight. A clean `connection: close` with
  // nothing unread, or a peer that already closed, just closes.
  if (!peer_eof_ && (linger_ || end_ > begin_)) {
    phase_ = phase::done;
    begin_ = end_ = 0;
    host_->linger();
  } else {
    close_now();
  }
}

void h1_driver::rearm_phase_timer() {
  switch (phase_) {
  case phase::idle:
    home().arm(timer_.node, shared().opts.keep_alive_timeout.count());
    break;
  case phase::head:
  case phase::body:
    home().arm(timer_.node, shared().opts.request_timeout.count());
    break;
  case phase::waiting:
    arm_deadline();
    break;
  case phase::streaming:
    home().disarm(timer_.node);
    break;
  case phase::done:
    break;
  }
}

// -- buffer -------------------------------------------------------------------

bool h1_driver::make_room(size_t min_free) {
  // Own-buffer mode only (data_ == own_ or no buffer yet).
  if (!own_) {
    own_cap_ = initial_buffer;
    own_ = std::make_unique<char[]>(own_cap_);
    data_ = own_.get();
    cap_ = own_cap_;
    begin_ = end_ = 0;
  }
  // A body that goes to the body store gets room for full reads after
  // the head (once); else any min_free will do.
  bool stored = head_complete_ && rs().body_stored;
  auto roomy = [&] {
    return cap_ - end_ >= min_free &&
           (!stored ||
            cap_ - begin_ >= rs().parser.consumed() + body_read_space);
  };
  if (roomy())
    return true;
  if (head_complete_ &&
      rs().parser.head().framing == http1::body_framing::chunked &&
      compact_chunked() && roomy())
    return true;
  auto used = end_ - begin_;
  if (stored) {
    // The body leaves the buffer for the body store as it arrives: the
    // buffer holds the head, a partial chunk line and one read, never the
    // body.
    move_input(
      std::max(used + min_free, rs().parser.consumed() + body_read_space));
    return true;
  }
  if (head_complete_ &&
      rs().parser.head().framing == http1::body_framing::content_length) {
    // A Content-Length body: the buffer doubles towards the whole request
    // and never past it (issue 18: a 9.9 MB body took 15.5 MB).
    auto whole = rs().parser.consumed() +
                 static_cast<size_t>(rs().parser.head().content_length);
    if (used < whole) {
      auto free_needed = std::min(min_free, whole - used);
      if (cap_ - end_ >= free_needed)
        return true;
      move_input(std::max(used + free_needed, std::min(cap_ * 2, whole)));
      return true;
    }
  }
  if (!head_complete_ && begin_ > 0 && cap_ - used >= min_free) {
    // The parser keeps offsets from begin_, so sliding is safe.
    std::memmove(data_, data_ + begin_, used);
    begin_ = 0;
    end_ = used;
    return true;
  }
  move_input(std::max(cap_ * 2, used + min_free));
  return true;
}

void h1_driver::move_input(size_t capacity) {
  // Moves [begin_, end_) to the start of a buffer of our own with room for
  // `capacity` bytes (a fresh one unless the current one is not data_'s).
  auto used = end_ - begin_;
  if (data_ == own_.get() || own_cap_ < capacity) {
    auto fresh = std::make_unique<char[]>(capacity);
    std::memcpy(fresh.get(), data_ + begin_, used);
    own_ = std::move(fresh);
    own_cap_ = capacity;
  } else {
    std::memcpy(own_.get(), data_ + begin_, used);
  }
  if (head_complete_)
    body_pos_ -= begin_;
  data_ = own_.get();
  cap_ = own_cap_;
  begin_ = 0;
  end_ = used;
  if (head_complete_) {
    // The head's views pointed into the old buffer: parse it again (same
    // bytes, same result). A partial head needs nothing: the parser keeps
    // offsets.
    rs().parser.reset();
    rs().parser.parse({data_, end_});
  }
}

} // namespace roadrunner::detail
