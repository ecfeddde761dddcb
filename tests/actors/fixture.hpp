#pragma once

// An actor system with roadrunner loaded, a scoped actor to talk to
// listeners, and automatic stop of every listener a test started (an
// unstopped listener would keep the system's destructor waiting).

#include "net.hpp"
#include <roadrunner/roadrunner.hpp>

#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace rrtest {

/// Counts events raised on any thread (a handler on a reactor, a helper
/// thread) and lets another thread wait for the n-th one, bounded.
class event_count {
public:
  void raise() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      ++count_;
    }
    cv_.notify_all();
  }

  /// Waits until at least `n` events were raised or `timeout` passed.
  bool await(uint64_t n,
             std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_for(lock, timeout, [&] { return count_ >= n; });
  }

  uint64_t count() {
    std::lock_guard<std::mutex> guard{mtx_};
    return count_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  uint64_t count_ = 0;
};

struct test_config : roadrunner::system_config {
  explicit test_config(size_t reactors = 2) {
    set("roadrunner.reactors", reactors);
    set("scheduler.max-threads", size_t{2});
  }
};

struct fixture {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::vector<roadrunner::listener_actor> started;

  /// An actor system with `reactors` reactor threads (2 by default).
  explicit fixture(size_t reactors = 2) : cfg(reactors) {}

  ~fixture() {
    for (auto& l : started)
      self->request(l, std::chrono::seconds(10), roadrunner::stop_atom::value)
        .receive([](caf::ok_atom) {}, [](caf::error&) {});
  }

  static roadrunner::listener_options loopback() {
    roadrunner::listener_options opts;
    opts.port = 0;
    opts.bind_address = "127.0.0.1";
    return opts;
  }

  roadrunner::listener_actor start(roadrunner::listener_options opts) {
    // Names are unique per actor system while a listener runs.
    auto name = started.empty() ? std::string{"test"}
                                : "test-" + std::to_string(started.size() + 1);
    auto res = roadrunner::start_listener(sys, name, std::move(opts));
    REQUIRE_MESSAGE(res, (res ? std::string{} : sys.render(res.error())));
    started.push_back(*res);
    return *res;
  }

  template <class T, class... Ts>
  T ask(const roadrunner::listener_actor& l, Ts... xs) {
    T result{};
    bool ok = false;
    self->request(l, std::chrono::seconds(10), xs...)
      .receive(
        [&](T& x) {
          result = std::move(x);
          ok = true;
        },
        [&](caf::error& err) { FAIL(sys.render(err)); });
    REQUIRE(ok);
    return result;
  }

  uint16_t port_of(const roadrunner::listener_actor& l) {
    return ask<uint16_t>(l, roadrunner::port_atom::value);
  }

  roadrunner::listener_info info_of(const roadrunner::listener_actor& l) {
    return ask<roadrunner::listener_info>(l, roadrunner::info_atom::value);
  }

  /// Polls `info` until active_clients == n or 5 s passed (slot release is
  /// asynchronous: it follows the connection's down message).
  bool await_active(const roadrunner::listener_actor& l, uint64_t n) {
    return eventually([&] { return info_of(l).active_clients == n; });
  }
};

} // namespace rrtest
