#include "tls/session.hpp"

#include "fixture.hpp"

#include <doctest/doctest.h>
#include <openssl/ssl.h>

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <malloc.h>
#include <memory>
#include <string>
#include <vector>

using namespace roadrunner;
using tls::status;
using tlstest::pki;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A server session and a client on one socketpair (or TCP pair).
template <class Pair>
struct basic_conn {
  Pair sp;
  tls::session server;
  tlstest::client client;

  basic_conn(const tls::context_ptr& ctx,
             const tlstest::client_config& cfg = {})
    : server(ctx, sp.server), client(sp.client, cfg) {}

  tlstest::outcome handshake() { return tlstest::handshake(server, client); }

  void established() {
    auto out = handshake();
    INFO("server: " << server.error() << " client: " << client.error());
    REQUIRE(out.server == status::ok);
    REQUIRE(out.client == 1);
  }
};

using conn = basic_conn<tlstest::socket_pair>;
using tcp_conn = basic_conn<tlstest::tcp_pair>;

// Sends `data` through the session while the client reads (bounded);
// returns what the client got.
template <class Conn>
std::string send_through(Conn& c, const std::string& data) {
  std::string got;
  size_t done = 0;
  for (int round = 0; round < 100000 && got.size() < data.size(); ++round) {
    if (done < data.size()) {
      auto w = c.server.write(std::string_view{data}.substr(done));
      REQUIRE(w.status != status::failed);
      done += w.bytes;
    }
    std::string piece;
    REQUIRE(c.client.read(piece) >= 0);
    if (piece.empty())
      tlstest::wait_input(c.sp.client);
    got += piece;
  }
  return got;
}

std::vector<protocol_entry> protos(std::initializer_list<protocol> xs) {
  return {xs.begin(), xs.end()};
}

} // namespace

TEST_SUITE("tls.session") {

  TEST_CASE("a handshake, then bytes both ways (TLS 1.3 and TLS 1.2)") {
    auto ctx = tlstest::make_ctx(tlstest::pem_options(*pki::get().ec));
    tlstest::client_config cfg;
    std::string version;
    SUBCASE("TLS 1.3") {
      version = "TLSv1.3";
    }
    SUBCASE("TLS 1.2") {
      cfg.max_version = TLS1_2_VERSION;
      version = "TLSv1.2";
    }
    conn c{ctx, cfg};
    CHECK_FALSE(c.server.established());
    c.established();
    CHECK(c.server.established());
    CHECK(c.server.version() == version);
    CHECK(SSL_CIPHER_is_aead(SSL_get_current_cipher(c.server.native_handle())));
    CHECK_FALSE(c.server.resumed());
    REQUIRE(c.client.write_all("GET / HTTP/1.1\r\n\r\n"));
    std::string got;
    CHECK(tlstest::read_all(c.server, got) == status::want_read);
    CHECK(got == "GET / HTTP/1.1\r\n\r\n");
    auto w = c.server.write("HTTP/1.1 200 OK\r\n\r\n");
    CHECK(w.status == status::ok);
    CHECK(w.bytes == 19);
    std::string answer;
    CHECK(c.client.read(answer) == 1);
    CHECK(answer == "HTTP/1.1 200 OK\r\n\r\n");
  }

  TEST_CASE("ALPN: the first id of ours, in protocols order, that the client "
            "offers; no ALPN falls back to the default protocol") {
    using v = std::vector<std::string>;
    struct row {
      std::vector<protocol_entry> protocols;
      std::optional<v> alpn_override;
      v offered;
      std::string chosen;
      protocol proto;
    };
    const row rows[] = {
      {protos({protocol::http1}),
       {},
       {"h2", "http/1.1"},
       "http/1.1",
       protocol::http1},
      {protos({protocol::http2, protocol::http1}),
       {},
       {"http/1.1", "h2"},
       "h2",
       protocol::http2},
      {protos({protocol::http1, protocol::http2}),
       {},
       {"h2", "http/1.1"},
       "http/1.1",
       protocol::http1},
      {protos({protocol::http2}), {}, {"h2"}, "h2", protocol::http2},
      {protos({protocol::http2, protocol::http1}),
       v{"http/1.1"},
       {"h2", "http/1.1"},
       "http/1.1",
       protocol::http1},
      {protos({protocol::http1}), {}, {}, "", protocol::http1},
      {protos({protocol::http2, protocol::http1}), {}, {}, "", protocol::http1},
      {protos({protocol::http2}), {}, {}, "", protocol::http2},
    };
    for (auto& r : rows) {
      auto opts = tlstest::pem_options(*pki::get().ec);
      opts.alpn = r.alpn_override;
      auto ctx = tlstest::make_ctx(opts, r.protocols);
      tlstest::client_config cfg;
      cfg.alpn = r.offered;
      conn c{ctx, cfg};
      INFO("offered " << r.offered.size() << " ids, expect " << r.chosen);
      c.established();
      CHECK(c.server.alpn() == r.chosen);
      CHECK(c.server.protocol() == r.proto);
      const unsigned char* id = nullptr;
      unsigned len = 0;
      SSL_get0_alpn_selected(c.client.ssl(), &id, &len);
      CHECK(std::string(reinterpret_cast<const char*>(id), len) == r.chosen);
    }
  }

  TEST_CASE("a session keeps its context alive (a listener may stop first)") {
    auto ctx = tlstest::make_ctx(tlstest::pem_options(*pki::get().ec),
                                 {protocol::http2, protocol::http1});
    tlstest::client_config cfg;
    cfg.alpn = {"http/1.1", "h2"};
    conn c{ctx, cfg};
    std::weak_ptr<const tls::context> weak = ctx;
    ctx.reset();
    CHECK_FALSE(weak.expired());
    c.established();
    CHECK(c.server.alpn() == "h2");
  }

  TEST_CASE("a client offering only protocols we do not speak gets a fatal "
            "no_application_protocol alert (RFC 7301 3.2)") {
    tlstest::client_config cfg;
    std::vector<protocol_entry> protocols{protocol::http1};
    SUBCASE("an unknown protocol") {
      cfg.alpn = {"spdy/3.1"};
    }
    SUBCASE("h2 on an http1-only listener") {
      cfg.alpn = {"h2"};
    }
    SUBCASE("http/1.1 on an http2-only listener") {
      cfg.alpn = {"http/1.1"};
      protocols = {protocol::http2};
    }
    auto ctx =
      tlstest::make_ctx(tlstest::pem_options(*pki::get().ec), protocols);
    conn c{ctx, cfg};
    auto out = c.handshake();
    CHECK(out.server == status::failed);
    CHECK(contains(c.server.error(), "no application protocol"));
    CHECK(out.client == -1);
    CHECK(contains(c.client.error(), "no application protocol"));
  }

  TEST_CASE("old protocol versions are refused") {
    auto opts = tlstest::pem_options(*pki::get().ec);
    tlstest::client_config cfg;
    cfg.security_level = 0; // let the client offer what it should not
    cfg.ciphers = "DEFAULT:@SECLEVEL=0";
    SUBCASE("TLS 1.1") {
      cfg.min_version = TLS1_VERSION;
      cfg.max_version = TLS1_1_VERSION;
    }
    SUBCASE("TLS 1.0") {
      cfg.min_version = TLS1_VERSION;
      cfg.max_version = TLS1_VERSION;
    }
    SUBCASE("TLS 1.2 when min_version is tlsv1.3") {
      cfg.max_version = TLS1_2_VERSION;
      opts.min_version = "tlsv1.3";
    }
    auto ctx = tlstest::make_ctx(opts);
    conn c{ctx, cfg};
    auto out = c.handshake();
    CHECK(out.server == status::failed);
    CHECK(contains(c.server.error(), "unsupported protocol"));
    CHECK(out.client == -1);
  }

  TEST_CASE("TLS 1.2 takes only ECDHE with AEAD; the user's cipher list "
            "wins") {
    auto opts = tlstest::pem_options(*pki::get().rsa);
    tlstest::client_config cfg;
    cfg.max_version = TLS1_2_VERSION;
    cfg.security_level = 0;
    struct row {
      const char* cipher;
      bool accepted;
    };
    const row rows[] = {
      {"ECDHE-RSA-AES128-GCM-SHA256", true},
      {"ECDHE-RSA-AES256-GCM-SHA384", true},
      {"ECDHE-RSA-CHACHA20-POLY1305", true},
      {"AES128-GCM-SHA256", false},         // AEAD, no forward secrecy
      {"AES256-SHA", false},                // neither
      {"ECDHE-RSA-AES128-SHA256", false},   // CBC
      {"ECDHE-RSA-AES128-SHA", false},      // CBC, SHA-1
      {"DHE-RSA-AES128-GCM-SHA256", false}, // finite-field DHE
    };
    auto ctx = tlstest::make_ctx(opts);
    for (auto& r : rows) {
      INFO(r.cipher);
      cfg.ciphers = std::string{r.cipher} + ":@SECLEVEL=0";
      conn c{ctx, cfg};
      auto out = c.handshake();
      if (r.accepted) {
        CHECK(out.server == status::ok);
        CHECK(c.server.cipher() == r.cipher);
      } else {
        CHECK(out.server == status::failed);
        CHECK(contains(c.server.error(), "no shared cipher"));
      }
    }
    // Settings layered over the defaults: the user's list replaces ours.
    opts.ciphers = "AES128-GCM-SHA256";
    auto user = tlstest::make_ctx(opts);
    cfg.ciphers = "AES128-GCM-SHA256:@SECLEVEL=0";
    conn c{user, cfg};
    c.established();
    CHECK(c.server.cipher() == "AES128-GCM-SHA256");
  }

  TEST_CASE("client renegotiation is refused (TLS 1.2)") {
    auto ctx = tlstest::make_ctx(tlstest::pem_options(*pki::get().ec));
    tlstest::client_config cfg;
    cfg.max_version = TLS1_2_VERSION;
    conn c{ctx, cfg};
    c.established();
    REQUIRE(SSL_renegotiate(c.client.ssl()) == 1);
    int client = 0;
    status server = status::want_read;
    std::string got;
    for (int round = 0; round < 100 && client == 0; ++round) {
      client = c.client.handshake();
      if (server == status::want_read)
        server = tlstest::read_all(c.server, got);
    }
    CHECK(client == -1);
    CHECK(contains(c.client.error(), "no renegotiation"));
    CHECK(SSL_total_renegotiations(c.server.native_handle()) == 0);
    CHECK(got.empty());
  }

  TEST_CASE("a second connection resumes the first one's session") {
    auto opts = tlstest::pem_options(*pki::get().ec);
    tlstest::client_config cfg;
    SUBCASE("TLS 1.3, tickets") {}
    SUBCASE("TLS 1.2, tickets") {
      cfg.max_version = TLS1_2_VERSION;
    }
    SUBCASE("TLS 1.3, no tickets: stateful, from the server cache") {
      opts.session_tickets = false;
    }
    SUBCASE("TLS 1.2, no tickets: session id, from the server cache") {
      opts.session_tickets = false;
      cfg.max_version = TLS1_2_VERSION;
    }
    auto ctx = tlstest::make_ctx(opts);
    SSL_SESSION* saved = nullptr;
    {
      conn first{ctx, cfg};
      first.established();
      CHECK_FALSE(first.server.resumed());
      // TLS 1.3 tickets arrive after the handshake: let the client read.
      REQUIRE(first.server.write("x").status == status::ok);
      std::string got;
      REQUIRE(first.client.read(got) == 1);
      saved = SSL_get1_session(first.client.ssl());
      REQUIRE(saved != nullptr);
      CHECK(SSL_SESSION_is_resumable(saved) == 1);
      // Both sides close cleanly: OpenSSL drops a session whose
      // connection ends without close_notify from its side.
      CHECK(first.server.shutdown() == status::ok);
      SSL_shutdown(first.client.ssl());
    }
    cfg.session = saved;
    {
      conn second{ctx, cfg};
      second.established();
      CHECK(second.server.resumed());
      CHECK(SSL_session_reused(second.client.ssl()) == 1);
    }
    {
      // Another listener (another context) cannot resume it.
      auto other = tlstest::make_ctx(opts);
      conn third{other, cfg};
      third.established();
      CHECK_FALSE(third.server.resumed());
    }
    SSL_SESSION_free(saved);
  }

  TEST_CASE("session-ticket keys rotate: a ticket of the key before still "
            "resumes, one of the key before that does not") {
    auto opts = tlstest::pem_options(*pki::get().ec);
    tlstest::client_config cfg;
    SUBCASE("TLS 1.3") {}
    SUBCASE("TLS 1.2") {
      cfg.max_version = TLS1_2_VERSION;
    }
    auto ctx = tlstest::make_ctx(opts);
    // A ticket under the current key; the client's session after reading.
    auto ticket = [&](SSL_SESSION* offer, bool& resumed) {
      auto c = cfg;
      c.session = offer;
      conn x{ctx, c};
      x.established();
      resumed = x.server.resumed();
      REQUIRE(x.server.write("x").status == status::ok);
      std::string got;
      REQUIRE(x.client.read(got) == 1);
      auto* s = SSL_get1_session(x.client.ssl());
      CHECK(x.server.shutdown() == status::ok);
      SSL_shutdown(x.client.ssl());
      return s;
    };
    // Each ticket is offered once (a TLS 1.3 client does not reuse one).
    bool resumed = true;
    SSL_SESSION* a = ticket(nullptr, resumed); // both under key 0
    CHECK_FALSE(resumed);
    SSL_SESSION* b = ticket(nullptr, resumed);
    ctx->rotate_ticket_keys(); // key 1 encrypts, key 0 still decrypts
    SSL_SESSION* c = ticket(a, resumed);
    CHECK(resumed);            // and c holds a ticket under key 1
    ctx->rotate_ticket_keys(); // key 2; key 0 is gone
    SSL_SESSION* d = ticket(b, resumed);
    CHECK_FALSE(resumed); // a full handshake
    SSL_SESSION* e = ticket(c, resumed);
    CHECK(resumed); // key 1 still decrypts
    for (auto* x : {a, b, c, d, e})
      SSL_SESSION_free(x);
  }

  TEST_CASE("large writes make partial progress while the client reads "
            "slowly, and a retry may come from another address") {
    auto ctx = tlstest::make_ctx(tlstest::pem_options(*pki::get().ec));
    conn c{ctx};
    c.sp.make_small();
    c.established();
    // A small head, then two large bodies: gathered like sendmsg.
    std::vector<std::string> parts{tlstest::pattern(100, 1),
                                   tlstest::pattern(700 * 1024, 2),
                                   tlstest::pattern(300 * 1024 + 7, 3)};
    std::string expected = parts[0] + parts[1] + parts[2];
    size_t taken = 0;
    int blocked = 0;
    int partial = 0;
    std::string got;
    for (int round = 0; round < 200000 && got.size() < expected.size();
         ++round) {
      if (taken < expected.size()) {
        // The rest of the gather list; every other retry from a fresh copy.
        std::vector<std::string> copies;
        std::vector<iovec> iov;
        size_t skip = taken;
        for (auto& p : parts) {
          if (skip >= p.size()) {
            skip -= p.size();
            continue;
          }
          const char* base = p.data() + skip;
          size_t len = p.size() - skip;
          skip = 0;
          if (blocked % 2 == 1) {
            copies.emplace_back(base, len);
            base = copies.back().data();
          }
          iov.push_back({const_cast<char*>(base), len});
        }
        auto w = c.server.write(iov);
        REQUIRE(w.status != status::failed);
        taken += w.bytes;
        if (w.status == status::want_write) {
          ++blocked;
          CHECK(c.server.retry_length() > 0);
          CHECK(c.server.retry_length() <= tls::session::max_record);
          if (w.bytes > 0)
            ++partial;
        } else {
          CHECK(c.server.retry_length() == 0);
        }
      }
      std::string piece;
      auto r = c.client.read(piece, 3000); // a slow reader
      REQUIRE(r >= 0);
      got += piece;
    }
    CHECK(taken == expected.size());
    CHECK(got.size() == expected.size());
    CHECK((got == expected));
    CHECK(blocked > 10);
    CHECK(partial > 0);
  }

  TEST_CASE("a retry with fewer bytes than the record in flight fails") {
    auto ctx = tlstest::make_ctx(tlstest::pem_options(*pki::get().ec));
    conn c{ctx};
    c.sp.make_small();
    c.established();
    auto data = tlstest::pattern(1 << 20, 4);
    auto w = c.server.write(data);
    REQUIRE(w.status == status::want_write);
    auto pending = c.server.retry_length();
    REQUIRE(pending > 1);
    auto rest = std::string_view{data}.substr(w.bytes, pending - 1);
    auto again = c.server.write(rest);
    CHECK(again.status == status::failed);
    CHECK(contains(c.server.error(), "fewer bytes"));
  }

  TEST_CASE("read returns at most what fits, has_pending tells about the "
            "rest, and want_read means drained") {
    auto ctx = tlstest::make_ctx(tlstest::pem_options(*pki::get().ec));
    conn c{ctx};
    c.established();
    auto sent = tlstest::pattern(100 * 1024, 5);
    REQUIRE(c.client.write_all(sent));
    char small[10];
    auto r = c.server.read(small, sizeof(small));
    REQUIRE(r.status == status::ok);
    CHECK(r.bytes == sizeof(small));
    CHECK(c.server.has_pending());
    std::string got(small, r.bytes);
    CHECK(tlstest::read_all(c.server, got) == status::want_read);
    CHECK((got == sent));
    CHECK_FALSE(c.server.has_pending());
    // Nothing sent: want_read at once.
    CHECK(c.server.read(small, sizeof(small)).status == status::want_read);
  }

  TEST_CASE("the peer's close_notify or TCP FIN reads as eof") {
    auto ctx = tlstest::make_ctx(tlstest::pem_options(*pki::get().ec));
    conn c{ctx};
    c.established();
    REQUIRE(c.client.write_all("last words"));
    SUBCASE("close_notify") {
      CHECK(SSL_shutdown(c.client.ssl()) == 0);
    }
    SUBCASE("FIN without close_notify") {
      ::shutdown(c.sp.client, SHUT_WR);
    }
    std::string got;
    CHECK(tlstest::read_all(c.server, got) == status::eof);
    CHECK(got == "last words");
    // Half-closed: the answer still goes out.
    CHECK(c.server.write("answer").status == status::ok);
    std::string answer;
    CHECK(c.client.read(answer) == 1);
    CHECK(answer == "answer");
  }

  TEST_CASE("shutdown sends close_notify once established, nothing before") {
    auto ctx = tlstest::make_ctx(tlstest::pem_options(*pki::get().ec));
    SUBCASE("established") {
      conn c{ctx};
      c.established();
      CHECK(c.server.shutdown() == status::ok);
      std::string got;
      CHECK(c.client.read(got) == 2);
      CHECK((SSL_get_shutdown(c.client.ssl()) & SSL_RECEIVED_SHUTDOWN) != 0);
    }
    SUBCASE("before the handshake") {
      conn c{ctx};
      CHECK(c.server.shutdown() == status::ok);
      char buf[16];
      CHECK(::read(c.sp.client, buf, sizeof(buf)) < 0); // EAGAIN: nothing
    }
    SUBCASE("after a failed handshake") {
      tlstest::client_config cfg;
      cfg.alpn = {"spdy/3.1"};
      conn c{ctx, cfg};
      REQUIRE(c.handshake().server == status::failed);
      char buf[256];
      while (::read(c.sp.client, buf, sizeof(buf)) > 0) {
      }
      CHECK(c.server.shutdown() == status::ok);
      CHECK(::read(c.sp.client, buf, sizeof(buf)) < 0);
    }
  }

  TEST_CASE("handshakes that cannot succeed fail with a reason") {
    auto ctx = tlstest::make_ctx(tlstest::pem_options(*pki::get().ec));
    tlstest::socket_pair sp;
    tls::session s{ctx, sp.server};
    CHECK(s.handshake() == status::want_read);
    SUBCASE("plain HTTP on the TLS port") {
      std::string req = "GET / HTTP/1.1\r\nhost: x\r\n\r\n";
      REQUIRE(::write(sp.client, req.data(), req.size()) ==
              static_cast<ssize_t>(req.size()));
      CHECK(s.handshake() == status::failed);
      CHECK(contains(s.error(), "http request"));
    }
    SUBCASE("the peer closes mid-handshake") {
      ::close(sp.client);
      sp.client = -1;
      CHECK(s.handshake() == status::failed);
      CHECK(contains(s.error(), "peer closed the connection"));
    }
    SUBCASE("garbage") {
      std::string junk(64, '\x16');
      REQUIRE(::write(sp.client, junk.data(), junk.size()) == 64);
      CHECK(s.handshake() == status::failed);
      CHECK_FALSE(s.error().empty());
    }
    CHECK(s.handshake() == status::failed); // stays failed
    char buf[8];
    CHECK(s.read(buf, sizeof(buf)).status == status::failed);
    CHECK(s.write("x").status == status::failed);
  }

  TEST_CASE("writing to a reset peer fails with EPIPE, not SIGPIPE") {
    auto* old = ::signal(SIGPIPE, SIG_DFL); // SIGPIPE would kill the test
    auto ctx = tlstest::make_ctx(tlstest::pem_options(*pki::get().ec));
    {
      conn c{ctx};
      c.established();
      ::close(c.sp.client);
      c.sp.client = -1;
      auto w = c.server.write(tlstest::pattern(50000, 6));
      CHECK(w.status == status::failed);
      CHECK(contains(c.server.error(), "Broken pipe"));
    }
    ::signal(SIGPIPE, old);
  }

  TEST_CASE("an idle session holds no record buffers "
            "(SSL_MODE_RELEASE_BUFFERS), and little else") {
#if defined(__SANITIZE_ADDRESS__)
    MESSAGE("skipped under ASan: mallinfo2 does not see its allocator");
#else
    auto ctx = tlstest::make_ctx(tlstest::pem_options(*pki::get().ec));
    constexpr size_t n = 16;
    std::vector<std::unique_ptr<tlstest::socket_pair>> pairs;
    std::vector<std::unique_ptr<tls::session>> servers;
    std::vector<std::unique_ptr<tlstest::client>> clients;
    for (size_t i = 0; i < n; ++i) {
      pairs.push_back(std::make_unique<tlstest::socket_pair>());
      servers.push_back(std::make_unique<tls::session>(ctx, pairs[i]->server));
      clients.push_back(std::make_unique<tlstest::client>(
        pairs[i]->client, tlstest::client_config{}));
      auto& s = *servers[i];
      auto& c = *clients[i];
      auto hs = tlstest::handshake(s, c);
      REQUIRE(hs.server == status::ok);
      REQUIRE(hs.client == 1);
      // A request and a 20 kB response: both record buffers were in use.
      const std::string request = "GET / HTTP/1.1\r\nhost: x\r\n\r\n";
      REQUIRE(c.write_all(request));
      std::string req;
      CHECK(tlstest::read_all(s, req) == status::want_read);
      CHECK(req == request);
      auto body = tlstest::pattern(20000, 11);
      std::string got;
      for (int round = 0; round < 1000 && got.size() < body.size(); ++round) {
        if (round == 0)
          REQUIRE(s.write(body).status == status::ok);
        REQUIRE(c.read(got) >= 0);
      }
      REQUIRE(got == body);
    }
    // Idle now. Freeing the record buffers by hand must find nothing to
    // free: kept buffers would be at least 16 KiB each (read and write).
    auto before = mallinfo2().uordblks;
    for (auto& s : servers)
      CHECK(SSL_free_buffers(s->native_handle()) == 1);
    auto freed = before - mallinfo2().uordblks;
    MESSAGE("record buffers freed by hand from "
            << n << " idle sessions: " << freed << " bytes");
    CHECK(freed < n * 1024);
    // What an idle session holds in all (SSL object, its SESSION, ours).
    before = mallinfo2().uordblks;
    servers.clear();
    auto held = (before - mallinfo2().uordblks) / n;
    MESSAGE("heap held by one idle TLS 1.3 session: " << held << " bytes");
    CHECK(held < 16 * 1024);
#endif
  }

  TEST_CASE("kTLS asked for: the kernel encrypts what the session sends, or "
            "the session says why not and stays in user space") {
    auto* old = ::signal(SIGPIPE, SIG_DFL); // a SIGPIPE fails the test
    auto opts = tlstest::pem_options(*pki::get().ec);
    opts.ktls = true;
    tlstest::client_config cfg;
    SUBCASE("TLS 1.3") {}
    SUBCASE("TLS 1.2") {
      cfg.max_version = TLS1_2_VERSION;
    }
    SUBCASE("not asked for: OpenSSL never offers the keys") {
      opts.ktls = false;
    }
    auto ctx = tlstest::make_ctx(opts);
    tcp_conn c{ctx, cfg};
    c.sp.make_small();
    c.established();
    if (!opts.ktls) {
      CHECK_FALSE(c.server.ktls_send());
      CHECK(c.server.ktls_error().empty());
    } else if (c.server.ktls_send()) {
      MESSAGE("kernel TLS sends for " << c.server.version());
      CHECK(c.server.ktls_error().empty());
    } else {
      // OpenSSL handed our BIO the keys and the kernel said no.
      MESSAGE("kernel TLS is off here: " << c.server.ktls_error());
      CHECK_FALSE(c.server.ktls_error().empty());
      if (!tlstest::kernel_tls_listed())
        CHECK(contains(c.server.ktls_error(), "TCP_ULP tls"));
    }
    // Either way the client decrypts every byte, in order, through a
    // small send buffer (partial writes), and the session reads on.
    auto body = tlstest::pattern(300 * 1024 + 3, 12);
    CHECK((send_through(c, body) == body));
    REQUIRE(c.client.write_all("ping"));
    std::string got;
    CHECK(tlstest::read_all(c.server, got) == status::want_read);
    CHECK(got == "ping");
    // close_notify (through the kernel as an alert record under kTLS).
    CHECK(c.server.shutdown() == status::ok);
    std::string rest;
    int r = 0;
    for (int i = 0; i < 1000 && (r = c.client.read(rest)) != 2 && r >= 0; ++i)
      tlstest::wait_input(c.sp.client);
    CHECK(r == 2);
    // SSL_sendfile needs kTLS: without it the call fails, naming why.
    if (!c.server.ktls_send()) {
      tls::session idle{ctx, -1};
      CHECK(idle.sendfile(0, 0, 1).status == status::failed);
      CHECK(contains(idle.error(), "kernel TLS"));
    }
    ::signal(SIGPIPE, old);
  }
}
