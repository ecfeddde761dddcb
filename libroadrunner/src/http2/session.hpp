#pragma once

// The HTTP/2 protocol engine of one server connection (RFC 9113), on
// nghttp2's session API: bytes in (`feed`), bytes out (`take_output`),
// complete requests out through `session_callbacks`, responses in through
// `submit` / `start_stream` + `push` + `finish`. No sockets, no timers, no
// CAF: the connection that owns it does the I/O and keeps the clocks.
// nghttp2 types stay in session.cpp.

#include "io/body_store.hpp"
#include <roadrunner/options.hpp>
#include <roadrunner/request_head.hpp>
#include <roadrunner/response.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace roadrunner::http2 {

/// RFC 9113 7 error codes (RST_STREAM, GOAWAY).
enum class error_code : uint32_t {
  no_error = 0x0,
  protocol_error = 0x1,
  internal_error = 0x2,
  flow_control_error = 0x3,
  settings_timeout = 0x4,
  stream_closed = 0x5,
  frame_size_error = 0x6,
  refused_stream = 0x7,
  cancel = 0x8,
  compression_error = 0x9,
  connect_error = 0xa,
  enhance_your_calm = 0xb,
  inadequate_security = 0xc,
  http_1_1_required = 0xd,
};

/// Limits and tunables of one session.
struct session_config {
  /// Windows, `max_concurrent_streams` and `max_header_list_size` (the
  /// listener's `{http2, Opts}` entry; ranges are checked by `validate`).
  http2_options http2;
  /// Request body cap in bytes: a longer body (declared by content-length
  /// or counted from DATA) gets 413 + RST_STREAM(NO_ERROR); the handler is
  /// not called.
  uint64_t max_content_length = 10485760;
  /// Streamed response bytes buffered per stream before `push` answers
  /// `busy` (the writer waits for `on_stream_writable`).
  size_t max_stream_buffer = 65536;
  /// The listener's body budget and spool directory (issue 18): a body
  /// that does not fit spools to a temporary file, or gets 503 when there
  /// is no spool directory. Null: bodies stay in memory. Must outlive the
  /// session.
  const io::body_policy* bodies = nullptr;
};

/// What a session tells its connection. Every call comes from `feed` or
/// `take_output` after nghttp2 has returned (never from inside nghttp2), on
/// the thread that called them. The callbacks may call `submit`, `push`,
/// `finish`, `reset` and `goaway_graceful`, but not `feed` or
/// `take_output`, and must not destroy the session. `on_stream_closed`,
/// `on_stream_writable` and `on_request_rejected` must not throw (an
/// exception is dropped).
class session_callbacks {
public:
  virtual ~session_callbacks() = default;

  /// A complete request on `stream_id`: the head (`version_major == 2`,
  /// `:authority` as `host`) and the whole body. The views point into
  /// buffers the session frees when the call returns; copy what must
  /// outlive it. Answer it now or later with `submit` or `start_stream`.
  /// An exception thrown from here is answered with a 500.
  virtual void on_request(int32_t stream_id, const request_head& head,
                          std::string_view body) = 0;

  /// The stream of a request passed to `on_request` is closed: its
  /// response was sent (`no_error`), or it was reset by the peer or the
  /// session (a deferred handler may stop). Called once per such stream;
  /// later calls for `stream_id` answer `unknown_stream`.
  virtual void on_stream_closed(int32_t stream_id, error_code code) = 0;

  /// A request the session answered itself, without `on_request`: 408
  /// (`expire`), 413 (body over `max_content_length`), 431 (header list
  /// over `max_header_list_size`), 501 (CONNECT), 503 (no memory for the
  /// body and no spooling: `session_config::bodies`), or 400 for a malformed
  /// request (RFC 9113 8.1.1), which is reset with
  /// RST_STREAM(PROTOCOL_ERROR) and gets no status at all. Called once per
  /// such stream, and never together with `on_request` or
  /// `on_stream_closed` for it (a request's counters: every stream whose
  /// request arrived goes to exactly one of `on_request` and this).
  /// `reason` is a static text. Must not throw (an exception is dropped).
  virtual void on_request_rejected(int32_t stream_id, int status,
                                   std::string_view reason) {
    static_cast<void>(stream_id);
    static_cast<void>(status);
    static_cast<void>(reason);
  }

  /// A stream whose `push` answered `busy` has room again.
  virtual void on_stream_writable(int32_t stream_id) {
    static_cast<void>(stream_id);
  }

  /// DATA on an extended CONNECT's stream (RFC 8441) after its request was
  /// passed to `on_request`: the bytes that arrived in this `feed`, and
  /// `eof` once the peer ended its side. `data` may be modified; the
  /// session clears it afterwards. Must not throw (an exception is
  /// dropped).
  virtual void on_tunnel_data(int32_t stream_id, std::string& data, bool eof) {
    static_cast<void>(stream_id);
    static_cast<void>(data);
    static_cast<void>(eof);
  }
};

/// Outcome of `feed`.
enum class feed_result : uint8_t {
  /// The bytes were processed (protocol errors nghttp2 answers with a
  /// GOAWAY also end here: see `want_read`).
  ok,
  /// The connection cannot go on (bad preface, flood, out of memory): flush
  /// what `take_output` gives (a GOAWAY when possible) and close.
  fatal,
};

/// Outcome of the calls that answer a stream.
enum class submit_result : uint8_t {
  ok,
  /// No such stream (never dispatched, or already closed).
  unknown_stream,
  /// The call does not fit the stream's state (a second response, `push`
  /// without `start_stream`, `push` after `finish`).
  bad_state,
  /// `push` only: the stream's buffer is full; the data was not taken.
  /// Wait for `on_stream_writable`.
  busy,
  /// The response (or trailers) could not be written as given (status
  /// outside 200..999, a field with CR, LF, NUL or a bad name): a 500 was
  /// sent instead (trailers: dropped).
  invalid_response,
};

/// One HTTP/2 server connection's protocol state. Runs on: the owning
/// connection's thread; not thread-safe.
class session {
public:
  /// Queues the server preface: SETTINGS (MAX_CONCURRENT_STREAMS,
  /// INITIAL_WINDOW_SIZE = stream_window, MAX_HEADER_LIST_SIZE) and, when
  /// `conn_window` > 65535, WINDOW_UPDATE(0, conn_window - 65535).
  /// `callbacks` must outlive the session.
  session(const session_config& cfg, session_callbacks& callbacks);
  ~session();

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // -- input ----------------------------------------------------------------

  /// Processes received bytes (any split: nghttp2 keeps partial frames, so
  /// the caller keeps nothing). Completed requests and closed streams are
  /// reported through the callbacks before it returns.
  feed_result feed(std::span<const char> bytes);

  /// False once the session reads no more (GOAWAY sent or received and no
  /// stream left, or a connection error).
  bool want_read() const noexcept;

  /// True when the client preface and its SETTINGS arrived (for a
  /// handshake timeout).
  bool preface_received() const noexcept;

  // -- output ---------------------------------------------------------------

  /// Appends pending frames to `out`: at least `max_bytes` when that much
  /// is ready, at most `max_bytes` plus one frame (16393 bytes). Response
  /// bodies are copied once, from the response (or `pread` from its file)
  /// into `out`, and only as far as the peer's flow-control windows allow.
  /// Returns the bytes appended; may report closed streams.
  size_t take_output(std::string& out, size_t max_bytes = 65536);

  /// True when `take_output` would append something.
  bool want_write() const noexcept;

  /// True when response data waits only for the peer's flow-control
  /// window (its connection window or a stream's is used up): a peer that
  /// never opens it holds the stream forever, so the connection keeps a
  /// send deadline while this holds. O(open streams).
  bool send_stalled() const noexcept;

  // -- answering ------------------------------------------------------------

  /// Answers a request with a buffered response: `:status`, `date`, the
  /// response fields (names lowercased; `connection`, `keep-alive`,
  /// `proxy-connection`, `transfer-encoding`, `upgrade`, `te` and the
  /// handler's `content-length` dropped: RFC 9113 8.2.2), `content-type`,
  /// `content-length` (not for 204 / 304), then the body (none for HEAD,
  /// 204, 304). The body is moved out of `r` and held once; a file body is
  /// read frame by frame.
  submit_result submit(int32_t stream_id, response&& r);

  /// Starts a streamed response: the head of `r` without `content-length`
  /// (its body, if any, is the first piece); then `push` and `finish`.
  submit_result start_stream(int32_t stream_id, response&& r);

  /// Answers an extended CONNECT (RFC 8441) with `r` (a 2xx) and opens its
  /// tunnel: as `start_stream`, and the stream's DATA goes on to
  /// `on_tunnel_data`. `bad_state` for any other stream or status. A 2xx
  /// given to such a stream through `submit` or `start_stream` (a handler
  /// that does not speak the protocol) is sent as a 501 instead.
  submit_result open_tunnel(int32_t stream_id, response&& r);

  /// Queues `data` on a started stream. `busy` when the stream already
  /// buffers `max_stream_buffer` bytes (then `data` is left untouched).
  /// Data for a stream without body (HEAD, 204, 304) is dropped.
  submit_result push(int32_t stream_id, std::string&& data);

  /// Bytes queued on a streamed response and not yet sent (0 otherwise).
  size_t buffered(int32_t stream_id) const noexcept;

  /// Backpressure for a tunnel (RFC 8441) whose consumer falls behind:
  /// while held, the DATA the peer sends on `stream_id` earns it no new
  /// credit (no WINDOW_UPDATE for the stream, RFC 9113 6.9), so it can send
  /// at most what is left of the stream's window; released, the window is
  /// refilled as usual at once (send it with `take_output`). The
  /// connection's window is refilled as ever: the other streams go on.
  /// Only for a stream passed to `open_tunnel`; otherwise nothing happens.
  void hold_window(int32_t stream_id, bool hold);

  /// Ends a streamed response once its queue is sent; non-empty
  /// `trailers` go out as a final HEADERS frame (RFC 9113 8.1).
  submit_result finish(int32_t stream_id,
                       std::vector<response::field> trailers = {});

  /// Resets a stream (RST_STREAM with `code`), e.g. when a deferred
  /// handler fails after its head was sent.
  submit_result reset(int32_t stream_id, error_code code);

  // -- life cycle -----------------------------------------------------------

  /// First step of a graceful drain (RFC 9113 6.8): GOAWAY(NO_ERROR) with
  /// last stream id 2^31-1 and a PING. Streams keep arriving and are served
  /// until `goaway_graceful` names the last one (after the PING's ACK, see
  /// `notice_acked`). False, and nothing sent, when the session is already
  /// going away or sent a notice before.
  bool goaway_notice();

  /// True once the PING of `goaway_notice` came back acknowledged: every
  /// stream the client opened before it saw the notice has arrived.
  bool notice_acked() const noexcept;

  /// Graceful drain: GOAWAY(NO_ERROR) with the last stream id processed.
  /// Streams up to it finish; newer ones are ignored (the client knows from
  /// the GOAWAY that they were not processed and may retry them).
  void goaway_graceful();

  /// During `on_request` only: hands over the request's body (a deferred
  /// handler in manual body mode reads it later, in pieces). The buffer,
  /// file and mapping move along: the view `on_request` got stays valid.
  io::body_store take_body(int32_t stream_id);

  /// Connection error: GOAWAY(`code`); nothing more is processed.
  void terminate(error_code code);

  /// True after `goaway_graceful`, `terminate` or a fatal `feed`.
  bool going_away() const noexcept;

  /// The error code of the last GOAWAY sent (NO_ERROR when none was).
  error_code goaway_code() const noexcept;

  /// Streams the session knows (request arriving, handled, or response in
  /// flight).
  size_t open_streams() const noexcept;

  /// Streams whose request has not fully arrived (for a request timeout or
  /// a slow-client guard).
  size_t incomplete_requests() const noexcept;

  /// Appends the ids of those streams to `out` (for a per-stream request
  /// timeout kept by the connection).
  void incomplete_streams(std::vector<int32_t>& out) const;

  /// Answers an incomplete request with 408 (status only, content-length 0,
  /// like HTTP/1.1's request_timeout), then RST_STREAM(NO_ERROR) once it is
  /// out, as for 413 (RFC 9113 8.1). `unknown_stream` when `stream_id` is
  /// not an incomplete request.
  submit_result expire(int32_t stream_id);

  /// No stream open and no output pending: after `goaway_graceful` the
  /// connection may close now.
  bool is_idle() const noexcept;

  class impl;

private:
  std::unique_ptr<impl> impl_;
};

/// The RFC 9113 name of `code`, e.g. "PROTOCOL_ERROR".
const char* to_string(error_code code) noexcept;

} // namespace roadrunner::http2
