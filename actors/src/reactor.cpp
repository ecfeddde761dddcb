#include "reactor.hpp"

#include "listener_shared.hpp"

#include <caf/actor_system.hpp>
#include <caf/logger.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <limits>
#include <pthread.h>
#include <stdexcept>
#include <string>

namespace roadrunner::detail {

namespace {

// How many messages one actor may process before the loop moves on.
constexpr size_t max_throughput = 64;

void release(caf::resumable* ptr) {
  ptr->intrusive_ptr_release_impl();
}

} // namespace

int64_t monotonic_ms() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

reactor::reactor(caf::actor_system& sys, size_t index)
  : caf::execution_unit(&sys), index_(index) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0)
    throw std::runtime_error("roadrunner: cannot create reactor fds");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr; // the wake-up fd is the only nullptr registration
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  refresh_now();
}

reactor::~reactor() {
  stop();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void reactor::start() {
  thread_ = std::thread{[this] { run(); }};
  // Named from here, so the name is in place before start() returns (and
  // before anyone can look at the process's threads).
  auto name = "rr.reactor." + std::to_string(index_);
  pthread_setname_np(thread_.native_handle(), name.substr(0, 15).c_str());
}

void reactor::stop() {
  if (!thread_.joinable())
    return;
  stopping_ = true;
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
  thread_.join();
  thread_id_.store(std::thread::id{}, std::memory_order_release);
  // From now on nothing runs here: exec_later drops its reference at once.
  {
    std::lock_guard<std::mutex> guard{remote_mtx_};
    stopped_ = true;
  }
  // Whatever is still queued holds a reference taken by `enqueue`.
  drain_remote();
  for (auto* p : local_)
    release(p);
  local_.clear();
  releases_.clear();
}

void reactor::exec_later(caf::resumable* ptr) {
  if (ptr->subtype() != caf::resumable::io_actor) {
    system().scheduler().enqueue(ptr);
    return;
  }
  if (on_thread()) {
    local_.push_back(ptr);
    return;
  }
  bool was_empty = false;
  bool gone = false;
  {
    std::lock_guard<std::mutex> guard{remote_mtx_};
    gone = stopped_;
    if (!gone) {
      was_empty = remote_.empty();
      remote_.push_back(ptr);
    }
  }
  if (gone) {
    // The loop is gone (system shutdown): nothing will resume this actor;
    // give back the reference its enqueue took (outside the lock: this may
    // destroy the actor).
    release(ptr);
    return;
  }
  // One wake-up per batch: the loop reads the eventfd before taking the
  // queue, so a push after the take sees an empty queue and writes again.
  if (was_empty) {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
  }
}

bool reactor::add(int fd, uint32_t events, io_handler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void reactor::remove(int fd, io_handler* handler) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  removed_.push_back(handler);
  cancel_resume(handler);
}

void reactor::close_registered(int fd, io_handler* handler) {
  // Deregister first: closing alone drops the registration only with the
  // last descriptor of the socket, and a fork of this process (a
  // posix_spawn before its exec, or a user's fork) may hold another one;
  // events would then still name `handler` after it is freed.
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  removed_.push_back(handler);
  cancel_resume(handler);
}

// -- yielding handlers --------------------------------------------------------

void reactor::resume_later(io_handler* handler, uint32_t events) {
  if (!merge(resumed_, handler, events))
    resumed_.emplace_back(handler, events);
}

bool reactor::merge(std::vector<std::pair<io_handler*, uint32_t>>& xs,
                    io_handler* h, uint32_t events) noexcept {
  for (auto& [x, ev] : xs)
    if (x == h) {
      ev |= events;
      return true;
    }
  return false;
}

void reactor::cancel_resume(io_handler* h) noexcept {
  // The handler may be freed after this iteration: forget it (also when
  // it is being resumed right now: `resuming_` is checked per call).
  std::erase_if(resumed_, [h](const auto& x) { return x.first == h; });
  for (auto& x : resuming_)
    if (x.first == h)
      x.first = nullptr;
}

void reactor::run_resumed() {
  // The handlers that yielded in the previous iteration (`run` moved them
  // to `resuming_`); one that yields again now waits for the next one.
  for (size_t i = 0; i < resuming_.size(); ++i)
    if (auto [h, ev] = resuming_[i]; h != nullptr)
      h->on_io(ev); // may close handlers (cancel_resume clears their entry)
  resuming_.clear();
}

void reactor::release_later(caf::strong_actor_ptr ref) {
  releases_.push_back(std::move(ref));
}

// -- timers -------------------------------------------------------------------

void reactor::arm(timer_node& node, int64_t duration_ms) {
  disarm(node);
  timer_list* list = nullptr;
  for (auto& l : timer_lists_)
    if (l->duration == duration_ms) {
      list = l.get();
      break;
    }
  if (list == nullptr) {
    timer_lists_.emplace_back(std::make_unique<timer_list>());
    list = timer_lists_.back().get();
    list->duration = duration_ms;
  }
  node.deadline = now_ms_ + duration_ms;
  auto& ring = list->ring;
  node.next = &ring;
  node.prev = ring.prev;
  ring.prev->next = &node;
  ring.prev = &node;
}

void reactor::disarm(timer_node& node) noexcept {
  if (node.prev == nullptr)
    return;
  node.prev->next = node.next;
  node.next->prev = node.prev;
  node.prev = node.next = nullptr;
}

int reactor::next_timeout() const noexcept {
  int64_t best = std::numeric_limits<int64_t>::max();
  for (auto& l : timer_lists_)
    if (!l->empty())
      best = std::min(best, l->first()->deadline);
  if (best == std::numeric_limits<int64_t>::max())
    return -1;
  auto wait = best - now_ms_;
  if (wait <= 0)
    return 0;
  return static_cast<int>(std::min<int64_t>(wait, 3600 * 1000));
}

void reactor::fire_timers() {
  // Index loop: a handler may arm a timer of a new duration, which appends
  // to timer_lists_ (the lists themselves are stable, they are heap nodes).
  for (size_t i = 0; i < timer_lists_.size(); ++i) {
    auto* l = timer_lists_[i].get();
    while (!l->empty() && l->first()->deadline <= now_ms_) {
      auto* node = l->first();
      disarm(*node);
      node->fire(node->self); // may disarm or re-arm other nodes
    }
  }
}

// -- loop -------------------------------------------------------------------

void reactor::refresh_now() noexcept {
  now_ms_ = monotonic_ms();
}

void reactor::drain_remote() {
  uint64_t count;
  [[maybe_unused]] auto n = ::read(wake_fd_, &count, sizeof(count));
  std::lock_guard<std::mutex> guard{remote_mtx_};
  local_.insert(local_.end(), remote_.begin(), remote_.end());
  remote_.clear();
}

void reactor::run_local() {
  // Every resume runs CAF's CAF_PUSH_AID, which with a current logger calls
  // logger::thread_local_aid: a locked hash-map update, about 1 000
  // instructions per resume, twice per connection actor and once per
  // handler-actor request, although a quiet logger never prints the id.
  // With no current logger CAF skips it. Spawning (an acceptor's new
  // connection) sets the logger again, hence here rather than once.
  if (quiet_logger_)
    caf::logger::set_current_actor_system(nullptr);
  running_.swap(local_);
  for (auto* job : running_) {
    switch (job->resume(this, max_throughput)) {
    case caf::resumable::resume_later:
      local_.push_back(job);
      break;
    case caf::resumable::done:
    case caf::resumable::awaiting_message:
      release(job);
      break;
    default:
      release(job);
      break;
    }
  }
  running_.clear();
}

void reactor::run() {
  thread_id_.store(std::this_thread::get_id(), std::memory_order_release);
  system().thread_started();
  quiet_logger_ = system().logger().verbosity() == CAF_LOG_LEVEL_QUIET;
  constexpr int max_events = 256;
  epoll_event events[max_events];
  while (!stopping_.load(std::memory_order_relaxed)) {
    int timeout = local_.empty() && resumed_.empty() ? next_timeout() : 0;
    int n = ::epoll_wait(epoll_fd_, events, max_events, timeout);
    refresh_now();
    if (n < 0 && errno != EINTR)
      break;
    resuming_.swap(resumed_);
    for (int i = 0; i < n; ++i) {
      auto* h = static_cast<io_handler*>(events[i].data.ptr);
      if (h == nullptr) {
        drain_remote();
        continue;
      }
      if (!removed_.empty() &&
          std::find(removed_.begin(), removed_.end(), h) != removed_.end())
        continue;
      // A handler that yielded runs once, after the others (fairness).
      if (!resuming_.empty() && merge(resuming_, h, events[i].events))
        continue;
      h->on_io(events[i].events);
    }
    if (!resuming_.empty())
      run_resumed();
    removed_.clear();
    fire_timers();
    // Messages between actors of this reactor (a connection and a hosted
    // handler actor) are enqueued while run_local runs: serve a few rounds
    // before the next epoll_wait instead of one syscall per hop.
    for (int round = 0; round < 4 && !local_.empty(); ++round)
      run_local();
    removed_.clear();
    releases_.clear();
  }
  system().thread_terminates();
}

} // namespace roadrunner::detail
