#pragma once

#include "hosted_actor.hpp"
#include "listener_shared.hpp"
#include "reactor.hpp"

#include <caf/actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <unordered_map>
#include <vector>

namespace roadrunner::detail {

class connection;

/// Accepts connections from (a duplicate of) the listener's socket and
/// spawns one connection actor per socket on its own reactor.
///
/// Each accepted socket takes a `max_clients` slot; over the cap it is
/// closed at once and counted as `rejected`. The acceptor monitors its
/// connections: a connection's end, however it happens (close, error, crash,
/// `exit_reason::kill`), releases its slot exactly once through the
/// `down_msg`. Accept errors never end the acceptor: EMFILE/ENFILE/ENOBUFS/
/// ENOMEM back off for a while, the others are skipped.
/// Runs on: its home reactor thread.
class acceptor : public hosted_actor, public io_handler {
public:
  acceptor(caf::actor_config& cfg, reactor* home, int listen_fd,
           listener_shared_ptr shared);
  ~acceptor() override;

  caf::behavior make_behavior() override;

  void on_io(uint32_t events) override;

  void on_exit() override;

  const char* name() const override { return "roadrunner.acceptor"; }

  /// `conn`, one of ours, closed its socket (same reactor thread): keeps
  /// its actor for the next accepted socket instead of letting it end.
  /// False (the actor ends as usual) while draining or when the pool is
  /// full. Only actors nobody else knows of come here (connection::close).
  bool recycle(connection& conn);

  /// Closed connections kept for reuse, per acceptor: enough to absorb a
  /// burst of short connections, bounded in memory (about 2 KiB each).
  static constexpr size_t max_pooled = 64;

private:
  bool watch();
  void accept_batch();
  void accept_batch(bool& more, int limit);
  void end_grace();
  void on_backoff_end();
  void back_off();
  void report_accept_error(int err);

  int fd_;
  listener_shared_ptr shared_;
  member_timer<acceptor, &acceptor::on_backoff_end> backoff_timer_{this};
  bool watching_ = false;
  caf::strong_actor_ptr self_ref_;
  // Every live connection actor, open or pooled (the drain group).
  std::unordered_map<caf::actor_id, caf::actor> conns_;
  // The closed ones among them, ready for the next socket (see recycle).
  std::vector<connection*> pool_;
  caf::actor listener_; // set by drain: told about every connection's end
  void stop_listening();
  void release_pool();
  // -- SO_REUSEPORT drain (reuse_port) ----------------------------------------
  member_timer<acceptor, &acceptor::end_grace> grace_timer_{this};
  caf::typed_response_promise<caf::ok_atom> drain_ack_;
  std::vector<caf::actor> late_; // accepted after the drain began
  int64_t drain_deadline_ = -1;
  bool notify_ = false;
  bool leaving_ = false; // refusing new connections, closing at grace end
};

} // namespace roadrunner::detail
