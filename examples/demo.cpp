// roadrunner-demo: the demo server. Every listener option is a flag named
// after it with dashes (durations in milliseconds or with a unit), plus the
// demo's own (--port, --bind, --reactors, ...); flags can also come from an
// INI file (--config-file=FILE). See demo_config.cpp and --help.
//
// Prints exactly one line `roadrunner-demo listening on http://ADDR:PORT`
// (`https://` with --tls-cert/--tls-key) once it accepts connections, and
// runs until SIGINT or SIGTERM (a drain) or SIGQUIT (at once). SIGHUP
// reloads the TLS certificate and key, SIGUSR1 reopens the log files.
// Under systemd it reports READY=1 / STOPPING=1 (sd_notify) and accepts on
// a socket passed with LISTEN_FDS instead of binding (examples/systemd/).
#include "demo_config.hpp"
#include <roadrunner/access_log.hpp>
#include <roadrunner/compress.hpp>
#include <roadrunner/cors.hpp>
#include <roadrunner/error_log.hpp>
#include <roadrunner/health.hpp>
#include <roadrunner/metrics.hpp>
#include <roadrunner/proxy_protocol.hpp>
#include <roadrunner/roadrunner.hpp>
#include <roadrunner/static_files.hpp>
#include <roadrunner/websocket.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/group.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <nlohmann/json.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <pthread.h>
#include <sstream>
#include <string>
#include <systemd/sd-daemon.h>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

using namespace std::chrono_literals;
using roadrunner::request;
using roadrunner::response;

// The actor system's config: roadrunner's module and CAF's own options,
// which the demo's flags may name (`--scheduler.policy=sharing`).
struct caf_config : roadrunner::system_config {
  demo::caf_names names() const {
    demo::caf_names out;
    out.known = [this](std::string_view name) {
      caf::string_view x{name.data(), name.size()};
      return custom_options_.qualified_name_lookup(x) != nullptr;
    };
    for (auto& x : custom_options_) {
      auto full = x.full_name();
      out.all.emplace_back(full.data(), full.size());
    }
    return out;
  }
};

// Signals are blocked before any thread starts so that every thread
// inherits the mask and main can sigwait for them.
sigset_t signal_set(std::initializer_list<int> xs) {
  sigset_t set;
  sigemptyset(&set);
  for (int x : xs)
    sigaddset(&set, x);
  return set;
}

// The signals that end the process: a drain, or at once.
sigset_t stop_signals() {
  return signal_set({SIGINT, SIGTERM, SIGQUIT});
}

// Every signal main handles.
sigset_t all_signals() {
  return signal_set({SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1});
}

const std::string& large_body() {
  static const std::string body(65536, 'x');
  return body;
}

// -- handler actors -------------------------------------------------------

using slow_atom = caf::atom_constant<caf::atom("slow_done")>;
using tick_atom = caf::atom_constant<caf::atom("sse_tick")>;

// GET /slow?ms=N: one actor per reactor answers after N ms (a timer
// message, never a sleep), so other requests go on meanwhile.
using slow_actor = roadrunner::handler_actor::extend<
  caf::reacts_to<slow_atom, roadrunner::responder, int64_t>>;

slow_actor::behavior_type slow_handler(slow_actor::pointer self) {
  return {
    [self](roadrunner::http_request& req) -> response {
      auto ms_text = req->query_param("ms").value_or("0");
      int64_t ms = -1;
      try {
        size_t used = 0;
        ms = std::stoll(ms_text, &used);
        if (used != ms_text.size())
          ms = -1;
      } catch (const std::exception&) {
        ms = -1;
      }
      if (ms < 0 || ms > 60000)
        return response::text(400, "ms must be 0..60000\n");
      self->delayed_send(self, std::chrono::milliseconds{ms}, slow_atom::value,
                         req.reply, ms);
      return response::deferred(); // answered by the timer message
    },
    [](slow_atom, roadrunner::responder& reply, int64_t ms) {
      reply.send(response::text(200, "slept " + std::to_string(ms) + " ms\n"));
    },
  };
}

// GET /sse: a loop handler per request; one event every 100 ms until the
// client leaves or the listener drains (then a last "drain" event).
using sse_actor =
  roadrunner::loop_handler_actor::extend<caf::reacts_to<tick_atom>>;

sse_actor::behavior_type sse_handler(sse_actor::pointer self) {
  struct state {
    roadrunner::stream_writer out;
    int64_t n = 0;
  };
  auto st = std::make_shared<state>();
  return {
    [self, st](roadrunner::http_request& req) -> response {
      st->out = req.reply.stream(roadrunner::sse::head());
      if (st->out)
        self->send(self, tick_atom::value);
      return response::deferred();
    },
    [self, st](tick_atom) {
      auto id = std::to_string(++st->n);
      auto ev = roadrunner::sse::format({.data = "tick " + id, .id = id});
      if (st->out.write(*ev) == roadrunner::write_status::closed) {
        self->quit(); // the client left
        return;
      }
      self->delayed_send(self, 100ms, tick_atom::value);
    },
    [self, st](roadrunner::drain_atom, int64_t) {
      auto ev =
        roadrunner::sse::format({.data = "server draining", .type = "drain"});
      st->out.write(*ev);
      st->out.finish();
      self->quit();
    },
  };
}

// GET /stream on a handler node (--handler-node; ?n=CHUNKS, default 4,
// at most 10000): chunks of 4096 bytes written as fast as the client takes
// them (`full` -> wait for on_ready), across the wire when the front end
// is another process.
using stream_more_atom = caf::atom_constant<caf::atom("strm_more")>;
using stream_actor =
  roadrunner::handler_actor::extend<caf::reacts_to<stream_more_atom, int64_t>>;

struct stream_state {
  struct open {
    roadrunner::stream_writer out;
    int64_t next = 0;
    int64_t total = 0;
  };
  std::unordered_map<int64_t, open> streams;
  int64_t ids = 0;
  static inline const char* name = "demo.stream";
};

stream_actor::behavior_type
stream_handler(stream_actor::stateful_pointer<stream_state> self) {
  auto pump = [self](int64_t id) {
    auto it = self->state.streams.find(id);
    if (it == self->state.streams.end())
      return;
    auto& s = it->second;
    while (s.next < s.total) {
      auto res =
        s.out.write(std::string(4096, static_cast<char>('a' + s.next % 26)));
      if (res == roadrunner::write_status::full)
        return; // on_ready sends stream_more
      if (res == roadrunner::write_status::closed) {
        self->state.streams.erase(it);
        return;
      }
      ++s.next;
    }
    s.out.finish();
    self->state.streams.erase(it);
  };
  return {
    [self, pump](roadrunner::http_request& req) -> response {
      int64_t n = 4;
      if (auto q = req->query_param("n")) {
        try {
          n = std::stoll(*q);
        } catch (const std::exception&) {
          n = -1;
        }
      }
      if (n < 1 || n > 10000)
        return response::text(400, "n must be 1..10000\n");
      response head{200};
      head.header("content-type", "application/octet-stream");
      auto out = req.reply.stream(std::move(head));
      if (!out)
        return response::deferred(); // the client left
      auto id = ++self->state.ids;
      auto me = caf::actor_cast<caf::actor>(self);
      // (Messages, not captures of the writer: a writer held by its own
      // callback would keep the stream alive.)
      out.on_ready(
        [me, id] { caf::anon_send(me, stream_more_atom::value, id); });
      req.reply.on_cancel(
        [me, id] { caf::anon_send(me, stream_more_atom::value, id); });
      self->state.streams.emplace(id, stream_state::open{out, 0, n});
      pump(id);
      return response::deferred();
    },
    [self, pump](stream_more_atom, int64_t id) {
      auto it = self->state.streams.find(id);
      if (it != self->state.streams.end()) {
        auto me = caf::actor_cast<caf::actor>(self);
        it->second.out.on_ready(
          [me, id] { caf::anon_send(me, stream_more_atom::value, id); });
      }
      pump(id);
    },
  };
}

// --handler-node=PORT: a CAF node publishing the demo's handler actors
// (docs/scaling.md); front ends reach them with --remote-handlers.
int run_handler_node(caf::actor_system& sys, const demo::settings& settings) {
  auto hello =
    [](roadrunner::handler_actor::pointer,
       std::string text) -> roadrunner::handler_actor::behavior_type {
    return {
      [text](roadrunner::http_request&) { return response::text(200, text); }};
  };
  // (An unused argument each: CAF 0.17 dereferences a null tuple when a
  // function-based actor is spawned without arguments; UBSan flags it.)
  auto slow = [](slow_actor::pointer self, int) { return slow_handler(self); };
  auto stream = [](stream_actor::stateful_pointer<stream_state> self, int) {
    return stream_handler(self);
  };
  std::vector<std::pair<std::string, caf::actor>> handlers{
    {"slow", caf::actor_cast<caf::actor>(sys.spawn(slow, 0))},
    {"stream", caf::actor_cast<caf::actor>(sys.spawn(stream, 0))},
    {"hello", caf::actor_cast<caf::actor>(
                sys.spawn(hello, std::string{"Hello, World!"}))},
  };
  auto keep = handlers; // the actors live until the node stops
  uint16_t wanted = 0;
  try {
    auto n = std::stol(settings.handler_node);
    if (n < 0 || n > 65535)
      throw std::out_of_range{"port"};
    wanted = static_cast<uint16_t>(n);
  } catch (const std::exception&) {
    std::cerr << "roadrunner-demo: --handler-node=" << settings.handler_node
              << ": must be a port 0..65535" << std::endl;
    return 1;
  }
  auto port = roadrunner::publish_handlers(sys, std::move(handlers), wanted,
                                           settings.bind);
  if (!port) {
    std::cerr << "roadrunner-demo: " << sys.render(port.error()) << std::endl;
    return 1;
  }
  std::printf("roadrunner-demo handler node on %s:%u\n", settings.bind.c_str(),
              static_cast<unsigned>(*port));
  std::fflush(stdout);
  auto stops = stop_signals();
  int sig = 0;
  sigwait(&stops, &sig);
  for (auto& kvp : keep)
    caf::anon_send_exit(kvp.second, caf::exit_reason::user_shutdown);
  return 0;
}

// POST /echo with --body-buffering=manual: pull the body piece by piece.
void read_all(roadrunner::responder reply, std::shared_ptr<std::string> acc,
              std::string type) {
  reply.read_body(16384, [reply, acc, type](std::string_view piece, bool last) {
    acc->append(piece);
    if (!last) {
      read_all(reply, acc, type);
      return;
    }
    response r{200};
    r.header("content-type", type);
    r.body(std::move(*acc));
    reply.send(std::move(r));
  });
}

// The demo's routes. Each lists its method(s): `DELETE /` gets 405 with
// `allow: GET`; HEAD is served wherever GET is.
roadrunner::route_list demo_routes(caf::actor_system& sys) {
  using methods = std::vector<std::string>;
  roadrunner::route_list routes;
  auto add = [&](std::string path, methods ms, roadrunner::handler h) {
    roadrunner::route r;
    r.path = std::move(path);
    r.handler = std::move(h);
    r.methods = std::move(ms);
    routes.push_back(std::move(r));
  };
  add("/", {"GET"},
      [](request&) { return response::text(200, "Hello, World!"); });
  add("/echo", {"POST"}, [](request& req) {
    std::string type{
      req.header("content-type").value_or("application/octet-stream")};
    if (req.body_pending()) {
      read_all(req.defer(), std::make_shared<std::string>(), std::move(type));
      return response::deferred();
    }
    response r{200};
    r.header("content-type", std::move(type));
    r.body(std::string{req.body()});
    return r;
  });
  add("/json", {"GET"}, [](request&) {
    return response::json(200, R"({"message":"Hello, World!"})");
  });
  add("/large", {"GET"}, [](request&) {
    response r{200};
    r.header("content-type", "text/plain");
    r.body(large_body());
    return r;
  });
  add("/info", {"GET"}, [](request& req) {
    auto info = req.listener_stats();
    nlohmann::json j = {
      {"active_clients", info.active_clients},
      {"max_clients", info.max_clients},
      {"requests_served", info.requests_served},
      {"rejected", info.rejected},
      {"in_flight", info.in_flight},
      {"max_concurrent_requests", info.max_concurrent_requests},
      {"throttled", info.throttled},
      {"proxy_rejected", info.proxy_rejected}};
    return response::json(200, j.dump());
  });
  add("/users/:id", {"GET"}, [](request& req) {
    nlohmann::json j = {{"id", std::string{req.binding("id").value_or("")}}};
    return response::json(200, j.dump());
  });
  add("/slow", {"GET"},
      roadrunner::reactor_local_handler<slow_actor>(sys, slow_handler));
  add("/stream", {"GET"}, [](request& req) {
    // Four chunks of 4096 bytes, pushed at once (well under the writer's
    // limit); the connection writes them as the client reads.
    response head{200};
    head.header("content-type", "text/plain"); // compressible (issue 16)
    auto out = req.defer().stream(std::move(head));
    for (char c : {'a', 'b', 'c', 'd'})
      out.write(std::string(4096, c));
    out.finish();
    return response::deferred();
  });
  add("/sse", {"GET"}, roadrunner::loop_handler<sse_actor>(sys, sse_handler));
  // The hello answer three ways, next to each other in the route list (so
  // routing costs about the same): a plain callable, a handler actor hosted
  // on the reactors (no thread hop), and one on CAF's scheduler (a hop each
  // way). benchmarks/handler_actor.sh compares them.
  add("/hello/plain", {"GET"},
      [](request&) { return response::text(200, "Hello, World!"); });
  auto hello_actor = [](roadrunner::handler_actor::pointer)
    -> roadrunner::handler_actor::behavior_type {
    return {[](roadrunner::http_request&) {
      return response::text(200, "Hello, World!");
    }};
  };
  add("/hello/actor", {"GET"},
      roadrunner::reactor_local_handler(sys, hello_actor));
  // (An argument, not a capture: CAF 0.17 dereferences a null tuple when a
  // function-based actor is spawned without arguments; UBSan flags it.)
  add("/hello/scheduler", {"GET"},
      roadrunner::actor_handler(sys.spawn<caf::hidden>(
        [](roadrunner::handler_actor::pointer,
           std::string text) -> roadrunner::handler_actor::behavior_type {
          return {[text](roadrunner::http_request&) {
            return response::text(200, text);
          }};
        },
        std::string{"Hello, World!"})));
  // Who the server thinks the client is: behind a PROXY-protocol front end
  // (--proxy-protocol=true) the proxied client, with the header's TLVs.
  add("/whoami", {"GET"}, [](request& req) {
    nlohmann::json j = {
      {"peer", req.peer().ip},
      {"peer_port", req.peer().port},
      {"protocol", req.version() == "HTTP/2" ? "h2" : "http/1.1"},
      {"tls", req.scheme() == "https"},
      {"pid", static_cast<int64_t>(::getpid())}}; // several on one port
    if (auto& p = req.proxy()) {
      // Opaque TLV bytes: as text when printable, else dropped (JSON
      // needs UTF-8).
      auto text = [](const std::string& x) {
        for (unsigned char c : x)
          if (c < 0x20 || c > 0x7e)
            return std::string{};
        return x;
      };
      j["proxy"] = {{"version", p->version},
                    {"local", p->local},
                    {"destination", p->destination.ip},
                    {"destination_port", p->destination.port},
                    {"alpn", text(p->alpn)},
                    {"authority", text(p->authority)},
                    {"unique_id", text(p->unique_id)},
                    {"ssl", p->ssl}};
    }
    return response::json(200, j.dump());
  });
  return routes;
}

// The access log (optional) and the error log, opened before the actor
// system starts so that a bad path fails start with the flag's name.
struct log_files {
  roadrunner::log_file_ptr access;
  roadrunner::log_file_ptr error;

  std::optional<std::string> open(const demo::settings& s) {
    std::string why;
    if (!s.access_log.empty() &&
        !(access = roadrunner::log_file::open({.path = s.access_log}, why)))
      return "--access-log=" + why;
    if (!(error = roadrunner::log_file::open({.path = s.error_log}, why)))
      return "--error-log=" + why;
    return std::nullopt;
  }

  // SIGUSR1.
  void reopen() {
    if (access)
      access->reopen();
    error->reopen();
  }

  // Waits until every line appended so far is written.
  void flush() {
    if (access)
      access->flush();
    error->flush();
  }
};

// SIGHUP: the listener reads its certificate and key files again; a bad
// pair keeps the old one, and the error log says why.
void reload_certificate(caf::scoped_actor& self,
                        const roadrunner::listener_actor& listener,
                        const demo::settings& settings,
                        const roadrunner::error_log& errors,
                        caf::actor_system& sys) {
  if (settings.tls_cert.empty()) {
    errors.log(roadrunner::log_level::info, "tls_reload_skipped",
               "SIGHUP: no --tls-cert to reload");
    return;
  }
  self->request(listener, 10s, roadrunner::reload_tls_atom::value)
    .receive(
      [&](caf::ok_atom) {
        errors.log(roadrunner::log_level::info, "tls_reloaded",
                   "SIGHUP: new handshakes use " + settings.tls_cert);
      },
      [&](caf::error& e) {
        errors.log(roadrunner::log_level::warning, "tls_reload_failed",
                   "SIGHUP: kept the old certificate: " + sys.render(e));
      });
}

// Issue 16's web features: GET /static/*path (--static-dir), and the
// listener-wide CORS (--cors-origin) and compression (--compress)
// middlewares. Returns why the static directory cannot be served.
std::optional<std::string>
add_web_features(roadrunner::route_list& routes,
                 std::vector<roadrunner::middleware>& middlewares,
                 const demo::settings& s) {
  if (!s.static_dir.empty()) {
    std::string why;
    auto h = roadrunner::static_files({.root = s.static_dir}, why);
    if (!h)
      return "--static-dir=" + s.static_dir + ": " + why;
    roadrunner::route r;
    r.path = "/static/*path";
    r.handler = std::move(h);
    r.methods = {"GET"};
    routes.push_back(std::move(r));
  }
  if (!s.cors_origins.empty()) {
    roadrunner::cors_options c;
    c.origins = s.cors_origins;
    c.methods = {"GET", "HEAD", "POST"};
    c.headers = {"content-type"};
    c.max_age = 600;
    middlewares.push_back(roadrunner::cors(std::move(c)));
  }
  if (s.compress) {
    roadrunner::compress_options c;
    c.gzip_level = static_cast<int>(s.gzip_level);
    middlewares.push_back(roadrunner::compress(std::move(c)));
  }
  return std::nullopt;
}

// The operator's routes: GET /metrics (Prometheus), /healthz and /readyz.
void add_operator_routes(roadrunner::route_list& routes,
                         const roadrunner::metrics& metrics,
                         const roadrunner::health& health) {
  auto add = [&](std::string path, roadrunner::handler h) {
    roadrunner::route r;
    r.path = std::move(path);
    r.handler = std::move(h);
    r.methods = {"GET"};
    routes.push_back(std::move(r));
  };
  add("/metrics", metrics.endpoint());
  add("/healthz", health.healthz());
  add("/readyz", health.readyz());
}

} // namespace

// -- WebSocket (issue 15) -----------------------------------------------------

// GET /ws/echo echoes every message; GET /ws/chat joins a chat room (a CAF
// group: every message goes to every member); GET /chat is a page that
// talks to /ws/chat with the browser's WebSocket.
using chat_atom = caf::atom_constant<caf::atom("chat")>;

caf::behavior ws_echo_session(caf::event_based_actor*,
                              roadrunner::websocket_handle ws) {
  return {[ws](roadrunner::ws_message& m) { ws.send(std::move(m)); },
          [](roadrunner::ws_closed_atom, uint16_t, const std::string&) {}};
}

caf::behavior ws_chat_session(caf::event_based_actor* self,
                              roadrunner::websocket_handle ws,
                              caf::group room) {
  self->join(room);
  return {
    [self, room](roadrunner::ws_message& m) {
      if (!m.binary)
        self->send(room, chat_atom::value, std::move(m.data));
    },
    [ws](chat_atom, std::string& text) { ws.send_text(std::move(text)); },
    [self, room](roadrunner::ws_closed_atom, uint16_t, const std::string&) {
      self->leave(room);
    },
  };
}

// JavaScript inside: clang-format would split its "=>".
// clang-format off
constexpr std::string_view chat_page = R"html(<!doctype html>
<html><head><meta charset="utf-8"><title>roadrunner chat</title></head>
<body>
<h1>roadrunner chat</h1>
<ul id="log"></ul>
<form id="f"><input id="msg" autocomplete="off" autofocus>
<button>send</button></form>
<script>
const scheme = location.protocol === "https:" ? "wss://" : "ws://";
const ws = new WebSocket(scheme + location.host + "/ws/chat");
const log = document.getElementById("log");
function show(text) {
  const li = document.createElement("li");
  li.textContent = text;
  log.appendChild(li);
}
ws.onopen = () => show("(connected)");
ws.onmessage = (e) => show(e.data);
ws.onclose = (e) => show("(closed " + e.code + ")");
document.getElementById("f").onsubmit = (e) => {
  e.preventDefault();
  const input = document.getElementById("msg");
  if (input.value)
    ws.send(input.value);
  input.value = "";
};
</script>
</body></html>
)html";
// clang-format on

void add_websocket_routes(roadrunner::route_list& routes,
                          caf::actor_system& sys) {
  auto room = sys.groups().get_local("roadrunner.demo.chat");
  routes.push_back(
    {.path = "/ws/echo",
     .handler = roadrunner::websocket(
       sys,
       [](caf::actor_system& s, roadrunner::websocket_handle ws) {
         return s.spawn(ws_echo_session, std::move(ws));
       }),
     .methods = {"GET"}});
  routes.push_back(
    {.path = "/ws/chat",
     .handler = roadrunner::websocket(
       sys,
       [room](caf::actor_system& s, roadrunner::websocket_handle ws) {
         return s.spawn(ws_chat_session, std::move(ws), room);
       }),
     .methods = {"GET"}});
  routes.push_back({.path = "/chat",
                    .handler =
                      [](roadrunner::request&) {
                        return roadrunner::response::html(
                          200, std::string{chat_page});
                      },
                    .methods = {"GET"}});
}

int main(int argc, char** argv) {
  auto signals = all_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  demo::settings settings;
  caf_config cfg;
  auto parsed = demo::parse(argc, argv, cfg.names(), settings);
  switch (parsed.what) {
  case demo::action::done:
    std::fputs(parsed.text.c_str(), stdout);
    return 0;
  case demo::action::fail:
    std::cerr << "roadrunner-demo: " << parsed.error << std::endl;
    return 1;
  default:
    break;
  }
  if (!settings.caf_args.empty()) {
    std::istringstream no_ini;
    if (auto err = cfg.parse(settings.caf_args, no_ini)) {
      std::cerr << "roadrunner-demo: " << cfg.render(err) << std::endl;
      return 1;
    }
  }
  if (settings.reactors > 0)
    cfg.set("roadrunner.reactors", static_cast<size_t>(settings.reactors));
  roadrunner::listener_options opts;
  if (auto err = demo::make_options(settings, opts)) {
    std::cerr << "roadrunner-demo: " << *err << std::endl;
    return 1;
  }
  if (parsed.what == demo::action::check_config) {
    std::printf("roadrunner-demo: configuration ok\n");
    return 0;
  }
  log_files logs;
  if (auto err = logs.open(settings)) {
    std::cerr << "roadrunner-demo: " << *err << std::endl;
    return 1;
  }
  auto& access_file = logs.access;
  auto& error_file = logs.error;
  // Handler actors on other nodes: CAF's middleman and our message types.
  if (!settings.handler_node.empty() || !settings.remote_handlers.empty()) {
    cfg.load<caf::io::middleman>();
    roadrunner::add_remote_types(cfg);
  }
  caf::actor_system sys{cfg};
  if (!settings.handler_node.empty())
    return run_handler_node(sys, settings);
  // systemd socket activation: accept on the inherited socket.
  if (int n = sd_listen_fds(1); n > 0) {
    if (n > 1) {
      std::cerr << "roadrunner-demo: LISTEN_FDS=" << n
                << ": expected one socket" << std::endl;
      return 1;
    }
    opts.listen_fd = SD_LISTEN_FDS_START;
  }
  roadrunner::metrics metrics;
  roadrunner::health health;
  auto routes = demo_routes(sys);
  add_operator_routes(routes, metrics, health);
  if (auto err = add_web_features(routes, opts.middlewares, settings)) {
    std::cerr << "roadrunner-demo: " << *err << std::endl;
    return 1;
  }
  add_websocket_routes(routes, sys);
  if (!settings.remote_handlers.empty()) {
    // --remote-handlers=HOST:PORT: /remote/slow, /remote/stream and
    // /remote/hello answered by the handler node's actors.
    auto colon = settings.remote_handlers.rfind(':');
    long node_port = -1;
    if (colon != std::string::npos) {
      try {
        node_port = std::stol(settings.remote_handlers.substr(colon + 1));
      } catch (const std::exception&) {
        node_port = -1;
      }
    }
    if (node_port < 1 || node_port > 65535) {
      std::cerr << "roadrunner-demo: --remote-handlers="
                << settings.remote_handlers << ": expected HOST:PORT"
                << std::endl;
      return 1;
    }
    auto host = settings.remote_handlers.substr(0, colon);
    for (auto name : {"slow", "stream", "hello"}) {
      roadrunner::route r;
      r.path = std::string{"/remote/"} + name;
      r.methods = {"GET"};
      r.handler = roadrunner::remote_handler(
        sys, host, static_cast<uint16_t>(node_port), name);
      routes.push_back(std::move(r));
    }
  }
  opts.routes = std::move(routes);
  std::vector<roadrunner::telemetry_sink> observers{metrics.observer(),
                                                    health.observer()};
  roadrunner::error_log errors{
    error_file, {.level = *roadrunner::parse_log_level(settings.log_level)}};
  observers.push_back(errors.observer());
  metrics.add("roadrunner_log_lines_dropped_total",
              "Log lines dropped because the log writer fell behind.",
              "counter", [access_file, error_file] {
                return error_file->dropped() +
                       (access_file ? access_file->dropped() : 0);
              });
  if (access_file)
    observers.push_back(roadrunner::access_log{
      access_file,
      *roadrunner::parse_access_log_format(settings.access_log_format)}
                          .observer());
  opts.telemetry = roadrunner::fan_out(std::move(observers));
  auto listener = roadrunner::start_listener(sys, "demo", std::move(opts));
  if (!listener) {
    std::cerr << "roadrunner-demo: " << sys.render(listener.error())
              << std::endl;
    return 1;
  }
  caf::scoped_actor self{sys};
  uint16_t port = 0;
  self->request(*listener, 5s, roadrunner::port_atom::value)
    .receive([&](uint16_t p) { port = p; }, [](caf::error&) {});
  auto& bind = settings.bind;
  auto host = bind.find(':') != std::string::npos ? "[" + bind + "]" : bind;
  auto scheme =
    settings.tls_cert.empty() && settings.tls_key.empty() ? "http" : "https";
  std::printf("roadrunner-demo listening on %s://%s:%u\n", scheme, host.c_str(),
              static_cast<unsigned>(port));
  std::fflush(stdout);
  sd_notify(0, "READY=1"); // a no-op without NOTIFY_SOCKET
  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      sd_notify(0, "RELOADING=1");
      reload_certificate(self, *listener, settings, errors, sys);
      sd_notify(0, "READY=1");
    } else if (sig == SIGUSR1) {
      logs.reopen(); // logrotate moved them: new files at the same paths
      errors.log(roadrunner::log_level::info, "logs_reopened",
                 "SIGUSR1: log files reopened");
    } else {
      break;
    }
  }
  sd_notify(0, "STOPPING=1");
  if (sig == SIGQUIT) {
    // At once: every connection ends now, requests in flight included.
    self->request(*listener, 10s, roadrunner::stop_atom::value)
      .receive([](caf::ok_atom) {}, [](caf::error&) {});
    logs.flush();
    return 0;
  }
  // A second SIGTERM/SIGINT (or a SIGQUIT) during the drain stops at once
  // (stop ends every connection; the drain then answers with what was
  // left).
  auto stops = stop_signals();
  std::atomic<bool> drained{false};
  std::thread second_signal{[&] {
    int again = 0;
    sigwait(&stops, &again);
    if (!drained)
      caf::anon_send(*listener, roadrunner::stop_atom::value);
  }};
  // SIGTERM/SIGINT: drain (stop accepting, let requests in flight finish,
  // close idle connections), at most --drain-timeout, then exit 0.
  auto timeout =
    std::chrono::milliseconds{std::max<int64_t>(0, settings.drain_timeout)};
  self
    ->request(*listener, timeout + 10s, roadrunner::drain_atom::value,
              caf::timespan{timeout})
    .receive(
      [&](const roadrunner::drain_result& res) {
        if (!res.drained)
          errors.log(roadrunner::log_level::warning, "drain_timeout",
                     "drain timed out, ended " + std::to_string(res.remaining) +
                       " connection(s)");
      },
      [&](caf::error& e) {
        errors.log(roadrunner::log_level::error, "drain_failed", sys.render(e));
      });
  drained = true;
  pthread_kill(second_signal.native_handle(), SIGTERM); // wake it to leave
  second_signal.join();
  logs.flush(); // every request answered is in the access log
  return 0;
}
