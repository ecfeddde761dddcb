// Starts a listener on an ephemeral loopback port, checks that it answers
// `port`, stops it, and exits 0 — proof that the installed package links
// and works.
#include <roadrunner/roadrunner.hpp>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include <chrono>
#include <iostream>

int main() {
  roadrunner::system_config cfg;
  caf::actor_system sys{cfg};
  roadrunner::listener_options opts;
  opts.port = 0;
  opts.bind_address = "127.0.0.1";
  opts.routes = [](roadrunner::request&) {
    return roadrunner::response::text(200, "ok");
  };
  auto l = roadrunner::start_listener(sys, "consumer", opts);
  if (!l) {
    std::cerr << sys.render(l.error()) << std::endl;
    return 1;
  }
  caf::scoped_actor self{sys};
  int rc = 1;
  self->request(*l, std::chrono::seconds(5), roadrunner::port_atom::value)
    .receive(
      [&](uint16_t port) {
        std::cout << "consumer listened on port " << port << std::endl;
        rc = port > 0 ? 0 : 1;
      },
      [&](caf::error& err) { std::cerr << sys.render(err) << std::endl; });
  self->request(*l, std::chrono::seconds(5), roadrunner::stop_atom::value)
    .receive([](caf::ok_atom) {}, [&](caf::error&) { rc = 1; });
  return rc;
}
