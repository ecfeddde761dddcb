// WebSocket sessions (issue 15): the RFC 6455 handshake over HTTP/1.1, the
// session actor (messages in, the handle out, its end closing the session),
// strict framing with raw frames, backpressure, the send deadline, drain,
// route reload, and the slot accounting around all of it. Every client here
// is a raw loopback socket driven byte by byte (frames built by hand).

#include "fixture.hpp"
#include "ws_driver.hpp"
#include <roadrunner/websocket.hpp>

#include <caf/event_based_actor.hpp>
#include <caf/group.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <doctest/doctest.h>

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <future>
#include <malloc.h>
#include <memory>
#include <mutex>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <vector>
#include <zlib.h>

using namespace rrtest;
using namespace roadrunner;
using namespace std::chrono_literals;

namespace {

// -- what the session actors saw ---------------------------------------------

/// Events the session actors report (any thread), awaited with a bound.
struct journal {
  event_count changed;
  std::mutex mtx;
  std::vector<std::string> lines;

  void add(std::string line) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      lines.push_back(std::move(line));
    }
    changed.raise();
  }

  size_t count(const std::string& line) {
    std::lock_guard<std::mutex> guard{mtx};
    size_t n = 0;
    for (auto& l : lines)
      n += l == line ? 1 : 0;
    return n;
  }

  bool has(const std::string& line) { return count(line) > 0; }

  /// Waits until `line` was reported `n` times, at most 5 s.
  bool await(const std::string& line, size_t n = 1) {
    return eventually([&] { return count(line) >= n; });
  }
};

// An echo session: echoes every message; "close-me" closes with 4000,
// "crash" throws, "quit" ends the actor, "flood N" sends N 64 KiB
// messages at once; tells the journal what it heard.
caf::behavior echo_session(caf::event_based_actor* self, websocket_handle ws,
                           std::shared_ptr<journal> j) {
  return {
    [=](ws_message& m) {
      if (m.data == "close-me") {
        ws.close(4000, "bye");
      } else if (m.data == "crash") {
        throw std::runtime_error("session crashed on purpose");
      } else if (m.data == "quit") {
        self->quit();
      } else if (m.data.rfind("flood ", 0) == 0) {
        auto n = std::stoi(m.data.substr(6));
        for (int i = 0; i < n; ++i)
          ws.send_binary(std::to_string(i) + ":" + std::string(65536, 'x'));
      } else {
        ws.send(std::move(m));
      }
    },
    [=](ws_full_atom) { j->add("full"); },
    [=](ws_ready_atom) { j->add("ready"); },
    [=](ws_closed_atom, uint16_t code, const std::string&) {
      j->add("closed " + std::to_string(code));
    },
  };
}

// A session on its own thread that, before it handles its first message,
// waits (at most 10 s) until `go` is ready, then echoes: meanwhile its
// mailbox fills (the inbox_buffer limit).
caf::behavior slow_session(caf::event_based_actor*, websocket_handle ws,
                           std::shared_future<void> go,
                           std::shared_ptr<journal> j) {
  auto waited = std::make_shared<bool>(false);
  return {
    [=](ws_message& m) {
      if (!*waited) {
        *waited = true;
        j->add("slow waits");
        go.wait_for(10s);
      }
      ws.send(std::move(m));
    },
    [=](ws_closed_atom, uint16_t code, const std::string&) {
      j->add("closed " + std::to_string(code));
    },
  };
}

ws_session_factory echo_factory(std::shared_ptr<journal> j) {
  return [j](caf::actor_system& sys, websocket_handle ws) {
    return sys.spawn(echo_session, std::move(ws), j);
  };
}

// Streaming mode: whole messages are answered "whole N", the pieces of a
// larger one are journaled ("piece", "first", "last") and answered
// "streamed N text|binary" after the last.
caf::behavior stream_session(caf::event_based_actor*, websocket_handle ws,
                             std::shared_ptr<journal> j) {
  auto total = std::make_shared<size_t>(0);
  return {
    [=](ws_message& m) {
      ws.send_text("whole " + std::to_string(m.data.size()));
    },
    [=](ws_fragment& f) {
      if (f.first)
        *total = 0;
      *total += f.data.size();
      j->add(std::string{"piece"} + (f.first ? " first" : "") +
             (f.last ? " last" : ""));
      if (f.last)
        ws.send_text("streamed " + std::to_string(*total) +
                     (f.binary ? " binary" : " text"));
    },
    [=](ws_closed_atom, uint16_t code, const std::string&) {
      j->add("closed " + std::to_string(code));
    },
  };
}

// A typed session (ws_session_actor plus the chat message) in a room it
// reaches through ws_group_relay.
using chat_atom = caf::atom_constant<caf::atom("chat")>;
using typed_chat_actor =
  ws_session_actor::extend<caf::reacts_to<chat_atom, std::string>>;

typed_chat_actor::behavior_type typed_chat(typed_chat_actor::pointer,
                                           websocket_handle ws, caf::group room,
                                           std::shared_ptr<journal> j) {
  return {
    [=](ws_message& m) {
      caf::anon_send(room, chat_atom::value, std::move(m.data));
    },
    [=](chat_atom, std::string& text) { ws.send_text(std::move(text)); },
    [](ws_full_atom) {},
    [](ws_ready_atom) {},
    [=](ws_closed_atom, uint16_t code, const std::string&) {
      j->add("typed closed " + std::to_string(code));
    },
  };
}

// The smallest typed session: echoes.
ws_session_actor::behavior_type typed_echo(ws_session_actor::pointer,
                                           websocket_handle ws) {
  return {
    [=](ws_message& m) { ws.send(std::move(m)); },
    [](ws_full_atom) {},
    [](ws_ready_atom) {},
    [](ws_closed_atom, uint16_t, const std::string&) {},
  };
}

// -- a raw WebSocket client ---------------------------------------------------

struct frame {
  uint8_t op = 0;
  bool fin = false;
  std::string payload;

  uint16_t close_code() const {
    if (payload.size() < 2)
      return 1005;
    return static_cast<uint16_t>(static_cast<uint8_t>(payload[0]) << 8 |
                                 static_cast<uint8_t>(payload[1]));
  }
};

/// A client frame: `b0` is the first byte (FIN, RSV, opcode) as sent,
/// masked unless `masked` is false.
std::string make_frame(uint8_t b0, std::string_view payload,
                       bool masked = true) {
  std::string out;
  out.push_back(static_cast<char>(b0));
  uint8_t mask_bit = masked ? 0x80 : 0;
  auto len = payload.size();
  if (len < 126) {
    out.push_back(static_cast<char>(mask_bit | len));
  } else if (len <= 0xffff) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(len >> 8));
    out.push_back(static_cast<char>(len & 0xff));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int i = 7; i >= 0; --i)
      out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  }
  const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  if (masked)
    out.append(reinterpret_cast<const char*>(key), 4);
  for (size_t i = 0; i < len; ++i)
    out.push_back(masked ? static_cast<char>(payload[i] ^ key[i & 3])
                         : payload[i]);
  return out;
}

std::string close_payload(uint16_t code, std::string_view reason = {}) {
  std::string out;
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xff));
  out.append(reason);
  return out;
}

/// `text` compressed as permessage-deflate sends it (RFC 7692 7.2.1).
std::string deflated(std::string_view text) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, text.size()) + 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_SYNC_FLUSH) == Z_OK);
  out.resize(out.size() - z.avail_out - 4); // drop 00 00 ff ff
  deflateEnd(&z);
  return out;
}

/// The inverse, for what the server sends.
std::string inflated(std::string data) {
  z_stream z{};
  REQUIRE(inflateInit2(&z, -15) == Z_OK);
  data.append("\x00\x00\xff\xff", 4);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  auto rc = inflate(&z, Z_SYNC_FLUSH);
  CHECK((rc == Z_OK || rc == Z_BUF_ERROR));
  out.resize(out.size() - z.avail_out);
  inflateEnd(&z);
  return out;
}

constexpr std::string_view sample_key = "dGhlIHNhbXBsZSBub25jZQ==";

std::string upgrade_request(std::string_view path,
                            std::string_view extra = {}) {
  std::string r = "GET ";
  r.append(path);
  r.append(" HTTP/1.1\r\nhost: localhost\r\nupgrade: websocket\r\n"
           "connection: Upgrade\r\nsec-websocket-version: 13\r\n"
           "sec-websocket-key: ");
  r.append(sample_key);
  r.append("\r\n");
  r.append(extra);
  r.append("\r\n");
  return r;
}

class ws_peer {
public:
  explicit ws_peer(uint16_t port) : c_(port) {}

  client& raw() { return c_; }

  /// Sends the upgrade request (plus `first` bytes in the same write) and
  /// reads the answer.
  std::optional<http_response> open(std::string_view path,
                                    std::string_view extra = {},
                                    std::string_view first = {}) {
    if (!c_.send(upgrade_request(path, extra) + std::string{first}))
      return std::nullopt;
    return c_.read_response();
  }

  bool send(std::string_view bytes) { return c_.send(bytes); }

  /// The next frame from the server (unmasked), or nullopt on EOF/timeout.
  std::optional<frame> read(std::chrono::milliseconds timeout = 5s) {
    auto deadline = clock_type::now() + timeout;
    auto avail = [&] { return c_.leftover().size() - pos_; };
    auto need = [&](size_t n) {
      while (avail() < n)
        if (c_.fill(deadline) <= 0)
          return false;
      return true;
    };
    if (!need(2))
      return std::nullopt;
    auto* p = reinterpret_cast<const uint8_t*>(c_.leftover().data() + pos_);
    frame f;
    f.fin = (p[0] & 0x80) != 0;
    f.op = p[0] & 0x0f;
    if ((p[1] & 0x80) != 0)
      throw std::runtime_error("server frame is masked (RFC 6455 5.1)");
    uint64_t len = p[1] & 0x7f;
    size_t head = 2;
    if (len == 126) {
      if (!need(4))
        return std::nullopt;
      p = reinterpret_cast<const uint8_t*>(c_.leftover().data() + pos_);
      len = (uint64_t{p[2]} << 8) | p[3];
      head = 4;
    } else if (len == 127) {
      if (!need(10))
        return std::nullopt;
      p = reinterpret_cast<const uint8_t*>(c_.leftover().data() + pos_);
      len = 0;
      for (int i = 2; i < 10; ++i)
        len = (len << 8) | p[i];
      head = 10;
    }
    if (!need(head + len))
      return std::nullopt;
    f.payload = c_.leftover().substr(pos_ + head, len);
    pos_ += head + len;
    return f;
  }

  /// Reads frames until a close frame; nullopt if none came.
  std::optional<frame> read_close(std::chrono::milliseconds timeout = 5s) {
    for (int i = 0; i < 10000; ++i) {
      auto f = read(timeout);
      if (!f)
        return std::nullopt;
      if (f->op == 0x8)
        return f;
    }
    return std::nullopt;
  }

  /// True when the server closes the TCP connection.
  bool closed() { return c_.closed_by_peer(); }

private:
  client c_;
  size_t pos_ = 0;
};

// -- the server ---------------------------------------------------------------

struct ws_fixture : fixture {
  std::shared_ptr<journal> j = std::make_shared<journal>();
  listener_actor l;
  uint16_t port = 0;
  // /ws/slow's sessions wait for this before their first message.
  std::promise<void> go;
  std::shared_future<void> going = go.get_future().share();
  bool released = false;

  ~ws_fixture() { release(); }

  void release() {
    if (!std::exchange(released, true))
      go.set_value();
  }

  explicit ws_fixture(listener_options opts = loopback()) {
    opts.routes = make_routes();
    opts.middlewares.push_back(
      [](request& req, const next_fn& next) -> response {
        if (req.query() == "deny")
          return response::text(401, "denied\n");
        auto r = next(req);
        r.header("x-middleware", "ran");
        return r;
      });
    l = start(std::move(opts));
    port = port_of(l);
  }

  route_list make_routes() {
    websocket_options proto;
    proto.protocols = {"chat.v2", "chat"};
    websocket_options origin;
    origin.check_origin = [](const request& req) {
      return req.header("origin") == "http://good.example";
    };
    websocket_options small;
    small.max_message_size = 1000;
    websocket_options buffered;
    buffered.send_buffer = 256 * 1024;
    websocket_options plain;
    plain.deflate = false;
    websocket_options slow;
    slow.inbox_buffer = 64 * 1024;
    slow.deflate = false;
    websocket_options pinged;
    pinged.ping_interval = std::chrono::milliseconds(50);
    pinged.idle_timeout = std::chrono::milliseconds(400);
    websocket_options streamed;
    streamed.max_message_size = 1000;
    streamed.max_frame_size = 1000;
    streamed.max_streamed_size = 100000;
    streamed.deflate = false;
    auto room = sys.groups().get_local("ws-test-typed-chat");
    auto jj = j;
    return {
      {.path = "/ws/stream",
       .handler = websocket(
         sys,
         [jj](caf::actor_system& s, websocket_handle ws) {
           return s.spawn(stream_session, std::move(ws), jj);
         },
         streamed)},
      {.path = "/ws/typed",
       .handler =
         typed_websocket(sys,
                         [](caf::actor_system& s, websocket_handle ws) {
                           return s.spawn(typed_echo, std::move(ws));
                         })},
      {.path = "/ws/typedchat",
       .handler =
         typed_websocket(sys,
                         [jj, room](caf::actor_system& s, websocket_handle ws) {
                           auto a =
                             s.spawn(typed_chat, std::move(ws), room, jj);
                           ws_group_relay(s, room, a);
                           return a;
                         })},
      {.path = "/ws/echo", .handler = websocket(sys, echo_factory(j))},
      {.path = "/ws/proto", .handler = websocket(sys, echo_factory(j), proto)},
      {.path = "/ws/origin",
       .handler = websocket(sys, echo_factory(j), origin)},
      {.path = "/ws/small", .handler = websocket(sys, echo_factory(j), small)},
      {.path = "/ws/pinged",
       .handler = websocket(sys, echo_factory(j), pinged)},
      {.path = "/ws/plainframes",
       .handler = websocket(sys, echo_factory(j), plain)},
      {.path = "/ws/buffered",
       .handler = websocket(sys, echo_factory(j), buffered)},
      {.path = "/ws/none",
       .handler =
         websocket(sys, [](caf::actor_system&,
                           websocket_handle) { return caf::actor{}; })},
      {.path = "/ws/slow",
       .handler = websocket(
         sys,
         [jj, g = going](caf::actor_system& s, websocket_handle ws) {
           return s.spawn<caf::detached>(slow_session, std::move(ws), g, jj);
         },
         slow)},
      {.path = "/plain",
       .handler = [](request&) { return response::text(200, "plain\n"); }},
    };
  }

  /// An open session on `path`.
  std::unique_ptr<ws_peer> session(std::string_view path = "/ws/echo") {
    auto p = std::make_unique<ws_peer>(port);
    auto res = p->open(path);
    REQUIRE(res);
    REQUIRE(res->status == 101);
    return p;
  }

  /// The drain's result came: every connection ended in time (the
  /// listener exited).
  bool drained() {
    bool ok = false;
    self->receive([&](drain_result& r) { ok = r.drained && r.remaining == 0; },
                  caf::after(10s) >> [] {});
    started.clear();
    return ok;
  }

  /// Every slot given back: connections, admission, sessions.
  bool settled() {
    return eventually([&] {
      auto i = info_of(l);
      return i.active_clients == 0 && i.in_flight == 0;
    });
  }
};

std::string echo_of(ws_peer& p, uint8_t op, std::string_view payload) {
  REQUIRE(p.send(make_frame(static_cast<uint8_t>(0x80 | op), payload)));
  auto f = p.read();
  REQUIRE(f);
  CHECK(f->op == op);
  CHECK(f->fin);
  return f->payload;
}

} // namespace

TEST_SUITE("actors.websocket") {

  TEST_CASE("the handshake answers 101 with the accept key (RFC 6455 4.2.2) "
            "and middlewares run before it") {
    ws_fixture fx;
    ws_peer p{fx.port};
    auto res = p.open("/ws/echo");
    REQUIRE(res);
    CHECK(res->status == 101);
    CHECK(res->header("sec-websocket-accept") ==
          "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); // RFC 6455 1.3's example
    CHECK(lower(res->header("upgrade").value_or("")) == "websocket");
    CHECK(lower(res->header("connection").value_or("")) == "upgrade");
    CHECK(res->header("x-middleware") == "ran");
    CHECK_FALSE(res->header("content-length"));
    CHECK_FALSE(res->header("sec-websocket-protocol"));
    CHECK(echo_of(p, 0x1, "hello") == "hello");
    // A refusing middleware keeps the upgrade from happening.
    ws_peer denied{fx.port};
    auto d = denied.open("/ws/echo?deny");
    REQUIRE(d);
    CHECK(d->status == 401);
  }

  TEST_CASE("bad handshakes get 400/403/405/426 with the right fields") {
    ws_fixture fx;
    struct row {
      std::string request;
      int status;
      std::string field;
      std::string value;
    };
    auto base = [](std::string_view fields) {
      return "GET /ws/echo HTTP/1.1\r\nhost: x\r\n" + std::string{fields} +
             "\r\n";
    };
    std::string key = "sec-websocket-key: " + std::string{sample_key} + "\r\n";
    std::vector<row> rows{
      // No upgrade at all: a plain GET of a WebSocket route.
      {base(""), 426, "upgrade", "websocket"},
      {base("upgrade: websocket\r\nsec-websocket-version: 13\r\n" + key), 426,
       "upgrade", "websocket"}, // no Connection: upgrade
      {base("upgrade: h2c\r\nconnection: upgrade\r\n"
            "sec-websocket-version: 13\r\n" +
            key),
       426, "upgrade", "websocket"},
      {base("upgrade: websocket\r\nconnection: upgrade\r\n"
            "sec-websocket-version: 8\r\n" +
            key),
       426, "sec-websocket-version", "13"},
      {base("upgrade: websocket\r\nconnection: upgrade\r\n" + key), 400,
       "sec-websocket-version", "13"},
      {base("upgrade: websocket\r\nconnection: upgrade\r\n"
            "sec-websocket-version: 13\r\n"),
       400, "", ""}, // no key
      {base("upgrade: websocket\r\nconnection: upgrade\r\n"
            "sec-websocket-version: 13\r\nsec-websocket-key: c2hvcnQ=\r\n"),
       400, "", ""}, // a key of 5 bytes
      {base("upgrade: websocket\r\nconnection: upgrade\r\n"
            "sec-websocket-version: 13\r\n" +
            key + key),
       400, "", ""}, // two keys
      {"POST /ws/echo HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\n"
       "connection: upgrade\r\nsec-websocket-version: 13\r\n" +
         key + "content-length: 0\r\n\r\n",
       405, "allow", "GET"},
      {"GET /ws/echo HTTP/1.0\r\nhost: x\r\nupgrade: websocket\r\n"
       "connection: upgrade\r\nsec-websocket-version: 13\r\n" +
         key + "\r\n",
       400, "", ""},
      {"GET /ws/origin HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\n"
       "connection: upgrade\r\nsec-websocket-version: 13\r\n" +
         key + "origin: http://evil.example\r\n\r\n",
       403, "", ""},
    };
    for (auto& r : rows) {
      CAPTURE(r.request);
      client c{fx.port};
      REQUIRE(c.send(r.request));
      auto res = c.read_response();
      REQUIRE(res);
      CHECK(res->status == r.status);
      if (!r.field.empty())
        CHECK(lower(res->header(r.field).value_or("")) == lower(r.value));
    }
    // The good origin passes.
    ws_peer good{fx.port};
    auto ok = good.open("/ws/origin", "origin: http://good.example\r\n");
    REQUIRE(ok);
    CHECK(ok->status == 101);
    CHECK(fx.info_of(fx.l).websocket_sessions == 1);
  }

  TEST_CASE("a subprotocol is chosen in the server's order of preference") {
    ws_fixture fx;
    ws_peer a{fx.port};
    auto res = a.open("/ws/proto", "sec-websocket-protocol: chat, chat.v2\r\n");
    REQUIRE(res);
    CHECK(res->status == 101);
    CHECK(res->header("sec-websocket-protocol") == "chat.v2");
    ws_peer b{fx.port};
    res = b.open("/ws/proto", "sec-websocket-protocol: other\r\n");
    REQUIRE(res);
    CHECK(res->status == 101);
    CHECK_FALSE(res->header("sec-websocket-protocol"));
  }

  TEST_CASE("messages: text, binary, fragments reassembled, pings answered, "
            "frames in the upgrade's own packet") {
    ws_fixture fx;
    ws_peer p{fx.port};
    // The first frame travels with the handshake.
    auto res = p.open("/ws/echo", {}, make_frame(0x81, "early"));
    REQUIRE(res);
    REQUIRE(res->status == 101);
    auto early = p.read();
    REQUIRE(early);
    CHECK(early->payload == "early");
    CHECK(echo_of(p, 0x2, std::string("\x00\xff\x10", 3)) ==
          std::string("\x00\xff\x10", 3));
    std::string big(70000, 'b'); // 64-bit length form
    CHECK(echo_of(p, 0x2, big) == big);
    // Three fragments with a ping between them (RFC 6455 5.4).
    std::string bytes = make_frame(0x01, "frag") + make_frame(0x89, "p1") +
                        make_frame(0x00, "ment") +
                        make_frame(0x80, "ed \xc3\xa9");
    REQUIRE(p.send(bytes));
    auto pong = p.read();
    REQUIRE(pong);
    CHECK(pong->op == 0xa);
    CHECK(pong->payload == "p1");
    auto msg = p.read();
    REQUIRE(msg);
    CHECK(msg->op == 0x1);
    CHECK(msg->payload == "fragmented \xc3\xa9");
    // A UTF-8 character split across two fragments is fine.
    REQUIRE(p.send(make_frame(0x01, "\xe2\x82") + make_frame(0x80, "\xac")));
    auto euro = p.read();
    REQUIRE(euro);
    CHECK(euro->payload == "\xe2\x82\xac");
  }

  TEST_CASE("permessage-deflate (RFC 7692): negotiated, inflated, deflated "
            "back; a bomb stops at max_message_size; off when disabled") {
    ws_fixture fx;
    ws_peer p{fx.port};
    auto res =
      p.open("/ws/echo", "sec-websocket-extensions: "
                         "permessage-deflate; client_max_window_bits\r\n");
    REQUIRE(res);
    REQUIRE(res->status == 101);
    CHECK(res->header("sec-websocket-extensions") == "permessage-deflate");
    // RFC 7692 7.2.3.1: "Hello" as one compressed frame.
    REQUIRE(
      p.send(make_frame(0xc1, std::string{"\xf2\x48\xcd\xc9\xc9\x07\x00", 7})));
    auto hello = p.read();
    REQUIRE(hello);
    CHECK(hello->payload == "Hello"); // under deflate_min_size: plain
    std::string text;
    for (int i = 0; i < 100; ++i)
      text += "compressible text " + std::to_string(i % 7) + " ";
    // A compressed message in two fragments (RSV1 on the first only).
    auto packed = deflated(text);
    auto half = packed.size() / 2;
    REQUIRE(p.send(make_frame(0x41, packed.substr(0, half)) +
                   make_frame(0x80, packed.substr(half))));
    auto echo = p.read();
    REQUIRE(echo);
    CHECK(echo->op == 0x1);
    CHECK(echo->payload.size() < text.size() / 2); // sent compressed
    CHECK(inflated(echo->payload) == text);
    // RSV1 on a continuation frame: 1002 (RFC 7692 6.1).
    REQUIRE(p.send(make_frame(0x41, packed.substr(0, half)) +
                   make_frame(0xc0, packed.substr(half))));
    auto f = p.read_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1002);
    CHECK(p.closed());
    // A decompression bomb: 64 KiB of zeros in a few hundred bytes, to a
    // route that takes 1000 bytes.
    ws_peer bomb{fx.port};
    res = bomb.open("/ws/small",
                    "sec-websocket-extensions: permessage-deflate\r\n");
    REQUIRE(res);
    REQUIRE(res->status == 101);
    auto zeros = deflated(std::string(65536, '\0'));
    CHECK(zeros.size() < 1000);
    REQUIRE(bomb.send(make_frame(0xc2, zeros)));
    f = bomb.read_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1009);
    CHECK(bomb.closed());
    // Garbage that does not inflate: 1007.
    ws_peer junk{fx.port};
    res =
      junk.open("/ws/echo", "sec-websocket-extensions: permessage-deflate\r\n");
    REQUIRE(res);
    REQUIRE(junk.send(make_frame(0xc1, std::string(8, '\xff'))));
    f = junk.read_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1007);
    // A route with deflate off ignores the offer; RSV1 is then 1002.
    ws_peer off{fx.port};
    res = off.open("/ws/plainframes",
                   "sec-websocket-extensions: permessage-deflate\r\n");
    REQUIRE(res);
    REQUIRE(res->status == 101);
    CHECK_FALSE(res->header("sec-websocket-extensions"));
    REQUIRE(off.send(
      make_frame(0xc1, std::string{"\xf2\x48\xcd\xc9\xc9\x07\x00", 7})));
    f = off.read_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1002);
    CHECK(fx.settled());
  }

  TEST_CASE("ping_interval pings the peer; idle_timeout closes a silent "
            "peer with 1001 and spares one that answers") {
    ws_fixture fx;
    // An answering peer: every ping gets its pong, for longer than
    // idle_timeout (8 pings at 50 ms = 400 ms or more).
    auto alive = fx.session("/ws/pinged");
    for (int i = 0; i < 10; ++i) {
      auto f = alive->read();
      REQUIRE(f);
      REQUIRE(f->op == 0x9); // ping
      REQUIRE(alive->send(make_frame(0x8a, f->payload)));
    }
    // Still open: an echo comes back (pings may come first).
    REQUIRE(alive->send(make_frame(0x81, "still open")));
    std::optional<frame> echo;
    for (int i = 0; i < 100 && (!echo || echo->op == 0x9); ++i)
      echo = alive->read();
    REQUIRE(echo);
    CHECK(echo->op == 0x1);
    CHECK(echo->payload == "still open");
    // A silent peer (it reads, never answers): 1001 after idle_timeout.
    auto silent = fx.session("/ws/pinged");
    auto f = silent->read_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1001);
    CHECK(f->payload.substr(2) == "idle timeout");
  }

  TEST_CASE("the close handshake: the server echoes the code and closes; the "
            "session hears it; every slot comes back") {
    ws_fixture fx;
    auto before = fx.info_of(fx.l).requests_served;
    auto p = fx.session();
    auto during = fx.info_of(fx.l);
    CHECK(during.requests_served == before + 1); // the upgrade counts
    CHECK(during.in_flight == 1);                // and holds its slot
    CHECK(during.active_clients == 1);
    REQUIRE(p->send(make_frame(0x88, close_payload(1000, "done"))));
    auto f = p->read_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1000);
    CHECK(p->closed());
    CHECK(fx.j->await("closed 1000"));
    CHECK(fx.settled());
  }

  TEST_CASE("the handle closes with code and reason; the actor's end closes "
            "with 1000, its crash with 1011") {
    ws_fixture fx;
    struct row {
      std::string trigger;
      uint16_t code;
    };
    for (auto& r : std::vector<row>{
           {"close-me", 4000}, {"quit", 1000}, {"crash", 1011}}) {
      CAPTURE(r.trigger);
      auto p = fx.session();
      REQUIRE(p->send(make_frame(0x81, r.trigger)));
      auto f = p->read_close();
      REQUIRE(f);
      CHECK(f->close_code() == r.code);
      if (r.code == 4000)
        CHECK(f->payload.substr(2) == "bye");
      // The client answers; the server closes the TCP connection.
      REQUIRE(p->send(make_frame(0x88, close_payload(r.code))));
      CHECK(p->closed());
      CHECK(fx.settled());
    }
    // A factory that spawns nothing: 1011 at once.
    auto none = fx.session("/ws/none");
    auto f = none->read_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1011);
  }

  TEST_CASE("strict framing: each violation closes with its code, cleanly, "
            "and loses no slot (RFC 6455 5, 7.4, 8.1)") {
    ws_fixture fx;
    struct row {
      std::string name;
      std::string path;
      std::string bytes;
      uint16_t code;
    };
    std::string huge_len{"\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00"
                         "\x01\x02\x03\x04",
                         14};
    std::vector<row> rows{
      {"unmasked", "/ws/echo", make_frame(0x81, "hi", false), 1002},
      {"RSV1 set", "/ws/echo", make_frame(0xc1, "hi"), 1002},
      {"RSV3 set", "/ws/echo", make_frame(0x91, "hi"), 1002},
      {"opcode 3", "/ws/echo", make_frame(0x83, "hi"), 1002},
      {"opcode 11", "/ws/echo", make_frame(0x8b, "hi"), 1002},
      {"ping over 125", "/ws/echo", make_frame(0x89, std::string(126, 'p')),
       1002},
      {"fragmented ping", "/ws/echo", make_frame(0x09, "p"), 1002},
      {"data inside a fragmented message", "/ws/echo",
       make_frame(0x01, "a") + make_frame(0x81, "b"), 1002},
      {"continuation without a message", "/ws/echo", make_frame(0x80, "c"),
       1002},
      {"invalid UTF-8", "/ws/echo", make_frame(0x81, "\xc3\x28"), 1007},
      {"surrogate in UTF-8", "/ws/echo", make_frame(0x81, "\xed\xa0\x80"),
       1007},
      {"invalid UTF-8 across fragments", "/ws/echo",
       make_frame(0x01, "ok \xe2\x82") + make_frame(0x80, "\x28"), 1007},
      {"message ends inside a character", "/ws/echo",
       make_frame(0x01, "ok") + make_frame(0x80, "\xe2\x82"), 1007},
      {"close code 1005", "/ws/echo", make_frame(0x88, close_payload(1005)),
       1002},
      {"close code 999", "/ws/echo", make_frame(0x88, close_payload(999)),
       1002},
      {"close code 2000", "/ws/echo", make_frame(0x88, close_payload(2000)),
       1002},
      {"close code 5000", "/ws/echo", make_frame(0x88, close_payload(5000)),
       1002},
      {"one-byte close", "/ws/echo", make_frame(0x88, "x"), 1002},
      {"close reason not UTF-8", "/ws/echo",
       make_frame(0x88, close_payload(1000, "\xff")), 1007},
      {"frame over max_message_size", "/ws/small",
       make_frame(0x82, std::string(1001, 'x')), 1009},
      {"fragments over max_message_size", "/ws/small",
       make_frame(0x02, std::string(600, 'x')) +
         make_frame(0x80, std::string(600, 'x')),
       1009},
      {"64-bit length with the top bit set", "/ws/echo", huge_len, 1009},
    };
    for (auto& r : rows) {
      CAPTURE(r.name);
      auto heard = "closed " + std::to_string(r.code);
      auto before = fx.j->count(heard);
      auto p = fx.session(r.path);
      REQUIRE(p->send(r.bytes));
      auto f = p->read_close();
      REQUIRE(f);
      CHECK(f->close_code() == r.code);
      CHECK(p->closed());
      CHECK(fx.j->await(heard, before + 1)); // the session actor heard it
    }
    CHECK(fx.settled());
    auto st = fx.ask<listener_status>(fx.l, status_atom::value);
    CHECK(st == listener_status::accepting);
  }

  TEST_CASE("the session holds its admission slot while open") {
    auto opts = fixture::loopback();
    opts.max_concurrent_requests = 1;
    ws_fixture fx{opts};
    auto p = fx.session();
    client c{fx.port};
    REQUIRE(c.send("GET /plain HTTP/1.1\r\nhost: x\r\n\r\n"));
    auto busy = c.read_response();
    REQUIRE(busy);
    CHECK(busy->status == 503);
    REQUIRE(p->send(make_frame(0x88, close_payload(1000))));
    REQUIRE(p->read_close());
    CHECK(p->closed());
    CHECK(eventually([&] { return fx.info_of(fx.l).in_flight == 0; }));
    client again{fx.port};
    REQUIRE(again.send("GET /plain HTTP/1.1\r\nhost: x\r\n\r\n"));
    auto ok = again.read_response();
    REQUIRE(ok);
    CHECK(ok->status == 200);
  }

  TEST_CASE("backpressure: the session hears full, then ready once the peer "
            "reads; messages past the limit are dropped, order is kept") {
    ws_fixture fx;
    auto p = fx.session("/ws/buffered");
    // 200 x 64 KiB is far more than the socket buffers hold.
    REQUIRE(p->send(make_frame(0x81, "flood 200")));
    REQUIRE(fx.j->await("full"));
    // Read everything; once the session heard `ready`, ask for a marker
    // that is queued behind whatever is still buffered.
    int count = 0;
    int last = -1;
    bool ordered = true;
    bool asked = false;
    for (int i = 0; i < 400; ++i) {
      if (!asked && fx.j->has("ready")) {
        REQUIRE(p->send(make_frame(0x81, "end")));
        asked = true;
      }
      auto f = p->read();
      REQUIRE(f);
      if (f->payload == "end")
        break;
      auto id = std::stoi(f->payload.substr(0, f->payload.find(':')));
      ordered = ordered && id > last;
      last = id;
      ++count;
    }
    CHECK(asked);
    CHECK(ordered);
    CHECK(count > 0);
    CHECK(count < 200); // the rest was dropped while full
  }

  TEST_CASE("a peer that never reads is cut at the send deadline; the "
            "session hears 1006 and the slots come back") {
    auto opts = fixture::loopback();
    opts.request_timeout = std::chrono::milliseconds(300);
    ws_fixture fx{opts};
    auto p = fx.session("/ws/buffered");
    REQUIRE(p->send(make_frame(0x81, "flood 200")));
    CHECK(fx.j->await("closed 1006"));
    CHECK(fx.settled());
  }

  TEST_CASE("a session actor that falls behind (inbox_buffer) stops the "
            "reading: the peer's bytes wait in the socket; reading goes on "
            "once it caught up, nothing lost") {
    ws_fixture fx;
    auto p = fx.session("/ws/slow");
    int fd = p->raw().fd();
    int small = 32 * 1024; // the client's kernel buffer stays small
    REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    auto msg = make_frame(0x82, std::string(16384, 'x'));
    // Send while the kernel takes it: until 32 MiB went, or 500 ms pass
    // without room (the server no longer reads).
    size_t sent = 0;
    constexpr size_t limit = 32 * 1024 * 1024;
    while (sent < limit) {
      auto at = sent % msg.size();
      auto n = ::send(fd, msg.data() + at, msg.size() - at,
                      MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        continue;
      }
      REQUIRE((errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
      pollfd pfd{fd, POLLOUT, 0};
      if (::poll(&pfd, 1, 500) == 0)
        break;
    }
    INFO("sent before the stop: " << sent);
    CHECK(fx.j->has("slow waits"));
    // The inbox (64 KiB), one read, and what the kernel buffers hold on
    // loopback. Without the limit the server reads all 32 MiB into the
    // session's mailbox.
    CHECK(sent < 8 * 1024 * 1024);
    // Caught up: every message comes back, in order, then one more.
    fx.release();
    auto rest = msg.size() - sent % msg.size();
    if (rest != msg.size()) {
      REQUIRE(p->send(std::string_view{msg}.substr(msg.size() - rest)));
      sent += rest;
    }
    auto count = sent / msg.size();
    size_t same = 0;
    for (size_t i = 0; i < count; ++i) {
      auto f = p->read();
      REQUIRE(f);
      same += f->payload == std::string(16384, 'x') ? 1 : 0;
    }
    CHECK(same == count);
    CHECK(echo_of(*p, 0x1, "end") == "end");
  }

  TEST_CASE("info counts open sessions; a route reload leaves them alone") {
    ws_fixture fx;
    auto a = fx.session();
    auto b = fx.session();
    CHECK(fx.info_of(fx.l).websocket_sessions == 2);
    route_list only_plain{{.path = "/plain", .handler = [](request&) {
                             return response::text(200, "new\n");
                           }}};
    fx.self->request(fx.l, 5s, reload_routes_atom::value, only_plain)
      .receive([](caf::ok_atom) {},
               [&](caf::error& e) { FAIL(fx.sys.render(e)); });
    CHECK(echo_of(*a, 0x1, "still here") == "still here");
    ws_peer c{fx.port};
    auto res = c.open("/ws/echo");
    REQUIRE(res);
    CHECK(res->status == 404); // new sessions see the new table
    REQUIRE(b->send(make_frame(0x88, close_payload(1000))));
    REQUIRE(b->read_close());
    CHECK(b->closed());
    CHECK(eventually([&] { return fx.info_of(fx.l).websocket_sessions == 1; }));
  }

  TEST_CASE("drain sends 1001 and waits for the close handshake") {
    ws_fixture fx;
    auto p = fx.session();
    fx.self->send(fx.l, drain_atom::value, caf::timespan{10s});
    auto f = p->read_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1001);
    REQUIRE(p->send(make_frame(0x88, close_payload(1001))));
    CHECK(p->closed());
    CHECK(fx.drained());
  }

  TEST_CASE("drain: a peer that does not answer is closed at the deadline") {
    ws_fixture fx;
    auto p = fx.session();
    fx.self->send(fx.l, drain_atom::value,
                  caf::timespan{std::chrono::milliseconds(300)});
    auto f = p->read_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1001);
    CHECK(p->closed());
    CHECK(fx.j->await("closed 1001"));
    fx.self->receive([&](drain_result&) {}, caf::after(10s) >> [] {});
    fx.started.clear();
  }
}

// -- RFC 8441: WebSocket over HTTP/2 ------------------------------------------
// The client is tests/e2e/ws_h2_client.py (python3-h2 for HTTP/2, frames by
// hand): h2c with prior knowledge against the same routes.

namespace {

listener_options h2c(bool connect_protocol = true) {
  auto opts = fixture::loopback();
  protocol_entry e{protocol::http2};
  e.http2.enable_connect_protocol = connect_protocol;
  opts.protocols = {e};
  return opts;
}

/// Runs a ws_h2_client.py case; its output.
std::string h2_case(uint16_t port, std::vector<std::string> args) {
  std::vector<std::string> argv{"/usr/bin/python3", ROADRUNNER_WS_H2_CLIENT,
                                std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = run(argv, 30s);
  auto out = result.second; // not a structured binding: clang-14 and INFO
  INFO(out);
  CHECK(result.first == 0);
  return out;
}

/// ws_h2_client.py held's `resumed SAME/ALL end`: every message sent while
/// the stream was held came back whole, then "end" went through on new
/// credit.
bool all_resumed(const std::string& out) {
  auto at = out.find("resumed ");
  if (at == std::string::npos)
    return false;
  auto line = out.substr(at + 8, out.find('\n', at) - at - 8);
  auto slash = line.find('/');
  auto space = line.find(' ');
  return slash != std::string::npos && space != std::string::npos &&
         line.substr(0, slash) == line.substr(slash + 1, space - slash - 1) &&
         line.substr(space) == " end";
}

} // namespace

TEST_SUITE("actors.websocket") {

  TEST_CASE("RFC 8441: the server advertises SETTINGS_ENABLE_CONNECT_PROTOCOL "
            "unless told not to") {
    {
      ws_fixture fx{h2c()};
      CHECK(h2_case(fx.port, {"settings"}) == "enable_connect_protocol 1\n");
    }
    {
      ws_fixture fx{h2c(false)};
      CHECK(h2_case(fx.port, {"settings"}) == "enable_connect_protocol 0\n");
    }
  }

  TEST_CASE("RFC 8441: echo over an extended CONNECT: 200, messages both "
            "ways, flow control past the windows, the other streams go on, "
            "the close handshake ends the stream") {
    ws_fixture fx{h2c()};
    auto out = h2_case(fx.port, {"echo", "--path=/ws/plainframes"});
    CHECK(out == "status 200\n"
                 "content_length none\n"
                 "text 1 hello\n"
                 "binary 2 0001ff\n"
                 "fragments fragmented\n"
                 "big 2 307200 same\n"
                 "other_stream 404\n"
                 "pong 10 pp\n"
                 "close 8 1000\n"
                 "ended 1 clean\n"
                 "ping ok\n");
    CHECK(fx.j->await("closed 1000"));
    CHECK(fx.settled());
    CHECK(fx.info_of(fx.l).websocket_sessions == 0);
  }

  TEST_CASE("RFC 8441: permessage-deflate is negotiated in the 200") {
    ws_fixture fx{h2c()};
    CHECK(h2_case(fx.port, {"deflate"}) ==
          "extension permessage-deflate\necho 1 1 same\nended 1\n");
    CHECK(fx.settled());
  }

  TEST_CASE("RFC 8441: a protocol violation closes with 1002 and ends the "
            "stream; END_STREAM without a close frame is 1006") {
    ws_fixture fx{h2c()};
    CHECK(h2_case(fx.port, {"fail"}) == "close 8 1002\nended 1\nping ok\n");
    CHECK(fx.j->await("closed 1002"));
    auto out = h2_case(fx.port, {"eof"});
    CHECK(out == "text bye\nended 1 clean\nping ok\n");
    CHECK(fx.j->await("closed 1006"));
    CHECK(fx.settled());
  }

  TEST_CASE("RFC 8441: refusals: the right status or stream error, and the "
            "connection goes on") {
    struct row {
      std::string kind;
      std::string answer;
      bool advertised = true;
    };
    std::vector<row> rows{
      // 3: :protocol without the setting is an unknown pseudo-header:
      // malformed (RFC 9113 8.1.1).
      {"no_setting", "reset PROTOCOL_ERROR", false},
      // 4: the request must carry :scheme and :path (and :authority).
      {"no_scheme", "reset PROTOCOL_ERROR"},
      {"no_path", "reset PROTOCOL_ERROR"},
      {"no_authority", "reset PROTOCOL_ERROR"},
      // :protocol belongs to CONNECT only.
      {"protocol_on_get", "reset PROTOCOL_ERROR"},
      // A protocol this server does not tunnel; a plain CONNECT.
      {"bad_protocol", "status 501"},
      {"plain_connect", "status 501"},
      // A route that is not a WebSocket route must not answer 2xx.
      {"not_ws_route", "status 501"},
      // The WebSocket handshake's own checks (RFC 8441 5, RFC 6455 4).
      {"plain_get", "status 400"},
      {"no_version", "status 400"},
    };
    for (auto& r : rows) {
      CAPTURE(r.kind);
      ws_fixture fx{h2c(r.advertised)};
      auto path =
        r.kind == "not_ws_route" ? "--path=/plain" : "--path=/ws/echo";
      CHECK(h2_case(fx.port, {"refuse", r.kind, path}) ==
            r.answer + "\nping ok\n");
      CHECK(fx.settled());
    }
  }

  TEST_CASE("RFC 8441: drain sends 1001 on every session") {
    ws_fixture fx{h2c()};
    process client{{"/usr/bin/python3", ROADRUNNER_WS_H2_CLIENT,
                    std::to_string(fx.port), "hold"}};
    auto line = client.read_line(10s);
    REQUIRE(line);
    CHECK(*line == "open");
    fx.self->send(fx.l, drain_atom::value, caf::timespan{10s});
    auto close = client.read_line(10s);
    REQUIRE(close);
    CHECK(*close == "close 1001");
    CHECK(client.wait_exit(10s) == 0);
    CHECK(fx.drained());
  }

  TEST_CASE("RFC 8441 backpressure: while a session's output is blocked its "
            "stream earns the peer no credit, the other streams go on, and "
            "the credit comes back once the output drains") {
    ws_fixture fx{h2c()};
    auto out = h2_case(fx.port, {"held", "--path=/ws/plainframes"});
    auto at = out.find("credit_kib ");
    REQUIRE(at != std::string::npos);
    auto credit = std::stoul(out.substr(at + 11));
    // The client's window is 0, so the echoes stay on the server: the
    // stream queue takes max_stream_buffer (64 KiB), then the tunnel's
    // output is blocked and the window (65535) is not refilled: at most
    // the window it had then, and one refill queued with it, arrive.
    // Without the hold the client sends all 8 MiB it tries (the echoes
    // past send_buffer are dropped).
    CHECK(credit >= 64);
    CHECK(credit <= 64 + 2 * 64 + 16);
    CHECK(out.find("other_session 204800 same\n") != std::string::npos);
    CHECK(all_resumed(out));
    CHECK(out.find("ended 1 1\n") != std::string::npos);
    CHECK(fx.settled());
  }

  TEST_CASE("RFC 8441 backpressure: a session actor that falls behind "
            "(inbox_buffer) holds its stream's credit until it caught up") {
    ws_fixture fx{h2c()};
    process client{{"/usr/bin/python3", ROADRUNNER_WS_H2_CLIENT,
                    std::to_string(fx.port), "held", "--path=/ws/slow"}};
    auto line = client.read_line(10s);
    REQUIRE(line);
    INFO(*line);
    REQUIRE(line->rfind("credit_kib ", 0) == 0);
    auto credit = std::stoul(line->substr(11));
    // The session actor waits at its first message: the inbox (64 KiB)
    // fills, with at most one more read (a window); then the stream earns
    // no credit and at most the window refilled before the hold arrives
    // (the client tries 8 MiB).
    CHECK(fx.j->has("slow waits"));
    CHECK(credit <= 64 + 3 * 64 + 16);
    fx.release();
    auto out = client.read_all(20s);
    INFO(out);
    CHECK(out.find("other_session 204800 same\n") != std::string::npos);
    CHECK(all_resumed(out));
    CHECK(out.find("ended 1 1\n") != std::string::npos);
    CHECK(client.wait_exit(10s) == 0);
    CHECK(fx.settled());
  }

  TEST_CASE("RFC 8441: a peer that never opens its window hears nothing, "
            "the session hears full, and the connection is cut at the send "
            "deadline (1006)") {
    auto opts = h2c();
    opts.request_timeout = std::chrono::milliseconds(300);
    ws_fixture fx{opts};
    auto out = h2_case(fx.port, {"noread", "--path=/ws/buffered"});
    CHECK(out == "cut 1\n");
    CHECK(fx.j->await("full"));
    CHECK(fx.j->await("closed 1006"));
    CHECK(fx.settled());
  }
}

// -- idle memory (issue 15 item 9)
// ---------------------------------------------

namespace {

// Reads exactly `n` bytes into `out` (a buffer the caller owns, so the
// client side allocates nothing the heap figures would count).
bool read_exact(int fd, char* out, size_t n) {
  auto deadline = clock_type::now() + 5s;
  while (n > 0) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) < 0 || clock_type::now() > deadline)
      return false;
    if ((p.revents & POLLIN) == 0)
      continue;
    auto got = ::recv(fd, out, n, 0);
    if (got <= 0)
      return false;
    out += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

// Opens a session on `c`, echoes a 64 KiB message (a read buffer and
// output of that size on the server) and a fragmented one (reassembly),
// reading the answers into `buf`.
bool exercise(client& c, std::vector<char>& buf, const std::string& big,
              const std::string& fragments) {
  if (!c.send(upgrade_request("/ws/plainframes")))
    return false;
  size_t have = 0;
  while (have < 4 || std::string_view{buf.data() + have - 4, 4} != "\r\n\r\n") {
    if (have == buf.size() || !read_exact(c.fd(), buf.data() + have, 1))
      return false;
    ++have;
  }
  if (!c.send(big) || !read_exact(c.fd(), buf.data(), 10 + 65536))
    return false;
  return c.send(fragments) && read_exact(c.fd(), buf.data(), 2 + 8) &&
         std::string_view{buf.data() + 2, 8} == "fragment";
}

// AddressSanitizer has its own heap (red zones, quarantine): mallinfo2
// does not describe it.
#ifdef __SANITIZE_ADDRESS__
constexpr bool own_heap = true;
#else
constexpr bool own_heap = false;
#endif

size_t heap_in_use() {
  return mallinfo2().uordblks; // every arena's chunks in use
}

} // namespace

TEST_SUITE("actors.websocket") {

  TEST_CASE("an idle session's state stays small (issue 15: idle memory "
            "under 4 KiB without compression)") {
    // What a session keeps while idle, besides the two CAF actors (the
    // connection and the session) and their bookkeeping: docs/websocket.md
    // "Memory". A regression that grows the idle state fails here first.
    CHECK(sizeof(detail::ws_driver) <= 336);
    CHECK(sizeof(detail::ws_session) <= 320);
    CHECK(sizeof(detail::ws_tunnel) <= 480);
  }

  TEST_CASE("an idle session costs under 4 KiB of heap, its buffers "
            "released after a 64 KiB message and a fragmented one" *
            doctest::skip(own_heap)) {
    auto opts = fixture::loopback();
    opts.max_clients = 1000;
    ws_fixture fx{opts};
    auto big = make_frame(0x82, std::string(65536, 'b'));
    auto fragments = make_frame(0x01, "frag") + make_frame(0x80, "ment");
    std::vector<char> buf(70000);
    constexpr size_t warm = 20;
    constexpr size_t idle = 200;
    std::vector<client> clients;
    clients.reserve(warm + idle);
    auto open = [&](size_t n) {
      for (size_t i = 0; i < n; ++i) {
        clients.emplace_back(fx.port);
        REQUIRE(exercise(clients.back(), buf, big, fragments));
      }
      auto want = clients.size();
      REQUIRE(eventually(
        [&] { return fx.info_of(fx.l).websocket_sessions == want; }));
    };
    // The first sessions pay for what is made once (pools, thread caches).
    open(warm);
    auto before = heap_in_use();
    open(idle);
    auto after = heap_in_use();
    auto per_session = (after - std::min(after, before)) / idle;
    INFO("heap per idle session: " << per_session << " bytes");
    // Measured 3 910 (the demo's echo, idle from the start: 3 560): the
    // connection actor 1 800, the session actor 1 080 and its behaviour,
    // ws_driver 336, the kept request's texts, the inbox counter (made by
    // the first message), monitors (docs/websocket.md "Memory").
    // Before the idle state was trimmed, ws_driver alone was 448 bytes
    // larger. A buffer kept per session (64 KiB here) would be far over.
    CHECK(per_session < 4096);
    CHECK(per_session > 2048); // the sessions were open when measured
  }
}

// -- typed sessions and streaming mode (issue 15 item 2) ----------------------

TEST_SUITE("actors.websocket") {

  TEST_CASE("a typed session (ws_session_actor) echoes; typed chat members "
            "hear each other through ws_group_relay") {
    ws_fixture fx;
    auto p = fx.session("/ws/typed");
    CHECK(echo_of(*p, 0x1, "typed hello") == "typed hello");
    CHECK(echo_of(*p, 0x2, std::string("\0\1", 2)) == std::string("\0\1", 2));
    auto a = fx.session("/ws/typedchat");
    REQUIRE(a->send(make_frame(0x81, "a here")));
    auto heard = a->read();
    REQUIRE(heard);
    CHECK(heard->payload == "a here"); // a is in the room
    auto b = fx.session("/ws/typedchat");
    REQUIRE(b->send(make_frame(0x81, "b here")));
    auto b_hears = b->read();
    REQUIRE(b_hears);
    CHECK(b_hears->payload == "b here");
    auto a_hears = a->read();
    REQUIRE(a_hears);
    CHECK(a_hears->payload == "b here");
    REQUIRE(a->send(make_frame(0x88, close_payload(1000))));
    REQUIRE(a->read_close());
    CHECK(fx.j->await("typed closed 1000"));
    // a's relay left the room with it: b alone hears b.
    REQUIRE(b->send(make_frame(0x81, "b alone")));
    auto alone = b->read();
    REQUIRE(alone);
    CHECK(alone->payload == "b alone");
    REQUIRE(b->send(make_frame(0x88, close_payload(1000))));
    REQUIRE(b->read_close());
    CHECK(fx.j->await("typed closed 1000", 2));
    REQUIRE(p->send(make_frame(0x88, close_payload(1000))));
    REQUIRE(p->read_close());
    CHECK(fx.settled());
  }

  TEST_CASE("streaming mode: a message over max_message_size arrives in "
            "pieces as its bytes arrive; small ones stay whole") {
    ws_fixture fx;
    auto p = fx.session("/ws/stream");
    CHECK(echo_of(*p, 0x1, std::string(900, 'a')) == "whole 900");
    // One 5000-byte frame (max_frame_size is 1000): its first bytes reach
    // the session before the rest is even sent.
    std::string big(5000, 'b');
    for (size_t i = 0; i < big.size(); ++i)
      big[i] = static_cast<char>(i * 31);
    auto bytes = make_frame(0x82, big);
    REQUIRE(p->send(bytes.substr(0, 2008)));
    CHECK(fx.j->await("piece first"));
    CHECK_FALSE(fx.j->has("piece last"));
    REQUIRE(p->send(bytes.substr(2008)));
    auto done = p->read();
    REQUIRE(done);
    CHECK(done->payload == "streamed 5000 binary");
    CHECK(fx.j->has("piece last"));
    // Fragments that together outgrow max_message_size, text split inside
    // a UTF-8 character: pieces again, valid as a whole.
    std::string euro = "\xe2\x82\xac"; // U+20AC, 3 bytes
    std::string text;
    for (int i = 0; i < 500; ++i)
      text += euro;
    auto cut = size_t{700}; // inside a character
    REQUIRE(p->send(make_frame(0x01, text.substr(0, cut)) +
                    make_frame(0x00, text.substr(cut, 700)) +
                    make_frame(0x80, text.substr(cut + 700))));
    auto done2 = p->read();
    REQUIRE(done2);
    CHECK(done2->payload == "streamed 1500 text");
    CHECK(echo_of(*p, 0x1, "small again") == "whole 11");
    REQUIRE(p->send(make_frame(0x88, close_payload(1000))));
    REQUIRE(p->read_close());
    CHECK(fx.settled());
  }

  TEST_CASE("streaming mode: over max_streamed_size is 1009, invalid UTF-8 "
            "in a streamed text is 1007") {
    ws_fixture fx;
    {
      auto p = fx.session("/ws/stream");
      REQUIRE(p->send(make_frame(0x82, std::string(100001, 'x'))));
      auto f = p->read_close();
      REQUIRE(f);
      CHECK(f->close_code() == 1009);
    }
    {
      auto p = fx.session("/ws/stream");
      std::string bad(3000, 'a');
      bad[2500] = '\xff';
      REQUIRE(p->send(make_frame(0x81, bad)));
      auto f = p->read_close();
      REQUIRE(f);
      CHECK(f->close_code() == 1007);
    }
    CHECK(fx.settled());
  }
}
