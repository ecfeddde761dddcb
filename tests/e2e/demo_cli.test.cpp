// The demo's command line as an operator meets it: --help, --version,
// --check-config, units, unknown flags and INI keys (issue 14 item 5).

#include "net.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

using namespace rrtest;

namespace {

// Runs the demo with `args`; returns (exit code, stdout) and stderr apart.
struct outcome {
  int code = -1;
  std::string out;
  std::string err;
};

outcome demo(std::vector<std::string> args) {
  char path[] = "/tmp/rr-cli-err-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0)
    throw std::runtime_error("mkstemp failed");
  ::close(fd);
  std::string cmd = "exec \"$0\" \"$@\" 2>" + std::string{path};
  std::vector<std::string> argv{"sh", "-c", cmd, ROADRUNNER_DEMO_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  auto [code, out] = run(argv);
  std::string err;
  if (FILE* f = std::fopen(path, "rb")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
      err.append(buf, n);
    std::fclose(f);
  }
  ::unlink(path);
  return {code, out, err};
}

// A temporary INI file, removed by the destructor.
struct ini_file {
  std::string path;
  explicit ini_file(const std::string& text) {
    char tmpl[] = "/tmp/rr-cli-ini-XXXXXX";
    int fd = ::mkstemp(tmpl);
    if (fd < 0 || ::write(fd, text.data(), text.size()) !=
                    static_cast<ssize_t>(text.size()))
      throw std::runtime_error("cannot write the INI file");
    ::close(fd);
    path = tmpl;
  }
  ~ini_file() { ::unlink(path.c_str()); }
  std::string flag() const { return "--config-file=" + path; }
};

} // namespace

TEST_SUITE("e2e.demo_cli") {

  TEST_CASE("--version prints the version on stdout and exits 0") {
    auto r = demo({"--version"});
    CHECK(r.code == 0);
    CHECK(r.out.rfind("roadrunner-demo ", 0) == 0);
    CHECK(r.out.find('.') != std::string::npos);
    CHECK(r.err.empty());
  }

  TEST_CASE("--help lists the demo's and the listener's options only, on "
            "stdout, exit 0") {
    auto r = demo({"--help"});
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    for (std::string flag :
         {"--port=", "--bind=", "--reactors=", "--drain-timeout=",
          "--config-file=", "--max-clients=", "--request-timeout=",
          "--graceful-drain=", "--tls-cert=", "--check-config", "--version"})
      CHECK_MESSAGE(r.out.find(flag) != std::string::npos, flag);
    // Nothing of CAF's internal groups.
    for (std::string caf :
         {"scheduler.max-threads", "work-stealing", "logger", "middleman",
          "--dump-config", "--long-help", "<int64>"})
      CHECK_MESSAGE(r.out.find(caf) == std::string::npos, caf);
  }

  TEST_CASE("--check-config validates without binding") {
    SUBCASE("a good configuration exits 0 and binds nothing") {
      // A port in use would fail a real start; the check never binds.
      demo_server busy;
      auto r = demo({"--check-config", "--port=" + std::to_string(busy.port),
                     "--request-timeout=30s", "--max-content-length=1MiB",
                     "--graceful-drain=false"});
      CHECK(r.code == 0);
      CHECK(r.out == "roadrunner-demo: configuration ok\n");
    }
    SUBCASE("a bad value exits 1 naming the flag") {
      auto r = demo({"--check-config", "--max-clients=0"});
      CHECK(r.code == 1);
      CHECK(r.out.empty());
      CHECK(r.err.find("--max-clients=0: must be >= 1") != std::string::npos);
    }
    SUBCASE("a protocol tunable is named by its own flag") {
      auto r = demo({"--check-config", "--max-request-line=0"});
      CHECK(r.code == 1);
      CHECK(r.err.find("--max-request-line=0") != std::string::npos);
    }
    SUBCASE("a missing certificate names --tls-cert") {
      auto r = demo({"--check-config", "--tls-cert=/nonexistent/cert.pem",
                     "--tls-key=/nonexistent/key.pem"});
      CHECK(r.code == 1);
      CHECK(r.err.find("--tls-cert=/nonexistent/cert.pem") !=
            std::string::npos);
    }
  }

  TEST_CASE("unknown flags fail start naming the nearest known flag") {
    auto r = demo({"--port=0", "--max-clientz=5"});
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.find("unknown option --max-clientz (did you mean "
                     "--max-clients?)") != std::string::npos);
    auto noise = demo({"--port=0", "--frobnicate"});
    CHECK(noise.code == 1);
    CHECK(noise.err.find("unknown option --frobnicate") != std::string::npos);
    CHECK(noise.err.find("did you mean") == std::string::npos);
    auto positional = demo({"--port=0", "stray"});
    CHECK(positional.code == 1);
    CHECK(positional.err.find("unexpected argument stray") !=
          std::string::npos);
  }

  TEST_CASE("unknown INI keys fail start naming the file, line and key") {
    ini_file ini{"; a comment\n[global]\nmax-clientz=5\n"};
    auto r = demo({"--port=0", ini.flag()});
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.find(ini.path + ":3: unknown key max-clientz (did you mean "
                                "max-clients?)") != std::string::npos);
    ini_file section{"[schedular]\npolicy=sharing\n"};
    auto s = demo({"--check-config", section.flag()});
    CHECK(s.code == 1);
    CHECK(s.err.find("unknown key schedular.policy (did you mean "
                     "scheduler.policy?)") != std::string::npos);
  }

  TEST_CASE("CAF's own options still pass, on the command line and in INI") {
    ini_file ini{"[scheduler]\npolicy = \"sharing\"\n"};
    auto r = demo({"--check-config", ini.flag(), "--scheduler.max-threads=2"});
    CHECK(r.code == 0);
    auto bad = demo({"--check-config", "--scheduler.polcy=sharing"});
    CHECK(bad.code == 1);
    CHECK(bad.err.find("did you mean --scheduler.policy?") !=
          std::string::npos);
  }

  TEST_CASE("values with units, booleans, and clear errors for bad ones") {
    SUBCASE("--request-timeout=200ms gives 408 after 200 ms") {
      demo_server srv{{"--request-timeout=200ms"}};
      client c{srv.port};
      auto res = c.read_response(5s);
      REQUIRE(res);
      CHECK(res->status == 408);
    }
    SUBCASE("--max-content-length=1k: 1024 bytes pass, 1025 get 413") {
      demo_server srv{{"--max-content-length=1k"}};
      client ok{srv.port};
      REQUIRE(ok.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: "
                      "1024\r\n\r\n" +
                      std::string(1024, 'x')));
      auto res = ok.read_response();
      REQUIRE(res);
      CHECK(res->status == 200);
      client over{srv.port};
      REQUIRE(over.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: "
                        "1025\r\n\r\n"));
      res = over.read_response();
      REQUIRE(res);
      CHECK(res->status == 413);
    }
    SUBCASE("units in the INI file, and the command line wins over it") {
      ini_file ini{"[global]\nmax-clients = 7\nkeep-alive-timeout=2m\n"
                   "graceful-drain=true\n"};
      demo_server srv{{ini.flag(), "--max-clients=9"}};
      auto [code, out] =
        run({"curl", "-sS", "--max-time", "10", srv.url("/info")});
      CHECK(out.find(R"("max_clients":9)") != std::string::npos);
    }
    SUBCASE("bad values name the flag and what it takes") {
      auto d = demo({"--port=0", "--request-timeout=30sec"});
      CHECK(d.code == 1);
      CHECK(d.err.find("--request-timeout=30sec: not a duration") !=
            std::string::npos);
      auto z = demo({"--port=0", "--max-content-length=1MB"});
      CHECK(z.code == 1);
      CHECK(z.err.find("--max-content-length=1MB: not a size") !=
            std::string::npos);
      auto b = demo({"--port=0", "--graceful-drain=yes"});
      CHECK(b.code == 1);
      CHECK(b.err.find("--graceful-drain=yes: not a boolean") !=
            std::string::npos);
      auto n = demo({"--port=0", "--max-clients=many"});
      CHECK(n.code == 1);
      CHECK(n.err.find("--max-clients=many") != std::string::npos);
    }
  }
}
