#include "tls/context.hpp"

#include "fixture.hpp"

#include <doctest/doctest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <functional>
#include <string>
#include <vector>

using namespace roadrunner;
using tlstest::pki;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_SUITE("tls.context") {

  TEST_CASE("certificate and key load from files and from memory") {
    auto& p = pki::get();
    tlstest::temp_dir dir;
    SUBCASE("EC key, PEM files") {
      tls_options opts{dir.write("cert.pem", p.ec->cert_pem()),
                       dir.write("key.pem", p.ec->key_pem())};
      CHECK(tlstest::make_ctx(opts) != nullptr);
    }
    SUBCASE("RSA key, PEM text") {
      CHECK(tlstest::make_ctx(tlstest::pem_options(*p.rsa)) != nullptr);
    }
    SUBCASE("a chain file: leaf, then the CA") {
      tls_options opts{
        dir.write("chain.pem", p.leaf->cert_pem() + p.ca->cert_pem()),
        dir.write("key.pem", p.leaf->key_pem())};
      auto ctx = tlstest::make_ctx(opts);
      STACK_OF(X509)* chain = nullptr;
      REQUIRE(SSL_CTX_get0_chain_certs(ctx->native_handle(), &chain) == 1);
      CHECK(sk_X509_num(chain) == 1);
    }
    CHECK(ERR_peek_error() == 0);
  }

  TEST_CASE("the server sends the chain its file holds, never one built "
            "per handshake from a certificate store (SSL_MODE_NO_AUTO_CHAIN)") {
    auto& p = pki::get();
    auto ctx = tlstest::make_ctx(tlstest::pem_options(*p.leaf)); // leaf only
    // A store that knows the leaf's issuer: OpenSSL's automatic chain
    // building would find it and send it on every handshake.
    REQUIRE(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx->native_handle()),
                                p.ca->cert) == 1);
    tlstest::socket_pair sp;
    tls::session server{ctx, sp.server};
    tlstest::client client{sp.client, {}};
    auto hs = tlstest::handshake(server, client);
    REQUIRE(hs.server == tls::status::ok);
    REQUIRE(hs.client == 1);
    auto* sent = SSL_get_peer_cert_chain(client.ssl());
    REQUIRE(sent != nullptr);
    CHECK(sk_X509_num(sent) == 1);
  }

  TEST_CASE("hardened defaults: TLS 1.2-1.3, ECDHE + AEAD, no renegotiation, "
            "no compression, resumption on") {
    auto ctx = tlstest::make_ctx(tlstest::pem_options(*pki::get().ec));
    auto* c = ctx->native_handle();
    CHECK(SSL_CTX_get_min_proto_version(c) == TLS1_2_VERSION);
    CHECK(SSL_CTX_get_max_proto_version(c) == TLS1_3_VERSION);
    auto o = SSL_CTX_get_options(c);
    CHECK((o & SSL_OP_NO_RENEGOTIATION) != 0);
    CHECK((o & SSL_OP_NO_COMPRESSION) != 0);
    CHECK((o & SSL_OP_CIPHER_SERVER_PREFERENCE) != 0);
    CHECK((o & SSL_OP_NO_TICKET) == 0);
    CHECK((o & SSL_OP_ALLOW_CLIENT_RENEGOTIATION) == 0);
    auto m = SSL_CTX_get_mode(c);
    CHECK((m & SSL_MODE_RELEASE_BUFFERS) != 0);
    CHECK((m & SSL_MODE_ENABLE_PARTIAL_WRITE) != 0);
    CHECK((m & SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER) != 0);
    CHECK(SSL_CTX_get_session_cache_mode(c) == SSL_SESS_CACHE_SERVER);
    CHECK(SSL_CTX_get_max_early_data(c) == 0);
    CHECK(SSL_CTX_get_security_level(c) >= 2);
    auto* ciphers = SSL_CTX_get_ciphers(c);
    REQUIRE(sk_SSL_CIPHER_num(ciphers) == 9); // 3 for TLS 1.3, 6 for 1.2
    for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
      auto* x = sk_SSL_CIPHER_value(ciphers, i);
      INFO(SSL_CIPHER_get_name(x));
      CHECK(SSL_CIPHER_is_aead(x) == 1);
      auto kx = SSL_CIPHER_get_kx_nid(x);
      CHECK((kx == NID_kx_ecdhe || kx == NID_kx_any)); // any: TLS 1.3
    }
  }

  TEST_CASE("session_tickets = false keeps resumption in the server cache") {
    auto opts = tlstest::pem_options(*pki::get().ec);
    opts.session_tickets = false;
    auto ctx = tlstest::make_ctx(opts);
    CHECK((SSL_CTX_get_options(ctx->native_handle()) & SSL_OP_NO_TICKET) != 0);
    CHECK(SSL_CTX_get_session_cache_mode(ctx->native_handle()) ==
          SSL_SESS_CACHE_SERVER);
  }

  TEST_CASE("ALPN preference follows protocols unless alpn is set") {
    tls_options opts;
    using v = std::vector<std::string>;
    CHECK(tls::alpn_preference(opts, {protocol::http1}) == v{"http/1.1"});
    CHECK(tls::alpn_preference(opts, {protocol::http2, protocol::http1}) ==
          v{"h2", "http/1.1"});
    CHECK(tls::alpn_preference(opts, {protocol::http1, protocol::http2}) ==
          v{"http/1.1", "h2"});
    opts.alpn = v{"http/1.1"};
    CHECK(tls::alpn_preference(opts, {protocol::http2, protocol::http1}) ==
          v{"http/1.1"});
    auto pem = tlstest::pem_options(*pki::get().ec);
    auto ctx = tlstest::make_ctx(pem, {protocol::http2, protocol::http1});
    CHECK(ctx->alpn_wire() == std::string{"\x02h2\x08http/1.1"});
  }

  TEST_CASE("a client without ALPN gets http1 when enabled, else http2") {
    auto opts = tlstest::pem_options(*pki::get().ec);
    CHECK(tlstest::make_ctx(opts, {protocol::http1})->default_protocol() ==
          protocol::http1);
    CHECK(tlstest::make_ctx(opts, {protocol::http2, protocol::http1})
            ->default_protocol() == protocol::http1);
    CHECK(tlstest::make_ctx(opts, {protocol::http2})->default_protocol() ==
          protocol::http2);
  }

  TEST_CASE("every bad TLS option fails with its name, value and reason") {
    auto& p = pki::get();
    tlstest::temp_dir dir;
    auto cert_file = dir.write("cert.pem", p.ec->cert_pem());
    auto key_file = dir.write("key.pem", p.ec->key_pem());
    auto garbage = dir.write("garbage.pem", "this is not PEM\n");
    auto encrypted = tlstest::pem_of(p.ec->key, "secret");
    REQUIRE(contains(encrypted, "ENCRYPTED"));
    // The CA's PEM with its base64 body damaged, after a good leaf.
    auto broken_ca = p.ca->cert_pem();
    broken_ca[broken_ca.size() / 2] = '*';
    using edit_fn =
      std::function<void(tls_options&, std::vector<protocol_entry>&)>;
    struct row {
      const char* name;
      edit_fn edit;
      option_error_kind kind;
      std::string option;
      std::string value;
      std::string reason;
    };
    auto inv = option_error_kind::invalid_listener_opt;
    auto con = option_error_kind::listener_opt_conflict;
    const row rows[] = {
      {"no certificate", [](auto& o, auto&) { o.cert_pem.clear(); }, inv,
       "tls.cert_file", "\"\"", "required"},
      {"missing cert file",
       [&](auto& o, auto&) {
         o.cert_pem.clear();
         o.cert_file = dir.path() + "/nope.pem";
       },
       inv, "tls.cert_file", "nope.pem", "No such file or directory"},
      {"cert file is a directory",
       [&](auto& o, auto&) {
         o.cert_pem.clear();
         o.cert_file = dir.path();
       },
       inv, "tls.cert_file", dir.path(), "not a regular file"},
      {"cert file is not PEM",
       [&](auto& o, auto&) {
         o.cert_pem.clear();
         o.cert_file = garbage;
       },
       inv, "tls.cert_file", "garbage.pem", "no PEM certificate"},
      {"cert PEM text is not PEM",
       [](auto& o, auto&) { o.cert_pem = "-----BEGIN CERTIFICATE-----\nxx"; },
       inv, "tls.cert_pem", "bytes of PEM", "no PEM certificate"},
      {"cert from file and memory",
       [&](auto& o, auto&) { o.cert_file = cert_file; }, con, "tls.cert_pem",
       "bytes of PEM", "not both"},
      {"a damaged chain certificate",
       [&](auto& o, auto&) { o.cert_pem = p.leaf->cert_pem() + broken_ca; },
       inv, "tls.cert_pem", "bytes of PEM", "bad certificate in the chain"},
      {"a 1024-bit RSA certificate",
       [&](auto& o, auto&) {
         o.cert_pem = p.weak->cert_pem();
         o.key_pem = p.weak->key_pem();
       },
       inv, "tls.cert_pem", "bytes of PEM", "key too small"},
      {"no key", [](auto& o, auto&) { o.key_pem.clear(); }, inv, "tls.key_file",
       "\"\"", "required"},
      {"missing key file",
       [&](auto& o, auto&) {
         o.key_pem.clear();
         o.key_file = dir.path() + "/nokey.pem";
       },
       inv, "tls.key_file", "nokey.pem", "No such file or directory"},
      {"key file is not PEM",
       [&](auto& o, auto&) {
         o.key_pem.clear();
         o.key_file = garbage;
       },
       inv, "tls.key_file", "garbage.pem", "no PEM private key"},
      {"key from file and memory",
       [&](auto& o, auto&) { o.key_file = key_file; }, con, "tls.key_pem",
       "bytes of PEM", "not both"},
      {"a key that is not the certificate's",
       [&](auto& o, auto&) { o.key_pem = p.rsa->key_pem(); }, inv,
       "tls.key_pem", "bytes of PEM", "does not match the certificate"},
      {"an encrypted key", [&](auto& o, auto&) { o.key_pem = encrypted; }, inv,
       "tls.key_pem", "bytes of PEM", "encrypted keys are not supported"},
      {"an empty alpn list",
       [](auto& o, auto&) { o.alpn = std::vector<std::string>{}; }, inv,
       "tls.alpn", "[]", "must not be empty"},
      {"an unknown alpn id",
       [](auto& o, auto&) { o.alpn = std::vector<std::string>{"spdy/3.1"}; },
       inv, "tls.alpn", "[\"spdy/3.1\"]", "unknown protocol id"},
      {"a duplicate alpn id",
       [](auto& o, auto&) {
         o.alpn = std::vector<std::string>{"http/1.1", "http/1.1"};
       },
       inv, "tls.alpn", "http/1.1", "duplicate entry"},
      {"h2 without http2",
       [](auto& o, auto&) { o.alpn = std::vector<std::string>{"h2"}; }, con,
       "tls.alpn", "[\"h2\"]", "h2 needs http2 in protocols"},
      {"http/1.1 without http1",
       [](auto& o, auto& protos) {
         protos = {protocol::http2};
         o.alpn = std::vector<std::string>{"http/1.1"};
       },
       con, "tls.alpn", "http/1.1", "http/1.1 needs http1"},
      {"min_version tlsv1.1", [](auto& o, auto&) { o.min_version = "tlsv1.1"; },
       inv, "tls.min_version", "tlsv1.1", "must be tlsv1.2 or tlsv1.3"},
      {"min_version in the wrong case",
       [](auto& o, auto&) { o.min_version = "TLSv1.2"; }, inv,
       "tls.min_version", "TLSv1.2", "must be tlsv1.2 or tlsv1.3"},
      {"ciphers selecting nothing", [](auto& o, auto&) { o.ciphers = "NOPE"; },
       inv, "tls.ciphers", "NOPE", "selects no cipher"},
      {"an unknown TLS 1.3 suite",
       [](auto& o, auto&) {
         o.ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_FAKE";
       },
       inv, "tls.ciphersuites", "TLS_FAKE", "unknown TLS 1.3 cipher suite"},
      {"handshake_timeout 0",
       [](auto& o, auto&) { o.handshake_timeout = millis{0}; }, inv,
       "tls.handshake_timeout", "0", "must be >= 1 ms"},
    };
    for (auto& r : rows) {
      INFO(r.name);
      auto opts = tlstest::pem_options(*p.ec);
      std::vector<protocol_entry> protos{protocol::http1};
      r.edit(opts, protos);
      auto res = tls::make_context(opts, protos);
      REQUIRE_FALSE(res);
      auto& err = res.error();
      INFO(err.option << " | " << err.value << " | " << err.reason);
      CHECK(err.kind == r.kind);
      CHECK(err.option == r.option);
      CHECK(contains(err.value, r.value));
      CHECK(contains(err.reason, r.reason));
      // The reactor threads share OpenSSL's per-thread error queue.
      CHECK(ERR_peek_error() == 0);
    }
  }

  TEST_CASE("validate builds the TLS context: bad options name the field") {
    listener_options opts;
    opts.port = 0;
    opts.tls = tlstest::pem_options(*pki::get().ec);
    // Good options pass (the connection actor serves TLS).
    auto good = validate(opts);
    CHECK_FALSE(good.has_value());
    opts.tls->key_pem = pki::get().rsa->key_pem();
    auto err = validate(opts);
    REQUIRE(err.has_value());
    CHECK(err->option == "tls.key_pem");
    CHECK(contains(err->reason, "does not match the certificate"));
    opts.tls = tls_options{"/nonexistent/cert.pem", "/nonexistent/key.pem"};
    err = validate(opts);
    REQUIRE(err.has_value());
    CHECK(err->option == "tls.cert_file");
    CHECK(err->value == "/nonexistent/cert.pem");
  }

  TEST_CASE("[http1, http2] is a no_h2c_upgrade conflict only without TLS") {
    listener_options opts;
    opts.port = 0;
    opts.protocols = {protocol::http1, protocol::http2};
    auto err = validate(opts);
    REQUIRE(err.has_value());
    CHECK(err->kind == option_error_kind::listener_opt_conflict);
    CHECK(err->reason == "no_h2c_upgrade");
    opts.tls = tlstest::pem_options(*pki::get().ec);
    // Over TLS, ALPN chooses between them.
    err = validate(opts);
    CHECK_FALSE(err.has_value());
  }
}
