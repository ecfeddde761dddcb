// roadrunner-demo's WebSocket routes (issue 15) with a real client:
// Debian's python3-websockets (tests/e2e/ws_clients.py) for the echo, the
// chat room between two clients, the close codes a client sees, and the
// /chat page.

#include "net.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>

using namespace rrtest;

namespace {

std::string run_case(const demo_server& demo, const std::string& name) {
  auto script = std::filesystem::path{ROADRUNNER_WS_CLIENTS};
  // Not a structured binding: clang-14 refuses one in INFO.
  auto result =
    run({"/usr/bin/python3", script.string(), std::to_string(demo.port), name},
        std::chrono::seconds(30));
  auto code = result.first;
  auto out = result.second;
  INFO(out);
  CHECK(code == 0);
  return out;
}

} // namespace

TEST_SUITE("e2e.ws_demo") {

  TEST_CASE(
    "python3-websockets: echo with and without compression, chat, close "
    "codes, the chat page") {
    demo_server demo;
    CHECK(run_case(demo, "echo").rfind("ok echo close=1000 ext=deflate", 0) ==
          0);
    CHECK(run_case(demo, "plain").rfind("ok plain close=1000 ext=none", 0) ==
          0);
    CHECK(run_case(demo, "chat").rfind("ok chat members=2", 0) == 0);
    CHECK(run_case(demo, "close").rfind("ok close codes=1009,1002", 0) == 0);
    CHECK(run_case(demo, "page").rfind("ok page", 0) == 0);
  }
}
