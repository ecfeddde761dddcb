#include <roadrunner/testing.hpp>

#include <caf/actor_system.hpp>
#include <caf/sec.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <poll.h>
#include <stdexcept>

namespace roadrunner::testing {

namespace {

caf::error fail(std::string reason) {
  return caf::make_error(caf::sec::runtime_error, std::move(reason));
}

std::string lower(std::string_view x) {
  std::string out{x};
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return out;
}

// Closes the socket however the exchange ends.
struct socket_guard {
  int fd;
  ~socket_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

// Sends all of `data` before `deadline`.
bool send_all(int fd, std::string_view data,
              std::chrono::steady_clock::time_point deadline) {
  while (!data.empty()) {
    auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR)
      return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLOUT, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return false;
  }
  return true;
}

// Reads until the peer closes; false at the deadline or on an error.
bool read_all(int fd, std::string& out,
              std::chrono::steady_clock::time_point deadline) {
  char buf[16384];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return false;
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0)
      return true;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN)
        continue;
      return errno == ECONNRESET && !out.empty();
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

// Decodes a chunked body (RFC 9112 7.1); nullopt when it is malformed.
std::optional<std::string> dechunk(std::string_view in) {
  std::string out;
  for (;;) {
    auto eol = in.find("\r\n");
    if (eol == std::string_view::npos)
      return std::nullopt;
    auto line = in.substr(0, std::min(eol, in.find(';')));
    size_t size = 0;
    auto [end, ec] =
      std::from_chars(line.data(), line.data() + line.size(), size, 16);
    if (ec != std::errc{} || end != line.data() + line.size())
      return std::nullopt;
    in.remove_prefix(eol + 2);
    if (size == 0)
      return out; // trailers, if any, are not kept
    if (in.size() < size + 2)
      return std::nullopt;
    out.append(in.substr(0, size));
    in.remove_prefix(size + 2);
  }
}

// Parses one response from `in`, skipping 1xx interim responses.
caf::expected<reply> parse_reply(std::string_view in) {
  for (;;) {
    auto head_end = in.find("\r\n\r\n");
    if (head_end == std::string_view::npos || in.substr(0, 5) != "HTTP/" ||
        in.size() < 12)
      return fail("not an HTTP/1.1 response");
    reply r;
    auto status = in.substr(9, 3);
    std::from_chars(status.data(), status.data() + 3, r.status);
    auto head = in.substr(0, head_end);
    auto rest = in.substr(head_end + 4);
    auto pos = head.find("\r\n");
    while (pos != std::string_view::npos) {
      auto next = head.find("\r\n", pos + 2);
      auto line = head.substr(pos + 2, next == std::string_view::npos
                                         ? std::string_view::npos
                                         : next - pos - 2);
      auto colon = line.find(':');
      if (colon != std::string_view::npos) {
        auto value = line.substr(colon + 1);
        while (!value.empty() &&
               (value.front() == ' ' || value.front() == '\t'))
          value.remove_prefix(1);
        r.headers.emplace_back(lower(line.substr(0, colon)),
                               std::string{value});
      }
      pos = next;
    }
    if (r.status >= 100 && r.status < 200) {
      in = rest;
      continue;
    }
    if (auto te = r.header("transfer-encoding");
        te && lower(*te).find("chunked") != std::string::npos) {
      auto body = dechunk(rest);
      if (!body)
        return fail("a malformed chunked body");
      r.body = std::move(*body);
    } else if (auto cl = r.header("content-length")) {
      size_t n = 0;
      std::from_chars(cl->data(), cl->data() + cl->size(), n);
      r.body = std::string{rest.substr(0, n)};
    } else {
      r.body = std::string{rest};
    }
    return r;
  }
}

std::atomic<uint64_t> next_id{0};

} // namespace

std::optional<std::string_view> reply::header(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (k == name)
      return std::string_view{v};
  return std::nullopt;
}

test_listener::test_listener(caf::actor_system& sys, listener_options opts)
  : sys_(sys) {
  opts.port = 0;
  opts.bind_address = "127.0.0.1";
  auto name = "roadrunner.testing-" + std::to_string(++next_id);
  auto l = start_listener(sys, std::move(name), std::move(opts));
  if (!l)
    throw std::runtime_error(sys.render(l.error()));
  actor_ = std::move(*l);
  auto port = port_of(sys, actor_);
  if (!port) {
    (void)stop(sys, actor_);
    throw std::runtime_error(sys.render(port.error()));
  }
  port_ = *port;
}

test_listener::~test_listener() {
  (void)stop(sys_, actor_);
}

caf::expected<reply> test_listener::request(std::string_view method,
                                            std::string_view target,
                                            const field_list& fields,
                                            std::string_view body,
                                            std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  socket_guard sock{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (sock.fd < 0)
    return fail("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(sock.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return fail("connect() failed");
  std::string req;
  req.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  req.append("host: 127.0.0.1\r\nconnection: close\r\n");
  for (auto& [k, v] : fields)
    req.append(k).append(": ").append(v).append("\r\n");
  if (!body.empty())
    req.append("content-length: ").append(std::to_string(body.size()));
  req.append(body.empty() ? "\r\n" : "\r\n\r\n").append(body);
  if (!send_all(sock.fd, req, deadline))
    return fail("sending the request failed");
  std::string raw;
  if (!read_all(sock.fd, raw, deadline))
    return fail("no complete answer within the timeout");
  return parse_reply(raw);
}

} // namespace roadrunner::testing
