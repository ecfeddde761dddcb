#include "acceptor.hpp"
#include "io/socket.hpp"
#include "listener_shared.hpp"
#include "reactor.hpp"
#include <roadrunner/listener.hpp>
#include <roadrunner/module.hpp>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <fcntl.h>
#include <unistd.h>

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

  ~listener_state() { io::close_fd(fd); }

  static inline const char* name = "roadrunner.listener";
};

using listener_ptr = listener_actor::stateful_pointer<listener_state>;

// The default handler when no `routes` are given: 404 with a hint, as the
// seed's `roadrunner_default_handler`.
response default_handler(request&) {
  return response::text(404, "Not Found: no routes configured on this "
                             "roadrunner listener\n");
}

void finish_stop(listener_ptr self) {
  auto& st = self->state;
  io::close_fd(st.fd);
  st.fd = -1;
  for (auto& rp : st.stop_waiters)
    rp.deliver(caf::ok_atom::value);
  st.stop_waiters.clear();
  self->quit();
}

listener_actor::behavior_type listener_impl(listener_ptr self,
                                            detail::listener_shared_ptr shared,
                                            int fd, uint16_t port,
                                            module* mod) {
  auto& st = self->state;
  st.shared = std::move(shared);
  st.fd = fd;
  st.port = port;
  // The acceptors share the socket through duplicates so each can register
  // it in its own reactor's epoll set.
  for (int64_t i = 0; i < st.shared->opts.num_acceptors; ++i) {
    auto& r = mod->next_reactor();
    int dup_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0)
      break; // fewer acceptors; at least one is needed (checked below)
    auto a = self->system().spawn<detail::acceptor>(&r, dup_fd, st.shared);
    self->link_to(a);
    self->monitor(a);
    st.acceptors.push_back(a);
  }
  st.acceptors_alive = st.acceptors.size();
  if (st.acceptors.empty())
    self->quit(make_error(errc::listen_failed, "cannot duplicate the socket"));
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
    if (s.stopping && s.acceptors_alive == 0)
      finish_stop(self);
  });
  return {
    [self](port_atom) { return self->state.port; },
    [self](info_atom) { return self->state.shared->stats.snapshot(); },
    [self](status_atom) { return self->state.status; },
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
  auto* mod = module::from(sys);
  if (mod == nullptr || mod->num_reactors() == 0)
    return make_error(errc::module_not_loaded,
                      "load it with cfg.load<roadrunner::module>()");
  std::string reason;
  int fd = io::listen_tcp(opts.bind_address, static_cast<int>(opts.port),
                          static_cast<int>(opts.socket_backlog), reason);
  if (fd < 0)
    return make_error(errc::listen_failed, std::move(reason));
  auto port = io::local_port(fd);
  auto shared = std::make_shared<detail::listener_shared>();
  shared->name = std::move(name);
  shared->limits = http1_limits(opts);
  shared->dispatch =
    opts.routes.empty() ? handler{default_handler} : opts.routes.single();
  shared->stats.max_clients = static_cast<uint64_t>(opts.max_clients);
  shared->opts = std::move(opts);
  return sys.spawn(listener_impl, std::move(shared), fd, port, mod);
}

} // namespace roadrunner
