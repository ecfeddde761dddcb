#pragma once

#include <roadrunner/errors.hpp>
#include <roadrunner/options.hpp>
#include <roadrunner/stats.hpp>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace roadrunner {

// -- messages -----------------------------------------------------------------

/// `port` -> the bound TCP port (`uint16_t`).
using port_atom = caf::atom_constant<caf::atom("port")>;
/// `info` -> `listener_info`.
using info_atom = caf::atom_constant<caf::atom("info")>;
/// `status` -> `listener_status`.
using status_atom = caf::atom_constant<caf::atom("status")>;
/// `stop` -> `ok` once the listen socket is closed, the acceptors have ended
/// and the live connections were told to close; the listener then exits.
using stop_atom = caf::atom_constant<caf::atom("stop")>;

/// `connections` -> the live connection actors (`std::vector<caf::actor>`),
/// e.g. to inspect or end them; each one's end releases its slot.
using connections_atom = caf::atom_constant<caf::atom("conns")>;

/// `(drain, timeout)` -> `drain_result`: graceful shutdown (see
/// `drain_result`).
using drain_atom = caf::atom_constant<caf::atom("drain")>;

/// The answer to `drain`: `drained` when every connection ended before the
/// deadline, else `remaining` connections were still alive at the deadline
/// and were ended then. Either way the listener exits after answering.
struct drain_result {
  bool drained = false;
  uint64_t remaining = 0;
};

/// CAF inspection of `drain_result`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drain_result& x) {
  return f(caf::meta::type_name("roadrunner::drain_result"), x.drained,
           x.remaining);
}

/// `(reload_routes, route_list)` -> `ok`: compiles the list (with the
/// listener-wide middlewares) and swaps it in atomically; requests in flight
/// finish on the table they started with. Errors: `no_routes` for a
/// single-handler listener, `invalid_listener_opt(routes, ...)` for a bad
/// list (the old table stays).
using reload_routes_atom = caf::atom_constant<caf::atom("reload")>;

/// `(max_concurrent_requests, N)` -> `ok`: changes the request cap at run
/// time (0 = infinity). A negative N answers `invalid_listener_opt`.
using max_requests_atom = caf::atom_constant<caf::atom("max_reqs")>;

/// `reload_tls` -> `ok`: reads `tls.cert_file`/`tls.key_file` (or the PEM
/// fields) again and makes later handshakes present the new certificate;
/// open connections keep theirs. A bad pair keeps the old one and answers
/// `invalid_listener_opt` naming the field and the reason. A plain-TCP
/// listener answers `invalid_listener_opt(tls, ...)`.
using reload_tls_atom = caf::atom_constant<caf::atom("reload_tls")>;

/// The lifecycle phase answered to `status`.
enum class listener_status : uint8_t { accepting, draining };

/// "accepting" or "draining".
const char* to_string(listener_status x) noexcept;

/// CAF inspection of `listener_info` (makes it a message type).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, listener_info& x) {
  return f(caf::meta::type_name("roadrunner::listener_info"), x.active_clients,
           x.max_clients, x.requests_served, x.rejected, x.in_flight,
           x.max_concurrent_requests, x.throttled, x.hibernations);
}

/// The listener's messaging interface. Runs on: the CAF scheduler.
using listener_actor = caf::typed_actor<
  caf::replies_to<port_atom>::with<uint16_t>,
  caf::replies_to<info_atom>::with<listener_info>,
  caf::replies_to<status_atom>::with<listener_status>,
  caf::replies_to<connections_atom>::with<std::vector<caf::actor>>,
  caf::replies_to<stop_atom>::with<caf::ok_atom>,
  caf::replies_to<drain_atom, caf::timespan>::with<drain_result>,
  caf::replies_to<reload_routes_atom, route_list>::with<caf::ok_atom>,
  caf::replies_to<max_requests_atom, int64_t>::with<caf::ok_atom>,
  caf::replies_to<reload_tls_atom>::with<caf::ok_atom>>;

// -- telemetry ----------------------------------------------------------------

/// An owned copy of a `telemetry_event`, as sent to an actor subscriber.
struct telemetry_record {
  telemetry_kind kind = telemetry_kind::request_start;
  std::string listener_name;
  std::string request_id;
  std::string method;
  std::string path;
  std::string peer_ip;
  uint16_t peer_port = 0;
  int status = 0;
  std::string reason;
  int64_t duration_ns = 0;
  uint64_t count = 0;
};

/// A telemetry handler that sends every event to `subscriber` as a
/// `telemetry_record` (one message per event, sent from the emitting
/// thread). Pass it as `listener_options::telemetry`.
telemetry_handler telemetry_to(caf::actor subscriber);

// -- starting -----------------------------------------------------------------

/// Validates `opts`, binds the listen socket and spawns the listener with its
/// `num_acceptors` acceptor actors on the reactors of `roadrunner::module`.
///
/// Errors (category "roadrunner"): `invalid_listener_opt` /
/// `listener_opt_conflict` naming the option, value and reason;
/// `listen_failed` (e.g. the port is in use); `module_not_loaded`.
/// Never blocks: binding is a non-blocking system call.
caf::expected<listener_actor>
start_listener(caf::actor_system& sys, std::string name, listener_options opts);

} // namespace roadrunner

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(roadrunner::listener_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(roadrunner::route_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(roadrunner::telemetry_record)
