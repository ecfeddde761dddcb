#include <roadrunner/detail/request_access.hpp>
#include <roadrunner/metrics.hpp>
#include <roadrunner/stats.hpp>

#include <array>
#include <atomic>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string_view>
#include <vector>

namespace roadrunner {

namespace detail {

namespace {

// A counter with one writer (the shard's thread): a relaxed load and store
// instead of a locked read-modify-write; scrapes read it from any thread.
struct counter {
  std::atomic<uint64_t> value{0};
  void add(uint64_t n) noexcept {
    value.store(value.load(std::memory_order_relaxed) + n,
                std::memory_order_relaxed);
  }
  uint64_t get() const noexcept {
    return value.load(std::memory_order_relaxed);
  }
};

constexpr std::array<std::string_view, 8> method_labels{
  "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"};
constexpr std::array<std::string_view, 6> status_labels{"1xx", "2xx", "3xx",
                                                        "4xx", "5xx", "other"};
constexpr std::array<std::string_view, 4> protocol_labels{"unknown", "HTTP/1.0",
                                                          "HTTP/1.1", "HTTP/2"};
constexpr std::array<int, 7> rejected_statuses{400, 408, 413, 414,
                                               431, 501, 505};
// Request-duration bucket upper bounds in nanoseconds (+Inf is implied),
// so that counting compares integers; the exposition prints seconds.
constexpr std::array<int64_t, 14> bucket_ns{
  500'000,       1'000'000,     2'500'000,     5'000'000,     10'000'000,
  25'000'000,    50'000'000,    100'000'000,   250'000'000,   500'000'000,
  1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};

size_t method_index(std::string_view m) noexcept {
  for (size_t i = 0; i + 1 < method_labels.size(); ++i)
    if (m == method_labels[i])
      return i;
  return method_labels.size() - 1;
}

size_t status_index(int status) noexcept {
  if (status >= 100 && status < 600)
    return static_cast<size_t>(status / 100 - 1);
  return status_labels.size() - 1;
}

size_t protocol_index(std::string_view p) noexcept {
  // Per request: compare the one byte that differs, not whole strings.
  if (p.size() == 8 && p.substr(0, 7) == "HTTP/1.")
    return p[7] == '1' ? 2 : p[7] == '0' ? 1 : 0;
  return p == protocol_labels[3] ? 3 : 0;
}
static_assert(protocol_labels[1] == "HTTP/1.0" &&
              protocol_labels[2] == "HTTP/1.1" &&
              protocol_labels[3] == "HTTP/2");

size_t rejected_index(int status) noexcept {
  for (size_t i = 0; i < rejected_statuses.size(); ++i)
    if (status == rejected_statuses[i])
      return i;
  return rejected_statuses.size(); // "other"
}

size_t bucket_index(std::chrono::nanoseconds d) noexcept {
  auto ns = d.count();
  size_t i = 0;
  while (i < bucket_ns.size() && ns > bucket_ns[i])
    ++i;
  return i; // bucket_ns.size() is +Inf
}

// Every counter of one listener in one shard.
struct listener_counters {
  explicit listener_counters(std::string_view n) : name(n) {}
  std::string name;
  std::array<counter, method_labels.size() * status_labels.size() *
                        protocol_labels.size()>
    requests;
  std::array<counter, rejected_statuses.size() + 1> rejected;
  counter exceptions;
  std::array<counter, bucket_ns.size() + 1> duration;
  counter duration_ns;
  counter connections_accepted;
  counter connections_closed;
  counter connections_rejected;
  counter h2_streams_opened;
  counter h2_streams_closed;
  counter tls_completed;
  counter tls_failed;
  counter h2_connection_errors;
  counter accept_errors;
  counter bytes_received;
  counter bytes_sent;
  counter drains;
};

size_t request_slot(size_t m, size_t s, size_t p) noexcept {
  return (m * status_labels.size() + s) * protocol_labels.size() + p;
}

// The counters one thread writes. The owning thread adds listeners under
// `mtx` (rarely); scrapes read under `mtx`.
struct shard {
  std::mutex mtx;
  std::vector<std::unique_ptr<listener_counters>> listeners;
  listener_counters* last = nullptr;

  listener_counters& of(std::string_view name) {
    if (last != nullptr && last->name == name)
      return *last;
    for (auto& x : listeners) // only this thread changes the vector
      if (x->name == name)
        return *(last = x.get());
    std::lock_guard<std::mutex> guard{mtx};
    listeners.push_back(std::make_unique<listener_counters>(name));
    return *(last = listeners.back().get());
  }
};

std::atomic<uint64_t> next_registry_id{1};

} // namespace

class metrics_registry {
public:
  metrics_registry() : id_(next_registry_id.fetch_add(1)) {}

  // The calling thread's shard, created on first use.
  shard& local() {
    // Registry ids are never reused, so an entry of a destroyed registry
    // never matches again.
    thread_local std::vector<std::pair<uint64_t, shard*>> cache;
    for (auto& [id, s] : cache)
      if (id == id_)
        return *s;
    std::lock_guard<std::mutex> guard{mtx_};
    shards_.push_back(std::make_unique<shard>());
    cache.emplace_back(id_, shards_.back().get());
    return *shards_.back();
  }

  void count(const telemetry_event& e) {
    bool h2 = e.protocol == "HTTP/2";
    // Half of all events; only HTTP/2 ones are counted (open streams).
    if (e.kind == telemetry_kind::request_start && !h2)
      return;
    auto& c = local().of(e.listener_name);
    switch (e.kind) {
    case telemetry_kind::request_start:
      if (h2)
        c.h2_streams_opened.add(1);
      break;
    case telemetry_kind::request_stop:
      c.requests[request_slot(method_index(e.method), status_index(e.status),
                              protocol_index(e.protocol))]
        .add(1);
      c.duration[bucket_index(e.duration)].add(1);
      c.duration_ns.add(static_cast<uint64_t>(e.duration.count()));
      c.bytes_received.add(e.bytes_received);
      c.bytes_sent.add(e.bytes_sent);
      if (h2)
        c.h2_streams_closed.add(1);
      break;
    case telemetry_kind::request_exception:
      c.exceptions.add(1);
      break;
    case telemetry_kind::request_rejected:
      c.rejected[rejected_index(e.status)].add(1);
      break;
    case telemetry_kind::connection_accepted:
      c.connections_accepted.add(1);
      break;
    case telemetry_kind::connection_closed:
      c.connections_closed.add(1);
      break;
    case telemetry_kind::connection_rejected:
      c.connections_rejected.add(1);
      break;
    case telemetry_kind::tls_handshake_completed:
      c.tls_completed.add(1);
      break;
    case telemetry_kind::tls_handshake_failed:
      c.tls_failed.add(1);
      break;
    case telemetry_kind::http2_connection_error:
      c.h2_connection_errors.add(1);
      break;
    case telemetry_kind::accept_error:
      c.accept_errors.add(1);
      break;
    case telemetry_kind::drain_started:
      c.drains.add(1);
      break;
    case telemetry_kind::slots_reconciled:
    case telemetry_kind::drain_finished:
    case telemetry_kind::websocket_open:
    case telemetry_kind::websocket_close:
      break;
    }
  }

  // Sums every shard into one set of counters per listener (plain numbers).
  struct totals {
    std::string name;
    std::vector<uint64_t> requests;
    std::vector<uint64_t> rejected;
    std::vector<uint64_t> duration;
    uint64_t exceptions = 0, duration_ns = 0, accepted = 0, closed = 0,
             conn_rejected = 0, h2_opened = 0, h2_closed = 0, tls_completed = 0,
             tls_failed = 0, h2_errors = 0, accept_errors = 0,
             bytes_received = 0, bytes_sent = 0, drains = 0;
  };

  std::vector<totals> collect() const {
    std::vector<totals> out;
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& s : shards_) {
      std::lock_guard<std::mutex> shard_guard{s->mtx};
      for (auto& c : s->listeners) {
        auto* t = find_or_add(out, c->name);
        for (size_t i = 0; i < c->requests.size(); ++i)
          t->requests[i] += c->requests[i].get();
        for (size_t i = 0; i < c->rejected.size(); ++i)
          t->rejected[i] += c->rejected[i].get();
        for (size_t i = 0; i < c->duration.size(); ++i)
          t->duration[i] += c->duration[i].get();
        t->exceptions += c->exceptions.get();
        t->duration_ns += c->duration_ns.get();
        t->accepted += c->connections_accepted.get();
        t->closed += c->connections_closed.get();
        t->conn_rejected += c->connections_rejected.get();
        t->h2_opened += c->h2_streams_opened.get();
        t->h2_closed += c->h2_streams_closed.get();
        t->tls_completed += c->tls_completed.get();
        t->tls_failed += c->tls_failed.get();
        t->h2_errors += c->h2_connection_errors.get();
        t->accept_errors += c->accept_errors.get();
        t->bytes_received += c->bytes_received.get();
        t->bytes_sent += c->bytes_sent.get();
        t->drains += c->drains.get();
      }
    }
    return out;
  }

  struct extra {
    std::string name, help, type;
    std::function<uint64_t()> read;
  };

  void add(extra x) {
    std::lock_guard<std::mutex> guard{mtx_};
    extras_.push_back(std::move(x));
  }

  std::vector<std::pair<const extra*, uint64_t>> read_extras() const {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<std::pair<const extra*, uint64_t>> out;
    for (auto& x : extras_)
      out.emplace_back(&x, x.read());
    return out;
  }

private:
  static totals* find_or_add(std::vector<totals>& xs, std::string_view name) {
    for (auto& x : xs)
      if (x.name == name)
        return &x;
    auto& t = xs.emplace_back();
    t.name = name;
    t.requests.resize(std::tuple_size_v<decltype(listener_counters::requests)>);
    t.rejected.resize(rejected_statuses.size() + 1);
    t.duration.resize(bucket_ns.size() + 1);
    return &t;
  }

  uint64_t id_;
  mutable std::mutex mtx_;
  std::vector<std::unique_ptr<shard>> shards_;
  std::deque<extra> extras_; // stable addresses for read_extras
};

} // namespace detail

namespace {

using detail::metrics_registry;

// A label value with '\', '"' and newlines escaped (exposition format).
void append_label(std::string& out, std::string_view x) {
  for (char c : x) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void family(std::string& out, const char* name, const char* type,
            const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

// One sample: name{listener="...",extra} value.
void sample(std::string& out, std::string_view name, std::string_view listener,
            std::string_view extra, std::string_view value) {
  out += name;
  out += "{listener=\"";
  append_label(out, listener);
  out += '"';
  if (!extra.empty()) {
    out += ',';
    out += extra;
  }
  out += "} ";
  out += value;
  out += '\n';
}

void sample(std::string& out, std::string_view name, std::string_view listener,
            std::string_view extra, uint64_t value) {
  sample(out, name, listener, extra, std::to_string(value));
}

std::string seconds_text(double x) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", x);
  return buf;
}

using totals_list = std::vector<metrics_registry::totals>;

// A counter family with one sample per listener.
template <class F>
void simple(std::string& out, const totals_list& all, const char* name,
            const char* type, const char* help, F get) {
  family(out, name, type, help);
  for (auto& t : all)
    sample(out, name, t.name, {}, get(t));
}

void render_totals(std::string& out, const totals_list& all) {
  using namespace detail;
  family(out, "roadrunner_requests_total", "counter",
         "Requests answered, by method, status class and protocol.");
  for (auto& t : all)
    for (size_t m = 0; m < method_labels.size(); ++m)
      for (size_t s = 0; s < status_labels.size(); ++s)
        for (size_t p = 0; p < protocol_labels.size(); ++p) {
          auto n = t.requests[request_slot(m, s, p)];
          if (n == 0)
            continue;
          std::string labels = "method=\"";
          labels += method_labels[m];
          labels += "\",status=\"";
          labels += status_labels[s];
          labels += "\",protocol=\"";
          labels += protocol_labels[p];
          labels += '"';
          sample(out, "roadrunner_requests_total", t.name, labels, n);
        }
  family(out, "roadrunner_request_duration_seconds", "histogram",
         "Time from a request's head to its response being queued.");
  for (auto& t : all) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < t.duration.size(); ++i) {
      cumulative += t.duration[i];
      auto le = i < bucket_ns.size()
                  ? seconds_text(static_cast<double>(bucket_ns[i]) / 1e9)
                  : std::string{"+Inf"};
      sample(out, "roadrunner_request_duration_seconds_bucket", t.name,
             "le=\"" + le + "\"", cumulative);
    }
    sample(out, "roadrunner_request_duration_seconds_sum", t.name, {},
           seconds_text(static_cast<double>(t.duration_ns) / 1e9));
    sample(out, "roadrunner_request_duration_seconds_count", t.name, {},
           cumulative);
  }
  family(out, "roadrunner_requests_rejected_total", "counter",
         "Requests refused before any handler ran, by status.");
  for (auto& t : all)
    for (size_t i = 0; i < t.rejected.size(); ++i) {
      if (t.rejected[i] == 0)
        continue;
      auto code = i < rejected_statuses.size()
                    ? std::to_string(rejected_statuses[i])
                    : std::string{"other"};
      sample(out, "roadrunner_requests_rejected_total", t.name,
             "status=\"" + code + "\"", t.rejected[i]);
    }
  using T = metrics_registry::totals;
  simple(out, all, "roadrunner_request_exceptions_total", "counter",
         "Handlers that threw (each answered 500).",
         [](const T& t) { return t.exceptions; });
  simple(out, all, "roadrunner_connections_accepted_total", "counter",
         "Connections accepted.", [](const T& t) { return t.accepted; });
  simple(out, all, "roadrunner_connections_closed_total", "counter",
         "Connections ended.", [](const T& t) { return t.closed; });
  simple(out, all, "roadrunner_connections_rejected_total", "counter",
         "Connections closed at once because max_clients was reached.",
         [](const T& t) { return t.conn_rejected; });
  simple(out, all, "roadrunner_http2_streams_open", "gauge",
         "HTTP/2 streams with a request in progress.", [](const T& t) {
           return t.h2_opened > t.h2_closed ? t.h2_opened - t.h2_closed : 0;
         });
  family(out, "roadrunner_tls_handshakes_total", "counter",
         "TLS handshakes, by result.");
  for (auto& t : all) {
    sample(out, "roadrunner_tls_handshakes_total", t.name,
           "result=\"completed\"", t.tls_completed);
    sample(out, "roadrunner_tls_handshakes_total", t.name, "result=\"failed\"",
           t.tls_failed);
  }
  simple(out, all, "roadrunner_http2_connection_errors_total", "counter",
         "HTTP/2 connections ended by a GOAWAY with an error code.",
         [](const T& t) { return t.h2_errors; });
  simple(out, all, "roadrunner_accept_errors_total", "counter",
         "accept(2) failures on the listening socket (EMFILE, ...).",
         [](const T& t) { return t.accept_errors; });
  simple(out, all, "roadrunner_received_bytes_total", "counter",
         "Request bytes received (heads and bodies).",
         [](const T& t) { return t.bytes_received; });
  simple(out, all, "roadrunner_sent_bytes_total", "counter",
         "Response bytes queued (heads and bodies, before TLS).",
         [](const T& t) { return t.bytes_sent; });
  simple(out, all, "roadrunner_drains_total", "counter", "Drains started.",
         [](const T& t) { return t.drains; });
}

// The live gauges of the listener serving the scrape.
void render_live(std::string& out, std::string_view listener,
                 const listener_info& info) {
  family(out, "roadrunner_connections_active", "gauge",
         "Connections holding a slot (the scraping listener's).");
  sample(out, "roadrunner_connections_active", listener, {},
         info.active_clients);
  family(out, "roadrunner_connections_max", "gauge",
         "The max_clients cap (the scraping listener's).");
  sample(out, "roadrunner_connections_max", listener, {}, info.max_clients);
  family(out, "roadrunner_requests_in_flight", "gauge",
         "Requests being handled (the scraping listener's).");
  sample(out, "roadrunner_requests_in_flight", listener, {}, info.in_flight);
  family(out, "roadrunner_requests_throttled_total", "counter",
         "Requests refused with 503 by max_concurrent_requests (the "
         "scraping listener's).");
  sample(out, "roadrunner_requests_throttled_total", listener, {},
         info.throttled);
}

void render_extras(std::string& out, const metrics_registry& r) {
  for (auto& [x, value] : r.read_extras()) {
    family(out, x->name.c_str(), x->type.c_str(), x->help.c_str());
    out += x->name;
    out += ' ';
    out += std::to_string(value);
    out += '\n';
  }
}

} // namespace

metrics::metrics() : impl_(std::make_shared<detail::metrics_registry>()) {}

telemetry_sink metrics::observer() const {
  using k = telemetry_kind;
  // No request fields (host, user agent, referer): nothing here reads them;
  // request_start only for HTTP/2 (the streams-opened counter).
  auto interest =
    telemetry_interest{k::request_start,        k::request_stop,
                       k::request_exception,    k::request_rejected,
                       k::connection_accepted,  k::connection_closed,
                       k::connection_rejected,  k::tls_handshake_completed,
                       k::tls_handshake_failed, k::http2_connection_error,
                       k::accept_error,         k::drain_started}
      .http2_starts_only();
  return {[impl = impl_](const telemetry_event& e) { impl->count(e); },
          interest};
}

void metrics::add(std::string name, std::string help, std::string type,
                  std::function<uint64_t()> read) {
  impl_->add(
    {std::move(name), std::move(help), std::move(type), std::move(read)});
}

std::string metrics::render() const {
  std::string out;
  render_totals(out, impl_->collect());
  render_extras(out, *impl_);
  return out;
}

handler metrics::endpoint() const {
  return [impl = impl_](request& req) {
    std::string out;
    out.reserve(8192);
    render_totals(out, impl->collect());
    render_extras(out, *impl);
    if (detail::request_access::stats(req) != nullptr)
      render_live(out, req.listener_name(), req.listener_stats());
    response r{200};
    r.header("content-type", "text/plain; version=0.0.4; charset=utf-8");
    r.header("cache-control", "no-store");
    r.body(std::move(out));
    return r;
  };
}

} // namespace roadrunner
