#include "demo_config.hpp"

#include <roadrunner/access_log.hpp>
#include <roadrunner/error_log.hpp>
#include <roadrunner/units.hpp>

#include <fstream>
#include <sstream>

#ifndef ROADRUNNER_DEMO_VERSION
#error "ROADRUNNER_DEMO_VERSION must be defined by the build"
#endif

namespace demo {

namespace {

enum class value_kind { count, size, duration, boolean, text, list };

// One flag: its name (also its INI key), how its value is read and where
// it goes.
struct spec {
  std::string_view name;
  value_kind kind;
  bool listener; // a listener option (else the demo's own)
  std::string_view help;
  int64_t* num = nullptr;
  bool* flag = nullptr;
  std::string* text = nullptr;
  std::vector<std::string>* list = nullptr; // repeatable: each use appends
};

spec num(std::string_view name, value_kind kind, bool listener,
         std::string_view help, int64_t& x) {
  return spec{name, kind, listener, help, &x, nullptr, nullptr, nullptr};
}

spec text(std::string_view name, bool listener, std::string_view help,
          std::string& x) {
  return spec{name,    value_kind::text, listener, help,
              nullptr, nullptr,          &x,       nullptr};
}

spec list(std::string_view name, bool listener, std::string_view help,
          std::vector<std::string>& x) {
  return spec{name,    value_kind::list, listener, help,
              nullptr, nullptr,          nullptr,  &x};
}

spec boolean(std::string_view name, bool listener, std::string_view help,
             bool& x) {
  return spec{name,   value_kind::boolean, listener, help, nullptr, &x, nullptr,
              nullptr};
}

std::vector<spec> specs(settings& s) {
  using k = value_kind;
  return {
    // The demo's own.
    num("port", k::count, false, "TCP port (0: the kernel picks one)", s.port),
    text("bind", false, "address to bind", s.bind),
    num("reactors", k::count, false, "reactor threads (0: one per core)",
        s.reactors),
    num("drain-timeout", k::duration, false,
        "drain deadline on SIGTERM/SIGINT, then connections are ended",
        s.drain_timeout),
    text("config-file", false, "INI file read before the command line",
         s.config_file),
    text("access-log", false, "access log file (-: stderr; unset: off)",
         s.access_log),
    text("access-log-format", false, "common, combined or json",
         s.access_log_format),
    text("error-log", false, "error log file (-: stderr)", s.error_log),
    text("log-level", false, "error, warning, info or debug", s.log_level),
    // The listener's.
    num("max-content-length", k::size, true, "request body cap -> 413",
        s.max_content_length),
    num("request-timeout", k::duration, true,
        "deadline for a request's head and body -> 408", s.request_timeout),
    num("keep-alive-timeout", k::duration, true,
        "idle time between requests on a keep-alive connection",
        s.keep_alive_timeout),
    num("num-acceptors", k::count, true, "acceptor actors", s.num_acceptors),
    num("max-keep-alive-requests", k::count, true, "requests per connection",
        s.max_keep_alive_requests),
    num("max-clients", k::count, true, "concurrent connections", s.max_clients),
    num("min-bytes-per-second", k::size, true, "slow-client guard (0 disables)",
        s.min_bytes_per_second),
    num("rate-check-interval", k::duration, true,
        "how often the slow-client guard checks", s.rate_check_interval),
    text("body-buffering", true, "auto or manual", s.body_buffering),
    num("slot-reconciliation", k::duration, true,
        "slot reconciliation interval (0: disabled)", s.slot_reconciliation),
    boolean("graceful-drain", true, "tell connections about a drain",
            s.graceful_drain),
    num("hibernate-after", k::duration, true,
        "free an idle connection's buffers after this long (0: never)",
        s.hibernate_after),
    num("max-concurrent-requests", k::count, true,
        "requests in flight, over it 503 (0: no cap)",
        s.max_concurrent_requests),
    num("socket-backlog", k::count, true, "listen backlog", s.socket_backlog),
    text("protocols", true, "comma-separated: http1,http2", s.protocols),
    num("max-request-line", k::size, true, "http1 request line -> 414",
        s.max_request_line),
    num("max-header-line", k::size, true, "http1 header line -> 431",
        s.max_header_line),
    num("max-header-block", k::size, true, "http1 header block -> 431",
        s.max_header_block),
    num("max-header-count", k::count, true, "http1 header fields -> 431",
        s.max_header_count),
    num("conn-window", k::size, true, "http2 connection window peak",
        s.conn_window),
    num("stream-window", k::size, true, "http2 stream window peak",
        s.stream_window),
    num("window-refill-threshold", k::size, true, "http2 window refill trigger",
        s.window_refill_threshold),
    num("max-concurrent-streams", k::count, true,
        "http2 SETTINGS_MAX_CONCURRENT_STREAMS", s.max_concurrent_streams),
    num("max-header-list-size", k::size, true,
        "http2 decoded header bytes -> 431", s.max_header_list_size),
    text("tls-cert", true, "PEM certificate chain file (enables TLS)",
         s.tls_cert),
    text("tls-key", true, "PEM private key file", s.tls_key),
    num("tls-handshake-timeout", k::duration, true,
        "deadline for the TLS handshake, from the accept",
        s.tls_handshake_timeout),
    boolean("tls-ktls", true,
            "kernel TLS for sending, where the kernel has it (tls.ktls)",
            s.tls_ktls),
    // Web features (the demo's own).
    list("cors-origin", false,
         "allow this origin (CORS on all routes; repeatable; * = any)",
         s.cors_origins),
    text("static-dir", false, "serve this directory under /static/",
         s.static_dir),
    boolean("compress", false, "br/zstd/gzip answers when the client asks",
            s.compress),
    num("gzip-level", k::count, false, "gzip level 1..9", s.gzip_level),
    num("body-memory-budget", k::size, true,
        "request body bytes held in memory, all connections together",
        s.body_memory_budget),
    text("body-spool-dir", true,
         "temporary files for bodies over the budget (empty: 503)",
         s.body_spool_dir),
    // Beyond one process (issue 17).
    boolean("proxy-protocol", true,
            "expect a PROXY protocol v1/v2 header on every connection",
            s.proxy_protocol),
    num("proxy-protocol-timeout", k::duration, true,
        "deadline for the PROXY header, from the accept",
        s.proxy_protocol_timeout),
    boolean("reuse-port", true,
            "bind with SO_REUSEPORT (several processes on one port)",
            s.reuse_port),
    text("handler-node", false,
         "PORT (0: any): run a handler node publishing the /slow, /stream "
         "and /hello/actor actors instead of serving HTTP",
         s.handler_node),
    text("remote-handlers", false,
         "HOST:PORT of a handler node: serve /remote/slow, /remote/stream, "
         "/remote/hello",
         s.remote_handlers),
  };
}

const char* kind_hint(value_kind k) {
  switch (k) {
  case value_kind::count:
    return "not a non-negative integer";
  case value_kind::size:
    return "not a size (bytes, or with k/KiB, M/MiB, G/GiB)";
  case value_kind::duration:
    return "not a duration (500ms, 30s, 2m, 1h; a plain number is ms)";
  case value_kind::boolean:
    return "not a boolean (true or false)";
  case value_kind::text:
  case value_kind::list:
    break;
  }
  return "invalid";
}

const char* kind_placeholder(value_kind k) {
  switch (k) {
  case value_kind::count:
    return "N";
  case value_kind::size:
    return "SIZE";
  case value_kind::duration:
    return "DURATION";
  case value_kind::boolean:
    return "BOOL";
  case value_kind::text:
  case value_kind::list:
    break;
  }
  return "TEXT";
}

// Stores `value` into the setting; returns why it does not fit.
std::optional<std::string> assign(const spec& x, std::string_view value) {
  std::optional<int64_t> n;
  switch (x.kind) {
  case value_kind::count:
    n = roadrunner::parse_count(value);
    break;
  case value_kind::size:
    n = roadrunner::parse_size(value);
    break;
  case value_kind::duration:
    if (auto d = roadrunner::parse_duration(value))
      n = d->count();
    break;
  case value_kind::boolean:
    if (auto b = roadrunner::parse_bool(value)) {
      *x.flag = *b;
      return std::nullopt;
    }
    return kind_hint(x.kind);
  case value_kind::text:
    *x.text = value;
    return std::nullopt;
  case value_kind::list:
    x.list->emplace_back(value);
    return std::nullopt;
  }
  if (!n)
    return kind_hint(x.kind);
  *x.num = *n;
  return std::nullopt;
}

const spec* find(const std::vector<spec>& xs, std::string_view name) {
  for (auto& x : xs)
    if (x.name == name)
      return &x;
  return nullptr;
}

// "unknown option --max-clientz (did you mean --max-clients?)".
std::string unknown(std::string_view prefix, std::string_view name,
                    const std::vector<spec>& xs, const caf_names& caf) {
  auto noun = prefix.empty() ? "unknown key " : "unknown option ";
  std::vector<std::string_view> names;
  for (auto& x : xs)
    names.push_back(x.name);
  for (auto& x : caf.all)
    names.push_back(x);
  std::string out = noun;
  out += prefix;
  out += name;
  auto near = roadrunner::nearest_name(name, names);
  if (!near.empty()) {
    out += " (did you mean ";
    out += prefix;
    out += near;
    out += "?)";
  }
  return out;
}

std::string trim(std::string_view x) {
  auto first = x.find_first_not_of(" \t\r");
  if (first == std::string_view::npos)
    return {};
  auto last = x.find_last_not_of(" \t\r");
  return std::string{x.substr(first, last - first + 1)};
}

// Reads CAF-style INI: `[section]` lines, `key=value` (value optionally in
// double quotes), comments starting with ';' or '#'. Keys of [global] are
// the demo's flags; any other section's keys are CAF options.
std::optional<std::string> read_ini(const std::string& path,
                                    const std::vector<spec>& xs,
                                    const caf_names& caf, settings& out) {
  std::ifstream in{path};
  if (!in)
    return "--config-file=" + path + ": cannot open";
  std::string section = "global";
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    auto where = path + ":" + std::to_string(number) + ": ";
    auto t = trim(line);
    if (t.empty() || t[0] == ';' || t[0] == '#')
      continue;
    if (t.front() == '[') {
      if (t.back() != ']')
        return where + "malformed section header " + t;
      section = trim(std::string_view{t}.substr(1, t.size() - 2));
      continue;
    }
    auto eq = t.find('=');
    if (eq == std::string::npos)
      return where + "expected key=value, got " + t;
    auto key = trim(std::string_view{t}.substr(0, eq));
    auto value = trim(std::string_view{t}.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    if (section != "global") {
      auto full = section + "." + key;
      if (!caf.known(full))
        return where + unknown("", full, xs, caf);
      out.caf_args.push_back("--" + full + "=" + value);
      continue;
    }
    auto* x = find(xs, key);
    if (x == nullptr)
      return where + unknown("", key, xs, caf);
    if (x->name == "config-file")
      return where + "config-file cannot be set from a config file";
    if (auto why = assign(*x, value))
      return where + key + "=" + value + ": " + *why;
  }
  return std::nullopt;
}

std::string default_text(const spec& x) {
  switch (x.kind) {
  case value_kind::boolean:
    return *x.flag ? "true" : "false";
  case value_kind::text:
    return x.text->empty() ? "" : *x.text;
  case value_kind::list:
    return {};
  case value_kind::duration:
    return std::to_string(*x.num) + "ms";
  default:
    return std::to_string(*x.num);
  }
}

std::string help_text() {
  settings defaults;
  auto xs = specs(defaults);
  std::ostringstream out;
  out << "Usage: roadrunner-demo [OPTION]...\n"
         "A roadrunner HTTP/1.1 and HTTP/2 server with the demo routes.\n"
         "Options may also be set in an INI file (--config-file), as\n"
         "key=value lines under [global]; the command line wins.\n"
         "Durations take ms, s, m or h (a plain number is milliseconds);\n"
         "sizes take k/KiB, M/MiB or G/GiB (a plain number is bytes).\n";
  for (bool listener : {false, true}) {
    out << (listener ? "\nListener options:\n" : "\nDemo options:\n");
    for (auto& x : xs) {
      if (x.listener != listener)
        continue;
      std::string flag =
        "  --" + std::string{x.name} + "=" + kind_placeholder(x.kind);
      out << flag;
      out << std::string(flag.size() < 36 ? 36 - flag.size() : 1, ' ');
      out << x.help;
      if (auto d = default_text(x); !d.empty())
        out << " (default: " << d << ")";
      out << "\n";
    }
  }
  out << "\nOther:\n"
         "  --check-config                    validate flags and the INI "
         "file, then exit\n"
         "  --version                         print the version and exit\n"
         "  --help                            print this text and exit\n"
         "CAF's own options (e.g. --scheduler.policy=sharing) pass through.\n";
  return out.str();
}

} // namespace

parse_result parse(int argc, char** argv, const caf_names& caf, settings& out) {
  auto xs = specs(out);
  std::vector<std::string> args{argv + 1, argv + argc};
  parse_result result;
  // --help and --version win over everything, even a broken INI file.
  for (auto& a : args) {
    if (a == "--help" || a == "-h")
      return {action::done, {}, help_text()};
    if (a == "--version")
      return {action::done,
              {},
              std::string{"roadrunner-demo "} + ROADRUNNER_DEMO_VERSION + "\n"};
  }
  // The INI file first, so that flags override it.
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a.starts_with("--config-file=")) {
      out.config_file = a.substr(14);
    } else if (a == "--config-file") {
      if (i + 1 == args.size())
        return {action::fail, "--config-file needs a value", {}};
      out.config_file = args[++i];
    }
  }
  if (!out.config_file.empty())
    if (auto err = read_ini(out.config_file, xs, caf, out))
      return {action::fail, *err, {}};
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--check-config") {
      result.what = action::check_config;
      continue;
    }
    if (!a.starts_with("--") || a.size() == 2)
      return {action::fail, "unexpected argument " + args[i], {}};
    auto body = a.substr(2);
    auto eq = body.find('=');
    auto name = body.substr(0, eq);
    std::optional<std::string_view> value;
    if (eq != std::string_view::npos)
      value = body.substr(eq + 1);
    if (name.find('.') != std::string_view::npos) {
      if (!caf.known(name))
        return {action::fail, unknown("--", name, xs, caf), {}};
      if (!value) {
        if (i + 1 == args.size())
          return {
            action::fail, "--" + std::string{name} + " needs a value", {}};
        out.caf_args.push_back(args[i] + "=" + args[i + 1]);
        ++i;
      } else {
        out.caf_args.push_back(args[i]);
      }
      continue;
    }
    auto* x = find(xs, name);
    if (x == nullptr)
      return {action::fail, unknown("--", name, xs, caf), {}};
    if (x->name == "config-file") {
      if (!value)
        ++i; // read above
      continue;
    }
    std::string owned;
    if (!value) {
      if (x->kind == value_kind::boolean) {
        owned = "true"; // a bare boolean flag turns it on
      } else if (i + 1 < args.size()) {
        owned = args[++i];
      } else {
        return {action::fail, "--" + std::string{name} + " needs a value", {}};
      }
      value = owned;
    }
    if (auto why = assign(*x, *value))
      return {action::fail,
              "--" + std::string{name} + "=" + std::string{*value} + ": " +
                *why,
              {}};
  }
  return result;
}

namespace {

// The flag behind a listener option name as `validate` reports it.
std::string flag_of(const roadrunner::option_error& e, std::string& value) {
  std::string name = e.option;
  value = e.value;
  if (name == "bind_address")
    return "--bind";
  if (name == "tls.cert_file")
    return "--tls-cert";
  if (name == "tls.key_file")
    return "--tls-key";
  if (name.starts_with("tls."))
    name = "tls-" + name.substr(4);
  if (name == "protocols") {
    // "[http1] http1.max_request_line=0": the tunable's own flag.
    auto dot = value.find(" http");
    if (dot != std::string::npos && value.find('=', dot) != std::string::npos) {
      auto key_start = value.find('.', dot) + 1;
      auto eq = value.find('=', dot);
      name = value.substr(key_start, eq - key_start);
      value = value.substr(eq + 1);
    }
  }
  for (auto& c : name)
    if (c == '_')
      c = '-';
  return "--" + name;
}

} // namespace

std::optional<std::string> make_options(const settings& s,
                                        roadrunner::listener_options& o) {
  if (s.port > 65535)
    return "--port=" + std::to_string(s.port) + ": must be 0..65535";
  o.port = static_cast<int>(s.port);
  o.bind_address = s.bind;
  o.max_content_length = s.max_content_length;
  o.request_timeout = roadrunner::millis{s.request_timeout};
  o.keep_alive_timeout = roadrunner::millis{s.keep_alive_timeout};
  o.num_acceptors = s.num_acceptors;
  o.max_keep_alive_requests = s.max_keep_alive_requests;
  o.max_clients = s.max_clients;
  o.min_bytes_per_second = s.min_bytes_per_second;
  o.rate_check_interval = roadrunner::millis{s.rate_check_interval};
  if (s.body_buffering == "auto")
    o.body_buffering = roadrunner::body_buffering::automatic;
  else if (s.body_buffering == "manual")
    o.body_buffering = roadrunner::body_buffering::manual;
  else
    return "--body-buffering=" + s.body_buffering + ": auto or manual";
  if (s.slot_reconciliation != 0)
    o.slot_reconciliation = roadrunner::millis{s.slot_reconciliation};
  o.graceful_drain = s.graceful_drain;
  if (s.hibernate_after != 0)
    o.hibernate_after = roadrunner::millis{s.hibernate_after};
  if (s.max_concurrent_requests != 0)
    o.max_concurrent_requests = s.max_concurrent_requests;
  o.socket_backlog = s.socket_backlog;
  o.body_memory_budget = s.body_memory_budget;
  o.body_spool_dir = s.body_spool_dir;
  o.protocols.clear();
  std::stringstream in{s.protocols};
  for (std::string item; std::getline(in, item, ',');) {
    roadrunner::protocol_entry e;
    if (item == "http1") {
      e.proto = roadrunner::protocol::http1;
    } else if (item == "http2") {
      e.proto = roadrunner::protocol::http2;
    } else {
      return "--protocols=" + s.protocols + ": unknown protocol \"" + item +
             "\" (http1, http2)";
    }
    e.http1.max_request_line = s.max_request_line;
    e.http1.max_header_line = s.max_header_line;
    e.http1.max_header_block = s.max_header_block;
    e.http1.max_header_count = s.max_header_count;
    e.http2.conn_window = s.conn_window;
    e.http2.stream_window = s.stream_window;
    e.http2.window_refill_threshold = s.window_refill_threshold;
    e.http2.max_concurrent_streams = s.max_concurrent_streams;
    e.http2.max_header_list_size = s.max_header_list_size;
    o.protocols.push_back(e);
  }
  if (!s.tls_cert.empty() || !s.tls_key.empty()) {
    o.tls = roadrunner::tls_options{s.tls_cert, s.tls_key};
    o.tls->handshake_timeout = roadrunner::millis{s.tls_handshake_timeout};
    o.tls->ktls = s.tls_ktls;
  }
  o.proxy_protocol = s.proxy_protocol;
  o.proxy_protocol_timeout = roadrunner::millis{s.proxy_protocol_timeout};
  o.reuse_port = s.reuse_port;
  if (!roadrunner::parse_access_log_format(s.access_log_format))
    return "--access-log-format=" + s.access_log_format +
           ": common, combined or json";
  if (!roadrunner::parse_log_level(s.log_level))
    return "--log-level=" + s.log_level + ": error, warning, info or debug";
  if (s.gzip_level < 1 || s.gzip_level > 9)
    return "--gzip-level=" + std::to_string(s.gzip_level) + ": must be 1..9";
  if (auto err = roadrunner::validate(o)) {
    std::string value;
    auto flag = flag_of(*err, value);
    return flag + "=" + value + ": " + err->reason;
  }
  return std::nullopt;
}

} // namespace demo
