// PROXY protocol end to end (issue 17 item 1): Debian's haproxy as a real
// front end sending v1 and v2 to roadrunner-demo on plain and TLS listeners
// (HTTP/1.1 and HTTP/2), and raw hostile headers on a socket. Every refused
// header closes the connection without one byte of answer and counts in
// /info's proxy_rejected.

#include "h2test.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

using namespace rrtest;

namespace {

std::vector<std::string> with(std::vector<std::string> a,
                              const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A port nobody listens on right now (bound, read, closed): haproxy needs
// fixed ports in its configuration.
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool accepts(uint16_t port) {
  try {
    client c{port};
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// haproxy in the foreground with a generated configuration; SIGKILLed by
// the process destructor.
struct haproxy {
  std::string cfg_path;
  std::unique_ptr<process> proc;

  haproxy(const std::string& dir, const std::string& cfg,
          const std::vector<uint16_t>& ports) {
    cfg_path = dir + "/haproxy.cfg";
    std::ofstream{cfg_path} << cfg;
    proc = std::make_unique<process>(
      std::vector<std::string>{"haproxy", "-db", "-f", cfg_path});
    for (auto p : ports)
      if (!eventually([p] { return accepts(p); }, 10s))
        throw std::runtime_error("haproxy does not listen on " +
                                 std::to_string(p));
  }
};

// curl's body and the local port it used (the client as haproxy saw it).
struct fetched {
  int code = -1;
  nlohmann::json body;
  int local_port = -1;
};

fetched whoami(std::vector<std::string> args) {
  auto [code, out] = curl(with({"-k", "-w", "\n%{local_port}"}, args));
  fetched f;
  f.code = code;
  auto nl = out.rfind('\n');
  if (code != 0 || nl == std::string::npos)
    return f;
  f.local_port = std::stoi(out.substr(nl + 1));
  f.body = nlohmann::json::parse(out.substr(0, nl), nullptr, false);
  return f;
}

const std::string get_whoami = "GET /whoami HTTP/1.1\r\nHost: t\r\n\r\n";

std::string v2_header(uint8_t ver_cmd, uint8_t family, std::string body) {
  std::string out{"\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A", 12};
  out += static_cast<char>(ver_cmd);
  out += static_cast<char>(family);
  out += static_cast<char>((body.size() >> 8) & 0xff);
  out += static_cast<char>(body.size() & 0xff);
  return out + body;
}

std::string tlv(uint8_t type, const std::string& value) {
  std::string out(1, static_cast<char>(type));
  out += static_cast<char>((value.size() >> 8) & 0xff);
  out += static_cast<char>(value.size() & 0xff);
  return out + value;
}

nlohmann::json json_of(const std::optional<http_response>& r) {
  if (!r)
    return nlohmann::json{};
  return nlohmann::json::parse(r->body, nullptr, false);
}

uint16_t local_port_of(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

// A listening socket on 127.0.0.1 (ephemeral port) that stands in for a
// server to capture what haproxy sends it.
struct capture_socket {
  int fd = -1;
  uint16_t port = 0;

  capture_socket() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(fd, 4) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("capture socket");
    port = ntohs(addr.sin_port);
  }

  ~capture_socket() { ::close(fd); }

  // The first v2 header on the first connection, read within `timeout`
  // (empty on a timeout or a short read).
  std::string v2_header_of_next(std::chrono::milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    auto wait = [&](int on) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - clock_type::now());
      pollfd p{on, POLLIN, 0};
      return left.count() > 0 &&
             ::poll(&p, 1, static_cast<int>(left.count())) == 1;
    };
    if (!wait(fd))
      return {};
    int conn = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    std::string got;
    size_t want = 16;
    while (conn >= 0 && got.size() < want && wait(conn)) {
      char tmp[4096];
      auto n = ::recv(conn, tmp, sizeof(tmp), 0);
      if (n <= 0)
        break;
      got.append(tmp, static_cast<size_t>(n));
      if (got.size() >= 16)
        want = 16 + ((static_cast<uint8_t>(got[14]) << 8) |
                     static_cast<uint8_t>(got[15]));
    }
    if (conn >= 0)
      ::close(conn);
    if (got.size() < want)
      return {};
    return got.substr(0, want);
  }
};

// True when the v2 header `h` (TCP over IPv4) carries a TLV of `type`.
bool has_tlv(const std::string& h, uint8_t type) {
  for (size_t off = 16 + 12; off + 3 <= h.size();) {
    if (static_cast<uint8_t>(h[off]) == type)
      return true;
    off += 3 + ((static_cast<uint8_t>(h[off + 1]) << 8) |
                static_cast<uint8_t>(h[off + 2]));
  }
  return false;
}

long proxy_rejected(uint16_t port) {
  client c{port};
  c.send("PROXY UNKNOWN\r\nGET /info HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r = c.read_response();
  return r ? info_field(r->body, "proxy_rejected") : -1;
}

} // namespace

TEST_SUITE("e2e.proxy_protocol") {

  TEST_CASE("haproxy sends v1 and v2 to plain and TLS listeners (h1, h2)") {
    test_certs certs;
    // The demo behind each kind of haproxy backend.
    demo_server plain{{"--proxy-protocol=true"}};
    demo_server tls{with(certs.flags(),
                         {"--proxy-protocol=true", "--protocols=http2,http1"})};
    demo_server h2c{{"--proxy-protocol=true", "--protocols=http2"}};
    // haproxy terminating TLS needs the certificate and key in one file.
    auto pem = certs.dir + "/haproxy.pem";
    {
      std::ifstream c{certs.cert};
      std::ifstream k{certs.key};
      std::ofstream out{pem};
      out << c.rdbuf() << k.rdbuf();
    }
    auto p_v1 = free_port();
    auto p_v2 = free_port();
    auto p_v1_tls = free_port();
    auto p_term = free_port();
    auto target = [](const demo_server& d) {
      return "127.0.0.1:" + std::to_string(d.port);
    };
    std::string cfg =
      "global\n  maxconn 100\n"
      "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n"
      "  timeout server 30s\n"
      "frontend fe_v1\n  bind 127.0.0.1:" +
      std::to_string(p_v1) +
      "\n  default_backend be_v1\n"
      "backend be_v1\n  server s " +
      target(plain) +
      " send-proxy\n"
      "frontend fe_v2\n  bind 127.0.0.1:" +
      std::to_string(p_v2) +
      "\n  default_backend be_v2\n"
      "backend be_v2\n  server s " +
      target(tls) +
      " send-proxy-v2\n"
      "frontend fe_v1_tls\n  bind 127.0.0.1:" +
      std::to_string(p_v1_tls) +
      "\n  default_backend be_v1_tls\n"
      "backend be_v1_tls\n  server s " +
      target(tls) +
      " send-proxy\n"
      "frontend fe_term\n  bind 127.0.0.1:" +
      std::to_string(p_term) + " ssl crt " + pem +
      " alpn h2\n"
      "  unique-id-format rr-%ci-%cp\n"
      "  default_backend be_term\n"
      "backend be_term\n  server s " +
      target(h2c) + " send-proxy-v2 proxy-v2-options unique-id,authority,ssl\n";
    haproxy front{certs.dir, cfg, {p_v1, p_v2, p_v1_tls, p_term}};

    SUBCASE("v1 to a plain listener: HTTP/1.1 from the proxied client") {
      auto f = whoami({http_url(p_v1, "/whoami")});
      REQUIRE(f.code == 0);
      CHECK(f.body["peer"] == "127.0.0.1");
      // The socket's peer is haproxy's own connection; the client's port
      // proves the header was used.
      CHECK(f.body["peer_port"] == f.local_port);
      CHECK(f.body["protocol"] == "http/1.1");
      CHECK(f.body["tls"] == false);
      CHECK(f.body["proxy"]["version"] == 1);
    }
    SUBCASE("v2 to a TLS listener: the header before the handshake, h2") {
      auto f = whoami({"--http2", https_url(p_v2, "/whoami")});
      REQUIRE(f.code == 0);
      CHECK(f.body["peer_port"] == f.local_port);
      CHECK(f.body["protocol"] == "h2");
      CHECK(f.body["tls"] == true);
      CHECK(f.body["proxy"]["version"] == 2);
      auto h1 = whoami({"--http1.1", https_url(p_v2, "/whoami")});
      REQUIRE(h1.code == 0);
      CHECK(h1.body["peer_port"] == h1.local_port);
      CHECK(h1.body["protocol"] == "http/1.1");
      CHECK(h1.body["tls"] == true);
    }
    SUBCASE("v1 to a TLS listener (upstream F12)") {
      auto f = whoami({"--http2", https_url(p_v1_tls, "/whoami")});
      REQUIRE(f.code == 0);
      CHECK(f.body["peer_port"] == f.local_port);
      CHECK(f.body["protocol"] == "h2");
      CHECK(f.body["proxy"]["version"] == 1);
    }
    SUBCASE("v2 TLVs from a TLS-terminating haproxy: ALPN, authority, id") {
      auto port = std::to_string(p_term);
      auto f = whoami({"--http2", "--resolve", "rr.test:" + port + ":127.0.0.1",
                       "https://rr.test:" + port + "/whoami"});
      REQUIRE(f.code == 0);
      CHECK(f.body["peer_port"] == f.local_port);
      CHECK(f.body["protocol"] == "h2"); // h2c behind the proxy
      CHECK(f.body["tls"] == false);
      auto& p = f.body["proxy"];
      CHECK(p["alpn"] == "h2");
      CHECK(p["authority"] == "rr.test");
      CHECK(p["ssl"] == true);
      CHECK(p["unique_id"] == "rr-127.0.0.1-" + std::to_string(f.local_port));
    }
    SUBCASE("many requests through haproxy, none refused") {
      auto before = proxy_rejected(plain.port);
      for (int i = 0; i < 20; ++i) {
        auto f = whoami({http_url(p_v1, "/whoami")});
        REQUIRE(f.code == 0);
        CHECK(f.body["peer_port"] == f.local_port);
      }
      CHECK(proxy_rejected(plain.port) == before);
    }
  }

  TEST_CASE("PP2_TYPE_CRC32C from haproxy is verified; a damaged one closes") {
    demo_server srv{{"--proxy-protocol=true"}};
    capture_socket capture;
    auto p_live = free_port();
    auto p_capture = free_port();
    // `proxy-v2-options crc32c`: haproxy checksums every v2 header.
    std::string cfg =
      "global\n  maxconn 100\n"
      "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n"
      "  timeout server 30s\n"
      "frontend fe_live\n  bind 127.0.0.1:" +
      std::to_string(p_live) +
      "\n  default_backend be_live\n"
      "backend be_live\n  server s 127.0.0.1:" +
      std::to_string(srv.port) +
      " send-proxy-v2 proxy-v2-options crc32c\n"
      "frontend fe_capture\n  bind 127.0.0.1:" +
      std::to_string(p_capture) +
      "\n  default_backend be_capture\n"
      "backend be_capture\n  server s 127.0.0.1:" +
      std::to_string(capture.port) + " send-proxy-v2 proxy-v2-options crc32c\n";
    test_certs dir; // a scratch directory for the configuration
    haproxy front{dir.dir, cfg, {p_live, p_capture}};
    auto before = proxy_rejected(srv.port);
    // Through haproxy: the checksum is good, the client is served.
    for (int i = 0; i < 5; ++i) {
      auto f = whoami({http_url(p_live, "/whoami")});
      REQUIRE(f.code == 0);
      CHECK(f.body["peer_port"] == f.local_port);
      CHECK(f.body["proxy"]["version"] == 2);
    }
    CHECK(proxy_rejected(srv.port) == before);
    // haproxy's own bytes, captured, then replayed: whole and damaged.
    client via{p_capture};
    // (haproxy's start-up probe by this test opened a connection to the
    // capture backend too: take the one of `via`, by its source port.)
    std::string header;
    auto source_port = [](const std::string& h) {
      return (static_cast<uint8_t>(h[16 + 8]) << 8) |
             static_cast<uint8_t>(h[16 + 9]);
    };
    for (int i = 0; i < 5; ++i) {
      header = capture.v2_header_of_next(5s);
      if (header.size() <= 16 + 12 ||
          source_port(header) == local_port_of(via.fd()))
        break;
    }
    REQUIRE(header.size() > 16 + 12);
    REQUIRE(source_port(header) == local_port_of(via.fd()));
    REQUIRE(has_tlv(header, 0x03)); // haproxy did send PP2_TYPE_CRC32C
    {
      client c{srv.port};
      c.send(header + get_whoami);
      auto j = json_of(c.read_response());
      CHECK(j["peer"] == "127.0.0.1");
      CHECK(j["peer_port"] == local_port_of(via.fd()));
    }
    for (size_t pos : {size_t{16 + 3}, size_t{16 + 8}, header.size() - 1}) {
      // One bit of the source address, the source port, the checksum.
      auto bad = header;
      bad[pos] = static_cast<char>(bad[pos] ^ 0x01);
      client c{srv.port};
      c.send(bad + get_whoami);
      CAPTURE(pos);
      CHECK(c.closed_by_peer(5s));
      CHECK(c.leftover().empty());
    }
    CHECK(proxy_rejected(srv.port) == before + 3);
  }

  TEST_CASE("raw headers: good ones are served, bytes after them kept") {
    demo_server srv{{"--proxy-protocol=true"}};
    SUBCASE("v1 TCP4 with two pipelined requests in the same segment") {
      client c{srv.port};
      c.send("PROXY TCP4 192.0.2.7 10.0.0.1 5555 80\r\n" + get_whoami +
             get_whoami);
      for (int i = 0; i < 2; ++i) {
        auto j = json_of(c.read_response());
        CHECK(j["peer"] == "192.0.2.7");
        CHECK(j["peer_port"] == 5555);
        CHECK(j["proxy"]["destination"] == "10.0.0.1");
      }
    }
    SUBCASE("v1 TCP6, sent one byte at a time") {
      client c{srv.port};
      std::string h = "PROXY TCP6 2001:db8::1 ::1 6000 443\r\n";
      for (char ch : h)
        REQUIRE(c.send(std::string(1, ch)));
      c.send(get_whoami);
      auto j = json_of(c.read_response());
      CHECK(j["peer"] == "2001:db8::1");
      CHECK(j["peer_port"] == 6000);
    }
    SUBCASE("v2 LOCAL keeps the socket's own peer") {
      client c{srv.port};
      c.send(v2_header(0x20, 0x00, "") + get_whoami);
      auto j = json_of(c.read_response());
      CHECK(j["peer"] == "127.0.0.1");
      CHECK(j["peer_port"] == local_port_of(c.fd()));
      CHECK(j["proxy"]["local"] == true);
    }
    SUBCASE("v2 PROXY with ALPN, authority and unique id TLVs") {
      client c{srv.port};
      std::string block{"\xc6\x33\x64\x05\x7f\x00\x00\x01\x1f\x90\x00\x50", 12};
      c.send(v2_header(0x21, 0x11,
                       block + tlv(0x01, "http/1.1") + tlv(0x02, "a.test") +
                         tlv(0x05, "conn-42")) +
             get_whoami);
      auto j = json_of(c.read_response());
      CHECK(j["peer"] == "198.51.100.5");
      CHECK(j["peer_port"] == 8080);
      CHECK(j["proxy"]["alpn"] == "http/1.1");
      CHECK(j["proxy"]["authority"] == "a.test");
      CHECK(j["proxy"]["unique_id"] == "conn-42");
    }
  }

  TEST_CASE("hostile headers close the connection, answer nothing, count") {
    demo_server srv{{"--proxy-protocol=true", "--proxy-protocol-timeout=300"}};
    long refused = 0;
    auto expect_closed = [&](const std::string& bytes) {
      client c{srv.port};
      if (!bytes.empty())
        c.send(bytes);
      CHECK(c.closed_by_peer(5s));
      CHECK(c.leftover().empty()); // not one byte: no desync
      ++refused;
    };
    SUBCASE("no header: a plain request is refused at its first byte") {
      expect_closed(get_whoami);
    }
    SUBCASE("malformed v1 lines followed by a request") {
      for (const std::string& h :
           std::vector<std::string>{"PROXY TCP4 1.2.3.4 5.6.7.8 99999 80\r\n",
                                    "PROXY TCP4 1.2.3.4 ::1 1 2\r\n",
                                    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
                                    "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
                                    "PROXY UNKNOWN " + std::string(120, 'x')})
        expect_closed(h + get_whoami);
    }
    SUBCASE("malformed v2 headers") {
      std::string block{"\x7f\x00\x00\x01\x7f\x00\x00\x01\x00\x01\x00\x02", 12};
      expect_closed(v2_header(0x21, 0x12, block) + get_whoami); // UDP
      expect_closed(v2_header(0x11, 0x11, block) + get_whoami); // version 1
      expect_closed(v2_header(0x23, 0x11, block) + get_whoami); // command 3
      expect_closed(v2_header(0x21, 0x11, block.substr(0, 8)) + get_whoami);
      expect_closed(v2_header(0x21, 0x11, block + std::string{"\x05\x01", 2}) +
                    get_whoami); // a TLV cut short
    }
    SUBCASE("oversized v2: 8000 bytes of TLVs") {
      std::string block(12, '\1');
      expect_closed(
        v2_header(0x21, 0x11, block + tlv(0xe0, std::string(8000, 'x'))));
    }
    SUBCASE("a silent client and a stalled header: the header timeout") {
      auto start = clock_type::now();
      expect_closed("");
      expect_closed("PROXY TCP4 1.2.");
      // Both ended by the 300 ms header deadline, not by something later.
      CHECK(clock_type::now() - start < 4s);
    }
    SUBCASE("a TLS ClientHello where the header should be") {
      expect_closed(
        std::string{"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11});
    }
    CHECK(proxy_rejected(srv.port) == refused);
  }

  TEST_CASE("a refused header on a TLS listener never reaches the handshake") {
    test_certs certs;
    demo_server srv{with(certs.flags(), {"--proxy-protocol=true"})};
    client c{srv.port};
    c.send("PROXY TCP9 x\r\n");
    CHECK(c.closed_by_peer(5s));
    CHECK(c.leftover().empty());
    // Without a header the TLS listener refuses a direct handshake.
    auto [code, out] = curl({"-k", https_url(srv.port, "/whoami")});
    CHECK(code != 0);
  }

  TEST_CASE("without --proxy-protocol a PROXY line is not special") {
    demo_server srv;
    client c{srv.port};
    c.send("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n" + get_whoami);
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 400); // "PROXY" is not a request line
  }
}
