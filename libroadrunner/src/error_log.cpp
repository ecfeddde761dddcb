#include "log_text.hpp"
#include <roadrunner/error_log.hpp>

#include <cstdio>

namespace roadrunner {

namespace {

// RFC 9113 7 error code names, for http2_connection_error lines.
const char* h2_error_name(int64_t code) {
  static constexpr const char* names[] = {"NO_ERROR",
                                          "PROTOCOL_ERROR",
                                          "INTERNAL_ERROR",
                                          "FLOW_CONTROL_ERROR",
                                          "SETTINGS_TIMEOUT",
                                          "STREAM_CLOSED",
                                          "FRAME_SIZE_ERROR",
                                          "REFUSED_STREAM",
                                          "CANCEL",
                                          "COMPRESSION_ERROR",
                                          "CONNECT_ERROR",
                                          "ENHANCE_YOUR_CALM",
                                          "INADEQUATE_SECURITY",
                                          "HTTP_1_1_REQUIRED"};
  if (code >= 0 && code < static_cast<int64_t>(std::size(names)))
    return names[code];
  return "UNKNOWN";
}

void field(std::string& out, const char* key, std::string_view value) {
  out += ' ';
  out += key;
  out += '=';
  // Quoted when it has a space (or is empty), so the line stays logfmt.
  bool quote = value.find(' ') != std::string_view::npos;
  if (quote)
    out += '"';
  detail::append_escaped(out, value);
  if (quote)
    out += '"';
}

void field(std::string& out, const char* key, int64_t value) {
  out += ' ';
  out += key;
  out += '=';
  out += std::to_string(value);
}

void peer_field(std::string& out, const telemetry_event& e) {
  if (e.peer == nullptr) {
    field(out, "peer", "");
    return;
  }
  out += " peer=";
  detail::append_escaped(out, e.peer->ip);
  out += ':';
  out += std::to_string(e.peer->port);
}

void request_fields(std::string& out, const telemetry_event& e) {
  field(out, "request_id", e.request_id);
  field(out, "method", e.method);
  field(out, "path", e.path);
}

void line_start(std::string& out, log_level level, std::string_view listener,
                std::string_view event,
                std::chrono::system_clock::time_point now) {
  out += detail::time_of(now).iso;
  out += ' ';
  out += to_string(level);
  field(out, "listener", listener);
  field(out, "event", event);
}

} // namespace

const char* to_string(log_level x) noexcept {
  switch (x) {
  case log_level::error:
    return "error";
  case log_level::warning:
    return "warning";
  case log_level::info:
    return "info";
  case log_level::debug:
    return "debug";
  }
  return "unknown";
}

std::optional<log_level> parse_log_level(std::string_view x) {
  for (auto l : {log_level::error, log_level::warning, log_level::info,
                 log_level::debug})
    if (x == to_string(l))
      return l;
  return std::nullopt;
}

std::optional<log_level> level_of(const telemetry_event& e) noexcept {
  using k = telemetry_kind;
  switch (e.kind) {
  case k::request_exception:
  case k::accept_error:
    return log_level::error;
  case k::request_rejected:
    return e.status == 408 ? log_level::info : log_level::warning;
  case k::tls_handshake_failed:
  case k::http2_connection_error:
  case k::connection_rejected:
  case k::slots_reconciled:
    return log_level::warning;
  case k::drain_started:
  case k::drain_finished:
    return log_level::info;
  case k::connection_accepted:
  case k::connection_closed:
  case k::tls_handshake_completed:
  case k::websocket_open:
  case k::websocket_close:
    return log_level::debug;
  case k::request_start:
  case k::request_stop:
    break;
  }
  return std::nullopt;
}

void format_error_line(log_level level, const telemetry_event& e,
                       std::chrono::system_clock::time_point now,
                       std::string& out) {
  using k = telemetry_kind;
  line_start(out, level, e.listener_name, to_string(e.kind), now);
  switch (e.kind) {
  case k::request_rejected:
    field(out, "status", e.status);
    field(out, "reason", e.reason);
    peer_field(out, e);
    break;
  case k::request_exception:
    request_fields(out, e);
    field(out, "reason", e.reason);
    peer_field(out, e);
    break;
  case k::tls_handshake_failed:
  case k::connection_rejected:
    field(out, "reason", e.reason);
    peer_field(out, e);
    break;
  case k::http2_connection_error:
    field(out, "error_code", e.error_code);
    field(out, "error", h2_error_name(e.error_code));
    field(out, "reason", e.reason);
    peer_field(out, e);
    break;
  case k::accept_error:
    field(out, "errno", e.error_code);
    field(out, "reason", e.reason);
    break;
  case k::tls_handshake_completed:
    field(out, "alpn", e.protocol);
    peer_field(out, e);
    break;
  case k::connection_accepted:
  case k::websocket_open:
    peer_field(out, e);
    break;
  case k::websocket_close:
    field(out, "code", e.error_code);
    field(out, "reason", e.reason);
    peer_field(out, e);
    break;
  case k::connection_closed:
  case k::slots_reconciled:
  case k::drain_finished:
    field(out, "count", static_cast<int64_t>(e.count));
    if (e.kind == k::connection_closed)
      peer_field(out, e);
    break;
  case k::drain_started:
  case k::request_start:
  case k::request_stop:
    break;
  }
  out += '\n';
}

bool rate_limit::allow(size_t kind, int64_t now_s,
                       uint64_t& suppressed) noexcept {
  suppressed = 0;
  auto& s = slots_[kind % max_kinds];
  auto seen = s.second.load(std::memory_order_relaxed);
  if (seen != now_s && s.second.compare_exchange_strong(
                         seen, now_s, std::memory_order_relaxed)) {
    // This thread opened the new second: it reports the last one's drops.
    s.count.store(0, std::memory_order_relaxed);
    suppressed = s.dropped.exchange(0, std::memory_order_relaxed);
  }
  if (s.count.fetch_add(1, std::memory_order_relaxed) < per_second_)
    return true;
  s.dropped.fetch_add(1, std::memory_order_relaxed);
  refused_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

struct error_log::state {
  explicit state(error_log_options o) : opts(o), limit(o.max_per_second) {}
  error_log_options opts;
  rate_limit limit;
};

error_log::error_log(log_file_ptr file, error_log_options opts)
  : file_(std::move(file)), state_(std::make_shared<state>(opts)) {}

telemetry_sink error_log::observer() const {
  // Every kind a level is given to (not request_start / request_stop), no
  // request fields; the level is checked per event (408s are info).
  using k = telemetry_kind;
  telemetry_interest kinds{k::request_exception,       k::request_rejected,
                           k::connection_accepted,     k::connection_closed,
                           k::connection_rejected,     k::slots_reconciled,
                           k::drain_started,           k::drain_finished,
                           k::tls_handshake_completed, k::tls_handshake_failed,
                           k::http2_connection_error,  k::accept_error,
                           k::websocket_open,          k::websocket_close};
  auto fn = [file = file_, st = state_](const telemetry_event& e) {
    auto level = level_of(e);
    if (!level || *level > st->opts.level)
      return;
    auto now = std::chrono::system_clock::now();
    uint64_t suppressed = 0;
    if (st->opts.max_per_second > 0) {
      auto second = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
      bool ok =
        st->limit.allow(static_cast<size_t>(e.kind), second, suppressed);
      if (suppressed > 0)
        file->append_with([&](std::string& out) {
          line_start(out, log_level::warning, e.listener_name, "log_suppressed",
                     now);
          field(out, "kind", to_string(e.kind));
          field(out, "count", static_cast<int64_t>(suppressed));
          out += '\n';
        });
      if (!ok)
        return;
    }
    file->append_with(
      [&](std::string& out) { format_error_line(*level, e, now, out); });
  };
  return {std::move(fn), kinds};
}

void error_log::log(log_level level, std::string_view event,
                    std::string_view message) const {
  if (level > state_->opts.level)
    return;
  auto now = std::chrono::system_clock::now();
  file_->append_with([&](std::string& out) {
    line_start(out, level, "", event, now);
    field(out, "message", message);
    out += '\n';
  });
}

uint64_t error_log::suppressed() const noexcept {
  return state_->limit.refused();
}

} // namespace roadrunner
