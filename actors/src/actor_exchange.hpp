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
#include <string_view>

namespace roadrunner::detail {

class request_lifecycle;

/// Exchange -> connection: operations are queued for request/stream `tag`.
using exchange_wake_atom = caf::atom_constant<caf::atom("xwake")>;

/// The exchange of a request served by a hosted connection actor: waking
/// it sends the actor a message, so completions may come from any thread
/// and are applied on the connection's reactor.
class actor_exchange final : public exchange {
public:
  actor_exchange(caf::event_based_actor* self, reactor* home, uint32_t tag,
                 request_lifecycle* life)
    : self_(self), home_(home), tag_(tag), life_(life), conn_(self->ctrl()) {}

  ~actor_exchange() override;

  /// The connection actor. Only on its reactor thread, while it lives
  /// (during a handler call it always does).
  caf::event_based_actor* self() const noexcept { return self_; }

  /// The connection's reactor.
  reactor& home() const noexcept { return *home_; }

  uint32_t tag() const noexcept { return tag_; }

  /// Watches the handler actor that holds this request (the livery seed's
  /// monitor): if it ends before answering, the request is answered at
  /// once — 503 when it was already dead, else 500, or the stream is cut
  /// short — which also gives the admission slot back. The watch ends with
  /// the request. At most one watch per request; on its connection's
  /// thread, during the dispatch.
  void watch(const caf::strong_actor_ptr& handler);

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

  void callback_failed(std::string_view what) noexcept override;

  void closed() noexcept override;

private:
  caf::event_based_actor* self_;
  reactor* home_;
  uint32_t tag_;
  request_lifecycle* life_; // valid on the connection's side (its calls)
  caf::weak_actor_ptr conn_;
  caf::strong_actor_ptr watched_; // the handler actor holding the request
  const void* watch_token_ = nullptr;
};

} // namespace roadrunner::detail
