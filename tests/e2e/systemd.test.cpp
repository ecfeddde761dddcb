// roadrunner-demo under a stand-in for systemd (tests/e2e/systemd_launcher.py):
// socket activation (LISTEN_FDS) and sd_notify (READY=1, STOPPING=1), issue
// 14 item 7.

#include "net.hpp"

#include <doctest/doctest.h>

#include <regex>
#include <string>

using namespace rrtest;

TEST_SUITE("e2e.systemd") {

  TEST_CASE("the demo accepts on the passed socket and reports READY=1 and "
            "STOPPING=1") {
    // --port=1 would be a visible mistake: the demo must not bind at all.
    auto result = run({"/usr/bin/python3",
                       ROADRUNNER_SOURCE_DIR "/tests/e2e/systemd_launcher.py",
                       ROADRUNNER_DEMO_PATH, "--reactors=2", "--port=1"},
                      30s);
    auto code = result.first;
    const auto& out = result.second; // clang-14: INFO cannot capture a binding
    INFO(out);
    CHECK(code == 0);
    CHECK(std::regex_match(out, std::regex{"notify READY=1\n"
                                           "start roadrunner-demo listening on "
                                           "http://127\\.0\\.0\\.1:[0-9]+\n"
                                           "get 200 Hello, World!\n"
                                           "own-sockets 0\n"
                                           "notify STOPPING=1\n"
                                           "exit 0\n"}));
    // The start line names the passed socket's port, not --port.
    CHECK(out.find("127.0.0.1:1\n") == std::string::npos);
  }

  TEST_CASE("without NOTIFY_SOCKET and LISTEN_FDS nothing changes") {
    demo_server srv; // binds as usual; sd_notify is a no-op
    client c{srv.port};
    REQUIRE(c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
  }

  TEST_CASE("the example INI file of examples/systemd passes --check-config") {
    auto [code, out] = run({ROADRUNNER_DEMO_PATH, "--check-config",
                            "--config-file=" ROADRUNNER_SOURCE_DIR
                            "/examples/systemd/demo.ini"});
    CHECK(code == 0);
    CHECK(out == "roadrunner-demo: configuration ok\n");
  }
}
