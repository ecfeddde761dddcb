#pragma once

#include <caf/actor_control_block.hpp>
#include <caf/execution_unit.hpp>
#include <caf/fwd.hpp>
#include <caf/intrusive_ptr.hpp>
#include <caf/resumable.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace roadrunner::detail {

/// Receives readiness events of one fd. Runs on: the reactor's thread.
class io_handler {
public:
  virtual ~io_handler() = default;
  virtual void on_io(uint32_t events) = 0;
};

/// An intrusive timer: at most one pending deadline per node. When it fires
/// the reactor calls `fire(self)`. 40 bytes: a connection carries three of
/// them while idle (no vtable, no back pointer to its list: the lists are
/// rings around a sentinel, so unlinking needs only the neighbours).
struct timer_node {
  timer_node* prev = nullptr; // null while not armed
  timer_node* next = nullptr;
  int64_t deadline = 0;
  void (*fire)(void* self) = nullptr;
  void* self = nullptr;

  bool armed() const noexcept { return prev != nullptr; }
};

/// The one timer idiom of the connection layer: a timer node that calls a
/// member function of its owner when it fires. Arm and disarm it with
/// `reactor::arm(t.node, ms)` / `reactor::disarm(t.node)`.
template <class T, void (T::*Fn)()>
class member_timer {
public:
  explicit member_timer(T* self) noexcept {
    node.fire = &call;
    node.self = self;
  }

  member_timer(const member_timer&) = delete;
  member_timer& operator=(const member_timer&) = delete;

  bool armed() const noexcept { return node.armed(); }

  timer_node node;

private:
  static void call(void* self) { (static_cast<T*>(self)->*Fn)(); }
};

/// All timers of one duration, in deadline order (a FIFO: same duration,
/// increasing start times), as a ring around `ring` (empty: it points to
/// itself). Arming, re-arming and disarming are O(1). Never moved (the
/// reactor holds it by pointer).
struct timer_list {
  timer_list() noexcept {
    ring.prev = &ring;
    ring.next = &ring;
  }
  timer_list(const timer_list&) = delete;
  timer_list& operator=(const timer_list&) = delete;

  bool empty() const noexcept { return ring.next == &ring; }
  timer_node* first() const noexcept { return ring.next; }

  int64_t duration = 0;
  timer_node ring; // the sentinel: prev is the last node, next the first
};

/// One I/O thread: an epoll loop that is also a `caf::execution_unit`.
///
/// Actors whose `subtype()` is `io_actor` and whose home is this reactor run
/// here (their mailboxes are drained on this thread); any other resumable
/// handed to `exec_later` is forwarded to the CAF scheduler. Sockets and
/// timers registered here call back on this thread without a mailbox hop.
class reactor : public caf::execution_unit {
public:
  reactor(caf::actor_system& sys, size_t index);
  ~reactor() override;

  reactor(const reactor&) = delete;
  reactor& operator=(const reactor&) = delete;

  /// Starts the thread.
  void start();

  /// Stops and joins the thread, then releases every resumable still queued.
  void stop();

  void exec_later(caf::resumable* ptr) override;

  /// Registers `fd` for `events` (EPOLLIN, EPOLLOUT, EPOLLET...).
  /// Returns false with errno set on failure. Reactor thread only.
  bool add(int fd, uint32_t events, io_handler* handler);

  /// Deregisters `fd`; pending events for `handler` in the current batch are
  /// dropped. Reactor thread only.
  void remove(int fd, io_handler* handler);

  /// Deregisters `fd` (EPOLL_CTL_DEL) and closes it; pending events for
  /// `handler` in the current batch are dropped as with `remove`. The
  /// EPOLL_CTL_DEL is needed even for a socket this process never
  /// duplicated: a fork (posix_spawn before its exec) holds a copy of every
  /// descriptor, and the registration lives as long as any copy does.
  /// Reactor thread only.
  void close_registered(int fd, io_handler* handler);

  /// Calls `handler->on_io(events)` again in the next loop iteration, after
  /// the other ready sockets and the timers of this one (fairness: a
  /// connection that did its share of work for this round yields and is
  /// woken again without waiting for a new edge). An epoll event for
  /// `handler` before then is merged into that call, so a handler runs at
  /// most once per iteration. `remove` and `close_registered` cancel it.
  /// Reactor thread only.
  void resume_later(io_handler* handler, uint32_t events);

  /// Arms (or re-arms) `node` to fire `duration_ms` from now.
  void arm(timer_node& node, int64_t duration_ms);

  /// Disarms `node` (no-op when not armed).
  void disarm(timer_node& node) noexcept;

  /// Drops `ref` after the current loop iteration (keeps an actor alive
  /// until no event of this batch can reach it any more).
  void release_later(caf::strong_actor_ptr ref);

  /// Monotonic milliseconds, refreshed once per loop iteration.
  int64_t now_ms() const noexcept { return now_ms_; }

  /// True on this reactor's own thread.
  bool on_thread() const noexcept {
    return std::this_thread::get_id() ==
           thread_id_.load(std::memory_order_acquire);
  }

  size_t index() const noexcept { return index_; }

  static constexpr size_t scratch_size = 64 * 1024;

  /// A read buffer shared by every socket of this reactor: a connection
  /// reads into it, processes what it got, and copies only leftover bytes
  /// of a partial request into a buffer of its own. Reactor thread only.
  std::pair<char*, size_t> scratch() noexcept {
    return {scratch_.get(), scratch_size};
  }

private:
  void run();
  void refresh_now() noexcept;
  int next_timeout() const noexcept;
  void fire_timers();
  void drain_remote();
  void run_local();
  void run_resumed();
  static bool merge(std::vector<std::pair<io_handler*, uint32_t>>& xs,
                    io_handler* h, uint32_t events) noexcept;
  void cancel_resume(io_handler* h) noexcept;

  size_t index_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false}; // after stop(): exec_later releases
  int64_t now_ms_ = 0;

  std::vector<caf::resumable*> local_;   // reactor thread only
  std::vector<caf::resumable*> running_; // reactor thread only
  // CAF's logger would log nothing (quiet): resume actors with no current
  // logger on this thread, so CAF skips its per-resume bookkeeping (see
  // run_local).
  bool quiet_logger_ = false;
  std::mutex remote_mtx_;
  std::vector<caf::resumable*> remote_; // guarded by remote_mtx_

  std::vector<io_handler*> removed_; // handlers removed during this batch
  // Handlers that yielded (resume_later) in this iteration, and those of
  // the previous one, called in this one after the epoll events.
  std::vector<std::pair<io_handler*, uint32_t>> resumed_;
  std::vector<std::pair<io_handler*, uint32_t>> resuming_;
  std::vector<std::unique_ptr<timer_list>> timer_lists_;
  std::vector<caf::strong_actor_ptr> releases_;
  std::unique_ptr<char[]> scratch_{new char[scratch_size]};
};

} // namespace roadrunner::detail
