// ws_load: a WebSocket load generator for benchmarks/ws_echo.sh (no
// packaged tool speaks WebSocket under load).
//
//   ws_load echo PORT PATH CONNS SIZE WARMUP SECONDS [SERVER_PID]
//     CONNS sessions on 127.0.0.1:PORT PATH, each sending one binary
//     message of SIZE bytes and waiting for its echo before the next
//     (closed loop). After WARMUP seconds, counts the echoes for SECONDS
//     and, with SERVER_PID, the server's CPU time (utime+stime from
//     /proc/PID/stat) over the same window. Prints
//     `round_trips=N seconds=S rps=R cpu_us_per_msg=C`.
//   ws_load idle PORT PATH CONNS
//     opens CONNS sessions, prints `open=N`, keeps them until stdin closes.
//
// Frames are masked with a zero key (valid: RFC 6455 5.3 requires the
// mask bit; the key's value is the client's business), so the payload is
// written as is. Every session is one socket on one epoll loop.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "ws_load: %s (%s)\n", what.c_str(),
               std::strerror(errno));
  std::exit(1);
}

struct session {
  int fd = -1;
  std::string in;
  std::string out;
  size_t out_pos = 0;
};

std::string frame(size_t size) {
  std::string f;
  f.push_back(static_cast<char>(0x82)); // FIN, binary
  if (size < 126) {
    f.push_back(static_cast<char>(0x80 | size));
  } else if (size < 65536) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(size >> 8));
    f.push_back(static_cast<char>(size & 0xff));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i)
      f.push_back(static_cast<char>((size >> (8 * i)) & 0xff));
  }
  f.append(4, '\0');   // the mask key
  f.append(size, 'm'); // masked with zeros: as is
  return f;
}

int open_session(uint16_t port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    die("connect");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::string req = "GET " + path +
                    " HTTP/1.1\r\nhost: 127.0.0.1\r\nupgrade: websocket\r\n"
                    "connection: Upgrade\r\nsec-websocket-version: 13\r\n"
                    "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(req.size()))
    die("send handshake");
  std::string head;
  char buf[1024];
  while (head.find("\r\n\r\n") == std::string::npos) {
    auto n = ::recv(fd, buf, 1, 0); // byte by byte: nothing past the head
    if (n <= 0)
      die("handshake answer");
    head.append(buf, static_cast<size_t>(n));
  }
  if (head.compare(0, 12, "HTTP/1.1 101") != 0)
    die("no 101: " + head.substr(0, head.find('\r')));
  return fd;
}

// Complete frames at the front of `in` (removed); server frames are
// unmasked.
size_t take_frames(std::string& in) {
  size_t count = 0;
  size_t pos = 0;
  for (;;) {
    if (in.size() - pos < 2)
      break;
    auto* p = reinterpret_cast<const uint8_t*>(in.data() + pos);
    uint64_t len = p[1] & 0x7f;
    size_t head = 2;
    if (len == 126) {
      if (in.size() - pos < 4)
        break;
      len = (uint64_t{p[2]} << 8) | p[3];
      head = 4;
    } else if (len == 127) {
      if (in.size() - pos < 10)
        break;
      len = 0;
      for (int i = 2; i < 10; ++i)
        len = (len << 8) | p[i];
      head = 10;
    }
    if (in.size() - pos < head + len)
      break;
    pos += head + len;
    ++count;
  }
  in.erase(0, pos);
  return count;
}

bool write_some(session& s) {
  while (s.out_pos < s.out.size()) {
    auto n = ::send(s.fd, s.out.data() + s.out_pos, s.out.size() - s.out_pos,
                    MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return true;
      if (errno == EINTR)
        continue;
      return false;
    }
    s.out_pos += static_cast<size_t>(n);
  }
  s.out.clear();
  s.out_pos = 0;
  return true;
}

long cpu_ticks(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos)
    return -1;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  long utime = 0;
  long stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14)
      utime = std::stol(field);
    if (i == 15)
      stime = std::stol(field);
  }
  return utime + stime;
}

int run_echo(uint16_t port, const std::string& path, int conns, size_t size,
             double warmup, double seconds, long pid) {
  std::vector<session> sessions(static_cast<size_t>(conns));
  int ep = ::epoll_create1(0);
  auto msg = frame(size);
  for (size_t i = 0; i < sessions.size(); ++i) {
    auto& s = sessions[i];
    s.fd = open_session(port, path);
    ::fcntl(s.fd, F_SETFL, ::fcntl(s.fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.u64 = i;
    if (::epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ev) != 0)
      die("epoll_ctl");
    s.out = msg;
  }
  auto start = clock_type::now();
  auto window_start = start + std::chrono::duration_cast<clock_type::duration>(
                                std::chrono::duration<double>(warmup));
  auto window_end =
    window_start + std::chrono::duration_cast<clock_type::duration>(
                     std::chrono::duration<double>(seconds));
  bool counting = false;
  long ticks0 = 0;
  uint64_t counted = 0;
  std::vector<epoll_event> events(256);
  char buf[65536];
  for (;;) {
    auto now = clock_type::now();
    if (!counting && now >= window_start) {
      counting = true;
      ticks0 = pid > 0 ? cpu_ticks(pid) : 0;
    }
    if (now >= window_end)
      break;
    int n =
      ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 10);
    if (n < 0 && errno != EINTR)
      die("epoll_wait");
    for (int k = 0; k < n; ++k) {
      auto& s = sessions[events[static_cast<size_t>(k)].data.u64];
      if (!write_some(s))
        die("send");
      for (;;) {
        auto got = ::recv(s.fd, buf, sizeof buf, 0);
        if (got > 0) {
          s.in.append(buf, static_cast<size_t>(got));
          continue;
        }
        if (got == 0)
          die("server closed a session");
        if (errno == EAGAIN || errno == EWOULDBLOCK)
          break;
        if (errno != EINTR)
          die("recv");
      }
      auto echoes = take_frames(s.in);
      if (echoes > 0) {
        if (counting)
          counted += echoes;
        s.out = msg; // the next round trip
        if (!write_some(s))
          die("send");
      }
    }
  }
  long ticks1 = pid > 0 ? cpu_ticks(pid) : 0;
  double clk = static_cast<double>(::sysconf(_SC_CLK_TCK));
  double cpu_us =
    pid > 0 ? static_cast<double>(ticks1 - ticks0) / clk * 1e6 : 0.0;
  std::printf("round_trips=%llu seconds=%.3f rps=%.0f cpu_us_per_msg=%.2f\n",
              static_cast<unsigned long long>(counted), seconds,
              static_cast<double>(counted) / seconds,
              counted > 0 ? cpu_us / static_cast<double>(counted) : 0.0);
  for (auto& s : sessions)
    ::close(s.fd);
  ::close(ep);
  return 0;
}

int run_idle(uint16_t port, const std::string& path, int conns) {
  std::vector<int> fds;
  fds.reserve(static_cast<size_t>(conns));
  for (int i = 0; i < conns; ++i)
    fds.push_back(open_session(port, path));
  std::printf("open=%d\n", conns);
  std::fflush(stdout);
  char c;
  while (::read(0, &c, 1) > 0) {
  }
  for (int fd : fds)
    ::close(fd);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() >= 7 && a[0] == "echo")
    return run_echo(static_cast<uint16_t>(std::stoi(a[1])), a[2],
                    std::stoi(a[3]), std::stoul(a[4]), std::stod(a[5]),
                    std::stod(a[6]), a.size() > 7 ? std::stol(a[7]) : 0);
  if (a.size() == 4 && a[0] == "idle")
    return run_idle(static_cast<uint16_t>(std::stoi(a[1])), a[2],
                    std::stoi(a[3]));
  std::fprintf(stderr,
               "usage: ws_load echo PORT PATH CONNS SIZE WARMUP SECONDS "
               "[SERVER_PID]\n       ws_load idle PORT PATH CONNS\n");
  return 2;
}
