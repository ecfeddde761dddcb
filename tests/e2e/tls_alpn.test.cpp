// End-to-end TLS: roadrunner-demo (and an in-process listener) with a
// certificate made at test time, real clients on 127.0.0.1: curl over TLS
// with ALPN h2 and http/1.1, Python's ssl for ALPN edge cases, and clients
// that stall or fail the handshake (upstream F1: they must not stop the
// listener).

#include "fixture.hpp"
#include "h2test.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <string>
#include <vector>

using namespace rrtest;

namespace {

std::vector<std::string> with(std::vector<std::string> a,
                              const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// curl -k: the status code and the HTTP version it spoke ("1.1" or "2").
std::pair<std::string, std::string> fetch(std::vector<std::string> args) {
  auto [code, out] = curl(with(
    {"-k", "-o", "/dev/null", "-w", "%{http_code} %{http_version}"}, args));
  if (code != 0)
    return {"curl failed: " + std::to_string(code), out};
  auto sp = out.find(' ');
  return {out.substr(0, sp), out.substr(sp + 1)};
}

// One HTTP/1.0 GET over `openssl s_client` (OpenSSL's client defaults:
// TLS 1.3, X25519), saving the session to `sess_out` and, when `sess_in` is
// set, offering that one; returns s_client's output.
std::string s_client(uint16_t port, const std::string& sess_out,
                     const std::string& sess_in = "") {
  std::string cmd = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | openssl s_client "
                    "-connect 127.0.0.1:" +
                    std::to_string(port) +
                    " -servername localhost -ign_eof -sess_out " + sess_out;
  if (!sess_in.empty())
    cmd += " -sess_in " + sess_in;
  // Not a structured binding: INFO captures `out` in a lambda, which
  // clang-14 refuses for a binding.
  auto ran = run({"sh", "-c", cmd + " 2>&1"});
  const auto& out = ran.second;
  INFO(out);
  CHECK(ran.first == 0);
  return out;
}

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

long info(uint16_t port, std::string_view field) {
  auto [code, out] = curl({"-k", "--http1.1", https_url(port, "/info")});
  return code == 0 ? info_field(out, field) : -1;
}

} // namespace

TEST_SUITE("e2e.tls") {

  TEST_CASE("with --tls-cert and --tls-key the demo serves HTTPS and says so") {
    test_certs certs;
    demo_server srv{certs.flags()};
    CHECK(std::regex_match(
      srv.start_line,
      std::regex{
        R"(roadrunner-demo listening on https://127\.0\.0\.1:[0-9]+)"}));
    auto [code, out] = curl({"-k", "-i", https_url(srv.port, "/")});
    REQUIRE(code == 0);
    CHECK(out.find("HTTP/1.1 200 OK\r\n") == 0);
    CHECK(out.substr(out.size() - 13) == "Hello, World!");
    // Plain HTTP on the TLS port is a failed handshake, not a response.
    auto [plain, body] = curl({http_url(srv.port, "/")});
    CHECK(plain != 0);
    CHECK(body.find("Hello") == std::string::npos);
  }

  TEST_CASE("ALPN follows the protocols list: the server's order wins") {
    test_certs certs;
    SUBCASE("[http2, http1]: curl --http2 gets h2, --http1.1 gets HTTP/1.1") {
      demo_server srv{with(certs.flags(), {"--protocols=http2,http1"})};
      CHECK(fetch({"--http2", https_url(srv.port, "/")}) ==
            std::pair<std::string, std::string>{"200", "2"});
      CHECK(fetch({"--http1.1", https_url(srv.port, "/")}) ==
            std::pair<std::string, std::string>{"200", "1.1"});
      auto out = h2_case("alpn", srv.port, {"h2,http/1.1"});
      CHECK(value_of(out, "alpn") == "h2");
      CHECK(value_of(out, "version") == "TLSv1.3");
    }
    SUBCASE("[http1, http2]: a client offering both gets http/1.1") {
      demo_server srv{with(certs.flags(), {"--protocols=http1,http2"})};
      CHECK(fetch({"--http2", https_url(srv.port, "/")}) ==
            std::pair<std::string, std::string>{"200", "1.1"});
      CHECK(value_of(h2_case("alpn", srv.port, {"h2,http/1.1"}), "alpn") ==
            "http/1.1");
      CHECK(value_of(h2_case("alpn", srv.port, {"h2"}), "alpn") == "h2");
    }
    SUBCASE("[http1] (the default): h2 is not offered") {
      demo_server srv{certs.flags()};
      CHECK(fetch({"--http2", https_url(srv.port, "/")}) ==
            std::pair<std::string, std::string>{"200", "1.1"});
    }
  }

  TEST_CASE("a wrong-ALPN client fails the handshake; the next one is served") {
    test_certs certs;
    demo_server srv{with(certs.flags(), {"--protocols=http2,http1"})};
    // RFC 7301 3.2: no protocol in common -> no_application_protocol.
    auto out = h2_case("alpn", srv.port, {"spdy/3,foo"});
    CHECK_FALSE(value_of(out, "alpn"));
    CHECK(value_of(out, "error").value_or("").find("no application protocol") !=
          std::string::npos);
    // No ALPN at all: HTTP/1.1 (http1 is enabled).
    CHECK(value_of(h2_case("alpn", srv.port, {"none"}), "alpn") == "None");
    CHECK(fetch({"--http2", https_url(srv.port, "/")}) ==
          std::pair<std::string, std::string>{"200", "2"});
  }

  TEST_CASE("[http2] over TLS: h2 by ALPN, and h2 for a client without ALPN") {
    test_certs certs;
    demo_server srv{with(certs.flags(), {"--protocols=http2"})};
    CHECK(value_of(h2_case("h2_without_alpn", srv.port), "status") == "200");
    CHECK(fetch({"--http2", https_url(srv.port, "/json")}) ==
          std::pair<std::string, std::string>{"200", "2"});
    // A client that insists on HTTP/1.1 has nothing in common with us.
    CHECK(value_of(h2_case("alpn", srv.port, {"http/1.1"}), "error"));
  }

  TEST_CASE("100 clients stalled mid-handshake do not stop the listener "
            "(upstream F1); handshake_timeout closes them") {
    test_certs certs;
    demo_server srv{
      with(certs.flags(), {"--tls-handshake-timeout=1500", "--num-acceptors=2",
                           "--protocols=http2,http1"})};
    for (const char* mode : {"hello", "silent"}) {
      INFO(mode);
      process stalled{h2_argv("stall_handshakes", srv.port, {"100", mode})};
      auto ready = stalled.read_line(10s);
      REQUIRE(ready == "ready 100");
      // Every acceptor is free and the reactor is not blocked: a normal
      // client is served at once, over both protocols.
      auto started = clock_type::now();
      CHECK(fetch({"--http1.1", https_url(srv.port, "/")}).first == "200");
      CHECK(fetch({"--http2", https_url(srv.port, "/")}).first == "200");
      CHECK(clock_type::now() - started < 1500ms);
      CHECK(info(srv.port, "active_clients") >= 101);
      // Then the handshake deadline closes every stalled one.
      auto closed = stalled.read_line(10s);
      REQUIRE(closed);
      auto words = *closed;
      CHECK(words.rfind("closed 100 ", 0) == 0);
      auto ms = std::stol(words.substr(std::string{"closed 100 "}.size()));
      CHECK(ms >= 1400);
      CHECK(ms < 6000);
      CHECK(stalled.wait_exit(5s) == 0);
      CHECK(info(srv.port, "active_clients") == 1); // this /info
    }
  }

  TEST_CASE("100 failed handshakes are closed at once; the listener goes on") {
    test_certs certs;
    demo_server srv{certs.flags()};
    // Plain HTTP on the TLS port: OpenSSL says "http request", we close.
    auto out = h2_case("stall_handshakes", srv.port, {"100", "http"});
    auto closed = value_of(out, "closed");
    REQUIRE(closed);
    CHECK(closed->rfind("100 ", 0) == 0);
    CHECK(std::stol(closed->substr(4)) < 5000); // not the 10 s deadline
    CHECK(fetch({https_url(srv.port, "/")}).first == "200");
    CHECK(info(srv.port, "active_clients") == 1);
  }

  TEST_CASE("bad certificate options fail start clearly") {
    test_certs a;
    test_certs b;
    SUBCASE("a missing file") {
      auto [code, out] =
        run({ROADRUNNER_DEMO_PATH, "--port=0",
             "--tls-cert=/nonexistent/cert.pem", "--tls-key=" + a.key});
      CHECK(code == 1);
      CHECK(out.empty()); // no start line; the reason went to stderr
    }
    SUBCASE("a key that is not the certificate's") {
      auto [code, out] = run({ROADRUNNER_DEMO_PATH, "--port=0",
                              "--tls-cert=" + a.cert, "--tls-key=" + b.key});
      CHECK(code == 1);
      CHECK(out.empty());
    }
  }

  TEST_CASE("HTTP/1.1 over TLS: keep-alive, bodies, streaming, SSE, 404/405") {
    test_certs certs;
    demo_server srv{certs.flags()};
    auto url = [&](std::string_view p) { return https_url(srv.port, p); };
    SUBCASE("several requests on one connection") {
      auto [code, out] =
        curl({"-k", "--http1.1", url("/"), url("/json"), url("/users/7")});
      REQUIRE(code == 0);
      CHECK(out ==
            "Hello, World!{\"message\":\"Hello, World!\"}{\"id\":\"7\"}");
    }
    SUBCASE("a 3 MiB POST body is echoed, a 64 KiB body is sent whole") {
      // 3 MiB of distinct bytes, from a file under the certificates' dir.
      std::string body(3 * 1024 * 1024, '\0');
      for (size_t i = 0; i < body.size(); ++i)
        body[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
      auto path = certs.dir + "/body";
      std::ofstream{path, std::ios::binary} << body;
      auto [code, out] =
        curl({"-k", "--http1.1", "--data-binary", "@" + path, url("/echo")});
      REQUIRE(code == 0);
      CHECK(out == body);
      auto [code2, large] = curl({"-k", "--http1.1", url("/large")});
      REQUIRE(code2 == 0);
      CHECK(large == std::string(65536, 'x'));
    }
    SUBCASE("streaming, SSE and a handler actor") {
      auto [code, out] = curl({"-k", "--http1.1", url("/stream")});
      REQUIRE(code == 0);
      CHECK(out == std::string(4096, 'a') + std::string(4096, 'b') +
                     std::string(4096, 'c') + std::string(4096, 'd'));
      auto [c2, sse] = run({"curl", "-sS", "-k", "-N", "--http1.1",
                            "--max-time", "1", url("/sse")});
      CHECK(c2 == 28); // curl's "operation timed out": the stream is endless
      CHECK(sse.find("data: tick 3\n") != std::string::npos);
      auto [c3, slow] = curl({"-k", url("/slow?ms=50")});
      CHECK(slow == "slept 50 ms\n");
    }
    SUBCASE("404 and 405 with allow") {
      CHECK(fetch({url("/nope")}).first == "404");
      auto [code, out] = curl({"-k", "-i", "-X", "DELETE", url("/")});
      CHECK(out.find("HTTP/1.1 405") == 0);
      CHECK(out.find("allow: GET, OPTIONS\r\n") != std::string::npos);
    }
    // Every request above counts.
    CHECK(info(srv.port, "requests_served") >= 3);
  }

  TEST_CASE("in process: the request's scheme is https; handler actors run") {
    test_certs certs;
    fixture fx;
    auto opts = fixture::loopback();
    opts.tls = roadrunner::tls_options{certs.cert, certs.key};
    opts.protocols = {roadrunner::protocol::http2, roadrunner::protocol::http1};
    opts.routes = roadrunner::route_list{
      {"/scheme",
       [](roadrunner::request& req) {
         return roadrunner::response::text(
           200, std::string{req.scheme()} + " " + std::string{req.version()});
       }},
      {"/actor", roadrunner::reactor_local_handler(
                   fx.sys,
                   [](roadrunner::handler_actor::pointer)
                     -> roadrunner::handler_actor::behavior_type {
                     return {[](roadrunner::http_request& req) {
                       return roadrunner::response::text(
                         200, "actor " + std::string{req->version()});
                     }};
                   })},
    };
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    auto [c1, h2] = curl({"-k", "--http2", https_url(port, "/scheme")});
    CHECK(h2 == "https HTTP/2");
    auto [c2, h1] = curl({"-k", "--http1.1", https_url(port, "/scheme")});
    CHECK(h1 == "https HTTP/1.1");
    auto [c3, a2] = curl({"-k", "--http2", https_url(port, "/actor")});
    CHECK(a2 == "actor HTTP/2");
    CHECK(fx.info_of(l).requests_served == 3);
  }

  TEST_CASE("a new connection resumes with the ticket of the one before "
            "(openssl s_client -sess_out / -sess_in), ECDSA and RSA") {
    test_certs certs;
    std::string key_type;
    SUBCASE("ECDSA P-256") {
      key_type = "ec";
    }
    SUBCASE("RSA-2048") {
      key_type = "rsa";
      // Replace the test's ECDSA pair with an RSA one (same paths).
      auto [code, out] =
        run({"sh", "-c",
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 "
             "-subj /CN=localhost -keyout " +
               certs.key + " -out " + certs.cert + " 2>&1"});
      REQUIRE(code == 0);
    }
    auto sess = certs.dir + "/session.pem";
    {
      demo_server srv{certs.flags()};
      auto first = s_client(srv.port, sess);
      CHECK(has(first, "Hello, World!"));
      CHECK(has(first, "New, TLSv1.3"));
      CHECK(has(first, key_type == "ec" ? "Peer signature type: ECDSA"
                                        : "Peer signature type: RSA-PSS"));
      // The second connection offers the first one's ticket and resumes.
      auto second = s_client(srv.port, sess + ".2", sess);
      CHECK(has(second, "Hello, World!"));
      CHECK(has(second, "Reused, TLSv1.3"));
      // A third resumes with the ticket the second one got.
      auto third = s_client(srv.port, sess + ".3", sess + ".2");
      CHECK(has(third, "Reused, TLSv1.3"));
    } // stopped
    // A new server process has new ticket keys: the old ticket is refused
    // and the handshake is a full one.
    demo_server fresh{certs.flags()};
    auto after = s_client(fresh.port, sess + ".4", sess + ".3");
    CHECK(has(after, "Hello, World!"));
    CHECK(has(after, "New, TLSv1.3"));
  }

  TEST_CASE("--tls-ktls=true: the demo serves HTTPS as before (kernel TLS "
            "where the kernel has it, else OpenSSL)") {
    test_certs certs;
    demo_server srv{with(certs.flags(), {"--tls-ktls=true"})};
    auto [code, out] =
      curl({"-k", "--http1.1", "-o", "/dev/null", "-w",
            "%{http_code} %{size_download}", https_url(srv.port, "/large")});
    REQUIRE(code == 0);
    CHECK(out == "200 65536");
    CHECK(fetch({"--http1.1", https_url(srv.port, "/")}) ==
          std::pair<std::string, std::string>{"200", "1.1"});
  }

  TEST_CASE("in process, tls.ktls: file bodies arrive whole, by SSL_sendfile "
            "where the kernel encrypts, else by pread-and-write") {
    test_certs certs;
    fixture fx;
    std::string path = certs.dir + "/big.bin";
    std::string content(3 * 1024 * 1024 + 17, '\0');
    for (size_t i = 0; i < content.size(); ++i)
      content[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
    {
      std::ofstream f{path, std::ios::binary};
      f << content;
    }
    auto opts = fixture::loopback();
    opts.tls = roadrunner::tls_options{certs.cert, certs.key};
    opts.tls->ktls = true;
    opts.routes = roadrunner::route_list{
      {"/big",
       [path](roadrunner::request&) {
         return roadrunner::response::file(200, path,
                                           "application/octet-stream");
       }},
      {"/range",
       [path](roadrunner::request&) {
         return roadrunner::response::file(200, path, "text/plain", 1000,
                                           70000);
       }},
    };
    auto l = fx.start(opts);
    auto port = fx.port_of(l);
    auto out = certs.dir + "/got.bin";
    auto [c1, meta] =
      curl({"-k", "--http1.1", "-o", out, "-w", "%{http_code} %{size_download}",
            https_url(port, "/big")});
    REQUIRE(c1 == 0);
    CHECK(meta == "200 " + std::to_string(content.size()));
    std::ifstream in{out, std::ios::binary};
    std::string got{std::istreambuf_iterator<char>{in}, {}};
    CHECK((got == content));
    // Two ranges on one keep-alive connection (head, file, head, file).
    auto [c2, two] = curl({"-k", "--http1.1", https_url(port, "/range"),
                           https_url(port, "/range")});
    REQUIRE(c2 == 0);
    auto piece = content.substr(1000, 70000);
    CHECK((two == piece + piece));
  }
}
