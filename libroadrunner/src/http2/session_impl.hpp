#pragma once

// The state behind `http2::session`, shared by session.cpp (setup,
// receiving, events) and session_send.cpp (responses, output).

#include "free_string.hpp"
#include "http2/session.hpp"

#include <nghttp2/nghttp2.h>

#include <sys/types.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roadrunner::http2 {

/// Receiving side of a stream (the request) and sending side (the
/// response). Owned by `session::impl::streams_`; nghttp2 knows it as the
/// data source of the response body. Stream objects are reused for later
/// streams of the same connection (`session::impl::spare_`): `reuse` keeps
/// the capacity of the header vectors, so a request costs no allocation of
/// ours in the steady state.
struct stream {
  enum class body_source : uint8_t { none, buffer, file, queue };

  explicit stream(int32_t stream_id) : id(stream_id) {}

  int32_t id;

  // -- request --------------------------------------------------------------

  request_head head;
  std::string_view authority;
  bool has_authority = false;
  /// `head.headers` starts with a `host` field holding `:authority` (RFC
  /// 9113 8.3.1), removed again if the request has a Host field of its own.
  bool authority_as_host = false;
  int hosts = 0;
  /// References that keep the header views of `head` valid (nghttp2's
  /// decoded header buffers, shared with its HPACK table).
  std::vector<nghttp2_rcbuf*> refs;
  /// The request body: in memory (towards its announced size, charged to
  /// the listener's budget) or spooled to a temporary file.
  io::body_store body;
  size_t header_list_size = 0;
  bool header_list_too_large = false;
  /// The request's references, fields or body may hold something (until
  /// `release_request`).
  bool request_held = true;
  bool is_head = false;
  /// END_STREAM seen: the request is complete.
  bool complete = false;
  /// The session answered (413, 431, 501) or reset it: no dispatch.
  bool rejected = false;
  /// `on_request` is queued or delivered.
  bool dispatched = false;
  /// `on_request` was called.
  bool delivered = false;
  /// nghttp2 closed the stream.
  bool closed = false;

  // -- extended CONNECT (RFC 8441) --------------------------------------------

  /// An extended CONNECT for websocket: dispatched at the end of its
  /// HEADERS; its DATA is tunnel data.
  bool tunnel = false;
  /// `open_tunnel` answered it.
  bool tunnel_open = false;
  /// END_STREAM from the peer.
  bool tunnel_eof = false;
  /// A `tunnel` event is queued.
  bool tunnel_event = false;
  /// `hold_window`: the stream's receive window is not refilled.
  bool window_held = false;
  /// DATA received during the current `feed`.
  std::string tunnel_in;

  // -- response -------------------------------------------------------------

  bool responded = false;
  bool streaming = false;
  /// Body data is dropped (HEAD, 204, 304).
  bool no_body = false;
  bool finished = false;
  /// The data provider returned NGHTTP2_ERR_DEFERRED (queue empty).
  bool deferred = false;
  /// `push` answered busy: report `on_stream_writable` when room is back.
  bool want_writable = false;
  body_source source = body_source::none;
  std::string buffer; // body_source::buffer
  size_t buffer_pos = 0;
  file_body_ptr file; // body_source::file
  uint64_t file_pos = 0;
  uint64_t file_left = 0;
  std::deque<std::string> queue; // body_source::queue
  size_t queue_front_pos = 0;
  size_t queued = 0;
  std::vector<response::field> trailers;
  /// The response head as submitted: nghttp2 refers to these bytes until
  /// it sends the HEADERS frame (no copy, see `respond`).
  response sent;
  std::array<char, 3> status_text{};
  std::array<char, 20> length_text{};
  std::array<char, 32> date_text{};

  ~stream() { release_request(); }

  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  /// Frees the request's header references and body (after dispatch, or
  /// when the session answers the stream itself). The vectors keep their
  /// capacity for the next request on this object; a large body does not.
  void release_request() noexcept {
    // Called up to three times per stream (after dispatch, when nghttp2
    // closes it, when it is erased): only the first has work.
    if (!request_held)
      return;
    request_held = false;
    for (auto* r : refs)
      nghttp2_rcbuf_decref(r);
    refs.clear();
    head.method = head.target = head.path = head.query = head.host = {};
    head.connect_protocol = {};
    head.headers.clear();
    head.framing = body_framing::none;
    head.content_length = 0;
    authority = {};
    authority_as_host = false;
    body.clear(kept_body_capacity);
  }

  /// Turns a finished stream into a fresh one for `stream_id`.
  void reuse(int32_t stream_id) noexcept {
    release_request();
    request_held = true;
    id = stream_id;
    head.version_major = 1;
    head.version_minor = 1;
    head.keep_alive = head.expect_continue = false;
    has_authority = header_list_too_large = is_head = false;
    complete = rejected = dispatched = delivered = closed = false;
    hosts = 0;
    header_list_size = 0;
    responded = streaming = no_body = finished = deferred = false;
    tunnel = tunnel_open = tunnel_eof = tunnel_event = window_held = false;
    want_writable = false;
    // The members below are empty after a plain buffered response (the
    // common case): each is reset only when it holds something.
    if (tunnel_in.capacity() > empty_capacity)
      detail::free_string(tunnel_in);
    if (source != body_source::none) {
      source = body_source::none;
      if (buffer.capacity() > empty_capacity)
        detail::free_string(buffer);
      buffer_pos = 0;
      file.reset();
      file_pos = file_left = 0;
      if (!queue.empty())
        queue.clear();
      queue_front_pos = queued = 0;
    }
    if (!trailers.empty())
      trailers.clear();
  }

  /// Drops the response head nghttp2 no longer refers to (the stream is
  /// closed): its fields, and a file body's descriptor, go before the
  /// object waits as a spare.
  void release_response() noexcept {
    if (responded)
      sent = response{};
  }

  /// A view of `buf` (whose bytes are `v`) that stays valid until
  /// `release_request`.
  std::string_view keep(nghttp2_rcbuf* buf, nghttp2_vec v) {
    refs.push_back(buf);
    nghttp2_rcbuf_incref(buf);
    return {reinterpret_cast<const char*>(v.base), v.len};
  }

  /// The capacity of an empty std::string (its inline buffer).
  static inline const size_t empty_capacity = std::string{}.capacity();

  /// A request body buffer up to this size is kept for the next stream.
  static constexpr size_t kept_body_capacity = 16384;
};

/// Something to tell the connection once nghttp2 has returned.
struct event {
  enum class kind : uint8_t { request, closed, writable, rejected, tunnel };
  kind what;
  int32_t stream_id;
  /// `closed`: the RFC 9113 error code; `rejected`: the HTTP status.
  uint32_t code = 0;
  /// `rejected`: why (a static text).
  const char* reason = nullptr;
};

/// What the session remembers of the client's stream ids once nghttp2 has
/// forgotten their streams (`nghttp2_option_set_no_closed_streams`): the
/// highest id a HEADERS opened and, for the last `size` client ids below
/// it, two bits: a HEADERS opened the id (it was not skipped, RFC 9113
/// 5.1.1), and the client had finished sending on it (END_STREAM or
/// RST_STREAM received) when it closed. Fixed size (128 bytes), no
/// allocation: opening a stream clears the bits of the slots it reuses.
class recent_ids {
public:
  /// Client stream ids remembered (ids highest, highest - 2, ...).
  static constexpr int32_t size = 512;

  int32_t highest() const noexcept { return highest_; }

  /// A HEADERS opens `id` (odd, above `highest()`), with END_STREAM when
  /// `finished`; the ids between are skipped (closed without having been
  /// opened).
  void open(int32_t id, bool finished) noexcept {
    // Unsigned: from -1 to 2^31-1 does not fit an int32_t.
    auto gap =
      (static_cast<uint32_t>(id) - static_cast<uint32_t>(highest_)) / 2;
    if (gap > 1) {
      if (gap > static_cast<uint32_t>(size)) {
        opened_ = {};
        finished_ = {};
      } else {
        for (auto k = highest_ + 2; k < id; k += 2)
          clear(k);
      }
    }
    auto [word, bit] = slot(id);
    opened_[word] |= bit;
    finished_[word] = finished ? finished_[word] | bit : finished_[word] & ~bit;
    highest_ = id;
  }

  /// The client sent END_STREAM or RST_STREAM on `id` (nothing more may
  /// follow from it there).
  void finish(int32_t id) noexcept {
    if (remembers(id)) {
      auto [word, bit] = slot(id);
      finished_[word] |= bit;
    }
  }

  /// `id` (a client id, at most `highest()`) is one of the remembered.
  bool remembers(int32_t id) const noexcept {
    return id > 0 && static_cast<uint32_t>(highest_ - id) <
                       2 * static_cast<uint32_t>(size);
  }
  bool opened(int32_t id) const noexcept {
    auto [word, bit] = slot(id);
    return (opened_[word] & bit) != 0;
  }
  bool finished(int32_t id) const noexcept {
    auto [word, bit] = slot(id);
    return (finished_[word] & bit) != 0;
  }

private:
  static constexpr uint32_t words = static_cast<uint32_t>(size) / 64;

  static std::pair<uint32_t, uint64_t> slot(int32_t id) noexcept {
    auto i = (static_cast<uint32_t>(id) >> 1) % static_cast<uint32_t>(size);
    return {i / 64, uint64_t{1} << (i % 64)};
  }

  void clear(int32_t id) noexcept {
    auto [word, bit] = slot(id);
    opened_[word] &= ~bit;
    finished_[word] &= ~bit;
  }

  /// -1: no stream yet (the first client id is 1).
  int32_t highest_ = -1;
  std::array<uint64_t, words> opened_{};
  std::array<uint64_t, words> finished_{};
};

/// A header field for nghttp2_submit_*: nghttp2 copies (and lowercases)
/// names and values when they are submitted.
inline nghttp2_nv make_nv(std::string_view name, std::string_view value,
                          uint8_t flags = NGHTTP2_NV_FLAG_NONE) noexcept {
  return nghttp2_nv{
    const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
    const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())),
    name.size(), value.size(), flags};
}

// -- nghttp2's allocator ------------------------------------------------------

/// The allocator of one nghttp2 session (`nghttp2_mem`): nghttp2 allocates
/// about four small blocks per request (its stream, the response's header
/// list and outbound items) and frees them when the stream ends. Freed
/// blocks of up to 1 KiB go to a free list per power-of-two size class
/// and serve the next stream, instead of malloc/free each time (glibc's
/// thread cache overflows when ten streams end in one batch). At most
/// `max_kept_bytes` wait in the lists; the rest is freed. Runs on: the
/// session's thread; it must outlive the nghttp2 session.
class block_pool {
public:
  block_pool() = default;
  ~block_pool();

  block_pool(const block_pool&) = delete;
  block_pool& operator=(const block_pool&) = delete;

  /// The table for nghttp2_session_server_new3 (nghttp2 copies it).
  nghttp2_mem table() noexcept;

  void* allocate(size_t n) noexcept;
  void release(void* p) noexcept;
  void* reallocate(void* p, size_t n) noexcept;

  /// Bytes waiting in the free lists (tests).
  size_t kept_bytes() const noexcept { return kept_bytes_; }

  static constexpr size_t max_kept_bytes = 16384;

private:
  // Block layout: a 16-byte header (keeps malloc's alignment) holding the
  // size class and the usable size, then the caller's bytes.
  struct header {
    uint32_t size_class;
    uint32_t unused;
    uint64_t capacity;
  };
  static_assert(sizeof(header) == 16);
  struct free_block {
    free_block* next;
  };
  static constexpr uint32_t classes = 6; // 32 B .. 1 KiB
  static constexpr uint32_t no_class = classes;
  static constexpr size_t min_block = 32;
  static constexpr size_t max_block = min_block << (classes - 1);
  static_assert(min_block == 32, "allocate's size class: bit_width - 5");

  free_block* lists_[classes] = {};
  size_t kept_bytes_ = 0;
};

// -- the engine ---------------------------------------------------------------

/// Runs on: the owning connection's thread (see `session`).
class session::impl {
public:
  impl(const session_config& cfg, session_callbacks& cb);
  ~impl();

  feed_result feed(std::span<const char> bytes);
  size_t take_output(std::string& out, size_t max_bytes);
  submit_result submit(int32_t id, response&& r);
  submit_result start_stream(int32_t id, response&& r);
  submit_result open_tunnel(int32_t id, response&& r);
  submit_result push(int32_t id, std::string&& data);
  submit_result finish(int32_t id, std::vector<response::field> trailers);
  submit_result reset(int32_t id, error_code code);
  bool goaway_notice();
  void goaway_graceful();
  void terminate(error_code code);
  size_t buffered(int32_t id) const noexcept;
  void hold_window(int32_t id, bool hold);
  size_t incomplete_requests() const noexcept;
  submit_result expire(int32_t id);
  io::body_store take_body(int32_t id);

  /// Declared before `ng_`'s users: nghttp2 frees into it until
  /// nghttp2_session_del (in ~impl) returns.
  block_pool pool_;
  nghttp2_session* ng_ = nullptr;
  bool fatal_ = false;
  bool going_away_ = false;
  uint32_t goaway_code_ = 0; // of the last GOAWAY sent
  bool preface_received_ = false;
  int32_t goaway_last_id_ = 0x7fffffff;
  bool notice_sent_ = false;  // GOAWAY(2^31-1) + PING (goaway_notice)
  bool notice_acked_ = false; // its PING came back
  /// The streams the session knows, sorted by id (clients open them in
  /// increasing order, so a new one goes to the end).
  std::vector<std::unique_ptr<stream>> streams_;

  // -- nghttp2 callbacks (static trampolines in the .cpp) -------------------

  int on_begin_headers(const nghttp2_frame* frame);
  int on_header(const nghttp2_frame* frame, nghttp2_rcbuf* name,
                nghttp2_rcbuf* value);
  int on_frame_recv(const nghttp2_frame* frame);
  int on_data_chunk(int32_t id, const uint8_t* data, size_t len);
  int on_stream_close(int32_t id, uint32_t code);
  int on_frame_send(const nghttp2_frame* frame);
  int on_invalid_frame(const nghttp2_frame* frame, int lib_error);
  /// Out of line: on_frame_send runs for every frame sent.
  [[gnu::noinline]] void on_reset_sent(const nghttp2_frame* frame);
  ssize_t read_body(stream& s, size_t length, uint32_t* flags);
  int send_body(stream& s, const uint8_t* framehd, size_t length,
                size_t padlen);

private:
  /// The stream `id`, or null. Most lookups ask for the stream of the
  /// previous one (a request's frames, then its events, then its response
  /// frames): that one is remembered.
  stream* find(int32_t id) const noexcept {
    if (last_ != nullptr && last_->id == id)
      return last_;
    return find_sorted(id);
  }
  stream* find_sorted(int32_t id) const noexcept;
  stream& open_stream(int32_t id);
  void erase_stream(int32_t id) noexcept;
  stream* find_open(int32_t id) const noexcept;
  void finish_head(stream& s);
  void request_complete(stream& s);
  void reject(stream& s, int status, const char* reason = nullptr);
  void tunnel_data(stream& s);
  void rejected(stream& s, int status, const char* reason);
  bool recv(const char* data, size_t n);
  uint32_t closed_stream_error(uint8_t type, int32_t id) const noexcept;
  bool priority_error(uint8_t type, uint8_t flags, uint32_t length, int32_t id,
                      const char* payload, size_t in_buffer) noexcept;
  bool pending_dependency(const char* data, size_t size) noexcept;
  static int64_t initial_window_peak(const char* payload,
                                     uint32_t length) noexcept;
  bool initial_window_overflows(int64_t peak) const noexcept;
  submit_result respond(stream& s, response&& r, bool streaming);
  void refill_windows();
  void refill(int32_t stream_id, int32_t peak);
  void deliver_events();
  void submit_trailers(stream& s);
  void patch_settings(char* frames, size_t n) noexcept;

  // -- flood limits (issue 18) ----------------------------------------------

  /// Spends `n` frames of overhead credit; false once it is used up.
  bool spend(int64_t n) noexcept {
    credit_ -= n;
    return credit_ >= 0;
  }
  /// Useful work earns credit back, up to `max_overhead_frames`.
  void earn(int64_t n) noexcept {
    credit_ = std::min(credit_ + n, cfg_.http2.max_overhead_frames);
  }
  /// What a frame costs (0: useful work) given its header and, when it is
  /// in the buffer, its payload (`payload` null otherwise).
  static int64_t overhead_of(uint8_t type, uint8_t flags, uint32_t length,
                             const char* payload, bool opens) noexcept;
  /// Ends the connection with GOAWAY(ENHANCE_YOUR_CALM): nothing more is
  /// read or reported.
  void calm_down() noexcept;

  session_config cfg_;
  session_callbacks& cb_;
  std::vector<event> events_;
  /// Streams that received DATA during the current `feed`.
  std::vector<int32_t> fed_streams_;
  /// `take_output`'s target while nghttp2 sends (send_body appends to it).
  std::string* out_ = nullptr;
  size_t out_limit_ = 0;
  bool delivering_ = false;
  /// The stream whose request header block is being decoded (set by
  /// on_begin_headers, so on_header needs no lookup).
  stream* current_ = nullptr;
  /// Frames on streams nghttp2 no longer knows (RFC 9113 5.1): `feed`
  /// reads the frame headers of the input to find them.
  recent_ids ids_;
  /// Whether a frame on a client id older than `ids_` remembers is an error
  /// (the client cannot still be sending it legitimately) or ignored.
  bool forget_is_safe_ = false;
  /// The input scanner: bytes still to skip (the 24-byte client preface,
  /// then the rest of the current frame's payload), a frame header split
  /// across `feed` calls.
  uint32_t skip_ = 24;
  uint32_t head_len_ = 0;
  std::array<uint8_t, 9> head_{};
  /// RFC 9113 5.3.1, which nghttp2 does not check once the RFC 7540
  /// priority tree is off (SETTINGS_NO_RFC7540_PRIORITIES, see
  /// `priority_error`): the stream dependency of a PRIORITY or HEADERS
  /// frame whose first payload bytes are split across `feed` calls
  /// (`dep_need_` > 0 while collecting).
  std::array<uint8_t, 5> dep_bytes_{};
  uint32_t dep_need_ = 0;
  uint32_t dep_have_ = 0;
  uint32_t dep_offset_ = 0;
  int32_t dep_stream_ = 0;
  /// Overhead credit left (see `http2_options::max_overhead_frames`).
  int64_t credit_ = 0;
  /// RST_STREAMs received and streams opened in the current reset window.
  int64_t window_resets_ = 0;
  int64_t window_streams_ = 0;
  /// Streams a HEADERS opened and nghttp2 has not closed: the count held
  /// against SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113 5.1.2).
  int64_t open_count_ = 0;
  /// Decoded bytes of the header block being received (name + value + 32
  /// per field), for every block, trailers and refused streams included.
  uint64_t block_bytes_ = 0;
  /// A callback found the client over a budget: `recv` ends the session.
  bool calm_ = false;
  /// Our SETTINGS went out with the advertised MAX_CONCURRENT_STREAMS (see
  /// `patch_settings`).
  bool settings_patched_ = false;
  /// Closed stream objects kept for reuse (at most `max_spare_streams`).
  std::vector<std::unique_ptr<stream>> spare_;
  /// The stream `find` found last (in `streams_`; reset when it leaves).
  mutable stream* last_ = nullptr;
  static constexpr size_t max_spare_streams = 16;
};

/// The response body's data provider (`nghttp2_data_source_read_callback`).
ssize_t read_body_callback(nghttp2_session*, int32_t, uint8_t*, size_t length,
                           uint32_t* flags, nghttp2_data_source* source,
                           void* user_data);

/// Writes a DATA frame straight into `take_output`'s buffer
/// (`nghttp2_send_data_callback`, NGHTTP2_DATA_FLAG_NO_COPY).
int send_body_callback(nghttp2_session*, nghttp2_frame* frame,
                       const uint8_t* framehd, size_t length,
                       nghttp2_data_source* source, void* user_data);

} // namespace roadrunner::http2
