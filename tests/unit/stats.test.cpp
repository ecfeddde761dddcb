#include "slot_reconciler.hpp"
#include <roadrunner/detail/listener_stats.hpp>

#include <doctest/doctest.h>

using namespace roadrunner;
using roadrunner::detail::listener_stats;

TEST_SUITE("stats") {

  TEST_CASE("max_clients slots: over the cap is refused and counted") {
    listener_stats s;
    s.max_clients = 2;
    CHECK(s.try_acquire_slot());
    CHECK(s.try_acquire_slot());
    CHECK_FALSE(s.try_acquire_slot());
    CHECK(s.snapshot().active_clients == 2);
    CHECK(s.snapshot().rejected == 1);
    s.release_slot();
    CHECK(s.try_acquire_slot());
  }

  TEST_CASE("admission: the cap refuses, counts throttled, 0 is infinity") {
    listener_stats s;
    CHECK(s.try_admit()); // no cap
    CHECK(s.try_admit());
    s.finish_request();
    s.finish_request();
    s.max_concurrent_requests = 1;
    CHECK(s.try_admit());
    CHECK_FALSE(s.try_admit());
    CHECK(s.snapshot().in_flight == 1);
    CHECK(s.snapshot().throttled == 1);
    s.finish_request();
    CHECK(s.snapshot().in_flight == 0);
    CHECK(s.try_admit());
    s.finish_request();
    CHECK(s.snapshot().max_concurrent_requests == 1);
  }

  TEST_CASE("reconciliation releases only differences seen on two ticks") {
    slot_reconciler r;
    // A connection counted but not registered yet: seen once, not reaped.
    CHECK(r.tick(5, 4) == 0);
    CHECK(r.tick(5, 5) == 0);
    // Two orphans that persist: released on the second tick.
    CHECK(r.tick(7, 5) == 0);
    CHECK(r.tick(7, 5) == 2);
    // After the release the counter matches: nothing more.
    CHECK(r.tick(5, 5) == 0);
    // The smaller of the two differences: 3 then 1 releases 1.
    CHECK(r.tick(8, 5) == 0);
    CHECK(r.tick(6, 5) == 1);
    CHECK(r.tick(5, 5) == 0);
    // More alive than counted (a release raced a spawn): never negative.
    CHECK(r.tick(3, 5) == 0);
    CHECK(r.tick(3, 5) == 0);
  }

  TEST_CASE("a tick taken while slots moved proves nothing") {
    slot_reconciler r;
    // Two busy ticks that each caught a connection in flight: no release.
    CHECK(r.tick(6, 5, false) == 0);
    CHECK(r.tick(6, 5, false) == 0);
    // A busy tick between two quiet ones starts the filter over.
    CHECK(r.tick(6, 5) == 0);
    CHECK(r.tick(6, 5, false) == 0);
    CHECK(r.tick(6, 5) == 0);
    CHECK(r.tick(6, 5) == 1);
  }

  TEST_CASE("slot events count takes and releases, not refusals") {
    listener_stats s;
    s.max_clients = 1;
    CHECK(s.try_acquire_slot());
    CHECK_FALSE(s.try_acquire_slot());
    s.release_slot();
    CHECK(s.slot_events.load() == 2);
  }

} // TEST_SUITE
