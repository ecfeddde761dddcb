// The compile-time checks of the typed WebSocket interface (issue 15): a
// translation unit built three ways by ctest (tests/CMakeLists.txt,
// `websocket_typed_*`). With no case macro it must compile: a full
// ws_session_actor given to typed_websocket, and the messages it accepts
// sent to it. Each case macro adds one misuse that must fail to compile
// with the named static_assert (the test matches its text, so a failure
// for another reason, say a missing include, does not pass):
// - WS_TYPED_NARROW_SESSION: a factory whose session lacks part of
//   ws_session_actor -> "the session must handle every message of
//   ws_session_actor" (typed_websocket).
// - WS_TYPED_WRONG_MESSAGE: a ws_fragment sent to a ws_session_actor,
//   which takes only whole messages -> "receiver does not accept given
//   message" (CAF's typed send).

#include <roadrunner/websocket.hpp>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cstdint>
#include <string>
#include <utility>

namespace {

using roadrunner::websocket_handle;
using roadrunner::ws_session_actor;

ws_session_actor::behavior_type echo(ws_session_actor::pointer,
                                     websocket_handle ws) {
  return {
    [ws](roadrunner::ws_message& m) { ws.send(std::move(m)); },
    [](roadrunner::ws_full_atom) {},
    [](roadrunner::ws_ready_atom) {},
    [](roadrunner::ws_closed_atom, uint16_t, const std::string&) {},
  };
}

#ifdef WS_TYPED_NARROW_SESSION
// Takes messages, but not ws_full / ws_ready / ws_closed.
using narrow_actor = caf::typed_actor<caf::reacts_to<roadrunner::ws_message>>;

narrow_actor::behavior_type narrow(narrow_actor::pointer, websocket_handle ws) {
  return {[ws](roadrunner::ws_message& m) { ws.send(std::move(m)); }};
}
#endif

} // namespace

roadrunner::handler make_routes(caf::actor_system& sys) {
  auto route = roadrunner::typed_websocket(
    sys, [](caf::actor_system& s, websocket_handle ws) {
      return s.spawn(echo, std::move(ws));
    });
#ifdef WS_TYPED_NARROW_SESSION
  route = roadrunner::typed_websocket(
    sys, [](caf::actor_system& s, websocket_handle ws) {
      return s.spawn(narrow, std::move(ws));
    });
#endif
  return route;
}

void poke(const ws_session_actor& session) {
  caf::anon_send(session, roadrunner::ws_message{"hi", false});
  caf::anon_send(session, roadrunner::ws_ready_atom::value);
#ifdef WS_TYPED_WRONG_MESSAGE
  caf::anon_send(session, roadrunner::ws_fragment{"hi", false, true, true});
#endif
}
