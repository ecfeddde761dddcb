#include "http2/session.hpp"

#include "http2/session_impl.hpp"
#include <roadrunner/owned_request.hpp>
#include <roadrunner/request.hpp>

#include <doctest/doctest.h>
#include <nghttp2/nghttp2.h>

#include <unistd.h>

#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <stdlib.h>
#include <string>
#include <utility>
#include <vector>

namespace h2 = roadrunner::http2;
using roadrunner::response;

namespace {

using field_list = std::vector<std::pair<std::string, std::string>>;

// -- the server side: what the session reports
// ---------------------------------

struct seen_request {
  int32_t id = 0;
  std::string method, target, path, query, host, version, body;
  std::string copied_version;
  field_list headers;
  std::optional<uint64_t> content_length;
};

struct seen_rejection {
  int32_t id;
  int status;
  std::string reason;
};

struct recorder : h2::session_callbacks {
  std::vector<seen_request> requests;
  std::vector<seen_rejection> rejected;
  std::vector<std::pair<int32_t, h2::error_code>> closed;
  std::vector<int32_t> writable;
  /// Runs inside on_request (a synchronous handler).
  std::function<void(int32_t)> answer;

  void on_request(int32_t id, const roadrunner::request_head& head,
                  std::string_view body) override {
    roadrunner::detail::connection_info info;
    roadrunner::request req{head, body, info};
    seen_request r;
    r.id = id;
    r.method = req.method();
    r.target = req.target();
    r.path = req.path();
    r.query = req.query();
    r.host = head.host;
    r.version = req.version();
    r.body = body;
    for (auto& f : req.headers())
      r.headers.emplace_back(f.name, f.value);
    if (head.framing == roadrunner::body_framing::content_length)
      r.content_length = head.content_length;
    // What a handler actor gets: a copy that outlives the views.
    r.copied_version = roadrunner::owned_request::make(req)->get().version();
    requests.push_back(std::move(r));
    if (answer)
      answer(id);
  }

  void on_stream_closed(int32_t id, h2::error_code code) override {
    closed.emplace_back(id, code);
  }

  void on_stream_writable(int32_t id) override { writable.push_back(id); }

  void on_request_rejected(int32_t id, int status,
                           std::string_view reason) override {
    rejected.push_back({id, status, std::string{reason}});
  }

  /// The statuses passed to on_request_rejected for `id`.
  std::vector<int> rejections(int32_t id) const {
    std::vector<int> out;
    for (auto& r : rejected)
      if (r.id == id)
        out.push_back(r.status);
    return out;
  }
};

// -- the client side: an nghttp2 client session in memory
// ------------------------

struct frame_seen {
  uint8_t type = 0;
  uint8_t flags = 0;
  int32_t stream_id = 0;
  uint32_t error_code = 0;
  int32_t last_stream_id = 0;
  int32_t increment = 0;
  std::vector<nghttp2_settings_entry> settings;
};

struct stream_seen {
  int status = 0;
  field_list headers;
  field_list trailers;
  std::string body;
  bool closed = false;
  uint32_t close_code = 0;
  bool end_stream = false;
};

class test_client {
public:
  /// `settings` go in the client preface; `manual_window`: the test opens
  /// the client's receive windows itself with `consume`.
  explicit test_client(std::vector<nghttp2_settings_entry> settings = {},
                       bool manual_window = false) {
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
    nghttp2_option* opt = nullptr;
    nghttp2_option_new(&opt);
    if (manual_window)
      nghttp2_option_set_no_auto_window_update(opt, 1);
    REQUIRE(nghttp2_session_client_new2(&ng, cbs, this, opt) == 0);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    REQUIRE(nghttp2_submit_settings(ng, NGHTTP2_FLAG_NONE, settings.data(),
                                    settings.size()) == 0);
  }

  ~test_client() { nghttp2_session_del(ng); }

  test_client(const test_client&) = delete;
  test_client& operator=(const test_client&) = delete;

  /// Submits a request with the given pseudo-headers and fields exactly as
  /// they are (names not lowercased: they are sent without a copy).
  int32_t request_nv(const field_list& nv,
                     std::optional<std::string> body = std::nullopt) {
    auto& kept = kept_.emplace_back(nv);
    std::vector<nghttp2_nv> nva;
    for (auto& [n, v] : kept)
      nva.push_back(nghttp2_nv{
        const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(n.data())),
        const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(v.data())),
        n.size(), v.size(), NGHTTP2_NV_FLAG_NO_COPY_NAME});
    nghttp2_data_provider provider;
    provider.read_callback = read_body;
    auto id = nghttp2_submit_request(ng, nullptr, nva.data(), nva.size(),
                                     body ? &provider : nullptr, nullptr);
    REQUIRE(id > 0);
    if (body)
      uploads[id] = std::move(*body);
    return id;
  }

  int32_t request(std::string method, std::string path,
                  const field_list& extra = {},
                  std::optional<std::string> body = std::nullopt) {
    field_list nv{{":method", std::move(method)},
                  {":scheme", "http"},
                  {":authority", "example.com"},
                  {":path", std::move(path)}};
    nv.insert(nv.end(), extra.begin(), extra.end());
    return request_nv(nv, std::move(body));
  }

  /// Everything the client wants to send now.
  std::string output() {
    std::string out;
    for (int i = 0; i < 100000; ++i) {
      const uint8_t* data = nullptr;
      auto n = nghttp2_session_mem_send(ng, &data);
      REQUIRE(n >= 0);
      if (n == 0)
        return out;
      out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    FAIL("client output does not end");
    return out;
  }

  void input(std::string_view bytes) {
    auto n = nghttp2_session_mem_recv(
      ng, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    REQUIRE(n == static_cast<ssize_t>(bytes.size()));
  }

  /// Frames of `type` received, in order.
  std::vector<frame_seen> frames_of(uint8_t type) const {
    std::vector<frame_seen> out;
    for (auto& f : frames)
      if (f.type == type)
        out.push_back(f);
    return out;
  }

  std::string header(int32_t id, std::string_view name) {
    for (auto& [n, v] : streams[id].headers)
      if (n == name)
        return v;
    return "<none>";
  }

  nghttp2_session* ng = nullptr;
  std::map<int32_t, stream_seen> streams;
  std::vector<frame_seen> frames;
  std::map<int32_t, std::string> uploads;
  std::map<int32_t, size_t> upload_pos;
  /// Trailers sent after a stream's upload (instead of END_STREAM on DATA).
  std::map<int32_t, field_list> upload_trailers;
  /// Streams whose upload waits (headers sent, no END_STREAM).
  std::map<int32_t, bool> upload_held;

private:
  std::deque<field_list> kept_;

  static test_client& self(void* ud) { return *static_cast<test_client*>(ud); }

  static int on_frame(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    auto& c = self(ud);
    frame_seen f;
    f.type = frame->hd.type;
    f.flags = frame->hd.flags;
    f.stream_id = frame->hd.stream_id;
    switch (frame->hd.type) {
    case NGHTTP2_RST_STREAM:
      f.error_code = frame->rst_stream.error_code;
      break;
    case NGHTTP2_GOAWAY:
      f.error_code = frame->goaway.error_code;
      f.last_stream_id = frame->goaway.last_stream_id;
      break;
    case NGHTTP2_WINDOW_UPDATE:
      f.increment = frame->window_update.window_size_increment;
      break;
    case NGHTTP2_SETTINGS:
      f.settings.assign(frame->settings.iv,
                        frame->settings.iv + frame->settings.niv);
      break;
    default:
      break;
    }
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0)
      c.streams[frame->hd.stream_id].end_stream = true;
    c.frames.push_back(std::move(f));
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame,
                       const uint8_t* name, size_t namelen,
                       const uint8_t* value, size_t valuelen, uint8_t,
                       void* ud) {
    auto& s = self(ud).streams[frame->hd.stream_id];
    std::string n{reinterpret_cast<const char*>(name), namelen};
    std::string v{reinterpret_cast<const char*>(value), valuelen};
    if (frame->headers.cat == NGHTTP2_HCAT_HEADERS)
      s.trailers.emplace_back(n, v);
    else if (n == ":status")
      s.status = std::stoi(v);
    else
      s.headers.emplace_back(n, v);
    return 0;
  }

  static int on_data(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data,
                     size_t len, void* ud) {
    self(ud).streams[id].body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int on_close(nghttp2_session*, int32_t id, uint32_t code, void* ud) {
    auto& s = self(ud).streams[id];
    s.closed = true;
    s.close_code = code;
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, int32_t id, uint8_t* buf,
                           size_t length, uint32_t* flags, nghttp2_data_source*,
                           void* ud) {
    auto& c = self(ud);
    if (c.upload_held[id])
      return NGHTTP2_ERR_DEFERRED;
    auto& body = c.uploads[id];
    auto& pos = c.upload_pos[id];
    auto n = std::min(length, body.size() - pos);
    std::memcpy(buf, body.data() + pos, n);
    pos += n;
    if (pos == body.size()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (auto t = c.upload_trailers.find(id); t != c.upload_trailers.end()) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        std::vector<nghttp2_nv> nva;
        for (auto& [tn, tv] : t->second)
          nva.push_back(nghttp2_nv{
            const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(tn.data())),
            const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(tv.data())),
            tn.size(), tv.size(), NGHTTP2_NV_FLAG_NONE});
        nghttp2_submit_trailer(c.ng, id, nva.data(), nva.size());
      }
    }
    return static_cast<ssize_t>(n);
  }
};

// -- a server session and a client, wired in memory
// ------------------------------

h2::session_config small_config() {
  h2::session_config cfg;
  cfg.max_content_length = 1 << 20;
  return cfg;
}

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

struct pair_fixture {
  explicit pair_fixture(
    h2::session_config cfg = small_config(),
    std::vector<nghttp2_settings_entry> client_settings = {},
    bool manual_window = false)
    : server(cfg, rec), client(std::move(client_settings), manual_window) {}

  /// Exchanges bytes until neither side has anything to say. Returns the
  /// largest single take_output result.
  size_t pump(size_t max_out = 65536) {
    size_t largest = 0;
    for (int i = 0; i < 10000; ++i) {
      bool progress = false;
      auto c = client.output();
      if (!c.empty()) {
        progress = true;
        REQUIRE(server.feed(c) == h2::feed_result::ok);
      }
      std::string s;
      auto n = server.take_output(s, max_out);
      largest = std::max(largest, n);
      if (!s.empty()) {
        progress = true;
        client.input(s);
      }
      if (!progress)
        return largest;
    }
    FAIL("the exchange does not settle");
    return largest;
  }

  /// A POST whose body is held back: its stream stays open.
  int32_t open_upload() {
    auto id = client.request("POST", "/up", {}, pattern(10));
    client.upload_held[id] = true;
    pump();
    REQUIRE(server.open_streams() == 1);
    return id;
  }

  /// Every request is answered at once with 200 and `body`.
  void answer_with(std::string body) {
    rec.answer = [this, body = std::move(body)](int32_t sid) {
      server.submit(sid, response::text(200, body));
    };
  }

  recorder rec;
  h2::session server;
  test_client client;
};

/// Walks raw frames: (type, flags, stream id, payload).
struct raw_frame {
  uint8_t type;
  uint8_t flags;
  int32_t stream_id;
  std::string payload;
};

std::vector<raw_frame> split_frames(std::string_view bytes) {
  std::vector<raw_frame> out;
  while (bytes.size() >= 9) {
    auto u = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
    size_t len = (size_t{u(0)} << 16) | (size_t{u(1)} << 8) | u(2);
    REQUIRE(bytes.size() >= 9 + len);
    int32_t id = static_cast<int32_t>(((uint32_t{u(5)} & 0x7f) << 24) |
                                      (uint32_t{u(6)} << 16) |
                                      (uint32_t{u(7)} << 8) | u(8));
    out.push_back({u(3), u(4), id, std::string{bytes.substr(9, len)}});
    bytes.remove_prefix(9 + len);
  }
  CHECK(bytes.empty());
  return out;
}

uint32_t be32(std::string_view p, size_t at) {
  auto u = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<uint8_t>(p[at + i]));
  };
  return (u(0) << 24) | (u(1) << 16) | (u(2) << 8) | u(3);
}

uint32_t remote_setting(nghttp2_session* ng, nghttp2_settings_id id) {
  return nghttp2_session_get_remote_settings(ng, id);
}

/// One frame built by hand (RFC 9113 4.1), for what a client library
/// refuses to send.
std::string raw(uint8_t type, uint8_t flags, int32_t id,
                std::string_view payload = {}) {
  std::string f;
  auto n = static_cast<uint32_t>(payload.size());
  auto u = static_cast<uint32_t>(id);
  for (auto b : {n >> 16, n >> 8, n, uint32_t{type}, uint32_t{flags}, u >> 24,
                 u >> 16, u >> 8, u})
    f.push_back(static_cast<char>(b & 0xff));
  f.append(payload);
  return f;
}

/// A request header block from the HPACK static table only (GET, http,
/// /, and :authority as a literal), so it leaves the dynamic table the
/// test client shares with the server untouched.
const std::string static_get_block =
  std::string{"\x82\x86\x84\x01\x09"} + "localhost";

/// What the server writes now, as frames.
std::vector<raw_frame> server_frames(h2::session& server) {
  std::string out;
  server.take_output(out);
  return split_frames(out);
}

/// The GOAWAY among `frames`: (error code, last stream id), or (-1, -1).
std::pair<int64_t, int64_t> goaway_of(const std::vector<raw_frame>& frames) {
  for (auto& f : frames)
    if (f.type == NGHTTP2_GOAWAY)
      return {be32(f.payload, 4), be32(f.payload, 0) & 0x7fffffff};
  return {-1, -1};
}

} // namespace

TEST_SUITE("http2.session") {

  // -- connection setup
  // -----------------------------------------------------------

  TEST_CASE("the server SETTINGS carry the options and the client sees them") {
    h2::session_config cfg;
    cfg.http2.max_concurrent_streams = 7;
    cfg.http2.stream_window = 100000;
    cfg.http2.max_header_list_size = 12345;
    pair_fixture f{cfg};
    f.pump();
    auto settings = f.client.frames_of(NGHTTP2_SETTINGS);
    REQUIRE(!settings.empty());
    CHECK(remote_setting(f.client.ng,
                         NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) == 7);
    CHECK(remote_setting(f.client.ng, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE) ==
          100000);
    CHECK(remote_setting(f.client.ng, NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE) ==
          12345);
    CHECK(f.server.preface_received());
    // Default conn_window: no connection WINDOW_UPDATE.
    CHECK(f.client.frames_of(NGHTTP2_WINDOW_UPDATE).empty());
    CHECK(nghttp2_session_get_remote_window_size(f.client.ng) == 65535);
    CHECK(f.server.is_idle());
    CHECK(f.server.want_read());
  }

  TEST_CASE(
    "conn_window over 65535 sends WINDOW_UPDATE(0) right after SETTINGS") {
    h2::session_config cfg;
    cfg.http2.conn_window = 1 << 20;
    recorder rec;
    h2::session server{cfg, rec};
    std::string out;
    server.take_output(out);
    auto frames = split_frames(out);
    REQUIRE(frames.size() == 2);
    CHECK(frames[0].type == NGHTTP2_SETTINGS);
    CHECK(frames[1].type == NGHTTP2_WINDOW_UPDATE);
    CHECK(frames[1].stream_id == 0);
    CHECK((be32(frames[1].payload, 0) & 0x7fffffff) == (1 << 20) - 65535);
    // The settings payload: five 6-byte entries with our values.
    auto& p = frames[0].payload;
    REQUIRE(p.size() == 30);
    std::map<int, uint32_t> values;
    for (size_t i = 0; i < p.size(); i += 6)
      values[(static_cast<uint8_t>(p[i]) << 8) |
             static_cast<uint8_t>(p[i + 1])] = be32(p, i + 2);
    CHECK(values[NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS] == 100);
    CHECK(values[NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE] == 65535);
    CHECK(values[NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE] == 32768);
    CHECK(values[NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL] == 1); // RFC 8441
    CHECK(values[NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES] == 1);   // RFC 9218
  }

  TEST_CASE("the client's connection window is conn_window after the preface") {
    h2::session_config cfg;
    cfg.http2.conn_window = 1 << 20;
    pair_fixture f{cfg};
    f.pump();
    CHECK(nghttp2_session_get_remote_window_size(f.client.ng) == 1 << 20);
  }

  TEST_CASE("a bad preface is a connection error: GOAWAY(PROTOCOL_ERROR) "
            "(RFC 9113 3.4)") {
    recorder rec;
    h2::session server{small_config(), rec};
    std::string_view junk = "GET / HTTP/1.1\r\nhost: x\r\n\r\n";
    CHECK(server.feed(junk) == h2::feed_result::fatal);
    CHECK(server.going_away());
    CHECK(!server.want_read());
    std::string out;
    server.take_output(out);
    auto frames = split_frames(out);
    REQUIRE(!frames.empty());
    CHECK(frames.front().type == NGHTTP2_SETTINGS);
    CHECK(frames.back().type == NGHTTP2_GOAWAY);
    CHECK(be32(frames.back().payload, 4) == NGHTTP2_PROTOCOL_ERROR);
    // Nothing more is processed.
    CHECK(server.feed(junk) == h2::feed_result::fatal);
    CHECK(rec.requests.empty());
  }

  TEST_CASE("a preface split into single bytes is accepted") {
    pair_fixture f;
    f.client.request("GET", "/");
    auto bytes = f.client.output();
    for (char c : bytes)
      REQUIRE(f.server.feed(std::string_view{&c, 1}) == h2::feed_result::ok);
    CHECK(f.server.preface_received());
    REQUIRE(f.rec.requests.size() == 1);
    CHECK(f.rec.requests[0].path == "/");
  }

  // -- requests
  // -------------------------------------------------------------------

  TEST_CASE("a GET becomes a request head: :authority as host, HTTP/2") {
    pair_fixture f;
    auto id = f.client.request(
      "GET", "/users/42?x=1&y=2",
      {{"accept", "text/plain"}, {"cookie", "a=1"}, {"cookie", "b=2"}});
    f.pump();
    REQUIRE(f.rec.requests.size() == 1);
    auto& r = f.rec.requests[0];
    CHECK(r.id == id);
    CHECK(r.method == "GET");
    CHECK(r.target == "/users/42?x=1&y=2");
    CHECK(r.path == "/users/42");
    CHECK(r.query == "x=1&y=2");
    CHECK(r.host == "example.com");
    CHECK(r.version == "HTTP/2");
    CHECK(r.copied_version == "HTTP/2");
    CHECK(r.body.empty());
    CHECK(!r.content_length);
    field_list expected{{"host", "example.com"},
                        {"accept", "text/plain"},
                        {"cookie", "a=1"},
                        {"cookie", "b=2"}};
    CHECK(r.headers == expected);
    CHECK(f.server.open_streams() == 1);
    CHECK(f.server.incomplete_requests() == 0);
  }

  TEST_CASE("a buffered response: lowercase names, no connection-specific "
            "fields, content-length and date (RFC 9113 8.2.2)") {
    pair_fixture f;
    f.rec.answer = [&](int32_t id) {
      auto r = response::text(200, "Hello, World!");
      r.header("X-Custom", "yes")
        .header("Connection", "close")
        .header("keep-alive", "timeout=5")
        .header("transfer-encoding", "chunked")
        .header("upgrade", "h2c")
        .header("content-length", "999");
      CHECK(f.server.submit(id, std::move(r)) == h2::submit_result::ok);
    };
    auto id = f.client.request("GET", "/");
    f.pump();
    auto& s = f.client.streams[id];
    CHECK(s.status == 200);
    CHECK(s.body == "Hello, World!");
    CHECK(s.end_stream);
    CHECK(s.closed);
    CHECK(s.close_code == NGHTTP2_NO_ERROR);
    CHECK(f.client.header(id, "x-custom") == "yes");
    CHECK(f.client.header(id, "content-type") == "text/plain; charset=utf-8");
    CHECK(f.client.header(id, "content-length") == "13");
    CHECK(f.client.header(id, "date").size() == 29);
    for (auto name :
         {"connection", "keep-alive", "transfer-encoding", "upgrade"})
      CHECK(f.client.header(id, name) == "<none>");
    // The stream is closed and reported once; the session is idle.
    REQUIRE(f.rec.closed.size() == 1);
    CHECK(f.rec.closed[0] == std::pair{id, h2::error_code::no_error});
    CHECK(f.server.open_streams() == 0);
    CHECK(f.server.is_idle());
    CHECK(f.server.submit(id, response::text(200, "again")) ==
          h2::submit_result::unknown_stream);
  }

  TEST_CASE("a deferred answer: submit after on_request returned") {
    pair_fixture f;
    auto a = f.client.request("GET", "/a");
    auto b = f.client.request("GET", "/b");
    f.pump();
    REQUIRE(f.rec.requests.size() == 2);
    CHECK(f.server.open_streams() == 2);
    CHECK(!f.server.is_idle());
    // Answered out of order, as concurrent handlers would.
    CHECK(f.server.submit(b, response::text(200, "B")) ==
          h2::submit_result::ok);
    CHECK(f.server.submit(b, response::text(200, "B2")) ==
          h2::submit_result::bad_state);
    f.pump();
    CHECK(f.client.streams[b].body == "B");
    CHECK(!f.client.streams[a].closed);
    CHECK(f.server.submit(a, response::text(201, "A")) ==
          h2::submit_result::ok);
    f.pump();
    CHECK(f.client.streams[a].status == 201);
    CHECK(f.client.streams[a].body == "A");
    CHECK(f.server.is_idle());
  }

  TEST_CASE("a POST body over several DATA frames and window refills") {
    pair_fixture f;
    auto body = pattern(300000); // > 4 x the default 65535 windows
    f.rec.answer = [&](int32_t id) {
      f.server.submit(id, response::text(200, "ok"));
    };
    auto id = f.client.request("POST", "/echo",
                               {{"content-type", "application/octet-stream"},
                                {"content-length", "300000"}},
                               body);
    f.pump();
    REQUIRE(f.rec.requests.size() == 1);
    CHECK(f.rec.requests[0].body.size() == body.size());
    CHECK(f.rec.requests[0].body == body);
    CHECK(f.rec.requests[0].content_length == 300000);
    CHECK(f.client.streams[id].status == 200);
    // Refills went out for the stream and the connection.
    bool stream_update = false, conn_update = false;
    for (auto& w : f.client.frames_of(NGHTTP2_WINDOW_UPDATE))
      (w.stream_id == 0 ? conn_update : stream_update) = true;
    CHECK(stream_update);
    CHECK(conn_update);
  }

  TEST_CASE("request trailers are decoded and dropped; the body is kept") {
    pair_fixture f;
    f.rec.answer = [&](int32_t sid) {
      f.server.submit(sid, response::text(200, "ok"));
    };
    // The id of the next request is known: 1 on a fresh client.
    f.client.upload_trailers[1] = {{"x-sum", "3"}};
    auto id = f.client.request("POST", "/up", {}, std::string{"abc"});
    REQUIRE(id == 1);
    f.pump();
    REQUIRE(f.rec.requests.size() == 1);
    CHECK(f.rec.requests[0].body == "abc");
    for (auto& [n, v] : f.rec.requests[0].headers)
      CHECK(n != "x-sum");
    // The trailers HEADERS frame carried END_STREAM: the answer went out.
    CHECK(f.client.streams[id].status == 200);
    // And the HPACK state stayed in sync: the next request decodes.
    auto next = f.client.request("GET", "/next", {{"x-sum", "4"}});
    f.pump();
    REQUIRE(f.rec.requests.size() == 2);
    CHECK(f.rec.requests[1].headers.back() ==
          std::pair<std::string, std::string>{"x-sum", "4"});
    CHECK(f.client.streams[next].status == 200);
  }

  TEST_CASE("several requests in one read are all reported, in order") {
    pair_fixture f;
    std::vector<int32_t> ids;
    for (int i = 0; i < 5; ++i)
      ids.push_back(
        f.client.request("GET", std::string{"/"}.append(std::to_string(i))));
    f.pump();
    REQUIRE(f.rec.requests.size() == 5);
    for (int i = 0; i < 5; ++i) {
      CHECK(f.rec.requests[i].id == ids[i]);
      CHECK(f.rec.requests[i].path ==
            std::string{"/"}.append(std::to_string(i)));
    }
  }

  // -- limits
  // ---------------------------------------------------------------------

  TEST_CASE("a body over max_content_length gets 413 and RST_STREAM(NO_ERROR); "
            "no handler runs") {
    auto cfg = small_config();
    cfg.max_content_length = 1000;
    pair_fixture f{cfg};
    SUBCASE("counted from DATA") {
      // Longer than the stream window: still sending when the 413 is out.
      auto id = f.client.request("POST", "/up", {}, pattern(100000));
      f.pump();
      CHECK(f.rec.requests.empty());
      CHECK(f.client.streams[id].status == 413);
      CHECK(f.client.header(id, "content-length") == "0");
      CHECK(f.client.streams[id].closed);
      CHECK(f.client.streams[id].close_code == NGHTTP2_NO_ERROR);
      CHECK(f.client.upload_pos[id] < 100000);
      CHECK(f.rec.rejections(id) == std::vector<int>{413});
    }
    SUBCASE("declared by content-length, before any DATA") {
      // Only the headers go out: the client is still sending when the
      // 413 is complete, so RST_STREAM(NO_ERROR) tells it to stop.
      f.client.upload_held[1] = true;
      auto id = f.client.request("POST", "/up", {{"content-length", "5000"}},
                                 pattern(5000));
      f.pump();
      CHECK(f.rec.requests.empty());
      CHECK(f.client.streams[id].status == 413);
      bool rst_no_error = false;
      for (auto& r : f.client.frames_of(NGHTTP2_RST_STREAM))
        rst_no_error |= r.stream_id == id && r.error_code == NGHTTP2_NO_ERROR;
      CHECK(rst_no_error);
      CHECK(f.rec.rejections(id) == std::vector<int>{413});
    }
    SUBCASE("exactly max_content_length is accepted") {
      auto id = f.client.request("POST", "/up", {}, pattern(1000));
      f.rec.answer = [&](int32_t sid) {
        f.server.submit(sid, response::text(200, "ok"));
      };
      f.pump();
      REQUIRE(f.rec.requests.size() == 1);
      CHECK(f.client.streams[id].status == 200);
      CHECK(f.rec.rejected.empty());
    }
    // The connection stays usable.
    f.rec.answer = [&](int32_t sid) {
      f.server.submit(sid, response::text(200, "next"));
    };
    auto next = f.client.request("GET", "/next");
    f.pump();
    CHECK(f.client.streams[next].body == "next");
    CHECK(f.server.is_idle());
  }

  TEST_CASE("expire answers an incomplete request with 408 and "
            "RST_STREAM(NO_ERROR); complete ones are not touched") {
    pair_fixture f{small_config()};
    // Only the headers go out: the request stays incomplete.
    f.client.upload_held[1] = true;
    auto slow = f.client.request("POST", "/up", {}, pattern(100));
    f.pump();
    CHECK(f.server.incomplete_requests() == 1);
    std::vector<int32_t> ids;
    f.server.incomplete_streams(ids);
    REQUIRE(ids == std::vector<int32_t>{slow});
    auto done = f.client.request("GET", "/done");
    f.pump();
    REQUIRE(f.rec.requests.size() == 1);
    CHECK(f.server.expire(done) == h2::submit_result::unknown_stream);
    CHECK(f.server.expire(slow) == h2::submit_result::ok);
    CHECK(f.server.expire(slow) == h2::submit_result::unknown_stream);
    f.pump();
    CHECK(f.client.streams[slow].status == 408);
    CHECK(f.client.header(slow, "content-length") == "0");
    bool rst_no_error = false;
    for (auto& r : f.client.frames_of(NGHTTP2_RST_STREAM))
      rst_no_error |= r.stream_id == slow && r.error_code == NGHTTP2_NO_ERROR;
    CHECK(rst_no_error);
    CHECK(f.server.incomplete_requests() == 0);
    ids.clear();
    f.server.incomplete_streams(ids);
    CHECK(ids.empty());
    CHECK(f.rec.requests.size() == 1); // no handler for the expired one
    // Reported on the take_output after expire, once.
    CHECK(f.rec.rejections(slow) == std::vector<int>{408});
    CHECK(f.rec.rejections(done).empty());
  }

  TEST_CASE("a header list over max_header_list_size gets 431 (RFC 9113 "
            "10.5.1) and the connection goes on") {
    auto cfg = small_config();
    cfg.http2.max_header_list_size = 4096;
    pair_fixture f{cfg};
    f.rec.answer = [&](int32_t sid) {
      f.server.submit(sid, response::text(200, "ok"));
    };
    auto big =
      f.client.request("GET", "/", {{"x-big", std::string(5000, 'v')}});
    f.pump();
    CHECK(f.rec.requests.empty());
    CHECK(f.client.streams[big].status == 431);
    CHECK(f.client.streams[big].closed);
    CHECK(f.rec.rejections(big) == std::vector<int>{431});
    // Just under the limit: 4096 - 32 per field for the five fields.
    auto fits =
      f.client.request("GET", "/", {{"x-big", std::string(3000, 'v')}});
    f.pump();
    REQUIRE(f.rec.requests.size() == 1);
    CHECK(f.client.streams[fits].status == 200);
    CHECK(f.client.frames_of(NGHTTP2_GOAWAY).empty());
  }

  TEST_CASE(
    "streams over max_concurrent_streams are refused (REFUSED_STREAM)") {
    auto cfg = small_config();
    cfg.http2.max_concurrent_streams = 4;
    pair_fixture f{cfg};
    // The client sends all six before it has seen the server's SETTINGS.
    std::vector<int32_t> ids;
    for (int i = 0; i < 6; ++i)
      ids.push_back(
        f.client.request("GET", std::string{"/"}.append(std::to_string(i))));
    f.pump();
    CHECK(f.rec.requests.size() == 4);
    std::vector<int32_t> refused;
    for (auto& r : f.client.frames_of(NGHTTP2_RST_STREAM))
      if (r.error_code == NGHTTP2_REFUSED_STREAM)
        refused.push_back(r.stream_id);
    CHECK(refused == std::vector<int32_t>{ids[4], ids[5]});
    CHECK(f.server.open_streams() == 4);
    for (auto& r : f.rec.requests)
      CHECK(f.server.submit(r.id, response::text(200, r.path)) ==
            h2::submit_result::ok);
    f.pump();
    for (int i = 0; i < 4; ++i)
      CHECK(f.client.streams[ids[i]].body == "/" + std::to_string(i));
    CHECK(f.server.is_idle());
  }

  // -- malformed requests (RFC 9113 8.1.1)
  // ---------------------------------------

  TEST_CASE("malformed requests are reset with PROTOCOL_ERROR, no handler") {
    pair_fixture f;
    field_list nv;
    SUBCASE("a :path with a space") {
      nv = {{":method", "GET"},
            {":scheme", "http"},
            {":authority", "a.example"},
            {":path", "/a b"}};
    }
    SUBCASE("a :path that is not origin-form") {
      nv = {{":method", "GET"},
            {":scheme", "foo"},
            {":authority", "a.example"},
            {":path", "relative"}};
    }
    SUBCASE("* for a method other than OPTIONS") {
      nv = {{":method", "GET"},
            {":scheme", "foo"},
            {":authority", "a.example"},
            {":path", "*"}};
    }
    SUBCASE("host differs from :authority (RFC 9113 8.3.1)") {
      nv = {{":method", "GET"},
            {":scheme", "http"},
            {":authority", "a.example"},
            {":path", "/"},
            {"host", "b.example"}};
    }
    SUBCASE("no :path (checked by nghttp2)") {
      nv = {
        {":method", "GET"}, {":scheme", "http"}, {":authority", "a.example"}};
    }
    SUBCASE("an uppercase field name (checked by nghttp2)") {
      nv = {{":method", "GET"},
            {":scheme", "http"},
            {":authority", "a.example"},
            {":path", "/"},
            {"X-Up", "1"}};
    }
    SUBCASE("a connection-specific field (checked by nghttp2)") {
      nv = {{":method", "GET"},
            {":scheme", "http"},
            {":authority", "a.example"},
            {":path", "/"},
            {"connection", "x"}};
    }
    auto id = f.client.request_nv(nv);
    f.pump();
    CHECK(f.rec.requests.empty());
    CHECK(f.client.streams[id].closed);
    CHECK(f.client.streams[id].close_code == NGHTTP2_PROTOCOL_ERROR);
    CHECK(f.client.frames_of(NGHTTP2_GOAWAY).empty());
    CHECK(f.server.open_streams() == 0);
    // Answered by the session: 400, as HTTP/1.1 answers a malformed head.
    CHECK(f.rec.rejections(id) == std::vector<int>{400});
    CHECK(f.rec.closed.empty());
  }

  TEST_CASE("OPTIONS * reaches the handler; host alone is the authority") {
    pair_fixture f;
    f.client.request_nv({{":method", "OPTIONS"},
                         {":scheme", "http"},
                         {":path", "*"},
                         {"host", "h.example"}});
    f.pump();
    REQUIRE(f.rec.requests.size() == 1);
    CHECK(f.rec.requests[0].target == "*");
    CHECK(f.rec.requests[0].host == "h.example");
  }

  TEST_CASE("CONNECT gets 501 (no tunnels, RFC 9113 8.5)") {
    pair_fixture f;
    auto id = f.client.request_nv(
      {{":method", "CONNECT"}, {":authority", "a.example:443"}});
    f.pump();
    CHECK(f.rec.requests.empty());
    CHECK(f.client.streams[id].status == 501);
    REQUIRE(f.rec.rejected.size() == 1);
    CHECK(f.rec.rejected[0].id == id);
    CHECK(f.rec.rejected[0].status == 501);
    CHECK(f.rec.rejected[0].reason == "CONNECT is not supported");
  }

  // -- responses
  // ------------------------------------------------------------------

  TEST_CASE("HEAD gets the GET head without the content (RFC 9110 9.3.2)") {
    pair_fixture f;
    f.rec.answer = [&](int32_t id) {
      f.server.submit(id, response::text(200, "hello"));
    };
    auto id = f.client.request("HEAD", "/");
    f.pump();
    auto& s = f.client.streams[id];
    CHECK(s.status == 200);
    CHECK(f.client.header(id, "content-length") == "5");
    CHECK(s.body.empty());
    CHECK(f.client.frames_of(NGHTTP2_DATA).empty());
    CHECK(s.end_stream);
  }

  TEST_CASE("204 and 304 have neither content nor content-length") {
    pair_fixture f;
    int status = 0;
    SUBCASE("204") {
      status = 204;
    }
    SUBCASE("304") {
      status = 304;
    }
    f.rec.answer = [&](int32_t id) {
      auto r = response{status};
      r.body("ignored");
      f.server.submit(id, std::move(r));
    };
    auto id = f.client.request("GET", "/");
    f.pump();
    CHECK(f.client.streams[id].status == status);
    CHECK(f.client.header(id, "content-length") == "<none>");
    CHECK(f.client.streams[id].body.empty());
    CHECK(f.client.streams[id].close_code == NGHTTP2_NO_ERROR);
  }

  TEST_CASE("an unwritable response becomes a 500 (no header injection)") {
    pair_fixture f;
    h2::submit_result result{};
    f.rec.answer = [&](int32_t id) {
      auto r = response::text(200, "x");
      r.header("x-evil", "a\r\nset-cookie: b");
      result = f.server.submit(id, std::move(r));
    };
    auto id = f.client.request("GET", "/");
    f.pump();
    CHECK(result == h2::submit_result::invalid_response);
    CHECK(f.client.streams[id].status == 500);
    CHECK(f.client.header(id, "x-evil") == "<none>");
  }

  TEST_CASE("a handler exception is answered with 500") {
    pair_fixture f;
    f.rec.answer = [](int32_t) { throw std::runtime_error("boom"); };
    auto id = f.client.request("GET", "/");
    f.pump();
    CHECK(f.client.streams[id].status == 500);
    CHECK(f.server.is_idle());
  }

  TEST_CASE("a file body is read with pread, frame by frame") {
    char path[] = "/tmp/rr-h2-file-XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    auto content = pattern(100000);
    REQUIRE(::write(fd, content.data(), content.size()) ==
            static_cast<ssize_t>(content.size()));
    ::close(fd);
    pair_fixture f;
    f.rec.answer = [&](int32_t id) {
      f.server.submit(
        id, response::file(200, path, "application/octet-stream", 10, 50000));
    };
    auto get = f.client.request("GET", "/file");
    auto head = f.client.request("HEAD", "/file");
    f.pump();
    ::unlink(path);
    CHECK(f.client.streams[get].body == content.substr(10, 50000));
    CHECK(f.client.header(get, "content-length") == "50000");
    CHECK(f.client.header(get, "content-type") == "application/octet-stream");
    CHECK(f.client.streams[head].body.empty());
    CHECK(f.client.header(head, "content-length") == "50000");
    CHECK(f.server.is_idle());
  }

  TEST_CASE("take_output appends bounded amounts") {
    // A client with big windows: the limit comes from max_bytes alone.
    pair_fixture f{small_config(),
                   {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 30}}};
    nghttp2_session_set_local_window_size(f.client.ng, NGHTTP2_FLAG_NONE, 0,
                                          1 << 30);
    auto body = pattern(1 << 20);
    f.rec.answer = [&](int32_t id) {
      f.server.submit(id, response::text(200, body));
    };
    auto id = f.client.request("GET", "/big");
    auto largest = f.pump(16384);
    CHECK(largest >= 16384);
    CHECK(largest <= 16384 + 16384 + 9);
    CHECK(f.client.streams[id].body == body);
  }

  TEST_CASE("flow control: a client with a small window gets the body only as "
            "it opens the window") {
    pair_fixture f{
      small_config(), {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1000}}, true};
    auto body = pattern(200000);
    f.rec.answer = [&](int32_t id) {
      f.server.submit(id, response::text(200, body));
    };
    auto id = f.client.request("GET", "/big");
    f.pump();
    auto& s = f.client.streams[id];
    CHECK(s.status == 200);
    CHECK(s.body.size() == 1000);
    // Blocked on the window: nothing to write, nothing appended.
    CHECK(!f.server.want_write());
    std::string out;
    CHECK(f.server.take_output(out) == 0);
    CHECK(!f.server.is_idle());
    CHECK(f.server.send_stalled());
    size_t consumed = 0;
    for (int rounds = 0; s.body.size() < body.size() && rounds < 1000;
         ++rounds) {
      auto before = s.body.size();
      // The client reads what it got: its window opens by that much.
      nghttp2_session_consume(f.client.ng, id, before - consumed);
      auto opened = before - consumed;
      consumed = before;
      f.pump();
      REQUIRE(s.body.size() > before);
      // Never more than the window the client opened.
      CHECK(s.body.size() - before <= opened);
    }
    CHECK(s.body == body);
    CHECK(s.end_stream);
    CHECK_FALSE(f.server.send_stalled());
  }

  TEST_CASE("send_stalled: only response data waiting for a window counts") {
    pair_fixture f{
      small_config(), {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1000}}, true};
    // A request not answered yet, and a streamed response with nothing
    // queued: waiting for the handler, not for the client.
    auto slow = f.client.request("GET", "/slow");
    auto streamed = f.client.request("GET", "/stream");
    f.pump();
    REQUIRE(f.rec.requests.size() == 2);
    CHECK(f.server.start_stream(streamed, response{200}) ==
          h2::submit_result::ok);
    f.pump();
    CHECK_FALSE(f.server.send_stalled());
    // 1000 bytes fit the window; the 1001st waits for the client.
    CHECK(f.server.push(streamed, pattern(1001)) == h2::submit_result::ok);
    f.pump();
    CHECK(f.server.send_stalled());
    nghttp2_session_consume(f.client.ng, streamed, 1000);
    f.pump();
    CHECK_FALSE(f.server.send_stalled());
    CHECK(f.server.submit(slow, response::text(200, "x")) ==
          h2::submit_result::ok);
  }

  TEST_CASE("streaming with trailers: DATA as pushed, trailers as the last "
            "HEADERS") {
    pair_fixture f;
    auto id = f.client.request("GET", "/stream");
    f.pump();
    REQUIRE(f.rec.requests.size() == 1);
    auto head = response{200};
    head.header("content-type", "text/event-stream");
    CHECK(f.server.start_stream(id, std::move(head)) == h2::submit_result::ok);
    f.pump();
    CHECK(f.client.streams[id].status == 200);
    CHECK(f.client.header(id, "content-length") == "<none>");
    CHECK(!f.client.streams[id].end_stream);
    CHECK(f.server.push(id, "one ") == h2::submit_result::ok);
    f.pump();
    CHECK(f.client.streams[id].body == "one ");
    CHECK(f.server.push(id, "two ") == h2::submit_result::ok);
    CHECK(f.server.push(id, "three") == h2::submit_result::ok);
    CHECK(f.server.finish(id, {{"x-checksum", "abc"}, {"x-count", "3"}}) ==
          h2::submit_result::ok);
    CHECK(f.server.push(id, "late") == h2::submit_result::bad_state);
    f.pump();
    auto& s = f.client.streams[id];
    CHECK(s.body == "one two three");
    CHECK(s.trailers == field_list{{"x-checksum", "abc"}, {"x-count", "3"}});
    CHECK(s.end_stream);
    CHECK(s.close_code == NGHTTP2_NO_ERROR);
    REQUIRE(f.rec.closed.size() == 1);
    CHECK(f.rec.closed[0].second == h2::error_code::no_error);
  }

  TEST_CASE("streaming without trailers ends with END_STREAM on DATA") {
    pair_fixture f;
    auto id = f.client.request("GET", "/stream");
    f.pump();
    CHECK(f.server.start_stream(id, response::text(200, "first ")) ==
          h2::submit_result::ok);
    CHECK(f.server.push(id, "second") == h2::submit_result::ok);
    CHECK(f.server.finish(id) == h2::submit_result::ok);
    f.pump();
    CHECK(f.client.streams[id].body == "first second");
    CHECK(f.client.streams[id].trailers.empty());
    CHECK(f.client.streams[id].end_stream);
  }

  TEST_CASE("invalid trailers are dropped; the stream still ends") {
    pair_fixture f;
    auto id = f.client.request("GET", "/stream");
    f.pump();
    f.server.start_stream(id, response{200});
    CHECK(f.server.finish(id, {{"content-length", "1"}}) ==
          h2::submit_result::invalid_response);
    f.pump();
    CHECK(f.client.streams[id].trailers.empty());
    CHECK(f.client.streams[id].end_stream);
    CHECK(f.client.streams[id].close_code == NGHTTP2_NO_ERROR);
  }

  TEST_CASE("a streaming queue is bounded: push is busy until the window "
            "opens, then on_stream_writable") {
    auto cfg = small_config();
    cfg.max_stream_buffer = 4096;
    pair_fixture f{cfg, {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1000}}, true};
    auto id = f.client.request("GET", "/stream");
    f.pump();
    REQUIRE(f.server.start_stream(id, response{200}) == h2::submit_result::ok);
    auto chunk = pattern(1500);
    std::string sent;
    int pushes = 0;
    while (f.server.push(id, std::string{chunk}) == h2::submit_result::ok) {
      sent += chunk;
      ++pushes;
      f.pump();
      REQUIRE(pushes < 100);
    }
    // Refused: the queue holds at least max_stream_buffer, at most one chunk
    // more; the client got its 1000-byte window.
    CHECK(f.server.buffered(id) >= 4096);
    CHECK(f.server.buffered(id) < 4096 + chunk.size());
    CHECK(f.client.streams[id].body.size() == 1000);
    CHECK(f.rec.writable.empty());
    std::string refused = chunk;
    CHECK(f.server.push(id, std::move(refused)) == h2::submit_result::busy);
    CHECK(refused == chunk); // not taken
    // The client reads: the queue drains below the limit.
    for (int i = 0; i < 100 && f.rec.writable.empty(); ++i) {
      nghttp2_session_consume(f.client.ng, id, 1000);
      f.pump();
    }
    CHECK(f.rec.writable == std::vector<int32_t>{id});
    CHECK(f.server.buffered(id) < 4096);
    CHECK(f.server.finish(id) == h2::submit_result::ok);
    for (int i = 0; i < 100 && !f.client.streams[id].end_stream; ++i) {
      nghttp2_session_consume(f.client.ng, id, 4096);
      f.pump();
    }
    CHECK(f.client.streams[id].body == sent);
  }

  TEST_CASE("HEAD on a streamed response: the head only, pushes are dropped") {
    pair_fixture f;
    auto id = f.client.request("HEAD", "/stream");
    f.pump();
    CHECK(f.server.start_stream(id, response{200}) == h2::submit_result::ok);
    CHECK(f.server.push(id, "dropped") == h2::submit_result::ok);
    CHECK(f.server.finish(id, {{"x-t", "1"}}) == h2::submit_result::ok);
    f.pump();
    CHECK(f.client.streams[id].status == 200);
    CHECK(f.client.streams[id].body.empty());
    CHECK(f.client.streams[id].trailers.empty());
    CHECK(f.client.streams[id].end_stream);
  }

  // -- stream ends
  // ----------------------------------------------------------------

  TEST_CASE("a client reset reaches on_stream_closed (a deferred handler may "
            "stop)") {
    pair_fixture f;
    auto id = f.client.request("GET", "/slow");
    f.pump();
    REQUIRE(f.rec.requests.size() == 1);
    nghttp2_submit_rst_stream(f.client.ng, NGHTTP2_FLAG_NONE, id,
                              NGHTTP2_CANCEL);
    f.pump();
    REQUIRE(f.rec.closed.size() == 1);
    CHECK(f.rec.closed[0] == std::pair{id, h2::error_code::cancel});
    CHECK(f.server.submit(id, response::text(200, "late")) ==
          h2::submit_result::unknown_stream);
    CHECK(f.server.is_idle());
  }

  TEST_CASE("a request reset before it completes reaches no callback") {
    pair_fixture f;
    f.client.upload_held[1] = true; // headers go out, the body never does
    auto id = f.client.request("POST", "/up", {{"content-length", "10"}},
                               std::string(10, 'x'));
    REQUIRE(id == 1);
    f.pump();
    CHECK(f.rec.requests.empty());
    CHECK(f.server.open_streams() == 1);
    CHECK(f.server.incomplete_requests() == 1);
    nghttp2_submit_rst_stream(f.client.ng, NGHTTP2_FLAG_NONE, id,
                              NGHTTP2_CANCEL);
    f.pump();
    CHECK(f.rec.requests.empty());
    CHECK(f.rec.closed.empty());
    CHECK(f.server.open_streams() == 0);
    CHECK(f.server.incomplete_requests() == 0);
    CHECK(f.server.is_idle());
  }

  TEST_CASE("reset sends RST_STREAM with the code") {
    pair_fixture f;
    auto id = f.client.request("GET", "/");
    f.pump();
    f.server.start_stream(id, response{200});
    f.server.push(id, "partial");
    CHECK(f.server.reset(id, h2::error_code::internal_error) ==
          h2::submit_result::ok);
    f.pump();
    CHECK(f.client.streams[id].closed);
    CHECK(f.client.streams[id].close_code == NGHTTP2_INTERNAL_ERROR);
    REQUIRE(f.rec.closed.size() == 1);
    CHECK(f.rec.closed[0].second == h2::error_code::internal_error);
  }

  // -- drain
  // ----------------------------------------------------------------------

  TEST_CASE("graceful GOAWAY: last stream id, streams in flight finish, new "
            "streams are not processed") {
    pair_fixture f;
    auto a = f.client.request("GET", "/a");
    auto b = f.client.request("GET", "/b");
    f.pump();
    REQUIRE(f.rec.requests.size() == 2);
    f.server.goaway_graceful();
    CHECK(f.server.going_away());
    // A request the client sent before it saw the GOAWAY.
    auto late = f.client.request("GET", "/late");
    auto bytes = f.client.output();
    REQUIRE(f.server.feed(bytes) == h2::feed_result::ok);
    std::string out;
    f.server.take_output(out);
    f.client.input(out);
    auto goaways = f.client.frames_of(NGHTTP2_GOAWAY);
    REQUIRE(goaways.size() == 1);
    CHECK(goaways[0].error_code == NGHTTP2_NO_ERROR);
    CHECK(goaways[0].last_stream_id == b);
    CHECK(f.rec.requests.size() == 2); // /late was not dispatched
    CHECK(f.client.streams[late].closed);
    CHECK(!f.server.is_idle());
    f.server.submit(a, response::text(200, "A"));
    f.server.submit(b, response::text(200, "B"));
    f.pump();
    CHECK(f.client.streams[a].body == "A");
    CHECK(f.client.streams[b].body == "B");
    CHECK(f.server.is_idle());
    CHECK(!f.server.want_read());
  }

  TEST_CASE("drain notice (RFC 9113 6.8): GOAWAY(2^31-1) and a PING; a "
            "stream sent meanwhile is served; after the ACK the final "
            "GOAWAY names it") {
    pair_fixture f;
    auto a = f.client.request("GET", "/a");
    f.pump();
    REQUIRE(f.rec.requests.size() == 1);
    REQUIRE(f.server.goaway_notice());
    CHECK(!f.server.goaway_notice()); // once
    CHECK(!f.server.going_away());
    CHECK(!f.server.notice_acked());
    // A request the client sent before it saw the notice.
    auto late = f.client.request("GET", "/late");
    REQUIRE(f.server.feed(f.client.output()) == h2::feed_result::ok);
    CHECK(f.rec.requests.size() == 2); // /late is dispatched
    std::string out;
    f.server.take_output(out);
    f.client.input(out);
    auto goaways = f.client.frames_of(NGHTTP2_GOAWAY);
    REQUIRE(goaways.size() == 1);
    CHECK(goaways[0].error_code == NGHTTP2_NO_ERROR);
    CHECK(goaways[0].last_stream_id == 0x7fffffff);
    REQUIRE(f.client.frames_of(NGHTTP2_PING).size() == 1);
    // The client's ACK (nghttp2 answers PINGs itself).
    REQUIRE(f.server.feed(f.client.output()) == h2::feed_result::ok);
    CHECK(f.server.notice_acked());
    CHECK(!f.server.is_idle());
    f.server.goaway_graceful();
    CHECK(f.server.going_away());
    f.server.submit(a, response::text(200, "A"));
    f.server.submit(late, response::text(200, "L"));
    f.pump();
    goaways = f.client.frames_of(NGHTTP2_GOAWAY);
    REQUIRE(goaways.size() == 2);
    CHECK(goaways[1].error_code == NGHTTP2_NO_ERROR);
    CHECK(goaways[1].last_stream_id == late);
    CHECK(f.client.streams[a].body == "A");
    CHECK(f.client.streams[late].body == "L");
    CHECK(f.server.is_idle());
    CHECK(!f.server.want_read());
  }

  TEST_CASE("drain notice: a PING ACK with other data is not the notice's; "
            "no notice once going away") {
    pair_fixture f;
    f.pump();
    REQUIRE(f.server.goaway_notice());
    std::string out;
    f.server.take_output(out);
    // The client acknowledges a PING of its own making instead.
    std::array<uint8_t, 8> other{1, 2, 3, 4, 5, 6, 7, 8};
    REQUIRE(nghttp2_submit_ping(f.client.ng, NGHTTP2_FLAG_ACK, other.data()) ==
            0);
    REQUIRE(f.server.feed(f.client.output()) == h2::feed_result::ok);
    CHECK(!f.server.notice_acked());
    pair_fixture g;
    g.pump();
    g.server.goaway_graceful();
    CHECK(!g.server.goaway_notice());
  }

  TEST_CASE("terminate sends GOAWAY with the code and stops reading") {
    pair_fixture f;
    f.pump();
    f.server.terminate(h2::error_code::enhance_your_calm);
    std::string out;
    f.server.take_output(out);
    f.client.input(out);
    auto goaways = f.client.frames_of(NGHTTP2_GOAWAY);
    REQUIRE(goaways.size() == 1);
    CHECK(goaways[0].error_code == NGHTTP2_ENHANCE_YOUR_CALM);
    CHECK(!f.server.want_read());
  }

  // -- window refill
  // --------------------------------------------------------------

  TEST_CASE("windows refill to the peak only below window_refill_threshold") {
    h2::session_config cfg;
    cfg.max_content_length = 1 << 22;
    cfg.http2.conn_window = 1 << 20;
    cfg.http2.stream_window = 1 << 20;
    cfg.http2.window_refill_threshold = 1 << 19;
    pair_fixture f{cfg};
    f.pump(); // settings exchanged: the client may send 1 MiB
    REQUIRE(nghttp2_session_get_remote_window_size(f.client.ng) == 1 << 20);
    auto frames_before = f.client.frames_of(NGHTTP2_WINDOW_UPDATE).size();
    // 400 KiB leaves 624 KiB >= the 512 KiB threshold: no refill.
    auto small = f.client.request("POST", "/a", {}, pattern(400 << 10));
    f.pump();
    CHECK(f.client.frames_of(NGHTTP2_WINDOW_UPDATE).size() == frames_before);
    CHECK(nghttp2_session_get_remote_window_size(f.client.ng) ==
          (1 << 20) - (400 << 10));
    // 200 KiB more drops the connection window to 424 KiB: refilled to 1 MiB.
    f.client.request("POST", "/b", {}, pattern(200 << 10));
    f.pump();
    CHECK(nghttp2_session_get_remote_window_size(f.client.ng) == 1 << 20);
    CHECK(f.rec.requests.size() == 2);
    static_cast<void>(small);
  }

  // -- reuse of stream objects and nghttp2's blocks
  // ----------------------------------------------

  TEST_CASE("stream objects are reused: every request starts clean") {
    pair_fixture f;
    f.rec.answer = [&](int32_t id) {
      CHECK(f.server.submit(id, response::text(200, "ok")) ==
            h2::submit_result::ok);
    };
    // One request at a time, so each one gets the previous one's object.
    auto post = f.client.request_nv({{":method", "POST"},
                                     {":scheme", "http"},
                                     {":authority", "example.com"},
                                     {":path", "/up?x=1"},
                                     {"accept", "*/*"},
                                     {"host", "example.com"},
                                     {"content-length", "3"}},
                                    "abc");
    f.pump();
    auto get = f.client.request("GET", "/plain");
    f.pump();
    auto options = f.client.request_nv({{":method", "OPTIONS"},
                                        {":scheme", "http"},
                                        {":path", "*"},
                                        {"host", "h.example"}});
    f.pump();
    auto big =
      f.client.request("GET", "/big", {{"x-big", std::string(40000, 'a')}});
    f.pump();
    auto head = f.client.request("HEAD", "/last");
    f.pump();
    REQUIRE(f.rec.requests.size() == 4); // the big one got 431, no handler
    auto& r0 = f.rec.requests[0];
    CHECK(r0.id == post);
    CHECK(r0.method == "POST");
    CHECK(r0.query == "x=1");
    CHECK(r0.body == "abc");
    CHECK(r0.content_length == 3);
    // The client's Host field, where it sent it; no :authority copy.
    CHECK(r0.headers == field_list{{"accept", "*/*"},
                                   {"host", "example.com"},
                                   {"content-length", "3"}});
    CHECK(f.client.streams[big].status == 431);
    // The later requests: nothing left over from the earlier ones.
    struct expected {
      int32_t id;
      std::string method, target, host;
    };
    std::vector<expected> later{{get, "GET", "/plain", "example.com"},
                                {options, "OPTIONS", "*", "h.example"},
                                {head, "HEAD", "/last", "example.com"}};
    for (size_t i = 0; i < later.size(); ++i) {
      auto& r = f.rec.requests[i + 1];
      CHECK(r.id == later[i].id);
      CHECK(r.method == later[i].method);
      CHECK(r.target == later[i].target);
      CHECK(r.query.empty());
      CHECK(r.host == later[i].host);
      CHECK(r.headers == field_list{{"host", later[i].host}});
      CHECK(r.body.empty());
      CHECK(!r.content_length);
    }
    CHECK(f.client.streams[head].status == 200);
    CHECK(f.client.header(head, "content-length") == "2");
    CHECK(f.client.streams[head].body.empty());
    for (auto id : {post, get, options})
      CHECK(f.client.streams[id].body == "ok");
    CHECK(f.server.is_idle());
  }

  TEST_CASE("a response submitted, then reset by the client before it went "
            "out: the next stream reuses the object and gets its own head") {
    pair_fixture f;
    auto a = f.client.request("GET", "/a");
    f.pump();
    REQUIRE(f.rec.requests.size() == 1);
    // Submitted but not taken out: nghttp2 refers to the stream's strings.
    auto r = response::text(200, "first answer");
    r.header("x-first", std::string(100, 'f'));
    CHECK(f.server.submit(a, std::move(r)) == h2::submit_result::ok);
    nghttp2_submit_rst_stream(f.client.ng, NGHTTP2_FLAG_NONE, a,
                              NGHTTP2_CANCEL);
    // No take_output in between: A closes (its object goes back to the
    // pool) with its HEADERS still queued, then B gets that object.
    REQUIRE(f.server.feed(f.client.output()) == h2::feed_result::ok);
    REQUIRE(f.rec.closed.size() == 1);
    CHECK(f.rec.closed[0] == std::pair{a, h2::error_code::cancel});
    auto b = f.client.request("GET", "/b");
    REQUIRE(f.server.feed(f.client.output()) == h2::feed_result::ok);
    REQUIRE(f.rec.requests.size() == 2);
    CHECK(f.server.submit(b, response::text(201, "second")) ==
          h2::submit_result::ok);
    f.pump();
    CHECK(f.client.streams[a].status == 0); // no HEADERS for the reset one
    CHECK(f.client.streams[b].status == 201);
    CHECK(f.client.streams[b].body == "second");
    CHECK(f.client.header(b, "x-first") == "<none>");
    CHECK(f.client.header(b, "content-length") == "6");
    CHECK(f.server.is_idle());
  }

  TEST_CASE("nghttp2's block pool reuses freed blocks and keeps a bounded "
            "amount") {
    h2::block_pool pool;
    auto* a = pool.allocate(100);
    REQUIRE(a != nullptr);
    std::memset(a, 'x', 100);
    pool.release(a);
    CHECK(pool.kept_bytes() == 128);
    // The same size class comes back from the list.
    CHECK(pool.allocate(120) == a);
    CHECK(pool.kept_bytes() == 0);
    std::memset(a, 'x', 100);
    // realloc within the class keeps the block; beyond it moves the bytes.
    CHECK(pool.reallocate(a, 128) == a);
    auto* b = static_cast<char*>(pool.reallocate(a, 5000));
    REQUIRE(b != nullptr);
    CHECK(std::string(b, 100) == std::string(100, 'x'));
    CHECK(pool.kept_bytes() == 128); // a went back to its list
    pool.release(b);                 // over 1 KiB: freed at once
    CHECK(pool.kept_bytes() == 128);
    auto* c = pool.reallocate(nullptr, 10);
    CHECK(c != nullptr);
    pool.release(c);
    CHECK(pool.kept_bytes() == 128 + 32);
    // Many blocks freed at once: the lists stop at max_kept_bytes.
    std::vector<void*> blocks;
    for (int i = 0; i < 100; ++i)
      blocks.push_back(pool.allocate(1000));
    for (auto* p : blocks)
      pool.release(p);
    CHECK(pool.kept_bytes() <= h2::block_pool::max_kept_bytes);
    CHECK(pool.kept_bytes() > h2::block_pool::max_kept_bytes - 1024);
    pool.release(nullptr);
  }

  // -- requests the session answers itself
  // ---------------------------------------

  TEST_CASE("on_request_rejected: once per request the session answers, "
            "never with on_request or on_stream_closed") {
    auto cfg = small_config();
    cfg.max_content_length = 100;
    cfg.http2.max_header_list_size = 4096;
    pair_fixture f{cfg};
    f.answer_with("ok");
    // 413 counted from DATA: the client goes on sending after the limit,
    // and every DATA frame passes the check again.
    auto big_body = f.client.request("POST", "/", {}, pattern(50000));
    auto big_head =
      f.client.request("GET", "/", {{"x-big", std::string(5000, 'v')}});
    auto connect = f.client.request_nv(
      {{":method", "CONNECT"}, {":authority", "a.example:443"}});
    auto bad_path = f.client.request("GET", "/a b");
    auto ok = f.client.request("GET", "/fine");
    f.pump();
    CHECK(f.rec.rejections(big_body) == std::vector<int>{413});
    CHECK(f.rec.rejections(big_head) == std::vector<int>{431});
    CHECK(f.rec.rejections(connect) == std::vector<int>{501});
    CHECK(f.rec.rejections(bad_path) == std::vector<int>{400});
    CHECK(f.rec.rejections(ok).empty());
    CHECK(f.rec.rejected.size() == 4);
    REQUIRE(f.rec.requests.size() == 1);
    CHECK(f.rec.requests[0].id == ok);
    // on_stream_closed is for dispatched streams only.
    for (auto& [id, code] : f.rec.closed)
      CHECK(id == ok);
    for (auto& r : f.rec.rejected)
      CHECK_FALSE(r.reason.empty());
    CHECK(f.server.is_idle());
  }

  TEST_CASE("on_request_rejected for requests nghttp2 finds malformed after "
            "their head: content-length against DATA (RFC 9113 8.1.1)") {
    pair_fixture f;
    int32_t id = 0;
    SUBCASE("less DATA than content-length") {
      id =
        f.client.request("POST", "/", {{"content-length", "10"}}, pattern(3));
    }
    SUBCASE("more DATA than content-length") {
      id = f.client.request("POST", "/", {{"content-length", "2"}}, pattern(3));
    }
    f.pump();
    CHECK(f.client.streams[id].close_code == NGHTTP2_PROTOCOL_ERROR);
    CHECK(f.rec.requests.empty());
    CHECK(f.rec.rejections(id) == std::vector<int>{400});
  }

  TEST_CASE("on_request_rejected may throw: dropped, the session goes on") {
    struct thrower : recorder {
      void on_request_rejected(int32_t id, int status,
                               std::string_view reason) override {
        recorder::on_request_rejected(id, status, reason);
        throw std::runtime_error("counter failed");
      }
    } rec;
    h2::session server{small_config(), rec};
    test_client client;
    client.request_nv({{":method", "CONNECT"}, {":authority", "a:1"}});
    auto c = client.output();
    CHECK(server.feed(c) == h2::feed_result::ok);
    CHECK(rec.rejected.size() == 1);
    std::string out;
    server.take_output(out);
    client.input(out);
    CHECK(client.streams[1].status == 501);
  }

  // -- frames on closed streams (RFC 9113 5.1, 5.1.1, 6.1)
  // -----------------------

  TEST_CASE("DATA or HEADERS on a closed stream: GOAWAY(STREAM_CLOSED)") {
    pair_fixture f;
    f.answer_with("ok");
    auto id = f.client.request("GET", "/");
    f.pump();
    REQUIRE(f.client.streams[id].closed);
    REQUIRE(f.server.open_streams() == 0);
    std::string bytes;
    SUBCASE("DATA") {
      bytes = raw(NGHTTP2_DATA, 0, id, "x");
    }
    SUBCASE("HEADERS") {
      bytes =
        raw(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, id, static_get_block);
    }
    SUBCASE("DATA, its header split over single bytes") {
      for (char c : raw(NGHTTP2_DATA, 0, id, "x"))
        REQUIRE(f.server.feed({&c, 1}) == h2::feed_result::ok);
    }
    if (!bytes.empty())
      CHECK(f.server.feed(bytes) == h2::feed_result::ok);
    auto frames = server_frames(f.server);
    CHECK(goaway_of(frames) ==
          std::pair<int64_t, int64_t>{NGHTTP2_STREAM_CLOSED, id});
    CHECK_FALSE(f.server.want_read());
    CHECK(f.server.going_away());
  }

  TEST_CASE("WINDOW_UPDATE, PRIORITY and RST_STREAM on a closed stream are "
            "allowed (RFC 9113 5.1)") {
    pair_fixture f;
    f.answer_with("ok");
    auto id = f.client.request("GET", "/");
    f.pump();
    REQUIRE(f.server.open_streams() == 0);
    std::string wu{"\x00\x00\x01\x00", 4};
    std::string prio{"\x00\x00\x00\x00\x10", 5};
    std::string rst{"\x00\x00\x00\x08", 4};
    CHECK(f.server.feed(raw(NGHTTP2_WINDOW_UPDATE, 0, id, wu) +
                        raw(NGHTTP2_PRIORITY, 0, id, prio) +
                        raw(NGHTTP2_RST_STREAM, 0, id, rst)) ==
          h2::feed_result::ok);
    CHECK(goaway_of(server_frames(f.server)).first == -1);
    CHECK(f.server.want_read());
  }

  TEST_CASE("a stream depending on itself, or PRIORITY on stream 0: "
            "GOAWAY(PROTOCOL_ERROR) (RFC 9113 5.3.1, 6.3), also when the "
            "dependency is cut across reads") {
    // nghttp2 leaves this check out with SETTINGS_NO_RFC7540_PRIORITIES;
    // the session's frame scan does it, whole or byte by byte.
    auto dep = [](uint32_t on) {
      std::string d;
      for (auto b : {on >> 24, on >> 16, on >> 8, on, uint32_t{16}})
        d.push_back(static_cast<char>(b & 0xff));
      return d; // dependency + weight
    };
    // (error code, last stream id) of the GOAWAY after `frame` on stream 1
    // depending on stream `on`, fed whole or byte by byte.
    auto outcome = [&](bool headers, uint32_t on, bool bytewise) {
      pair_fixture f;
      f.pump();
      auto frame = headers
                     ? raw(NGHTTP2_HEADERS,
                           NGHTTP2_FLAG_PRIORITY | NGHTTP2_FLAG_PADDED |
                             NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM,
                           1,
                           std::string{"\x02", 1} + dep(on) + static_get_block +
                             std::string(2, '\0'))
                     : raw(NGHTTP2_PRIORITY, 0, 1, dep(on));
      if (bytewise) {
        for (char c : frame)
          CHECK(f.server.feed(std::span<const char>{&c, 1}) ==
                h2::feed_result::ok);
      } else {
        CHECK(f.server.feed(frame) == h2::feed_result::ok);
      }
      return goaway_of(server_frames(f.server));
    };
    for (bool headers : {false, true})
      for (bool bytewise : {false, true}) {
        CAPTURE(headers);
        CAPTURE(bytewise);
        CHECK(outcome(headers, 1, bytewise) ==
              std::pair<int64_t, int64_t>{NGHTTP2_PROTOCOL_ERROR, 0});
        // Another stream: no error.
        CHECK(outcome(headers, 3, bytewise).first == -1);
      }
    // RFC 9113 6.3: PRIORITY on stream 0 (nghttp2 skips it as well).
    pair_fixture f;
    f.pump();
    CHECK(f.server.feed(raw(NGHTTP2_PRIORITY, 0, 0, dep(1))) ==
          h2::feed_result::ok);
    CHECK(goaway_of(server_frames(f.server)) ==
          std::pair<int64_t, int64_t>{NGHTTP2_PROTOCOL_ERROR, 0});
  }

  TEST_CASE("DATA after the client's RST_STREAM: GOAWAY(STREAM_CLOSED), in "
            "the same read or a later one") {
    pair_fixture f;
    auto id = f.open_upload();
    std::string rst{"\x00\x00\x00\x08", 4}; // CANCEL
    SUBCASE("same read") {
      CHECK(f.server.feed(raw(NGHTTP2_RST_STREAM, 0, id, rst) +
                          raw(NGHTTP2_DATA, 0, id, "x")) ==
            h2::feed_result::ok);
    }
    SUBCASE("later read") {
      CHECK(f.server.feed(raw(NGHTTP2_RST_STREAM, 0, id, rst)) ==
            h2::feed_result::ok);
      CHECK(goaway_of(server_frames(f.server)).first == -1);
      CHECK(f.server.feed(raw(NGHTTP2_DATA, 0, id, "x")) ==
            h2::feed_result::ok);
    }
    CHECK(goaway_of(server_frames(f.server)) ==
          std::pair<int64_t, int64_t>{NGHTTP2_STREAM_CLOSED, id});
    // The request never completed: no callback of any kind.
    CHECK(f.rec.requests.empty());
    CHECK(f.rec.rejected.empty());
  }

  TEST_CASE("frames on a stream the server reset are ignored (RFC 9113 5.1): "
            "HPACK and the connection window still count") {
    auto cfg = small_config();
    cfg.max_content_length = 10;
    pair_fixture f{cfg};
    f.client.upload_held[1] = true;
    auto id = f.client.request("POST", "/up", {{"content-length", "100"}},
                               pattern(100));
    f.pump();
    REQUIRE(f.client.streams[id].status == 413);
    REQUIRE(f.client.streams[id].close_code == NGHTTP2_NO_ERROR);
    // What the client had sent before it saw the RST_STREAM.
    auto chunk = raw(NGHTTP2_DATA, 0, id, std::string(16000, 'x'));
    CHECK(f.server.feed(chunk + chunk + chunk +
                        raw(NGHTTP2_HEADERS,
                            NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM,
                            id, static_get_block)) == h2::feed_result::ok);
    auto frames = server_frames(f.server);
    CHECK(goaway_of(frames).first == -1);
    // The 48000 bytes came back to the connection window.
    bool refilled = false;
    for (auto& fr : frames)
      refilled |= fr.type == NGHTTP2_WINDOW_UPDATE && fr.stream_id == 0;
    CHECK(refilled);
    f.answer_with("next");
    auto next = f.client.request("GET", "/next");
    f.pump();
    CHECK(f.client.streams[next].body == "next");
  }

  TEST_CASE("a HEADERS below the highest stream id: GOAWAY(PROTOCOL_ERROR) "
            "(RFC 9113 5.1.1)") {
    pair_fixture f;
    f.answer_with("ok");
    f.client.request("GET", "/");
    f.pump();
    // Stream 9 opens; 3, 5 and 7 are skipped (closed, never opened).
    CHECK(f.server.feed(raw(NGHTTP2_HEADERS,
                            NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM,
                            9, static_get_block)) == h2::feed_result::ok);
    auto frames = server_frames(f.server);
    CHECK(goaway_of(frames).first == -1);
    REQUIRE(f.rec.requests.size() == 2);
    CHECK(f.rec.requests[1].id == 9);
    SUBCASE("HEADERS on a skipped id") {
      CHECK(
        f.server.feed(raw(NGHTTP2_HEADERS,
                          NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 5,
                          static_get_block)) == h2::feed_result::ok);
      CHECK(goaway_of(server_frames(f.server)) ==
            std::pair<int64_t, int64_t>{NGHTTP2_PROTOCOL_ERROR, 9});
      CHECK(f.rec.requests.size() == 2);
    }
    SUBCASE("DATA on a skipped id: a closed stream (RFC 9113 6.1)") {
      CHECK(f.server.feed(raw(NGHTTP2_DATA, 0, 7, "x")) == h2::feed_result::ok);
      CHECK(goaway_of(server_frames(f.server)) ==
            std::pair<int64_t, int64_t>{NGHTTP2_STREAM_CLOSED, 9});
    }
  }

  TEST_CASE("SETTINGS_INITIAL_WINDOW_SIZE taking a stream window over 2^31-1: "
            "GOAWAY(FLOW_CONTROL_ERROR) (RFC 9113 6.9.2)") {
    pair_fixture f;
    auto id = f.open_upload();
    // The stream's send window: 65535 + 2147418112 = 2^31-1.
    std::string inc{"\x7f\xff\x00\x00", 4};
    REQUIRE(f.server.feed(raw(NGHTTP2_WINDOW_UPDATE, 0, id, inc)) ==
            h2::feed_result::ok);
    CHECK(goaway_of(server_frames(f.server)).first == -1);
    std::string grow_by_one{"\x00\x04\x00\x01\x00\x00", 6}; // 65536
    std::string same{"\x00\x04\x00\x00\xff\xff", 6};        // 65535
    SUBCASE("one more byte overflows") {
      CHECK(f.server.feed(raw(NGHTTP2_SETTINGS, 0, 0, grow_by_one)) ==
            h2::feed_result::ok);
      CHECK(goaway_of(server_frames(f.server)) ==
            std::pair<int64_t, int64_t>{NGHTTP2_FLOW_CONTROL_ERROR, id});
    }
    SUBCASE("an intermediate value counts (applied in order, RFC 9113 "
            "6.5.3)") {
      CHECK(f.server.feed(raw(NGHTTP2_SETTINGS, 0, 0, grow_by_one + same)) ==
            h2::feed_result::ok);
      CHECK(goaway_of(server_frames(f.server)).first ==
            NGHTTP2_FLOW_CONTROL_ERROR);
    }
    SUBCASE("the same value is fine") {
      CHECK(f.server.feed(raw(NGHTTP2_SETTINGS, 0, 0, same)) ==
            h2::feed_result::ok);
      CHECK(goaway_of(server_frames(f.server)).first == -1);
      CHECK(f.server.want_read());
    }
  }

  TEST_CASE("the frame scan follows any split of the input: uploads, "
            "trailers, resets and a closed stream's DATA") {
    // One client byte stream, fed in pieces of 1 to 23 bytes: the session
    // must see the same requests, and the DATA on the closed stream at the
    // end must be found wherever its header is cut.
    for (size_t piece :
         {size_t{1}, size_t{2}, size_t{7}, size_t{9}, size_t{10}, size_t{23}}) {
      INFO("pieces of " << piece);
      pair_fixture f;
      f.client.upload_trailers[3] = {{"x-t", "1"}};
      f.client.request("GET", "/a");
      f.client.request("POST", "/b", {}, pattern(30000));
      auto reset = f.client.request("POST", "/c", {}, pattern(10));
      f.client.upload_held[reset] = true;
      auto bytes = f.client.output();
      nghttp2_submit_rst_stream(f.client.ng, NGHTTP2_FLAG_NONE, reset,
                                NGHTTP2_CANCEL);
      bytes += f.client.output();
      bytes += raw(NGHTTP2_DATA, 0, reset, "late");
      std::vector<raw_frame> out;
      bool fed = true;
      for (size_t at = 0; at < bytes.size(); at += piece) {
        fed &= f.server.feed(std::string_view{bytes}.substr(at, piece)) ==
               h2::feed_result::ok;
        for (auto& fr : server_frames(f.server))
          out.push_back(fr);
      }
      CHECK(fed);
      REQUIRE(f.rec.requests.size() == 2);
      CHECK(f.rec.requests[0].path == "/a");
      CHECK(f.rec.requests[1].path == "/b");
      CHECK(f.rec.requests[1].body == pattern(30000));
      CHECK(goaway_of(out) ==
            std::pair<int64_t, int64_t>{NGHTTP2_STREAM_CLOSED, reset});
    }
  }

  TEST_CASE("random frames in random pieces: the session answers or ends, "
            "never reads out of bounds (run under ASan/UBSan)") {
    // A fixed xorshift sequence: the same frames on every run.
    uint64_t x = 0x9e3779b97f4a7c15;
    auto next = [&] {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x;
    };
    int ended = 0;
    for (int round = 0; round < 200; ++round) {
      pair_fixture f;
      f.answer_with("ok");
      f.client.request("GET", "/");
      auto bytes = f.client.output();
      for (int i = 0; i < 20; ++i) {
        auto r = next();
        // Mostly small stream ids near the open ones, all frame types and
        // a few unknown ones, any flags, short payloads (some lengths lie).
        auto type = static_cast<uint8_t>(r % 12);
        auto flags = static_cast<uint8_t>(r >> 8);
        auto id = static_cast<int32_t>((r >> 16) % 12);
        std::string payload(static_cast<size_t>((r >> 24) % 24), '\x01');
        auto fr = raw(type, flags, id, payload);
        if ((r >> 40) % 8 == 0)
          fr[2] = static_cast<char>(fr[2] + 3); // length beyond the bytes
        bytes += fr;
      }
      bool fatal = false;
      for (size_t at = 0; at < bytes.size() && !fatal;) {
        auto piece = 1 + static_cast<size_t>(next() % 40);
        fatal = f.server.feed(std::string_view{bytes}.substr(at, piece)) ==
                h2::feed_result::fatal;
        at += piece;
        std::string out;
        f.server.take_output(out);
      }
      ended += fatal || !f.server.want_read();
    }
    // Random frames break the protocol: most connections end.
    CHECK(ended > 100);
  }

  TEST_CASE("recent_ids: opened and finished ids within the window") {
    h2::recent_ids ids;
    CHECK(ids.highest() == -1);
    CHECK_FALSE(ids.remembers(1));
    ids.open(1, false);
    ids.open(3, false);
    ids.open(9, false);
    CHECK(ids.highest() == 9);
    CHECK(ids.opened(1));
    CHECK(ids.opened(3));
    CHECK_FALSE(ids.opened(5));
    CHECK_FALSE(ids.opened(7));
    CHECK(ids.opened(9));
    ids.finish(3);
    CHECK(ids.finished(3));
    CHECK_FALSE(ids.finished(1));
    CHECK_FALSE(ids.remembers(11));
    // The window moves: id 1's slot is reused by 1 + 2 * size.
    auto far = 1 + 2 * h2::recent_ids::size;
    ids.open(far, false);
    CHECK_FALSE(ids.remembers(1));
    CHECK(ids.remembers(3));
    CHECK(ids.finished(3));
    CHECK(ids.opened(far));
    CHECK_FALSE(ids.finished(far));
    // The first stream may be the last id there is.
    h2::recent_ids last;
    last.open(0x7fffffff, true);
    CHECK(last.opened(0x7fffffff));
    CHECK(last.finished(0x7fffffff));
    CHECK_FALSE(last.opened(0x7ffffffd));
    // A jump past the whole window forgets everything.
    ids.open(far + 4 * h2::recent_ids::size, false);
    CHECK_FALSE(ids.remembers(3));
    CHECK_FALSE(ids.opened(far + 4 * h2::recent_ids::size - 2));
  }

  TEST_CASE("an id older than the window: an error when max_concurrent_streams "
            "makes it safe, ignored otherwise") {
    for (int64_t max_streams : {int64_t{100}, int64_t{1000}}) {
      INFO("max_concurrent_streams " << max_streams);
      auto cfg = small_config();
      cfg.http2.max_concurrent_streams = max_streams;
      pair_fixture f{cfg};
      f.answer_with("ok");
      for (int i = 0; i < h2::recent_ids::size + 10; ++i) {
        f.client.request("GET", "/");
        if (i % 50 == 0)
          f.pump();
      }
      f.pump();
      REQUIRE(f.rec.requests.size() == h2::recent_ids::size + 10);
      CHECK(f.server.feed(raw(NGHTTP2_DATA, 0, 1, "x")) == h2::feed_result::ok);
      auto code = goaway_of(server_frames(f.server)).first;
      CHECK(code == (max_streams == 100 ? NGHTTP2_STREAM_CLOSED : -1));
    }
  }

} // TEST_SUITE
