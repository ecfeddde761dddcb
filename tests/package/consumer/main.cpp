// Starts a listener on an ephemeral loopback port, asks it for its port,
// sends it one request over a socket, stops it and exits 0 — proof that the
// installed package (headers, libraries, dependencies) compiles, links and
// serves. Built by tests/package/run.cmake with CMake and with pkg-config.
#include <roadrunner/json.hpp>
#include <roadrunner/roadrunner.hpp>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <string>

namespace {

// One HTTP/1.1 exchange with `Connection: close`; returns the body.
std::string get_root(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return {};
  timeval tv{5, 0}; // a bounded wait for every read
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string req = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), 0) ==
        static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0)
        reply.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  auto body = reply.find("\r\n\r\n");
  return body == std::string::npos ? std::string{} : reply.substr(body + 4);
}

} // namespace

int main() {
  roadrunner::system_config cfg;
  caf::actor_system sys{cfg};
  roadrunner::listener_options opts;
  opts.port = 0;
  opts.bind_address = "127.0.0.1";
  opts.routes = [](roadrunner::request&) {
    return roadrunner::json_response(200, {{"ok", true}});
  };
  auto l = roadrunner::start_listener(sys, "consumer", opts);
  if (!l) {
    std::cerr << sys.render(l.error()) << std::endl;
    return 1;
  }
  caf::scoped_actor self{sys};
  int rc = 1;
  self->request(*l, std::chrono::seconds(5), roadrunner::port_atom::value)
    .receive(
      [&](uint16_t port) {
        std::cout << "consumer listened on port " << port << ", GET / -> "
                  << get_root(port) << std::endl;
        rc = port > 0 ? 0 : 1;
      },
      [&](caf::error& err) { std::cerr << sys.render(err) << std::endl; });
  self->request(*l, std::chrono::seconds(5), roadrunner::stop_atom::value)
    .receive([](caf::ok_atom) {}, [&](caf::error&) { rc = 1; });
  return rc;
}
