#include "operators.hpp"
#include <roadrunner/error_log.hpp>

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using roadrunner::log_level;
using roadrunner::telemetry_kind;

namespace {

std::chrono::system_clock::time_point at() {
  return std::chrono::system_clock::from_time_t(1796290742); // 09:39:02Z
}

std::string line(const roadrunner::telemetry_event& e) {
  std::string out;
  auto level = roadrunner::level_of(e);
  REQUIRE(level);
  roadrunner::format_error_line(*level, e, at(), out);
  return out;
}

std::string temp_path() {
  char path[] = "/tmp/rr-errlog-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  return path;
}

} // namespace

TEST_SUITE("error_log") {

  TEST_CASE("one logfmt line per kind, with the fields the kind carries") {
    roadrunner::peer_address peer{"192.0.2.7", 4242};
    auto rejected = optest::event(telemetry_kind::request_rejected);
    rejected.status = 414;
    rejected.reason = "request_line_too_long";
    rejected.peer = &peer;
    CHECK(line(rejected) ==
          "2026-12-03T09:39:02Z warning listener=demo event=request_rejected "
          "status=414 reason=request_line_too_long peer=192.0.2.7:4242\n");
    auto thrown = optest::stop_event("POST", 0, 0ms);
    thrown.kind = telemetry_kind::request_exception;
    thrown.reason = "vector::at out of range";
    CHECK(line(thrown) ==
          "2026-12-03T09:39:02Z error listener=demo event=request_exception "
          "request_id=0123456789abcdef method=POST path=/ "
          "reason=\"vector::at out of range\" peer=-\n");
    auto goaway = optest::event(telemetry_kind::http2_connection_error);
    goaway.error_code = 1;
    goaway.reason = "invalid frame";
    goaway.peer = &peer;
    CHECK(line(goaway) == "2026-12-03T09:39:02Z warning listener=demo "
                          "event=http2_connection_error error_code=1 "
                          "error=PROTOCOL_ERROR reason=\"invalid frame\" "
                          "peer=192.0.2.7:4242\n");
    auto accept = optest::event(telemetry_kind::accept_error);
    accept.error_code = 24;
    accept.reason = "Too many open files";
    CHECK(line(accept) ==
          "2026-12-03T09:39:02Z error listener=demo event=accept_error "
          "errno=24 reason=\"Too many open files\"\n");
    auto tls = optest::event(telemetry_kind::tls_handshake_failed);
    tls.reason = "";
    CHECK(line(tls) == "2026-12-03T09:39:02Z warning listener=demo "
                       "event=tls_handshake_failed reason=- peer=-\n");
  }

  TEST_CASE("a value cannot forge a line or a field") {
    auto e = optest::event(telemetry_kind::request_exception);
    e.reason = "bad\nnews \"quoted\"";
    auto l = line(e);
    CHECK(l.find('\n') == l.size() - 1);
    CHECK(l.find("reason=\"bad\\x0anews \\x22quoted\\x22\"") !=
          std::string::npos);
  }

  TEST_CASE("levels per kind; a timeout is routine; request events are not "
            "errors") {
    auto e = optest::event(telemetry_kind::request_rejected);
    e.status = 400;
    CHECK(roadrunner::level_of(e) == log_level::warning);
    e.status = 408;
    CHECK(roadrunner::level_of(e) == log_level::info);
    CHECK(roadrunner::level_of(optest::event(
            telemetry_kind::connection_accepted)) == log_level::debug);
    CHECK_FALSE(roadrunner::level_of(optest::stop_event("GET", 500, 0ms)));
    CHECK(roadrunner::parse_log_level("info") == log_level::info);
    CHECK_FALSE(roadrunner::parse_log_level("verbose"));
  }

  TEST_CASE("the rate limit passes N per kind per second and reports the "
            "rest") {
    roadrunner::rate_limit limit{3};
    uint64_t suppressed = 0;
    int passed = 0;
    for (int i = 0; i < 10; ++i)
      passed += limit.allow(1, 100, suppressed) ? 1 : 0;
    CHECK(passed == 3);
    CHECK(limit.allow(2, 100, suppressed)); // another kind has its own
    CHECK(suppressed == 0);
    CHECK(limit.allow(1, 101, suppressed)); // a new second
    CHECK(suppressed == 7);
    CHECK(limit.refused() == 7);
  }

  TEST_CASE("the sink filters by level and rate-limits per kind") {
    auto path = temp_path();
    std::string err;
    auto file = roadrunner::log_file::open({.path = path}, err);
    REQUIRE(file);
    roadrunner::error_log log{
      file, {.level = log_level::warning, .max_per_second = 5}};
    auto observe = log.observer();
    auto bad = optest::event(telemetry_kind::request_rejected);
    bad.status = 400;
    for (int i = 0; i < 50; ++i)
      observe(bad);
    observe(optest::event(telemetry_kind::connection_accepted)); // debug
    observe(optest::event(telemetry_kind::accept_error));        // error
    log.log(log_level::info, "ignored", "below the level");
    log.log(log_level::warning, "tls_reload", "kept the old certificate");
    file->flush();
    auto result = rrtest::run({"cat", path});
    REQUIRE(result.first == 0);
    const auto& text = result.second; // clang-14: no binding in a lambda
    ::unlink(path.c_str());
    auto count = [&](std::string_view what) {
      size_t n = 0;
      for (size_t pos = 0; (pos = text.find(what, pos)) != std::string::npos;
           ++pos)
        ++n;
      return n;
    };
    // 50 in (at most) a few seconds: 5 per second passed.
    CHECK(count("event=request_rejected") >= 5);
    CHECK(count("event=request_rejected") <= 15);
    CHECK(log.suppressed() == 50 - count("event=request_rejected"));
    CHECK(count("event=connection_accepted") == 0);
    CHECK(count("event=accept_error") == 1);
    CHECK(count("below the level") == 0);
    CHECK(count("event=tls_reload message=\"kept the old certificate\"") == 1);
  }
}
