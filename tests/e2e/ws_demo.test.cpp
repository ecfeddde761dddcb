// roadrunner-demo's WebSocket routes (issue 15) with real clients: Debian's
// python3-websockets (tests/e2e/ws_clients.py) and node's `ws` package
// (tests/e2e/ws_node_client.js) over ws:// and wss://, and python3-h2 with
// RFC 8441 over h2c and over TLS (tests/e2e/ws_h2_client.py), and two /chat
// pages in headless Chromium (tests/e2e/ws_browser.py): the echo, the chat
// room between two clients, the close codes a client sees, and the /chat
// page.

#include "h2test.hpp"
#include "net.hpp"

#include <doctest/doctest.h>

#include <exception>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

using namespace rrtest;

namespace {

std::string run_argv(const std::vector<std::string>& argv) {
  auto result = run(argv, std::chrono::seconds(30));
  // Not a structured binding: clang-14 refuses one in INFO.
  auto code = result.first;
  auto out = result.second;
  INFO(out);
  CHECK(code == 0);
  return out;
}

std::string run_case(const demo_server& demo, const std::string& name,
                     bool tls = false) {
  std::vector<std::string> argv{"/usr/bin/python3", ROADRUNNER_WS_CLIENTS,
                                std::to_string(demo.port), name};
  if (tls)
    argv.emplace_back("--tls");
  return run_argv(argv);
}

std::string h2_case(uint16_t port, std::vector<std::string> args) {
  std::vector<std::string> argv{"/usr/bin/python3", ROADRUNNER_WS_H2_CLIENT,
                                std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_argv(argv);
}

/// node's `ws` package, installed from npm into the build tree on first use.
/// False (with the reason) when npm cannot get it: the registry is
/// unreachable from this machine.
bool node_ws(std::string& why) {
  std::filesystem::path dir{ROADRUNNER_NODE_DIR};
  if (std::filesystem::exists(dir / "node_modules" / "ws" / "package.json"))
    return true;
  std::pair<int, std::string> result;
  try {
    result = run({"npm", "install", "--no-audit", "--no-fund", "--no-save",
                  "--prefix", dir.string(), "ws@8"},
                 std::chrono::seconds(180));
  } catch (const std::exception& e) { // no npm at all
    why = e.what();
    return false;
  }
  if (result.first == 0 &&
      std::filesystem::exists(dir / "node_modules" / "ws" / "package.json"))
    return true;
  why = "npm install ws@8 failed (exit " + std::to_string(result.first) +
        "): " + result.second;
  return false;
}

std::string node_case(const std::string& base, const std::string& name) {
  auto modules =
    (std::filesystem::path{ROADRUNNER_NODE_DIR} / "node_modules").string();
  return run_argv({"env", "NODE_PATH=" + modules, "node",
                   ROADRUNNER_WS_NODE_CLIENT, base, name});
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

  TEST_CASE("python3-websockets over TLS (wss://)") {
    test_certs certs;
    auto flags = certs.flags();
    flags.emplace_back("--protocols=http2,http1");
    demo_server demo{flags};
    CHECK(
      run_case(demo, "echo", true).rfind("ok echo close=1000 ext=deflate", 0) ==
      0);
    CHECK(run_case(demo, "chat", true).rfind("ok chat members=2", 0) == 0);
    CHECK(run_case(demo, "close", true).rfind("ok close codes=1009,1002", 0) ==
          0);
    CHECK(run_case(demo, "page", true).rfind("ok page", 0) == 0);
  }

  TEST_CASE("RFC 8441 with python3-h2: echo, compression and chat over h2c") {
    demo_server demo{{"--protocols=http2"}};
    auto out = h2_case(demo.port, {"echo"});
    CHECK(out.rfind("status 200\ncontent_length none\ntext 1 hello\n", 0) == 0);
    CHECK(out.find("big 2 307200 same\nother_stream 200\n") !=
          std::string::npos);
    CHECK(out.find("close 8 1000\nended 1 clean\nping ok\n") !=
          std::string::npos);
    CHECK(h2_case(demo.port, {"deflate"}) ==
          "extension permessage-deflate\necho 1 1 same\nended 1\n");
    CHECK(h2_case(demo.port, {"chat"}) ==
          "a_hears a joined\nb_hears b joined\na_hears b joined\n"
          "b_hears hi from a\na_hears hi from a\nended 1 1\n");
  }

  TEST_CASE("RFC 8441 over TLS (ALPN h2)") {
    test_certs certs;
    auto flags = certs.flags();
    flags.emplace_back("--protocols=http2,http1");
    demo_server demo{flags};
    auto out = h2_case(demo.port, {"echo", "--tls"});
    CHECK(out.find("big 2 307200 same\nother_stream 200\n") !=
          std::string::npos);
    CHECK(out.find("close 8 1000\nended 1 clean\nping ok\n") !=
          std::string::npos);
    CHECK(h2_case(demo.port, {"chat", "--tls"}).find("ended 1 1\n") !=
          std::string::npos);
  }

  TEST_CASE("node's ws package: echo with and without compression, chat, "
            "over ws:// and wss://") {
    std::string why;
    if (!node_ws(why)) {
      MESSAGE("skipped: node's ws package is not available (" << why << ")");
      return;
    }
    demo_server demo;
    auto base = "ws://127.0.0.1:" + std::to_string(demo.port);
    CHECK(node_case(base, "echo").rfind("ok echo close=1000 ext=deflate", 0) ==
          0);
    CHECK(node_case(base, "plain").rfind("ok plain close=1000 ext=none", 0) ==
          0);
    CHECK(node_case(base, "chat").rfind("ok chat members=2", 0) == 0);
    test_certs certs;
    auto flags = certs.flags();
    flags.emplace_back("--protocols=http2,http1");
    demo_server tls{flags};
    auto wss = "wss://127.0.0.1:" + std::to_string(tls.port);
    CHECK(node_case(wss, "echo").rfind("ok echo close=1000 ext=deflate", 0) ==
          0);
    CHECK(node_case(wss, "chat").rfind("ok chat members=2", 0) == 0);
  }

  TEST_CASE("headless Chromium: two /chat pages talk, over HTTP/1.1 and over "
            "HTTP/2 with TLS, where the browser uses RFC 8441") {
    if (!std::filesystem::exists("/usr/bin/chromium")) {
      MESSAGE("skipped: Debian's chromium is not installed");
      return;
    }
    demo_server demo;
    CHECK(run_argv({"/usr/bin/python3", ROADRUNNER_WS_BROWSER,
                    demo.url("/chat")}) == "ok status=101\n");
    test_certs certs;
    auto flags = certs.flags();
    flags.emplace_back("--protocols=http2,http1");
    demo_server tls{flags};
    CHECK(run_argv({"/usr/bin/python3", ROADRUNNER_WS_BROWSER,
                    https_url(tls.port, "/chat")}) == "ok status=200\n");
  }
}
