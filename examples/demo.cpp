// roadrunner-demo: the demo server. Every listener option is a flag named
// after it with dashes (durations in milliseconds), plus --port, --bind and
// --reactors; flags can also come from an INI file (--config-file=FILE).
//
// Prints exactly one line `roadrunner-demo listening on http://ADDR:PORT`
// (`https://` with --tls-cert/--tls-key) once it accepts connections, and
// runs until SIGINT or SIGTERM.
#include <roadrunner/roadrunner.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <nlohmann/json.hpp>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <pthread.h>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using roadrunner::request;
using roadrunner::response;

struct demo_config : roadrunner::system_config {
  // -- demo flags ---------------------------------------------------------
  int64_t port = 8080;
  std::string bind = "127.0.0.1";
  size_t reactors = 0; // 0: one per core
  // -- listener options (seed names with dashes; durations in ms) ---------
  roadrunner::listener_options defaults;
  int64_t max_content_length = defaults.max_content_length;
  int64_t request_timeout = defaults.request_timeout.count();
  int64_t keep_alive_timeout = defaults.keep_alive_timeout.count();
  int64_t num_acceptors = defaults.num_acceptors;
  int64_t max_keep_alive_requests = defaults.max_keep_alive_requests;
  int64_t max_clients = defaults.max_clients;
  int64_t min_bytes_per_second = defaults.min_bytes_per_second;
  int64_t rate_check_interval = defaults.rate_check_interval.count();
  std::string body_buffering = "auto";
  int64_t slot_reconciliation = 0; // 0: disabled
  bool graceful_drain = true;
  int64_t hibernate_after = 0;         // 0: unset
  int64_t max_concurrent_requests = 0; // 0: infinity
  int64_t socket_backlog = defaults.socket_backlog;
  std::string protocols = "http1";
  int64_t drain_timeout = 10000; // ms: SIGTERM/SIGINT drain deadline
  int64_t max_request_line = 8192;
  int64_t max_header_line = 8192;
  int64_t max_header_block = 10240;
  int64_t max_header_count = 100;
  // HTTP/2 tunables (the `{http2, Opts}` entry) and TLS.
  roadrunner::http2_options h2;
  int64_t conn_window = h2.conn_window;
  int64_t stream_window = h2.stream_window;
  int64_t window_refill_threshold = h2.window_refill_threshold;
  int64_t max_concurrent_streams = h2.max_concurrent_streams;
  int64_t max_header_list_size = h2.max_header_list_size;
  std::string tls_cert;
  std::string tls_key;
  int64_t tls_handshake_timeout =
    roadrunner::tls_options{}.handshake_timeout.count();

  demo_config() {
    opt_group{custom_options_, "global"}
      .add(port, "port", "TCP port (0: the kernel picks one)")
      .add(bind, "bind", "address to bind")
      .add(reactors, "reactors", "reactor threads (0: one per core)")
      .add(max_content_length, "max-content-length", "request body cap")
      .add(request_timeout, "request-timeout", "ms for a request")
      .add(keep_alive_timeout, "keep-alive-timeout", "ms idle keep-alive")
      .add(num_acceptors, "num-acceptors", "acceptor actors")
      .add(max_keep_alive_requests, "max-keep-alive-requests",
           "requests per connection")
      .add(max_clients, "max-clients", "concurrent connections")
      .add(min_bytes_per_second, "min-bytes-per-second",
           "slow-client guard (0 disables)")
      .add(rate_check_interval, "rate-check-interval", "ms between checks")
      .add(body_buffering, "body-buffering", "auto or manual")
      .add(slot_reconciliation, "slot-reconciliation",
           "reconciliation interval in ms (0: disabled)")
      .add(graceful_drain, "graceful-drain", "join the drain group")
      .add(hibernate_after, "hibernate-after", "ms (0: unset)")
      .add(max_concurrent_requests, "max-concurrent-requests",
           "requests in flight (0: infinity)")
      .add(socket_backlog, "socket-backlog", "listen backlog")
      .add(protocols, "protocols", "comma-separated: http1,http2")
      .add(drain_timeout, "drain-timeout",
           "ms to drain on SIGTERM/SIGINT before ending connections")
      .add(max_request_line, "max-request-line", "http1 limit -> 414")
      .add(max_header_line, "max-header-line", "http1 limit -> 431")
      .add(max_header_block, "max-header-block", "http1 limit -> 431")
      .add(max_header_count, "max-header-count", "http1 limit -> 431")
      .add(conn_window, "conn-window", "http2 connection window peak")
      .add(stream_window, "stream-window", "http2 stream window peak")
      .add(window_refill_threshold, "window-refill-threshold",
           "http2 window refill trigger")
      .add(max_concurrent_streams, "max-concurrent-streams",
           "http2 SETTINGS_MAX_CONCURRENT_STREAMS")
      .add(max_header_list_size, "max-header-list-size",
           "http2 decoded header bytes -> 431")
      .add(tls_cert, "tls-cert", "PEM certificate chain file (enables TLS)")
      .add(tls_key, "tls-key", "PEM private key file")
      .add(tls_handshake_timeout, "tls-handshake-timeout",
           "ms for the TLS handshake, from the accept");
  }

  // Builds the listener options; an unknown protocol name is an error.
  bool make_options(roadrunner::listener_options& o, std::string& err) const {
    o.port = static_cast<int>(port);
    o.bind_address = bind;
    o.max_content_length = max_content_length;
    o.request_timeout = roadrunner::millis{request_timeout};
    o.keep_alive_timeout = roadrunner::millis{keep_alive_timeout};
    o.num_acceptors = num_acceptors;
    o.max_keep_alive_requests = max_keep_alive_requests;
    o.max_clients = max_clients;
    o.min_bytes_per_second = min_bytes_per_second;
    o.rate_check_interval = roadrunner::millis{rate_check_interval};
    if (body_buffering == "auto") {
      o.body_buffering = roadrunner::body_buffering::automatic;
    } else if (body_buffering == "manual") {
      o.body_buffering = roadrunner::body_buffering::manual;
    } else {
      err = "invalid --body-buffering=" + body_buffering + " (auto|manual)";
      return false;
    }
    if (slot_reconciliation != 0)
      o.slot_reconciliation = roadrunner::millis{slot_reconciliation};
    o.graceful_drain = graceful_drain;
    if (hibernate_after != 0)
      o.hibernate_after = roadrunner::millis{hibernate_after};
    if (max_concurrent_requests != 0)
      o.max_concurrent_requests = max_concurrent_requests;
    o.socket_backlog = socket_backlog;
    o.protocols.clear();
    std::stringstream in{protocols};
    for (std::string item; std::getline(in, item, ',');) {
      roadrunner::protocol_entry e;
      if (item == "http1") {
        e.proto = roadrunner::protocol::http1;
      } else if (item == "http2") {
        e.proto = roadrunner::protocol::http2;
      } else {
        err =
          "invalid --protocols=" + protocols + " (unknown \"" + item + "\")";
        return false;
      }
      e.http1.max_request_line = max_request_line;
      e.http1.max_header_line = max_header_line;
      e.http1.max_header_block = max_header_block;
      e.http1.max_header_count = max_header_count;
      e.http2.conn_window = conn_window;
      e.http2.stream_window = stream_window;
      e.http2.window_refill_threshold = window_refill_threshold;
      e.http2.max_concurrent_streams = max_concurrent_streams;
      e.http2.max_header_list_size = max_header_list_size;
      o.protocols.push_back(e);
    }
    if (!tls_cert.empty() || !tls_key.empty()) {
      o.tls = roadrunner::tls_options{tls_cert, tls_key};
      o.tls->handshake_timeout = roadrunner::millis{tls_handshake_timeout};
    }
    return true;
  }
};

// Signals are blocked before any thread starts so that every thread
// inherits the mask and main can sigwait for them.
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
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
    r.header("content-type", "application/octet-stream");
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
      {"throttled", info.throttled}};
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
    head.header("content-type", "application/octet-stream");
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
  return routes;
}

} // namespace

int main(int argc, char** argv) {
  auto signals = stop_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  demo_config cfg;
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "roadrunner-demo: " << cfg.render(err) << std::endl;
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  if (cfg.reactors > 0)
    cfg.set("roadrunner.reactors", cfg.reactors);
  roadrunner::listener_options opts;
  std::string err;
  if (!cfg.make_options(opts, err)) {
    std::cerr << "roadrunner-demo: " << err << std::endl;
    return 2;
  }
  caf::actor_system sys{cfg};
  opts.routes = demo_routes(sys);
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
  auto host =
    cfg.bind.find(':') != std::string::npos ? "[" + cfg.bind + "]" : cfg.bind;
  auto scheme = cfg.tls_cert.empty() && cfg.tls_key.empty() ? "http" : "https";
  std::printf("roadrunner-demo listening on %s://%s:%u\n", scheme, host.c_str(),
              static_cast<unsigned>(port));
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  // A second SIGTERM/SIGINT during the drain stops at once (stop ends every
  // connection; the drain then answers with what was left).
  std::atomic<bool> drained{false};
  std::thread second_signal{[&] {
    int again = 0;
    sigwait(&signals, &again);
    if (!drained)
      caf::anon_send(*listener, roadrunner::stop_atom::value);
  }};
  // SIGTERM/SIGINT: drain (stop accepting, let requests in flight finish,
  // close idle connections), at most --drain-timeout, then exit 0.
  auto timeout =
    std::chrono::milliseconds{std::max<int64_t>(0, cfg.drain_timeout)};
  self
    ->request(*listener, timeout + 10s, roadrunner::drain_atom::value,
              caf::timespan{timeout})
    .receive(
      [](const roadrunner::drain_result& res) {
        if (!res.drained)
          std::cerr << "roadrunner-demo: drain timed out, ended "
                    << res.remaining << " connection(s)" << std::endl;
      },
      [&](caf::error& e) {
        std::cerr << "roadrunner-demo: drain failed: " << sys.render(e)
                  << std::endl;
      });
  drained = true;
  pthread_kill(second_signal.native_handle(), SIGTERM); // wake it to leave
  second_signal.join();
  return 0;
}
