#include "io/socket.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <string>

namespace {

// format_ipv4 must print what inet_ntop prints.
std::string both(const char* dotted) {
  in_addr a{};
  REQUIRE(inet_pton(AF_INET, dotted, &a) == 1);
  char ours[16] = {};
  auto n = roadrunner::io::format_ipv4(a.s_addr, ours);
  char ref[INET_ADDRSTRLEN] = {};
  REQUIRE(inet_ntop(AF_INET, &a, ref, sizeof(ref)) != nullptr);
  CHECK(std::string{ours, n} == ref);
  return std::string{ours, n};
}

} // namespace

TEST_SUITE("unit.io.socket") {

  TEST_CASE("format_ipv4 prints dotted quads like inet_ntop") {
    CHECK(both("127.0.0.1") == "127.0.0.1");
    CHECK(both("0.0.0.0") == "0.0.0.0");
    CHECK(both("255.255.255.255") == "255.255.255.255");
    CHECK(both("10.0.100.9") == "10.0.100.9");
    CHECK(both("192.168.1.20") == "192.168.1.20");
    for (unsigned v : {1u, 9u, 10u, 99u, 100u, 199u, 200u, 254u}) {
      auto s = std::to_string(v);
      both((s + "." + s + "." + s + "." + s).c_str());
    }
  }

} // TEST_SUITE
