#include "web_fields.hpp"
#include <roadrunner/cors.hpp>

#include <algorithm>
#include <memory>
#include <utility>

namespace roadrunner {

namespace {

struct cors_state {
  cors_options opts;
  std::string methods;     // joined
  std::string exposed;     // joined
  std::string max_age;     // decimal, or empty
  bool any_origin = false; // "*" in origins
  bool any_header = false; // "*" in headers
  bool vary_origin = true; // the answer depends on Origin

  bool origin_ok(std::string_view origin) const {
    if (opts.allow_origin)
      return opts.allow_origin(origin);
    return any_origin || std::find(opts.origins.begin(), opts.origins.end(),
                                   origin) != opts.origins.end();
  }

  bool method_ok(std::string_view m) const {
    // Methods are case-sensitive (RFC 9110 9.1).
    return std::find(opts.methods.begin(), opts.methods.end(), m) !=
           opts.methods.end();
  }

  bool header_ok(std::string_view h) const {
    return any_header || std::any_of(opts.headers.begin(), opts.headers.end(),
                                     [h](const std::string& x) {
                                       return http1::iequals(x, h);
                                     });
  }

  // The fields every CORS answer to an allowed origin carries.
  void allow(response& r, std::string_view origin) const {
    r.header("access-control-allow-origin",
             vary_origin ? std::string{origin} : std::string{"*"});
    if (opts.credentials)
      r.header("access-control-allow-credentials", "true");
  }

  response preflight(request& req, std::string_view origin,
                     std::string_view method) const {
    auto refuse = [this](std::string why) {
      auto r = response::text(403, "CORS preflight refused: " + why + "\n");
      if (vary_origin)
        detail::add_vary(r, "origin");
      return r;
    };
    if (!origin_ok(origin))
      return refuse("origin not allowed");
    if (!method_ok(method))
      return refuse("method " + std::string{method} + " not allowed");
    std::string asked;
    std::string bad;
    if (auto hs = req.header("access-control-request-headers")) {
      asked = std::string{*hs};
      detail::for_each_element(*hs, [&](std::string_view h) {
        if (bad.empty() && !header_ok(h))
          bad = std::string{h};
      });
    }
    if (!bad.empty())
      return refuse("header " + bad + " not allowed");
    auto r = response::status_only(204);
    allow(r, origin);
    r.header("access-control-allow-methods", methods);
    if (!asked.empty())
      r.header("access-control-allow-headers",
               any_header ? asked : detail::join(opts.headers));
    if (!max_age.empty())
      r.header("access-control-max-age", max_age);
    if (vary_origin)
      detail::add_vary(r, "origin");
    detail::add_vary(r, "access-control-request-method");
    detail::add_vary(r, "access-control-request-headers");
    return r;
  }
};

} // namespace

middleware cors(cors_options opts) {
  auto st = std::make_shared<cors_state>();
  st->any_origin = std::find(opts.origins.begin(), opts.origins.end(), "*") !=
                   opts.origins.end();
  st->any_header = std::find(opts.headers.begin(), opts.headers.end(), "*") !=
                   opts.headers.end();
  // "*" may only be sent without credentials (Fetch 3.3.5); with a
  // predicate or a list the answer names the origin and varies by it.
  st->vary_origin = !st->any_origin || opts.credentials || opts.allow_origin;
  st->methods = detail::join(opts.methods);
  st->exposed = detail::join(opts.exposed_headers);
  if (opts.max_age >= 0)
    st->max_age = std::to_string(opts.max_age);
  st->opts = std::move(opts);
  return [st](request& req, const next_fn& next) {
    auto origin = req.header("origin");
    if (!origin)
      return next(req);
    if (req.method() == "OPTIONS")
      if (auto m = req.header("access-control-request-method"))
        return st->preflight(req, *origin, *m);
    // `origin` points into the request, which outlives this call.
    auto r = next(req);
    if (st->origin_ok(*origin)) {
      st->allow(r, *origin);
      if (!st->exposed.empty())
        r.header("access-control-expose-headers", st->exposed);
    }
    if (st->vary_origin)
      detail::add_vary(r, "origin");
    return r;
  };
}

} // namespace roadrunner
