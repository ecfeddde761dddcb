#include "http2/session.hpp"

#include "date_cache.hpp"
#include "http1/serializer.hpp"
#include "http2/session_impl.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace roadrunner::http2 {

namespace {

/// RFC 9113 6.9.2: every window starts at 65535 until SETTINGS / updates.
constexpr int32_t rfc_initial_window = 65535;

// Flood limits (issue 18; `http2_options::max_overhead_frames`): what a
// request earns, and the payload under which a DATA, CONTINUATION or
// trailer HEADERS frame carries too little to count as work.
constexpr int64_t credit_per_request = 8;
constexpr uint32_t tiny_payload = 128;

/// The opaque data of the drain notice's PING (`goaway_notice`): its ACK,
/// and no other, ends the wait for streams in flight.
constexpr std::array<uint8_t, 8> notice_ping{'r', 'r', 'd', 'r',
                                             'a', 'i', 'n', '1'};

/// Decoded bytes of one header block past which decoding stops and the
/// connection ends (an HPACK bomb): 4 x max_header_list_size, at least
/// 16 KiB.
uint64_t block_cap(int64_t max_header_list_size) noexcept {
  return std::max<uint64_t>(4 * static_cast<uint64_t>(max_header_list_size),
                            16384);
}

/// Request-target bytes in HTTP/2 as in HTTP/1.1 (RFC 3986): visible ASCII
/// only; an origin-form path, or "*" for OPTIONS (RFC 9113 8.3.1).
bool is_valid_path(std::string_view method, std::string_view path) noexcept {
  if (path.empty())
    return false;
  if (path == "*")
    return method == "OPTIONS";
  if (path.front() != '/')
    return false;
  return std::all_of(path.begin(), path.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 0x21 && u <= 0x7e;
  });
}

/// The connection's bookkeeping callbacks must not throw; if one does,
/// the exception is dropped so that the session's state stays consistent
/// (the remaining events are still delivered).
template <class F>
void notify(F&& f) noexcept {
  try {
    f();
  } catch (...) {
  }
}

session::impl& self(void* user_data) {
  return *static_cast<session::impl*>(user_data);
}

/// nghttp2 is C: nothing may be thrown through it (a bad_alloc while
/// buffering a body ends the session instead).
template <class F>
int guarded(F&& f) noexcept {
  try {
    return f();
  } catch (...) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
}

int cb_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
  return guarded([&] { return self(ud).on_begin_headers(frame); });
}

int cb_header(nghttp2_session*, const nghttp2_frame* frame, nghttp2_rcbuf* name,
              nghttp2_rcbuf* value, uint8_t, void* ud) {
  return guarded([&] { return self(ud).on_header(frame, name, value); });
}

int cb_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
  return guarded([&] { return self(ud).on_frame_recv(frame); });
}

int cb_data_chunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data,
                  size_t len, void* ud) {
  return guarded([&] { return self(ud).on_data_chunk(id, data, len); });
}

int cb_stream_close(nghttp2_session*, int32_t id, uint32_t code, void* ud) {
  return guarded([&] { return self(ud).on_stream_close(id, code); });
}

int cb_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
  return guarded([&] { return self(ud).on_frame_send(frame); });
}

int cb_invalid_frame(nghttp2_session*, const nghttp2_frame* frame,
                     int lib_error, void* ud) {
  return guarded([&] { return self(ud).on_invalid_frame(frame, lib_error); });
}

/// One callback table for every session (nghttpx builds it once, too).
struct callback_table {
  nghttp2_session_callbacks* table = nullptr;
  callback_table() {
    if (nghttp2_session_callbacks_new(&table) != 0)
      return;
    nghttp2_session_callbacks_set_on_begin_headers_callback(table,
                                                            cb_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback2(table, cb_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(table, cb_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(table,
                                                              cb_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(table,
                                                           cb_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(table, cb_frame_send);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(
      table, cb_invalid_frame);
    nghttp2_session_callbacks_set_send_data_callback(table, send_body_callback);
  }
  ~callback_table() { nghttp2_session_callbacks_del(table); }
};

const nghttp2_session_callbacks* callbacks() {
  static const callback_table t;
  return t.table;
}

int32_t clamp_window(int64_t x) noexcept {
  return static_cast<int32_t>(std::clamp<int64_t>(x, 0, 0x7fffffff));
}

/// RFC 9113 4.1: the frame header (length 24 bits, type, flags, reserved
/// bit and stream id 31 bits).
struct frame_head {
  uint32_t length;
  uint8_t type;
  uint8_t flags;
  int32_t stream_id;
};

frame_head parse_head(const uint8_t* h) noexcept {
  uint64_t x = 0;
  std::memcpy(&x, h, sizeof x);
  x = __builtin_bswap64(x); // the first 8 bytes, big-endian
  return {
    static_cast<uint32_t>(x >> 40), static_cast<uint8_t>(x >> 32),
    static_cast<uint8_t>(x >> 24),
    static_cast<int32_t>((static_cast<uint32_t>(x) & 0x7fffff) << 8 | h[8])};
}

/// `closed_stream_error`'s answer for a frame to let nghttp2 ignore.
constexpr uint32_t ignore_frame = 0xffffffff;

/// `on_request_rejected`'s reason for each status the session answers.
const char* reject_reason(int status) noexcept {
  switch (status) {
  case 408:
    return "request timeout";
  case 413:
    return "request body over max_content_length";
  case 431:
    return "request header list over max_header_list_size";
  case 501:
    return "CONNECT is not supported";
  case 503:
    return "request body over body_memory_budget and not spooled (no "
           "body_spool_dir, or the file could not be written)";
  default:
    return "rejected";
  }
}

} // namespace

// -- block_pool ---------------------------------------------------------------

block_pool::~block_pool() {
  for (auto* head : lists_)
    while (head != nullptr) {
      auto* next = head->next;
      std::free(reinterpret_cast<char*>(head) - sizeof(header));
      head = next;
    }
}

nghttp2_mem block_pool::table() noexcept {
  nghttp2_mem m;
  m.mem_user_data = this;
  m.malloc = [](size_t n, void* ud) {
    return static_cast<block_pool*>(ud)->allocate(n);
  };
  m.free = [](void* p, void* ud) { static_cast<block_pool*>(ud)->release(p); };
  m.calloc = [](size_t count, size_t size, void* ud) -> void* {
    if (size != 0 && count > SIZE_MAX / size)
      return nullptr;
    auto* p = static_cast<block_pool*>(ud)->allocate(count * size);
    if (p != nullptr)
      std::memset(p, 0, count * size);
    return p;
  };
  m.realloc = [](void* p, size_t n, void* ud) {
    return static_cast<block_pool*>(ud)->reallocate(p, n);
  };
  return m;
}

void* block_pool::allocate(size_t n) noexcept {
  uint32_t c = no_class;
  size_t capacity = n;
  if (n <= max_block) {
    // The smallest power of two >= n, at least min_block (2^5).
    c = n <= min_block ? 0 : static_cast<uint32_t>(std::bit_width(n - 1)) - 5;
    capacity = min_block << c;
    if (auto* b = lists_[c]; b != nullptr) {
      lists_[c] = b->next;
      kept_bytes_ -= capacity;
      return b;
    }
  }
  if (capacity > SIZE_MAX - sizeof(header))
    return nullptr;
  auto* raw = static_cast<char*>(std::malloc(sizeof(header) + capacity));
  if (raw == nullptr)
    return nullptr;
  auto* h = reinterpret_cast<header*>(raw);
  h->size_class = c;
  h->unused = 0;
  h->capacity = capacity;
  return raw + sizeof(header);
}

void block_pool::release(void* p) noexcept {
  if (p == nullptr)
    return;
  auto* raw = static_cast<char*>(p) - sizeof(header);
  auto* h = reinterpret_cast<header*>(raw);
  if (h->size_class == no_class || kept_bytes_ + h->capacity > max_kept_bytes) {
    std::free(raw);
    return;
  }
  auto* b = static_cast<free_block*>(p);
  b->next = lists_[h->size_class];
  lists_[h->size_class] = b;
  kept_bytes_ += h->capacity;
}

void* block_pool::reallocate(void* p, size_t n) noexcept {
  if (p == nullptr)
    return allocate(n);
  auto* h = reinterpret_cast<header*>(static_cast<char*>(p) - sizeof(header));
  if (n <= h->capacity)
    return p;
  auto* q = allocate(n);
  if (q == nullptr)
    return nullptr; // p stays valid, as with realloc
  std::memcpy(q, p, h->capacity);
  release(p);
  return q;
}

// -- the engine ---------------------------------------------------------------

session::impl::impl(const session_config& cfg, session_callbacks& cb)
  : cfg_(cfg), cb_(cb) {
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0 || callbacks() == nullptr) {
    nghttp2_option_del(opt);
    fatal_ = true;
    return;
  }
  // Windows are refilled by `refill_windows` (the seed's threshold rule),
  // not by nghttp2's "half the window consumed" rule.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  // RFC 9113 5.3.2 deprecates the RFC 7540 priority tree: closed streams
  // are not kept as tree anchors (they cost a little on every stream).
  // Frames on such streams are recognised by `feed` instead (recent_ids).
  nghttp2_option_set_no_closed_streams(opt, 1);
  // Client resets count against our budget per window of streams
  // (`max_stream_resets`, answered with ENHANCE_YOUR_CALM). nghttp2's own
  // token bucket (1000, then 33 a second; GOAWAY(INTERNAL_ERROR)) would
  // also cut a busy client that cancels a fair share of its streams.
  nghttp2_option_set_stream_reset_rate_limit(opt, UINT64_MAX, 1);
  credit_ = cfg_.http2.max_overhead_frames;
  // A client may have about twice max_concurrent_streams newer streams
  // opened before it reads a RST_STREAM of ours (RFC 9113 5.1 "closed":
  // newer streams are the signal that it saw the reset).
  forget_is_safe_ =
    2 * std::max<int64_t>(cfg_.http2.max_concurrent_streams, 1) <
    recent_ids::size;
  auto mem = pool_.table();
  auto rv = nghttp2_session_server_new3(&ng_, callbacks(), this, opt, &mem);
  nghttp2_option_del(opt);
  if (rv != 0) {
    ng_ = nullptr;
    fatal_ = true;
    return;
  }
  const auto& h2 = cfg_.http2;
  // RFC 9113 5.1.2: a stream over the limit is refused (REFUSED_STREAM)
  // while the others are served. nghttp2 makes it a connection error
  // (PROTOCOL_ERROR) once the client acknowledged the setting, so it is
  // told "no limit", the limit is enforced in on_begin_headers, and the
  // SETTINGS frame carries the real value on the wire (`patch_settings`).
  settings_patched_ = clamp_window(h2.max_concurrent_streams) == 0x7fffffff;
  // RFC 9218 2.1: SETTINGS_NO_RFC7540_PRIORITIES = 1 (RFC 9113 5.3.2
  // deprecates the RFC 7540 priority scheme): nghttp2 keeps no priority
  // tree and schedules by RFC 9218 urgency, whatever the client sends (no
  // fallback option). It still checks a PRIORITY frame's length and skips
  // the rest of it: a PRIORITY on stream 0 (RFC 9113 6.3) and a stream
  // depending on itself (5.3.1) are checked in `feed` (`priority_error`).
  // RFC 8441 3: SETTINGS_ENABLE_CONNECT_PROTOCOL lets the client send
  // :protocol (nghttp2 checks it from the moment the setting is queued).
  nghttp2_settings_entry settings[] = {
    {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 0x7fffffff},
    {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE,
     static_cast<uint32_t>(clamp_window(h2.stream_window))},
    {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
     static_cast<uint32_t>(clamp_window(h2.max_header_list_size))},
    {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
    {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},
  };
  auto count = std::size(settings) - (h2.enable_connect_protocol ? 0 : 1);
  if (nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, settings, count) != 0) {
    fatal_ = true;
    return;
  }
  // The seed's early WINDOW_UPDATE(0, conn_window - 65535). A smaller
  // conn_window cannot shrink the RFC's initial 65535 (no SETTINGS for the
  // connection window); `refill_windows` converges to it instead.
  if (h2.conn_window > rfc_initial_window &&
      nghttp2_session_set_local_window_size(ng_, NGHTTP2_FLAG_NONE, 0,
                                            clamp_window(h2.conn_window)) != 0)
    fatal_ = true;
}

session::impl::~impl() {
  // The header references belong to the session's allocator: free them
  // before the session.
  last_ = nullptr;
  streams_.clear();
  spare_.clear();
  nghttp2_session_del(ng_);
}

namespace {

bool id_less(const std::unique_ptr<stream>& s, int32_t id) noexcept {
  return s->id < id;
}

} // namespace

stream* session::impl::find_sorted(int32_t id) const noexcept {
  auto i = std::lower_bound(streams_.begin(), streams_.end(), id, id_less);
  if (i == streams_.end() || (*i)->id != id)
    return nullptr;
  last_ = i->get();
  return last_;
}

stream& session::impl::open_stream(int32_t id) {
  std::unique_ptr<stream> s;
  if (spare_.empty()) {
    s = std::make_unique<stream>(id);
  } else {
    s = std::move(spare_.back());
    spare_.pop_back();
    s->reuse(id);
  }
  auto& ref = *s;
  last_ = &ref;
  if (streams_.empty() || streams_.back()->id < id)
    streams_.push_back(std::move(s));
  else
    streams_.insert(
      std::lower_bound(streams_.begin(), streams_.end(), id, id_less),
      std::move(s));
  return ref;
}

void session::impl::erase_stream(int32_t id) noexcept {
  auto i = std::lower_bound(streams_.begin(), streams_.end(), id, id_less);
  if (i == streams_.end() || (*i)->id != id)
    return;
  if (current_ == i->get())
    current_ = nullptr;
  if (last_ == i->get())
    last_ = nullptr;
  auto s = std::move(*i);
  streams_.erase(i);
  if (spare_.size() < max_spare_streams) {
    // Views into nghttp2's buffers and the response head go now; the rest
    // waits for `reuse`.
    s->release_request();
    s->release_response();
    spare_.push_back(std::move(s));
  }
}

stream* session::impl::find_open(int32_t id) const noexcept {
  auto* s = find(id);
  return s != nullptr && s->delivered && !s->closed ? s : nullptr;
}

// -- receiving ----------------------------------------------------------------

int session::impl::on_begin_headers(const nghttp2_frame* frame) {
  current_ = nullptr;
  block_bytes_ = 0;
  if (frame->hd.type != NGHTTP2_HEADERS ||
      frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  auto id = frame->hd.stream_id;
  // Sent before the client saw our GOAWAY: refused, so the client knows it
  // may retry it elsewhere (RFC 9113 8.7). nghttp2 ignores such streams
  // only once the GOAWAY is out. Over SETTINGS_MAX_CONCURRENT_STREAMS:
  // refused too, one by one (RFC 9113 5.1.2); the others are served. The
  // header block is still decoded (HPACK state, RFC 9113 4.3), but nothing
  // of it is kept, and a refusal is overhead.
  if ((going_away_ && id > goaway_last_id_) ||
      open_count_ >= cfg_.http2.max_concurrent_streams) {
    nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, id,
                              NGHTTP2_REFUSED_STREAM);
    if (!spend(1))
      calm_ = true;
    return 0;
  }
  current_ = &open_stream(id);
  ++open_count_;
  earn(credit_per_request);
  return 0;
}

int session::impl::on_header(const nghttp2_frame* frame, nghttp2_rcbuf* name,
                             nghttp2_rcbuf* value) {
  auto n = nghttp2_rcbuf_get_buf(name);
  auto v = nghttp2_rcbuf_get_buf(value);
  // An HPACK bomb (a small block expanding far past the limit), in any
  // block (a request, trailers, a refused stream): decoding stops and the
  // connection ends once the block decodes to 4 x max_header_list_size;
  // up to there a request over the limit is still decoded (RFC 9113 4.3
  // keeps HPACK in sync) and answered with 431.
  block_bytes_ += n.len + v.len + 32;
  if (block_bytes_ > block_cap(cfg_.http2.max_header_list_size)) {
    calm_ = true;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  // Trailers of a request are decoded by nghttp2 (HPACK state) and dropped,
  // as HTTP/1.1 chunked trailers are. A header block is never interleaved
  // with other frames (RFC 9113 4.3), so the stream is on_begin_headers'.
  auto* s = current_;
  if (s == nullptr || s->id != frame->hd.stream_id || s->rejected ||
      frame->hd.type != NGHTTP2_HEADERS ||
      frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  // RFC 9113 6.5.2: the field section size counts name + value + 32. The
  // block is still decoded to the end (HPACK state, RFC 9113 4.3); the
  // stream gets 431 when it ends.
  s->header_list_size += n.len + v.len + 32;
  if (s->header_list_too_large)
    return 0;
  if (s->header_list_size >
      static_cast<uint64_t>(cfg_.http2.max_header_list_size)) {
    s->header_list_too_large = true;
    s->release_request();
    return 0;
  }
  std::string_view key{reinterpret_cast<const char*>(n.base), n.len};
  // nghttp2 already checked the pseudo-header rules (RFC 9113 8.3: known
  // names, no duplicates, before regular fields) and the field syntax, so
  // a pseudo-header's length tells which it is.
  if (!key.empty() && key.front() == ':') {
    switch (key.size()) {
    case 7: // :method, :scheme
      if (key == ":method")
        s->head.method = s->keep(value, v);
      // :scheme: the transport decides "http" / "https" (connection_info).
      break;
    case 5: // :path
      s->head.target = s->keep(value, v);
      break;
    case 10: { // :authority
      s->authority = s->keep(value, v);
      s->has_authority = true;
      // :authority is the Host of HTTP/1.1 (RFC 9113 8.3.1): handlers and
      // routes see it as a `host` field, first (pseudo-headers come before
      // the regular fields, nghttp2 checks that).
      auto& fields = s->head.headers;
      fields.insert(fields.begin(), {"host", s->authority});
      s->authority_as_host = true;
      break;
    }
    case 9: // :protocol (RFC 8441 4)
      s->head.connect_protocol = s->keep(value, v);
      break;
    default:
      break;
    }
    return 0;
  }
  header_field f{s->keep(name, n), s->keep(value, v)};
  if (key == "host") {
    ++s->hosts;
    s->head.host = f.value;
    if (std::exchange(s->authority_as_host, false))
      s->head.headers.erase(s->head.headers.begin());
  }
  s->head.headers.push_back(f);
  return 0;
}

int session::impl::on_frame_recv(const nghttp2_frame* frame) {
  switch (frame->hd.type) {
  case NGHTTP2_SETTINGS:
    if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0)
      preface_received_ = true;
    return 0;
  case NGHTTP2_PING:
    if (notice_sent_ && (frame->hd.flags & NGHTTP2_FLAG_ACK) != 0 &&
        std::memcmp(frame->ping.opaque_data, notice_ping.data(),
                    notice_ping.size()) == 0)
      notice_acked_ = true;
    return 0;
  case NGHTTP2_HEADERS:
  case NGHTTP2_DATA:
    break;
  default:
    return 0;
  }
  auto* s = find(frame->hd.stream_id);
  if (s == nullptr)
    return 0;
  if (frame->hd.type == NGHTTP2_HEADERS &&
      frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    current_ = nullptr;
    finish_head(*s);
  }
  if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
    if (s->tunnel) {
      // The peer ended its side of the tunnel (as a TCP FIN).
      s->tunnel_eof = true;
      tunnel_data(*s);
    } else {
      request_complete(*s);
    }
  }
  return 0;
}

void session::impl::finish_head(stream& s) {
  if (s.rejected)
    return;
  if (s.header_list_too_large) {
    // No work: the credit the request earned, and a frame per KiB decoded
    // past the limit, are spent (a repeated bomb just under the cap).
    auto over = s.header_list_size -
                static_cast<uint64_t>(cfg_.http2.max_header_list_size);
    if (!spend(credit_per_request + 1 + static_cast<int64_t>(over / 1024)))
      calm_ = true;
    reject(s, 431);
    return;
  }
  auto& h = s.head;
  s.is_head = h.method == "HEAD";
  // CONNECT (RFC 9113 8.5) opens a tunnel, which this server does not do;
  // an extended CONNECT (RFC 8441 4, nghttp2 checked its :scheme, :path
  // and :authority) opens a WebSocket, the HTTP/2 form of a GET with
  // Upgrade: routes see it as that GET. Another protocol: 501.
  if (h.method == "CONNECT") {
    if (h.connect_protocol.empty()) {
      reject(s, 501);
      return;
    }
    if (!http1::iequals(h.connect_protocol, "websocket")) {
      reject(s, 501, "extended CONNECT for a protocol other than websocket");
      return;
    }
    s.tunnel = true;
    h.method = "GET";
  }
  // Malformed requests are stream errors of type PROTOCOL_ERROR (RFC 9113
  // 8.1.1): a :path nghttp2 let through (it checks the form only for the
  // http/https schemes, and allows SP and obs-text), several Host fields,
  // or a Host other than :authority (RFC 9113 8.3.1).
  if (!is_valid_path(h.method, h.target) || s.hosts > 1 ||
      (s.hosts == 1 && s.has_authority && h.host != s.authority)) {
    rejected(s, 400, "malformed request");
    nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, s.id,
                              NGHTTP2_PROTOCOL_ERROR);
    return;
  }
  auto q = h.target.find('?');
  h.path = h.target.substr(0, q);
  h.query =
    q == std::string_view::npos ? std::string_view{} : h.target.substr(q + 1);
  h.version_major = 2;
  h.version_minor = 0;
  h.keep_alive = true;
  if (s.authority_as_host)
    h.host = s.authority; // already the first field (on_header)
  if (s.tunnel) {
    // The request is its head: dispatched now, what follows is tunnel data
    // (bounded by the WebSocket's own limits, not max_content_length).
    request_complete(s);
    return;
  }
  if (auto cl = h.find("content-length")) {
    // nghttp2 checked the syntax and that DATA adds up to it (RFC 9113
    // 8.1.1); decide 413 before any body byte arrives.
    uint64_t n = 0;
    std::from_chars(cl->data(), cl->data() + cl->size(), n);
    h.framing = body_framing::content_length;
    h.content_length = n;
    if (n > cfg_.max_content_length) {
      reject(s, 413);
      return;
    }
    // Memory grows with the bytes that arrive, towards n and never past
    // it (a lying content-length costs nothing: nghttp2 checks the sum).
    s.body.start(cfg_.bodies, n);
    return;
  }
  s.body.start(cfg_.bodies, cfg_.max_content_length);
}

int session::impl::on_data_chunk(int32_t id, const uint8_t* data, size_t len) {
  auto* s = find(id);
  if (s == nullptr || s->rejected)
    return 0;
  fed_streams_.push_back(id);
  if (s->tunnel) {
    // Handed over once nghttp2 returned (at most one read's bytes).
    s->tunnel_in.append(reinterpret_cast<const char*>(data), len);
    tunnel_data(*s);
    return 0;
  }
  if (s->body.size() + len > cfg_.max_content_length) {
    reject(*s, 413);
    return 0;
  }
  if (s->body.append(reinterpret_cast<const char*>(data), len) ==
      io::body_store::result::no_room)
    reject(*s, 503); // over the budget, no spooling (or it failed)
  return 0;
}

void session::impl::request_complete(stream& s) {
  if (s.complete)
    return;
  s.complete = true;
  if (s.rejected)
    return;
  s.dispatched = true;
  events_.push_back({event::kind::request, s.id});
}

void session::impl::tunnel_data(stream& s) {
  if (!s.tunnel_event) {
    s.tunnel_event = true;
    events_.push_back({event::kind::tunnel, s.id});
  }
}

void session::impl::reject(stream& s, int status, const char* reason) {
  // Answered by the session, no handler: a bare status as HTTP/1.1's
  // framework errors (content-length 0). `on_frame_send` adds
  // RST_STREAM(NO_ERROR) if the client is still sending (RFC 9113 8.1).
  rejected(s, status, reason != nullptr ? reason : reject_reason(status));
  s.responded = true;
  char digits[3] = {static_cast<char>('0' + status / 100),
                    static_cast<char>('0' + status / 10 % 10),
                    static_cast<char>('0' + status % 10)};
  nghttp2_nv nva[] = {
    make_nv(":status", {digits, 3}),
    make_nv("date", http_date()),
    make_nv("content-length", "0"),
  };
  nghttp2_submit_response(ng_, s.id, nva, std::size(nva), nullptr);
}

void session::impl::rejected(stream& s, int status, const char* reason) {
  s.rejected = true;
  s.release_request();
  events_.push_back(
    {event::kind::rejected, s.id, static_cast<uint32_t>(status), reason});
}

int session::impl::on_invalid_frame(const nghttp2_frame* frame, int lib_error) {
  // A request nghttp2 found malformed (RFC 9113 8.1.1: pseudo-header and
  // field rules, content-length against DATA, trailers without
  // END_STREAM): it resets the stream with PROTOCOL_ERROR itself.
  if (lib_error != NGHTTP2_ERR_HTTP_HEADER &&
      lib_error != NGHTTP2_ERR_HTTP_MESSAGING)
    return 0;
  auto* s = find(frame->hd.stream_id);
  if (s != nullptr && !s->rejected && !s->dispatched)
    rejected(*s, 400, "malformed request");
  return 0;
}

int session::impl::on_stream_close(int32_t id, uint32_t code) {
  auto* sp = find(id);
  if (sp == nullptr)
    return 0;
  auto& s = *sp;
  if (!s.closed)
    --open_count_;
  s.closed = true;
  if (!s.dispatched) {
    erase_stream(id);
    return 0;
  }
  // The stream object stays until `deliver_events` (the request event may
  // still be queued); nghttp2 no longer calls back for it.
  s.release_request();
  events_.push_back({event::kind::closed, id, code});
  return 0;
}

void session::impl::on_reset_sent(const nghttp2_frame* frame) {
  // A request nghttp2 reset as malformed without telling on_invalid_frame
  // (content-length against the DATA, RFC 9113 8.1.1).
  auto* s = find(frame->hd.stream_id);
  if (frame->rst_stream.error_code == NGHTTP2_PROTOCOL_ERROR && s != nullptr &&
      !s->rejected && !s->dispatched)
    rejected(*s, 400, "malformed request");
}

int session::impl::on_frame_send(const nghttp2_frame* frame) {
  // A client may answer each DATA frame with a WINDOW_UPDATE or two.
  if (frame->hd.type == NGHTTP2_DATA)
    earn(1);
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    goaway_code_ = frame->goaway.error_code;
    if (notice_sent_ && !going_away_ &&
        frame->goaway.last_stream_id == 0x7fffffff)
      nghttp2_submit_ping(ng_, NGHTTP2_FLAG_NONE, notice_ping.data());
  }
  if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) {
    if (frame->hd.type == NGHTTP2_RST_STREAM)
      on_reset_sent(frame);
    return 0;
  }
  auto* s = find(frame->hd.stream_id);
  // A complete response before the complete request: ask the client to
  // stop sending without an error (RFC 9113 8.1). A complete request
  // (END_STREAM received) has nothing more to send; a tunnel's peer may
  // still be sending until it ends its side.
  if (s != nullptr && !s->closed && (!s->complete || s->tunnel) &&
      nghttp2_session_get_stream_remote_close(ng_, s->id) == 0)
    nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
  return 0;
}

bool session::impl::recv(const char* data, size_t n) {
  if (n == 0)
    return true;
  auto rv =
    nghttp2_session_mem_recv(ng_, reinterpret_cast<const uint8_t*>(data), n);
  // A callback found the client over a budget; nghttp2's own flood
  // limits (SETTINGS and PING acknowledgements piling up, more than 8
  // CONTINUATIONs) end the session without a GOAWAY: all of them get
  // ENHANCE_YOUR_CALM.
  if (calm_ || rv == NGHTTP2_ERR_FLOODED ||
      rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS) {
    calm_down();
    return false;
  }
  if (rv >= 0)
    return true;
  fatal_ = true;
  going_away_ = true;
  // RFC 9113 3.4: an invalid preface is a connection error of type
  // PROTOCOL_ERROR; the GOAWAY is optional, we send it.
  if (rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC)
    nghttp2_session_terminate_session(ng_, NGHTTP2_PROTOCOL_ERROR);
  events_.clear();
  return false;
}

void session::impl::calm_down() noexcept {
  // RFC 9113 5.4.1 / 7: ENHANCE_YOUR_CALM for a peer that "is exhibiting
  // a behavior that might be generating excessive load". The GOAWAY goes
  // out with the next take_output; nothing more is read or dispatched.
  calm_ = true;
  fatal_ = true;
  going_away_ = true;
  nghttp2_session_terminate_session(ng_, NGHTTP2_ENHANCE_YOUR_CALM);
  events_.clear();
}

int64_t session::impl::overhead_of(uint8_t type, uint8_t flags, uint32_t length,
                                   const char* payload, bool opens) noexcept {
  switch (type) {
  case NGHTTP2_DATA: {
    // Padding is not work: with the pad length in the buffer, only the
    // data counts (a malformed pad length is nghttp2's PROTOCOL_ERROR).
    uint32_t data = length;
    if ((flags & NGHTTP2_FLAG_PADDED) != 0 && payload != nullptr && length > 0)
      data = length - 1 -
             std::min<uint32_t>(length - 1, static_cast<uint8_t>(payload[0]));
    return data < tiny_payload ? 1 : 0;
  }
  case NGHTTP2_HEADERS:
    // A request's block may be a few bytes (indexed fields); trailers and
    // CONTINUATIONs that carry almost nothing are overhead.
    return opens || length >= tiny_payload ? 0 : 1;
  case NGHTTP2_CONTINUATION:
    return length < tiny_payload ? 1 : 0;
  default:
    // PING, SETTINGS, WINDOW_UPDATE, RST_STREAM, PRIORITY, GOAWAY,
    // PUSH_PROMISE (an error anyway) and extension frames.
    return 1;
  }
}

uint32_t session::impl::closed_stream_error(uint8_t type,
                                            int32_t id) const noexcept {
  // RFC 9113 5.1.1: a HEADERS that would open a stream below the highest
  // one is a connection error PROTOCOL_ERROR; 6.1: DATA on a stream that
  // is not open, STREAM_CLOSED.
  constexpr uint32_t protocol_error = NGHTTP2_PROTOCOL_ERROR;
  constexpr uint32_t stream_closed = NGHTTP2_STREAM_CLOSED;
  auto not_opened = type == NGHTTP2_HEADERS ? protocol_error : stream_closed;
  if (!ids_.remembers(id))
    return forget_is_safe_ ? not_opened : ignore_frame;
  if (!ids_.opened(id))
    return not_opened;
  // 5.1 closed: after END_STREAM or RST_STREAM from the client, nothing
  // but PRIORITY, WINDOW_UPDATE and RST_STREAM may follow: STREAM_CLOSED
  // (as a connection error: nothing may be sent on a closed stream, not
  // even RST_STREAM). Otherwise we reset it while the client was sending:
  // what it sent before it saw the reset is ignored (HPACK state and the
  // connection window still count; nghttp2 does that).
  return ids_.finished(id) ? stream_closed : ignore_frame;
}

int64_t session::impl::initial_window_peak(const char* payload,
                                           uint32_t length) noexcept {
  // RFC 9113 6.5.1: 6-byte entries, applied in order.
  if (length % 6 != 0)
    return -1; // nghttp2: FRAME_SIZE_ERROR
  int64_t peak = -1;
  const auto* p = reinterpret_cast<const uint8_t*>(payload);
  for (uint32_t i = 0; i < length; i += 6) {
    auto key = static_cast<uint32_t>(p[i]) << 8 | p[i + 1];
    auto value =
      static_cast<int64_t>(static_cast<uint32_t>(p[i + 2]) << 24 |
                           static_cast<uint32_t>(p[i + 3]) << 16 |
                           static_cast<uint32_t>(p[i + 4]) << 8 | p[i + 5]);
    if (key == NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE && value <= 0x7fffffff)
      peak = std::max(peak, value);
  }
  return peak;
}

bool session::impl::initial_window_overflows(int64_t peak) const noexcept {
  // RFC 9113 6.9.2: a SETTINGS_INITIAL_WINDOW_SIZE that takes a stream's
  // send window over 2^31-1 is a connection error FLOW_CONTROL_ERROR
  // (nghttp2 only resets the stream).
  auto grow = peak - nghttp2_session_get_remote_settings(
                       ng_, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE);
  if (grow <= 0)
    return false;
  for (auto& s : streams_)
    if (!s->closed &&
        nghttp2_session_get_stream_remote_window_size(ng_, s->id) + grow >
          0x7fffffff)
      return true;
  return false;
}

bool session::impl::priority_error(uint8_t type, uint8_t flags, uint32_t length,
                                   int32_t id, const char* payload,
                                   size_t in_buffer) noexcept {
  // With the RFC 7540 priority tree off, nghttp2 checks a PRIORITY frame's
  // length (FRAME_SIZE_ERROR) and skips the rest: a PRIORITY on stream 0
  // is a connection error PROTOCOL_ERROR (RFC 9113 6.3), and so is a
  // stream depending on itself (5.3.1, as nghttp2 made it with the tree
  // on). The dependency: a PRIORITY's first 4 payload bytes, a HEADERS'
  // after the pad length when it has the PRIORITY flag (6.2).
  uint32_t offset = 0;
  if (type == NGHTTP2_PRIORITY) {
    if (length != 5)
      return false;
    if (id == 0)
      return true;
  } else if (type == NGHTTP2_HEADERS && (flags & NGHTTP2_FLAG_PRIORITY) != 0) {
    offset = (flags & NGHTTP2_FLAG_PADDED) != 0 ? 1 : 0;
    if (length < offset + 5)
      return false; // nghttp2's FRAME_SIZE_ERROR
  } else {
    return false;
  }
  auto need = offset + 4;
  dep_offset_ = offset;
  dep_stream_ = id;
  if (in_buffer < need) {
    // Cut by the end of this read: the rest comes with the next one.
    std::memcpy(dep_bytes_.data(), payload, in_buffer);
    dep_have_ = static_cast<uint32_t>(in_buffer);
    dep_need_ = need;
    return false;
  }
  std::memcpy(dep_bytes_.data(), payload, need);
  dep_have_ = dep_need_ = need;
  return pending_dependency(nullptr, 0);
}

bool session::impl::pending_dependency(const char* data, size_t size) noexcept {
  // Completes the dependency bytes from the start of `data` (the frame's
  // payload goes on there); true once they name the frame's own stream.
  auto k = std::min<size_t>(dep_need_ - dep_have_, size);
  if (k > 0)
    std::memcpy(dep_bytes_.data() + dep_have_, data, k);
  dep_have_ += static_cast<uint32_t>(k);
  if (dep_have_ < dep_need_)
    return false;
  dep_need_ = 0;
  const auto* b = dep_bytes_.data() + dep_offset_;
  auto dep =
    (static_cast<uint32_t>(b[0]) << 24 | static_cast<uint32_t>(b[1]) << 16 |
     static_cast<uint32_t>(b[2]) << 8 | b[3]) &
    0x7fffffff;
  return dep == static_cast<uint32_t>(dep_stream_);
}

feed_result session::impl::feed(std::span<const char> bytes) {
  if (fatal_ || ng_ == nullptr)
    return feed_result::fatal;
  // nghttp2 gets the bytes in one piece unless a DATA or HEADERS frame
  // names a client stream at or below the highest one opened that may
  // have closed: then it gets the bytes before that frame first, so that
  // its stream states are current, and a frame on a closed stream is
  // answered here (nghttp2 keeps no closed streams). Only the 9-byte
  // frame headers are read.
  const auto* data = bytes.data();
  const auto size = bytes.size();
  size_t fed = 0;
  // The rest of a stream dependency cut at the end of the last read.
  if (dep_need_ > 0 && pending_dependency(data, size)) {
    going_away_ = true;
    nghttp2_session_terminate_session(ng_, NGHTTP2_PROTOCOL_ERROR);
    deliver_events();
    return feed_result::ok;
  }
  // The preface, or the rest of a payload that began in an earlier call.
  size_t pos = std::min<size_t>(skip_, size);
  skip_ -= static_cast<uint32_t>(pos);
  // The bytes since `fed` may have changed a stream's state (new stream,
  // END_STREAM, RST_STREAM): `find` does not know yet.
  bool stale = false;
  while (pos < size) {
    auto start = pos;
    frame_head f;
    if (head_len_ == 0 && size - pos >= head_.size()) {
      f = parse_head(reinterpret_cast<const uint8_t*>(data + pos));
      pos += head_.size();
    } else {
      auto k = std::min<size_t>(head_.size() - head_len_, size - pos);
      std::memcpy(head_.data() + head_len_, data + pos, k);
      head_len_ += static_cast<uint32_t>(k);
      pos += k;
      if (head_len_ < head_.size())
        break;
      head_len_ = 0;
      f = parse_head(head_.data());
    }
    // The payload is not read: skip it (here, or in the next calls).
    auto in_buffer = std::min<size_t>(f.length, size - pos);
    pos += in_buffer;
    skip_ = f.length - static_cast<uint32_t>(in_buffer);
    auto id = f.stream_id;
    bool opens =
      f.type == NGHTTP2_HEADERS && id > ids_.highest() && (id & 1) != 0;
    // Flood limits: frames without work spend credit; client resets count
    // per window of new streams (CVE-2019-9512/9515/9518, CVE-2023-44487).
    // Cut at the frame that crosses a limit: the frames before it are
    // processed first.
    auto cost =
      overhead_of(f.type, f.flags, f.length,
                  in_buffer > 0 ? data + pos - in_buffer : nullptr, opens);
    if (cost > 0 && f.type == NGHTTP2_DATA && f.length > 0) {
      // Small DATA on a tunnel is its traffic (WebSocket frames), not
      // overhead.
      auto* t = find(id);
      if (t != nullptr && t->tunnel_open)
        cost = 0;
    }
    if (opens && ++window_streams_ >= cfg_.http2.reset_window)
      window_streams_ = window_resets_ = 0;
    if ((cost > 0 && !spend(cost)) ||
        (f.type == NGHTTP2_RST_STREAM &&
         ++window_resets_ > cfg_.http2.max_stream_resets)) {
      if (recv(data + fed, start - fed))
        calm_down();
      return feed_result::fatal;
    }
    // RFC 9113 5.3.1, 6.3 (`priority_error`): a connection error; the
    // frames before it are processed first.
    if (priority_error(f.type, f.flags, f.length, id, data + pos - in_buffer,
                       in_buffer)) {
      if (!recv(data + fed, start - fed))
        return feed_result::fatal;
      going_away_ = true;
      nghttp2_session_terminate_session(ng_, NGHTTP2_PROTOCOL_ERROR);
      fed = size;
      break;
    }
    if (opens) {
      ids_.open(id, (f.flags & NGHTTP2_FLAG_END_STREAM) != 0);
      stale = true;
      continue;
    }
    // The client sends nothing more on the stream after this frame.
    bool ends = f.type == NGHTTP2_RST_STREAM ||
                ((f.type == NGHTTP2_DATA || f.type == NGHTTP2_HEADERS) &&
                 (f.flags & NGHTTP2_FLAG_END_STREAM) != 0);
    uint32_t error = ignore_frame;
    if (f.type == NGHTTP2_SETTINGS) {
      // Only a SETTINGS whole in this read (they are small and come first;
      // one cut across reads is left to nghttp2, which resets the stream).
      if ((f.flags & NGHTTP2_FLAG_ACK) == 0 &&
          pos - start == head_.size() + f.length) {
        auto peak = initial_window_peak(data + start + head_.size(), f.length);
        if (peak >= 0) {
          if (!recv(data + fed, start - fed))
            return feed_result::fatal;
          fed = start;
          stale = false;
          if (initial_window_overflows(peak))
            error = NGHTTP2_FLOW_CONTROL_ERROR;
        }
      }
    } else if ((f.type == NGHTTP2_DATA || f.type == NGHTTP2_HEADERS) &&
               (id & 1) != 0 && id <= ids_.highest()) {
      auto* s = stale ? nullptr : find(id);
      // Not open (as far as `find` knows): bring nghttp2 up to this frame
      // and ask it.
      if (s == nullptr || s->closed) {
        if (!recv(data + fed, start - fed))
          return feed_result::fatal;
        fed = start;
        stale = false;
        if (nghttp2_session_find_stream(ng_, id) == nullptr)
          error = closed_stream_error(f.type, id);
      }
    }
    if (error != ignore_frame) {
      // A connection error: GOAWAY(error) with the last stream processed;
      // nghttp2 reads nothing more.
      going_away_ = true;
      nghttp2_session_terminate_session(ng_, error);
      fed = size;
      break;
    }
    if (ends && (id & 1) != 0) {
      // After the verdict on this frame: an END_STREAM on a stream we
      // reset is still a frame sent before the client saw the reset.
      ids_.finish(id);
      stale = true;
    }
  }
  if (!recv(data + fed, size - fed))
    return feed_result::fatal;
  refill_windows();
  deliver_events();
  return feed_result::ok;
}

void session::impl::refill(int32_t stream_id, int32_t peak) {
  // RFC 9113 6.9: what the client may still send without a WINDOW_UPDATE.
  auto remaining =
    stream_id == 0
      ? nghttp2_session_get_local_window_size(ng_)
      : nghttp2_session_get_stream_local_window_size(ng_, stream_id);
  if (remaining < 0)
    return;
  auto threshold = clamp_window(cfg_.http2.window_refill_threshold);
  if (remaining < threshold && remaining < peak)
    nghttp2_submit_window_update(ng_, NGHTTP2_FLAG_NONE, stream_id,
                                 peak - remaining);
}

void session::impl::refill_windows() {
  // The seed's rule: a receive window that drops below
  // window_refill_threshold is refilled to its peak (conn_window,
  // stream_window). Bodies are buffered whole anyway; max_content_length
  // bounds them, not the window.
  refill(0, std::max(clamp_window(cfg_.http2.conn_window), 1));
  auto peak = std::max(clamp_window(cfg_.http2.stream_window), 1);
  for (auto id : fed_streams_) {
    auto* s = find(id);
    if (s != nullptr && !s->rejected && !s->closed && !s->window_held &&
        (!s->complete || s->tunnel))
      refill(id, peak);
  }
  fed_streams_.clear();
}

void session::impl::hold_window(int32_t id, bool hold) {
  auto* s = find(id);
  if (s == nullptr || !s->tunnel_open || s->window_held == hold)
    return;
  s->window_held = hold;
  if (!hold && !s->closed && ng_ != nullptr)
    refill(id, std::max(clamp_window(cfg_.http2.stream_window), 1));
}

void session::impl::deliver_events() {
  if (delivering_)
    return;
  delivering_ = true;
  // Callbacks may submit responses, which queue no events; take_output may
  // (stream closes), and runs its own delivery afterwards.
  for (size_t i = 0; i < events_.size(); ++i) {
    auto e = events_[i];
    auto* s = find(e.stream_id);
    // A rejected stream may be gone already (closed before dispatch).
    if (s == nullptr && e.what != event::kind::rejected)
      continue;
    switch (e.what) {
    case event::kind::request: {
      if (s->closed)
        break; // reset by the peer before we got to it
      auto body = s->body.view();
      if (!body) {
        // A spooled body that cannot be mapped (address space, the
        // filesystem): the handler would see an empty body.
        reject(*s, 503, "spooled request body could not be mapped");
        break;
      }
      s->delivered = true;
      try {
        cb_.on_request(s->id, s->head, *body);
      } catch (...) {
        s = find(e.stream_id);
        if (s != nullptr && !s->responded && !s->closed)
          respond(*s, response::text(500, "Internal Server Error"), false);
      }
      s = find(e.stream_id);
      if (s != nullptr)
        s->release_request();
      break;
    }
    case event::kind::closed:
      if (s->delivered)
        notify([&] {
          cb_.on_stream_closed(e.stream_id, static_cast<error_code>(e.code));
        });
      erase_stream(e.stream_id);
      break;
    case event::kind::writable:
      if (s->delivered && !s->closed)
        notify([&] { cb_.on_stream_writable(e.stream_id); });
      break;
    case event::kind::rejected:
      notify([&] {
        cb_.on_request_rejected(e.stream_id, static_cast<int>(e.code),
                                e.reason);
      });
      break;
    case event::kind::tunnel:
      s->tunnel_event = false;
      if (s->delivered && !s->closed)
        notify([&] {
          cb_.on_tunnel_data(e.stream_id, s->tunnel_in, s->tunnel_eof);
        });
      s = find(e.stream_id);
      if (s != nullptr) {
        s->tunnel_in.clear();
        if (s->tunnel_in.capacity() > stream::kept_body_capacity)
          detail::free_string(s->tunnel_in);
      }
      break;
    }
  }
  events_.clear();
  delivering_ = false;
}

bool session::impl::goaway_notice() {
  if (ng_ == nullptr || going_away_ || notice_sent_)
    return false;
  // RFC 9113 6.8: "a server that is attempting to gracefully shut down a
  // connection SHOULD send an initial GOAWAY frame with the last stream
  // identifier set to 2^31-1 and a NO_ERROR code [...] After allowing time
  // for any in-flight stream creation (at least one round-trip time), the
  // server MAY send another GOAWAY frame with an updated last stream
  // identifier." The PING measures that round trip.
  // The PING follows once the GOAWAY is out (on_frame_send): nghttp2
  // sends PINGs before other frames, and an ACK must not come back before
  // the client saw the notice.
  if (nghttp2_submit_shutdown_notice(ng_) != 0)
    return false;
  notice_sent_ = true;
  return true;
}

void session::impl::goaway_graceful() {
  if (ng_ == nullptr || going_away_)
    return;
  going_away_ = true;
  goaway_last_id_ = nghttp2_session_get_last_proc_stream_id(ng_);
  nghttp2_submit_goaway(ng_, NGHTTP2_FLAG_NONE, goaway_last_id_,
                        NGHTTP2_NO_ERROR, nullptr, 0);
}

void session::impl::terminate(error_code code) {
  if (ng_ == nullptr)
    return;
  going_away_ = true;
  nghttp2_session_terminate_session(ng_, static_cast<uint32_t>(code));
}

size_t session::impl::incomplete_requests() const noexcept {
  return static_cast<size_t>(
    std::count_if(streams_.begin(), streams_.end(),
                  [](const auto& s) { return !s->complete && !s->rejected; }));
}

io::body_store session::impl::take_body(int32_t id) {
  auto* s = find(id);
  if (s == nullptr)
    return {};
  return std::move(s->body);
}

submit_result session::impl::expire(int32_t id) {
  auto* s = find(id);
  if (s == nullptr || s->complete || s->rejected || s->closed)
    return submit_result::unknown_stream;
  reject(*s, 408);
  return submit_result::ok;
}

// -- session ------------------------------------------------------------------

session::session(const session_config& cfg, session_callbacks& callbacks)
  : impl_(std::make_unique<impl>(cfg, callbacks)) {}

session::~session() = default;

feed_result session::feed(std::span<const char> bytes) {
  return impl_->feed(bytes);
}

bool session::want_read() const noexcept {
  return !impl_->fatal_ && impl_->ng_ != nullptr &&
         nghttp2_session_want_read(impl_->ng_) != 0;
}

bool session::preface_received() const noexcept {
  return impl_->preface_received_;
}

size_t session::take_output(std::string& out, size_t max_bytes) {
  return impl_->take_output(out, max_bytes);
}

bool session::want_write() const noexcept {
  return impl_->ng_ != nullptr && nghttp2_session_want_write(impl_->ng_) != 0;
}

bool session::send_stalled() const noexcept {
  auto* ng = impl_->ng_;
  if (ng == nullptr)
    return false;
  auto conn_window = nghttp2_session_get_remote_window_size(ng);
  for (auto& s : impl_->streams_) {
    if (!s->responded || s->closed || s->no_body)
      continue;
    bool pending = false;
    switch (s->source) {
    case stream::body_source::buffer:
      pending = s->buffer_pos < s->buffer.size();
      break;
    case stream::body_source::file:
      pending = s->file_left > 0;
      break;
    case stream::body_source::queue:
      pending = s->queued > 0;
      break;
    case stream::body_source::none:
      break;
    }
    if (pending &&
        (conn_window <= 0 ||
         nghttp2_session_get_stream_remote_window_size(ng, s->id) <= 0))
      return true;
  }
  return false;
}

submit_result session::submit(int32_t stream_id, response&& r) {
  return impl_->submit(stream_id, std::move(r));
}

submit_result session::start_stream(int32_t stream_id, response&& r) {
  return impl_->start_stream(stream_id, std::move(r));
}

submit_result session::open_tunnel(int32_t stream_id, response&& r) {
  return impl_->open_tunnel(stream_id, std::move(r));
}

submit_result session::push(int32_t stream_id, std::string&& data) {
  return impl_->push(stream_id, std::move(data));
}

size_t session::buffered(int32_t stream_id) const noexcept {
  return impl_->buffered(stream_id);
}

void session::hold_window(int32_t stream_id, bool hold) {
  impl_->hold_window(stream_id, hold);
}

submit_result session::finish(int32_t stream_id,
                              std::vector<response::field> trailers) {
  return impl_->finish(stream_id, std::move(trailers));
}

submit_result session::reset(int32_t stream_id, error_code code) {
  return impl_->reset(stream_id, code);
}

bool session::goaway_notice() {
  return impl_->goaway_notice();
}

bool session::notice_acked() const noexcept {
  return impl_->notice_acked_;
}

void session::goaway_graceful() {
  impl_->goaway_graceful();
}

io::body_store session::take_body(int32_t stream_id) {
  return impl_->take_body(stream_id);
}

void session::terminate(error_code code) {
  impl_->terminate(code);
}

error_code session::goaway_code() const noexcept {
  return static_cast<error_code>(impl_->goaway_code_);
}

bool session::going_away() const noexcept {
  return impl_->going_away_;
}

size_t session::open_streams() const noexcept {
  return impl_->streams_.size();
}

size_t session::incomplete_requests() const noexcept {
  return impl_->incomplete_requests();
}

void session::incomplete_streams(std::vector<int32_t>& out) const {
  for (auto& s : impl_->streams_)
    if (!s->complete && !s->rejected)
      out.push_back(s->id);
}

submit_result session::expire(int32_t stream_id) {
  return impl_->expire(stream_id);
}

bool session::is_idle() const noexcept {
  return impl_->streams_.empty() && !want_write();
}

const char* to_string(error_code code) noexcept {
  switch (code) {
  case error_code::no_error:
    return "NO_ERROR";
  case error_code::protocol_error:
    return "PROTOCOL_ERROR";
  case error_code::internal_error:
    return "INTERNAL_ERROR";
  case error_code::flow_control_error:
    return "FLOW_CONTROL_ERROR";
  case error_code::settings_timeout:
    return "SETTINGS_TIMEOUT";
  case error_code::stream_closed:
    return "STREAM_CLOSED";
  case error_code::frame_size_error:
    return "FRAME_SIZE_ERROR";
  case error_code::refused_stream:
    return "REFUSED_STREAM";
  case error_code::cancel:
    return "CANCEL";
  case error_code::compression_error:
    return "COMPRESSION_ERROR";
  case error_code::connect_error:
    return "CONNECT_ERROR";
  case error_code::enhance_your_calm:
    return "ENHANCE_YOUR_CALM";
  case error_code::inadequate_security:
    return "INADEQUATE_SECURITY";
  case error_code::http_1_1_required:
    return "HTTP_1_1_REQUIRED";
  }
  return "UNKNOWN";
}

} // namespace roadrunner::http2
