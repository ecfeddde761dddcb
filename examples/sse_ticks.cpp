// Server-sent events from a stateful loop handler: GET /ticks/:n streams n
// events 50 ms apart (a timer message, never a sleep), then ends the
// stream; a drain (SIGINT/SIGTERM) sends a last "drain" event first.
//
//   sse_ticks --port=8080
//   curl -N localhost:8080/ticks/3
#include <roadrunner/roadrunner.hpp>

#include <caf/actor_system.hpp>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>

namespace {

struct config : roadrunner::system_config {
  uint16_t port = 8080;
  config() {
    opt_group{custom_options_, "global"}.add(port, "port",
                                             "TCP port (0: any free one)");
  }
};

using tick_atom = caf::atom_constant<caf::atom("tick")>;

// A loop handler (one actor per request) that also hears its own timer.
using ticker =
  roadrunner::loop_handler_actor::extend<caf::reacts_to<tick_atom>>;

struct ticker_state {
  roadrunner::stream_writer out;
  int64_t sent = 0;
  int64_t wanted = 0;
};

ticker::behavior_type ticking(ticker::stateful_pointer<ticker_state> self) {
  return {
    [self](roadrunner::http_request& req) -> roadrunner::response {
      auto n = req->param<int64_t>("n");
      if (!n || *n < 1 || *n > 10000)
        return roadrunner::response::text(400, "n must be 1..10000\n");
      self->state.wanted = *n;
      self->state.out = req.reply.stream(roadrunner::sse::head());
      if (self->state.out)
        self->send(self, tick_atom::value);
      return roadrunner::response::deferred();
    },
    [self](tick_atom) {
      auto& st = self->state;
      auto id = std::to_string(++st.sent);
      auto ev = roadrunner::sse::format({.data = "tick " + id, .id = id});
      if (st.out.write(*ev) == roadrunner::write_status::closed)
        return self->quit(); // the client left
      if (st.sent == st.wanted) {
        st.out.finish();
        return self->quit();
      }
      self->delayed_send(self, std::chrono::milliseconds(50), tick_atom::value);
    },
    [self](roadrunner::drain_atom, int64_t) {
      auto ev = roadrunner::sse::format({.data = "bye", .type = "drain"});
      self->state.out.write(*ev);
      self->state.out.finish();
      self->quit();
    },
  };
}

} // namespace

int main(int argc, char** argv) {
  config cfg;
  if (auto rc = roadrunner::parse_args(cfg, argc, argv))
    return *rc;
  caf::actor_system sys{cfg};
  roadrunner::listener_options opts;
  opts.port = cfg.port;
  opts.bind_address = "127.0.0.1";
  opts.routes = roadrunner::route_list{
    {"/ticks/:n",
     roadrunner::loop_handler<ticker>(sys, ticking),
     {},
     {},
     {"GET"}},
  };
  return roadrunner::serve(sys, "sse_ticks", opts, std::chrono::seconds(5));
}
