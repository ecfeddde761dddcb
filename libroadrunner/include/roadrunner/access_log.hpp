#pragma once

// The access log: one line per answered request (`request_stop`), in the
// common or combined log format of Apache and nginx, or as JSON.
//
//     std::string err;
//     auto file = roadrunner::log_file::open({.path = "access.log"}, err);
//     roadrunner::access_log log{file,
//     roadrunner::access_log_format::combined}; opts.telemetry =
//     roadrunner::fan_out({log.observer(), ...});
//
// Formatting runs on the reactor that answered the request, into that
// thread's buffer of the log_file; the file is written by its own thread.

#include <roadrunner/log_file.hpp>
#include <roadrunner/telemetry.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace roadrunner {

/// The line format.
enum class access_log_format {
  /// `PEER - - [TIME] "METHOD TARGET PROTOCOL" STATUS BYTES`
  common,
  /// common + ` "REFERER" "USER-AGENT"` (nginx's default `combined`).
  combined,
  /// One JSON object per line with every field of the event: time,
  /// listener, request_id, peer, peer_port, method, path, query, protocol,
  /// host, status, body_bytes_sent, bytes_sent, bytes_received,
  /// duration_ms, user_agent, referer.
  json,
};

/// Parses "common", "combined" or "json".
std::optional<access_log_format> parse_access_log_format(std::string_view x);

/// Appends one line (with its '\n') for a request_stop event that ended at
/// `now`. The time logged is when the request started (`now - duration`),
/// as Apache's %t. A field the event does not carry prints as "-" (sizes:
/// "-" for 0, as Apache's %b). Bytes outside printable ASCII and '"', '\'
/// are escaped as \xHH in the text formats; JSON escapes '"', '\', control
/// bytes and bytes >= 0x80 (as \u00HH) so every line is valid JSON.
void format_access_line(access_log_format format, const telemetry_event& e,
                        std::chrono::system_clock::time_point now,
                        std::string& out);

/// An access log sink. Copies share the file. Thread-safe.
class access_log {
public:
  /// Logs to `file` in `format`.
  access_log(log_file_ptr file, access_log_format format);

  /// A telemetry handler that logs every request_stop (other events are
  /// ignored).
  telemetry_sink observer() const;

  /// Lines dropped because the writer fell behind (the file's count).
  uint64_t dropped() const noexcept;

  /// The file written to.
  const log_file_ptr& file() const noexcept { return file_; }

private:
  log_file_ptr file_;
  access_log_format format_;
};

} // namespace roadrunner
