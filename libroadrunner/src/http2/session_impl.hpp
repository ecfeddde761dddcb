#pragma once

// The state behind `http2::session`, shared by session.cpp (setup,
// receiving, events) and session_send.cpp (responses, output).

#include "http2/session.hpp"

#include <nghttp2/nghttp2.h>

#include <sys/types.h>

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace roadrunner::http2 {

/// Receiving side of a stream (the request) and sending side (the
/// response). Owned by `session::impl::streams_`; nghttp2 knows it as the
/// stream user data and as the data source of the response body.
struct stream {
  enum class body_source : uint8_t { none, buffer, file, queue };

  explicit stream(int32_t stream_id) : id(stream_id) {}

  int32_t id;

  // -- request --------------------------------------------------------------

  http1::request_head head;
  std::string_view authority;
  bool has_authority = false;
  int hosts = 0;
  /// References that keep the header views of `head` valid (nghttp2's
  /// decoded header buffers, shared with its HPACK table).
  std::vector<nghttp2_rcbuf*> refs;
  std::string body;
  size_t header_list_size = 0;
  bool header_list_too_large = false;
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

  ~stream() { release_request(); }

  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  /// Frees the request's header references and body (after dispatch, or
  /// when the session answers the stream itself).
  void release_request() noexcept {
    for (auto* r : refs)
      nghttp2_rcbuf_decref(r);
    refs = {};
    head = http1::request_head{};
    authority = {};
    body = std::string{};
  }

  std::string_view keep(nghttp2_rcbuf* buf) {
    refs.push_back(buf);
    nghttp2_rcbuf_incref(buf);
    auto v = nghttp2_rcbuf_get_buf(buf);
    return {reinterpret_cast<const char*>(v.base), v.len};
  }
};

/// Something to tell the connection once nghttp2 has returned.
struct event {
  enum class kind : uint8_t { request, closed, writable };
  kind what;
  int32_t stream_id;
  uint32_t code = 0;
};

/// A header field for nghttp2_submit_*: nghttp2 copies (and lowercases)
/// names and values when they are submitted.
inline nghttp2_nv make_nv(std::string_view name,
                          std::string_view value) noexcept {
  return nghttp2_nv{
    const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
    const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())),
    name.size(), value.size(), NGHTTP2_NV_FLAG_NONE};
}

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
  submit_result push(int32_t id, std::string&& data);
  submit_result finish(int32_t id, std::vector<response::field> trailers);
  submit_result reset(int32_t id, error_code code);
  void goaway_graceful();
  void terminate(error_code code);
  size_t buffered(int32_t id) const noexcept;
  size_t incomplete_requests() const noexcept;
  submit_result expire(int32_t id);

  nghttp2_session* ng_ = nullptr;
  bool fatal_ = false;
  bool going_away_ = false;
  bool preface_received_ = false;
  int32_t goaway_last_id_ = 0x7fffffff;
  std::unordered_map<int32_t, std::unique_ptr<stream>> streams_;

  // -- nghttp2 callbacks (static trampolines in the .cpp) -------------------

  int on_begin_headers(const nghttp2_frame* frame);
  int on_header(const nghttp2_frame* frame, nghttp2_rcbuf* name,
                nghttp2_rcbuf* value);
  int on_frame_recv(const nghttp2_frame* frame);
  int on_data_chunk(int32_t id, const uint8_t* data, size_t len);
  int on_stream_close(int32_t id, uint32_t code);
  int on_frame_send(const nghttp2_frame* frame);
  ssize_t read_body(stream& s, size_t length, uint32_t* flags);
  int send_body(stream& s, const uint8_t* framehd, size_t length,
                size_t padlen);

private:
  stream* find(int32_t id) const noexcept;
  stream* find_open(int32_t id) const noexcept;
  void finish_head(stream& s);
  void request_complete(stream& s);
  void reject(stream& s, int status);
  submit_result respond(stream& s, response&& r, bool streaming);
  void refill_windows();
  void refill(int32_t stream_id, int32_t peak);
  void deliver_events();
  void submit_trailers(stream& s);

  session_config cfg_;
  session_callbacks& cb_;
  std::vector<event> events_;
  /// Streams that received DATA during the current `feed`.
  std::vector<int32_t> fed_streams_;
  /// `take_output`'s target while nghttp2 sends (send_body appends to it).
  std::string* out_ = nullptr;
  size_t out_limit_ = 0;
  bool delivering_ = false;
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
