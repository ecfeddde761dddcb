// The listener's helpers for code outside actors: finding listeners by
// name, one blocking call per listener message, and serving from main until
// a signal.
#include "io/socket.hpp"
#include "listener_registry.hpp"
#include <roadrunner/listener.hpp>
#include <roadrunner/module.hpp>

#include <caf/actor_cast.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <thread>

namespace roadrunner {

std::optional<listener_actor> whereis(caf::actor_system& sys,
                                      std::string_view name) {
  auto* mod = module::from(sys);
  if (mod == nullptr)
    return std::nullopt;
  return mod->listeners().find(name);
}

std::vector<listener_entry> listeners(caf::actor_system& sys) {
  auto* mod = module::from(sys);
  if (mod == nullptr)
    return {};
  return mod->listeners().all();
}

namespace {

// One request from a scoped actor, waiting at most `timeout` for `T`.
template <class T, class... Ts>
caf::expected<T> ask(caf::actor_system& sys, const listener_actor& l,
                     caf::timespan timeout, Ts&&... xs) {
  if (!l)
    return caf::make_error(caf::sec::invalid_argument);
  caf::scoped_actor self{sys};
  caf::expected<T> result{caf::make_error(caf::sec::request_timeout)};
  self->request(l, timeout, std::forward<Ts>(xs)...)
    .receive([&](T& x) { result = std::move(x); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

caf::error ask_ok(caf::expected<caf::ok_atom> res) {
  return res ? caf::error{} : std::move(res.error());
}

} // namespace

caf::expected<uint16_t> port_of(caf::actor_system& sys,
                                const listener_actor& l) {
  return ask<uint16_t>(sys, l, reply_timeout, port_atom::value);
}

caf::expected<listener_info> info_of(caf::actor_system& sys,
                                     const listener_actor& l) {
  return ask<listener_info>(sys, l, reply_timeout, info_atom::value);
}

caf::expected<listener_status> status_of(caf::actor_system& sys,
                                         const listener_actor& l) {
  return ask<listener_status>(sys, l, reply_timeout, status_atom::value);
}

caf::expected<std::vector<caf::actor>> connections_of(caf::actor_system& sys,
                                                      const listener_actor& l) {
  return ask<std::vector<caf::actor>>(sys, l, reply_timeout,
                                      connections_atom::value);
}

caf::expected<caf::group> drain_group_of(caf::actor_system& sys,
                                         const listener_actor& l) {
  return ask<caf::group>(sys, l, reply_timeout, drain_group_atom::value);
}

caf::error stop(caf::actor_system& sys, const listener_actor& l) {
  return ask_ok(ask<caf::ok_atom>(sys, l, reply_timeout, stop_atom::value));
}

caf::error reload_routes(caf::actor_system& sys, const listener_actor& l,
                         route_list routes) {
  return ask_ok(ask<caf::ok_atom>(
    sys, l, reply_timeout, reload_routes_atom::value, std::move(routes)));
}

namespace detail {

caf::expected<drain_result>
drain(caf::actor_system& sys, const listener_actor& l, caf::timespan timeout) {
  if (timeout.count() < 0)
    timeout = caf::timespan{0};
  return ask<drain_result>(sys, l, timeout + reply_timeout, drain_atom::value,
                           timeout);
}

caf::error set_max_concurrent_requests(caf::actor_system& sys,
                                       const listener_actor& l, int64_t cap) {
  return ask_ok(
    ask<caf::ok_atom>(sys, l, reply_timeout, max_requests_atom::value, cap));
}

} // namespace detail

// -- serve_until_signal -------------------------------------------------------

namespace {

using signal_atom = caf::atom_constant<caf::atom("rr_signal")>;

// The write end of the self-pipe the signal handler writes to (a signal
// handler may only call async-signal-safe functions such as write).
int signal_pipe_w = -1;

extern "C" void on_stop_signal(int sig) {
  int saved = errno;
  auto byte = static_cast<char>(sig);
  [[maybe_unused]] auto n = ::write(signal_pipe_w, &byte, 1);
  errno = saved;
}

// SIGINT and SIGTERM go to the self-pipe while this lives (and until the
// first signal); the previous handlers come back after.
class signal_catcher {
public:
  signal_catcher() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) {
      fds_[0] = fds_[1] = -1;
      return;
    }
    signal_pipe_w = fds_[1];
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
    installed_ = true;
  }

  ~signal_catcher() {
    restore();
    signal_pipe_w = -1;
    io::close_fd(fds_[0]);
    io::close_fd(fds_[1]);
  }

  signal_catcher(const signal_catcher&) = delete;
  signal_catcher& operator=(const signal_catcher&) = delete;

  bool ok() const noexcept { return fds_[0] >= 0; }

  void restore() {
    if (!installed_)
      return;
    installed_ = false;
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }

  /// Blocks until a byte arrives: a signal number, or 0 from `wake`.
  int wait() {
    char byte = 0;
    for (;;) {
      auto n = ::read(fds_[0], &byte, 1);
      if (n == 1)
        return byte;
      if (n < 0 && errno == EINTR)
        continue;
      return 0;
    }
  }

  /// Ends a `wait` without a signal.
  void wake() {
    char byte = 0;
    [[maybe_unused]] auto n = ::write(fds_[1], &byte, 1);
  }

private:
  int fds_[2] = {-1, -1};
  bool installed_ = false;
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

} // namespace

int serve_until_signal(caf::actor_system& sys,
                       std::chrono::milliseconds drain_timeout) {
  signal_catcher catcher;
  if (!catcher.ok())
    return 1;
  caf::scoped_actor self{sys};
  auto all = listeners(sys);
  if (all.empty())
    return 0;
  for (auto& e : all)
    self->monitor(e.actor);
  size_t alive = all.size();
  // The pipe is read on a thread of our own; it turns a signal into a
  // message, so one receive loop sees signals and listener exits alike.
  auto me = caf::actor_cast<caf::actor>(self);
  std::thread reader{[&catcher, me] {
    if (auto sig = catcher.wait(); sig != 0)
      caf::anon_send(me, signal_atom::value, sig);
  }};
  bool signalled = false;
  self->receive_while([&] { return alive > 0 && !signalled; })(
    [&](caf::down_msg&) { --alive; },
    [&](signal_atom, int) { signalled = true; });
  catcher.restore();
  if (!signalled)
    catcher.wake();
  reader.join();
  if (!signalled)
    return 0;
  // Drain every listener at once (the requests go out before the first
  // answer is awaited), including any started since we began.
  auto timeout = std::chrono::duration_cast<caf::timespan>(drain_timeout);
  using handle = decltype(self->request(std::declval<listener_actor>(), timeout,
                                        drain_atom::value, timeout));
  std::vector<handle> pending;
  for (auto& e : listeners(sys))
    pending.push_back(self->request(e.actor, timeout + reply_timeout,
                                    drain_atom::value, timeout));
  int rc = 0;
  for (auto& h : pending)
    h.receive([&](drain_result& r) { rc = r.drained ? rc : 1; },
              [&](caf::error&) { rc = 1; });
  return rc;
}

int serve(caf::actor_system& sys, std::string name, listener_options opts,
          std::chrono::milliseconds drain_timeout) {
  auto l = start_listener(sys, name, std::move(opts));
  if (!l) {
    std::cerr << sys.render(l.error()) << std::endl;
    return 1;
  }
  auto port = port_of(sys, *l);
  if (!port) {
    std::cerr << sys.render(port.error()) << std::endl;
    (void)stop(sys, *l);
    return 1;
  }
  std::cout << name << " listening on port " << *port << std::endl;
  return serve_until_signal(sys, drain_timeout);
}

} // namespace roadrunner
