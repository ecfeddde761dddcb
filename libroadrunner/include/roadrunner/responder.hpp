#pragma once

// Deferred responses: a handler that cannot answer at once (it waits for an
// actor, streams a body, keeps the response open, or pulls a request body
// in pieces) takes a `responder` from the request, returns
// `response::deferred()`, and completes the request later from any thread.
//
//     roadrunner::response slow(roadrunner::request& req) {
//       auto reply = req.defer();
//       start_work([reply](std::string out) {          // any thread
//         reply.send(roadrunner::response::text(200, std::move(out)));
//       });
//       return roadrunner::response::deferred();
//     }
//
// The connection keeps the request's place in the pipeline (HTTP/1.1
// responses stay in order) until the responder completes it. Every
// operation below is thread-safe; callbacks run on the connection's thread.

#include <roadrunner/response.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace roadrunner {

namespace detail {
class exchange;
struct exchange_handle;
} // namespace detail

/// What `stream_writer::write` did with a piece of the body.
enum class write_status : uint8_t {
  /// Queued for the client.
  ok,
  /// Not queued: the connection already holds `stream_writer::limit` bytes
  /// the client has not read yet (backpressure). Write again after the
  /// `on_ready` callback runs.
  full,
  /// Not queued: the response is over (finished, aborted, or the client
  /// left). Stop producing.
  closed,
};

/// Pushes the body of a streaming response (HTTP/1.1 chunked transfer
/// coding). Obtained from `responder::stream`; copies share one stream.
/// When the last copy of the writer and of its responder is destroyed
/// without `finish`, the stream is aborted.
class stream_writer {
public:
  /// Bytes a stream may hold queued before `write` answers `full`. At least
  /// one piece is always accepted, whatever its size.
  static constexpr size_t limit = 256 * 1024;

  stream_writer() = default;

  /// Queues `data` (empty pieces are ignored and answer `ok`).
  write_status write(std::string data) const;

  /// Ends the body, optionally with trailer fields. A trailer that could
  /// not be written safely (a name that is not a token, CR/LF/NUL in a
  /// value) aborts the stream instead: the head is already out, so the
  /// client sees an incomplete response rather than injected bytes.
  /// Returns false when the stream was already over.
  bool finish(std::vector<response::field> trailers = {}) const;

  /// Ends the stream abnormally: HTTP/1.1 closes the connection without the
  /// last chunk, so the client can tell the body is incomplete.
  void abort() const;

  /// Bytes queued and not yet written to the socket.
  size_t buffered() const noexcept;

  /// True once the stream is over (finished, aborted, client gone).
  bool closed() const noexcept;

  /// Runs `fn` once, on the connection's thread, after a `write` answered
  /// `full` and the client has read enough to take more (half the limit).
  /// Replaces a previous callback.
  void on_ready(std::function<void()> fn) const;

  /// True for a writer obtained from a responder.
  explicit operator bool() const noexcept { return h_ != nullptr; }

private:
  friend class responder;
  explicit stream_writer(std::shared_ptr<detail::exchange_handle> h)
    : h_(std::move(h)) {}

  std::shared_ptr<detail::exchange_handle> h_;
};

/// Receives one piece of a request body in manual mode: `data` is valid
/// during the call only; `last` is true for the final piece (possibly
/// empty). Runs on the connection's thread.
using body_callback = std::function<void(std::string_view data, bool last)>;

/// Completes one deferred request. Copies share the request; the first
/// completion wins. When the last copy (and every writer it made) is
/// destroyed without completing, the request is answered with 500.
class responder {
public:
  responder() = default;

  /// Answers with `r` (a buffered or file response). Returns false when the
  /// request was already answered or the client is gone. A response with
  /// unsafe header fields becomes a 500, as for a plain handler.
  bool send(response r) const;

  /// Starts a streaming response with `head`'s status and fields (its body
  /// is ignored). Returns an empty writer when the request was already
  /// answered, the client is gone, or the head is not writable (then the
  /// request is answered with 500).
  stream_writer stream(response head) const;

  /// Manual body mode (`body_buffering = manual`): asks for the next piece
  /// of the request body, at most `max` bytes (>= 1), delivered to `cb` on
  /// the connection's thread as soon as bytes arrive. The first call sends
  /// `100 Continue` to a client that expects it. Call again from `cb` for
  /// the next piece. Without a body (or in automatic mode, where `body()`
  /// holds it) `cb` gets ("", true).
  void read_body(size_t max, body_callback cb) const;

  /// Runs `fn(deadline_ms)` on the connection's thread when the listener
  /// starts draining while this request is open (`deadline_ms` on the
  /// CLOCK_MONOTONIC millisecond clock, or -1 when unknown). Loop handlers
  /// use it to end their stream before the deadline.
  void on_drain(std::function<void(int64_t deadline_ms)> fn) const;

  /// Runs `fn` on the connection's thread if the request ends without a
  /// completion from this side: the client left, the connection closed.
  void on_cancel(std::function<void()> fn) const;

  /// True once the request is answered (or the client is gone).
  bool done() const noexcept;

  /// True for a responder obtained from `request::defer`.
  explicit operator bool() const noexcept { return h_ != nullptr; }

  /// Used by the server: wraps an exchange.
  explicit responder(std::shared_ptr<detail::exchange> x);

  /// The exchange (server use).
  detail::exchange* exchange_ptr() const noexcept;

private:
  std::shared_ptr<detail::exchange_handle> h_;
};

} // namespace roadrunner
