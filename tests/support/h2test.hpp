#pragma once

// Test support for the TLS and HTTP/2 end-to-end suites: a certificate and
// key made at test time with the openssl CLI (nothing is committed), curl
// with deadlines, and the python3-h2 client of tests/e2e/h2_client.py.

#include "net.hpp"

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rrtest {

/// A self-signed P-256 certificate for "localhost" and its key, in a fresh
/// temporary directory removed by the destructor.
struct test_certs {
  std::string dir;
  std::string cert;
  std::string key;

  test_certs() {
    char tmpl[] = "/tmp/rr-certs-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
    cert = dir + "/cert.pem";
    key = dir + "/key.pem";
    // Through sh only to silence openssl's progress output on stderr (the
    // paths come from mkdtemp: no quoting issues).
    auto [code, out] =
      run({"sh", "-c",
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
           "-nodes -days 1 -subj /CN=localhost "
           "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
             key + " -out " + cert + " 2>&1"});
    if (code != 0)
      throw std::runtime_error("openssl req failed: " + out);
  }

  test_certs(const test_certs&) = delete;
  test_certs& operator=(const test_certs&) = delete;

  ~test_certs() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  /// The demo flags for this certificate.
  std::vector<std::string> flags() const {
    return {"--tls-cert=" + cert, "--tls-key=" + key};
  }
};

/// curl -sS with a 10 s deadline; returns (exit code, stdout).
inline std::pair<int, std::string> curl(std::vector<std::string> args) {
  std::vector<std::string> argv{"curl", "-sS", "--max-time", "10"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

/// "https://127.0.0.1:PORT/path".
inline std::string https_url(uint16_t port, std::string_view path) {
  return "https://127.0.0.1:" + std::to_string(port) + std::string{path};
}

/// "http://127.0.0.1:PORT/path".
inline std::string http_url(uint16_t port, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(port) + std::string{path};
}

#ifdef ROADRUNNER_H2_CLIENT
/// The argv of an h2_client.py case.
inline std::vector<std::string> h2_argv(std::string_view name, uint16_t port,
                                        std::vector<std::string> args = {}) {
  std::vector<std::string> argv{"/usr/bin/python3", ROADRUNNER_H2_CLIENT,
                                std::string{name}, std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

/// Runs an h2_client.py case to completion (bounded); returns its stdout.
inline std::string h2_case(std::string_view name, uint16_t port,
                           std::vector<std::string> args = {}) {
  return run(h2_argv(name, port, std::move(args)), 30s).second;
}
#endif

/// The values of the output lines starting with `key ` (in order).
inline std::vector<std::string> values_of(std::string_view out,
                                          std::string_view key) {
  std::vector<std::string> res;
  size_t pos = 0;
  while (pos < out.size()) {
    auto eol = out.find('\n', pos);
    if (eol == std::string_view::npos)
      eol = out.size();
    auto line = out.substr(pos, eol - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key &&
        line[key.size()] == ' ')
      res.emplace_back(line.substr(key.size() + 1));
    pos = eol + 1;
  }
  return res;
}

/// The value of the first line starting with `key `, if any.
inline std::optional<std::string> value_of(std::string_view out,
                                           std::string_view key) {
  auto xs = values_of(out, key);
  if (xs.empty())
    return std::nullopt;
  return xs.front();
}

/// An integer field of the JSON /info answer (no JSON library needed for
/// these flat numbers).
inline long info_field(std::string_view json, std::string_view name) {
  // Appended piece by piece: GCC 12's -Wrestrict misfires on
  // `"literal" + std::string` inlined at -O3 (a Release -Werror build).
  std::string key = "\"";
  key += name;
  key += "\":";
  auto at = json.find(key);
  if (at == std::string_view::npos)
    return -1;
  return std::strtol(std::string{json.substr(at + key.size())}.c_str(), nullptr,
                     10);
}

} // namespace rrtest
