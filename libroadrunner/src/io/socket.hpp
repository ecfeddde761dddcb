#pragma once

#include <roadrunner/request.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace roadrunner::io {

/// Opens a non-blocking TCP listen socket on `address`:`port` with
/// SO_REUSEADDR, TCP_NODELAY (inherited by accepted sockets) and `backlog`.
/// Returns the fd, or -1 with a readable reason in `error` (e.g.
/// "bind 127.0.0.1:8080: Address already in use").
int listen_tcp(const std::string& address, int port, int backlog,
               std::string& error);

/// The local port a bound socket listens on (0 on error).
uint16_t local_port(int fd) noexcept;

/// Writes the dotted-quad text of the IPv4 address `network_order` (as in
/// `in_addr::s_addr`) to `out`, which must hold 15 characters; returns the
/// length. accept_connection uses it rather than inet_ntop, whose sprintf
/// cost about 1 700 instructions per accepted connection (callgrind).
size_t format_ipv4(uint32_t network_order, char* out) noexcept;

/// Accepts one connection as a non-blocking, close-on-exec socket and fills
/// `peer`. Returns the fd, or -1 with errno set (EAGAIN when none is
/// pending).
int accept_connection(int listen_fd, peer_address& peer) noexcept;

/// Closes `fd`, retrying on EINTR is wrong on Linux, so it does not.
void close_fd(int fd) noexcept;

} // namespace roadrunner::io
