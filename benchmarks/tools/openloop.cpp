// openloop -- an open-loop HTTP/1.1 load generator that measures latency
// corrected for coordinated omission (what wrk2 does; wrk2 is not packaged
// in Debian). Used by benchmarks/tail_latency.sh.
//
// Requests are scheduled on a fixed timeline: request i is due at
// start + i / rate, whatever happened to earlier requests. A due request
// goes out on any idle keep-alive connection (one request in flight per
// connection, no pipelining); when every connection is busy it waits, and
// its latency still counts from its *scheduled* time. So a server that
// stalls for 100 ms is charged 100 ms for every request that was due during
// the stall, not just for the one request a closed-loop client (wrk) had in
// flight.
//
// Single thread, epoll, level-triggered. The client is the timeline's
// bottleneck when it cannot send on time although connections are idle; the
// report shows the send delay (send time - scheduled time) and the client's
// own CPU share, so a saturated client is visible.
//
// Usage: openloop --port=N --rate=R [--duration=S] [--warmup=S]
//                 [--connections=N] [--path=/] [--host=127.0.0.1]
//                 [--timeout=S]
// Rates in requests per second, times in seconds; --host must be a
// loopback address.
// Prints a human-readable summary and one machine-readable line starting
// with "RESULT " (key=value pairs). Exit status: 0 on success, 1 when any
// request failed (connection error, non-2xx, unparsable response) or did
// not complete before the timeout, 2 on bad usage or set-up errors.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

// -- options ------------------------------------------------------------------

struct options {
  std::string host = "127.0.0.1";
  int port = 0;
  double rate = 0;        // requests per second
  double duration = 10;   // seconds measured
  double warmup = 1;      // seconds at the same rate before, not measured
  int connections = 50;   // keep-alive connections
  std::string path = "/"; // request target
  double timeout = 2;     // seconds to wait for stragglers after the end
};

void usage() {
  std::fprintf(stderr,
               "usage: openloop --port=N --rate=REQ_PER_S [--duration=S] "
               "[--warmup=S]\n"
               "                [--connections=N] [--path=/] "
               "[--host=127.0.0.1] [--timeout=S]\n");
}

std::optional<double> to_number(std::string_view s) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

// Parses --name=value arguments; prints what is wrong and returns nullopt.
std::optional<options> parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto eq = arg.find('=');
    if (arg.substr(0, 2) != "--" || eq == std::string_view::npos) {
      std::fprintf(stderr, "openloop: bad argument '%s'\n", argv[i]);
      return std::nullopt;
    }
    auto name = arg.substr(2, eq - 2);
    auto value = arg.substr(eq + 1);
    if (name == "host") {
      o.host = std::string{value};
      continue;
    }
    if (name == "path") {
      o.path = std::string{value};
      continue;
    }
    auto num = to_number(value);
    if (!num || *num < 0) {
      std::fprintf(stderr, "openloop: --%.*s needs a non-negative number\n",
                   static_cast<int>(name.size()), name.data());
      return std::nullopt;
    }
    if (name == "port")
      o.port = static_cast<int>(*num);
    else if (name == "rate")
      o.rate = *num;
    else if (name == "duration")
      o.duration = *num;
    else if (name == "warmup")
      o.warmup = *num;
    else if (name == "connections")
      o.connections = static_cast<int>(*num);
    else if (name == "timeout")
      o.timeout = *num;
    else {
      std::fprintf(stderr, "openloop: unknown option --%.*s\n",
                   static_cast<int>(name.size()), name.data());
      return std::nullopt;
    }
  }
  if (o.port <= 0 || o.port > 65535 || o.rate <= 0 || o.duration <= 0 ||
      o.connections <= 0 || o.path.empty() || o.path[0] != '/') {
    std::fprintf(stderr, "openloop: --port, --rate, --duration and "
                         "--connections must be positive; --path starts "
                         "with '/'\n");
    return std::nullopt;
  }
  // Every latency sample is kept (exact percentiles); bound the memory.
  if (o.rate * (o.duration + o.warmup) > 5e7) {
    std::fprintf(stderr, "openloop: rate x time over 5e7 requests\n");
    return std::nullopt;
  }
  return o;
}

// -- clock --------------------------------------------------------------------

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) +
           static_cast<double>(tv.tv_usec) / 1e6;
  };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// -- connections --------------------------------------------------------------

struct connection {
  int fd = -1;
  bool busy = false;
  int64_t index = 0; // request in flight
  std::string in;    // bytes of the response so far
};

// Opens a blocking connect, then switches to non-blocking; -1 on error.
int open_connection(const sockaddr_in& addr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  return fd;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto x = static_cast<unsigned char>(a[i]);
    auto y = static_cast<unsigned char>(b[i]);
    if (std::tolower(x) != std::tolower(y))
      return false;
  }
  return true;
}

enum class parse_result { need_more, complete, bad };

// Parses one response with a Content-Length body at the start of `in`. On
// complete, sets `size` (head + body) and `status`. Chunked responses are
// not supported (neither server under test sends them).
parse_result parse_response(std::string_view in, size_t& size, int& status) {
  auto head_end = in.find("\r\n\r\n");
  if (head_end == std::string_view::npos)
    return in.size() > 65536 ? parse_result::bad : parse_result::need_more;
  if (in.size() < 12 || in.substr(0, 7) != "HTTP/1.")
    return parse_result::bad;
  for (size_t i = 9; i < 12; ++i)
    if (in[i] < '0' || in[i] > '9')
      return parse_result::bad;
  status = (in[9] - '0') * 100 + (in[10] - '0') * 10 + (in[11] - '0');
  std::optional<size_t> length;
  size_t pos = in.find("\r\n") + 2;
  while (pos < head_end) {
    auto eol = in.find("\r\n", pos);
    auto line = in.substr(pos, eol - pos);
    auto colon = line.find(':');
    if (colon != std::string_view::npos &&
        iequals(line.substr(0, colon), "content-length")) {
      auto v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
        v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
        v.remove_suffix(1);
      size_t n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc{} || end != v.data() + v.size())
        return parse_result::bad;
      length = n;
    }
    pos = eol + 2;
  }
  // 1xx, 204 and 304 have no body (RFC 9112 6.3).
  if (!length && !(status / 100 == 1 || status == 204 || status == 304))
    return parse_result::bad;
  size = head_end + 4 + length.value_or(0);
  return in.size() >= size ? parse_result::complete : parse_result::need_more;
}

// -- statistics ---------------------------------------------------------------

// The q-quantile of sorted `v` (nearest rank); 0 when empty.
int64_t quantile(const std::vector<int64_t>& v, double q) {
  if (v.empty())
    return 0;
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

double us(int64_t ns) {
  return static_cast<double>(ns) / 1e3;
}

// -- the run ------------------------------------------------------------------

class load_run {
public:
  explicit load_run(const options& o) : opt_(o) {
    request_ = "GET " + o.path + " HTTP/1.1\r\nHost: " + o.host + ":" +
               std::to_string(o.port) + "\r\n\r\n";
    warmup_count_ = static_cast<int64_t>(o.warmup * o.rate);
    total_ = warmup_count_ + static_cast<int64_t>(o.duration * o.rate);
    latency_.reserve(static_cast<size_t>(total_ - warmup_count_));
    send_delay_.reserve(static_cast<size_t>(total_ - warmup_count_));
    answered_.assign(static_cast<size_t>(total_), false);
  }

  ~load_run() {
    for (auto& c : conns_)
      if (c.fd >= 0)
        close(c.fd);
    if (ep_ >= 0)
      close(ep_);
  }

  load_run(const load_run&) = delete;
  load_run& operator=(const load_run&) = delete;

  // Connects every connection; false (with a message) on failure.
  bool connect_all() {
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(static_cast<uint16_t>(opt_.port));
    // A load generator aimed elsewhere by mistake is a denial of service:
    // only loopback addresses are accepted.
    if (inet_pton(AF_INET, opt_.host.c_str(), &addr_.sin_addr) != 1 ||
        (ntohl(addr_.sin_addr.s_addr) >> 24) != 127) {
      std::fprintf(stderr, "openloop: --host must be an IPv4 loopback address "
                           "(127.0.0.0/8)\n");
      return false;
    }
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) {
      std::perror("openloop: epoll_create1");
      return false;
    }
    conns_.resize(static_cast<size_t>(opt_.connections));
    for (size_t i = 0; i < conns_.size(); ++i) {
      if (!reconnect(i)) {
        std::fprintf(stderr, "openloop: connect to %s:%d failed: %s\n",
                     opt_.host.c_str(), opt_.port, std::strerror(errno));
        return false;
      }
      idle_.push_back(i);
    }
    return true;
  }

  void run() {
    // Sleep with nanosecond precision instead of the default 50 us slack.
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    std::vector<epoll_event> events(1024);
    const double cpu0 = cpu_seconds();
    start_ = now_ns();
    const int64_t end_sched = due(total_);
    const int64_t deadline =
      end_sched + static_cast<int64_t>(opt_.timeout * 1e9);
    int64_t now = start_;
    while (true) {
      // Send every due request that has an idle connection, oldest first.
      while (next_ < total_ && due(next_) <= now && !idle_.empty()) {
        auto ci = idle_.back();
        idle_.pop_back();
        send_request(ci, next_++, now);
      }
      if (completed_ + failed_ == total_ || now >= deadline)
        break;
      // Sleep until the next request is due, unless it is already due and
      // waits for a connection (then only a response can wake us).
      int64_t wake = deadline;
      if (next_ < total_ && !idle_.empty())
        wake = std::min(wake, due(next_));
      int64_t wait = std::max<int64_t>(0, wake - now);
      timespec ts{static_cast<time_t>(wait / 1'000'000'000),
                  static_cast<long>(wait % 1'000'000'000)};
      int n = epoll_pwait2(ep_, events.data(), static_cast<int>(events.size()),
                           &ts, nullptr);
      if (n < 0 && errno != EINTR) {
        std::perror("openloop: epoll_pwait2");
        break;
      }
      // One timestamp per wake-up: every response in this batch had
      // arrived by now.
      now = now_ns();
      for (int i = 0; i < n; ++i)
        on_readable(events[static_cast<size_t>(i)].data.u64, now);
    }
    end_ = now;
    cpu_ = cpu_seconds() - cpu0;
  }

  // Prints the summary; returns the exit status.
  int report() {
    // Requests never answered count with the time they waited so far: a
    // lower bound, but leaving them out would hide exactly the stalls an
    // open-loop test is for.
    int64_t incomplete = 0;
    for (int64_t i = warmup_count_; i < total_; ++i) {
      if (!answered_[static_cast<size_t>(i)]) {
        ++incomplete;
        latency_.push_back(end_ - due(i));
      }
    }
    std::sort(latency_.begin(), latency_.end());
    std::sort(send_delay_.begin(), send_delay_.end());
    const int64_t measured = total_ - warmup_count_;
    const double window =
      static_cast<double>(last_measured_done_ - due(warmup_count_)) / 1e9;
    const double achieved =
      window > 0 ? static_cast<double>(measured_ok_) / window : 0;
    const double wall = static_cast<double>(end_ - start_) / 1e9;
    const double cpu_pct = wall > 0 ? 100 * cpu_ / wall : 0;
    std::printf("openloop: %s:%d%s, target %.0f req/s, %d connections, "
                "%.1f s measured after %.1f s warm-up\n",
                opt_.host.c_str(), opt_.port, opt_.path.c_str(), opt_.rate,
                opt_.connections, opt_.duration, opt_.warmup);
    std::printf("  requests %lld measured, %lld ok, %lld failed, %lld "
                "incomplete; achieved %.0f req/s\n",
                static_cast<long long>(measured),
                static_cast<long long>(measured_ok_),
                static_cast<long long>(measured_failed_),
                static_cast<long long>(incomplete), achieved);
    std::printf("  latency from scheduled time (us): p50 %.1f  p90 %.1f  "
                "p99 %.1f  p99.9 %.1f  max %.1f\n",
                us(quantile(latency_, 0.5)), us(quantile(latency_, 0.9)),
                us(quantile(latency_, 0.99)), us(quantile(latency_, 0.999)),
                us(latency_.empty() ? 0 : latency_.back()));
    std::printf("  send delay (us): p50 %.1f  p99 %.1f  max %.1f; client CPU "
                "%.0f%% of one core\n",
                us(quantile(send_delay_, 0.5)), us(quantile(send_delay_, 0.99)),
                us(send_delay_.empty() ? 0 : send_delay_.back()), cpu_pct);
    // Machine-readable: times in microseconds; measured/ok/failed/incomplete
    // count requests after the warm-up, total_ok also those during it.
    std::printf(
      "RESULT target_rate=%.0f achieved_rate=%.0f connections=%d "
      "duration_s=%g measured=%lld ok=%lld failed=%lld "
      "incomplete=%lld p50_us=%.1f p90_us=%.1f p99_us=%.1f "
      "p999_us=%.1f max_us=%.1f send_delay_p99_us=%.1f "
      "send_delay_max_us=%.1f client_cpu_pct=%.0f total_ok=%lld\n",
      opt_.rate, achieved, opt_.connections, opt_.duration,
      static_cast<long long>(measured), static_cast<long long>(measured_ok_),
      static_cast<long long>(measured_failed_),
      static_cast<long long>(incomplete), us(quantile(latency_, 0.5)),
      us(quantile(latency_, 0.9)), us(quantile(latency_, 0.99)),
      us(quantile(latency_, 0.999)), us(latency_.empty() ? 0 : latency_.back()),
      us(quantile(send_delay_, 0.99)),
      us(send_delay_.empty() ? 0 : send_delay_.back()), cpu_pct,
      static_cast<long long>(completed_));
    return measured_failed_ > 0 || incomplete > 0 || failed_ > 0 ? 1 : 0;
  }

private:
  // The scheduled send time of request `i`.
  int64_t due(int64_t i) const {
    return start_ +
           static_cast<int64_t>(static_cast<double>(i) * 1e9 / opt_.rate);
  }

  bool reconnect(size_t ci) {
    auto& c = conns_[ci];
    if (c.fd >= 0)
      close(c.fd); // also removes it from the epoll set
    c = connection{};
    c.fd = open_connection(addr_);
    if (c.fd < 0)
      return false;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = ci;
    return epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) == 0;
  }

  void send_request(size_t ci, int64_t index, int64_t now) {
    auto& c = conns_[ci];
    c.busy = true;
    c.index = index;
    if (index >= warmup_count_)
      send_delay_.push_back(now - due(index));
    // One request in flight per connection: the socket's send buffer is
    // empty, so a short write of a few dozen bytes means a broken socket.
    auto n = send(c.fd, request_.data(), request_.size(), MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(request_.size()))
      fail(ci, now);
  }

  void on_readable(size_t ci, int64_t now) {
    auto& c = conns_[ci];
    char buf[65536];
    auto n = read(c.fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (n <= 0) { // EOF or error: the request in flight (if any) failed
      fail(ci, now);
      return;
    }
    if (!c.busy) { // bytes nobody asked for
      fail(ci, now);
      return;
    }
    c.in.append(buf, static_cast<size_t>(n));
    size_t size = 0;
    int status = 0;
    switch (parse_response(c.in, size, status)) {
    case parse_result::need_more:
      return;
    case parse_result::bad:
      fail(ci, now);
      return;
    case parse_result::complete:
      break;
    }
    if (size != c.in.size()) { // more than one response: not ours
      fail(ci, now);
      return;
    }
    c.in.clear();
    c.busy = false;
    if (status < 200 || status > 299) {
      record_failure(c.index, now);
    } else {
      record_success(c.index, now);
    }
    idle_.push_back(ci);
  }

  // The connection broke or misbehaved: fail its request, reconnect.
  void fail(size_t ci, int64_t now) {
    auto& c = conns_[ci];
    bool was_busy = c.busy;
    auto index = c.index;
    if (was_busy)
      record_failure(index, now);
    // Remove it from the idle list if it was there (rare path).
    idle_.erase(std::remove(idle_.begin(), idle_.end(), ci), idle_.end());
    if (reconnect(ci))
      idle_.push_back(ci);
    else
      std::fprintf(stderr, "openloop: reconnect failed: %s\n",
                   std::strerror(errno));
  }

  void mark_answered(int64_t index) {
    answered_[static_cast<size_t>(index)] = true;
  }

  void record_success(int64_t index, int64_t now) {
    ++completed_;
    mark_answered(index);
    if (index < warmup_count_)
      return;
    ++measured_ok_;
    latency_.push_back(now - due(index));
    last_measured_done_ = std::max(last_measured_done_, now);
  }

  void record_failure(int64_t index, int64_t now) {
    ++failed_;
    mark_answered(index);
    if (index >= warmup_count_) {
      ++measured_failed_;
      last_measured_done_ = std::max(last_measured_done_, now);
    }
  }

  options opt_;
  sockaddr_in addr_{};
  int ep_ = -1;
  std::string request_;
  std::vector<connection> conns_;
  std::vector<size_t> idle_; // indexes into conns_
  std::vector<bool> answered_;
  std::vector<int64_t> latency_;    // ns, measured requests
  std::vector<int64_t> send_delay_; // ns, measured requests
  int64_t warmup_count_ = 0;
  int64_t total_ = 0;
  int64_t next_ = 0; // next request to send
  int64_t completed_ = 0;
  int64_t failed_ = 0;
  int64_t measured_ok_ = 0;
  int64_t measured_failed_ = 0;
  int64_t start_ = 0;
  int64_t end_ = 0;
  int64_t last_measured_done_ = 0;
  double cpu_ = 0;
};

} // namespace

int main(int argc, char** argv) {
  auto opt = parse_options(argc, argv);
  if (!opt) {
    usage();
    return 2;
  }
  load_run run{*opt};
  if (!run.connect_all())
    return 2;
  run.run();
  return run.report();
}
