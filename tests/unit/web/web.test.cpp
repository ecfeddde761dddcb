// Unit tests of issue 16's library pieces, without a server: content-coding
// negotiation (RFC 9110 12.5.3), HTTP-date parsing (5.6.7), the codecs, and
// the CORS, compression, request-decoding and static-file handlers driven
// with requests built as the connection builds them. The end-to-end checks
// over HTTP/1.1 and HTTP/2 are in tests/e2e/web.test.cpp.

#include "accept_encoding.hpp"
#include "codec.hpp"
#include "fake_request.hpp"
#include "http_date.hpp"
#include <roadrunner/compress.hpp>
#include <roadrunner/cors.hpp>
#include <roadrunner/detail/request_access.hpp>
#include <roadrunner/request.hpp>
#include <roadrunner/response.hpp>
#include <roadrunner/static_files.hpp>

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <zlib.h>

using namespace std::literals;
using roadrunner::header_field;
using roadrunner::request;
using roadrunner::response;

namespace {

using rrtest::fake_request;

std::optional<std::string> field(const response& r, std::string_view name) {
  for (const auto& f : r.fields())
    if (f.name == name)
      return f.value;
  return std::nullopt;
}

size_t count(const response& r, std::string_view name) {
  size_t n = 0;
  for (const auto& f : r.fields())
    n += f.name == name ? 1 : 0;
  return n;
}

std::string gunzip(std::string_view in) {
  auto dec = roadrunner::detail::make_decoder("gzip");
  std::string out;
  REQUIRE(dec);
  CHECK(dec->update(in, out, 1 << 26) ==
        roadrunner::detail::decoder::result::done);
  return out;
}

std::string text_of_size(size_t n) {
  std::string out;
  while (out.size() < n)
    out += "roadrunner compresses text; ";
  out.resize(n);
  return out;
}

// A temporary directory tree, removed afterwards.
struct temp_tree {
  std::string dir;
  temp_tree() {
    char tmpl[] = "/tmp/rr-web-unit-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
  }
  ~temp_tree() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  void write(const std::string& rel, std::string_view data) const {
    std::ofstream out{dir + "/" + rel, std::ios::binary};
    out << data;
  }
};

roadrunner::handler answer_with(response r) {
  return [r](request&) { return r; };
}

} // namespace

TEST_SUITE("web.accept_encoding") {

  TEST_CASE("the highest q-value wins, ties go to the server's order, * and "
            "identity;q=0 are honoured (RFC 9110 12.5.3)") {
    using roadrunner::detail::choose_coding;
    std::string_view offered[] = {"br", "zstd", "gzip"};
    struct row {
      std::optional<std::string_view> accept;
      std::string_view coding;
      bool none;
    };
    const row rows[] = {
      {std::nullopt, "", false}, // no field: no coding
      {""sv, "", false},         // empty: identity only
      {"gzip"sv, "gzip", false},
      {"x-gzip"sv, "gzip", false},
      {"GZIP"sv, "gzip", false},
      {"gzip, br"sv, "br", false},
      {"gzip;q=1.0, br;q=0.5"sv, "gzip", false},
      {"gzip;q=0.5, br;q=0.9, zstd;q=0.7"sv, "br", false},
      {"*"sv, "br", false},
      {"br;q=0, *"sv, "zstd", false},
      {"gzip;q=0"sv, "", false},
      {"identity;q=0"sv, "", true},
      {"*;q=0"sv, "", true},
      {"identity;q=0, gzip"sv, "gzip", false},
      {"identity, gzip;q=0.5"sv, "", false}, // identity listed higher
      {"gzip;q=2"sv, "", false},             // malformed q: ignored
      {"gzip;q=0.1234"sv, "", false},        // more than 3 decimals
      {"deflate, compress"sv, "", false},
      {" gzip ;q=0.3 , ,br;q=0.2"sv, "gzip", false},
    };
    for (const auto& r : rows) {
      CAPTURE(r.accept.value_or("(none)"));
      auto c = choose_coding(r.accept, offered);
      CHECK(c.coding == r.coding);
      CHECK(c.none_acceptable == r.none);
    }
  }
}

TEST_SUITE("web.http_date") {

  TEST_CASE("the three HTTP-date forms parse to the same time; anything else "
            "is refused (RFC 9110 5.6.7)") {
    using roadrunner::detail::parse_http_date;
    auto t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
    REQUIRE(t);
    CHECK(*t == 784111777);
    CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == t);
    CHECK(parse_http_date("Sun Nov  6 08:49:37 1994") == t);
    for (auto bad :
         {"", "yesterday", "Sun, 06 Nov 1994 08:49:37 UTC",
          "Sun, 06 Xyz 1994 08:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT",
          "Sun, 06 Nov 1994 25:49:37 GMT"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_http_date(bad));
    }
  }
}

TEST_SUITE("web.codec") {

  TEST_CASE("each coding round-trips, flushed pieces decode as they come, and "
            "a decoder stops at its limit") {
    auto text = text_of_size(200000);
    for (auto coding : {"gzip"sv, "br"sv, "zstd"sv}) {
      CAPTURE(coding);
      auto enc = roadrunner::detail::make_encoder(coding, {});
      REQUIRE(enc);
      std::string wire;
      REQUIRE(enc->update(text.substr(0, 1000), wire, true));
      // After a flush the first piece is decodable on its own.
      auto partial = roadrunner::detail::make_decoder(coding);
      std::string first;
      CHECK(partial->update(wire, first, 1 << 20) ==
            roadrunner::detail::decoder::result::ok);
      CHECK(first == text.substr(0, 1000));
      REQUIRE(enc->update(text.substr(1000), wire, false));
      REQUIRE(enc->finish(wire));
      CHECK(wire.size() < text.size() / 10);
      auto dec = roadrunner::detail::make_decoder(coding);
      std::string out;
      CHECK(dec->update(wire, out, 1 << 20) ==
            roadrunner::detail::decoder::result::done);
      CHECK(out == text);
      auto small = roadrunner::detail::make_decoder(coding);
      std::string capped;
      CHECK(small->update(wire, capped, 5000) ==
            roadrunner::detail::decoder::result::too_large);
      CHECK(capped.size() <= 5001);
      auto bad = roadrunner::detail::make_decoder(coding);
      std::string junk;
      CHECK(
        bad->update("\x1f\x8b not really compressed at all", junk, 1 << 20) ==
        roadrunner::detail::decoder::result::corrupt);
    }
    CHECK_FALSE(roadrunner::detail::make_encoder("deflate", {}));
    CHECK_FALSE(roadrunner::detail::make_decoder("compress"));
  }

  TEST_CASE("whole bodies: one call per body, the per-thread state reused "
            "across bodies and levels, every result decodes") {
    roadrunner::detail::codec_levels levels;
    for (auto coding : {"gzip"sv, "br"sv, "zstd"sv}) {
      CAPTURE(coding);
      for (int level : {1, 6, 1}) {
        CAPTURE(level);
        levels.gzip = levels.brotli = levels.zstd = level;
        for (size_t n : {size_t{0}, size_t{1}, size_t{65536}, size_t{300000},
                         size_t{2} << 20}) {
          CAPTURE(n);
          auto text = text_of_size(n);
          std::string wire = "stale";
          REQUIRE(roadrunner::detail::encode_whole(coding, levels, text, wire));
          auto dec = roadrunner::detail::make_decoder(coding);
          std::string out;
          CHECK(dec->update(wire, out, 4 << 20) ==
                roadrunner::detail::decoder::result::done);
          CHECK(out == text);
          if (n >= 65536)
            CHECK(wire.size() < n / 10);
        }
      }
    }
    std::string out;
    CHECK_FALSE(roadrunner::detail::encode_whole("deflate", levels, "x", out));
  }

  TEST_CASE("a stream's state stays small: stream_window_bits bounds the "
            "window (measured after 1 MiB in 4 KiB flushed writes)") {
    // Text that does not repeat within a small window, so the library fills
    // whatever window it has.
    std::string text;
    uint64_t x = 88172645463325252ULL;
    while (text.size() < (1 << 20)) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      text += "word" + std::to_string(x % 100000) + ' ';
    }
    auto held = [&](std::string_view coding, int window_bits) {
      roadrunner::detail::codec_levels levels;
      levels.stream_window_bits = window_bits;
      auto enc = roadrunner::detail::make_encoder(coding, levels);
      REQUIRE(enc);
      std::string wire;
      for (size_t at = 0; at < text.size(); at += 4096)
        REQUIRE(
          enc->update(std::string_view{text}.substr(at, 4096), wire, true));
      auto bytes = enc->memory();
      REQUIRE(enc->finish(wire));
      auto dec = roadrunner::detail::make_decoder(coding);
      std::string out;
      CHECK(dec->update(wire, out, 2 << 20) ==
            roadrunner::detail::decoder::result::done);
      CHECK(out == text);
      return bytes;
    };
    for (auto coding : {"br"sv, "zstd"sv, "gzip"sv}) {
      CAPTURE(coding);
      // The default, and what streams had before it: brotli lgwin 20,
      // zstd level 3's windowLog 21, gzip 15.
      int before = coding == "zstd" ? 21 : 20;
      auto narrow = held(coding, 16);
      auto wide = held(coding, before);
      MESSAGE(coding << ": " << narrow / 1024 << " KiB per stream with "
                     << "window bits 16, " << wide / 1024 << " KiB with "
                     << before);
      CHECK(narrow > 0);
      if (coding == "gzip")
        CHECK(narrow == wide); // zlib's window is at most 32 KiB anyway
      else
        CHECK(narrow + (768 << 10) < wide);
    }
  }
}

TEST_SUITE("web.cors") {

  roadrunner::cors_options two_origins() {
    roadrunner::cors_options c;
    c.origins = {"https://a.example", "https://b.example"};
    c.methods = {"GET", "POST"};
    c.headers = {"Content-Type"};
    c.exposed_headers = {"x-total"};
    c.max_age = 600;
    return c;
  }

  TEST_CASE("a preflight is answered without reaching the handler") {
    int calls = 0;
    auto h =
      roadrunner::compose({roadrunner::cors(two_origins())}, [&](request&) {
        ++calls;
        return response::text(200, "handler");
      });
    SUBCASE("allowed: 204 with the allow-fields") {
      fake_request f{"OPTIONS",
                     "/x",
                     {{"origin", "https://b.example"},
                      {"access-control-request-method", "POST"},
                      {"access-control-request-headers", "content-type"}}};
      auto r = h(f.req);
      CHECK(r.status() == 204);
      CHECK(field(r, "access-control-allow-origin") == "https://b.example");
      CHECK(field(r, "access-control-allow-methods") == "GET, POST");
      CHECK(field(r, "access-control-allow-headers") == "Content-Type");
      CHECK(field(r, "access-control-max-age") == "600");
      CHECK(field(r, "vary")->find("origin") != std::string::npos);
      CHECK_FALSE(field(r, "access-control-allow-credentials"));
    }
    SUBCASE("refused: 403 naming the reason, no allow-origin") {
      struct row {
        std::string_view origin, method, headers, why;
      };
      for (auto x : {row{"https://evil.example", "GET", "", "origin"},
                     row{"https://a.example", "DELETE", "", "method DELETE"},
                     row{"https://a.example", "GET", "content-type, x-secret",
                         "header x-secret"}}) {
        // Not a structured binding: clang-14 refuses one in CAPTURE.
        std::vector<header_field> fs{
          {"origin", x.origin}, {"access-control-request-method", x.method}};
        if (!x.headers.empty())
          fs.push_back({"access-control-request-headers", x.headers});
        fake_request f{"OPTIONS", "/x", fs};
        auto r = h(f.req);
        auto why = x.why;
        CAPTURE(why);
        CHECK(r.status() == 403);
        CHECK(r.body().find(why) != std::string::npos);
        CHECK_FALSE(field(r, "access-control-allow-origin"));
      }
    }
    CHECK(calls == 0);
  }

  TEST_CASE("actual requests: allowed origins get allow-origin and exposed "
            "headers, others nothing; all vary by origin") {
    int calls = 0;
    auto h =
      roadrunner::compose({roadrunner::cors(two_origins())}, [&](request&) {
        ++calls;
        return response::text(200, "handler");
      });
    fake_request ok{"GET", "/x", {{"origin", "https://a.example"}}};
    auto r = h(ok.req);
    CHECK(field(r, "access-control-allow-origin") == "https://a.example");
    CHECK(field(r, "access-control-expose-headers") == "x-total");
    CHECK(field(r, "vary") == "origin");
    fake_request evil{"GET", "/x", {{"origin", "https://evil.example"}}};
    auto e = h(evil.req);
    CHECK(e.status() == 200);
    CHECK_FALSE(field(e, "access-control-allow-origin"));
    CHECK(field(e, "vary") == "origin");
    fake_request plain{"GET", "/x"};
    auto p = h(plain.req);
    CHECK(p.fields().empty());
    // An OPTIONS without Access-Control-Request-Method is no preflight.
    fake_request options{"OPTIONS", "/x", {{"origin", "https://a.example"}}};
    CHECK(h(options.req).body() == "handler");
    CHECK(calls == 4);
  }

  TEST_CASE("'*' answers '*' without credentials; a predicate or credentials "
            "echo the origin") {
    roadrunner::cors_options any;
    any.origins = {"*"};
    auto h = roadrunner::compose({roadrunner::cors(any)},
                                 answer_with(response::text(200, "x")));
    fake_request f{"GET", "/", {{"origin", "https://z.example"}}};
    auto r = h(f.req);
    CHECK(field(r, "access-control-allow-origin") == "*");
    CHECK_FALSE(field(r, "vary"));
    roadrunner::cors_options pred;
    pred.allow_origin = [](std::string_view o) {
      return o.ends_with(".trusted.example");
    };
    pred.credentials = true;
    auto h2 = roadrunner::compose({roadrunner::cors(pred)},
                                  answer_with(response::text(200, "x")));
    fake_request g{"GET", "/", {{"origin", "https://app.trusted.example"}}};
    auto r2 = h2(g.req);
    CHECK(field(r2, "access-control-allow-origin") ==
          "https://app.trusted.example");
    CHECK(field(r2, "access-control-allow-credentials") == "true");
    fake_request n{"GET", "/", {{"origin", "https://trusted.example.evil"}}};
    CHECK_FALSE(field(h2(n.req), "access-control-allow-origin"));
  }
}

TEST_SUITE("web.compress") {

  response big_text(size_t n = 4000) {
    auto r = response::text(200, text_of_size(n));
    r.header("etag", "\"v1\"");
    return r;
  }

  TEST_CASE("a buffered text body is gzipped for a client that asks; the "
            "ETag becomes weak, vary is set") {
    auto h =
      roadrunner::compose({roadrunner::compress()}, answer_with(big_text()));
    fake_request f{"GET", "/", {{"accept-encoding", "gzip"}}};
    auto r = h(f.req);
    CHECK(field(r, "content-encoding") == "gzip");
    CHECK(field(r, "etag") == "W/\"v1\"");
    CHECK(field(r, "vary") == "accept-encoding");
    CHECK(r.body().size() < 1000);
    CHECK(gunzip(r.body()) == text_of_size(4000));
  }

  TEST_CASE("left alone: no Accept-Encoding, HEAD, small, other types, 204, "
            "206, already encoded, no-transform") {
    auto plain = [](response r, std::string_view method = "GET") {
      auto h = roadrunner::compose({roadrunner::compress()}, answer_with(r));
      fake_request f{method, "/", {{"accept-encoding", "gzip, br, zstd"}}};
      return h(f.req);
    };
    fake_request none{"GET", "/"};
    auto r0 = roadrunner::compose({roadrunner::compress()},
                                  answer_with(big_text()))(none.req);
    CHECK_FALSE(field(r0, "content-encoding"));
    CHECK(field(r0, "vary") == "accept-encoding"); // it could have varied
    CHECK_FALSE(field(plain(big_text(), "HEAD"), "content-encoding"));
    CHECK_FALSE(field(plain(big_text(100)), "content-encoding"));
    auto png = response{200};
    png.header("content-type", "image/png").body(text_of_size(5000));
    CHECK_FALSE(field(plain(png), "content-encoding"));
    CHECK_FALSE(field(plain(png), "vary"));
    CHECK_FALSE(field(plain(response::status_only(204)), "content-encoding"));
    auto partial = big_text();
    partial.header("content-range", "bytes 0-3999/8000");
    CHECK_FALSE(field(plain(partial), "content-encoding"));
    auto done = big_text();
    done.header("content-encoding", "br");
    auto r = plain(done);
    CHECK(count(r, "content-encoding") == 1);
    CHECK(r.body() == text_of_size(4000));
    auto nt = big_text();
    nt.header("cache-control", "no-transform");
    CHECK_FALSE(field(plain(nt), "content-encoding"));
  }

  TEST_CASE("br and zstd are chosen by q-value; identity refused with no "
            "coding acceptable is 406 (RFC 9110 12.5.3)") {
    roadrunner::compress_options o;
    auto h =
      roadrunner::compose({roadrunner::compress(o)}, answer_with(big_text()));
    fake_request br{"GET", "/", {{"accept-encoding", "gzip;q=0.5, br"}}};
    CHECK(field(h(br.req), "content-encoding") == "br");
    fake_request z{"GET", "/", {{"accept-encoding", "zstd, gzip;q=0.1"}}};
    CHECK(field(h(z.req), "content-encoding") == "zstd");
    fake_request refuse{"GET", "/", {{"accept-encoding", "identity;q=0"}}};
    CHECK(h(refuse.req).status() == 406);
    // A small body still gets encoded for a client refusing identity.
    auto small =
      roadrunner::compose({roadrunner::compress(o)}, answer_with(big_text(10)));
    fake_request only_gzip{
      "GET", "/", {{"accept-encoding", "gzip, identity;q=0"}}};
    auto r = small(only_gzip.req);
    CHECK(field(r, "content-encoding") == "gzip");
    CHECK(gunzip(r.body()) == text_of_size(10));
  }
}

TEST_SUITE("web.decompress") {

  std::string gzip_of(std::string_view text) {
    auto enc = roadrunner::detail::make_encoder("gzip", {});
    std::string out;
    REQUIRE(enc->update(text, out, false));
    REQUIRE(enc->finish(out));
    return out;
  }

  TEST_CASE("a gzip request body reaches the handler decoded; a bomb is 413, "
            "a corrupt body 400, an unknown coding 415") {
    std::string seen;
    auto h = roadrunner::compose(
      {roadrunner::decompress_requests({.max_decoded = 100000})},
      [&](request& req) {
        seen = std::string{req.body()};
        return response::text(200, "ok");
      });
    auto text = text_of_size(50000);
    fake_request ok{"POST", "/", {{"content-encoding", "gzip"}}, gzip_of(text)};
    CHECK(h(ok.req).status() == 200);
    CHECK(seen == text);
    // 10 MB of zeros compress to about 10 KB: stopped at the limit.
    fake_request bomb{"POST",
                      "/",
                      {{"content-encoding", "gzip"}},
                      gzip_of(std::string(10'000'000, '\0'))};
    CHECK(bomb.body_bytes.size() < 20000);
    CHECK(h(bomb.req).status() == 413);
    auto cut = gzip_of(text);
    cut.resize(cut.size() / 2);
    fake_request bad{"POST", "/", {{"content-encoding", "gzip"}}, cut};
    CHECK(h(bad.req).status() == 400);
    fake_request odd{"POST", "/", {{"content-encoding", "compress"}}, "x"};
    auto r = h(odd.req);
    CHECK(r.status() == 415);
    CHECK(field(r, "accept-encoding"));
    fake_request raw{"POST", "/", {}, "as is"};
    CHECK(h(raw.req).status() == 200);
    CHECK(seen == "as is");
  }
}

TEST_SUITE("web.static_files") {

  TEST_CASE("hostile paths never leave the root: 400 for dot-dot, NUL, "
            "backslash and bad escapes; 404 for links leaving it") {
    temp_tree t;
    REQUIRE(::mkdir((t.dir + "/www").c_str(), 0755) == 0);
    REQUIRE(::mkdir((t.dir + "/www/sub").c_str(), 0755) == 0);
    t.write("secret.txt", "secret");
    t.write("www/ok.txt", "fine");
    t.write("www/sub/inner.txt", "inner");
    t.write("www/.hidden", "dot");
    REQUIRE(::symlink("/etc/passwd", (t.dir + "/www/abs_link").c_str()) == 0);
    REQUIRE(::symlink("../secret.txt", (t.dir + "/www/up_link").c_str()) == 0);
    REQUIRE(::symlink("..", (t.dir + "/www/up_dir").c_str()) == 0);
    REQUIRE(::symlink("ok.txt", (t.dir + "/www/in_link").c_str()) == 0);
    REQUIRE(::mkfifo((t.dir + "/www/fifo").c_str(), 0644) == 0);
    std::string why;
    auto h = roadrunner::static_files({.root = t.dir + "/www"}, why);
    REQUIRE_MESSAGE(h, why);
    auto refuse_links = roadrunner::static_files(
      {.root = t.dir + "/www", .symlinks = roadrunner::symlink_policy::refuse},
      why);
    REQUIRE(refuse_links);
    struct row {
      std::string_view raw;
      int status;
    };
    const row rows[] = {
      {"ok.txt", 200},
      {"./ok.txt", 200},
      {"sub//inner.txt", 200},
      {"sub/../ok.txt", 400},
      {"..", 400},
      {"../secret.txt", 400},
      {"%2e%2e/secret.txt", 400},
      {"%2E%2E%2fsecret.txt", 400},
      {"sub/%2e%2e/%2e%2e/secret.txt", 400},
      {"..%5csecret.txt", 400},
      {"sub\\..\\..\\secret.txt", 400},
      {"ok.txt%00.png", 400},
      {"%00", 400},
      {"%zz", 400},
      {"%2", 400},
      {"abs_link", 404},
      {"up_link", 404},
      {"up_dir/secret.txt", 404},
      {"in_link", 200},
      {".hidden", 404},
      {"sub/.hidden", 404},
      {"fifo", 404},
      {"missing.txt", 404},
      {"ok.txt/", 404},
      {"%2fetc%2fpasswd", 404},
    };
    for (const auto& r : rows) {
      CAPTURE(r.raw);
      fake_request f{"GET", "/static/x"};
      f.bind("path", r.raw);
      auto resp = h(f.req);
      CHECK(resp.status() == r.status);
      if (resp.status() == 200)
        CHECK(resp.file_body());
    }
    fake_request linked{"GET", "/static/in_link"};
    linked.bind("path", "in_link");
    CHECK(refuse_links(linked.req).status() == 404);
    fake_request direct{"GET", "/static/ok.txt"};
    direct.bind("path", "ok.txt");
    CHECK(refuse_links(direct.req).status() == 200);
  }

  TEST_CASE("on a route taking any method: OPTIONS is 204 and other methods "
            "405, both with allow naming OPTIONS (RFC 9110 9.3.7, 15.5.6)") {
    temp_tree t;
    t.write("ok.txt", "fine");
    std::string why;
    auto h = roadrunner::static_files({.root = t.dir}, why);
    REQUIRE_MESSAGE(h, why);
    fake_request options{"OPTIONS", "/static/ok.txt"};
    options.bind("path", "ok.txt");
    auto resp = h(options.req);
    CHECK(resp.status() == 204);
    CHECK(field(resp, "allow") == "GET, HEAD, OPTIONS");
    fake_request post{"POST", "/static/ok.txt"};
    post.bind("path", "ok.txt");
    resp = h(post.req);
    CHECK(resp.status() == 405);
    CHECK(field(resp, "allow") == "GET, HEAD, OPTIONS");
  }

  TEST_CASE("a root that is not a directory is refused with the reason") {
    std::string why;
    CHECK_FALSE(roadrunner::static_files({.root = "/nonexistent/www"}, why));
    CHECK(why.find("/nonexistent/www") != std::string::npos);
  }

  TEST_CASE("MIME types come from /etc/mime.types, with a default") {
    CHECK(roadrunner::mime_type("a/b/page.HTML") == "text/html");
    CHECK(roadrunner::mime_type("style.css") == "text/css");
    CHECK(roadrunner::mime_type("x.png") == "image/png");
    CHECK(roadrunner::mime_type("noext") == "application/octet-stream");
    CHECK(roadrunner::mime_type("x.unknownext", "/etc/mime.types", "a/b") ==
          "a/b");
  }
}
