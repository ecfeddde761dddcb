#include "actor_exchange.hpp"
#include "reactor.hpp"
#include <roadrunner/handler_actor.hpp>
#include <roadrunner/module.hpp>

#include <caf/sec.hpp>

#include <stdexcept>
#include <utility>

namespace roadrunner::detail {

dispatch_context context_of(const responder& r) noexcept {
  // Every responder made during a dispatch comes from an actor_exchange.
  auto* x = static_cast<actor_exchange*>(r.exchange_ptr());
  if (x == nullptr)
    return {};
  return {x->self(), &x->home(), x->home().index()};
}

namespace {

module& module_of(caf::actor_system& sys) {
  auto* mod = module::from(sys);
  if (mod == nullptr)
    throw std::logic_error("roadrunner handler actors need "
                           "roadrunner::module loaded in the actor system");
  return *mod;
}

} // namespace

size_t reactor_count(caf::actor_system& sys) {
  return module_of(sys).num_reactors();
}

caf::execution_unit* reactor_unit(caf::actor_system& sys, size_t i) {
  return &module_of(sys).reactor_at(i);
}

void set_deadline(const responder& r, std::chrono::milliseconds timeout) {
  if (auto* x = r.exchange_ptr())
    x->set_deadline(timeout.count());
}

void on_request_end(const responder& r, std::function<void()> fn) {
  if (auto* x = r.exchange_ptr())
    x->set_on_close(std::move(fn));
}

void watch(const responder& r, const caf::strong_actor_ptr& handler) {
  // Every responder made during a dispatch comes from an actor_exchange.
  if (auto* x = static_cast<actor_exchange*>(r.exchange_ptr()))
    x->watch(handler);
}

void report_error(const responder& r, const caf::error& err) {
  if (auto* x = r.exchange_ptr())
    x->report("handler actor error: " + caf::to_string(err));
}

response error_response(const caf::error& err) {
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
    case caf::sec::request_timeout:
      return response::text(504, "Gateway Timeout");
    case caf::sec::request_receiver_down:
      return response::text(503, "Service Unavailable");
    default:
      break;
    }
  }
  return response::text(500, "Internal Server Error");
}

} // namespace roadrunner::detail

namespace roadrunner {

handler actor_handler(caf::actor actor, actor_handler_options opts) {
  return [actor = std::move(actor), opts](request& req) {
    return detail::forward(actor, req, opts);
  };
}

} // namespace roadrunner
