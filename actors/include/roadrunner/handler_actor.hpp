#pragma once

// Handler actors: routes answered by CAF actors.
//
//     // One actor per reactor, hosted on it: no thread hop per request.
//     auto slow = roadrunner::reactor_local_handler(
//       sys, [](roadrunner::handler_actor::pointer self)
//              -> roadrunner::handler_actor::behavior_type {
//         return {[self](roadrunner::http_request& req)
//                   -> caf::result<roadrunner::response> {
//           return roadrunner::response::text(200, "hi\n");
//         }};
//       });
//     routes.push_back({.path = "/slow", .handler = slow, .methods = {"GET"}});
//
// The connection sends the actor an `http_request` (an owning copy of the
// request plus its responder) and awaits the reply without blocking its
// reactor. A reply of `response::deferred()` means the actor answers (or
// streams) through `http_request::reply` instead. Failures never hang a
// request:
// - no answer within `actor_handler_options::timeout` -> 504 (this also
//   catches a dropped request or an actor that dies holding it: CAF 0.17
//   has no broken-promise error);
// - the actor is dead when the request is sent -> 503;
// - any other error reply -> 500; a responder dropped unanswered -> 500.

#include <roadrunner/listener.hpp>
#include <roadrunner/middleware.hpp>
#include <roadrunner/owned_request.hpp>
#include <roadrunner/responder.hpp>
#include <roadrunner/response.hpp>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/detail/type_list.hpp>
#include <caf/detail/type_traits.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/execution_unit.hpp>
#include <caf/exit_reason.hpp>
#include <caf/expected.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/none.hpp>
#include <caf/replies_to.hpp>
#include <caf/send.hpp>
#include <caf/spawn_options.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace roadrunner {

/// What a handler actor receives. A serializable CAF message: a handler
/// actor on another node (`caf::io::middleman`, see `remote_handler`) gets
/// the same request and a responder whose operations travel back over the
/// wire (docs/scaling.md); both nodes call `add_remote_types`.
struct http_request {
  /// The request (owning copy; valid on any thread).
  std::shared_ptr<const owned_request> req;
  /// Answers the request later, streams it, or reads a manual-mode body.
  roadrunner::responder reply;
  /// Server use: for a handler actor on another node, the actor on the
  /// server's side that applies the responder operations sent back.
  caf::actor agent;

  /// The request (`http_request` reads like a `const request*`).
  const request& operator*() const noexcept { return req->get(); }
  /// Members of the request: `req->path()`, `req->param<T>(name)`, ...
  const request* operator->() const noexcept { return &req->get(); }
};

namespace detail {

/// `http_request` on the wire: the request's bytes and the agent that
/// applies the remote responder's operations.
struct wire_request {
  std::string method;
  std::string target;
  std::string path;
  std::string query;
  uint8_t version_major = 1;
  uint8_t version_minor = 1;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::pair<std::string, std::string>> bindings;
  std::string body;
  int64_t content_length = -1; // -1: no Content-Length framing
  std::string peer_ip;
  uint16_t peer_port = 0;
  std::string scheme;
  std::string listener_name;
  std::string request_id;
  caf::actor agent;
};

wire_request to_wire(const http_request& x);
http_request from_wire(wire_request&& x);

/// `response` on the wire. A file body does not cross nodes (the other
/// side answers 500): handlers published with `publish_handlers` have it
/// read and shipped as bytes instead.
struct wire_response {
  int32_t status = 200;
  bool deferred = false;
  bool file = false;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;
};

wire_response to_wire(const response& x);
response from_wire(wire_response&& x);

} // namespace detail

/// CAF inspection of `http_request` (serializable: it may cross nodes).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_request& x) {
  detail::wire_request w;
  if constexpr (Inspector::reads_state)
    w = detail::to_wire(x);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x = detail::from_wire(std::move(w));
    return caf::none;
  });
  return f(caf::meta::type_name("roadrunner::http_request"), w.method, w.target,
           w.path, w.query, w.version_major, w.version_minor, w.headers,
           w.bindings, w.body, w.content_length, w.peer_ip, w.peer_port,
           w.scheme, w.listener_name, w.request_id, w.agent, load);
}

/// CAF inspection of `response` (serializable: it may cross nodes).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, response& x) {
  detail::wire_response w;
  if constexpr (Inspector::reads_state)
    w = detail::to_wire(x);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x = detail::from_wire(std::move(w));
    return caf::none;
  });
  return f(caf::meta::type_name("roadrunner::response"), w.status, w.deferred,
           w.file, w.content_type, w.fields, w.body, load);
}

/// A handler actor: request in, response out.
using handler_actor =
  caf::typed_actor<caf::replies_to<http_request>::with<response>>;

/// A loop handler: a handler actor spawned per request that keeps the
/// response open (streams through `reply`, e.g. server-sent events) and
/// hears the listener's drain notice: `(drain_atom, deadline_ms)` with the
/// deadline on the CLOCK_MONOTONIC millisecond clock (-1: none).
using loop_handler_actor =
  handler_actor::extend<caf::reacts_to<drain_atom, int64_t>>;

/// Options of the handler-actor routes.
struct actor_handler_options {
  /// How long the actor may take to reply -> 504.
  std::chrono::milliseconds timeout{30000};
};

namespace detail {

/// Where the request being dispatched runs: the connection actor and its
/// reactor (an execution unit of its own).
struct dispatch_context {
  caf::event_based_actor* self = nullptr;
  caf::execution_unit* unit = nullptr;
  size_t index = 0;
};

/// The context of a responder obtained during a dispatch (self == nullptr
/// for any other responder).
dispatch_context context_of(const responder& r) noexcept;

/// The number of reactors and reactor `i`'s execution unit; throws
/// std::logic_error when roadrunner::module is not loaded.
size_t reactor_count(caf::actor_system& sys);
caf::execution_unit* reactor_unit(caf::actor_system& sys, size_t i);

/// The connection answers 504 when `r` is not answered within `timeout`
/// (a reactor timer: no CAF clock round trip per request).
void set_deadline(const responder& r, std::chrono::milliseconds timeout);

/// Runs `fn` on the connection's thread when the request ends, however.
void on_request_end(const responder& r, std::function<void()> fn);

/// Watches `handler` for the life of the request behind `r`: its end
/// answers the request at once (503 if it had ended already, else 500, or
/// the stream is cut short) and so frees the admission slot.
void watch(const responder& r, const caf::strong_actor_ptr& handler);

/// Reports a handler actor's error reply as a `request_exception` event
/// (on the connection's thread, where `then` runs).
void report_error(const responder& r, const caf::error& err);

/// 504 for a timeout, 503 for a dead receiver, else 500.
response error_response(const caf::error& err);

/// For a handler actor on another node: spawns the agent that applies the
/// responder operations the remote side sends back to `r` (it ends with
/// the request). Returns the agent for `http_request::agent`.
caf::actor remote_agent(caf::actor_system& sys, const responder& r);

/// A stateless hosted actor's base, named "roadrunner.handler" (a stateful
/// one takes its name from its state, as `caf::stateful_actor` does).
template <class Base>
class named_hosted_base : public Base {
public:
  using Base::Base;

  const char* name() const override { return "roadrunner.handler"; }
};

/// The base of a hosted actor: `Handle::base`, or with a `State` (not
/// void) `caf::stateful_actor<State, Handle::base>` (`self->state`).
template <class Handle, class State>
using hosted_base =
  std::conditional_t<std::is_void_v<State>,
                     named_hosted_base<typename Handle::base>,
                     caf::stateful_actor<State, typename Handle::base>>;

/// The pointer an init function of a hosted actor takes.
template <class Handle, class State>
using hosted_pointer =
  std::conditional_t<std::is_void_v<State>, typename Handle::pointer,
                     typename Handle::template stateful_pointer<State>>;

/// A typed actor hosted on a reactor: its mailbox is drained on the
/// reactor's thread, so a connection there reaches it without a thread hop.
/// With a `State`, the actor is stateful (`self->state`, destroyed when the
/// actor ends).
template <class Handle, class State = void>
class hosted_typed_actor : public hosted_base<Handle, State> {
public:
  using super = hosted_base<Handle, State>;
  using init_fn = std::function<typename Handle::behavior_type(
    hosted_pointer<Handle, State>)>;

  hosted_typed_actor(caf::actor_config& cfg, caf::execution_unit* home,
                     init_fn init)
    : super(cfg), home_(home), init_(std::move(init)) {}

  void enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit*) override {
    super::enqueue(std::move(ptr), home_);
  }

  void launch(caf::execution_unit*, bool lazy, bool hide) override {
    this->context(home_);
    super::launch(home_, lazy, hide);
  }

  caf::resumable::subtype_t subtype() const override {
    return caf::resumable::io_actor;
  }

protected:
  typename Handle::behavior_type make_behavior() override {
    auto init = std::move(init_);
    init_ = nullptr;
    return init(this);
  }

private:
  caf::execution_unit* home_;
  init_fn init_;
};

/// The state of a stateful actor pointer type: `S` for
/// `caf::stateful_actor<S, Base>*`, void for any other pointer.
template <class Ptr>
struct state_of_pointer {
  using type = void;
};

template <class State, class Base>
struct state_of_pointer<caf::stateful_actor<State, Base>*> {
  using type = State;
};

/// The state type of an init function (lambda, function pointer or
/// std::function) from its parameter: `Handle::pointer` or
/// `Handle::stateful_pointer<S>`.
template <class Init>
using init_state_t =
  typename state_of_pointer<std::decay_t<caf::detail::tl_head_t<
    typename caf::detail::get_callable_trait<std::decay_t<Init>>::arg_types>>>::
    type;

/// Sends `req` to `actor` from the connection actor and completes the
/// request with the reply. A dynamically typed `caf::actor` has its reply
/// checked at run time: another type reaches the error handler as
/// `sec::unexpected_response` (500).
template <class Handle>
response forward(const Handle& actor, request& req,
                 const actor_handler_options& opts) {
  auto reply = req.defer();
  auto ctx = context_of(reply);
  if (ctx.self == nullptr || !actor)
    return response::text(500, "Internal Server Error");
  using target_type = std::conditional_t<std::is_same_v<Handle, caf::actor>,
                                         caf::actor, handler_actor>;
  target_type target = actor;
  http_request msg{owned_request::make(req), reply, {}};
  // The deadline is a timer of the connection's reactor; a CAF request
  // timeout would cost two wake-ups of CAF's clock thread per request.
  set_deadline(reply, opts.timeout);
  // The livery seed's monitor: if the actor ends holding the request, it
  // is answered at once (503 when it was dead already or its node went
  // down, else 500).
  auto handle = caf::actor_cast<caf::strong_actor_ptr>(target);
  watch(reply, handle);
  // A handler actor on another node answers through an agent here.
  if (handle && handle->node() != ctx.self->node())
    msg.agent = remote_agent(ctx.self->system(), reply);
  ctx.self->request(target, caf::infinite, std::move(msg))
    .then(
      [reply](response& r) {
        // deferred: the actor answers (or streams) through the responder.
        if (!r.is_deferred())
          reply.send(std::move(r));
      },
      [reply](caf::error& err) {
        // Unless the watch answered already: report, then 500/503/504.
        if (!reply.done())
          report_error(reply, err);
        reply.send(error_response(err));
      });
  return response::deferred();
}

} // namespace detail

/// A route handler that forwards every request to `actor` (spawned
/// anywhere; on the default scheduler each request pays a hop from the
/// reactor into the scheduler, see docs/architecture.md). `Handle` is
/// `handler_actor` or any typed actor that extends it.
template <class Handle = handler_actor>
handler actor_handler(Handle actor, actor_handler_options opts = {}) {
  return [actor = std::move(actor), opts](request& req) {
    return detail::forward(actor, req, opts);
  };
}

/// A route handler that forwards every request to a dynamically typed
/// `actor` (a `caf::actor` spawned from an untyped behavior, or found in a
/// registry). The reply is checked at run time: the actor must answer an
/// `http_request` with a `response`; any other answer gives 500, no answer
/// within the timeout 504, a dead actor 503.
handler actor_handler(caf::actor actor, actor_handler_options opts = {});

/// Spawns `init` once per reactor, hosted on that reactor (its messages
/// run on the reactor's thread, like connections), and returns a route
/// handler that sends each request to the instance on the connection's
/// own reactor: no thread hop. The actors must never block. `Handle` may
/// extend `handler_actor` with the actor's own messages (timers, say).
/// `init` takes `Handle::pointer`, or `Handle::stateful_pointer<S>` for a
/// stateful actor (each instance has its own `self->state`, an `S`).
/// The actors are hidden (they do not hold up the actor system's
/// shutdown) and end with the last route table holding the handler.
template <class Handle = handler_actor, class Init>
handler reactor_local_handler(caf::actor_system& sys, Init init,
                              actor_handler_options opts = {}) {
  using state = detail::init_state_t<Init>;
  using hosted = detail::hosted_typed_actor<Handle, state>;
  typename hosted::init_fn fn{std::move(init)};
  std::vector<Handle> instances;
  auto n = detail::reactor_count(sys);
  for (size_t i = 0; i < n; ++i)
    instances.push_back(
      sys.spawn<hosted, caf::hidden>(detail::reactor_unit(sys, i), fn));
  auto shared =
    std::make_shared<const std::vector<Handle>>(std::move(instances));
  return [shared, opts](request& req) {
    // Keep the responder: dropping the last copy unanswered means a 500.
    auto reply = req.defer();
    auto ctx = detail::context_of(reply);
    if (ctx.self == nullptr)
      return response::text(500, "Internal Server Error");
    return detail::forward((*shared)[ctx.index % shared->size()], req, opts);
  };
}

/// A route handler that spawns `init` for every request, hosted on the
/// connection's reactor: a loop handler. It hears the drain notice and is
/// stopped (`exit_reason::user_shutdown`) when its request ends: answered,
/// stream finished, client gone or connection closed. `Handle` is
/// `loop_handler_actor` or a typed actor that extends it; `init` takes
/// `Handle::pointer` or `Handle::stateful_pointer<S>`.
template <class Handle = loop_handler_actor, class Init>
handler loop_handler(caf::actor_system& sys, Init init,
                     actor_handler_options opts = {}) {
  using hosted = detail::hosted_typed_actor<Handle, detail::init_state_t<Init>>;
  auto shared_init =
    std::make_shared<const typename hosted::init_fn>(std::move(init));
  return [&sys, shared_init, opts](request& req) {
    auto reply = req.defer();
    auto ctx = detail::context_of(reply);
    if (ctx.self == nullptr)
      return response::text(500, "Internal Server Error");
    Handle actor = sys.spawn<hosted, caf::hidden>(ctx.unit, *shared_init);
    auto addr = caf::actor_cast<caf::actor>(actor);
    reply.on_drain([addr](int64_t deadline_ms) {
      caf::anon_send(addr, drain_atom::value, deadline_ms);
    });
    detail::on_request_end(reply, [addr] {
      caf::anon_send_exit(addr, caf::exit_reason::user_shutdown);
    });
    return detail::forward(actor, req, opts);
  };
}

// -- handler actors on other nodes (caf::io::middleman) -----------------------

/// Registers the message types a remote handler actor needs
/// (`http_request`, `response`) with `cfg`: on both nodes, before the
/// actor system is built, next to `cfg.load<caf::io::middleman>()`.
void add_remote_types(caf::actor_system_config& cfg);

/// Publishes handler actors by name on `port` of `address` (empty: every
/// interface) through `caf::io::middleman` (0: the kernel picks; the
/// bound port is returned). The node serves a small directory actor that
/// front ends ask for a handler by name (`remote_handler`). Each handler
/// is reached through a small actor on its node that turns a file reply
/// (`response::file`, whose descriptor cannot cross) into bytes on the
/// wire: up to 256 KiB as a buffered body, above that as a stream (no
/// `content-length` then). Blocks while it binds: call it at start-up,
/// never on a reactor.
caf::expected<uint16_t>
publish_handlers(caf::actor_system& sys,
                 std::vector<std::pair<std::string, caf::actor>> handlers,
                 uint16_t port, const std::string& address = {});

/// A route handler that forwards every request to the handler actor
/// `name` published by `publish_handlers` on `host`:`port`, exactly like
/// `actor_handler` does for a local one. The link is made in the
/// background and made again after the node went away (every
/// `retry_ms`); while there is none, requests get 503 at once. A node
/// going down answers the requests it held with 503 at once (the handler
/// actor's proxy is watched), not after `opts.timeout`.
handler remote_handler(caf::actor_system& sys, std::string host, uint16_t port,
                       std::string name, actor_handler_options opts = {},
                       int64_t retry_ms = 250);

} // namespace roadrunner

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(roadrunner::responder)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(roadrunner::stream_writer)
