// End-to-end: issue 16's web features in roadrunner-demo, each over
// HTTP/1.1 and h2c alike: OPTIONS (RFC 9110 9.3.7), CORS (--cors-origin),
// static files (--static-dir: validators, conditionals RFC 9110 13, ranges
// 14, precompressed siblings, a hostile path list) and compression
// (buffered, streamed and SSE); static files and compression over TLS too
// (HTTP/1.1 and h2, ALPN), where file bodies take the bounded
// pread-and-encrypt path instead of sendfile. Clients:
// tests/e2e/web_client.py (http.client, python3-h2 and the nghttp CLI;
// bodies decoded with zlib, python3-brotli and python3-zstandard) and curl
// (--compressed, -r, -z, If-None-Match).

#include "h2test.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using namespace rrtest;
using json = nlohmann::json;

namespace {

std::string text_of_size(size_t n) {
  std::string out;
  while (out.size() < n)
    out += "static text served by roadrunner, line after line.\n";
  out.resize(n);
  return out;
}

// The served tree, made once: www/ is --static-dir, secret.txt sits beside
// it (outside the root).
struct site {
  std::string dir;
  std::string www;
  std::string hello = text_of_size(3000);
  std::string app = text_of_size(20000);
  std::string index = "<h1>index</h1>\n";
  std::string sub_index = "<h1>sub</h1>\n";
  // 8 MiB in which every 16 bytes name their offset: a byte lost, doubled
  // or moved anywhere shows.
  std::string big = [] {
    std::string out;
    out.reserve(8 << 20);
    char line[17];
    for (size_t at = 0; at < (8 << 20); at += 16) {
      std::snprintf(line, sizeof(line), "%015zu\n", at);
      out.append(line, 16);
    }
    return out;
  }();

  site() {
    char tmpl[] = "/tmp/rr-web-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
    www = dir + "/www";
    std::filesystem::create_directories(www + "/sub");
    write(dir + "/secret.txt", "secret\n");
    write(www + "/hello.txt", hello);
    write(www + "/index.html", index);
    write(www + "/sub/index.html", sub_index);
    write(www + "/app.js", app);
    write(www + "/big.bin", big);
    ::symlink("/etc/passwd", (www + "/abs_link").c_str());
    ::symlink("..", (www + "/up_dir").c_str());
    ::symlink("hello.txt", (www + "/in_link.txt").c_str());
    ::mkfifo((www + "/fifo").c_str(), 0644);
    // Precompressed siblings, made with the Debian codec modules.
    auto [code, out] = run(
      {"/usr/bin/python3", "-c",
       "import sys, gzip, brotli, zstandard\n"
       "p = sys.argv[1]\n"
       "d = open(p, 'rb').read()\n"
       "open(p + '.gz', 'wb').write(gzip.compress(d))\n"
       "open(p + '.br', 'wb').write(brotli.compress(d))\n"
       "open(p + '.zst', 'wb').write(zstandard.ZstdCompressor().compress(d))\n",
       www + "/app.js"});
    if (code != 0)
      throw std::runtime_error("making siblings failed: " + out);
  }

  ~site() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  static void write(const std::string& path, const std::string& data) {
    std::ofstream out{path, std::ios::binary};
    out << data;
  }
};

// One answer from web_client.py.
struct reply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  size_t raw_len = 0;
  std::string body; // decoded
  std::string error;

  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name)
        return v;
    return std::nullopt;
  }
  bool has(std::string_view name) const { return header(name).has_value(); }
};

// The demo twice: HTTP/1.1, and h2c with prior knowledge (python3-h2 and
// nghttp).
struct servers {
  site files;
  demo_server h1;
  demo_server h2;
  std::string out_dir;

  static std::vector<std::string> flags(const site& s, bool h2) {
    std::vector<std::string> f{"--static-dir=" + s.www,
                               "--cors-origin=https://a.example",
                               "--cors-origin=https://b.example"};
    if (h2)
      f.push_back("--protocols=http2");
    return f;
  }

  servers() : h1(flags(files, false)), h2(flags(files, true)) {
    out_dir = files.dir + "/out";
    std::filesystem::create_directories(out_dir);
  }
};

servers& env() {
  static servers s;
  return s;
}

// The demo over TLS with the same tree, offering h2 and http/1.1 (ALPN);
// made on first use.
struct tls_server {
  test_certs certs;
  demo_server srv;

  static std::vector<std::string> flags(const site& s,
                                        const test_certs& certs) {
    auto f = servers::flags(s, false);
    f.push_back("--protocols=http2,http1");
    auto c = certs.flags();
    f.insert(f.end(), c.begin(), c.end());
    return f;
  }

  tls_server() : srv(flags(env().files, certs)) {}
};

tls_server& tls_env() {
  static tls_server s;
  return s;
}

// The server a web_client.py protocol talks to.
uint16_t port_of(std::string_view proto) {
  if (proto == "h1s" || proto == "h2s" || proto == "nghttps")
    return tls_env().srv.port;
  return proto == "h1" ? env().h1.port : env().h2.port;
}

// Runs the requests through web_client.py on `proto` (see its CLIENTS).
std::vector<reply> ask(std::string_view proto, json reqs) {
  auto& e = env();
  for (auto& r : reqs)
    r["proto"] = proto;
  auto [code, out] =
    run({"/usr/bin/python3", ROADRUNNER_WEB_CLIENT,
         std::to_string(port_of(proto)), e.out_dir, reqs.dump()},
        60s);
  REQUIRE(code == 0);
  std::vector<reply> res;
  std::istringstream lines{out};
  for (std::string line; std::getline(lines, line);) {
    auto j = json::parse(line);
    reply r;
    r.status = j["status"];
    for (auto& h : j["headers"])
      r.headers.emplace_back(h[0], h[1]);
    r.raw_len = j["raw_len"];
    r.error = j["error"];
    std::ifstream body{e.out_dir + "/" + std::to_string(res.size()),
                       std::ios::binary};
    r.body.assign(std::istreambuf_iterator<char>{body}, {});
    res.push_back(std::move(r));
  }
  REQUIRE(res.size() == reqs.size());
  return res;
}

reply ask1(std::string_view proto, std::string method, std::string path,
           json headers = json::array()) {
  json req = {{"method", method}, {"path", path}, {"headers", headers}};
  auto r = ask(proto, json::array({req}));
  CHECK_MESSAGE(r[0].error.empty(), r[0].error);
  return r[0];
}

// HTTP/1.1, h2c through python3-h2, h2c through nghttp.
const std::string protos[] = {"h1", "h2", "nghttp"};

} // namespace

TEST_SUITE("e2e.web") {

  TEST_CASE("OPTIONS on a known path and OPTIONS * answer 204 with allow "
            "(RFC 9110 9.3.7); other methods still get 405") {
    for (auto p : protos) {
      CAPTURE(p);
      auto r = ask1(p, "OPTIONS", "/echo");
      CHECK(r.status == 204);
      CHECK(r.header("allow") == "POST, OPTIONS");
      auto star = ask1(p, "OPTIONS", "*");
      CHECK(star.status == 204);
      auto all = star.header("allow").value_or("");
      for (auto m : {"GET", "POST", "OPTIONS"})
        CHECK(all.find(m) != std::string::npos);
      CHECK(ask1(p, "OPTIONS", "/nope").status == 404);
      auto del = ask1(p, "DELETE", "/");
      CHECK(del.status == 405);
      CHECK(del.header("allow") == "GET, OPTIONS");
    }
  }

  TEST_CASE("CORS: a preflight is answered by the middleware, actual "
            "requests get allow-origin, other origins nothing") {
    for (auto p : protos) {
      CAPTURE(p);
      auto pre = ask1(p, "OPTIONS", "/echo",
                      {{"origin", "https://a.example"},
                       {"access-control-request-method", "POST"},
                       {"access-control-request-headers", "content-type"}});
      CHECK(pre.status == 204);
      CHECK(pre.header("access-control-allow-origin") == "https://a.example");
      CHECK(pre.header("access-control-allow-methods") == "GET, HEAD, POST");
      CHECK(pre.header("access-control-allow-headers") == "content-type");
      CHECK(pre.header("access-control-max-age") == "600");
      CHECK_FALSE(pre.has("allow")); // the router's OPTIONS answer has it
      auto bad = ask1(p, "OPTIONS", "/echo",
                      {{"origin", "https://evil.example"},
                       {"access-control-request-method", "POST"}});
      CHECK(bad.status == 403);
      CHECK_FALSE(bad.has("access-control-allow-origin"));
      auto get = ask1(p, "GET", "/json", {{"origin", "https://b.example"}});
      CHECK(get.status == 200);
      CHECK(get.header("access-control-allow-origin") == "https://b.example");
      CHECK(get.header("vary").value_or("").find("origin") !=
            std::string::npos);
      auto evil = ask1(p, "GET", "/json", {{"origin", "https://evil.example"}});
      CHECK(evil.status == 200);
      CHECK_FALSE(evil.has("access-control-allow-origin"));
      // Deferred and 404 answers pass the middleware too.
      auto slow =
        ask1(p, "GET", "/slow?ms=1", {{"origin", "https://a.example"}});
      CHECK(slow.header("access-control-allow-origin") == "https://a.example");
      auto nf = ask1(p, "GET", "/nope", {{"origin", "https://a.example"}});
      CHECK(nf.status == 404);
      CHECK(nf.header("access-control-allow-origin") == "https://a.example");
    }
  }

  TEST_CASE("static files: content, type, validators, index, redirect, HEAD") {
    auto& s = env().files;
    for (auto p : protos) {
      CAPTURE(p);
      auto r = ask1(p, "GET", "/static/hello.txt");
      CHECK(r.status == 200);
      CHECK((r.body == s.hello));
      CHECK(r.header("content-type") == "text/plain");
      CHECK(r.header("accept-ranges") == "bytes");
      CHECK(r.header("etag").value_or("").front() == '"');
      CHECK(r.has("last-modified"));
      auto head = ask1(p, "HEAD", "/static/hello.txt");
      CHECK(head.status == 200);
      CHECK(head.raw_len == 0);
      CHECK(head.header("content-length") == std::to_string(s.hello.size()));
      CHECK(head.header("etag") == r.header("etag"));
      auto index = ask1(p, "GET", "/static/");
      CHECK((index.body == s.index));
      CHECK(index.header("content-type") == "text/html");
      auto moved = ask1(p, "GET", "/static/sub");
      CHECK(moved.status == 301);
      CHECK(moved.header("location") == "/static/sub/");
      CHECK(ask1(p, "GET", "/static/sub/").body == s.sub_index);
      CHECK((ask1(p, "GET", "/static/in_link.txt").body == s.hello));
    }
  }

  TEST_CASE("static files: conditional requests give 304 and 412 (RFC 9110 "
            "13.1, 13.2.2)") {
    for (auto p : protos) {
      CAPTURE(p);
      auto r = ask1(p, "GET", "/static/hello.txt");
      auto etag = r.header("etag").value_or("");
      auto lm = r.header("last-modified").value_or("");
      REQUIRE(!etag.empty());
      auto nm = ask1(p, "GET", "/static/hello.txt", {{"if-none-match", etag}});
      CHECK(nm.status == 304);
      CHECK(nm.raw_len == 0);
      CHECK(nm.header("etag") == etag);
      CHECK(ask1(p, "GET", "/static/hello.txt",
                 {{"if-none-match", "\"other\", W/" + etag}})
              .status == 304); // weak comparison
      CHECK(
        ask1(p, "GET", "/static/hello.txt", {{"if-none-match", "\"other\""}})
          .status == 200);
      CHECK(
        ask1(p, "HEAD", "/static/hello.txt", {{"if-none-match", "*"}}).status ==
        304);
      CHECK(ask1(p, "GET", "/static/hello.txt", {{"if-modified-since", lm}})
              .status == 304);
      CHECK(ask1(p, "GET", "/static/hello.txt",
                 {{"if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT"}})
              .status == 200);
      // If-None-Match wins over If-Modified-Since (13.2.2 step 3).
      CHECK(ask1(p, "GET", "/static/hello.txt",
                 {{"if-none-match", "\"other\""}, {"if-modified-since", lm}})
              .status == 200);
      CHECK(ask1(p, "GET", "/static/hello.txt", {{"if-match", "\"other\""}})
              .status == 412);
      CHECK(ask1(p, "GET", "/static/hello.txt", {{"if-match", "W/" + etag}})
              .status == 412); // strong comparison
      CHECK(ask1(p, "GET", "/static/hello.txt", {{"if-match", etag}}).status ==
            200);
      CHECK(ask1(p, "GET", "/static/hello.txt",
                 {{"if-unmodified-since", "Sun, 06 Nov 1994 08:49:37 GMT"}})
              .status == 412);
      CHECK(ask1(p, "GET", "/static/hello.txt", {{"if-unmodified-since", lm}})
              .status == 200);
    }
  }

  TEST_CASE("static files: Range gives 206, several ranges "
            "multipart/byteranges, none satisfiable 416 (RFC 9110 14)") {
    auto& s = env().files;
    auto n = std::to_string(s.hello.size());
    for (auto p : protos) {
      CAPTURE(p);
      auto one =
        ask1(p, "GET", "/static/hello.txt", {{"range", "bytes=10-19"}});
      CHECK(one.status == 206);
      CHECK((one.body == s.hello.substr(10, 10)));
      CHECK(one.header("content-range") == "bytes 10-19/" + n);
      auto suffix =
        ask1(p, "GET", "/static/hello.txt", {{"range", "bytes=-7"}});
      CHECK((suffix.body == s.hello.substr(s.hello.size() - 7)));
      auto open =
        ask1(p, "GET", "/static/hello.txt", {{"range", "bytes=2990-"}});
      CHECK((open.body == s.hello.substr(2990)));
      auto multi =
        ask1(p, "GET", "/static/hello.txt", {{"range", "bytes=0-4,100-109"}});
      CHECK(multi.status == 206);
      auto type = multi.header("content-type").value_or("");
      REQUIRE(type.starts_with("multipart/byteranges; boundary="));
      auto boundary = type.substr(type.find('=') + 1);
      CHECK(multi.body.find("--" + boundary + "\r\n") == 0);
      CHECK(multi.body.find("content-range: bytes 0-4/" + n + "\r\n\r\n" +
                            s.hello.substr(0, 5) + "\r\n") !=
            std::string::npos);
      CHECK(multi.body.find("content-range: bytes 100-109/" + n + "\r\n\r\n" +
                            s.hello.substr(100, 10) + "\r\n") !=
            std::string::npos);
      CHECK(multi.body.ends_with("--" + boundary + "--\r\n"));
      auto none =
        ask1(p, "GET", "/static/hello.txt", {{"range", "bytes=5000-6000"}});
      CHECK(none.status == 416);
      CHECK(none.header("content-range") == "bytes */" + n);
      // Malformed: ignored, the whole file.
      CHECK(
        ask1(p, "GET", "/static/hello.txt", {{"range", "bytes=9-3"}}).status ==
        200);
      auto etag = one.header("etag").value_or("");
      auto current = ask1(p, "GET", "/static/hello.txt",
                          {{"range", "bytes=0-0"}, {"if-range", etag}});
      CHECK(current.status == 206);
      auto stale = ask1(p, "GET", "/static/hello.txt",
                        {{"range", "bytes=0-0"}, {"if-range", "\"old\""}});
      CHECK(stale.status == 200);
      CHECK((stale.body == s.hello));
    }
  }

  TEST_CASE("static files: precompressed siblings by Accept-Encoding") {
    auto& s = env().files;
    for (auto p : protos) {
      CAPTURE(p);
      for (auto row : {std::pair{"br", "br"}, std::pair{"gzip", "gzip"},
                       std::pair{"zstd", "zstd"}, std::pair{"gzip, br", "br"},
                       std::pair{"gzip, zstd;q=0.5", "gzip"}}) {
        // Not a structured binding: clang-14 refuses one in CAPTURE.
        auto accept = row.first;
        auto coding = row.second;
        CAPTURE(accept);
        auto r =
          ask1(p, "GET", "/static/app.js", {{"accept-encoding", accept}});
        CHECK(r.status == 200);
        CHECK(r.header("content-encoding") == coding);
        CHECK(r.header("content-type") == "text/javascript");
        CHECK(r.raw_len < s.app.size() / 4);
        CHECK((r.body == s.app));
        CHECK(r.header("vary") == "accept-encoding");
      }
      auto plain = ask1(p, "GET", "/static/app.js");
      CHECK_FALSE(plain.has("content-encoding"));
      CHECK((plain.body == s.app));
      // No sibling: the file as it is (file bodies are never re-encoded).
      auto hello =
        ask1(p, "GET", "/static/hello.txt", {{"accept-encoding", "gzip"}});
      CHECK_FALSE(hello.has("content-encoding"));
      CHECK((hello.body == s.hello));
    }
  }

  TEST_CASE("static files: a hostile path list never reaches outside the "
            "root") {
    struct row {
      const char* path;
      int status;
    };
    const row rows[] = {
      {"/static/../secret.txt", 400},
      {"/static/%2e%2e/secret.txt", 400},
      {"/static/%2E%2E%2Fsecret.txt", 400},
      {"/static/sub/..%2f..%2fsecret.txt", 400},
      {"/static/..%5csecret.txt", 400},
      {"/static/hello.txt%00.html", 400},
      {"/static/%zz", 400},
      {"/static/abs_link", 404},
      {"/static/up_dir/secret.txt", 404},
      {"/static/fifo", 404},
      {"/static/.hidden", 404},
      {"/static/%2fetc%2fpasswd", 404},
      {"/static//etc/passwd", 404},
    };
    for (auto p : protos) {
      CAPTURE(p);
      json reqs = json::array();
      for (const auto& r : rows)
        reqs.push_back({{"method", "GET"}, {"path", r.path}});
      auto res = ask(p, reqs);
      for (size_t i = 0; i < res.size(); ++i) {
        std::string path = rows[i].path;
        CAPTURE(path);
        CHECK(res[i].status == rows[i].status);
        CHECK(res[i].body.find("secret") == std::string::npos);
        CHECK(res[i].body.find("root:") == std::string::npos);
      }
    }
  }

  TEST_CASE("compression: /large in each coding, decoded by python's zlib, "
            "brotli and zstandard; identity refused is 406") {
    for (auto p : protos) {
      CAPTURE(p);
      for (std::string coding : {"gzip", "br", "zstd"}) {
        CAPTURE(coding);
        auto r = ask1(p, "GET", "/large", {{"accept-encoding", coding}});
        CHECK(r.status == 200);
        CHECK(r.header("content-encoding") == coding);
        CHECK(r.header("content-type") == "text/plain");
        CHECK(r.header("vary") == "accept-encoding");
        CHECK(r.raw_len < 1000);
        CHECK((r.body == std::string(65536, 'x')));
      }
      auto plain = ask1(p, "GET", "/large");
      CHECK_FALSE(plain.has("content-encoding"));
      CHECK(plain.raw_len == 65536);
      CHECK(plain.header("vary") == "accept-encoding");
      auto pick =
        ask1(p, "GET", "/large",
             {{"accept-encoding", "gzip;q=0.2, zstd;q=0.9, br;q=0.5"}});
      CHECK(pick.header("content-encoding") == "zstd");
      CHECK(ask1(p, "GET", "/large", {{"accept-encoding", "identity;q=0"}})
              .status == 406);
      auto head = ask1(p, "HEAD", "/large", {{"accept-encoding", "gzip"}});
      CHECK_FALSE(head.has("content-encoding"));
      CHECK(head.header("content-length") == "65536");
      // Under min_size (1 KiB): as it is.
      auto small = ask1(p, "GET", "/", {{"accept-encoding", "gzip"}});
      CHECK_FALSE(small.has("content-encoding"));
      CHECK((small.body == "Hello, World!"));
      // A streamed answer: compressed as it goes.
      auto stream = ask1(p, "GET", "/stream", {{"accept-encoding", "gzip"}});
      CHECK(stream.status == 200);
      CHECK(stream.header("content-encoding") == "gzip");
      CHECK((stream.body == std::string(4096, 'a') + std::string(4096, 'b') +
                              std::string(4096, 'c') + std::string(4096, 'd')));
      CHECK(stream.raw_len < 1000);
    }
  }

  TEST_CASE("curl: --compressed, -r, -z and If-None-Match; SSE compressed "
            "with a flush per event, on HTTP/1.1 and h2c") {
    auto& e = env();
    for (std::string p : {"h1", "h2"}) {
      CAPTURE(p);
      std::vector<std::string> proto_flag =
        p == std::string_view{"h2"}
          ? std::vector<std::string>{"--http2-prior-knowledge"}
          : std::vector<std::string>{"--http1.1"};
      auto url = [&](std::string_view path) {
        return http_url(port_of(p), path);
      };
      auto with = [&](std::vector<std::string> args) {
        args.insert(args.begin(), proto_flag.begin(), proto_flag.end());
        return curl(std::move(args));
      };
      auto [c1, large] =
        with({"--compressed", "-w", "\n%{size_download}", url("/large")});
      CHECK(c1 == 0);
      CHECK((large.substr(0, 65536) == std::string(65536, 'x')));
      CHECK(std::stoul(large.substr(65537)) < 1000); // bytes on the wire
      auto [c2, part] = with({"-r", "0-9", url("/static/hello.txt")});
      CHECK(part == e.files.hello.substr(0, 10));
      auto [c3, code] =
        with({"-o", "/dev/null", "-w", "%{http_code}", "-z",
              "Sun, 06 Nov 1994 08:49:37 GMT", url("/static/hello.txt")});
      CHECK(code == "200");
      auto [c4, head] = with({"-sI", url("/static/hello.txt")});
      auto at = head.find("etag: ");
      REQUIRE(at != std::string::npos);
      auto etag = head.substr(at + 6, head.find("\r\n", at) - at - 6);
      auto [c5, code2] =
        with({"-o", "/dev/null", "-w", "%{http_code}", "-H",
              "If-None-Match: " + etag, url("/static/hello.txt")});
      CHECK(code2 == "304");
      // The stream never ends: within 1 s events must already decode,
      // which only a flush per write allows.
      auto [c6, sse] =
        with({"--compressed", "-N", "--max-time", "1", "-D", "-", url("/sse")});
      CHECK(c6 == 28);
      CHECK(sse.find("content-encoding: br") != std::string::npos);
      CHECK(sse.find("data: tick 2\n") != std::string::npos);
    }
  }

  TEST_CASE("clients resetting during a static file's sendfile leave the "
            "server up (sendfile raises SIGPIPE, blocked on the reactors)") {
    auto& e = env();
    for (int i = 0; i < 30; ++i) {
      client c{e.h1.port};
      REQUIRE(c.send("GET /static/big.bin HTTP/1.1\r\nHost: t\r\n\r\n"));
      // The head arrived: sendfile is under way. Close with a reset.
      REQUIRE(c.fill(clock_type::now() + 5s) > 0);
      linger lg{1, 0};
      ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    CHECK(ask1("h1", "GET", "/static/hello.txt").status == 200);
    CHECK(::kill(e.h1.proc.pid(), 0) == 0);
  }
  TEST_CASE("static files over TLS (HTTP/1.1 and h2): 8 MiB byte-exact "
            "through the pread-and-encrypt path, ranges, HEAD, a "
            "precompressed sibling; compression over TLS too") {
    auto& s = env().files;
    auto n = std::to_string(s.big.size());
    for (std::string p : {"h1s", "h2s", "nghttps"}) {
      CAPTURE(p);
      auto big = ask1(p, "GET", "/static/big.bin");
      CHECK(big.status == 200);
      CHECK(big.raw_len == s.big.size());
      CHECK((big.body == s.big));
      CHECK(big.header("content-length") == n);
      auto mid =
        ask1(p, "GET", "/static/big.bin", {{"range", "bytes=1000001-3000000"}});
      CHECK(mid.status == 206);
      CHECK(mid.header("content-range") == "bytes 1000001-3000000/" + n);
      CHECK((mid.body == s.big.substr(1000001, 2000000)));
      auto tail =
        ask1(p, "GET", "/static/big.bin", {{"range", "bytes=-70001"}});
      CHECK(tail.status == 206);
      CHECK((tail.body == s.big.substr(s.big.size() - 70001)));
      auto head = ask1(p, "HEAD", "/static/big.bin");
      CHECK(head.status == 200);
      CHECK(head.raw_len == 0);
      CHECK(head.header("content-length") == n);
      auto br = ask1(p, "GET", "/static/app.js", {{"accept-encoding", "br"}});
      CHECK(br.header("content-encoding") == "br");
      CHECK((br.body == s.app));
      auto nm = ask1(p, "GET", "/static/big.bin",
                     {{"if-none-match", big.header("etag").value_or("-")}});
      CHECK(nm.status == 304);
      auto gz = ask1(p, "GET", "/large", {{"accept-encoding", "gzip"}});
      CHECK(gz.header("content-encoding") == "gzip");
      CHECK((gz.body == std::string(65536, 'x')));
      auto stream = ask1(p, "GET", "/stream", {{"accept-encoding", "zstd"}});
      CHECK(stream.header("content-encoding") == "zstd");
      CHECK(stream.body.size() == 4 * 4096);
    }
    // curl over TLS with HTTP/1.1: the same bytes.
    auto [code, out] = curl({"-k", "--http1.1", "-r", "4000000-4000015",
                             https_url(tls_env().srv.port, "/static/big.bin")});
    CHECK(code == 0);
    CHECK(out == "000000004000000\n");
  }

  TEST_CASE("clients resetting midway through an 8 MiB file (TLS h1 and h2, "
            "h2c) leave the server up and release their slots") {
    auto& s = env().files;
    auto active = [](std::string_view proto) {
      auto r = ask1(proto, "GET", "/info");
      return info_field(r.body, "active_clients");
    };
    for (std::string p : {"h1s", "h2s", "h2"}) {
      CAPTURE(p);
      json reqs = json::array();
      for (int i = 0; i < 10; ++i)
        reqs.push_back({{"method", "GET"},
                        {"path", "/static/big.bin"},
                        {"reset_after", 100000 + i * 50000}});
      auto res = ask(p, reqs);
      for (const auto& r : res) {
        CHECK_MESSAGE(r.error.empty(), r.error);
        CHECK(r.status == 200);
        // What came before the reset is the file's beginning.
        CHECK(r.body.size() >= 100000);
        CHECK((r.body == s.big.substr(0, r.body.size())));
      }
      // Only the /info request's own connection stays.
      CHECK(eventually([&] { return active(p) == 1; }, 10s));
      auto whole = ask1(p, "GET", "/static/big.bin");
      CHECK((whole.body == s.big));
    }
  }
}
