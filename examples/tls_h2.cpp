// HTTPS with HTTP/2 preferred (ALPN h2, then http/1.1), on one route
// that says which protocol the request came over.
//
//   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes
//     -days 30 -subj /CN=localhost -keyout key.pem -out cert.pem   (one line)
//   tls_h2 --cert=cert.pem --key=key.pem --port=8443
//   curl -k --http2 https://127.0.0.1:8443/      -> "HTTP/2"
//   curl -k --http1.1 https://127.0.0.1:8443/    -> "HTTP/1.1"
#include <roadrunner/roadrunner.hpp>

#include <caf/actor_system.hpp>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>

namespace {

struct config : roadrunner::system_config {
  uint16_t port = 8443;
  std::string cert = "cert.pem";
  std::string key = "key.pem";
  config() {
    opt_group{custom_options_, "global"}
      .add(port, "port", "TCP port (0: any free one)")
      .add(cert, "cert", "certificate chain (PEM)")
      .add(key, "key", "private key (PEM)");
  }
};

} // namespace

int main(int argc, char** argv) {
  config cfg;
  if (auto rc = roadrunner::parse_args(cfg, argc, argv))
    return *rc;
  caf::actor_system sys{cfg};
  roadrunner::listener_options opts;
  opts.port = cfg.port;
  opts.bind_address = "127.0.0.1";
  opts.tls = roadrunner::tls_options{cfg.cert, cfg.key};
  // The order is the server's ALPN preference.
  opts.protocols = {roadrunner::protocol::http2, roadrunner::protocol::http1};
  opts.routes = [](roadrunner::request& r) {
    return roadrunner::response::text(200, std::string{r.version()});
  };
  return roadrunner::serve(sys, "tls_h2", opts, std::chrono::seconds(5));
}
