#pragma once

// roadrunner-demo's configuration: its flags, the INI file, --help and the
// translation into listener options. No CAF here, except that options
// with a dot (`--scheduler.policy=sharing`, an INI section other than
// [global]) are CAF's own and are handed to CAF untouched.

#include <roadrunner/options.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace demo {

/// Every setting of the demo, with its default. Durations are milliseconds,
/// sizes bytes.
struct settings {
  // -- the demo's own ---------------------------------------------------------
  int64_t port = 8080;
  std::string bind = "127.0.0.1";
  int64_t reactors = 0; // 0: one per core
  int64_t drain_timeout = 10000;
  std::string config_file;
  std::string access_log; // empty: off; "-": stderr
  std::string access_log_format = "combined";
  std::string error_log = "-"; // "-": stderr
  std::string log_level = "warning";
  // -- listener options -------------------------------------------------------
  int64_t max_content_length = 10485760;
  int64_t request_timeout = 30000;
  int64_t keep_alive_timeout = 60000;
  int64_t num_acceptors = 10;
  int64_t max_keep_alive_requests = 1000;
  int64_t max_clients = 150;
  int64_t min_bytes_per_second = 100;
  int64_t rate_check_interval = 1000;
  std::string body_buffering = "auto";
  int64_t slot_reconciliation = 0; // 0: disabled
  bool graceful_drain = true;
  int64_t hibernate_after = 0;         // 0: unset
  int64_t max_concurrent_requests = 0; // 0: infinity
  int64_t socket_backlog = 1024;
  std::string protocols = "http1";
  int64_t max_request_line = 8192;
  int64_t max_header_line = 8192;
  int64_t max_header_block = 10240;
  int64_t max_header_count = 100;
  int64_t conn_window = 65535;
  int64_t stream_window = 65535;
  int64_t window_refill_threshold = 32768;
  int64_t max_concurrent_streams = 100;
  int64_t max_header_list_size = 32768;
  std::string tls_cert;
  std::string tls_key;
  int64_t tls_handshake_timeout = 10000;
  bool tls_ktls = false;
  // -- web features (issue 16) ------------------------------------------------
  /// --cors-origin (repeatable): CORS on for every route, these origins.
  std::vector<std::string> cors_origins;
  /// --static-dir: serve this directory under /static/.
  std::string static_dir;
  /// --compress: br/zstd/gzip responses for clients that ask.
  bool compress = true;
  int64_t gzip_level = 6;
  int64_t body_memory_budget = 268435456;
  std::string body_spool_dir = "/tmp";
  // -- beyond one process (issue 17; docs/scaling.md) -------------------------
  bool proxy_protocol = false;
  int64_t proxy_protocol_timeout = 5000;
  bool reuse_port = false;
  std::string handler_node;    // PORT (0: any): run a handler node instead
  std::string remote_handlers; // HOST:PORT of a handler node (/remote/...)
  // -- CAF's own options, passed through
  // ---------------------------------------
  /// `--name=value` for every dotted option, command line after INI.
  std::vector<std::string> caf_args;
};

/// What main should do after reading the command line.
enum class action {
  /// Serve.
  run,
  /// Validate everything, do not bind, exit 0 (or 1 with the error).
  check_config,
  /// `--help` or `--version` printed its text: exit 0.
  done,
  /// A bad flag or INI entry: print `error`, exit 1.
  fail,
};

struct parse_result {
  action what = action::run;
  /// For `fail`: what is wrong, naming the flag (or FILE:LINE and key).
  std::string error;
  /// For `done`: the text to print on stdout.
  std::string text;
};

/// Tells whether a dotted name (`scheduler.policy`) is a CAF option, and
/// lists CAF's names for the "did you mean" hint.
struct caf_names {
  std::function<bool(std::string_view)> known;
  std::vector<std::string> all;
};

/// Reads the INI file (`--config-file=FILE`) and then the command line
/// (which wins) into `out`.
parse_result parse(int argc, char** argv, const caf_names& caf, settings& out);

/// Builds and validates the listener options (routes and telemetry are the
/// caller's). On error returns the reason, naming the option by its flag
/// (`--max-clients=0: must be >= 1`).
std::optional<std::string> make_options(const settings& s,
                                        roadrunner::listener_options& o);

} // namespace demo
