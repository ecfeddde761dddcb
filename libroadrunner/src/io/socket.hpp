#pragma once

#include <roadrunner/request.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace roadrunner::io {

/// Opens a non-blocking TCP listen socket on `address`:`port` with
/// SO_REUSEADDR, TCP_NODELAY (inherited by accepted sockets) and `backlog`;
/// with `reuse_port` also SO_REUSEPORT (joins the port's group of sockets
/// of the same user). Returns the fd, or -1 with a readable reason in
/// `error` (e.g. "bind 127.0.0.1:8080: Address already in use").
int listen_tcp(const std::string& address, int port, int backlog,
               std::string& error, bool reuse_port = false);

/// Makes a listening socket refuse new connections without resetting any:
/// a socket filter drops every pure SYN it would get, while the final
/// ACKs of handshakes already under way still complete into its accept
/// queue. For an SO_REUSEPORT socket that is leaving its group (the kernel
/// keeps hashing some clients to it until it closes, and with
/// net.ipv4.tcp_migrate_req=0 closing resets its queue): a dropped SYN is
/// sent again by the client (after about 1 s) and, once this socket is
/// closed, reaches another socket of the group. Returns false (errno set)
/// when the kernel refused the filter.
bool refuse_new_connections(int listen_fd) noexcept;

/// The number of connections waiting in a listening socket's accept queue
/// (TCP_INFO), or -1 on error.
int accept_queue_length(int listen_fd) noexcept;

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
