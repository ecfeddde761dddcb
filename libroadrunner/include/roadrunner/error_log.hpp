#pragma once

// The error log: what went wrong, one logfmt line per event, rate limited
// per kind so an attack or a storm of bad clients cannot flood the disk.
//
//     2026-12-03T09:44:51Z warning listener=demo event=request_rejected
//       status=400 reason=obs_fold peer=127.0.0.1:39026
//
// (one line). Levels per event kind:
// - error: request_exception (a handler threw), accept_error (EMFILE...);
// - warning: request_rejected (400/413/414/431/501/505 with the parser's
//   reason), tls_handshake_failed, http2_connection_error (GOAWAY code),
//   connection_rejected (max_clients), slots_reconciled;
// - info: request_rejected with 408 (a timeout is routine), drain_started,
//   drain_finished;
// - debug: connection_accepted, connection_closed, tls_handshake_completed.
// request_start and request_stop belong to the access log and are ignored.

#include <roadrunner/log_file.hpp>
#include <roadrunner/telemetry.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace roadrunner {

/// Severity, most severe first.
enum class log_level : uint8_t { error, warning, info, debug };

/// "error", "warning", "info" or "debug".
const char* to_string(log_level x) noexcept;

/// Parses a level name (as `to_string` prints it).
std::optional<log_level> parse_log_level(std::string_view x);

/// The level an event kind logs at (see the file comment); nullopt for the
/// kinds the error log ignores.
std::optional<log_level> level_of(const telemetry_event& e) noexcept;

/// Appends the logfmt line (with '\n') for `e` at `now`: time, level,
/// listener, event, then the fields the kind carries (status, reason, peer,
/// request_id, method, path, error_code, count). Values are escaped as the
/// access log's; an empty one prints as "-".
void format_error_line(log_level level, const telemetry_event& e,
                       std::chrono::system_clock::time_point now,
                       std::string& out);

/// A per-kind rate limit: at most `per_second` lines of one kind in one
/// second; the rest are counted and reported as one line when the kind
/// logs again in a later second. Thread-safe, lock-free.
class rate_limit {
public:
  /// At most `per_second` lines per kind per second (0: no limit).
  explicit rate_limit(uint32_t per_second) : per_second_(per_second) {}

  /// Whether a line of kind `kind` may be written in second `now_s`. When
  /// a new second begins for the kind, `suppressed` receives how many lines
  /// the previous busy second dropped (0 otherwise).
  bool allow(size_t kind, int64_t now_s, uint64_t& suppressed) noexcept;

  /// Lines refused so far, all kinds.
  uint64_t refused() const noexcept {
    return refused_.load(std::memory_order_relaxed);
  }

  /// Kinds tracked apart; larger kind numbers share slots modulo this.
  static constexpr size_t max_kinds = 32;

private:
  struct slot {
    std::atomic<int64_t> second{-1};
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> dropped{0};
  };
  uint32_t per_second_;
  std::array<slot, max_kinds> slots_;
  std::atomic<uint64_t> refused_{0};
};

/// Where and what the error log writes.
struct error_log_options {
  /// Lines below this severity are skipped.
  log_level level = log_level::warning;
  /// Lines per event kind per second; 0 disables the limit.
  uint32_t max_per_second = 10;
};

/// An error log sink. Copies share the file and the rate limit.
/// Thread-safe.
class error_log {
public:
  /// Logs to `file` with the level and rate limit of `opts`.
  error_log(log_file_ptr file, error_log_options opts = {});

  /// A telemetry handler writing the events the level lets through.
  telemetry_sink observer() const;

  /// Writes a line of the application's own (`event=NAME message="..."`),
  /// e.g. "reloaded the TLS certificate"; subject to the level, not to the
  /// rate limit.
  void log(log_level level, std::string_view event,
           std::string_view message) const;

  /// Lines dropped by the rate limit.
  uint64_t suppressed() const noexcept;

  /// The file written to.
  const log_file_ptr& file() const noexcept { return file_; }

private:
  struct state;
  log_file_ptr file_;
  std::shared_ptr<state> state_;
};

} // namespace roadrunner
