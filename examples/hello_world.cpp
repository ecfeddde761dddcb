// The smallest roadrunner program with CAF_MAIN: one handler on
// 127.0.0.1:8080 (or --port=N; 0 = any free port), served until SIGINT or
// SIGTERM, then drained.
//
// The config derives from roadrunner::system_config, which loads the
// reactor module, declares --roadrunner.reactors=N and registers readable
// errors; CAF_MAIN() takes the config type from caf_main's second parameter.
// (CAF_MAIN(roadrunner::module) with a plain config would refuse
// --roadrunner.reactors: CAF 0.17 parses the command line before it loads
// modules.)
#include <roadrunner/roadrunner.hpp>

#include <caf/actor_system.hpp>
#include <caf/exec_main.hpp>

#include <chrono>
#include <iostream>

namespace {

struct config : roadrunner::system_config {
  uint16_t port = 8080;
  config() {
    opt_group{custom_options_, "global"}.add(port, "port",
                                             "TCP port (0: any free one)");
  }
};

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
  std::cout << "listening on " << *roadrunner::port_of(sys, *listener)
            << " with " << roadrunner::module::from(sys)->num_reactors()
            << " reactors" << std::endl;
  roadrunner::serve_until_signal(sys, std::chrono::seconds(5));
}

} // namespace

CAF_MAIN()
