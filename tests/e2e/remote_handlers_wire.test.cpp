// Handler actors on another CAF node (issue 17): what crosses the wire
// besides a reply message. File responses, a request body read piece by
// piece in manual mode, a drain of the front listener and a client that
// leaves, each with a request in flight on the node.
//
// Two actor systems in this process, each with its own middleman, talk
// over loopback TCP as two machines would (every message serialized): a
// handler node publishing test actors, and a front end with a real
// listener. Clients are curl and raw sockets. The node's actors count what
// they saw in atomics the test reads.

#include "h2test.hpp"
#include <roadrunner/handler_actor.hpp>
#include <roadrunner/listener.hpp>
#include <roadrunner/module.hpp>
#include <roadrunner/testing.hpp>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace rrtest;
using roadrunner::http_request;
using roadrunner::response;

namespace {

using hold_drain_atom = caf::atom_constant<caf::atom("hold_drn")>;
using hold_cancel_atom = caf::atom_constant<caf::atom("hold_cncl")>;

// What the node's actors saw.
struct node_counters {
  std::atomic<int> drains{0};
  std::atomic<int> cancels{0};
};

// FNV-1a 64: the upload's checksum, on both sides.
uint64_t fnv1a(std::string_view data, uint64_t h = 0xcbf29ce484222325ull) {
  for (char c : data) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

// `n` deterministic bytes that are not all alike.
std::string pattern(size_t n, uint32_t seed) {
  std::string out(n, '\0');
  uint32_t x = seed;
  for (auto& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

// -- the handler node's actors ------------------------------------------------

// GET /file?name=N[&via=responder][&range=1]: the file N of the node's
// directory, as the reply message or through the responder; with range, a
// 206 of bytes 100..1099 with its content-range.
caf::behavior file_actor(caf::event_based_actor*, std::string dir) {
  return {
    [dir](http_request& req) -> caf::result<response> {
      auto name = req->query_param("name").value_or("");
      auto path = dir + "/" + name;
      response r;
      if (req->query_param("range")) {
        auto size = std::filesystem::file_size(path);
        r = response::file(206, path, "application/octet-stream", 100, 1000);
        r.header("content-range", "bytes 100-1099/" + std::to_string(size));
      } else {
        r = response::file(200, path, "application/octet-stream");
        r.header("x-node", "yes");
      }
      if (req->query_param("via").value_or("") == "responder") {
        req.reply.send(std::move(r));
        return response::deferred();
      }
      return r;
    },
  };
}

// The upload's running totals.
struct upload_sum {
  uint64_t bytes = 0;
  uint64_t pieces = 0;
  uint64_t largest = 0;
  uint64_t hash = 0xcbf29ce484222325ull;
};

// Pulls the body piece by piece (manual mode, at most 16 KiB each) and
// answers with what arrived.
void read_upload(roadrunner::responder reply, std::shared_ptr<upload_sum> s) {
  reply.read_body(16384, [reply, s](std::string_view piece, bool last) {
    s->bytes += piece.size();
    s->pieces += piece.empty() ? 0 : 1;
    s->largest = std::max<uint64_t>(s->largest, piece.size());
    s->hash = fnv1a(piece, s->hash);
    if (!last) {
      read_upload(reply, s);
      return;
    }
    reply.send(response::text(200, "bytes=" + std::to_string(s->bytes) +
                                     " pieces=" + std::to_string(s->pieces) +
                                     " largest=" + std::to_string(s->largest) +
                                     " fnv=" + std::to_string(s->hash)));
  });
}

// POST /upload: the body in manual mode.
caf::behavior upload_actor(caf::event_based_actor*, int) {
  return {
    [](http_request& req) -> response {
      read_upload(req.reply, std::make_shared<upload_sum>());
      return response::deferred();
    },
  };
}

struct hold_state {
  std::map<int64_t, roadrunner::stream_writer> open;
  int64_t ids = 0;
  std::shared_ptr<node_counters> seen;
  static inline const char* name = "test.hold";
};

// GET /hold: starts a stream ("started\n") and keeps it open. A drain
// notice writes "drain\n" and finishes it; a cancel (the client left) is
// counted. GET /hold?probe=1 answers at once (the link is up).
caf::behavior hold_actor(caf::stateful_actor<hold_state>* self,
                         std::shared_ptr<node_counters> seen) {
  self->state.seen = std::move(seen);
  return {
    [self](http_request& req) -> response {
      if (req->query_param("probe"))
        return response::text(200, "up\n");
      response head{200};
      head.header("content-type", "text/plain");
      auto out = req.reply.stream(std::move(head));
      if (!out)
        return response::deferred();
      auto id = ++self->state.ids;
      auto me = caf::actor_cast<caf::actor>(self);
      // Messages, not captures of the writer (a writer held by its own
      // callbacks would never end).
      req.reply.on_drain([me, id](int64_t deadline) {
        caf::anon_send(me, hold_drain_atom::value, id, deadline);
      });
      req.reply.on_cancel(
        [me, id] { caf::anon_send(me, hold_cancel_atom::value, id); });
      out.write("started\n");
      self->state.open.emplace(id, out);
      return response::deferred();
    },
    [self](hold_drain_atom, int64_t id, int64_t) {
      ++self->state.seen->drains;
      auto it = self->state.open.find(id);
      if (it == self->state.open.end())
        return;
      it->second.write("drain\n");
      it->second.finish();
      self->state.open.erase(it);
    },
    [self](hold_cancel_atom, int64_t id) {
      ++self->state.seen->cancels;
      self->state.open.erase(id);
    },
  };
}

// -- the two nodes ------------------------------------------------------------

struct node_config : caf::actor_system_config {
  node_config() {
    load<caf::io::middleman>();
    roadrunner::add_remote_types(*this);
  }
};

struct front_config : roadrunner::system_config {
  front_config() {
    load<caf::io::middleman>();
    roadrunner::add_remote_types(*this);
  }
};

constexpr size_t small_size = 100 * 1024;        // one buffered body
constexpr size_t big_size = 3 * 1024 * 1024 + 7; // streamed, many budgets

struct two_nodes {
  std::string dir;
  std::shared_ptr<node_counters> seen = std::make_shared<node_counters>();
  node_config node_cfg;
  caf::actor_system node{node_cfg};
  std::vector<caf::actor> actors;
  uint16_t node_port = 0;
  front_config front_cfg;
  caf::actor_system front{front_cfg};

  two_nodes() {
    char tmpl[] = "/tmp/rr-remote-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
    std::ofstream{dir + "/small", std::ios::binary} << pattern(small_size, 1);
    std::ofstream{dir + "/big", std::ios::binary} << pattern(big_size, 2);
    actors = {node.spawn(file_actor, dir), node.spawn(upload_actor, 0),
              node.spawn(hold_actor, seen)};
    auto port = roadrunner::publish_handlers(
      node, {{"file", actors[0]}, {"upload", actors[1]}, {"hold", actors[2]}},
      0, "127.0.0.1");
    if (!port)
      throw std::runtime_error("publish_handlers: " +
                               node.render(port.error()));
    node_port = *port;
  }

  ~two_nodes() {
    for (auto& a : actors)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    std::filesystem::remove_all(dir);
  }

  // A listener on the front with /file, /upload and /hold served by the
  // node; manual body mode (GET requests have no body to read).
  roadrunner::listener_options options() {
    roadrunner::listener_options opts;
    opts.body_buffering = roadrunner::body_buffering::manual;
    roadrunner::route_list routes;
    for (auto name : {"file", "upload", "hold"}) {
      roadrunner::route r;
      r.path = std::string{"/"} + name;
      r.handler =
        roadrunner::remote_handler(front, "127.0.0.1", node_port, name);
      routes.push_back(std::move(r));
    }
    opts.routes = std::move(routes);
    return opts;
  }
};

// Waits until every route reached the node (linked in the background).
void wait_linked(roadrunner::testing::test_listener& srv) {
  for (auto path : {"/file?name=small", "/upload", "/hold?probe=1"})
    REQUIRE(eventually(
      [&] {
        auto r = srv.get(path);
        return r && r->status == 200;
      },
      10s));
}

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

// Reads from `c` until `needle` arrived (or the deadline).
bool read_until(client& c, std::string_view needle,
                std::chrono::milliseconds timeout = 5s) {
  auto deadline = clock_type::now() + timeout;
  while (c.leftover().find(needle) == std::string::npos)
    if (c.fill(deadline) <= 0)
      return false;
  return true;
}

// A client with GET /hold open: the node's stream has started.
client open_hold(uint16_t port) {
  client c{port};
  c.send("GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
  if (!read_until(c, "started\n"))
    throw std::runtime_error("GET /hold: no start of the stream");
  return c;
}

} // namespace

TEST_SUITE("e2e.remote_handlers_wire") {

  TEST_CASE("a file response from a node arrives whole, fields kept") {
    two_nodes n;
    roadrunner::testing::test_listener srv{n.front, n.options()};
    wait_linked(srv);
    auto small = slurp(n.dir + "/small");
    auto big = slurp(n.dir + "/big");
    for (std::string via : {"reply", "responder"}) {
      CAPTURE(via);
      // Small: one buffered body, so content-length as for a local file.
      auto r = srv.get("/file?name=small&via=" + via);
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(r->header("content-length") == std::to_string(small_size));
      CHECK(r->header("content-type") == "application/octet-stream");
      CHECK(r->header("x-node") == "yes");
      CHECK(r->body == small);
      // Big: streamed across the wire under the stream budget.
      auto b = srv.request("GET", "/file?name=big&via=" + via, {}, {}, 20s);
      REQUIRE(b);
      CHECK(b->status == 200);
      CHECK(b->header("content-type") == "application/octet-stream");
      CHECK(b->header("x-node") == "yes");
      CHECK(b->body.size() == big_size);
      CHECK(b->body == big);
      // A range: status and content-range cross.
      auto p = srv.get("/file?name=big&range=1&via=" + via);
      REQUIRE(p);
      CHECK(p->status == 206);
      CHECK(p->header("content-range") ==
            "bytes 100-1099/" + std::to_string(big_size));
      CHECK(p->body == big.substr(100, 1000));
    }
    // HEAD announces the small file's length without a body.
    auto h = srv.request("HEAD", "/file?name=small");
    REQUIRE(h);
    CHECK(h->status == 200);
    CHECK(h->header("content-length") == std::to_string(small_size));
    CHECK(h->body.empty());
    // A missing file is the node's 404, not a 500.
    auto m = srv.get("/file?name=missing");
    REQUIRE(m);
    CHECK(m->status == 404);
    // curl over a slow client: the big file's bytes wait for the client
    // (two budgets at most in flight), none lost.
    auto [code, out] =
      curl({"--limit-rate", "8M", "-o", "-",
            http_url(srv.port(), "/file?name=big&via=responder")});
    CHECK(code == 0);
    CHECK(out == big);
  }

  TEST_CASE("a node reads a large request body piece by piece (manual)") {
    two_nodes n;
    roadrunner::testing::test_listener srv{n.front, n.options()};
    wait_linked(srv);
    auto body = pattern(3 * 1024 * 1024 + 11, 3);
    auto path = n.dir + "/upload.bin";
    std::ofstream{path, std::ios::binary} << body;
    // curl sends `expect: 100-continue` for a body this size: the node's
    // first read makes the front answer it.
    auto [code, out] = curl({"--data-binary", "@" + path, "-H",
                             "content-type: application/octet-stream",
                             http_url(srv.port(), "/upload")});
    REQUIRE(code == 0);
    CHECK(out.find("bytes=" + std::to_string(body.size()) + " ") !=
          std::string::npos);
    CHECK(out.find(" fnv=" + std::to_string(fnv1a(body))) != std::string::npos);
    // Pieces of at most the 16 KiB asked for, so many round trips.
    CHECK(out.find(" largest=16384 ") != std::string::npos);
    auto at = out.find("pieces=");
    REQUIRE(at != std::string::npos);
    CHECK(std::stoul(out.substr(at + 7)) >= body.size() / 16384);
    // A chunked upload too (no content-length on the wire).
    auto [code2, out2] =
      curl({"--data-binary", "@" + path, "-H", "transfer-encoding: chunked",
            http_url(srv.port(), "/upload")});
    REQUIRE(code2 == 0);
    CHECK(out2.find(" fnv=" + std::to_string(fnv1a(body))) !=
          std::string::npos);
  }

  TEST_CASE("over HTTP/2 (h2c): a big file and a manual-mode upload") {
    two_nodes n;
    auto opts = n.options();
    opts.protocols = {roadrunner::protocol::http2};
    roadrunner::testing::test_listener srv{n.front, std::move(opts)};
    auto h2 = [&](std::vector<std::string> args) {
      args.insert(args.begin(), "--http2-prior-knowledge");
      return curl(std::move(args));
    };
    // Each route links to the node in the background.
    auto ready = [&](const std::string& path) {
      return eventually(
        [&] {
          return h2({"-o", "/dev/null", "-w", "%{http_code}",
                     http_url(srv.port(), path)})
                   .second == "200";
        },
        10s);
    };
    REQUIRE(ready("/file?name=small"));
    auto big = slurp(n.dir + "/big");
    auto got = h2({"-o", "-", http_url(srv.port(), "/file?name=big")});
    CHECK(got.first == 0);
    CHECK(got.second.size() == big_size);
    CHECK(got.second == big);
    REQUIRE(ready("/upload"));
    auto body = pattern(1024 * 1024 + 3, 4);
    auto path = n.dir + "/upload-h2.bin";
    std::ofstream{path, std::ios::binary} << body;
    auto up =
      h2({"--data-binary", "@" + path, http_url(srv.port(), "/upload")});
    CHECK(up.first == 0);
    CHECK(up.second.find("bytes=" + std::to_string(body.size()) + " ") !=
          std::string::npos);
    CHECK(up.second.find(" fnv=" + std::to_string(fnv1a(body))) !=
          std::string::npos);
  }

  TEST_CASE("a client leaving cancels the node's stream; the node hears it") {
    two_nodes n;
    roadrunner::testing::test_listener srv{n.front, n.options()};
    wait_linked(srv);
    {
      auto c = open_hold(srv.port());
      CHECK(n.seen->cancels == 0);
    } // the client closes its socket
    CHECK(eventually([&] { return n.seen->cancels == 1; }, 5s));
    CHECK(n.seen->drains == 0);
    // The front holds nothing for it any more.
    CHECK(eventually(
      [&] {
        auto info = roadrunner::info_of(n.front, srv.actor());
        return info && info->in_flight == 0;
      },
      5s));
  }

  TEST_CASE("a drain of the front reaches a remote stream, which ends it") {
    two_nodes n;
    roadrunner::testing::test_listener srv{n.front, n.options()};
    wait_linked(srv);
    auto c = open_hold(srv.port());
    std::optional<roadrunner::drain_result> result;
    std::thread drainer{[&] {
      if (auto r = roadrunner::drain(n.front, srv.actor(), 10s))
        result = *r;
    }};
    // The node writes "drain" and finishes: the last chunk, then the close.
    bool ended = read_until(c, "drain\n") && read_until(c, "0\r\n\r\n");
    drainer.join();
    CHECK(ended);
    CHECK(c.closed_by_peer(5s));
    CHECK(n.seen->drains == 1);
    CHECK(n.seen->cancels == 0);
    REQUIRE(result);
    CHECK(result->drained); // ended by the handler, not by the deadline
  }
}
