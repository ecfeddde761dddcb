// The smallest roadrunner program: one handler on 127.0.0.1:8080 (or the
// port given with --port=), served until the process gets SIGINT.
#include <roadrunner/roadrunner.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exec_main.hpp>
#include <caf/scoped_actor.hpp>

#include <csignal>
#include <iostream>

namespace {

struct config : caf::actor_system_config {
  int port = 8080;
  config() {
    opt_group{custom_options_, "global"}.add(port, "port", "TCP port");
  }
};

// Block SIGINT before any thread exists, so every thread inherits the mask
// and caf_main can wait for it with sigwait.
const bool sigint_blocked = [] {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  return pthread_sigmask(SIG_BLOCK, &set, nullptr) == 0;
}();

roadrunner::response hello(roadrunner::request&) {
  return roadrunner::response::text(200, "Hello, World!");
}

void caf_main(caf::actor_system& sys, const config& cfg) {
  roadrunner::listener_options opts;
  opts.port = cfg.port;
  opts.bind_address = "127.0.0.1";
  opts.routes = hello;
  auto listener = roadrunner::start_listener(sys, "hello", opts);
  if (!listener) {
    std::cerr << sys.render(listener.error()) << std::endl;
    return;
  }
  caf::scoped_actor self{sys};
  self
    ->request(*listener, std::chrono::seconds(1), roadrunner::port_atom::value)
    .receive(
      [](uint16_t port) { std::cout << "listening on " << port << std::endl; },
      [](caf::error&) {});
  // Serve until SIGINT; then stop the listener so the system can shut down.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  self
    ->request(*listener, std::chrono::seconds(5), roadrunner::stop_atom::value)
    .receive([](caf::ok_atom) {}, [](caf::error&) {});
}

} // namespace

CAF_MAIN(roadrunner::module)
