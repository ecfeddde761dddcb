#pragma once

// Cross-origin resource sharing (the Fetch standard's CORS protocol) as a
// middleware: mount it listener-wide (`listener_options::middlewares`) or
// on the routes that browsers on other origins may call.
//
//     roadrunner::cors_options c;
//     c.origins = {"https://app.example"};
//     c.methods = {"GET", "POST"};
//     c.headers = {"content-type"};
//     opts.middlewares.push_back(roadrunner::cors(std::move(c)));

#include <roadrunner/middleware.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace roadrunner {

/// What the CORS middleware allows.
struct cors_options {
  /// Allowed origins, compared byte for byte with the `Origin` field
  /// (scheme://host[:port], no trailing slash). "*" allows every origin.
  std::vector<std::string> origins{};
  /// When set, decides instead of `origins` (called on the connection's
  /// thread, possibly on several at once).
  std::function<bool(std::string_view origin)> allow_origin{};
  /// Methods a preflight may ask for (`access-control-allow-methods`).
  std::vector<std::string> methods{"GET", "HEAD", "POST"};
  /// Request header names a preflight may ask for, case-insensitive
  /// (`access-control-allow-headers`); "*" allows any (echoed back).
  std::vector<std::string> headers{};
  /// Response header names scripts may read
  /// (`access-control-expose-headers`).
  std::vector<std::string> exposed_headers{};
  /// Sends `access-control-allow-credentials: true`; the allowed origin is
  /// then always echoed, never "*".
  bool credentials = false;
  /// Seconds a browser may cache a preflight (`access-control-max-age`);
  /// negative: not sent.
  int64_t max_age = -1;
};

/// The CORS middleware. A request without `Origin` passes untouched. A
/// preflight (OPTIONS with `Origin` and `Access-Control-Request-Method`) is
/// answered here and never reaches the handler: 204 with the allow-fields
/// when the origin, the method and every requested header are allowed,
/// otherwise 403 (plain text naming what was refused). Any other request
/// from an allowed origin runs the pipeline and gets
/// `access-control-allow-origin` (plus credentials and exposed headers)
/// added, also on deferred and streamed answers; from another origin it
/// runs without them (the browser then hides the answer). Every answer but
/// an all-origins ("*" without credentials) one carries `vary: origin`.
middleware cors(cors_options opts);

} // namespace roadrunner
