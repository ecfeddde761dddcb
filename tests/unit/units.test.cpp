#include <roadrunner/units.hpp>

#include <doctest/doctest.h>

#include <array>
#include <string>

using namespace std::chrono_literals;

TEST_SUITE("units") {

  TEST_CASE("durations take ms, s, m, h; a plain number is milliseconds") {
    CHECK(roadrunner::parse_duration("250") == 250ms);
    CHECK(roadrunner::parse_duration("500ms") == 500ms);
    CHECK(roadrunner::parse_duration("30s") == 30s);
    CHECK(roadrunner::parse_duration("2m") == 2min);
    CHECK(roadrunner::parse_duration("1h") == 1h);
    CHECK(roadrunner::parse_duration("0") == 0ms);
    for (std::string bad : {"", "s", "-1", "1.5s", "30 s", "30sec", "10d", "ms",
                            "99999999999999999999", "9223372036854775807h"})
      CHECK_MESSAGE(!roadrunner::parse_duration(bad), bad);
  }

  TEST_CASE("sizes take k/KiB, M/MiB, G/GiB as powers of 1024") {
    CHECK(roadrunner::parse_size("1000") == 1000);
    CHECK(roadrunner::parse_size("1k") == 1024);
    CHECK(roadrunner::parse_size("4K") == 4096);
    CHECK(roadrunner::parse_size("2KiB") == 2048);
    CHECK(roadrunner::parse_size("1M") == 1048576);
    CHECK(roadrunner::parse_size("1MiB") == 1048576);
    CHECK(roadrunner::parse_size("3GiB") == int64_t{3} << 30);
    for (std::string bad : {"", "k", "-1", "1.5M", "1 MiB", "1Mb", "1kb", "1T",
                            "9223372036854775807k"})
      CHECK_MESSAGE(!roadrunner::parse_size(bad), bad);
  }

  TEST_CASE("counts are plain integers, booleans exactly true or false") {
    CHECK(roadrunner::parse_count("42") == 42);
    CHECK_FALSE(roadrunner::parse_count("42k"));
    CHECK_FALSE(roadrunner::parse_count("+1"));
    CHECK(roadrunner::parse_bool("true") == true);
    CHECK(roadrunner::parse_bool("false") == false);
    for (std::string bad : {"", "1", "0", "yes", "True", "FALSE"})
      CHECK_MESSAGE(!roadrunner::parse_bool(bad), bad);
  }

  TEST_CASE("the nearest known name is offered for a typo, not for noise") {
    std::array<std::string_view, 4> names{"max-clients", "max-content-length",
                                          "port", "request-timeout"};
    CHECK(roadrunner::edit_distance("kitten", "sitting") == 3);
    CHECK(roadrunner::edit_distance("", "abc") == 3);
    CHECK(roadrunner::nearest_name("max-clientz", names) == "max-clients");
    CHECK(roadrunner::nearest_name("max_clients", names) == "max-clients");
    CHECK(roadrunner::nearest_name("prot", names) == "port");
    CHECK(roadrunner::nearest_name("request-timout", names) ==
          "request-timeout");
    CHECK(roadrunner::nearest_name("zzzzzzzz", names).empty());
  }
}
