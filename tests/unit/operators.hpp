#pragma once

// Test support for the operator pieces (metrics, health, logs): synthetic
// telemetry events and requests, and the Prometheus parser round trip.

#include "http1/parser.hpp"
#include "net.hpp"
#include <roadrunner/request.hpp>
#include <roadrunner/telemetry.hpp>

#include <unistd.h>

#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>

namespace optest {

/// A request_stop as the connection emits it (the fields filled today).
inline roadrunner::telemetry_event
stop_event(std::string_view method, int status,
           std::chrono::nanoseconds duration,
           std::string_view listener = "demo") {
  roadrunner::telemetry_event e;
  e.kind = roadrunner::telemetry_kind::request_stop;
  e.listener_name = listener;
  e.request_id = "0123456789abcdef";
  e.method = method;
  e.path = "/";
  e.status = status;
  e.duration = duration;
  return e;
}

inline roadrunner::telemetry_event event(roadrunner::telemetry_kind kind,
                                         std::string_view listener = "demo") {
  roadrunner::telemetry_event e;
  e.kind = kind;
  e.listener_name = listener;
  return e;
}

/// A GET request for handlers that look at nothing but the listener.
struct fake_request {
  roadrunner::request_head head;
  roadrunner::detail::connection_info conn;
  roadrunner::request req;

  explicit fake_request(
    std::string_view target = "/",
    const roadrunner::detail::listener_stats* stats = nullptr,
    std::string_view listener = "demo")
    : head(make_head(target)), conn(make_conn(stats, listener)),
      req(head, "", conn) {}

  static roadrunner::request_head make_head(std::string_view target) {
    roadrunner::request_head h;
    h.method = "GET";
    h.target = target;
    h.path = target;
    return h;
  }

  static roadrunner::detail::connection_info
  make_conn(const roadrunner::detail::listener_stats* stats,
            std::string_view listener) {
    roadrunner::detail::connection_info c;
    c.listener_name = listener;
    c.stats = stats;
    return c;
  }
};

/// Parses exposition text with python3-prometheus-client
/// (tests/support/prometheus_parse.py): sample key -> value, plus
/// "family NAME" -> TYPE. Throws on a parse error or a duplicate sample.
inline std::map<std::string, std::string>
parse_prometheus(const std::string& text) {
  char path[] = "/tmp/rr-prom-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0)
    throw std::runtime_error("mkstemp failed");
  auto n = ::write(fd, text.data(), text.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()))
    throw std::runtime_error("short write");
  auto [code, out] = rrtest::run(
    {"/usr/bin/python3",
     ROADRUNNER_SOURCE_DIR "/tests/support/prometheus_parse.py", path});
  ::unlink(path);
  if (code != 0)
    throw std::runtime_error("prometheus parser failed (" +
                             std::to_string(code) + ") on:\n" + text);
  std::map<std::string, std::string> result;
  size_t pos = 0;
  while (pos < out.size()) {
    auto eol = out.find('\n', pos);
    auto line = out.substr(pos, eol - pos);
    pos = eol == std::string::npos ? out.size() : eol + 1;
    if (line.rfind("family ", 0) == 0) {
      auto sp = line.rfind(' ');
      result[line.substr(0, sp)] = line.substr(sp + 1);
      continue;
    }
    auto sp = line.rfind(' ');
    if (sp != std::string::npos)
      result[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return result;
}

} // namespace optest
