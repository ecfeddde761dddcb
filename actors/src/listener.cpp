#include "acceptor.hpp"
#include "io/socket.hpp"
#include "listener_registry.hpp"
#include "listener_shared.hpp"
#include "reactor.hpp"
#include "slot_reconciler.hpp"
#include <roadrunner/listener.hpp>
#include <roadrunner/module.hpp>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/group_manager.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

namespace roadrunner {

const char* to_string(listener_status x) noexcept {
  return x == listener_status::accepting ? "accepting" : "draining";
}

namespace {

// The listener's state. Runs on: the CAF scheduler (a normal typed actor).
struct listener_state {
  detail::listener_shared_ptr shared;
  int fd = -1;
  uint16_t port = 0;
  listener_status status = listener_status::accepting;
  std::vector<caf::actor> acceptors;
  size_t acceptors_alive = 0;
  bool stopping = false;
  std::vector<caf::typed_response_promise<caf::ok_atom>> stop_waiters;
  // Drain (see the drain handler).
  bool draining = false;
  size_t drain_acks_pending = 0;
  std::vector<caf::typed_response_promise<drain_result>> drain_waiters;
  // Slot reconciliation.
  slot_reconciler reconciler;
  // Where the system holds us by name.
  module* mod = nullptr;
  // User actors that want the drain notice (connections are told by their
  // acceptors instead: no group membership per connection).
  caf::group drain_group;

  ~listener_state() { io::close_fd(fd); }

  static inline const char* name = "roadrunner.listener";
};

// The listener's full interface: the public one plus messages from its
// acceptors and its own timer. Users only ever see `listener_actor`.
using listener_impl_actor =
  listener_actor::extend<caf::reacts_to<detail::conn_down_atom>,
                         caf::reacts_to<detail::drain_deadline_atom>,
                         caf::reacts_to<detail::reconcile_atom>>;

using listener_ptr = listener_impl_actor::stateful_pointer<listener_state>;

void deliver_drain(listener_ptr self, drain_result res) {
  auto& st = self->state;
  for (auto& rp : st.drain_waiters)
    rp.deliver(res);
  st.drain_waiters.clear();
}

// Gives the name back before any answer to stop or drain goes out, so a
// caller may start a listener of the same name as soon as it has the answer.
// (A kill or crash unregisters through the functor attached at start.)
void unregister(listener_ptr self) {
  auto& st = self->state;
  st.mod->listeners().remove(st.shared->name, self->address());
}

void finish_stop(listener_ptr self) {
  auto& st = self->state;
  unregister(self);
  io::close_fd(st.fd);
  st.fd = -1;
  for (auto& rp : st.stop_waiters)
    rp.deliver(caf::ok_atom::value);
  st.stop_waiters.clear();
  // A stop during a drain answers the drain too.
  auto left = st.shared->stats.snapshot().active_clients;
  deliver_drain(self, drain_result{left == 0, left});
  self->quit();
}

// Ends a drain: answers, ends the acceptors (which end any connection still
// alive and release its slot), and exits for good (docs/upstream-bugs.md F6:
// the listener must not come back).
void finish_drain(listener_ptr self, drain_result res) {
  auto& st = self->state;
  unregister(self);
  telemetry_event e;
  e.kind = telemetry_kind::drain_finished;
  e.count = res.remaining;
  st.shared->emit(e);
  deliver_drain(self, res);
  st.stopping = true; // acceptor exits are expected from now on
  for (auto& a : st.acceptors)
    self->send_exit(a, caf::exit_reason::user_shutdown);
  self->quit();
}

// Drained once every acceptor closed its socket and told its connections,
// and no connection holds a slot any more.
void check_drained(listener_ptr self) {
  auto& st = self->state;
  if (st.draining && st.drain_acks_pending == 0 &&
      st.shared->stats.snapshot().active_clients == 0)
    finish_drain(self, drain_result{true, 0});
}

listener_impl_actor::behavior_type
listener_impl(listener_ptr self, detail::listener_shared_ptr shared, int fd,
              uint16_t port, std::vector<int> dup_fds, module* mod) {
  auto& st = self->state;
  st.shared = std::move(shared);
  st.fd = fd;
  st.port = port;
  st.mod = mod;
  st.drain_group = self->system().groups().anonymous();
  self->attach_functor([mod, name = st.shared->name, addr = self->address()] {
    mod->listeners().remove(name, addr);
  });
  // The acceptors share the socket through duplicates (made by
  // start_listener) so each can register it in its own reactor's epoll set.
  for (int dup_fd : dup_fds) {
    auto& r = mod->next_reactor();
    auto a = self->system().spawn<detail::acceptor>(&r, dup_fd, st.shared);
    self->link_to(a);
    self->monitor(a);
    st.acceptors.push_back(a);
  }
  st.acceptors_alive = st.acceptors.size();
  if (auto interval = st.shared->opts.slot_reconciliation)
    self->delayed_send(self, *interval, detail::reconcile_atom::value);
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // An acceptor ended: during stop that is expected; otherwise the
    // listener goes down with it (the seed spawn-links its acceptors).
    if (!self->state.stopping && msg.reason)
      self->quit(msg.reason);
  });
  self->set_down_handler([self](caf::down_msg&) {
    auto& s = self->state;
    if (s.acceptors_alive > 0)
      --s.acceptors_alive;
    if (s.draining && !s.stopping && s.acceptors_alive == 0)
      check_drained(self);
    if (s.stopping && s.acceptors_alive == 0)
      finish_stop(self);
  });
  return {
    [self](port_atom) { return self->state.port; },
    [self](info_atom) { return self->state.shared->stats.snapshot(); },
    [self](status_atom) { return self->state.status; },
    [self](drain_group_atom) { return self->state.drain_group; },
    [self](connections_atom) -> caf::result<std::vector<caf::actor>> {
      // Each acceptor knows the connections it spawned; gather them all.
      struct gather {
        caf::typed_response_promise<std::vector<caf::actor>> rp;
        std::vector<caf::actor> all;
        size_t pending;
      };
      auto& s = self->state;
      auto g = std::make_shared<gather>(
        gather{self->make_response_promise<std::vector<caf::actor>>(),
               {},
               s.acceptors.size()});
      if (g->pending == 0) {
        g->rp.deliver(g->all);
        return g->rp;
      }
      auto done = [g] {
        if (--g->pending == 0)
          g->rp.deliver(std::move(g->all));
      };
      for (auto& a : s.acceptors)
        self->request(a, caf::infinite, connections_atom::value)
          .then(
            [g, done](std::vector<caf::actor>& xs) {
              g->all.insert(g->all.end(), xs.begin(), xs.end());
              done();
            },
            [done](caf::error&) { done(); });
      return g->rp;
    },
    [self](drain_atom, caf::timespan timeout) -> caf::result<drain_result> {
      // Graceful shutdown: stop accepting at once, tell every connection
      // (idle ones close, requests in flight finish with connection:
      // close), answer when the last connection ended — event-driven by
      // the acceptors' down messages — or at the deadline.
      auto& s = self->state;
      auto rp = self->make_response_promise<drain_result>();
      s.drain_waiters.push_back(rp);
      if (s.draining || s.stopping)
        return rp; // the running drain (or stop) answers this one too
      s.draining = true;
      s.status = listener_status::draining;
      telemetry_event started;
      started.kind = telemetry_kind::drain_started;
      s.shared->emit(started);
      io::close_fd(s.fd); // our copy; each acceptor closes its duplicate
      s.fd = -1;
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
      auto deadline = detail::monotonic_ms() + std::max<int64_t>(0, ms.count());
      bool notify = s.shared->opts.graceful_drain;
      if (notify)
        caf::anon_send(s.drain_group, drain_atom::value, deadline);
      s.drain_acks_pending = s.acceptors.size();
      for (auto& a : s.acceptors)
        self->request(a, caf::infinite, drain_atom::value, deadline, notify)
          .then(
            [self](caf::ok_atom) {
              --self->state.drain_acks_pending;
              check_drained(self);
            },
            [self](caf::error&) {
              --self->state.drain_acks_pending;
              check_drained(self);
            });
      self->delayed_send(self, timeout, detail::drain_deadline_atom::value);
      return rp;
    },
    [self](detail::conn_down_atom) { check_drained(self); },
    [self](detail::reconcile_atom) {
      // Count the connection actors the acceptors hold (the drain group),
      // then let the two-tick filter decide what is orphaned.
      auto& s = self->state;
      if (s.draining || s.stopping)
        return;
      auto interval = *s.shared->opts.slot_reconciliation;
      auto pending = std::make_shared<size_t>(s.acceptors.size());
      auto alive = std::make_shared<uint64_t>(0);
      auto events_before =
        s.shared->stats.slot_events.load(std::memory_order_acquire);
      auto done = [self, pending, alive, interval, events_before] {
        if (--*pending > 0)
          return;
        auto& ls = self->state;
        auto& stats = ls.shared->stats;
        auto counter = stats.active_clients.load(std::memory_order_acquire);
        auto quiet =
          stats.slot_events.load(std::memory_order_acquire) == events_before;
        if (auto n = ls.reconciler.tick(counter, *alive, quiet); n > 0) {
          stats.active_clients.fetch_sub(static_cast<int64_t>(n),
                                         std::memory_order_acq_rel);
          telemetry_event e;
          e.kind = telemetry_kind::slots_reconciled;
          e.count = n;
          ls.shared->emit(e);
        }
        self->delayed_send(self, interval, detail::reconcile_atom::value);
      };
      for (auto& a : s.acceptors)
        self->request(a, caf::infinite, detail::conn_count_atom::value)
          .then(
            [alive, done](uint64_t n) {
              *alive += n;
              done();
            },
            [done](caf::error&) { done(); });
    },
    [self](max_requests_atom, int64_t cap) -> caf::result<caf::ok_atom> {
      if (cap < 0)
        return make_error(errc::invalid_listener_opt,
                          std::string{"max_concurrent_requests"},
                          std::to_string(cap), std::string{"must be >= 0"});
      self->state.shared->stats.max_concurrent_requests.store(
        static_cast<uint64_t>(cap), std::memory_order_relaxed);
      return caf::ok_atom::value;
    },
    [self](detail::drain_deadline_atom) {
      auto& s = self->state;
      if (!s.draining || s.stopping)
        return;
      auto left = s.shared->stats.snapshot().active_clients;
      finish_drain(self, drain_result{left == 0, left});
    },
    [self](reload_routes_atom, route_list& list) -> caf::result<caf::ok_atom> {
      // Compile off the request path, then swap atomically: requests in
      // flight finish on the table they started with.
      auto& sh = *self->state.shared;
      if (!sh.reloadable)
        return make_error(errc::no_routes);
      auto table = compile(std::move(list), sh.opts.middlewares);
      if (!table)
        return make_error(errc::invalid_listener_opt, std::string{"routes"},
                          "route " + std::to_string(table.error().index) +
                            " \"" + table.error().path + "\"",
                          table.error().reason);
      sh.store_routes(table.value());
      return caf::ok_atom::value;
    },
    [self](reload_tls_atom) -> caf::result<caf::ok_atom> {
      auto& sh = *self->state.shared;
      if (!sh.tls || !sh.opts.tls)
        return make_error(errc::invalid_listener_opt, std::string{"tls"},
                          std::string{}, std::string{"not a TLS listener"});
      if (auto err = sh.tls->reload(*sh.opts.tls, sh.opts.protocols))
        return make_error(errc::invalid_listener_opt, std::move(err->option),
                          std::move(err->value), std::move(err->reason));
      return caf::ok_atom::value;
    },
    [self](stop_atom) -> caf::result<caf::ok_atom> {
      auto& s = self->state;
      auto rp = self->make_response_promise<caf::ok_atom>();
      s.stop_waiters.push_back(rp);
      if (!s.stopping) {
        s.stopping = true;
        for (auto& a : s.acceptors)
          self->send_exit(a, caf::exit_reason::user_shutdown);
        if (s.acceptors_alive == 0)
          finish_stop(self);
      }
      return rp;
    },
  };
}

} // namespace

telemetry_sink telemetry_to(caf::actor subscriber,
                            telemetry_interest interest) {
  auto fn = [subscriber](const telemetry_event& e) {
    telemetry_record r;
    r.kind = e.kind;
    r.listener_name = std::string{e.listener_name};
    r.request_id = std::string{e.request_id};
    r.method = std::string{e.method};
    r.path = std::string{e.path};
    if (e.peer != nullptr) {
      r.peer_ip = e.peer->ip;
      r.peer_port = e.peer->port;
    }
    r.status = e.status;
    r.reason = std::string{e.reason};
    r.duration_ns = e.duration.count();
    r.count = e.count;
    r.query = std::string{e.query};
    r.protocol = std::string{e.protocol};
    r.host = std::string{e.host};
    r.user_agent = std::string{e.user_agent};
    r.referer = std::string{e.referer};
    r.bytes_received = e.bytes_received;
    r.bytes_sent = e.bytes_sent;
    r.body_bytes_sent = e.body_bytes_sent;
    r.error_code = e.error_code;
    caf::anon_send(subscriber, std::move(r));
  };
  return {std::move(fn), interest};
}

caf::expected<listener_actor> start_listener(caf::actor_system& sys,
                                             std::string name,
                                             listener_options opts) {
  if (auto err = validate(opts)) {
    auto code = err->kind == option_error_kind::invalid_listener_opt
                  ? errc::invalid_listener_opt
                  : errc::listener_opt_conflict;
    return make_error(code, std::move(err->option), std::move(err->value),
                      std::move(err->reason));
  }
  auto table = compile_routes(opts);
  if (!table) {
    auto& e = table.error();
    if (e.index == route_error::listener)
      return make_error(errc::invalid_listener_opt, std::string{"middlewares"},
                        std::string{"listener middleware"}, e.reason);
    return make_error(
      errc::invalid_listener_opt, std::string{"routes"},
      "route " + std::to_string(e.index) + " \"" + e.path + "\"", e.reason);
  }
  // The TLS context is built once here (validate built one to check the
  // options and dropped it) and shared by every connection.
  tls::context_ptr tls_ctx;
  if (opts.tls) {
    auto ctx = tls::make_context(*opts.tls, opts.protocols);
    if (!ctx) {
      auto err = ctx.error();
      auto code = err.kind == option_error_kind::invalid_listener_opt
                    ? errc::invalid_listener_opt
                    : errc::listener_opt_conflict;
      return make_error(code, std::move(err.option), std::move(err.value),
                        std::move(err.reason));
    }
    tls_ctx = ctx.value();
  }
  auto* mod = module::from(sys);
  if (mod == nullptr || mod->num_reactors() == 0)
    return make_error(errc::module_not_loaded,
                      "load it with cfg.load<roadrunner::module>()");
  // Claim the name before binding; every failure below gives it back.
  auto& registry = mod->listeners();
  if (!registry.reserve(name))
    return make_error(errc::already_started, name);
  struct reservation {
    detail::listener_registry& reg;
    const std::string& name;
    bool kept = false;
    ~reservation() {
      if (!kept)
        reg.cancel(name);
    }
  } claim{registry, name};
  std::string reason;
  int fd = -1;
  if (opts.listen_fd >= 0) {
    // An inherited socket (systemd socket activation): it must listen.
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (::getsockopt(opts.listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &listening,
                     &len) != 0 ||
        listening == 0)
      return make_error(errc::listen_failed, "listen_fd " +
                                               std::to_string(opts.listen_fd) +
                                               " is not a listening socket");
    fd = opts.listen_fd;
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    int one = 1; // inherited by accepted sockets, as listen_tcp sets it
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  } else {
    fd = io::listen_tcp(opts.bind_address, static_cast<int>(opts.port),
                        static_cast<int>(opts.socket_backlog), reason,
                        opts.reuse_port);
  }
  if (fd < 0)
    return make_error(errc::listen_failed, std::move(reason));
  auto port = io::local_port(fd);
  // At most one acceptor per reactor: acceptors sharing a reactor would all
  // see the same readiness (EPOLLEXCLUSIVE picks one waiter per epoll set,
  // not one registration within it) and all but one would get EAGAIN.
  auto acceptors =
    std::min(opts.num_acceptors, static_cast<int64_t>(mod->num_reactors()));
  std::vector<int> dup_fds;
  for (int64_t i = 0; i < acceptors; ++i) {
    int dup_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) {
      auto err = make_error(errc::listen_failed,
                            std::string{"duplicating the socket for an "
                                        "acceptor: "} +
                              std::strerror(errno));
      for (int x : dup_fds)
        io::close_fd(x);
      io::close_fd(fd);
      return err;
    }
    dup_fds.push_back(dup_fd);
  }
  auto shared = std::make_shared<detail::listener_shared>();
  shared->name = name;
  shared->limits = http1_limits(opts);
  shared->store_routes(table.value());
  shared->stats.max_clients = static_cast<uint64_t>(opts.max_clients);
  shared->tls = std::move(tls_ctx);
  shared->h2c = !opts.tls && opts.protocols.size() == 1 &&
                opts.protocols[0].proto == protocol::http2;
  if (opts.max_concurrent_requests)
    shared->stats.max_concurrent_requests =
      static_cast<uint64_t>(*opts.max_concurrent_requests);
  shared->reloadable = opts.routes.is_list();
  opts.routes = routes{}; // only the compiled table holds the handlers
  shared->opts = std::move(opts);
  shared->body_budget =
    std::make_unique<io::body_budget>(shared->opts.body_memory_budget);
  shared->bodies = {shared->body_budget.get(), shared->opts.body_spool_dir};
  auto impl = sys.spawn(listener_impl, std::move(shared), fd, port,
                        std::move(dup_fds), mod);
  auto handle = caf::actor_cast<listener_actor>(impl);
  registry.publish(name, handle);
  claim.kept = true;
  return handle;
}

} // namespace roadrunner
