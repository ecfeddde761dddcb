#pragma once

#include "exchange.hpp"
#include "reactor.hpp"

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/weak_intrusive_ptr.hpp>

#include <cstdint>

namespace roadrunner::detail {

/// Exchange -> connection: operations are queued for request/stream `tag`.
using exchange_wake_atom = caf::atom_constant<caf::atom("xwake")>;

/// The exchange of a request served by a hosted connection actor: waking
/// it sends the actor a message, so completions may come from any thread
/// and are applied on the connection's reactor.
class actor_exchange final : public exchange {
public:
  actor_exchange(caf::event_based_actor* self, reactor* home, uint32_t tag)
    : self_(self), home_(home), tag_(tag), conn_(self->ctrl()) {}

  /// The connection actor. Only on its reactor thread, while it lives
  /// (during a handler call it always does).
  caf::event_based_actor* self() const noexcept { return self_; }

  /// The connection's reactor.
  reactor& home() const noexcept { return *home_; }

  uint32_t tag() const noexcept { return tag_; }

protected:
  void wake() noexcept override {
    try {
      if (auto ptr = conn_.lock())
        caf::anon_send(caf::actor_cast<caf::actor>(ptr),
                       exchange_wake_atom::value, tag_);
    } catch (...) {
      // Out of memory: the connection's timers end the request.
    }
  }

private:
  caf::event_based_actor* self_;
  reactor* home_;
  uint32_t tag_;
  caf::weak_actor_ptr conn_;
};

} // namespace roadrunner::detail
