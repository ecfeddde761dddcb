#include "http1/parser.hpp"
#include "tls/context.hpp"
#include <roadrunner/options.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <span>
#include <string>

namespace roadrunner {

namespace {

constexpr int64_t max_int31 = std::numeric_limits<int32_t>::max();

option_error invalid(std::string option, std::string value,
                     std::string reason) {
  return option_error{option_error_kind::invalid_listener_opt,
                      std::move(option), std::move(value), std::move(reason)};
}

std::string ms_text(millis x) {
  return std::to_string(x.count());
}

const char* name_of(protocol p) {
  return p == protocol::http1 ? "http1" : "http2";
}

std::string protocols_text(const std::vector<protocol_entry>& xs) {
  std::string out = "[";
  for (auto& x : xs) {
    if (out.size() > 1)
      out += ", ";
    out += name_of(x.proto);
  }
  out += "]";
  return out;
}

std::optional<option_error> check_protocols(const listener_options& opts) {
  auto& xs = opts.protocols;
  auto raw = protocols_text(xs);
  if (xs.empty())
    return invalid("protocols", raw, "must not be empty");
  bool seen[2] = {false, false};
  for (auto& x : xs) {
    auto idx = x.proto == protocol::http1 ? 0 : 1;
    if (seen[idx])
      return invalid("protocols", raw, "duplicate entry");
    seen[idx] = true;
  }
  if (seen[0] && seen[1] && !opts.tls)
    return option_error{option_error_kind::listener_opt_conflict, "protocols",
                        raw, "no_h2c_upgrade"};
  // Every tunable of either entry is 1..2^31-1 (the seed's ranges; the
  // http2 windows are RFC 9113 6.9.1's maximum).
  auto in_range = [](int64_t v) { return v >= 1 && v <= max_int31; };
  for (auto& x : xs) {
    auto& h = x.http1;
    auto& h2 = x.http2;
    const std::pair<const char*, int64_t> http1_limits[] = {
      {"max_request_line", h.max_request_line},
      {"max_header_line", h.max_header_line},
      {"max_header_block", h.max_header_block},
      {"max_header_count", h.max_header_count},
    };
    const std::pair<const char*, int64_t> http2_limits[] = {
      {"conn_window", h2.conn_window},
      {"stream_window", h2.stream_window},
      {"window_refill_threshold", h2.window_refill_threshold},
      {"max_concurrent_streams", h2.max_concurrent_streams},
      {"max_header_list_size", h2.max_header_list_size},
      {"max_overhead_frames", h2.max_overhead_frames},
      {"max_stream_resets", h2.max_stream_resets},
      {"reset_window", h2.reset_window},
    };
    bool is_http1 = x.proto == protocol::http1;
    auto prefix = is_http1 ? " http1." : " http2.";
    std::span<const std::pair<const char*, int64_t>> limits{http2_limits};
    if (is_http1)
      limits = http1_limits;
    for (auto& [key, value] : limits)
      if (!in_range(value))
        return invalid("protocols",
                       raw + prefix + key + "=" + std::to_string(value),
                       std::string{key} + " must be 1..2147483647");
  }
  return std::nullopt;
}

} // namespace

std::optional<option_error> validate(const listener_options& opts) {
  if (opts.port < 0 || opts.port > 65535)
    return invalid("port", std::to_string(opts.port),
                   opts.port == -1 ? "required: 0..65535" : "must be 0..65535");
  if (opts.bind_address.empty())
    return invalid("bind_address", "\"\"", "must be an IPv4 or IPv6 address");
  if (opts.max_content_length < 0)
    return invalid("max_content_length",
                   std::to_string(opts.max_content_length), "must be >= 0");
  if (opts.request_timeout.count() < 0)
    return invalid("request_timeout", ms_text(opts.request_timeout),
                   "must be >= 0 ms");
  if (opts.keep_alive_timeout.count() < 0)
    return invalid("keep_alive_timeout", ms_text(opts.keep_alive_timeout),
                   "must be >= 0 ms");
  if (opts.num_acceptors < 1 || opts.num_acceptors > 1024)
    return invalid("num_acceptors", std::to_string(opts.num_acceptors),
                   "must be 1..1024");
  if (opts.max_keep_alive_requests < 1)
    return invalid("max_keep_alive_requests",
                   std::to_string(opts.max_keep_alive_requests),
                   "must be >= 1");
  if (opts.max_clients < 1)
    return invalid("max_clients", std::to_string(opts.max_clients),
                   "must be >= 1");
  if (opts.min_bytes_per_second < 0)
    return invalid("min_bytes_per_second",
                   std::to_string(opts.min_bytes_per_second), "must be >= 0");
  if (opts.rate_check_interval.count() < 1)
    return invalid("rate_check_interval", ms_text(opts.rate_check_interval),
                   "must be >= 1 ms");
  if (opts.body_buffering != body_buffering::automatic &&
      opts.body_buffering != body_buffering::manual)
    return invalid("body_buffering",
                   std::to_string(static_cast<int>(opts.body_buffering)),
                   "must be auto or manual");
  if (opts.slot_reconciliation) {
    if (opts.slot_reconciliation->count() < 1)
      return invalid("slot_reconciliation", ms_text(*opts.slot_reconciliation),
                     "interval must be >= 1 ms (or disabled)");
    // Reconciliation compares the counter with the connections the drain
    // group knows; without the group every live slot would look orphaned.
    if (!opts.graceful_drain)
      return option_error{
        option_error_kind::listener_opt_conflict, "slot_reconciliation",
        ms_text(*opts.slot_reconciliation), "requires graceful_drain = true"};
  }
  if (opts.hibernate_after && opts.hibernate_after->count() < 1)
    return invalid("hibernate_after", ms_text(*opts.hibernate_after),
                   "must be >= 1 ms (or unset)");
  if (auto err = check_protocols(opts))
    return err;
  if (opts.tls) {
    // Building the context checks every TLS field, files and PEM included,
    // so a bad certificate fails start here (the listener builds it again).
    if (auto ctx = tls::make_context(*opts.tls, opts.protocols); !ctx)
      return ctx.error();
  }
  if (opts.max_concurrent_requests && *opts.max_concurrent_requests < 1)
    return invalid("max_concurrent_requests",
                   std::to_string(*opts.max_concurrent_requests),
                   "must be >= 1 (or infinity)");
  if (opts.socket_backlog < 1 || opts.socket_backlog > max_int31)
    return invalid("socket_backlog", std::to_string(opts.socket_backlog),
                   "must be 1..2147483647");
  if (opts.body_memory_budget < 0)
    return invalid("body_memory_budget",
                   std::to_string(opts.body_memory_budget), "must be >= 0");
  if (!opts.body_spool_dir.empty()) {
    // The way bodies will be spooled: an unnamed file (O_TMPFILE).
    auto fd =
      ::open(opts.body_spool_dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
      return invalid("body_spool_dir", opts.body_spool_dir,
                     std::string{"cannot create a temporary file there: "} +
                       std::strerror(errno));
    ::close(fd);
  }
  // Issue 17: PROXY protocol and SO_REUSEPORT.
  if (opts.proxy_protocol_timeout.count() < 1)
    return invalid("proxy_protocol_timeout",
                   ms_text(opts.proxy_protocol_timeout), "must be >= 1 ms");
  if (opts.reuse_port && opts.listen_fd >= 0)
    return option_error{option_error_kind::listener_opt_conflict, "reuse_port",
                        "true", "listen_fd is bound already"};
  return std::nullopt;
}

namespace {

response default_handler(request&) {
  return response::text(404, "Not Found: no routes configured on this "
                             "roadrunner listener\n");
}

} // namespace

compile_result compile_routes(const listener_options& opts) {
  auto& r = opts.routes;
  if (r.is_list())
    return compile(r.list(), opts.middlewares);
  if (r.empty())
    return compile_single(default_handler, {}, {}, opts.middlewares);
  return compile_single(r.single_handler(), r.single_state(),
                        r.single_middlewares(), opts.middlewares);
}

http1::limits http1_limits(const listener_options& opts) noexcept {
  http1::limits lim;
  for (auto& x : opts.protocols) {
    if (x.proto == protocol::http1) {
      lim.max_request_line = static_cast<uint32_t>(x.http1.max_request_line);
      lim.max_header_line = static_cast<uint32_t>(x.http1.max_header_line);
      lim.max_header_block = static_cast<uint32_t>(x.http1.max_header_block);
      lim.max_header_count = static_cast<uint32_t>(x.http1.max_header_count);
    }
  }
  return lim;
}

} // namespace roadrunner
