#include "request_lifecycle.hpp"

#include "request_id.hpp"
#include <roadrunner/detail/request_access.hpp>
#include <roadrunner/router.hpp>

#include <caf/attachable.hpp>
#include <caf/error.hpp>
#include <caf/exit_reason.hpp>

#include <atomic>
#include <exception>
#include <utility>

namespace roadrunner::detail {

// -- handler watch ------------------------------------------------------------

namespace {

/// Attached to a handler actor for the life of one request it holds: the
/// actor's end answers the request (see actor_exchange::watch).
class handler_watch final : public caf::attachable {
public:
  explicit handler_watch(std::weak_ptr<exchange> x) : x_(std::move(x)) {}

  void actor_exited(const caf::error& reason, caf::execution_unit*) override {
    if (auto x = x_.lock()) {
      // Dead on arrival, or its node went away (a remote handler actor's
      // proxy): 503, the handler is unavailable; else it died on the job.
      auto dead = arriving_.load(std::memory_order_acquire) ||
                  reason == caf::exit_reason::remote_link_unreachable;
      x->fail(dead ? 503 : 500,
              (dead ? "handler actor down on arrival: "
                    : "handler actor ended holding the request: ") +
                caf::to_string(reason));
    }
  }

  bool matches(const token& what) override { return what.ptr == this; }

  void arrived() noexcept { arriving_.store(false, std::memory_order_release); }

private:
  std::weak_ptr<exchange> x_;
  // Still inside attach(): CAF calls actor_exited at once for an actor
  // that already ended (dead on arrival: 503, as a bounced request).
  std::atomic<bool> arriving_{true};
};

} // namespace

actor_exchange::~actor_exchange() {
  closed(); // a request that never ended from the connection's side
}

void actor_exchange::watch(const caf::strong_actor_ptr& handler) {
  if (!handler || watched_)
    return;
  auto* w =
    new handler_watch(std::static_pointer_cast<exchange>(shared_from_this()));
  watch_token_ = w;
  watched_ = handler;
  handler->get()->attach(caf::attachable_ptr{w});
  // After attach() returns `w` belongs to the actor (and may already be
  // gone if the actor ended meanwhile): only an actor that was dead at
  // attach time ran actor_exited inside the call.
  if (done())
    return;
  // Alive at attach: the actor owns `w` until it ends or we detach. A
  // concurrent end is serialised by the actor's attachable lock, which
  // `arrived` does not need: at worst an actor ending right now is
  // reported as dead on arrival (503), which it nearly was.
  w->arrived();
}

void actor_exchange::closed() noexcept {
  if (!watched_)
    return;
  auto target = std::move(watched_);
  watched_ = nullptr;
  try {
    target->get()->detach(
      caf::attachable::token{caf::attachable::token::anonymous, watch_token_});
  } catch (...) {
    // detach does not allocate; nothing to do if it ever throws.
  }
}

void actor_exchange::callback_failed(std::string_view what) noexcept {
  if (life_ != nullptr)
    life_->report_exception(what);
}

// -- open_request -------------------------------------------------------------

void open_request::adopt(const request_ticket& t,
                         std::shared_ptr<actor_exchange> ex,
                         const response& deferred) {
  x = std::move(ex);
  extra = deferred.fields();
  method = std::string{t.method};
  path = std::string{t.path};
  request_id = std::string{t.request_id};
  started = t.started;
  admitted = t.admitted;
  status = 0;
  sent = {};
  query = std::string{t.query};
  host = std::string{t.host};
  user_agent = std::string{t.user_agent};
  referer = std::string{t.referer};
  protocol = t.protocol; // a static text
  bytes_received = t.bytes_received;
}

request_ticket open_request::ticket() const noexcept {
  request_ticket t;
  t.method = method;
  t.path = path;
  t.request_id = request_id;
  t.started = started;
  t.admitted = admitted;
  t.query = query;
  t.protocol = protocol;
  t.host = host;
  t.user_agent = user_agent;
  t.referer = referer;
  t.bytes_received = bytes_received;
  return t;
}

// -- request_lifecycle --------------------------------------------------------

request_lifecycle::request_lifecycle(caf::event_based_actor* self,
                                     reactor& home, listener_shared& shared,
                                     detail::connection_info& info) noexcept
  : self_(self), home_(&home), shared_(&shared), info_(&info) {
  routes_version_ = shared_->routes_version.load(std::memory_order_acquire);
  routes_ = shared_->load_routes();
}

namespace {

thread_local request_lifecycle* dispatching_lifecycle = nullptr;

} // namespace

request_lifecycle* request_lifecycle::current() noexcept {
  return dispatching_lifecycle;
}

response request_lifecycle::dispatch(request& req, uint32_t tag,
                                     request_ticket& t,
                                     std::shared_ptr<actor_exchange>& x) {
  auto& sh = *shared_;
  upgrade_ = nullptr; // an offer from an earlier request was not taken
  detail::request_access::request_id(req, next_request_id());
  t.method = req.method();
  t.path = req.path();
  t.request_id = req.request_id();
  t.started = std::chrono::steady_clock::now();
  if (const auto& tel = sh.opts.telemetry) {
    t.query = req.query();
    t.protocol = req.version();
    // Header look-ups only for a subscriber that reads them (an access
    // log); HTTP/2's :authority is given to handlers as `host` too.
    if (tel.interest().request_fields()) {
      t.host = req.header("host").value_or(std::string_view{});
      t.user_agent = req.header("user-agent").value_or(std::string_view{});
      t.referer = req.header("referer").value_or(std::string_view{});
    }
    t.bytes_received = req.body().size();
    if (tel.wants(telemetry_kind::request_start) &&
        (tel.interest().http1_starts() || t.protocol == "HTTP/2")) {
      telemetry_event e;
      e.kind = telemetry_kind::request_start;
      fill(e, t);
      sh.emit(e);
    }
  }
  // A request whose head parsed counts, whatever its status (the seed's
  // requests_served; upstream counted HTTP/1.1 only: docs/upstream-bugs.md
  // F13).
  sh.stats.requests_served.fetch_add(1, std::memory_order_relaxed);
  ++served_;
  response resp;
  // Admission (max_concurrent_requests): over the cap, 503 and nothing is
  // dispatched. The slot is held until the request ends, which for a
  // deferred answer is later (end).
  t.admitted = sh.stats.try_admit();
  if (!t.admitted) {
    resp = response::text(503, "Service Unavailable");
    resp.header("retry-after", "1");
  } else {
    dispatching_ = true;
    current_tag_ = tag;
    auto* outer = dispatching_lifecycle;
    dispatching_lifecycle = this;
    try {
      // reload_routes swapped the table? Then take the new one (one atomic
      // load per request otherwise).
      auto version = sh.routes_version.load(std::memory_order_acquire);
      if (version != routes_version_) {
        routes_ = sh.load_routes();
        routes_version_ = version;
      }
      resp = routes_->dispatch(req);
    } catch (const std::exception& ex) {
      // A throwing handler or middleware answers 500; the connection
      // stays usable.
      report_exception(ex.what(), &req);
      resp = response::text(500, "Internal Server Error");
    } catch (...) {
      report_exception("unknown exception", &req);
      resp = response::text(500, "Internal Server Error");
    }
    dispatching_lifecycle = outer;
    dispatching_ = false;
  }
  x = std::move(current_x_);
  current_x_ = nullptr;
  if (resp.is_deferred()) {
    // Deferred without a responder (or on a copy): nobody can answer.
    if (!x)
      resp = response::text(500, "Internal Server Error");
    return resp;
  }
  if (x) {
    x->cancel(); // answered at once: the responder is void
    x = nullptr;
  }
  return resp;
}

void request_lifecycle::fill(telemetry_event& e,
                             const request_ticket& t) const noexcept {
  e.request_id = t.request_id;
  e.method = t.method;
  e.path = t.path;
  e.query = t.query;
  e.protocol = t.protocol;
  e.host = t.host;
  e.user_agent = t.user_agent;
  e.referer = t.referer;
  e.peer = &info_->peer;
}

bool request_lifecycle::observed() const noexcept {
  return shared_->opts.telemetry.wants(telemetry_kind::request_stop);
}

void request_lifecycle::finish(const request_ticket& t, int status,
                               bytes_out sent) noexcept {
  if (t.admitted)
    shared_->stats.finish_request();
  if (shared_->opts.telemetry.wants(telemetry_kind::request_stop)) {
    telemetry_event e;
    e.kind = telemetry_kind::request_stop;
    fill(e, t);
    e.status = status;
    e.duration = std::chrono::steady_clock::now() - t.started;
    e.bytes_received = t.bytes_received;
    e.bytes_sent = sent.total;
    e.body_bytes_sent = sent.body;
    shared_->emit(e);
  }
}

void request_lifecycle::end(open_request& r, int status) noexcept {
  if (!r.x)
    return;
  auto x = std::move(r.x);
  r.x = nullptr;
  finish(r.ticket(), status, r.sent);
  r.admitted = false;
  x->cancel(); // guarded: on_cancel / on_close never throw out of it
}

void request_lifecycle::reject(int status, std::string_view reason,
                               bool head_parsed) noexcept {
  if (head_parsed) {
    shared_->stats.requests_served.fetch_add(1, std::memory_order_relaxed);
    ++served_;
  }
  if (shared_->opts.telemetry.wants(telemetry_kind::request_rejected)) {
    telemetry_event e;
    e.kind = telemetry_kind::request_rejected;
    e.peer = &info_->peer;
    e.status = status;
    e.reason = reason;
    shared_->emit(e);
  }
}

void request_lifecycle::notify_drain(open_request& r,
                                     int64_t deadline_ms) noexcept {
  if (r.x)
    r.x->notify_drain(deadline_ms); // guarded by the exchange
}

bool request_lifecycle::deliver(open_request& r, body_callback& cb,
                                std::string_view piece, bool last) noexcept {
  if (!r.x) {
    cb = nullptr;
    return false;
  }
  auto x = r.x; // the callback may end the request
  return x->deliver(cb, piece, last);
}

void request_lifecycle::report_exception(std::string_view what,
                                         const request* req) noexcept {
  if (!shared_->opts.telemetry.wants(telemetry_kind::request_exception))
    return;
  telemetry_event e;
  e.kind = telemetry_kind::request_exception;
  if (req != nullptr) {
    e.request_id = req->request_id();
    e.method = req->method();
    e.path = req->path();
    e.query = req->query();
    e.protocol = req->version();
  }
  e.peer = &info_->peer;
  e.reason = what;
  shared_->emit(e);
}

responder request_lifecycle::defer() {
  if (!dispatching_)
    return responder{};
  if (!current_x_) {
    exposed_ = true;
    current_x_ =
      std::make_shared<actor_exchange>(self_, home_, current_tag_, this);
  }
  return responder{current_x_};
}

} // namespace roadrunner::detail
