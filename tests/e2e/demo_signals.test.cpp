// Signals to roadrunner-demo with real clients (issue 14 item 6): SIGHUP
// reloads the TLS certificate (openssl s_client sees the new one; an open
// connection keeps working; a bad pair keeps the old one and is logged),
// SIGUSR1 reopens the logs, SIGQUIT stops at once.

#include "net.hpp"

#include <doctest/doctest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

using namespace rrtest;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A directory of certificates made at test time with the openssl CLI.
struct cert_dir {
  std::string dir;

  cert_dir() {
    char tmpl[] = "/tmp/rr-sig-certs-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
  }

  ~cert_dir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  std::string path(const std::string& name) const { return dir + "/" + name; }

  // Makes NAME.crt and NAME.key with CN=NAME.
  void make(const std::string& name) const {
    auto [code, out] =
      run({"sh", "-c",
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
           "-nodes -days 1 -subj /CN=" +
             name + " -keyout " + path(name + ".key") + " -out " +
             path(name + ".crt") + " 2>&1"});
    if (code != 0)
      throw std::runtime_error("openssl req failed: " + out);
  }

  // Copies a pair into the files the server reads (cert.pem, key.pem).
  void install(const std::string& cert_name,
               const std::string& key_name) const {
    namespace fs = std::filesystem;
    fs::copy_file(path(cert_name + ".crt"), path("cert.pem"),
                  fs::copy_options::overwrite_existing);
    fs::copy_file(path(key_name + ".key"), path("key.pem"),
                  fs::copy_options::overwrite_existing);
  }
};

// The subject CN openssl s_client sees on a new handshake ("" on failure).
std::string served_cn(uint16_t port) {
  auto [code, out] =
    run({"sh", "-c",
         "openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
           " -servername localhost </dev/null 2>/dev/null | "
           "sed -n 's/^subject=.*CN *= *\\([A-Za-z]*\\).*/\\1/p'"});
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  return out;
}

// Polls `served_cn` until it is `want` (the signal is handled
// asynchronously); bounded.
bool serves(uint16_t port, const std::string& want) {
  for (int i = 0; i < 100; ++i) {
    if (served_cn(port) == want)
      return true;
    pollfd none{-1, 0, 0};
    ::poll(&none, 0, 20);
  }
  return false;
}

// A TLS connection held open across a reload, driven with blocking
// OpenSSL calls (the socket has a 5 s receive timeout).
struct tls_client {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = nullptr;
  client tcp;

  explicit tls_client(uint16_t port) : tcp(port) {
    timeval tv{5, 0};
    ::setsockopt(tcp.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, tcp.fd());
    if (SSL_connect(ssl) != 1)
      throw std::runtime_error("TLS handshake failed");
  }

  ~tls_client() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }

  std::string peer_cn() const {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (cert == nullptr)
      return {};
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
                              sizeof(cn));
    X509_free(cert);
    return cn;
  }

  // Sends a GET and returns what arrives up to the end of the body of
  // "Hello, World!" (13 bytes), or "" on error.
  std::string get_root() {
    std::string req = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    if (SSL_write(ssl, req.data(), static_cast<int>(req.size())) <= 0)
      return {};
    std::string got;
    char buf[4096];
    while (got.find("Hello, World!") == std::string::npos) {
      int n = SSL_read(ssl, buf, sizeof(buf));
      if (n <= 0)
        return {};
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }
};

} // namespace

TEST_SUITE("e2e.demo_signals") {

  TEST_CASE("SIGHUP reloads the certificate: new handshakes get it, an open "
            "connection is untouched, a bad pair keeps the old one") {
    cert_dir certs;
    certs.make("alpha");
    certs.make("beta");
    certs.make("gamma");
    certs.install("alpha", "alpha");
    auto log = certs.path("error.log");
    demo_server srv{{"--tls-cert=" + certs.path("cert.pem"),
                     "--tls-key=" + certs.path("key.pem"), "--error-log=" + log,
                     "--log-level=info"}};
    CHECK(served_cn(srv.port) == "alpha");
    tls_client held{srv.port};
    CHECK(held.peer_cn() == "alpha");
    CHECK(held.get_root().find("HTTP/1.1 200 OK") == 0);

    certs.install("beta", "beta");
    srv.proc.signal(SIGHUP);
    CHECK(serves(srv.port, "beta"));
    // The connection made before the reload goes on as it was.
    CHECK(held.peer_cn() == "alpha");
    CHECK(held.get_root().find("HTTP/1.1 200 OK") == 0);

    // gamma's certificate with beta's key: refused, beta stays.
    certs.install("gamma", "beta");
    srv.proc.signal(SIGHUP);
    bool logged = false;
    for (int i = 0; i < 200 && !logged; ++i) {
      logged = slurp(log).find("event=tls_reload_failed") != std::string::npos;
      if (!logged) {
        pollfd none{-1, 0, 0};
        ::poll(&none, 0, 20); // the writer flushes every 100 ms
      }
    }
    CHECK(logged);
    auto text = slurp(log);
    CHECK(text.find("event=tls_reloaded") != std::string::npos);
    CHECK(text.find("tls.key_file") != std::string::npos);
    CHECK(served_cn(srv.port) == "beta");
  }

  TEST_CASE("SIGUSR1 reopens the log files (logrotate)") {
    cert_dir dir; // a scratch directory
    auto access = dir.path("access.log");
    demo_server srv{{"--access-log=" + access}};
    auto [c1, o1] = run({"curl", "-sS", srv.url("/json")});
    // Wait for the first line (the writer flushes every 100 ms).
    bool first = false;
    for (int i = 0; i < 200 && !first; ++i) {
      first = slurp(access).find("/json") != std::string::npos;
      if (!first) {
        pollfd none{-1, 0, 0};
        ::poll(&none, 0, 10);
      }
    }
    REQUIRE(first);
    REQUIRE(::rename(access.c_str(), (access + ".1").c_str()) == 0);
    srv.proc.signal(SIGUSR1);
    // Requests after the reopen land in the new file; poll (the signal is
    // handled asynchronously), bounded.
    bool reopened = false;
    for (int i = 0; i < 200 && !reopened; ++i) {
      run({"curl", "-sS", "-o", "/dev/null", srv.url("/users/7")});
      reopened = slurp(access).find("/users/7") != std::string::npos;
    }
    CHECK(reopened);
    CHECK(slurp(access + ".1").find("/json") != std::string::npos);
    CHECK(slurp(access).find("/json") == std::string::npos);
  }

  TEST_CASE("SIGQUIT stops at once, requests in flight included") {
    demo_server srv{{"--drain-timeout=60s"}};
    client stuck{srv.port};
    REQUIRE(stuck.send("POST /echo HTTP/1.1\r\nHost: t\r\n"
                       "Content-Length: 9\r\n\r\nx"));
    client probe{srv.port};
    REQUIRE(probe.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
    REQUIRE(probe.read_response());
    srv.proc.signal(SIGQUIT);
    CHECK(stuck.closed_by_peer(5s)); // not the 60 s drain deadline
    CHECK(srv.proc.wait_exit(10s) == 0);
  }

  TEST_CASE("SIGHUP without TLS and SIGUSR1 without an access log are "
            "harmless") {
    demo_server srv;
    srv.proc.signal(SIGHUP);
    srv.proc.signal(SIGUSR1);
    client c{srv.port};
    REQUIRE(c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
    srv.proc.signal(SIGTERM);
    CHECK(srv.proc.wait_exit(10s) == 0);
  }
}
