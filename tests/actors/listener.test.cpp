#include "fixture.hpp"
#include "hosted_actor.hpp"
#include "net.hpp"
#include <roadrunner/roadrunner.hpp>

#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include <doctest/doctest.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <dirent.h>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

using namespace rrtest;
using namespace roadrunner;

namespace {

const std::string get_root = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

response hello(request&) {
  return response::text(200, "Hello, World!");
}

// Checks that start fails with `code` and the rendered error names both the
// option and the value.
void check_rejected(fixture& fx, listener_options opts, errc code,
                    const std::string& option, const std::string& value) {
  auto res = start_listener(fx.sys, "bad", std::move(opts));
  if (res)
    fx.started.push_back(*res); // stop it, or the system would wait forever
  REQUIRE_FALSE(res);
  auto& err = res.error();
  CHECK(err.category() == error_category);
  CHECK(err.code() == static_cast<uint8_t>(code));
  auto text = fx.sys.render(err);
  INFO(text);
  CHECK(text.find(option) != std::string::npos);
  CHECK(text.find(value) != std::string::npos);
}

} // namespace

TEST_SUITE("actors.listener") {

  TEST_CASE("port 0 binds an ephemeral port; port, info and status answer") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.max_clients = 7;
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    CHECK(port > 0);
    auto info = fx.info_of(l);
    CHECK(info.active_clients == 0);
    CHECK(info.max_clients == 7);
    CHECK(info.requests_served == 0);
    CHECK(info.rejected == 0);
    CHECK(fx.ask<listener_status>(l, status_atom::value) ==
          listener_status::accepting);
    client c{port};
    REQUIRE(c.send(get_root));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 404); // no routes: the default handler
    CHECK(fx.info_of(l).requests_served == 1);
  }

  TEST_CASE("invalid option values fail start naming the option and value") {
    fixture fx;
    struct row {
      const char* option;
      const char* value;
      void (*edit)(listener_options&);
    };
    const row rows[] = {
      {"port", "70000", [](listener_options& o) { o.port = 70000; }},
      {"port", "-1", [](listener_options& o) { o.port = -1; }},
      {"max_clients", "0", [](listener_options& o) { o.max_clients = 0; }},
      {"num_acceptors", "0", [](listener_options& o) { o.num_acceptors = 0; }},
      {"max_keep_alive_requests", "0",
       [](listener_options& o) { o.max_keep_alive_requests = 0; }},
      {"request_timeout", "-5",
       [](listener_options& o) { o.request_timeout = millis{-5}; }},
      {"keep_alive_timeout", "-1",
       [](listener_options& o) { o.keep_alive_timeout = millis{-1}; }},
      {"max_content_length", "-1",
       [](listener_options& o) { o.max_content_length = -1; }},
      {"min_bytes_per_second", "-3",
       [](listener_options& o) { o.min_bytes_per_second = -3; }},
      {"rate_check_interval", "0",
       [](listener_options& o) { o.rate_check_interval = millis{0}; }},
      {"socket_backlog", "0",
       [](listener_options& o) { o.socket_backlog = 0; }},
      {"protocols", "[]", [](listener_options& o) { o.protocols.clear(); }},
      {"protocols", "[http1, http1]",
       [](listener_options& o) {
         o.protocols = {protocol::http1, protocol::http1};
       }},
      {"protocols", "max_request_line=0",
       [](listener_options& o) { o.protocols[0].http1.max_request_line = 0; }},
      {"protocols", "max_header_count=2147483648",
       [](listener_options& o) {
         o.protocols[0].http1.max_header_count = 2147483648LL;
       }},
      {"body_buffering", "7",
       [](listener_options& o) {
         o.body_buffering = static_cast<body_buffering>(7);
       }},
      {"hibernate_after", "0",
       [](listener_options& o) { o.hibernate_after = millis{0}; }},
      {"slot_reconciliation", "0",
       [](listener_options& o) { o.slot_reconciliation = millis{0}; }},
      {"max_concurrent_requests", "0",
       [](listener_options& o) { o.max_concurrent_requests = 0; }},
      {"tls", "cert.pem",
       [](listener_options& o) {
         o.tls = tls_options{"cert.pem", "key.pem"};
       }},
      {"middlewares", "listener middleware",
       [](listener_options& o) { o.middlewares.push_back(middleware{}); }},
      {"routes", "route 1 \"/x/*rest/y\"",
       [](listener_options& o) {
         o.routes =
           route_list{{"/ok", [](request&) { return response{200}; }},
                      {"/x/*rest/y", [](request&) { return response{200}; }}};
       }},
      {"protocols", "[http2] http2.conn_window=0",
       [](listener_options& o) {
         o.protocols = {protocol::http2};
         o.protocols[0].http2.conn_window = 0;
       }},
      {"protocols", "http2.stream_window=2147483648",
       [](listener_options& o) {
         o.protocols = {protocol::http2};
         o.protocols[0].http2.stream_window = 2147483648LL;
       }},
      {"protocols", "http2.window_refill_threshold=-1",
       [](listener_options& o) {
         o.protocols = {protocol::http2};
         o.protocols[0].http2.window_refill_threshold = -1;
       }},
      {"protocols", "http2.max_concurrent_streams=0",
       [](listener_options& o) {
         o.protocols = {protocol::http2};
         o.protocols[0].http2.max_concurrent_streams = 0;
       }},
      {"protocols", "http2.max_header_list_size=0",
       [](listener_options& o) {
         o.protocols = {protocol::http2};
         o.protocols[0].http2.max_header_list_size = 0;
       }},
      {"protocols", "[http2, http2]",
       [](listener_options& o) {
         o.protocols = {protocol::http2, protocol::http2};
       }},
    };
    for (auto& r : rows) {
      auto row_text = std::string{r.option} + " = " + r.value;
      INFO(row_text);
      auto opts = fixture::loopback();
      r.edit(opts);
      check_rejected(fx, opts, errc::invalid_listener_opt, r.option, r.value);
    }
  }

  TEST_CASE("slot reconciliation without graceful drain is a conflict") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.graceful_drain = false;
    opts.slot_reconciliation = millis{100};
    check_rejected(fx, opts, errc::listener_opt_conflict, "slot_reconciliation",
                   "requires graceful_drain");
  }

  TEST_CASE("http1 and http2 on plain TCP conflict: no_h2c_upgrade") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.protocols = {protocol::http1, protocol::http2};
    check_rejected(fx, opts, errc::listener_opt_conflict, "protocols",
                   "no_h2c_upgrade");
  }

  TEST_CASE("[http2] alone on plain TCP starts: h2c with prior knowledge") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.protocols = {protocol::http2};
    opts.protocols[0].http2.conn_window = 2147483647;
    opts.protocols[0].http2.max_header_list_size = 1;
    auto l = fx.start(opts);
    CHECK(fx.port_of(l) > 0);
  }

  TEST_CASE("a port in use fails with listen_failed") {
    fixture fx;
    auto first = fx.start(fixture::loopback());
    auto opts = fixture::loopback();
    opts.port = fx.port_of(first);
    auto res = start_listener(fx.sys, "second", opts);
    REQUIRE_FALSE(res);
    CHECK(res.error().code() == static_cast<uint8_t>(errc::listen_failed));
    CHECK(fx.sys.render(res.error()).find("Address already in use") !=
          std::string::npos);
  }

  TEST_CASE("a bad bind address fails with listen_failed") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.bind_address = "not-an-address";
    auto res = start_listener(fx.sys, "bad", opts);
    REQUIRE_FALSE(res);
    CHECK(res.error().code() == static_cast<uint8_t>(errc::listen_failed));
  }

  TEST_CASE("without roadrunner::module start fails with module_not_loaded") {
    caf::actor_system_config cfg;
    caf::actor_system sys{cfg};
    auto res = start_listener(sys, "x", fixture::loopback());
    REQUIRE_FALSE(res);
    CHECK(res.error().code() == static_cast<uint8_t>(errc::module_not_loaded));
  }

  TEST_CASE("stop closes the socket, ends the connections, frees the port") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = hello;
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    client c{port};
    REQUIRE(c.send(get_root));
    REQUIRE(c.read_response());
    fx.ask<caf::ok_atom>(l, stop_atom::value);
    fx.started.clear();
    CHECK(c.closed_by_peer());
    // The port is free again: a new listener binds it.
    auto again = fixture::loopback();
    again.port = port;
    auto l2 = fx.start(again);
    CHECK(fx.port_of(l2) == port);
  }

  TEST_CASE("a handler that throws gives 500; the connection stays usable") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = [](request& req) -> response {
      if (req.path() == "/boom")
        throw std::runtime_error("boom");
      return response::text(200, "fine");
    };
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    REQUIRE(c.send("GET /boom HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 500);
    CHECK_FALSE(res->header("connection"));
    REQUIRE(c.send("GET /ok HTTP/1.1\r\nHost: t\r\n\r\n"));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body == "fine");
  }

  TEST_CASE("a response with CR/LF in a header is refused with 500") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = [](request&) {
      return response::text(200, "x").header("x-evil", "a\r\nset-cookie: y=1");
    };
    auto l = fx.start(opts);
    client c{fx.port_of(l)};
    REQUIRE(c.send(get_root));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 500);
    CHECK_FALSE(res->header("set-cookie"));
    CHECK_FALSE(res->header("x-evil"));
  }

  TEST_CASE("over max_clients a new socket is closed at once and counted") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.max_clients = 2;
    opts.routes = hello;
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    client a{port};
    client b{port};
    for (auto* c : {&a, &b}) {
      REQUIRE(c->send(get_root));
      REQUIRE(c->read_response());
    }
    client over{port};
    CHECK(over.closed_by_peer());
    CHECK(over.leftover().empty()); // no HTTP response, just a close
    auto info = fx.info_of(l);
    CHECK(info.rejected == 1);
    CHECK(info.active_clients == 2);
    // Closing one client frees its slot for the next one.
    { client gone = std::move(a); }
    REQUIRE(fx.await_active(l, 1));
    client next{port};
    REQUIRE(next.send(get_root));
    auto res = next.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
  }

  TEST_CASE("killed connection actors release their slots exactly once") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = hello;
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    std::vector<client> clients;
    for (int i = 0; i < 12; ++i) {
      clients.emplace_back(port);
      REQUIRE(clients.back().send(get_root));
      REQUIRE(clients.back().read_response());
    }
    REQUIRE(fx.info_of(l).active_clients == 12);
    auto conns = fx.ask<std::vector<caf::actor>>(l, connections_atom::value);
    REQUIRE(conns.size() == 12);
    // Every way an actor can end: kill, a user exit reason, and (below)
    // the peer closing. The connection order is not the client order, so
    // count: exactly the 8 ended connections are closed, the 4 others serve.
    for (size_t i = 0; i < 8; ++i)
      caf::anon_send_exit(conns[i], i % 2 == 0
                                      ? caf::exit_reason::kill
                                      : caf::exit_reason::user_shutdown);
    // Sockets are closed before the down message releases the slot.
    REQUIRE(fx.await_active(l, 4));
    size_t closed = 0;
    size_t alive = 0;
    for (auto& c : clients) {
      if (c.closed_by_peer(200ms)) {
        ++closed;
        continue;
      }
      REQUIRE(c.send(get_root));
      auto res = c.read_response();
      REQUIRE(res);
      CHECK(res->status == 200);
      ++alive;
    }
    CHECK(closed == 8);
    CHECK(alive == 4);
    clients.clear(); // the remaining 4 close from the client side
    REQUIRE(fx.await_active(l, 0));
    // Killing an actor that is already gone changes nothing.
    for (auto& c : conns)
      caf::anon_send_exit(c, caf::exit_reason::kill);
    client again{port};
    REQUIRE(again.send(get_root));
    REQUIRE(again.read_response());
    CHECK(fx.info_of(l).active_clients == 1);
    { client gone = std::move(again); }
    REQUIRE(fx.await_active(l, 0));
    CHECK(fx.info_of(l).rejected == 0);
  }

  TEST_CASE("requests_served counts parsed heads, not malformed requests") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = hello;
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    client c{port};
    for (int i = 0; i < 3; ++i) {
      REQUIRE(c.send(get_root));
      REQUIRE(c.read_response());
    }
    client bad{port};
    REQUIRE(bad.send("GET / HTTP/1.1\r\nHost: t\r\nbad header\r\n\r\n"));
    auto res = bad.read_response();
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(bad.closed_by_peer());
    CHECK(fx.info_of(l).requests_served == 3);
  }

  TEST_CASE("at most one acceptor per reactor: one socket duplicate each") {
    // Acceptors on one reactor would all wake for the same connection and
    // all but one would get EAGAIN; the listener caps them at the number of
    // reactors (2 here), each with its own duplicate of the listen socket.
    fixture fx;
    auto count_fds = [] {
      int n = 0;
      if (auto* d = ::opendir("/proc/self/fd")) {
        while (auto* e = ::readdir(d))
          n += e->d_name[0] != '.';
        ::closedir(d);
      }
      return n - 1; // the directory stream itself
    };
    auto opts = fixture::loopback();
    opts.routes = hello;
    REQUIRE(opts.num_acceptors == 10); // the default, above the 2 reactors
    auto before = count_fds();
    auto l = fx.start(opts);
    CHECK(count_fds() - before == 1 + 2); // the socket and two duplicates
    for (int i = 0; i < 4; ++i) {         // both acceptors serve
      client c{fx.port_of(l)};
      REQUIRE(c.send(get_root));
      auto res = c.read_response();
      REQUIRE(res);
      CHECK(res->status == 200);
    }
  }

  TEST_CASE("EMFILE on accept backs off; the acceptor keeps serving after") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.num_acceptors = 1;
    opts.routes = hello;
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    // Use up every descriptor but one (under a tight limit, so this stays
    // small), connect with that one: the server's accept4 then fails with
    // EMFILE and the acceptor must back off instead of spinning or dying.
    int highest = 0;
    if (auto* d = ::opendir("/proc/self/fd")) {
      while (auto* e = ::readdir(d))
        highest = std::max(highest, std::atoi(e->d_name));
      ::closedir(d);
    }
    rlimit old{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &old) == 0);
    rlimit tight = old;
    tight.rlim_cur = static_cast<rlim_t>(highest + 16);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);
    std::vector<int> fillers;
    for (int i = 0; i <= highest + 16; ++i) { // bounded by the limit
      int fd = ::dup(0);
      if (fd < 0)
        break;
      fillers.push_back(fd);
    }
    REQUIRE(!fillers.empty());
    REQUIRE(errno == EMFILE);
    ::close(fillers.back());
    fillers.pop_back();
    auto starved = std::make_unique<client>(port); // takes the last descriptor
    REQUIRE(starved->send(get_root));
    CHECK_FALSE(starved->read_response(300ms)); // cannot be accepted yet
    for (int fd : fillers)
      ::close(fd);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &old) == 0);
    // The acceptor retries after its back-off and serves the waiting client.
    auto res = starved->read_response(10s);
    REQUIRE(res);
    CHECK(res->status == 200);
    client late{port};
    REQUIRE(late.send(get_root));
    CHECK(late.read_response());
  }

} // TEST_SUITE

namespace {

// A hosted actor for the cleanup tests. An int ends it; `get_atom` answers
// whether its clock is untouched. `timed` arms CAF timeouts first: a receive
// timeout (`after`) or a request with a finite timeout to a silent actor.
enum class probe_mode { plain, after_timeout, timed_request };

class probe : public detail::hosted_actor {
public:
  probe(caf::actor_config& cfg, detail::reactor* home, probe_mode mode,
        std::shared_ptr<std::atomic<bool>> gone, caf::actor silent)
    : detail::hosted_actor(cfg, home), mode_(mode), gone_(std::move(gone)),
      silent_(std::move(silent)) {}

  ~probe() override { *gone_ = true; }

  caf::behavior make_behavior() override {
    // caf::duration has no hours: an hour in seconds.
    constexpr auto hour = std::chrono::seconds(3600);
    if (mode_ == probe_mode::timed_request)
      request(silent_, hour, 42).then([](int) {});
    auto end = [this](int) { quit(); };
    auto state = [this](caf::get_atom) { return clock_untouched(); };
    if (mode_ == probe_mode::after_timeout)
      return {end, state, caf::after(hour) >> [] {}};
    return {end, state};
  }

private:
  probe_mode mode_;
  std::shared_ptr<std::atomic<bool>> gone_;
  caf::actor silent_;
};

// Spawns a probe on reactor 0, checks its clock state, ends it and checks
// that monitors hear it and that it is destroyed soon (not held by a timeout
// left on CAF's clock).
void end_probe(fixture& fx, probe_mode mode, bool untouched) {
  // (An argument: CAF 0.17 dereferences a null tuple when it spawns a
  // function-based actor without one; UBSan aborts.)
  auto silent =
    fx.sys.spawn([](int) -> caf::behavior { return {[](int) {}}; }, 0);
  auto gone = std::make_shared<std::atomic<bool>>(false);
  auto* home = &module::from(fx.sys)->reactor_at(0);
  auto p = fx.sys.spawn<probe>(home, mode, gone, silent);
  fx.self->monitor(p);
  bool answered = false;
  fx.self->request(p, 5s, caf::get_atom::value)
    .receive(
      [&](bool x) {
        answered = true;
        CHECK(x == untouched);
      },
      [&](caf::error& err) { FAIL(fx.sys.render(err)); });
  REQUIRE(answered);
  // A request queued behind the message that ends it is answered with an
  // error, not dropped.
  caf::anon_send(p, 1);
  bool bounced = false;
  fx.self->request(p, 5s, caf::get_atom::value)
    .receive([&](bool) {},
             [&](caf::error& err) {
               bounced = err == caf::sec::request_receiver_down;
             });
  CHECK(bounced);
  bool down = false;
  fx.self->receive([&](caf::down_msg& dm) { down = dm.source == p; },
                   caf::after(5s) >> [] {});
  CHECK(down);
  p = nullptr;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!*gone && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  CHECK(gone->load());
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
}

} // namespace

TEST_SUITE("actors.hosted") {

  TEST_CASE("a hosted actor that armed no CAF timeout ends like any actor") {
    fixture fx;
    auto before = fx.sys.registry().running();
    end_probe(fx, probe_mode::plain, true);
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (fx.sys.registry().running() > before &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(5ms);
    CHECK(fx.sys.registry().running() <= before);
  }

  TEST_CASE("a hosted actor with a receive timeout has it cancelled on exit") {
    // Skipping the clock here would keep the actor alive for an hour: the
    // clock holds a strong reference until the timeout fires.
    fixture fx;
    end_probe(fx, probe_mode::after_timeout, false);
  }

  TEST_CASE("a hosted actor with a timed request has it cancelled on exit") {
    fixture fx;
    end_probe(fx, probe_mode::timed_request, false);
  }

} // TEST_SUITE

namespace {

// Polls `pred` until it holds or 5 s passed (unregistering after a kill
// runs when the listener's cleanup does, after its down message may be
// out).
template <class Pred>
bool eventually(fixture& fx, Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    fx.self->receive(caf::after(std::chrono::milliseconds(5)) >> [] {});
  }
  return true;
}

// The handler of `sig` now (doctest installs its own).
using sig_fn = void (*)(int);
sig_fn handler_of(int sig) {
  struct sigaction cur {};
  ::sigaction(sig, nullptr, &cur);
  return cur.sa_handler;
}

// Waits (bounded) until serve_until_signal has replaced `before` as the
// handler of `sig`; true once it has.
bool wait_handler_replaced(int sig, sig_fn before) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (handler_of(sig) == before)
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    else
      std::this_thread::yield();
  return true;
}

// Sends the process `sig` once serve_until_signal catches it.
void signal_when_served(int sig, sig_fn before) {
  if (wait_handler_replaced(sig, before))
    ::kill(::getpid(), sig);
}

} // namespace

TEST_SUITE("actors.listener.lifetime") {

  TEST_CASE("a listener serves after every handle is dropped; whereis finds "
            "it and stop ends it") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = hello;
    uint16_t port = 0;
    {
      auto l = start_listener(fx.sys, "kept", opts);
      REQUIRE(l);
      auto p = port_of(fx.sys, *l);
      REQUIRE(p);
      port = *p;
    } // the only handle the caller had is gone
    client c{port};
    REQUIRE(c.send(get_root));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
    auto found = whereis(fx.sys, "kept");
    REQUIRE(found);
    CHECK(port_of(fx.sys, *found) == port);
    auto all = listeners(fx.sys);
    REQUIRE(all.size() == 1);
    CHECK(all[0].name == "kept");
    CHECK(all[0].actor == *found);
    CHECK_FALSE(whereis(fx.sys, "other"));
    CHECK_FALSE(stop(fx.sys, *found));
    // The name is free as soon as stop has answered.
    CHECK_FALSE(whereis(fx.sys, "kept"));
    CHECK(listeners(fx.sys).empty());
    CHECK(c.closed_by_peer());
  }

  TEST_CASE("names are unique per actor system: already_started names the "
            "listener; a failed start does not take the name") {
    fixture fx;
    auto first = start_listener(fx.sys, "api", fixture::loopback());
    REQUIRE(first);
    fx.started.push_back(*first);
    auto second = start_listener(fx.sys, "api", fixture::loopback());
    if (second)
      fx.started.push_back(*second);
    REQUIRE_FALSE(second);
    CHECK(second.error() == errc::already_started);
    CHECK(fx.sys.render(second.error()) == "already_started(api)");
    auto bad = fixture::loopback();
    bad.bind_address = "not-an-address";
    auto failed = start_listener(fx.sys, "other", bad);
    REQUIRE_FALSE(failed);
    CHECK_FALSE(whereis(fx.sys, "other"));
    auto again = start_listener(fx.sys, "other", fixture::loopback());
    REQUIRE(again);
    fx.started.push_back(*again);
    CHECK(listeners(fx.sys).size() == 2);
    // Another actor system has names of its own.
    fixture other;
    auto elsewhere = start_listener(other.sys, "api", fixture::loopback());
    REQUIRE(elsewhere);
    other.started.push_back(*elsewhere);
  }

  TEST_CASE("a drained or killed listener leaves the registry") {
    fixture fx;
    auto drained = start_listener(fx.sys, "drained", fixture::loopback());
    REQUIRE(drained);
    auto res = drain(fx.sys, *drained, std::chrono::seconds(1));
    REQUIRE(res);
    CHECK(res->drained);
    CHECK_FALSE(whereis(fx.sys, "drained"));
    auto killed = start_listener(fx.sys, "killed", fixture::loopback());
    REQUIRE(killed);
    fx.self->monitor(*killed);
    caf::anon_send_exit(*killed, caf::exit_reason::kill);
    bool down = false;
    fx.self->receive([&](caf::down_msg&) { down = true; },
                     caf::after(std::chrono::seconds(5)) >> [] {});
    CHECK(down);
    CHECK(eventually(fx, [&] { return !whereis(fx.sys, "killed"); }));
    // And the name can be used again.
    auto again = start_listener(fx.sys, "killed", fixture::loopback());
    REQUIRE(again);
    fx.started.push_back(*again);
  }

  TEST_CASE("the blocking helpers take plain integers and std::chrono "
            "durations and return values or errors") {
    fixture fx;
    auto l = fx.start(fixture::loopback());
    auto port = port_of(fx.sys, l);
    REQUIRE(port);
    CHECK(*port > 0);
    CHECK(status_of(fx.sys, l) == listener_status::accepting);
    auto conns = connections_of(fx.sys, l);
    REQUIRE(conns);
    CHECK(conns->empty());
    CHECK_FALSE(set_max_concurrent_requests(fx.sys, l, 5));
    CHECK(info_of(fx.sys, l)->max_concurrent_requests == 5);
    CHECK_FALSE(set_max_concurrent_requests(fx.sys, l, 7u));
    CHECK(info_of(fx.sys, l)->max_concurrent_requests == 7);
    CHECK(set_max_concurrent_requests(fx.sys, l, -1) ==
          errc::invalid_listener_opt);
    CHECK(set_max_concurrent_requests(fx.sys, l, ~uint64_t{0}) ==
          errc::invalid_listener_opt);
    // A single-handler listener has no route list to reload.
    auto err = reload_routes(fx.sys, l, route_list{{"/", hello}});
    CHECK(err == errc::no_routes);
    CHECK(err != errc::invalid_listener_opt);
    auto res = drain(fx.sys, l, std::chrono::milliseconds(200));
    REQUIRE(res);
    CHECK(res->drained);
    fx.started.clear();
    // A dead listener answers with an error, not a hang.
    CHECK_FALSE(port_of(fx.sys, l));
    CHECK_FALSE(port_of(fx.sys, listener_actor{}));
  }

  TEST_CASE("serve_until_signal serves until SIGTERM, then drains every "
            "listener and returns 0") {
    fixture fx;
    auto opts = fixture::loopback();
    opts.routes = hello;
    auto a = start_listener(fx.sys, "a", opts);
    auto b = start_listener(fx.sys, "b", opts);
    REQUIRE(a);
    REQUIRE(b);
    client c{*port_of(fx.sys, *a)};
    REQUIRE(c.send(get_root));
    REQUIRE(c.read_response()); // an idle keep-alive connection stays open
    auto before = handler_of(SIGTERM);
    std::thread signaller{[before] { signal_when_served(SIGTERM, before); }};
    auto rc = serve_until_signal(fx.sys, std::chrono::seconds(5));
    signaller.join();
    CHECK(rc == 0);
    CHECK(listeners(fx.sys).empty());
    CHECK(c.closed_by_peer());
    // The previous handler is back.
    CHECK((handler_of(SIGTERM) == before));
  }

  TEST_CASE("serve_until_signal returns 1 when a drain leaves connections "
            "open at its deadline") {
    fixture fx;
    auto opts = fixture::loopback();
    // Never answered (but kept: a dropped responder would answer 500), so
    // the connection stays busy past the drain's deadline.
    auto held = std::make_shared<std::vector<responder>>();
    opts.routes = [held](request& req) {
      held->push_back(req.defer());
      return response::deferred();
    };
    auto l = start_listener(fx.sys, "busy", opts);
    REQUIRE(l);
    client c{*port_of(fx.sys, *l)};
    REQUIRE(c.send(get_root));
    REQUIRE(
      eventually(fx, [&] { return info_of(fx.sys, *l)->in_flight == 1; }));
    auto before = handler_of(SIGINT);
    std::thread signaller{[before] { signal_when_served(SIGINT, before); }};
    auto rc = serve_until_signal(fx.sys, std::chrono::milliseconds(100));
    signaller.join();
    CHECK(rc == 1);
    CHECK(listeners(fx.sys).empty());
  }

  TEST_CASE("serve_until_signal returns 0 without a signal when there is no "
            "listener or every listener ends on its own") {
    fixture fx;
    CHECK(serve_until_signal(fx.sys) == 0);
    auto l = start_listener(fx.sys, "short", fixture::loopback());
    REQUIRE(l);
    auto before = handler_of(SIGTERM);
    std::thread stopper{[&] {
      // Stops it once serve_until_signal waits (its handler is in place).
      wait_handler_replaced(SIGTERM, before);
      (void)stop(fx.sys, *l);
    }};
    CHECK(serve_until_signal(fx.sys) == 0);
    stopper.join();
  }

} // TEST_SUITE
