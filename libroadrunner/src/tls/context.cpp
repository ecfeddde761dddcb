#include "tls/context.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace roadrunner::tls {

namespace {

// TLS 1.2: ECDHE key exchange (forward secrecy) with AEAD ciphers only, in
// Mozilla's "intermediate" order. TLS 1.3 suites are all AEAD with
// (EC)DHE; OpenSSL's default order.
constexpr const char* default_ciphers =
  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* default_ciphersuites =
  "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";

// The suites OpenSSL 3 knows for TLS 1.3; it silently skips unknown names
// in SSL_CTX_set_ciphersuites, so we check them ourselves.
constexpr std::string_view tls13_suites[] = {
  "TLS_AES_128_GCM_SHA256",       "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256",
  "TLS_AES_128_CCM_8_SHA256",
};

// A PEM file larger than this is not a certificate chain or a key.
constexpr off_t max_pem_file = 1 << 20;

// Server-side session cache entries per listener (TLS 1.2 session ids and,
// without tickets, TLS 1.3 stateful tickets); OpenSSL's default is 20480.
constexpr long session_cache_size = 4096;

constexpr unsigned char session_id_context[] = "roadrunner";

// Never prompt on the terminal for a passphrase.
int no_password(char*, int, int, void*) {
  return -1;
}

// The reason of the earliest error in this thread's OpenSSL error queue,
// which is emptied (the queue is per thread and shared by everything that
// runs on it).
std::string openssl_reason() {
  auto first = ERR_get_error();
  while (ERR_get_error() != 0) {
  }
  if (first == 0)
    return "unknown OpenSSL error";
  if (auto* r = ERR_reason_error_string(first))
    return r;
  char buf[256];
  ERR_error_string_n(first, buf, sizeof(buf));
  return buf;
}

std::string size_text(const std::string& pem) {
  // Appended piece by piece: `"(" + std::to_string(...)` trips GCC 12's
  // -Wrestrict false positive at -O3 (GCC PR 105651), which broke Release.
  std::string out = "(";
  out += std::to_string(pem.size());
  out += " bytes of PEM)";
  return out;
}

std::string list_text(const std::vector<std::string>& xs) {
  std::string out = "[";
  for (auto& x : xs) {
    if (out.size() > 1)
      out += ", ";
    out += '"';
    out += x;
    out += '"';
  }
  out += ']';
  return out;
}

option_error invalid(std::string option, std::string value,
                     std::string reason) {
  return option_error{option_error_kind::invalid_listener_opt,
                      std::move(option), std::move(value), std::move(reason)};
}

option_error conflict(std::string option, std::string value,
                      std::string reason) {
  return option_error{option_error_kind::listener_opt_conflict,
                      std::move(option), std::move(value), std::move(reason)};
}

bool has(const std::vector<protocol_entry>& xs, protocol p) {
  return std::any_of(xs.begin(), xs.end(),
                     [p](const protocol_entry& x) { return x.proto == p; });
}

// Reads a whole (small) file; on failure returns false with a reason.
bool read_file(const std::string& path, std::string& out, std::string& why) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    why = std::string{"cannot open: "} + std::strerror(errno);
    return false;
  }
  struct stat st {};
  bool ok = false;
  if (::fstat(fd, &st) != 0) {
    why = std::string{"cannot stat: "} + std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    why = "not a regular file";
  } else if (st.st_size > max_pem_file) {
    why = "larger than 1 MiB: not a PEM file";
  } else {
    out.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    ok = true;
    while (got < out.size()) {
      auto n = ::read(fd, out.data() + got, out.size() - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        why = n < 0 ? std::string{"cannot read: "} + std::strerror(errno)
                    : "file shrank while read";
        ok = false;
        break;
      }
      got += static_cast<size_t>(n);
    }
  }
  ::close(fd);
  return ok;
}

struct bio_deleter {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};

using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

bio_ptr memory_bio(const std::string& pem) {
  return bio_ptr{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
}

// True when the last error is the PEM reader's "no more PEM blocks".
bool only_end_of_pem() {
  auto e = ERR_peek_last_error();
  return ERR_GET_LIB(e) == ERR_LIB_PEM &&
         ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

// PEM text from a file or from memory, and how errors name it.
struct pem_input {
  std::string option; // tls.cert_file, tls.key_pem, ...
  std::string value;  // the file name, or the PEM's size (never its text)
  std::string pem;

  pem_input() = default;
  pem_input(const pem_input&) = delete;
  pem_input& operator=(const pem_input&) = delete;
  ~pem_input() { OPENSSL_cleanse(pem.data(), pem.size()); } // key material
};

// Picks `<name>_file` or `<name>_pem` (exactly one must be set) and reads
// the PEM text into `out`.
std::optional<option_error> read_pem(const std::string& file,
                                     const std::string& pem,
                                     const std::string& name, const char* what,
                                     pem_input& out) {
  auto file_opt = "tls." + name + "_file";
  auto pem_opt = "tls." + name + "_pem";
  if (!file.empty() && !pem.empty())
    return conflict(pem_opt, size_text(pem),
                    "set " + name + "_file or " + name + "_pem, not both");
  if (file.empty() && pem.empty())
    return invalid(file_opt, "\"\"", "required (or " + name + "_pem): " + what);
  if (!pem.empty()) {
    out.option = pem_opt;
    out.value = size_text(pem);
    out.pem = pem;
    return std::nullopt;
  }
  out.option = file_opt;
  out.value = file;
  std::string why;
  if (!read_file(file, out.pem, why))
    return invalid(out.option, out.value, why);
  return std::nullopt;
}

} // namespace

// Builds one context; befriended by `context`.
class context_builder {
public:
  context_builder(const tls_options& opts,
                  const std::vector<protocol_entry>& protocols)
    : opts_(opts), protocols_(protocols) {}

  context_result run();

private:
  std::optional<option_error> check_alpn(const std::vector<std::string>& ids);
  std::optional<option_error> configure(SSL_CTX* ctx);
  std::optional<option_error> load_chain(SSL_CTX* ctx);
  std::optional<option_error> load_key(SSL_CTX* ctx);

  static int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen,
                         const unsigned char* in, unsigned int inlen,
                         void* arg);

  const tls_options& opts_;
  const std::vector<protocol_entry>& protocols_;
};

context::~context() {
  SSL_CTX_free(ctx_);
  EVP_CIPHER_free(ticket_cipher_);
  OPENSSL_cleanse(tickets_, sizeof(tickets_));
}

void context::rotate_locked(std::chrono::steady_clock::time_point now) const {
  tickets_[1] = tickets_[0];
  auto& k = tickets_[0];
  // RAND_bytes cannot fail once OpenSSL is seeded; if it did, the key is
  // marked unusable and tickets fail (a full handshake), never weak.
  k.valid = RAND_bytes(k.name, sizeof(k.name)) == 1 &&
            RAND_bytes(k.aes, sizeof(k.aes)) == 1 &&
            RAND_bytes(k.hmac, sizeof(k.hmac)) == 1;
  k.born = now;
}

void context::rotate_ticket_keys() const {
  std::lock_guard<std::mutex> guard{tickets_mtx_};
  rotate_locked(std::chrono::steady_clock::now());
}

int context::ticket_key(SSL* ssl, unsigned char* name, unsigned char* iv,
                        EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) {
  auto* self =
    static_cast<const context*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  ticket_secret k;
  int result = 1;
  {
    std::lock_guard<std::mutex> guard{self->tickets_mtx_};
    if (enc == 1) {
      auto now = std::chrono::steady_clock::now();
      if (!self->tickets_[0].valid ||
          now - self->tickets_[0].born >= ticket_key_lifetime)
        self->rotate_locked(now);
      k = self->tickets_[0];
    } else {
      // A key opens tickets for two lifetimes from its start (it encrypts
      // during the first). Result 2 makes OpenSSL issue a new ticket under
      // the current key: for a ticket of the previous key, and always with
      // TLS 1.3, as OpenSSL's own ticket keys do (a TLS 1.3 client should
      // not offer a ticket twice, RFC 8446 C.4).
      auto now = std::chrono::steady_clock::now();
      for (int i = 0; i < 2; ++i) {
        auto& c = self->tickets_[i];
        if (c.valid && std::memcmp(c.name, name, sizeof(c.name)) == 0 &&
            now - c.born < 2 * ticket_key_lifetime) {
          k = c;
          result = i == 0 && SSL_version(ssl) != TLS1_3_VERSION ? 1 : 2;
          break;
        }
      }
    }
  }
  if (!k.valid)
    return enc == 1 ? -1 : 0; // decrypt: unknown key, a full handshake
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac,
                                      sizeof(k.hmac)),
    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                     const_cast<char*>("SHA256"), 0),
    OSSL_PARAM_construct_end(),
  };
  bool ok = false;
  if (enc == 1) {
    std::memcpy(name, k.name, sizeof(k.name));
    ok = RAND_bytes(iv, 16) == 1 &&
         EVP_EncryptInit_ex2(cipher, self->ticket_cipher_, k.aes, iv,
                             nullptr) == 1;
  } else {
    ok = EVP_DecryptInit_ex2(cipher, self->ticket_cipher_, k.aes, iv,
                             nullptr) == 1;
  }
  ok = ok && EVP_MAC_CTX_set_params(mac, params) == 1;
  OPENSSL_cleanse(&k, sizeof(k));
  return ok ? result : -1;
}

std::optional<option_error>
context::reload(const tls_options& opts,
                const std::vector<protocol_entry>& protocols) const {
  auto fresh = make_context(opts, protocols);
  if (!fresh)
    return fresh.error();
  std::lock_guard<std::mutex> guard{keys_mtx_};
  keys_ = fresh.value();
  ++reloads_;
  return std::nullopt;
}

uint64_t context::reloads() const noexcept {
  std::lock_guard<std::mutex> guard{keys_mtx_};
  return reloads_;
}

int context::use_current_keys(SSL* ssl, void* arg) {
  auto* self = static_cast<const context*>(arg);
  std::shared_ptr<const context> keys;
  {
    std::lock_guard<std::mutex> guard{self->keys_mtx_};
    keys = self->keys_;
  }
  if (!keys)
    return 1; // never reloaded: the context's own chain and key
  auto* src = keys->ctx_;
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(src, &chain);
  // Up-refs the certificate, key and chain: the connection keeps them even
  // if another reload replaces `keys` meanwhile.
  return SSL_use_cert_and_key(ssl, SSL_CTX_get0_certificate(src),
                              SSL_CTX_get0_privatekey(src), chain, 1) == 1
           ? 1
           : 0;
}

std::vector<std::string>
alpn_preference(const tls_options& opts,
                const std::vector<protocol_entry>& protocols) {
  if (opts.alpn)
    return *opts.alpn;
  std::vector<std::string> ids;
  for (auto& x : protocols)
    ids.emplace_back(x.proto == protocol::http2 ? alpn_h2 : alpn_http11);
  return ids;
}

context_result make_context(const tls_options& opts,
                            const std::vector<protocol_entry>& protocols) {
  return context_builder{opts, protocols}.run();
}

context_result context_builder::run() {
  ERR_clear_error();
  if (opts_.handshake_timeout.count() < 1)
    return invalid("tls.handshake_timeout",
                   std::to_string(opts_.handshake_timeout.count()),
                   "must be >= 1 ms");
  if (opts_.min_version != "tlsv1.2" && opts_.min_version != "tlsv1.3")
    return invalid("tls.min_version", opts_.min_version,
                   "must be tlsv1.2 or tlsv1.3");
  auto ids = alpn_preference(opts_, protocols_);
  if (auto err = check_alpn(ids))
    return std::move(*err);
  std::shared_ptr<context> result{new context};
  result->handshake_timeout_ = opts_.handshake_timeout;
  result->default_protocol_ =
    has(protocols_, protocol::http1) ? protocol::http1 : protocol::http2;
  for (auto& id : ids) {
    result->alpn_wire_ += static_cast<char>(id.size());
    result->alpn_wire_ += id;
  }
  result->ctx_ = SSL_CTX_new(TLS_server_method());
  if (result->ctx_ == nullptr)
    return invalid("tls", "", "SSL_CTX_new failed: " + openssl_reason());
  auto* ctx = result->ctx_;
  if (auto err = configure(ctx))
    return std::move(*err);
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, result.get());
  // Session tickets under our rotating keys (context::ticket_key).
  SSL_CTX_set_app_data(ctx, result.get());
  result->ticket_cipher_ = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  if (result->ticket_cipher_ == nullptr)
    return invalid("tls", "",
                   "no AES-256-CBC for session tickets: " + openssl_reason());
  result->rotate_ticket_keys();
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &context::ticket_key);
  SSL_CTX_set_cert_cb(ctx, &context::use_current_keys, result.get());
  if (auto err = load_chain(ctx))
    return std::move(*err);
  if (auto err = load_key(ctx))
    return std::move(*err);
  return context_ptr{std::move(result)};
}

std::optional<option_error>
context_builder::check_alpn(const std::vector<std::string>& ids) {
  auto text = list_text(ids);
  if (ids.empty())
    return invalid("tls.alpn", text,
                   "must not be empty (unset it to derive from protocols)");
  for (size_t i = 0; i < ids.size(); ++i) {
    auto& id = ids[i];
    if (std::find(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(i), id) !=
        ids.begin() + static_cast<ptrdiff_t>(i))
      return invalid("tls.alpn", text, "duplicate entry \"" + id + "\"");
    if (id == alpn_h2) {
      if (!has(protocols_, protocol::http2))
        return conflict("tls.alpn", text, "h2 needs http2 in protocols");
    } else if (id == alpn_http11) {
      if (!has(protocols_, protocol::http1))
        return conflict("tls.alpn", text, "http/1.1 needs http1 in protocols");
    } else {
      return invalid("tls.alpn", text,
                     "unknown protocol id \"" + id +
                       "\" (the server speaks h2 and http/1.1)");
    }
  }
  return std::nullopt;
}

std::optional<option_error> context_builder::configure(SSL_CTX* ctx) {
  // Security level 2 (Debian's default): 112-bit keys (RSA >= 2048), no
  // SHA-1 signatures. A user cipher string may still carry @SECLEVEL.
  if (SSL_CTX_get_security_level(ctx) < 2)
    SSL_CTX_set_security_level(ctx, 2);
  auto min = opts_.min_version == "tlsv1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(ctx, min);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  // No renegotiation at all (RFC 8446 has none; for TLS 1.2 a client's
  // renegotiation request gets a no_renegotiation alert), no compression
  // (CRIME), our cipher order (ChaCha first only for clients that prefer
  // it: devices without AES instructions). An EOF without close_notify
  // ends input like a close_notify: HTTP framing, not TLS, detects a
  // truncated message.
  uint64_t options = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                     SSL_OP_CIPHER_SERVER_PREFERENCE |
                     SSL_OP_PRIORITIZE_CHACHA | SSL_OP_IGNORE_UNEXPECTED_EOF;
  if (!opts_.session_tickets)
    options |= SSL_OP_NO_TICKET;
  // The kernel takes over encryption once the handshake is done (our BIO
  // serves OpenSSL's kTLS controls; session.cpp).
  if (opts_.ktls)
    options |= SSL_OP_ENABLE_KTLS;
  SSL_CTX_set_options(ctx, options);
  SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
  // Non-blocking writes (see session.cpp): a write returns after each
  // record, may be retried from another buffer address holding the same
  // bytes, and idle connections give their 16 KiB record buffers back.
  // AUTO_RETRY keeps SSL_read going after a non-application record, so
  // want_read always means the socket is drained (edge-triggered epoll).
  // NO_AUTO_CHAIN: the chain is what the certificate file holds (leaf
  // first); without it OpenSSL would try to build one from the context's
  // certificate store on every handshake, a whole X509 chain verification
  // per connection that can only add certificates the user did not ask to
  // send (nginx sets it too).
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                          SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                          SSL_MODE_RELEASE_BUFFERS | SSL_MODE_AUTO_RETRY |
                          SSL_MODE_NO_AUTO_CHAIN);
  // Read what the socket holds in one read(2), not header then body.
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_max_early_data(ctx, 0); // no 0-RTT: replayable requests
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(ctx, session_cache_size);
  SSL_CTX_set_session_id_context(ctx, session_id_context,
                                 sizeof(session_id_context) - 1);
  SSL_CTX_set_default_passwd_cb(ctx, no_password);
  const char* list =
    opts_.ciphers.empty() ? default_ciphers : opts_.ciphers.c_str();
  if (SSL_CTX_set_cipher_list(ctx, list) != 1)
    return invalid("tls.ciphers", opts_.ciphers,
                   "selects no cipher (" + openssl_reason() + ")");
  if (!opts_.ciphersuites.empty()) {
    std::string_view rest = opts_.ciphersuites;
    while (!rest.empty()) {
      auto colon = rest.find(':');
      auto name = rest.substr(0, colon);
      if (std::find(std::begin(tls13_suites), std::end(tls13_suites), name) ==
          std::end(tls13_suites))
        return invalid("tls.ciphersuites", opts_.ciphersuites,
                       "unknown TLS 1.3 cipher suite \"" + std::string{name} +
                         "\"");
      rest = colon == std::string_view::npos ? "" : rest.substr(colon + 1);
    }
  }
  const char* suites = opts_.ciphersuites.empty() ? default_ciphersuites
                                                  : opts_.ciphersuites.c_str();
  if (SSL_CTX_set_ciphersuites(ctx, suites) != 1)
    return invalid("tls.ciphersuites", opts_.ciphersuites, openssl_reason());
  return std::nullopt;
}

std::optional<option_error> context_builder::load_chain(SSL_CTX* ctx) {
  pem_input in;
  if (auto err = read_pem(opts_.cert_file, opts_.cert_pem, "cert",
                          "the certificate chain", in))
    return err;
  auto& [option, value, pem] = in;
  auto bio = memory_bio(pem);
  X509* leaf = PEM_read_bio_X509_AUX(bio.get(), nullptr, no_password, nullptr);
  if (leaf == nullptr)
    return invalid(option, value,
                   "no PEM certificate (" + openssl_reason() + ")");
  auto used = SSL_CTX_use_certificate(ctx, leaf);
  X509_free(leaf);
  if (used != 1)
    return invalid(option, value,
                   "certificate refused (" + openssl_reason() + ")");
  // The rest of the file is the chain, leaf's issuer first.
  while (X509* ca =
           PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
      X509_free(ca);
      return invalid(option, value,
                     "chain certificate refused (" + openssl_reason() + ")");
    }
  }
  if (!only_end_of_pem())
    return invalid(option, value,
                   "bad certificate in the chain (" + openssl_reason() + ")");
  ERR_clear_error();
  return std::nullopt;
}

std::optional<option_error> context_builder::load_key(SSL_CTX* ctx) {
  pem_input in;
  if (auto err = read_pem(opts_.key_file, opts_.key_pem, "key",
                          "the certificate's private key", in))
    return err;
  auto& [option, value, pem] = in;
  if (pem.find("ENCRYPTED") != std::string::npos)
    return invalid(option, value,
                   "encrypted keys are not supported (decrypt it first)");
  auto bio = memory_bio(pem);
  EVP_PKEY* key =
    PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr);
  if (key == nullptr)
    return invalid(option, value,
                   "no PEM private key (" + openssl_reason() + ")");
  // SSL_CTX_use_PrivateKey compares the key with the certificate's.
  auto used = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (used != 1 || SSL_CTX_check_private_key(ctx) != 1)
    return invalid(option, value,
                   "does not match the certificate (" + openssl_reason() + ")");
  return std::nullopt;
}

int context_builder::select_alpn(SSL*, const unsigned char** out,
                                 unsigned char* outlen, const unsigned char* in,
                                 unsigned int inlen, void* arg) {
  // Server preference (RFC 7301 3.2 leaves the choice to the server): the
  // first of our ids, in `protocols` order, that the client offers.
  auto& ours = static_cast<const context*>(arg)->alpn_wire_;
  for (size_t i = 0; i < ours.size(); i += 1 + static_cast<uint8_t>(ours[i])) {
    auto len = static_cast<uint8_t>(ours[i]);
    auto* id = reinterpret_cast<const unsigned char*>(ours.data() + i + 1);
    for (unsigned j = 0; j < inlen; j += 1u + in[j]) {
      if (in[j] == len && j + 1u + len <= inlen &&
          std::memcmp(in + j + 1, id, len) == 0) {
        *out = id;
        *outlen = len;
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  // RFC 7301 3.2: no protocol in common -> a fatal no_application_protocol
  // alert (OpenSSL sends it for ALERT_FATAL), as nginx does.
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

} // namespace roadrunner::tls
