// HTTP/2 under attack (issue 18): roadrunner-demo as h2c with prior
// knowledge and as h2 over TLS, attacked by tests/e2e/h2_attacks.py (raw
// frames, a bounded number of them, read concurrently). Each flood must be
// cut with GOAWAY(ENHANCE_YOUR_CALM) well before it is over, a client over
// max_concurrent_streams gets its extra streams refused one by one while
// the others are served (RFC 9113 5.1.2), max_keep_alive_requests ends a
// connection with GOAWAY(NO_ERROR) after the streams in flight, and a
// normal client with the same kinds of frames in fair measure is left
// alone. The budgets are the defaults (docs/options.md, "HTTP/2 flood
// limits").

#include "h2test.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <vector>

using namespace rrtest;

namespace {

struct attack_case {
  const char* name;
  /// What it does.
  const char* what;
  /// The outcome line (h2_attacks.py).
  const char* expected;
  /// Whether `expected` ends with the server's close, which must come within
  /// `cut_ms` of the first attack byte.
  bool cut;
};

// The server's close must follow the crossing of a budget at once (issue
// 18: within 0.5 s; loose here for sanitizer builds and a busy machine).
constexpr long cut_ms = 2000;

const attack_case attacks[] = {
  {"ping_flood", "30 000 PINGs (CVE-2019-9512)",
   "goaway ENHANCE_YOUR_CALM 0 eof", true},
  {"settings_flood", "30 000 empty SETTINGS (CVE-2019-9515)",
   "goaway ENHANCE_YOUR_CALM 0 eof", true},
  {"window_update_flood", "30 000 WINDOW_UPDATE(0, 1)",
   "goaway ENHANCE_YOUR_CALM 0 eof", true},
  {"priority_flood", "30 000 PRIORITY frames (CVE-2019-9513 class)",
   "goaway ENHANCE_YOUR_CALM 0 eof", true},
  {"empty_data_flood", "30 000 empty DATA frames on a request (CVE-2019-9518)",
   "goaway ENHANCE_YOUR_CALM 1 eof", true},
  {"tiny_data_flood", "30 000 DATA frames of one byte",
   "goaway ENHANCE_YOUR_CALM 1 eof", true},
  {"continuation_flood", "a header block of endless empty CONTINUATIONs",
   "goaway ENHANCE_YOUR_CALM 1 eof", true},
  {"rapid_reset",
   "HEADERS + RST_STREAM x 2000 (CVE-2023-44487): the 201st reset of a "
   "window of 1000 streams is one too many; stream 401 was processed",
   "goaway ENHANCE_YOUR_CALM 401 eof", true},
  {"hpack_bomb",
   "a 100-byte block expanding to 400 KB: decoding stops at 4 x "
   "max_header_list_size",
   "goaway ENHANCE_YOUR_CALM 3 eof", true},
  {"small_hpack_bombs",
   "blocks just over max_header_list_size, each answered with 431, "
   "repeated: each 431 spends credit",
   "goaway ENHANCE_YOUR_CALM eof", true},
  {"too_many_streams",
   "150 streams against max_concurrent_streams=100, after the SETTINGS ACK",
   "refused 50 (201-299) ok 100 (1-199)", false},
  {"keep_alive_limit",
   "max_keep_alive_requests=5, eight requests: GOAWAY(NO_ERROR) with the "
   "last stream id, every stream up to it answered",
   "goaway NO_ERROR 15 ok 8 (1-15) eof", false},
  {"normal_client",
   "2000 requests ten at a time with a PING and a WINDOW_UPDATE per batch",
   "ok 2000 open", false},
};

std::string run_attacks(uint16_t port, bool tls,
                        std::vector<std::string> names) {
  auto script =
    std::filesystem::path{ROADRUNNER_H2_CLIENT}.parent_path() / "h2_attacks.py";
  std::vector<std::string> argv{"/usr/bin/python3", script.string(),
                                std::to_string(port)};
  if (tls)
    argv.emplace_back("--tls");
  argv.insert(argv.end(), names.begin(), names.end());
  auto [code, out] = run(argv, 120s);
  CHECK(code == 0);
  return out;
}

/// The peak resident set of `pid` in KiB (VmHWM), -1 if unknown.
long peak_rss_kib(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0)
      return std::stol(line.substr(6));
  return -1;
}

/// h2load's status-code line counts: {2xx, 4xx, 5xx}.
std::vector<long> status_counts(const std::string& out) {
  std::smatch m;
  static const std::regex re{
    R"(status codes: (\d+) 2xx, \d+ 3xx, (\d+) 4xx, (\d+) 5xx)"};
  if (!std::regex_search(out, m, re))
    return {};
  return {std::stol(m[1]), std::stol(m[2]), std::stol(m[3])};
}

} // namespace

TEST_SUITE("e2e.h2_attacks") {
  TEST_CASE("request bodies: 100 x 10 MB on one h2c connection stay within "
            "body_memory_budget (the rest spooled, handlers see it whole); "
            "no spool directory -> 503") {
    // A random 10 MB body in a temporary file (issue 18 item 5: 100 h2
    // streams of 10 MB each).
    auto dir = std::filesystem::temp_directory_path();
    auto body_file = (dir / ("rr-body-" + std::to_string(::getpid()))).string();
    std::string body(10000000, '\0');
    std::mt19937 rng{42};
    for (auto& c : body)
      c = static_cast<char>(rng());
    std::ofstream{body_file, std::ios::binary} << body;
    auto h2load = [&](uint16_t port, std::string path) {
      return run({"h2load", "-d", body_file, "-n", "100", "-m", "100", "-c",
                  "1", http_url(port, path)},
                 120s)
        .second;
    };
    SUBCASE("over the budget: spooled") {
      demo_server srv{{"--protocols=http2", "--body-memory-budget=4M"}};
      auto base = peak_rss_kib(srv.proc.pid());
      // POST / is 405 after the whole body arrived: only the bodies cost.
      CHECK(status_counts(h2load(srv.port, "/")) ==
            std::vector<long>{0, 100, 0});
      auto peak = peak_rss_kib(srv.proc.pid());
      INFO("peak RSS " << peak << " KiB, before " << base << " KiB");
      CHECK(base > 0);
      // 1 GB of bodies arrived at once; memory grew by at most the 4 MiB
      // budget and a fixed overhead (buffers, nghttp2's per-stream state).
      // Without the budget it grows by the bodies. Not under ASan: its
      // quarantine keeps freed memory resident.
#ifndef __SANITIZE_ADDRESS__
      CHECK(peak - base < 4096 + 16384);
#endif
      // A spooled body reaches its handler whole (the echo compares).
      auto [code, echoed] =
        run({"curl", "-sS", "--max-time", "20", "--http2-prior-knowledge",
             "--data-binary", "@" + body_file, http_url(srv.port, "/echo")},
            30s);
      CHECK(code == 0);
      CHECK(echoed == body);
    }
    SUBCASE("without a spool directory: 503 past the budget") {
      demo_server srv{
        {"--protocols=http2", "--body-memory-budget=4M", "--body-spool-dir="}};
      auto counts = status_counts(h2load(srv.port, "/"));
      REQUIRE(counts.size() == 3);
      CHECK(counts[2] > 0); // 4 MiB holds no whole 10 MB body
      CHECK(counts[1] + counts[2] == 100);
    }
    std::filesystem::remove(body_file);
  }

  TEST_CASE("each flood is cut with GOAWAY(ENHANCE_YOUR_CALM) at once, "
            "extra streams are refused one by one, the keep-alive limit is "
            "graceful, a normal client is left alone; h2c and TLS") {
    test_certs certs;
    for (bool tls : {false, true}) {
      std::vector<std::string> flags{"--protocols=http2",
                                     "--max-keep-alive-requests=5"};
      if (tls)
        for (auto& f : certs.flags())
          flags.push_back(f);
      // The keep-alive limit has its own server: the other cases need more
      // than five requests per connection.
      demo_server limited{flags};
      flags[1] = "--max-keep-alive-requests=100000";
      demo_server srv{flags};
      std::vector<std::string> names;
      for (auto& a : attacks)
        if (std::string{a.name} != "keep_alive_limit")
          names.emplace_back(a.name);
      auto out = run_attacks(srv.port, tls, names);
      out += run_attacks(limited.port, tls, {"keep_alive_limit"});
      for (auto& a : attacks) {
        INFO((std::string{tls ? "TLS: " : "h2c: "} + a.name + ": " + a.what));
        CHECK(value_of(out, a.name) == std::string{a.expected});
        if (a.cut) {
          auto ms = std::stol(
            value_of(out, std::string{a.name} + "_ms").value_or("-1"));
          INFO("cut after " << ms << " ms");
          CHECK(ms >= 0);
          CHECK(ms < cut_ms);
        }
      }
      // The server lived through all of it.
      auto [code, body] =
        tls ? curl({"-k", "--http2", https_url(srv.port, "/")})
            : curl({"--http2-prior-knowledge", http_url(srv.port, "/")});
      CHECK(code == 0);
    }
  }
}
