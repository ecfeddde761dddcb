#pragma once

#include "reactor.hpp"

#include <caf/config.hpp>
#include <caf/detail/sync_request_bouncer.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/monitorable_actor.hpp>
#include <caf/stream_manager.hpp>

#include <cstdint>
#include <utility>

namespace roadrunner::detail {

/// An event-based actor that always runs on its home reactor: its mailbox is
/// drained on the reactor thread (never on a scheduler worker), so it can
/// own sockets and timers of that reactor without locks. The same technique
/// CAF uses for brokers (`abstract_broker` pins to the multiplexer).
class hosted_actor : public caf::event_based_actor {
public:
  hosted_actor(caf::actor_config& cfg, reactor* home)
    : caf::event_based_actor(cfg), home_(home),
      first_request_id_(last_request_id_.integer_value()) {}

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

  /// True while nothing of this actor can be on CAF's actor clock: no
  /// receive or stream timeout was ever armed (`after(...)`, streams: CAF
  /// numbers them in `timeout_id_`, still 0) and no request was ever sent
  /// (one with a finite timeout arms a request timeout; requests are not
  /// told apart). Delayed messages (`delayed_send`) are not keyed by actor
  /// and are never cancelled by CAF either.
  bool clock_untouched() const noexcept {
    return timeout_id_ == 0 &&
           last_request_id_.integer_value() == first_request_id_;
  }

  /// CAF 0.17's `local_actor::cleanup` ends with
  /// `clock().cancel_timeouts(this)`, which on the thread-safe clock
  /// allocates an event, takes the clock's lock and wakes the clock thread
  /// (`notify_all`): once per terminated actor, whether it ever armed a
  /// timeout or not — about a sixth of the server's CPU when every request
  /// comes on a new connection (docs/benchmarks.md). A hosted actor whose
  /// clock is untouched has nothing to cancel there, so it runs the same
  /// steps as CAF 0.17.6's `scheduled_actor::cleanup` and
  /// `local_actor::cleanup` (read in CAF's source and checked against the
  /// disassembly of Debian's libcaf_core 0.17.6) without that last call.
  /// Any other case, or another CAF version, takes CAF's own path.
  bool cleanup(caf::error&& reason, caf::execution_unit* host) override {
#if CAF_VERSION == 1706
    if (!clock_untouched() || getf(is_detached_flag))
      return caf::event_based_actor::cleanup(std::move(reason), host);
    // scheduled_actor::cleanup: open requests, streams, then the mailbox
    // (requests still queued are answered with the exit reason).
    awaited_responses_.clear();
    multiplexed_responses_.clear();
    for (auto& kvp : stream_managers_)
      kvp.second->stop(reason);
    for (auto& kvp : pending_stream_managers_)
      kvp.second->stop(reason);
    stream_managers_.clear();
    pending_stream_managers_.clear();
    get_downstream_queue().cleanup();
    if (!mailbox_.closed()) {
      mailbox_.close();
      get_normal_queue().flush_cache();
      get_urgent_queue().flush_cache();
      caf::detail::sync_request_bouncer bounce{reason};
      while (mailbox_.queue().new_round(1000, bounce).consumed_items > 0) {
      }
    }
    // local_actor::cleanup minus clock().cancel_timeouts(this): leave the
    // registry, then monitorable_actor::cleanup (exit state, down and exit
    // messages to monitors and links, attachables).
    unregister_from_system();
    caf::monitorable_actor::cleanup(std::move(reason), host);
    return true;
#else
    return caf::event_based_actor::cleanup(std::move(reason), host);
#endif
  }

private:
  reactor* home_;
  uint64_t first_request_id_; // last_request_id_ when constructed
};

} // namespace roadrunner::detail
