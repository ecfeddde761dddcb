#pragma once

#include <roadrunner/errors.hpp>
#include <roadrunner/options.hpp>
#include <roadrunner/stats.hpp>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/group.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
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

/// `drain_group` -> `caf::group`: the listener's drain group. Any actor may
/// join it (`self->join(g)`); when the listener drains, every member gets
/// `(drain_atom, deadline_ms)`, the deadline on the CLOCK_MONOTONIC
/// millisecond clock (as loop handlers get it). Connections are not
/// members: they hear the drain through their acceptors.
using drain_group_atom = caf::atom_constant<caf::atom("drain_grp")>;

/// The answer to `drain`: `drained` when every connection ended before the
/// deadline, else `remaining` connections were still alive at the deadline
/// and were ended then. Either way the listener exits after answering.
struct drain_result {
  /// True when every connection ended before the deadline.
  bool drained = false;
  /// Connections still alive at the deadline (ended then).
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
           x.max_concurrent_requests, x.throttled, x.hibernations,
           x.websocket_sessions, x.proxy_rejected);
}

/// The listener's messaging interface. Runs on: the CAF scheduler.
using listener_actor = caf::typed_actor<
  caf::replies_to<port_atom>::with<uint16_t>,
  caf::replies_to<info_atom>::with<listener_info>,
  caf::replies_to<status_atom>::with<listener_status>,
  caf::replies_to<connections_atom>::with<std::vector<caf::actor>>,
  caf::replies_to<stop_atom>::with<caf::ok_atom>,
  caf::replies_to<drain_atom, caf::timespan>::with<drain_result>,
  caf::replies_to<drain_group_atom>::with<caf::group>,
  caf::replies_to<reload_routes_atom, route_list>::with<caf::ok_atom>,
  caf::replies_to<max_requests_atom, int64_t>::with<caf::ok_atom>,
  caf::replies_to<reload_tls_atom>::with<caf::ok_atom>>;

// -- telemetry ----------------------------------------------------------------

/// An owned copy of a `telemetry_event`, as sent to an actor subscriber.
struct telemetry_record {
  /// What happened.
  telemetry_kind kind = telemetry_kind::request_start;
  /// The listener's name.
  std::string listener_name;
  /// Request events: the 16-hex-character request id.
  std::string request_id;
  /// Request events: the method.
  std::string method;
  /// Request events: the path (without the query).
  std::string path;
  /// Request and connection events: the peer's address as text.
  std::string peer_ip;
  /// Request and connection events: the peer's port.
  uint16_t peer_port = 0;
  /// request_stop / request_rejected: the status sent.
  int status = 0;
  /// Rejections, exceptions, TLS and HTTP/2 errors: a short reason.
  std::string reason;
  /// request_stop: nanoseconds since request_start.
  int64_t duration_ns = 0;
  /// As `telemetry_event::count`.
  uint64_t count = 0;
  /// Request events: the query after '?' (empty when none).
  std::string query;
  /// As `telemetry_event::protocol`.
  std::string protocol;
  /// Request events: the Host header or :authority.
  std::string host;
  /// Request events: the User-Agent header.
  std::string user_agent;
  /// Request events: the Referer header.
  std::string referer;
  /// request_stop: bytes of the request as received.
  uint64_t bytes_received = 0;
  /// request_stop: bytes of the response queued (head and body).
  uint64_t bytes_sent = 0;
  /// request_stop: bytes of the response body.
  uint64_t body_bytes_sent = 0;
  /// http2_connection_error: the GOAWAY error code; accept_error: errno.
  int64_t error_code = 0;
};

/// A telemetry sink that sends every event `interest` wants (default: all,
/// with the request fields) to `subscriber` as a `telemetry_record` (one
/// message per event, sent from the emitting thread). Pass it as
/// `listener_options::telemetry`.
telemetry_sink telemetry_to(caf::actor subscriber,
                            telemetry_interest interest = {});

// -- starting -----------------------------------------------------------------

/// Validates `opts`, binds the listen socket and spawns the listener with its
/// `num_acceptors` acceptor actors on the reactors of `roadrunner::module`.
///
/// The listener serves until it is stopped (`stop_atom`), drained
/// (`drain_atom`) or killed (an exit message), whether or not the caller
/// keeps the returned handle: the system holds it under `name` (see
/// `whereis`). Like any running actor it keeps the actor system's
/// destructor waiting, so end it before `main` returns (`serve_until_signal`
/// does). `name` is unique in the actor system while the listener runs and
/// is free again once `stop` or `drain` has answered.
///
/// Errors (category "roadrunner"): `invalid_listener_opt` /
/// `listener_opt_conflict` naming the option, value and reason;
/// `listen_failed` (e.g. the port is in use); `module_not_loaded`;
/// `already_started` naming the name. Never blocks: binding is a
/// non-blocking system call.
caf::expected<listener_actor>
start_listener(caf::actor_system& sys, std::string name, listener_options opts);

// -- finding listeners --------------------------------------------------------

/// A running listener and the name it was started with.
struct listener_entry {
  /// The name given to `start_listener`.
  std::string name;
  /// The listener.
  listener_actor actor;
};

/// The running listener named `name` in `sys`, if any (the seed's
/// `whereis`). Thread-safe.
std::optional<listener_actor> whereis(caf::actor_system& sys,
                                      std::string_view name);

/// Every running listener of `sys`, ordered by name. Thread-safe.
std::vector<listener_entry> listeners(caf::actor_system& sys);

// -- blocking helpers ---------------------------------------------------------
//
// One call per listener message for code outside actors (main, tests, a
// plain thread): each sends the message, waits for the answer and returns
// it or the error. They block the calling thread: never call them from an
// actor's handler (use `request` with the atoms above there). A listener
// that does not answer within `reply_timeout` gives
// `caf::sec::request_timeout`.

/// How long the blocking helpers wait for an answer (`drain` waits its own
/// timeout on top).
inline constexpr std::chrono::seconds reply_timeout{10};

/// The bound TCP port.
caf::expected<uint16_t> port_of(caf::actor_system& sys,
                                const listener_actor& l);

/// The counters (`info_atom`).
caf::expected<listener_info> info_of(caf::actor_system& sys,
                                     const listener_actor& l);

/// `accepting` or `draining`.
caf::expected<listener_status> status_of(caf::actor_system& sys,
                                         const listener_actor& l);

/// The live connection actors.
caf::expected<std::vector<caf::actor>> connections_of(caf::actor_system& sys,
                                                      const listener_actor& l);

/// The listener's drain group (`drain_group_atom`).
caf::expected<caf::group> drain_group_of(caf::actor_system& sys,
                                         const listener_actor& l);

/// Stops the listener (`stop_atom`); an empty error on success.
caf::error stop(caf::actor_system& sys, const listener_actor& l);

/// Swaps in a new route table (`reload_routes_atom`); an empty error on
/// success, else `no_routes` or `invalid_listener_opt`.
caf::error reload_routes(caf::actor_system& sys, const listener_actor& l,
                         route_list routes);

namespace detail {
caf::expected<drain_result>
drain(caf::actor_system& sys, const listener_actor& l, caf::timespan timeout);
caf::error set_max_concurrent_requests(caf::actor_system& sys,
                                       const listener_actor& l, int64_t cap);
} // namespace detail

/// Drains the listener within `timeout` (any `std::chrono::duration`; a
/// negative one counts as zero) and returns the result.
template <class Rep, class Period>
caf::expected<drain_result> drain(caf::actor_system& sys,
                                  const listener_actor& l,
                                  std::chrono::duration<Rep, Period> timeout) {
  return detail::drain(sys, l,
                       std::chrono::duration_cast<caf::timespan>(timeout));
}

/// Sets the request cap (0 = infinity) from any integer type; a negative
/// or too large value gives `invalid_listener_opt`.
template <std::integral T>
caf::error set_max_concurrent_requests(caf::actor_system& sys,
                                       const listener_actor& l, T cap) {
  if constexpr (std::numeric_limits<T>::digits >
                std::numeric_limits<int64_t>::digits) {
    if (cap > static_cast<T>(std::numeric_limits<int64_t>::max()))
      return make_error(errc::invalid_listener_opt,
                        std::string{"max_concurrent_requests"},
                        std::to_string(cap), std::string{"too large"});
  }
  return detail::set_max_concurrent_requests(sys, l, static_cast<int64_t>(cap));
}

// -- serving from main --------------------------------------------------------

/// Serves until the process gets SIGINT or SIGTERM, then drains every
/// running listener of `sys` within `drain_timeout` and returns once they
/// have all ended: 0 when every one drained (or had been stopped before),
/// 1 when connections were still open at the deadline (they were closed).
/// Returns 0 at once when no listener runs, and without a signal once every
/// listener has ended on its own. For `main`: it blocks the calling thread
/// and installs its own SIGINT/SIGTERM handlers while it waits; after the
/// first signal the previous handlers are back, so a second Ctrl-C stops
/// the process the usual way. Call it from one thread at a time.
int serve_until_signal(
  caf::actor_system& sys,
  std::chrono::milliseconds drain_timeout = std::chrono::seconds{10});

/// For `main`: starts `opts` as listener `name`, prints
/// "<name> listening on port <port>" on stdout, then returns
/// `serve_until_signal(sys, drain_timeout)`. When the listener does not
/// start it prints the rendered error on stderr and returns 1.
int serve(caf::actor_system& sys, std::string name, listener_options opts,
          std::chrono::milliseconds drain_timeout = std::chrono::seconds{10});

} // namespace roadrunner

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(roadrunner::listener_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(roadrunner::route_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(roadrunner::telemetry_record)
