#include "date_cache.hpp"
#include "http1/chars.hpp"
#include "http1/serializer.hpp"
#include "http2/session_impl.hpp"

#include <nghttp2/nghttp2.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

// The sending half of `http2::session`: responses, bodies, output.

namespace roadrunner::http2 {

namespace {

/// Status codes whose response has no content (RFC 9110 6.4.1).
bool allows_body(int status) noexcept {
  return status >= 200 && status != 204 && status != 304;
}

/// Connection-specific fields are not allowed in HTTP/2 (RFC 9113 8.2.2);
/// `content-length` is ours (the framing of the body we send). The length
/// picks the candidates (this runs for every field of every response).
bool dropped_response_field(std::string_view name) noexcept {
  using http1::iequals;
  switch (name.size()) {
  case 2:
    return iequals(name, "te");
  case 7:
    return iequals(name, "upgrade");
  case 10:
    return iequals(name, "connection") || iequals(name, "keep-alive");
  case 14:
    return iequals(name, "content-length");
  case 16:
    return iequals(name, "proxy-connection");
  case 17:
    return iequals(name, "transfer-encoding");
  default:
    return false;
  }
}

/// What `respond` needs to know of a field name's bytes: a tchar (RFC 9110
/// 5.6.2, as `http1::is_token`), an uppercase letter.
constexpr uint8_t tchar_bit = 1;
constexpr uint8_t upper_bit = 2;
constexpr auto name_chars = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    if (http1::is_tchar(static_cast<char>(c)))
      t[static_cast<size_t>(c)] |= tchar_bit;
    if (c >= 'A' && c <= 'Z')
      t[static_cast<size_t>(c)] |= upper_bit;
  }
  return t;
}();

/// The bits of `name_chars` over all bytes of `name` (or-ed), with
/// `tchar_bit` cleared when one byte is not a tchar or `name` is empty.
uint8_t classify_name(std::string_view name) noexcept {
  uint8_t any = 0;
  uint8_t all = name.empty() ? 0 : tchar_bit;
  for (unsigned char c : name) {
    auto bits = name_chars[c];
    any |= bits;
    all &= bits;
  }
  return static_cast<uint8_t>((any & upper_bit) | (all & tchar_bit));
}

/// RFC 9110 5.5 (as `http1::is_writable`): VCHAR, SP, HTAB and obs-text.
bool is_field_value(std::string_view x) noexcept {
  for (unsigned char c : x)
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return false;
  return true;
}

/// Trailer fields must not carry framing, routing or control data (RFC
/// 9110 6.5.1), and follow the header rules of `http1::is_writable`.
bool is_writable_trailer(const response::field& f) noexcept {
  using http1::iequals;
  if (f.name.empty() || dropped_response_field(f.name) ||
      iequals(f.name, "host") || iequals(f.name, "trailer") ||
      iequals(f.name, "content-type") || iequals(f.name, "content-encoding"))
    return false;
  response probe{200};
  probe.header(f.name, f.value);
  return http1::is_writable(probe);
}

session::impl& self(void* user_data) {
  return *static_cast<session::impl*>(user_data);
}

} // namespace

ssize_t read_body_callback(nghttp2_session*, int32_t, uint8_t*, size_t length,
                           uint32_t* flags, nghttp2_data_source* source,
                           void* ud) {
  try {
    return self(ud).read_body(*static_cast<stream*>(source->ptr), length,
                              flags);
  } catch (...) {
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
}

int send_body_callback(nghttp2_session*, nghttp2_frame* frame,
                       const uint8_t* framehd, size_t length,
                       nghttp2_data_source* source, void* ud) {
  // Nothing may be thrown through nghttp2 (C).
  try {
    return self(ud).send_body(*static_cast<stream*>(source->ptr), framehd,
                              length, frame->data.padlen);
  } catch (...) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
}

// -- sending ------------------------------------------------------------------

size_t session::impl::take_output(std::string& out, size_t max_bytes) {
  if (ng_ == nullptr)
    return 0;
  auto start = out.size();
  out_ = &out;
  out_limit_ = start + max_bytes;
  while (out.size() < out_limit_) {
    const uint8_t* data = nullptr;
    auto n = nghttp2_session_mem_send(ng_, &data);
    if (n < 0) {
      fatal_ = true;
      break;
    }
    // 0: nothing left, or send_body paused at the limit.
    if (n == 0)
      break;
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    if (!settings_patched_)
      patch_settings(out.data() + out.size() - static_cast<size_t>(n),
                     static_cast<size_t>(n));
  }
  out_ = nullptr;
  deliver_events();
  return out.size() - start;
}

void session::impl::patch_settings(char* frames, size_t n) noexcept {
  // nghttp2 was told "no limit" for MAX_CONCURRENT_STREAMS (see the
  // constructor): the client is told the real one. Our SETTINGS is the
  // only one without ACK we send, and nghttp2 serializes whole frames, so
  // it lies within one chunk of mem_send.
  auto* p = reinterpret_cast<uint8_t*>(frames);
  size_t pos = 0;
  while (pos + 9 <= n) {
    auto len = static_cast<size_t>(p[pos]) << 16 |
               static_cast<size_t>(p[pos + 1]) << 8 | p[pos + 2];
    if (pos + 9 + len > n)
      return;
    if (p[pos + 3] == NGHTTP2_SETTINGS &&
        (p[pos + 4] & NGHTTP2_FLAG_ACK) == 0) {
      for (size_t i = pos + 9; i + 6 <= pos + 9 + len; i += 6)
        if ((static_cast<uint32_t>(p[i]) << 8 | p[i + 1]) ==
            NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) {
          auto v = static_cast<uint32_t>(std::clamp<int64_t>(
            cfg_.http2.max_concurrent_streams, 0, 0x7fffffff));
          p[i + 2] = static_cast<uint8_t>(v >> 24);
          p[i + 3] = static_cast<uint8_t>(v >> 16);
          p[i + 4] = static_cast<uint8_t>(v >> 8);
          p[i + 5] = static_cast<uint8_t>(v);
        }
      settings_patched_ = true;
      return;
    }
    pos += 9 + len;
  }
}

ssize_t session::impl::read_body(stream& s, size_t length, uint32_t* flags) {
  // Called by nghttp2 when the windows allow `length` bytes; the bytes are
  // written by send_body (NO_COPY), straight from the source into `out_`.
  size_t available = 0;
  bool last = false;
  switch (s.source) {
  case stream::body_source::buffer:
    available = s.buffer.size() - s.buffer_pos;
    last = true;
    break;
  case stream::body_source::file:
    available = static_cast<size_t>(s.file_left);
    last = true;
    break;
  case stream::body_source::queue:
    available = s.queued;
    last = s.finished;
    if (available == 0 && !last) {
      s.deferred = true; // resumed by push / finish
      return NGHTTP2_ERR_DEFERRED;
    }
    break;
  case stream::body_source::none:
    last = true;
    break;
  }
  auto n = std::min(length, available);
  *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  if (last && n == available) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!s.trailers.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      submit_trailers(s);
    }
  }
  return static_cast<ssize_t>(n);
}

void session::impl::submit_trailers(stream& s) {
  std::vector<nghttp2_nv> nva;
  nva.reserve(s.trailers.size());
  for (auto& f : s.trailers)
    nva.push_back(make_nv(f.name, f.value));
  nghttp2_submit_trailer(ng_, s.id, nva.data(), nva.size());
  s.trailers = {};
}

int session::impl::send_body(stream& s, const uint8_t* framehd, size_t length,
                             size_t padlen) {
  if (out_ == nullptr)
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  auto& out = *out_;
  auto mark = out.size();
  out.append(reinterpret_cast<const char*>(framehd), 9);
  if (padlen > 0)
    out.push_back(static_cast<char>(padlen - 1));
  switch (s.source) {
  case stream::body_source::buffer:
    out.append(s.buffer, s.buffer_pos, length);
    s.buffer_pos += length;
    if (s.buffer_pos == s.buffer.size())
      detail::free_string(s.buffer);
    break;
  case stream::body_source::file: {
    out.resize(out.size() + length);
    auto* dst = out.data() + out.size() - length;
    size_t done = 0;
    while (done < length) {
      auto r = ::pread(s.file->fd(), dst + done, length - done,
                       static_cast<off_t>(s.file_pos + done));
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0) {
        // Unreadable or truncated under us: reset this stream only
        // (RST_STREAM(INTERNAL_ERROR)); the connection goes on.
        out.resize(mark);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      }
      done += static_cast<size_t>(r);
    }
    s.file_pos += length;
    s.file_left -= length;
    break;
  }
  case stream::body_source::queue: {
    auto left = length;
    while (left > 0) {
      auto& front = s.queue.front();
      auto n = std::min(left, front.size() - s.queue_front_pos);
      out.append(front, s.queue_front_pos, n);
      s.queue_front_pos += n;
      left -= n;
      if (s.queue_front_pos == front.size()) {
        s.queue.pop_front();
        s.queue_front_pos = 0;
      }
    }
    s.queued -= length;
    if (s.want_writable && s.queued < cfg_.max_stream_buffer) {
      s.want_writable = false;
      events_.push_back({event::kind::writable, s.id});
    }
    break;
  }
  case stream::body_source::none:
    break;
  }
  if (padlen > 1)
    out.append(padlen - 1, '\0');
  // Bounded output: stop nghttp2 at the caller's limit.
  return out.size() >= out_limit_ ? NGHTTP2_ERR_PAUSE : 0;
}

submit_result session::impl::respond(stream& s, response&& r, bool streaming) {
  // The head goes to nghttp2 without a copy (NGHTTP2_NV_FLAG_NO_COPY_*):
  // the strings stay in the stream until it is closed, and nghttp2 reads
  // them only while the stream is open (a closed stream's HEADERS are
  // dropped unsent). A name with an uppercase letter is copied, so that
  // nghttp2 lowercases it. One pass over the fields checks them as
  // `http1::is_writable` does and builds their part of the list.
  s.sent = std::move(r);
  auto& h = s.sent;
  constexpr size_t inline_fields = 16;
  constexpr uint8_t no_copy =
    NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;
  std::array<nghttp2_nv, inline_fields> inline_nva;
  std::vector<nghttp2_nv> heap_nva;
  nghttp2_nv* nva = inline_nva.data();
  size_t nvlen = 0;
  auto result = submit_result::ok;
  for (;;) {
    bool valid = h.status() >= 200 && h.status() <= 999;
    auto& fields = h.fields();
    if (fields.size() + 4 > inline_fields) {
      heap_nva.resize(fields.size() + 4);
      nva = heap_nva.data();
    }
    nvlen = 2; // :status and date go first
    for (size_t i = 0; valid && i < fields.size(); ++i) {
      auto& f = fields[i];
      auto bits = classify_name(f.name);
      valid = (bits & tchar_bit) != 0 && is_field_value(f.value);
      if (valid && !dropped_response_field(f.name))
        nva[nvlen++] = make_nv(f.name, f.value,
                               (bits & upper_bit) == 0
                                 ? no_copy
                                 : uint8_t{NGHTTP2_NV_FLAG_NO_COPY_VALUE});
    }
    if (valid || result == submit_result::invalid_response)
      break;
    h = response::text(500, "Internal Server Error");
    streaming = false;
    result = submit_result::invalid_response;
  }
  s.responded = true;
  s.streaming = streaming;
  auto status = h.status();
  s.no_body = s.is_head || !allows_body(status);
  auto body_size = h.body_size();

  bool has_body = !s.no_body && (streaming || body_size > 0);
  if (has_body) {
    if (streaming) {
      s.source = stream::body_source::queue;
      if (auto first = h.take_body(); !first.empty()) {
        s.queued = first.size();
        s.queue.push_back(std::move(first));
      }
    } else if (h.file_body()) {
      s.source = stream::body_source::file;
      s.file = h.file_body();
      s.file_pos = s.file->offset();
      s.file_left = s.file->length();
    } else {
      s.source = stream::body_source::buffer;
      s.buffer = h.take_body();
    }
  }

  s.status_text = {static_cast<char>('0' + status / 100),
                   static_cast<char>('0' + status / 10 % 10),
                   static_cast<char>('0' + status % 10)};
  auto date = http_date();
  auto date_size = std::min(date.size(), s.date_text.size());
  std::memcpy(s.date_text.data(), date.data(), date_size);
  auto [length_end, ec] =
    std::to_chars(s.length_text.data(),
                  s.length_text.data() + s.length_text.size(), body_size);
  static_cast<void>(ec);
  nva[0] = make_nv(":status", {s.status_text.data(), 3}, no_copy);
  nva[1] = make_nv("date", {s.date_text.data(), date_size}, no_copy);
  if (!h.content_type().empty())
    nva[nvlen++] = make_nv("content-type", h.content_type(), no_copy);
  // RFC 9110 8.6: as HTTP/1.1 (no content-length for 204 / 304); a HEAD
  // response announces the length a GET would get (RFC 9110 9.3.2).
  if (!streaming && allows_body(status))
    nva[nvlen++] =
      make_nv("content-length",
              {s.length_text.data(),
               static_cast<size_t>(length_end - s.length_text.data())},
              no_copy);

  nghttp2_data_provider provider;
  provider.source.ptr = &s;
  provider.read_callback = read_body_callback;
  if (nghttp2_submit_response(ng_, s.id, nva, nvlen,
                              has_body ? &provider : nullptr) != 0)
    return submit_result::unknown_stream;
  return result;
}

namespace {

/// RFC 8441 / RFC 9113 8.5: a 2xx to an extended CONNECT tells the client
/// its tunnel is open. Only `open_tunnel` may say so; a handler that does
/// not speak the protocol (a plain GET route) gets a 501 sent instead.
void refuse_tunnel(const stream& s, response& r) {
  if (s.tunnel && r.status() >= 200 && r.status() <= 299)
    r = response::text(501, "Not Implemented: no such protocol here\n");
}

} // namespace

submit_result session::impl::submit(int32_t id, response&& r) {
  auto* s = find_open(id);
  if (s == nullptr)
    return submit_result::unknown_stream;
  if (s->responded)
    return submit_result::bad_state;
  refuse_tunnel(*s, r);
  return respond(*s, std::move(r), false);
}

submit_result session::impl::start_stream(int32_t id, response&& r) {
  auto* s = find_open(id);
  if (s == nullptr)
    return submit_result::unknown_stream;
  if (s->responded)
    return submit_result::bad_state;
  refuse_tunnel(*s, r);
  return respond(*s, std::move(r), true);
}

submit_result session::impl::open_tunnel(int32_t id, response&& r) {
  auto* s = find_open(id);
  if (s == nullptr)
    return submit_result::unknown_stream;
  if (s->responded || !s->tunnel || r.status() < 200 || r.status() > 299)
    return submit_result::bad_state;
  // RFC 9110 9.3.6: no content-length in a 2xx to CONNECT (a streamed
  // response has none); DATA carries the tunnel both ways.
  auto result = respond(*s, std::move(r), true);
  if (result == submit_result::ok)
    s->tunnel_open = true;
  return result;
}

submit_result session::impl::push(int32_t id, std::string&& data) {
  auto* s = find_open(id);
  if (s == nullptr)
    return submit_result::unknown_stream;
  if (!s->streaming || s->finished)
    return submit_result::bad_state;
  if (s->no_body || data.empty())
    return submit_result::ok;
  if (s->queued >= cfg_.max_stream_buffer) {
    s->want_writable = true;
    return submit_result::busy;
  }
  s->queued += data.size();
  s->queue.push_back(std::move(data));
  if (s->deferred) {
    s->deferred = false;
    nghttp2_session_resume_data(ng_, id);
  }
  return submit_result::ok;
}

submit_result session::impl::finish(int32_t id,
                                    std::vector<response::field> trailers) {
  auto* s = find_open(id);
  if (s == nullptr)
    return submit_result::unknown_stream;
  if (!s->streaming || s->finished)
    return submit_result::bad_state;
  s->finished = true;
  auto result = submit_result::ok;
  for (auto& f : trailers)
    if (!is_writable_trailer(f)) {
      trailers.clear();
      result = submit_result::invalid_response;
      break;
    }
  // A response without body (HEAD, 204, 304) ended with its HEADERS.
  if (!s->no_body)
    s->trailers = std::move(trailers);
  if (s->deferred) {
    s->deferred = false;
    nghttp2_session_resume_data(ng_, id);
  }
  return result;
}

submit_result session::impl::reset(int32_t id, error_code code) {
  auto* s = find_open(id);
  if (s == nullptr)
    return submit_result::unknown_stream;
  nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, id,
                            static_cast<uint32_t>(code));
  return submit_result::ok;
}

size_t session::impl::buffered(int32_t id) const noexcept {
  auto* s = find(id);
  return s != nullptr ? s->queued : 0;
}

} // namespace roadrunner::http2
