#pragma once

// The shared state behind a `responder`: handler-side operations (any
// thread) are queued under a lock and the connection is woken to apply them
// on its own thread. See responder.hpp for the user-facing semantics.

#include <roadrunner/responder.hpp>
#include <roadrunner/response.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace roadrunner::detail {

/// One operation queued by the handler side, applied by the connection.
struct exchange_op {
  enum class kind : uint8_t {
    respond,   // resp: the final response
    start,     // resp: the head of a streaming response
    chunk,     // data: a piece of the streamed body
    finish,    // trailers: end of the streamed body
    abort,     // end the stream abnormally
    read_body, // max, cb: deliver the next piece of the request body
    abandon,   // every handle is gone without completing
  };

  // Default member initializers on every member: designated initializers
  // may leave any out without -Wmissing-field-initializers.
  kind what = kind::respond;
  response resp{};
  std::string data{};
  std::vector<response::field> trailers{};
  size_t max = 0;
  body_callback cb{};
};

/// Rewrites what the handler side sends, on the connection's thread as the
/// connection takes the operations (a response filter such as
/// compression). Installed during dispatch, before any take.
class exchange_filter {
public:
  virtual ~exchange_filter() = default;
  /// A buffered (or file) answer.
  virtual void on_response(response& r) = 0;
  /// The head of a streamed answer.
  virtual void on_head(response& head) = 0;
  /// A piece of the streamed body, rewritten in place (may become empty).
  virtual void on_chunk(std::string& data) = 0;
  /// The stream ends: bytes to send before it does (may be empty).
  virtual std::string on_finish() = 0;
};

class exchange : public std::enable_shared_from_this<exchange> {
public:
  exchange() = default;
  exchange(const exchange&) = delete;
  exchange& operator=(const exchange&) = delete;
  virtual ~exchange() = default;

  // -- handler side (any thread) --------------------------------------------

  bool respond(response r);
  bool start(response head);
  write_status write(std::string data);
  bool finish(std::vector<response::field> trailers);
  void abort();
  void read_body(size_t max, body_callback cb);
  void abandon();
  void set_on_ready(std::function<void()> fn);
  void set_on_drain(std::function<void(int64_t)> fn);
  void set_on_cancel(std::function<void()> fn);
  /// Runs `fn` when the request ends from the connection's side, however
  /// it ends (server use: stops per-request handler actors).
  void set_on_close(std::function<void()> fn);

  /// A deadline for the answer, `ms` from the dispatch: past it the
  /// connection answers 504 itself (before a stream started). Set during
  /// the handler call.
  void set_deadline(int64_t ms) noexcept {
    deadline_ms_.store(ms, std::memory_order_relaxed);
  }
  int64_t deadline() const noexcept {
    return deadline_ms_.load(std::memory_order_relaxed);
  }

  /// Bytes accepted by `write` and not yet reported `written`.
  size_t buffered() const noexcept {
    return buffered_.load(std::memory_order_acquire);
  }

  /// True once the handler side completed (or the connection cancelled):
  /// `write` answers `closed`, completions are refused.
  bool done() const noexcept;

  /// Installs a filter over the operations taken from now on (connection
  /// side, during dispatch).
  void filter(std::unique_ptr<exchange_filter> f);

  /// The handle shared by every responder / writer of this exchange.
  std::shared_ptr<exchange_handle> handle();

  // -- connection side (its thread) -----------------------------------------

  /// Moves the queued operations to `out` (appending); false when none.
  bool take(std::vector<exchange_op>& out);

  /// `n` payload bytes left the process (or were dropped): lowers
  /// `buffered()` and runs `on_ready` when a writer waits for room.
  void written(size_t n);

  /// The request ended from the connection's side (client gone, connection
  /// closed, response over): later operations are refused, queued ones
  /// dropped; runs `on_cancel` when the handler side had not completed.
  void cancel();

  /// Tells an open request about a drain (runs `on_drain`).
  void notify_drain(int64_t deadline_ms);

  /// Hands a piece of the request body to a `read_body` callback.
  /// Returns false when the callback threw: the request then ends as if
  /// the handler had aborted it.
  bool deliver(body_callback& cb, std::string_view piece, bool last);

  /// Reports a failure of the handler side (a handler actor's error
  /// reply) as a callback failure. Connection side, its thread.
  void report(std::string_view what) noexcept { callback_failed(what); }

  /// The handler side is gone without completing (a handler actor died):
  /// answers `status` if no answer started, else aborts the stream, and
  /// reports `why` as a callback failure when the connection takes the
  /// operation (on its thread). Any thread.
  void fail(int status, std::string why);

  // Every user callback the connection side runs (on_ready, on_drain,
  // on_cancel, on_close, read_body callbacks) is guarded: an exception
  // never reaches the connection. One thrown while the request is open
  // ends it as if the handler had aborted (500, or the stream cut short);
  // after its end it is only reported.

protected:
  /// Operations were queued while none were pending: the connection must
  /// call `take`. Any thread; never called with the lock held.
  virtual void wake() noexcept = 0;

  /// A user callback threw `what` (connection side, its thread).
  virtual void callback_failed(std::string_view) noexcept {}

  /// The request ended from the connection's side (after `cancel`).
  virtual void closed() noexcept {}

private:
  enum class state : uint8_t { pending, streaming, done };

  // Runs `f(queue)` under the lock; `queue(op)` appends an operation. The
  // connection is woken after unlocking when the batch was empty before.
  template <class F>
  auto with_lock(F&& f);

  // abort / abandon: end a pending or streaming request.
  void end(exchange_op::kind why);

  // Runs a user callback; an exception is reported and, with `abort_open`,
  // ends the open request. Returns false when it threw.
  template <class F>
  bool guarded(F&& f, bool abort_open) noexcept;

  mutable std::mutex mtx_;
  state state_ = state::pending;
  bool cancelled_ = false;
  bool want_ready_ = false;
  std::vector<exchange_op> ops_;
  std::atomic<size_t> buffered_{0};
  std::atomic<int64_t> deadline_ms_{-1};
  std::function<void()> on_ready_;
  std::function<void(int64_t)> on_drain_;
  std::function<void()> on_cancel_;
  std::function<void()> on_close_;
  std::weak_ptr<exchange_handle> handle_;
  std::unique_ptr<exchange_filter> filter_; // connection side only

  // Runs filter_ over out[first..]; fixes buffered_ for resized chunks.
  void apply_filter(std::vector<exchange_op>& out, size_t first);
};

/// What responders and writers hold: the last one gone abandons the
/// exchange (a 500, or an aborted stream, unless it completed).
struct exchange_handle {
  std::shared_ptr<exchange> x;
  explicit exchange_handle(std::shared_ptr<exchange> ex) : x(std::move(ex)) {}
  exchange_handle(const exchange_handle&) = delete;
  exchange_handle& operator=(const exchange_handle&) = delete;
  ~exchange_handle() { x->abandon(); }
};

} // namespace roadrunner::detail
