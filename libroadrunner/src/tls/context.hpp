#pragma once

#include <roadrunner/options.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct ssl_ctx_st;        // OpenSSL's SSL_CTX
struct ssl_st;            // OpenSSL's SSL
struct evp_cipher_st;     // EVP_CIPHER
struct evp_cipher_ctx_st; // EVP_CIPHER_CTX
struct evp_mac_ctx_st;    // EVP_MAC_CTX

namespace roadrunner::tls {

/// ALPN protocol id of HTTP/2 over TLS (RFC 9113 3.2).
inline constexpr std::string_view alpn_h2 = "h2";

/// ALPN protocol id of HTTP/1.1 (RFC 7301 6).
inline constexpr std::string_view alpn_http11 = "http/1.1";

/// A server-side OpenSSL context for one listener: certificate chain, key,
/// hardened protocol settings, ALPN selection and the session cache. Built
/// once at listener start and shared, read-only, by every connection of the
/// listener on every reactor thread (OpenSSL allows `SSL_new` from many
/// threads on a configured `SSL_CTX`).
class context {
public:
  ~context();

  context(const context&) = delete;
  context& operator=(const context&) = delete;

  /// The OpenSSL context (for `SSL_new`).
  ssl_ctx_st* native_handle() const noexcept { return ctx_; }

  /// Our ALPN preference list in wire format (length-prefixed ids).
  const std::string& alpn_wire() const noexcept { return alpn_wire_; }

  /// The protocol of a client that offers no ALPN: HTTP/1.1 when `http1` is
  /// in `protocols`, else HTTP/2 (prior knowledge over TLS, as the seed).
  roadrunner::protocol default_protocol() const noexcept {
    return default_protocol_;
  }

  /// `tls_options::handshake_timeout`.
  millis handshake_timeout() const noexcept { return handshake_timeout_; }

  /// Replaces the certificate chain and key that later handshakes present
  /// (SIGHUP): builds a whole new context from `opts` with the same checks
  /// as at start (files readable, PEM valid, key matching the certificate)
  /// and, only if that succeeds, hands its chain and key to every later
  /// handshake through OpenSSL's certificate callback. Connections already
  /// past their ClientHello keep theirs. On error nothing changes and the
  /// error names the option (`tls.cert_file`, ...). Only the certificate
  /// and key are taken from `opts`; protocol settings stay as built.
  /// Thread-safe; reads files, so call it off the reactors.
  std::optional<option_error>
  reload(const tls_options& opts,
         const std::vector<protocol_entry>& protocols) const;

  /// How many reloads succeeded.
  uint64_t reloads() const noexcept;

  /// How long a session-ticket key encrypts new tickets; it then decrypts
  /// for as long again (a ticket it opens is replaced), then it is gone.
  static constexpr std::chrono::seconds ticket_key_lifetime{3600};

  /// Starts a new session-ticket key now (done by itself every
  /// `ticket_key_lifetime`): new tickets use it, tickets of the current
  /// key still resume (and are replaced), older ones give a full
  /// handshake. Thread-safe.
  void rotate_ticket_keys() const;

private:
  friend class context_builder;

  context() = default;

  // OpenSSL's certificate callback: installs the reloaded chain and key
  // (if any) on a connection during its handshake. Runs on: the
  // connection's reactor thread.
  static int use_current_keys(ssl_st* ssl, void* arg);

  // OpenSSL's session-ticket callback: encrypts new tickets with the
  // current key, decrypts with the current or the previous one. Runs on:
  // the connection's reactor thread.
  static int ticket_key(ssl_st* ssl, unsigned char* name, unsigned char* iv,
                        evp_cipher_ctx_st* cipher, evp_mac_ctx_st* mac,
                        int enc);

  // One session-ticket key: its name (in each ticket) and secrets.
  struct ticket_secret {
    unsigned char name[16] = {};
    unsigned char aes[32] = {};
    unsigned char hmac[32] = {};
    std::chrono::steady_clock::time_point born{};
    bool valid = false;
  };

  // Makes a new current key; the current one becomes the previous one.
  // Needs tickets_mtx_.
  void rotate_locked(std::chrono::steady_clock::time_point now) const;

  // [0] encrypts and decrypts, [1] (the one before) only decrypts.
  mutable std::mutex tickets_mtx_;
  mutable ticket_secret tickets_[2];
  evp_cipher_st* ticket_cipher_ = nullptr; // AES-256-CBC, fetched once

  // The context whose chain and key replace ours; null until a reload.
  mutable std::mutex keys_mtx_;
  mutable std::shared_ptr<const context> keys_;
  mutable uint64_t reloads_ = 0;

  ssl_ctx_st* ctx_ = nullptr;
  std::string alpn_wire_;
  roadrunner::protocol default_protocol_ = roadrunner::protocol::http1;
  millis handshake_timeout_{10000};
};

/// A shared, immutable context.
using context_ptr = std::shared_ptr<const context>;

/// The result of `make_context`: a context or the first option error.
class context_result {
public:
  context_result(context_ptr ctx) noexcept : ctx_(std::move(ctx)) {}

  context_result(option_error err) noexcept : error_(std::move(err)) {}

  /// True when the context was built.
  explicit operator bool() const noexcept { return ctx_ != nullptr; }

  /// The context; null on error.
  const context_ptr& value() const noexcept { return ctx_; }

  /// The error; meaningful only when the result is false.
  const option_error& error() const noexcept { return error_; }

private:
  context_ptr ctx_;
  option_error error_;
};

/// Builds the server context of a listener. Errors name the option
/// (`tls.cert_file`, `tls.key_pem`, `tls.alpn`, `tls.min_version`,
/// `tls.ciphers`, `tls.ciphersuites`, `tls.handshake_timeout`), its value
/// (file names as given; PEM text only by its size) and the reason, with
/// OpenSSL's reason string where it has one. Never prompts for a
/// passphrase: an encrypted key is an error. Reads files synchronously:
/// call it at listener start, not on a reactor.
context_result make_context(const tls_options& opts,
                            const std::vector<protocol_entry>& protocols);

/// The ALPN list `make_context` uses, as ids in preference order: `alpn`
/// when set, else derived from `protocols`.
std::vector<std::string>
alpn_preference(const tls_options& opts,
                const std::vector<protocol_entry>& protocols);

} // namespace roadrunner::tls
