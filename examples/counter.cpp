// Stateful handler actors, the two ways:
// - /local: one actor per reactor, hosted on it (no thread hop), each with
//   its own count (`reactor_local_handler` with a stateful_pointer);
// - /shared: one actor on CAF's scheduler that every request goes to (one
//   count for the whole server; each request pays a hop to the scheduler).
//
//   counter --port=8080
//   curl localhost:8080/shared localhost:8080/shared   ->
//   {"count":1}{"count":2}
#include <roadrunner/json.hpp>
#include <roadrunner/roadrunner.hpp>

#include <caf/actor_system.hpp>

#include <chrono>
#include <cstdint>
#include <iostream>

namespace {

struct config : roadrunner::system_config {
  uint16_t port = 8080;
  config() {
    opt_group{custom_options_, "global"}.add(port, "port",
                                             "TCP port (0: any free one)");
  }
};

// The state of one counting actor; destroyed when the actor ends.
struct counter_state {
  int64_t count = 0;
  static inline const char* name = "counter";
};

using counter_ptr = roadrunner::handler_actor::stateful_pointer<counter_state>;

roadrunner::handler_actor::behavior_type counting(counter_ptr self) {
  return {[self](roadrunner::http_request&) {
    return roadrunner::json_response(200, {{"count", ++self->state.count}});
  }};
}

} // namespace

int main(int argc, char** argv) {
  config cfg;
  if (auto rc = roadrunner::parse_args(cfg, argc, argv))
    return *rc;
  caf::actor_system sys{cfg};
  // Function-based actors take an argument here: CAF 0.17 dereferences a
  // null tuple when it spawns one without.
  auto shared =
    sys.spawn([](counter_ptr self, int) { return counting(self); }, 0);
  roadrunner::listener_options opts;
  opts.port = cfg.port;
  opts.bind_address = "127.0.0.1";
  opts.routes = roadrunner::route_list{
    {"/local", roadrunner::reactor_local_handler(sys, counting)},
    {"/shared", roadrunner::actor_handler(shared)},
  };
  auto rc = roadrunner::serve(sys, "counter", opts, std::chrono::seconds(5));
  caf::anon_send_exit(shared, caf::exit_reason::user_shutdown);
  return rc;
}
