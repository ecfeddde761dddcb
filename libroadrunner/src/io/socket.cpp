#include "io/socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <linux/filter.h>

namespace roadrunner::io {

namespace {

std::string describe(const char* what, const std::string& address, int port) {
  return std::string{what} + " " + address + ":" + std::to_string(port) + ": " +
         std::strerror(errno);
}

} // namespace

int listen_tcp(const std::string& address, int port, int backlog,
               std::string& error, bool reuse_port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in6);
  } else {
    error = "invalid bind address \"" + address + "\"";
    return -1;
  }
  int fd =
    ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = describe("socket", address, port);
    return -1;
  }
  int one = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
    error = describe("setsockopt", address, port);
    ::close(fd);
    return -1;
  }
  if (reuse_port &&
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    error = describe("setsockopt SO_REUSEPORT", address, port);
    ::close(fd);
    return -1;
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    error = describe("bind", address, port);
    ::close(fd);
    return -1;
  }
  if (::listen(fd, backlog) != 0) {
    error = describe("listen", address, port);
    ::close(fd);
    return -1;
  }
  return fd;
}

uint16_t local_port(int fd) noexcept {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return 0;
  if (ss.ss_family == AF_INET)
    return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

size_t format_ipv4(uint32_t network_order, char* out) noexcept {
  unsigned char octets[4];
  std::memcpy(octets, &network_order, sizeof(octets));
  char* p = out;
  for (size_t i = 0; i < 4; ++i) {
    if (i > 0)
      *p++ = '.';
    p = std::to_chars(p, out + 15, static_cast<unsigned>(octets[i])).ptr;
  }
  return static_cast<size_t>(p - out);
}

int accept_connection(int listen_fd, peer_address& peer) noexcept {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&ss), &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0)
    return -1;
  char text[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    peer.ip.assign(text, format_ipv4(v4->sin_addr.s_addr, text));
    peer.port = ntohs(v4->sin_port);
    return fd;
  }
  if (ss.ss_family == AF_INET6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    peer.port = ntohs(v6->sin6_port);
  }
  peer.ip.assign(text);
  return fd;
}

bool refuse_new_connections(int listen_fd) noexcept {
  // A classic BPF socket filter runs on the listener for every segment the
  // kernel hands it (tcp_v4_rcv / tcp_v6_rcv: tcp_filter), with the data at
  // the TCP header. Byte 13 holds the flags: drop SYN without ACK (a new
  // connection), keep everything else (the handshakes' final ACKs).
  // (BPF_STMT / BPF_JUMP spelled out: the macros use C casts.)
  constexpr uint16_t ld_b_abs = BPF_LD | BPF_B | BPF_ABS;
  constexpr uint16_t and_k = BPF_ALU | BPF_AND | BPF_K;
  constexpr uint16_t jeq_k = BPF_JMP | BPF_JEQ | BPF_K;
  constexpr uint16_t ret_k = BPF_RET | BPF_K;
  sock_filter code[] = {
    {ld_b_abs, 0, 0, 13}, {and_k, 0, 0, 0x12},
    {jeq_k, 0, 1, 0x02}, // SYN alone: next (drop); else skip one (keep)
    {ret_k, 0, 0, 0},     {ret_k, 0, 0, 0xffffffff},
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof(code) / sizeof(code[0])),
                  code};
  return ::setsockopt(listen_fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
                      sizeof(prog)) == 0;
}

int accept_queue_length(int listen_fd) noexcept {
  // For a listening socket tcpi_unacked is the accept queue's length.
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (::getsockopt(listen_fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0)
    return -1;
  return static_cast<int>(info.tcpi_unacked);
}

void close_fd(int fd) noexcept {
  if (fd >= 0)
    ::close(fd);
}

} // namespace roadrunner::io
