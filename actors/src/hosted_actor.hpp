#pragma once

#include "reactor.hpp"

#include <caf/event_based_actor.hpp>

namespace roadrunner::detail {

/// An event-based actor that always runs on its home reactor: its mailbox is
/// drained on the reactor thread (never on a scheduler worker), so it can
/// own sockets and timers of that reactor without locks. The same technique
/// CAF uses for brokers (`abstract_broker` pins to the multiplexer).
class hosted_actor : public caf::event_based_actor {
public:
  hosted_actor(caf::actor_config& cfg, reactor* home)
    : caf::event_based_actor(cfg), home_(home) {}

  void enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit*) override {
    caf::event_based_actor::enqueue(std::move(ptr), home_);
  }

  void launch(caf::execution_unit*, bool lazy, bool hide) override {
    context(home_);
    caf::event_based_actor::launch(home_, lazy, hide);
  }

  caf::resumable::subtype_t subtype() const override {
    return caf::resumable::io_actor;
  }

  reactor& home() const noexcept { return *home_; }

private:
  reactor* home_;
};

} // namespace roadrunner::detail
