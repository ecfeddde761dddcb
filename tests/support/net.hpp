#pragma once

// Test support: a raw HTTP/1.1 client over a blocking loopback socket with
// deadlines on every read, and child processes (the demo server, curl) that
// are always reaped. Every wait is bounded; nothing here sleeps to
// synchronise.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

extern char** environ;

namespace rrtest {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// Polls `pred` every 2 ms until it holds or `timeout` passed; returns its
/// last value. For state that has no event to wait on (counters, another
/// process's state).
template <class F>
bool eventually(F pred, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = clock_type::now() + timeout;
  while (clock_type::now() < deadline) {
    if (pred())
      return true;
    pollfd none{-1, 0, 0};
    ::poll(&none, 0, 2);
  }
  return pred();
}

inline std::string lower(std::string_view x) {
  std::string out{x};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// A parsed HTTP/1.x response.
struct http_response {
  int status = 0;
  std::string status_line;
  std::vector<std::pair<std::string, std::string>> headers; // lowercase names
  std::string body;
  /// Trailer fields of a chunked body (lowercase names).
  std::vector<std::pair<std::string, std::string>> trailers;
  /// The chunk sizes of a chunked body, in order (without the last chunk).
  std::vector<size_t> chunks;

  std::optional<std::string> header(std::string_view name) const {
    for (auto& [k, v] : headers)
      if (k == name)
        return v;
    return std::nullopt;
  }

  size_t count(std::string_view name) const {
    size_t n = 0;
    for (auto& kv : headers)
      n += kv.first == name ? 1 : 0;
    return n;
  }
};

/// A blocking TCP client to 127.0.0.1 with bounded reads.
class client {
public:
  explicit client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0)
      throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
      throw std::runtime_error(std::string{"connect failed: "} +
                               std::strerror(errno));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }

  client(client&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), buf_(std::move(other.buf_)) {}

  client(const client&) = delete;
  client& operator=(const client&) = delete;

  ~client() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  int fd() const { return fd_; }

  bool send(std::string_view data) {
    while (!data.empty()) {
      auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  /// Reads more bytes into the buffer. Returns >0 bytes, 0 on EOF, -1 on
  /// error (e.g. RST) and -2 when the deadline passed.
  long fill(clock_type::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - clock_type::now());
    if (left.count() < 0)
      return -2;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r == 0)
      return -2;
    if (r < 0)
      return errno == EINTR ? fill(deadline) : -1;
    char tmp[65536];
    auto n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n > 0)
      buf_.append(tmp, static_cast<size_t>(n));
    return n;
  }

  /// Reads one response (Content-Length framed, or no body for HEAD / 1xx
  /// / 204 / 304). Returns nullopt on timeout, EOF or a malformed response.
  std::optional<http_response>
  read_response(std::chrono::milliseconds timeout = 5s,
                bool head_request = false) {
    auto deadline = clock_type::now() + timeout;
    size_t head_end;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (fill(deadline) <= 0)
        return std::nullopt;
    http_response res;
    std::string_view head{buf_.data(), head_end};
    auto line_end = head.find("\r\n");
    res.status_line = std::string{head.substr(0, line_end)};
    if (res.status_line.size() < 12)
      return std::nullopt;
    res.status = std::stoi(res.status_line.substr(9, 3));
    auto rest = line_end == std::string_view::npos ? std::string_view{}
                                                   : head.substr(line_end + 2);
    while (!rest.empty()) {
      auto eol = rest.find("\r\n");
      auto line = rest.substr(0, eol);
      auto colon = line.find(':');
      if (colon == std::string_view::npos)
        return std::nullopt;
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.remove_prefix(1);
      res.headers.emplace_back(lower(line.substr(0, colon)),
                               std::string{value});
      if (eol == std::string_view::npos)
        break;
      rest.remove_prefix(eol + 2);
    }
    size_t body_len = 0;
    bool no_body = head_request || res.status < 200 || res.status == 204 ||
                   res.status == 304;
    if (!no_body && res.header("transfer-encoding") == "chunked") {
      buf_.erase(0, head_end + 4);
      if (!read_chunked(res, deadline))
        return std::nullopt;
      return res;
    }
    if (!no_body)
      if (auto cl = res.header("content-length"))
        body_len = std::stoul(*cl);
    auto total = head_end + 4 + body_len;
    while (buf_.size() < total)
      if (fill(deadline) <= 0)
        return std::nullopt;
    res.body = buf_.substr(head_end + 4, body_len);
    buf_.erase(0, total);
    return res;
  }

  /// Reads one CRLF-terminated line (without the CRLF).
  std::optional<std::string> read_line(clock_type::time_point deadline) {
    size_t eol;
    while ((eol = buf_.find("\r\n")) == std::string::npos)
      if (fill(deadline) <= 0)
        return std::nullopt;
    auto line = buf_.substr(0, eol);
    buf_.erase(0, eol + 2);
    return line;
  }

  /// Decodes a chunked body (strictly: hex sizes, CRLF after each chunk)
  /// and its trailer section into `res`.
  bool read_chunked(http_response& res, clock_type::time_point deadline) {
    for (;;) {
      auto line = read_line(deadline);
      if (!line || line->empty())
        return false;
      size_t size = 0;
      for (char c : *line) {
        int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                            : -1;
        if (v < 0)
          return false;
        size = size * 16 + static_cast<size_t>(v);
      }
      if (size == 0)
        break;
      while (buf_.size() < size + 2)
        if (fill(deadline) <= 0)
          return false;
      if (buf_.compare(size, 2, "\r\n") != 0)
        return false;
      res.body.append(buf_, 0, size);
      res.chunks.push_back(size);
      buf_.erase(0, size + 2);
    }
    for (;;) {
      auto line = read_line(deadline);
      if (!line)
        return false;
      if (line->empty())
        return true;
      auto colon = line->find(':');
      if (colon == std::string::npos)
        return false;
      auto value = line->substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.erase(0, 1);
      res.trailers.emplace_back(lower(line->substr(0, colon)), value);
    }
  }

  /// True when the server closes the connection (EOF or reset) before the
  /// deadline; any bytes read meanwhile are appended to `leftover()`.
  bool closed_by_peer(std::chrono::milliseconds timeout = 5s) {
    auto deadline = clock_type::now() + timeout;
    for (;;) {
      auto n = fill(deadline);
      if (n == 0 || n == -1)
        return true;
      if (n == -2)
        return false;
    }
  }

  /// Bytes received but not consumed by read_response.
  const std::string& leftover() const { return buf_; }

private:
  int fd_ = -1;
  std::string buf_;
};

/// A child process with its stdout on a pipe; killed and reaped on
/// destruction.
class process {
public:
  explicit process(const std::vector<std::string>& argv) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int rc = posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    out_fd_ = out[0];
    if (rc != 0)
      throw std::runtime_error("spawn failed: " + argv[0]);
  }

  process(const process&) = delete;
  process& operator=(const process&) = delete;

  ~process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait_exit(5s);
    }
    if (out_fd_ >= 0)
      ::close(out_fd_);
  }

  pid_t pid() const { return pid_; }

  /// Reads stdout until `n` lines or EOF or the deadline.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    for (;;) {
      auto nl = out_.find('\n');
      if (nl != std::string::npos) {
        auto line = out_.substr(0, nl);
        out_.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - clock_type::now());
      if (left.count() <= 0)
        return std::nullopt;
      pollfd p{out_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        return std::nullopt;
      char tmp[4096];
      auto n = ::read(out_fd_, tmp, sizeof(tmp));
      if (n <= 0)
        return std::nullopt;
      out_.append(tmp, static_cast<size_t>(n));
    }
  }

  /// Reads all of stdout until EOF or the deadline.
  std::string read_all(std::chrono::milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - clock_type::now());
      if (left.count() <= 0)
        break;
      pollfd p{out_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        break;
      char tmp[65536];
      auto n = ::read(out_fd_, tmp, sizeof(tmp));
      if (n <= 0)
        break;
      out_.append(tmp, static_cast<size_t>(n));
    }
    return std::exchange(out_, std::string{});
  }

  /// Sends `sig`.
  void signal(int sig) {
    if (pid_ > 0)
      ::kill(pid_, sig);
  }

  /// Waits (bounded, polling waitpid) for the exit; returns the exit code,
  /// 128+signal, or -1 on timeout.
  int wait_exit(std::chrono::milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    while (pid_ > 0) {
      int status = 0;
      auto r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        if (WIFEXITED(status))
          return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
      }
      if (clock_type::now() >= deadline)
        return -1;
      pollfd none{-1, 0, 0};
      ::poll(&none, 0, 5); // waitpid has no timeout: poll it every 5 ms
    }
    return -1;
  }

private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string out_;
};

/// Runs a command to completion (bounded) and returns (exit code, stdout).
inline std::pair<int, std::string>
run(const std::vector<std::string>& argv,
    std::chrono::milliseconds timeout = 20s) {
  process p{argv};
  auto out = p.read_all(timeout);
  auto code = p.wait_exit(timeout);
  return {code, out};
}

#ifdef ROADRUNNER_DEMO_PATH
/// The demo server on an ephemeral port, stopped (SIGKILL) by the destructor
/// unless stopped explicitly.
struct demo_server {
  process proc;
  uint16_t port = 0;
  std::string start_line;

  explicit demo_server(std::vector<std::string> flags = {})
    : proc(make_argv(std::move(flags))) {
    auto line = proc.read_line(10s);
    if (!line)
      throw std::runtime_error("roadrunner-demo printed no start line");
    start_line = *line;
    auto colon = start_line.rfind(':');
    port = static_cast<uint16_t>(std::stoi(start_line.substr(colon + 1)));
  }

  static std::vector<std::string> make_argv(std::vector<std::string> flags) {
    std::vector<std::string> argv{ROADRUNNER_DEMO_PATH, "--port=0",
                                  "--bind=127.0.0.1", "--reactors=2"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return argv;
  }

  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port) + std::string{path};
  }
};
#endif

} // namespace rrtest
