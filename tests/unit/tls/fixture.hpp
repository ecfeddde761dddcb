#pragma once

// Test support for the TLS suites: certificates made at test time with the
// OpenSSL API (no key is ever committed), temporary files, a socketpair and
// an OpenSSL client driven non-blockingly on the test's thread. Every loop
// is bounded.

#include "tls/context.hpp"
#include "tls/session.hpp"

#include <doctest/doctest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <vector>

namespace tlstest {

// -- certificates -------------------------------------------------------------

inline std::string bio_text(BIO* bio) {
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio, &data);
  std::string out{data, static_cast<size_t>(len)};
  BIO_free(bio);
  return out;
}

inline std::string pem_of(X509* x) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x);
  return bio_text(bio);
}

/// PEM of a private key; with a passphrase, an encrypted PKCS#8 key.
inline std::string pem_of(EVP_PKEY* key, const char* passphrase = nullptr) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (passphrase == nullptr)
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  else
    PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_128_cbc(), passphrase,
                                  static_cast<int>(std::strlen(passphrase)),
                                  nullptr, nullptr);
  return bio_text(bio);
}

/// A key and a certificate for it, signed by `issuer` (self-signed when
/// null).
struct identity {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;

  identity() = default;
  identity(const identity&) = delete;
  identity& operator=(const identity&) = delete;
  ~identity() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }

  std::string cert_pem() const { return pem_of(cert); }
  std::string key_pem() const { return pem_of(key); }
};

enum class key_kind { ec_p256, rsa2048, rsa1024 };

inline std::unique_ptr<identity> make_identity(key_kind kind, const char* cn,
                                               const identity* issuer = nullptr,
                                               bool ca = false) {
  static long serial = 1;
  auto id = std::make_unique<identity>();
  id->key = kind == key_kind::ec_p256   ? EVP_EC_gen("P-256")
            : kind == key_kind::rsa2048 ? EVP_RSA_gen(2048)
                                        : EVP_RSA_gen(1024);
  REQUIRE(id->key != nullptr);
  X509* x = X509_new();
  id->cert = x;
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, id->key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1,
                             0);
  X509_set_issuer_name(
    x, issuer != nullptr ? X509_get_subject_name(issuer->cert) : name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer != nullptr ? issuer->cert : x, x, nullptr, nullptr,
                 0);
  auto* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_basic_constraints,
                                  ca ? "critical,CA:TRUE" : "CA:FALSE");
  REQUIRE(ext != nullptr);
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  REQUIRE(
    X509_sign(x, issuer != nullptr ? issuer->key : id->key, EVP_sha256()) > 0);
  return id;
}

/// Identities made once per process (RSA key generation takes a while).
struct pki {
  std::unique_ptr<identity> ec = make_identity(key_kind::ec_p256, "localhost");
  std::unique_ptr<identity> rsa = make_identity(key_kind::rsa2048, "localhost");
  std::unique_ptr<identity> weak =
    make_identity(key_kind::rsa1024, "localhost");
  std::unique_ptr<identity> ca =
    make_identity(key_kind::ec_p256, "roadrunner test CA", nullptr, true);
  std::unique_ptr<identity> leaf =
    make_identity(key_kind::ec_p256, "localhost", ca.get());

  static const pki& get() {
    static pki instance;
    return instance;
  }
};

/// TLS options with `id`'s certificate and key as PEM text.
inline roadrunner::tls_options pem_options(const identity& id) {
  roadrunner::tls_options opts;
  opts.cert_pem = id.cert_pem();
  opts.key_pem = id.key_pem();
  return opts;
}

/// Builds a context or fails the test with the option error.
inline roadrunner::tls::context_ptr
make_ctx(const roadrunner::tls_options& opts,
         std::vector<roadrunner::protocol_entry> protocols = {
           roadrunner::protocol::http1}) {
  auto res = roadrunner::tls::make_context(opts, protocols);
  if (!res)
    FAIL("make_context: " << res.error().option << " " << res.error().value
                          << " " << res.error().reason);
  return res.value();
}

/// A temporary directory, removed with its files.
class temp_dir {
public:
  temp_dir() {
    char tmpl[] = "/tmp/roadrunner-tls-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// Writes `text` into a file named `name`; returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    auto p = path_ + "/" + name;
    std::ofstream out{p, std::ios::binary};
    out << text;
    return p;
  }

  const std::string& path() const noexcept { return path_; }

private:
  std::string path_;
};

// -- sockets and the client ---------------------------------------------------

/// A connected, non-blocking AF_UNIX stream pair: `server` and `client`.
struct socket_pair {
  int server = -1;
  int client = -1;

  socket_pair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
    server = fds[0];
    client = fds[1];
  }
  ~socket_pair() {
    if (server >= 0)
      ::close(server);
    if (client >= 0)
      ::close(client);
  }
  socket_pair(const socket_pair&) = delete;
  socket_pair& operator=(const socket_pair&) = delete;

  /// Shrinks the server's send buffer and the client's receive buffer so
  /// that large writes make partial progress.
  void make_small() const {
    int small = 4096;
    ::setsockopt(server, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    ::setsockopt(client, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  }
};

/// A connected, non-blocking TCP pair on 127.0.0.1 (kTLS needs TCP): the
/// same interface as `socket_pair`. Loopback TCP delivers asynchronously:
/// loops wait for input with `wait_input` instead of spinning. The
/// buffers are small from the start (the client's receive buffer is set
/// before the connect, so the window is negotiated small): large writes
/// make partial progress.
struct tcp_pair {
  int server = -1;
  int client = -1;

  tcp_pair() {
    int small = 4096;
    int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    auto* sa = reinterpret_cast<sockaddr*>(&addr);
    REQUIRE(::bind(listener, sa, sizeof(addr)) == 0);
    REQUIRE(::listen(listener, 1) == 0);
    REQUIRE(::getsockname(listener, sa, &len) == 0);
    client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(client >= 0);
    ::setsockopt(client, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    REQUIRE(::connect(client, sa, sizeof(addr)) == 0); // loopback: at once
    server = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    ::close(listener);
    REQUIRE(server >= 0);
    ::setsockopt(server, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    for (int fd : {server, client})
      REQUIRE(::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) == 0);
  }
  ~tcp_pair() {
    if (server >= 0)
      ::close(server);
    if (client >= 0)
      ::close(client);
  }
  tcp_pair(const tcp_pair&) = delete;
  tcp_pair& operator=(const tcp_pair&) = delete;

  void make_small() const {} // small from the start
};

/// Waits until `fd` is readable, at most `ms` milliseconds (loopback TCP
/// delivers asynchronously; a socketpair returns at once).
inline void wait_input(int fd, int ms = 5) {
  pollfd p{fd, POLLIN, 0};
  ::poll(&p, 1, ms);
}

/// True when this kernel has its TLS layer loaded (`tls` in the available
/// upper-layer protocols); it may also load on first use.
inline bool kernel_tls_listed() {
  std::ifstream in{"/proc/sys/net/ipv4/tcp_available_ulp"};
  std::string word;
  while (in >> word)
    if (word == "tls")
      return true;
  return false;
}

/// How the test client connects.
struct client_config {
  /// ALPN ids to offer; empty: no ALPN extension.
  std::vector<std::string> alpn;
  int min_version = TLS1_2_VERSION;
  int max_version = TLS1_3_VERSION;
  /// TLS 1.2 cipher list; empty: OpenSSL's default.
  std::string ciphers;
  /// Lower it to offer what a hardened server must refuse (TLS 1.1, ...).
  int security_level = -1;
  /// A session to resume (not owned).
  SSL_SESSION* session = nullptr;
};

/// The reason of the earliest error in this thread's OpenSSL queue (and
/// empties the queue).
inline std::string take_error() {
  auto first = ERR_get_error();
  while (ERR_get_error() != 0) {
  }
  if (first == 0)
    return {};
  char buf[256];
  ERR_error_string_n(first, buf, sizeof(buf));
  return buf;
}

/// An OpenSSL client on the client end of a socket_pair, never blocking.
class client {
public:
  client(int fd, const client_config& cfg) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    REQUIRE(ctx_ != nullptr);
    if (cfg.security_level >= 0)
      SSL_CTX_set_security_level(ctx_, cfg.security_level);
    SSL_CTX_set_min_proto_version(ctx_, cfg.min_version);
    SSL_CTX_set_max_proto_version(ctx_, cfg.max_version);
    if (!cfg.ciphers.empty())
      REQUIRE(SSL_CTX_set_cipher_list(ctx_, cfg.ciphers.c_str()) == 1);
    // The client never resumes unless told to: keep its cache out of it.
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT |
                                           SSL_SESS_CACHE_NO_INTERNAL_STORE);
    ssl_ = SSL_new(ctx_);
    REQUIRE(ssl_ != nullptr);
    if (!cfg.alpn.empty()) {
      std::string wire;
      for (auto& id : cfg.alpn) {
        wire += static_cast<char>(id.size());
        wire += id;
      }
      REQUIRE(SSL_set_alpn_protos(
                ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                static_cast<unsigned>(wire.size())) == 0);
    }
    if (cfg.session != nullptr)
      REQUIRE(SSL_set_session(ssl_, cfg.session) == 1);
    SSL_set_fd(ssl_, fd);
    SSL_set_connect_state(ssl_);
  }
  ~client() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  SSL* ssl() const noexcept { return ssl_; }

  /// One handshake step: 1 done, 0 not yet, -1 failed (see `error`).
  int handshake() {
    ERR_clear_error();
    auto r = SSL_do_handshake(ssl_);
    if (r == 1)
      return 1;
    return classify(r);
  }

  /// Reads at most `max` bytes into `out`: 1 got bytes, 0 nothing now,
  /// 2 close_notify / EOF, -1 failed.
  int read(std::string& out, size_t max = 65536) {
    std::string buf(max, '\0');
    ERR_clear_error();
    size_t n = 0;
    if (SSL_read_ex(ssl_, buf.data(), buf.size(), &n) == 1) {
      out.append(buf.data(), n);
      return 1;
    }
    auto e = SSL_get_error(ssl_, 0);
    if (e == SSL_ERROR_ZERO_RETURN)
      return 2;
    auto r = classify(0);
    return r;
  }

  /// Sends `data` completely, reading nothing (bounded).
  bool write_all(std::string_view data) {
    size_t done = 0;
    for (int round = 0; round < 100000 && done < data.size(); ++round) {
      ERR_clear_error();
      size_t n = 0;
      if (SSL_write_ex(ssl_, data.data() + done, data.size() - done, &n) == 1)
        done += n;
      else if (classify(0) < 0)
        return false;
    }
    return done == data.size();
  }

  const std::string& error() const noexcept { return error_; }

private:
  int classify(int r) {
    auto e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
      return 0;
    error_ = take_error();
    if (error_.empty())
      error_ = "SSL error " + std::to_string(e);
    return -1;
  }

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string error_;
};

/// Where a handshake between a session and a client ended.
struct outcome {
  roadrunner::tls::status server = roadrunner::tls::status::want_read;
  int client = 0; // as client::handshake
};

/// Steps both sides until each is done or failed (bounded).
inline outcome handshake(roadrunner::tls::session& s, client& c) {
  using roadrunner::tls::status;
  outcome out;
  for (int round = 0; round < 400; ++round) {
    if (out.server != status::ok && out.server != status::failed)
      out.server = s.handshake();
    if (out.client == 0)
      out.client = c.handshake();
    bool server_end = out.server == status::ok || out.server == status::failed;
    if (server_end && out.client != 0)
      break;
    // Whoever waits reads next: let loopback TCP deliver (bounded).
    wait_input(out.client == 0 ? SSL_get_fd(c.ssl())
                               : SSL_get_rfd(s.native_handle()));
  }
  return out;
}

/// Reads from the session until want_read (or an end); appends to `out`.
inline roadrunner::tls::status read_all(roadrunner::tls::session& s,
                                        std::string& out) {
  char buf[4096];
  for (int round = 0; round < 100000; ++round) {
    auto r = s.read(buf, sizeof(buf));
    if (r.status != roadrunner::tls::status::ok)
      return r.status;
    out.append(buf, r.bytes);
  }
  return roadrunner::tls::status::failed;
}

/// Deterministic pseudo-random bytes (so a misplaced record shows).
inline std::string pattern(size_t n, unsigned seed) {
  std::string out(n, '\0');
  auto x = seed * 2654435761u + 1;
  for (auto& c : out) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 16);
  }
  return out;
}

} // namespace tlstest
