#include "operators.hpp"
#include <roadrunner/access_log.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace std::chrono_literals;
using roadrunner::access_log_format;

namespace {

// 2026-12-03T09:39:02Z plus 250 ms.
std::chrono::system_clock::time_point at() {
  return std::chrono::system_clock::from_time_t(1796290742) + 250ms;
}

struct full_event {
  roadrunner::peer_address peer{"192.0.2.7", 51234};
  roadrunner::telemetry_event e = make();

  roadrunner::telemetry_event make() {
    auto x = optest::stop_event("GET", 200, 1500ms, "edge");
    x.path = "/search";
    x.query = "q=roadrunner&page=2";
    x.protocol = "HTTP/1.1";
    x.host = "example.test";
    x.user_agent = "curl/7.88.1";
    x.referer = "https://example.test/";
    x.body_bytes_sent = 1234;
    x.bytes_sent = 1400;
    x.bytes_received = 80;
    x.peer = &peer;
    return x;
  }
};

std::string line(access_log_format f, const roadrunner::telemetry_event& e) {
  std::string out;
  roadrunner::format_access_line(f, e, at(), out);
  return out;
}

} // namespace

TEST_SUITE("access_log") {

  TEST_CASE("common and combined lines match Apache's and nginx's") {
    full_event f;
    // The time is the request's start: 1.5 s before it ended.
    CHECK(line(access_log_format::common, f.e) ==
          "192.0.2.7 - - [03/Dec/2026:09:39:00 +0000] "
          "\"GET /search?q=roadrunner&page=2 HTTP/1.1\" 200 1234\n");
    CHECK(line(access_log_format::combined, f.e) ==
          "192.0.2.7 - - [03/Dec/2026:09:39:00 +0000] "
          "\"GET /search?q=roadrunner&page=2 HTTP/1.1\" 200 1234 "
          "\"https://example.test/\" \"curl/7.88.1\"\n");
  }

  TEST_CASE("fields an event does not carry print as -") {
    auto e = optest::stop_event("GET", 0, 0ms);
    e.path = "";
    e.method = "";
    CHECK(line(access_log_format::combined, e) ==
          "- - - [03/Dec/2026:09:39:02 +0000] \"- - -\" - - \"-\" \"-\"\n");
    auto today = optest::stop_event("POST", 201, 0ms); // what is filled today
    CHECK(line(access_log_format::common, today) ==
          "- - - [03/Dec/2026:09:39:02 +0000] \"POST / -\" 201 -\n");
  }

  TEST_CASE("quotes, backslashes and control bytes cannot forge a line") {
    full_event f;
    f.e.user_agent = "evil\" \"x\n\x01\xff\\";
    auto l = line(access_log_format::combined, f.e);
    CHECK(l.find("\"evil\\x22 \\x22x\\x0a\\x01\\xff\\x5c\"\n") !=
          std::string::npos);
    CHECK(l.find('\n') == l.size() - 1);
  }

  TEST_CASE("JSON lines carry every field and stay valid JSON") {
    full_event f;
    f.e.user_agent = "a\"b\\c\n\x01\xe9";
    auto l = line(access_log_format::json, f.e);
    REQUIRE(l.back() == '\n');
    CHECK(l.find('\n') == l.size() - 1);
    auto j = nlohmann::json::parse(l);
    CHECK(j["time"] == "2026-12-03T09:39:00Z");
    CHECK(j["listener"] == "edge");
    CHECK(j["request_id"] == "0123456789abcdef");
    CHECK(j["peer"] == "192.0.2.7");
    CHECK(j["peer_port"] == 51234);
    CHECK(j["method"] == "GET");
    CHECK(j["path"] == "/search");
    CHECK(j["query"] == "q=roadrunner&page=2");
    CHECK(j["protocol"] == "HTTP/1.1");
    CHECK(j["host"] == "example.test");
    CHECK(j["status"] == 200);
    CHECK(j["body_bytes_sent"] == 1234);
    CHECK(j["bytes_sent"] == 1400);
    CHECK(j["bytes_received"] == 80);
    CHECK(j["duration_ms"].get<double>() == doctest::Approx(1500.0));
    CHECK(j["user_agent"] == "a\"b\\c\n\x01\xc3\xa9"); // \u00e9 is U+00E9
    CHECK(j["referer"] == "https://example.test/");
    auto empty = nlohmann::json::parse(
      line(access_log_format::json, optest::stop_event("GET", 200, 0ms)));
    CHECK(empty["host"] == "-");
    CHECK(empty["peer"] == "-");
  }

  TEST_CASE("format names") {
    CHECK(roadrunner::parse_access_log_format("json") ==
          access_log_format::json);
    CHECK(roadrunner::parse_access_log_format("combined") ==
          access_log_format::combined);
    CHECK(roadrunner::parse_access_log_format("common") ==
          access_log_format::common);
    CHECK_FALSE(roadrunner::parse_access_log_format("Combined"));
  }

  TEST_CASE("the sink logs request_stop events only") {
    char path[] = "/tmp/rr-access-XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    ::close(fd);
    std::string err;
    auto file = roadrunner::log_file::open({.path = path}, err);
    REQUIRE(file);
    roadrunner::access_log log{file, access_log_format::common};
    auto observe = log.observer();
    observe(optest::event(roadrunner::telemetry_kind::request_start));
    observe(optest::stop_event("GET", 204, 0ms));
    observe(optest::event(roadrunner::telemetry_kind::connection_closed));
    file->flush();
    auto [code, text] = rrtest::run({"cat", path});
    ::unlink(path);
    CHECK(std::count(text.begin(), text.end(), '\n') == 1);
    CHECK(text.find("\"GET / -\" 204 -\n") != std::string::npos);
    CHECK(log.dropped() == 0);
  }
}
