#include "io/socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace roadrunner::io {

namespace {

std::string describe(const char* what, const std::string& address, int port) {
  return std::string{what} + " " + address + ":" + std::to_string(port) + ": " +
         std::strerror(errno);
}

} // namespace

int listen_tcp(const std::string& address, int port, int backlog,
               std::string& error) {
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

void close_fd(int fd) noexcept {
  if (fd >= 0)
    ::close(fd);
}

} // namespace roadrunner::io
