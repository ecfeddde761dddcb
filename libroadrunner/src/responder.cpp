#include "exchange.hpp"
#include "http1/serializer.hpp"

#include <algorithm>
#include <exception>
#include <utility>

namespace roadrunner {

namespace detail {

// -- handler side
// ---------------------------------------------------------------

template <class F>
auto exchange::with_lock(F&& f) {
  bool wake_up = false;
  auto queue = [this, &wake_up](exchange_op&& op) {
    wake_up = ops_.empty();
    ops_.push_back(std::move(op));
  };
  auto result = [&] {
    std::lock_guard<std::mutex> guard{mtx_};
    return f(queue);
  }();
  // Outside the lock: waking sends a message (and may run on any thread).
  if (wake_up)
    wake();
  return result;
}

bool exchange::respond(response r) {
  return with_lock([&](auto& queue) {
    if (cancelled_ || state_ != state::pending)
      return false;
    state_ = state::done;
    queue({.what = exchange_op::kind::respond, .resp = std::move(r)});
    return true;
  });
}

bool exchange::start(response head) {
  return with_lock([&](auto& queue) {
    if (cancelled_ || state_ != state::pending)
      return false;
    if (!http1::is_writable(head)) {
      // Never write an injected head: answer 500 instead.
      state_ = state::done;
      queue({.what = exchange_op::kind::respond,
             .resp = response::text(500, "Internal Server Error")});
      return false;
    }
    state_ = state::streaming;
    queue({.what = exchange_op::kind::start, .resp = std::move(head)});
    return true;
  });
}

write_status exchange::write(std::string data) {
  return with_lock([&](auto& queue) {
    if (cancelled_ || state_ != state::streaming)
      return write_status::closed;
    if (data.empty())
      return write_status::ok;
    auto queued = buffered_.load(std::memory_order_relaxed);
    if (queued > 0 && queued + data.size() > stream_writer::limit) {
      want_ready_ = true;
      return write_status::full;
    }
    buffered_.fetch_add(data.size(), std::memory_order_release);
    queue({.what = exchange_op::kind::chunk, .data = std::move(data)});
    return write_status::ok;
  });
}

bool exchange::finish(std::vector<response::field> trailers) {
  return with_lock([&](auto& queue) {
    if (cancelled_ || state_ != state::streaming)
      return false;
    state_ = state::done;
    queue({.what = exchange_op::kind::finish, .trailers = std::move(trailers)});
    return true;
  });
}

void exchange::end(exchange_op::kind why) {
  with_lock([&](auto& queue) {
    if (cancelled_ || state_ == state::done)
      return false;
    state_ = state::done;
    queue({.what = why});
    return true;
  });
}

void exchange::fail(int status, std::string why) {
  with_lock([&](auto& queue) {
    if (cancelled_ || state_ == state::done)
      return false;
    // `data` carries the failure to report (a respond or abort op has no
    // data of its own); take() reports it on the connection's thread.
    if (state_ == state::pending)
      queue({.what = exchange_op::kind::respond,
             .resp =
               response::text(status, status == 503 ? "Service Unavailable"
                                                    : "Internal Server Error"),
             .data = std::move(why)});
    else
      queue({.what = exchange_op::kind::abort, .data = std::move(why)});
    state_ = state::done;
    return true;
  });
}

template <class F>
bool exchange::guarded(F&& f, bool abort_open) noexcept {
  try {
    f();
    return true;
  } catch (const std::exception& ex) {
    callback_failed(ex.what());
  } catch (...) {
    callback_failed("unknown exception");
  }
  if (abort_open) {
    try {
      end(exchange_op::kind::abort);
    } catch (...) {
      // Out of memory queueing the abort: the connection's timers end it.
    }
  }
  return false;
}

void exchange::abort() {
  end(exchange_op::kind::abort);
}

void exchange::abandon() {
  end(exchange_op::kind::abandon);
}

void exchange::read_body(size_t max, body_callback cb) {
  with_lock([&](auto& queue) {
    if (cancelled_ || !cb)
      return false;
    queue({.what = exchange_op::kind::read_body,
           .max = max == 0 ? 1 : max,
           .cb = std::move(cb)});
    return true;
  });
}

void exchange::set_on_ready(std::function<void()> fn) {
  std::lock_guard<std::mutex> guard{mtx_};
  on_ready_ = std::move(fn);
}

void exchange::set_on_drain(std::function<void(int64_t)> fn) {
  std::lock_guard<std::mutex> guard{mtx_};
  on_drain_ = std::move(fn);
}

void exchange::set_on_close(std::function<void()> fn) {
  std::lock_guard<std::mutex> guard{mtx_};
  on_close_ = std::move(fn);
}

void exchange::set_on_cancel(std::function<void()> fn) {
  std::lock_guard<std::mutex> guard{mtx_};
  on_cancel_ = std::move(fn);
}

bool exchange::done() const noexcept {
  std::lock_guard<std::mutex> guard{mtx_};
  return cancelled_ || state_ == state::done;
}

std::shared_ptr<exchange_handle> exchange::handle() {
  std::lock_guard<std::mutex> guard{mtx_};
  auto h = handle_.lock();
  if (!h) {
    h = std::make_shared<exchange_handle>(shared_from_this());
    handle_ = h;
  }
  return h;
}

// -- connection side
// ------------------------------------------------------------

bool exchange::take(std::vector<exchange_op>& out) {
  auto first = out.size();
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (ops_.empty())
      return false;
    for (auto& op : ops_)
      out.push_back(std::move(op));
    ops_.clear();
  }
  if (filter_)
    apply_filter(out, first);
  // A failure noted by fail() (any thread) is reported here, on the
  // connection's thread.
  for (auto i = first; i < out.size(); ++i)
    if ((out[i].what == exchange_op::kind::respond ||
         out[i].what == exchange_op::kind::abort) &&
        !out[i].data.empty())
      callback_failed(std::exchange(out[i].data, std::string{}));
  return true;
}

void exchange::filter(std::unique_ptr<exchange_filter> f) {
  filter_ = std::move(f);
}

void exchange::apply_filter(std::vector<exchange_op>& out, size_t first) {
  // A rewritten chunk changes size: buffered_ counts what the connection
  // will report written, so it follows the new sizes.
  int64_t delta = 0;
  for (auto i = first; i < out.size(); ++i) {
    auto& op = out[i];
    switch (op.what) {
    case exchange_op::kind::respond:
      if (op.data.empty()) // not a failure noted by fail()
        filter_->on_response(op.resp);
      break;
    case exchange_op::kind::start:
      filter_->on_head(op.resp);
      break;
    case exchange_op::kind::chunk: {
      auto before = static_cast<int64_t>(op.data.size());
      filter_->on_chunk(op.data);
      delta += static_cast<int64_t>(op.data.size()) - before;
      break;
    }
    case exchange_op::kind::finish: {
      auto tail = filter_->on_finish();
      if (tail.empty())
        break;
      delta += static_cast<int64_t>(tail.size());
      exchange_op piece{.what = exchange_op::kind::chunk,
                        .data = std::move(tail)};
      out.insert(out.begin() + static_cast<ptrdiff_t>(i), std::move(piece));
      ++i; // past the finish again
      break;
    }
    default:
      break;
    }
  }
  if (delta == 0)
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  auto now = static_cast<int64_t>(buffered_.load(std::memory_order_relaxed));
  buffered_.store(static_cast<size_t>(std::max<int64_t>(0, now + delta)),
                  std::memory_order_release);
}

void exchange::written(size_t n) {
  std::function<void()> ready;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto now = buffered_.load(std::memory_order_relaxed);
    now = n >= now ? 0 : now - n;
    buffered_.store(now, std::memory_order_release);
    if (want_ready_ && now <= stream_writer::limit / 2 && !cancelled_) {
      want_ready_ = false;
      ready = on_ready_;
    }
  }
  if (ready)
    guarded(ready, true);
}

void exchange::cancel() {
  std::function<void()> cb;
  std::function<void()> closed;
  std::vector<exchange_op> dropped;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (cancelled_)
      return;
    cancelled_ = true;
    if (state_ != state::done)
      cb = std::move(on_cancel_);
    closed = std::move(on_close_);
    on_close_ = nullptr;
    state_ = state::done;
    dropped.swap(ops_);
    on_ready_ = nullptr;
    on_drain_ = nullptr;
    on_cancel_ = nullptr;
    buffered_.store(0, std::memory_order_release);
  }
  // `dropped` (and the callbacks it holds) dies outside the lock. The
  // request is over: a throwing callback is only reported.
  if (cb)
    guarded(cb, false);
  if (closed)
    guarded(closed, false);
  this->closed();
}

void exchange::notify_drain(int64_t deadline_ms) {
  std::function<void(int64_t)> cb;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (cancelled_)
      return;
    cb = on_drain_;
  }
  if (cb)
    guarded([&] { cb(deadline_ms); }, true);
}

bool exchange::deliver(body_callback& cb, std::string_view piece, bool last) {
  auto fn = std::move(cb);
  cb = nullptr;
  return guarded([&] { fn(piece, last); }, true);
}

} // namespace detail

// -- stream_writer
// ----------------------------------------------------------------

write_status stream_writer::write(std::string data) const {
  if (!h_)
    return write_status::closed;
  return h_->x->write(std::move(data));
}

bool stream_writer::finish(std::vector<response::field> trailers) const {
  return h_ && h_->x->finish(std::move(trailers));
}

void stream_writer::abort() const {
  if (h_)
    h_->x->abort();
}

size_t stream_writer::buffered() const noexcept {
  return h_ ? h_->x->buffered() : 0;
}

bool stream_writer::closed() const noexcept {
  return !h_ || h_->x->done();
}

void stream_writer::on_ready(std::function<void()> fn) const {
  if (h_)
    h_->x->set_on_ready(std::move(fn));
}

// -- responder
// ------------------------------------------------------------------

responder::responder(std::shared_ptr<detail::exchange> x)
  : h_(x ? x->handle() : nullptr) {}

detail::exchange* responder::exchange_ptr() const noexcept {
  return h_ ? h_->x.get() : nullptr;
}

bool responder::send(response r) const {
  return h_ && h_->x->respond(std::move(r));
}

stream_writer responder::stream(response head) const {
  if (!h_ || !h_->x->start(std::move(head)))
    return stream_writer{};
  return stream_writer{h_};
}

void responder::read_body(size_t max, body_callback cb) const {
  if (h_)
    h_->x->read_body(max, std::move(cb));
}

void responder::on_drain(std::function<void(int64_t)> fn) const {
  if (h_)
    h_->x->set_on_drain(std::move(fn));
}

void responder::on_cancel(std::function<void()> fn) const {
  if (h_)
    h_->x->set_on_cancel(std::move(fn));
}

bool responder::done() const noexcept {
  return !h_ || h_->x->done();
}

} // namespace roadrunner
