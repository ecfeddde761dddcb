#pragma once

// Support for the request lifecycle suites (guards, slots, requests_served
// parity): listeners speaking HTTP/1.1 or h2c with prior knowledge, the
// scripted python3-h2 client of tests/support/h2_script.py, and a
// telemetry recorder for request_exception events.

#include "fixture.hpp"
#include "net.hpp"
#include <roadrunner/roadrunner.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace rrtest {

/// Which protocol a listener speaks.
enum class proto { h1, h2 };

/// (A std::string: doctest's INFO prints a `const char*` as a pointer.)
inline std::string name_of(proto p) {
  return p == proto::h1 ? "HTTP/1.1" : "HTTP/2 (h2c)";
}

/// Loopback options for `p`: [http2] alone on plain TCP is h2c with prior
/// knowledge.
inline roadrunner::listener_options options_for(proto p) {
  auto opts = fixture::loopback();
  if (p == proto::h2)
    opts.protocols = {roadrunner::protocol::http2};
  return opts;
}

inline roadrunner::route route_of(std::string path, roadrunner::handler h,
                                  std::vector<std::string> methods = {"GET"}) {
  return roadrunner::route{.path = std::move(path),
                           .handler = std::move(h),
                           .methods = std::move(methods)};
}

inline roadrunner::response ok(roadrunner::request&) {
  return roadrunner::response::text(200, "ok");
}

inline bool has(std::string_view out, std::string_view what) {
  return out.find(what) != std::string_view::npos;
}

/// HTTP/1.1: the server closes a chunked 200 response before its last
/// chunk (a body cut short once its head was out).
inline void check_cut_short(client& c) {
  CHECK(c.closed_by_peer(std::chrono::seconds(10)));
  auto& got = c.leftover();
  CHECK(got.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(has(lower(got), "transfer-encoding: chunked"));
  CHECK_FALSE(has(got, "\r\n0\r\n\r\n")); // no last chunk
}

inline std::string get_req(std::string_view path, std::string_view extra = {}) {
  std::string out{"GET "};
  out += path;
  out += " HTTP/1.1\r\nHost: t\r\n";
  out += extra;
  out += "\r\n";
  return out;
}

/// The request_exception events of a listener (any reactor thread), and
/// every request_stop status.
class exception_log {
public:
  roadrunner::telemetry_handler handler() {
    return [this](const roadrunner::telemetry_event& e) {
      if (e.kind != roadrunner::telemetry_kind::request_exception)
        return;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        reasons_.emplace_back(e.reason);
      }
      events_.raise();
    };
  }

  /// Waits (bounded) for an exception whose reason is `what`.
  bool await(std::string_view what,
             std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return eventually([&] { return count(what) > 0; }, timeout);
  }

  size_t count(std::string_view what) {
    std::lock_guard<std::mutex> guard{mtx_};
    return static_cast<size_t>(
      std::count(reasons_.begin(), reasons_.end(), what));
  }

  size_t total() {
    std::lock_guard<std::mutex> guard{mtx_};
    return reasons_.size();
  }

private:
  std::mutex mtx_;
  std::vector<std::string> reasons_;
  event_count events_;
};

/// Responders (or writers) a test keeps alive, so that only the behaviour
/// under test can end their request; cleared by the test or the destructor.
template <class T>
class keeper {
public:
  void put(T x) {
    std::lock_guard<std::mutex> guard{mtx_};
    xs_.push_back(std::move(x));
  }

  size_t size() {
    std::lock_guard<std::mutex> guard{mtx_};
    return xs_.size();
  }

  /// The `i`-th kept value (by copy: responders and writers are handles).
  T at(size_t i) {
    std::lock_guard<std::mutex> guard{mtx_};
    return xs_.at(i);
  }

  void clear() {
    std::vector<T> gone;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      gone.swap(xs_);
    }
  }

private:
  std::mutex mtx_;
  std::vector<T> xs_;
};

#ifdef ROADRUNNER_H2_SCRIPT
/// The argv of an h2_script.py run against `port`.
inline std::vector<std::string> h2_script_argv(uint16_t port,
                                               std::vector<std::string> cmds) {
  std::vector<std::string> argv{"/usr/bin/python3", ROADRUNNER_H2_SCRIPT,
                                std::to_string(port)};
  argv.insert(argv.end(), cmds.begin(), cmds.end());
  return argv;
}

/// Runs an h2_script.py command list to completion (bounded); its stdout.
inline std::string h2_script(uint16_t port, std::vector<std::string> cmds) {
  return run(h2_script_argv(port, std::move(cmds)), std::chrono::seconds(40))
    .second;
}
#endif

/// One `stream SID status S ended E reset R body N` line of h2_script.py.
struct stream_result {
  int status = -1;
  int ended = 0;
  int reset = -1; // RFC 9113 error code of the RST_STREAM, -1: none
  size_t body = 0;
  bool seen = false;
};

inline stream_result stream_of(std::string_view out, int sid) {
  stream_result res;
  std::istringstream in{std::string{out}};
  std::string line;
  auto prefix = "stream " + std::to_string(sid) + " ";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0)
      continue;
    std::istringstream words{line.substr(prefix.size())};
    std::string key;
    while (words >> key) {
      if (key == "status")
        words >> res.status;
      else if (key == "ended")
        words >> res.ended;
      else if (key == "reset")
        words >> res.reset;
      else if (key == "body")
        words >> res.body;
    }
    res.seen = true;
  }
  return res;
}

/// RFC 9113 7: INTERNAL_ERROR.
constexpr int h2_internal_error = 2;
/// RFC 9113 7: PROTOCOL_ERROR.
constexpr int h2_protocol_error = 1;

} // namespace rrtest
