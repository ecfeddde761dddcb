#include "http1/chars.hpp"
#include <roadrunner/detail/request_access.hpp>
#include <roadrunner/router.hpp>

#include <algorithm>
#include <optional>

namespace roadrunner {

using http1::is_token;

namespace {

// The parser accepts only 0x21-0x7E in a request target and ends the path
// at the first '?', so a pattern byte outside that set could never match.
bool is_path_byte(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7e && c != '?';
}

bool is_scheme(std::string_view s) noexcept {
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 3.1)
  auto alpha = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  if (s.empty() || !alpha(s.front()))
    return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return alpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
           c == '.';
  });
}

// The part of a request path that routes match: origin-form as is; for the
// absolute-form (RFC 9112 3.2.2, which a server must accept) the path after
// the authority; nothing for the asterisk and authority forms.
std::optional<std::string_view> routing_path(std::string_view path) noexcept {
  if (!path.empty() && path.front() == '/')
    return path;
  auto sep = path.find("://");
  if (sep == std::string_view::npos || !is_scheme(path.substr(0, sep)))
    return std::nullopt;
  auto slash = path.find('/', sep + 3);
  return path.substr(slash == std::string_view::npos ? path.size() : slash);
}

response not_found_response(request&) {
  return response::text(404, "Not Found\n");
}

} // namespace

const char* to_string(route_errc code) noexcept {
  switch (code) {
  case route_errc::empty_path:
    return "empty_path";
  case route_errc::relative_path:
    return "relative_path";
  case route_errc::bad_literal:
    return "bad_literal";
  case route_errc::empty_binding_name:
    return "empty_binding_name";
  case route_errc::duplicate_binding_name:
    return "duplicate_binding_name";
  case route_errc::wildcard_not_last:
    return "wildcard_not_last";
  case route_errc::too_many_bindings:
    return "too_many_bindings";
  case route_errc::bad_method:
    return "bad_method";
  case route_errc::empty_handler:
    return "empty_handler";
  case route_errc::empty_middleware:
    return "empty_middleware";
  }
  return "unknown";
}

// -- compiled_route -----------------------------------------------------------

bool compiled_route::allows(std::string_view method) const noexcept {
  if (methods_.empty())
    return true;
  auto has = [this](std::string_view m) {
    return std::find(methods_.begin(), methods_.end(), m) != methods_.end();
  };
  // RFC 9110 9.3.2: HEAD is GET without the content; the connection drops
  // the body, so every GET route serves HEAD too.
  return has(method) || (method == "HEAD" && has("GET"));
}

bool compiled_route::match_path(std::string_view path,
                                path_bindings& out) const noexcept {
  size_t pos = 0;
  auto skip_slashes = [&] {
    while (pos < path.size() && path[pos] == '/')
      ++pos;
  };
  for (const auto& seg : segments_) {
    skip_slashes();
    if (seg.kind == segment_kind::wildcard) {
      out.push(seg.text, path.substr(pos));
      return true;
    }
    if (pos == path.size())
      return false;
    auto end = std::min(path.find('/', pos), path.size());
    auto piece = path.substr(pos, end - pos);
    if (seg.kind == segment_kind::literal) {
      if (piece != seg.text)
        return false;
    } else {
      out.push(seg.text, piece); // capacity checked by compile
    }
    pos = end;
  }
  skip_slashes();
  return pos == path.size();
}

// -- compiled_routes ----------------------------------------------------------

namespace {

// The first non-empty segment of a routing path ("" for "/" or "//").
std::string_view first_segment(std::string_view path) noexcept {
  auto begin = path.find_first_not_of('/');
  if (begin == std::string_view::npos)
    return {};
  auto end = path.find('/', begin);
  return path.substr(begin, end == std::string_view::npos ? end : end - begin);
}

} // namespace

const std::vector<uint32_t>&
compiled_routes::candidates(std::string_view first) const noexcept {
  if (first.empty())
    return empty_path_;
  auto it = std::lower_bound(by_first_.begin(), by_first_.end(), first,
                             [](const first_segment_bucket& b,
                                std::string_view k) { return b.literal < k; });
  if (it != by_first_.end() && it->literal == first)
    return it->routes;
  return other_first_;
}

match_result compiled_routes::match(std::string_view method,
                                    std::string_view path) const noexcept {
  match_result res;
  if (single_) {
    res.status = match_status::found;
    res.route = routes_.data();
    return res;
  }
  auto p = routing_path(path);
  if (!p)
    return res;
  bool path_matched = false;
  for (uint32_t i : candidates(first_segment(*p))) {
    const auto& r = routes_[i];
    bool method_ok = r.allows(method);
    // Once some path matched, a route with the wrong method cannot change
    // the answer (405 either way): skip its path walk.
    if (!method_ok && path_matched)
      continue;
    res.bindings.clear();
    if (!r.match_path(*p, res.bindings))
      continue;
    if (method_ok) {
      res.status = match_status::found;
      res.route = &r;
      return res;
    }
    path_matched = true;
  }
  res.bindings.clear();
  res.status =
    path_matched ? match_status::method_not_allowed : match_status::not_found;
  return res;
}

std::string compiled_routes::allow(std::string_view path) const {
  auto p = routing_path(path);
  if (single_ || (!p && !path.empty()))
    return {};
  std::vector<std::string_view> methods;
  path_bindings scratch;
  for (const auto& r : routes_) {
    scratch.clear();
    if (p && !r.match_path(*p, scratch))
      continue;
    // The methods the routes declare, as upstream: HEAD is served on GET
    // routes but advertised only where declared.
    methods.insert(methods.end(), r.methods_.begin(), r.methods_.end());
  }
  std::sort(methods.begin(), methods.end());
  methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
  std::string out;
  for (auto m : methods) {
    if (!out.empty())
      out += ", ";
    out += m;
  }
  return out;
}

response compiled_routes::dispatch(request& req) const {
  return respond(req, match(req.method(), req.path()));
}

response compiled_routes::respond(request& req, const match_result& m) const {
  if (m.status == match_status::found) {
    detail::request_access::bindings(req, m.bindings);
    detail::request_access::state(req, &m.route->state_);
    return m.route->pipeline_(req);
  }
  detail::request_access::bindings(req, path_bindings{});
  detail::request_access::state(req, nullptr);
  // OPTIONS on a known path, or `OPTIONS *` (RFC 9110 9.3.7), is answered
  // by the same pipeline as 405: it lists the methods (204 plus `allow`).
  if (m.status == match_status::method_not_allowed ||
      (req.method() == "OPTIONS" && req.path() == "*"))
    return method_not_allowed_(req);
  return not_found_(req);
}

// -- compiling ----------------------------------------------------------------

namespace detail {

struct route_compiler {
  using segment = compiled_route::segment;
  using segment_kind = compiled_route::segment_kind;

  static route_error fail(route_errc code, size_t index, std::string path,
                          std::string reason) {
    return route_error{code, index, std::move(path), std::move(reason)};
  }

  static std::optional<route_error>
  check_middlewares(const std::vector<middleware>& mws, size_t index,
                    const std::string& path) {
    for (size_t i = 0; i < mws.size(); ++i)
      if (!mws[i])
        return fail(route_errc::empty_middleware, index, path,
                    "middleware " + std::to_string(i) + " is empty");
    return std::nullopt;
  }

  // Splits a pattern once, dropping empty segments (as the matcher skips
  // them in request paths).
  static std::optional<route_error> split_pattern(const std::string& path,
                                                  size_t index,
                                                  std::vector<segment>& out) {
    if (path.empty())
      return fail(route_errc::empty_path, index, path, "empty path");
    if (path.front() != '/')
      return fail(route_errc::relative_path, index, path,
                  "path must start with '/'");
    std::string_view rest = path;
    size_t bindings = 0;
    while (!rest.empty()) {
      auto slash = std::min(rest.find('/'), rest.size());
      auto piece = rest.substr(0, slash);
      rest.remove_prefix(std::min(slash + 1, rest.size()));
      if (piece.empty())
        continue;
      if (!std::all_of(piece.begin(), piece.end(), is_path_byte))
        return fail(route_errc::bad_literal, index, path,
                    "segment '" + std::string{piece} +
                      "' holds a byte no request path has (only visible "
                      "ASCII other than '?')");
      if (!out.empty() && out.back().kind == segment_kind::wildcard)
        return fail(route_errc::wildcard_not_last, index, path,
                    "wildcard '*" + out.back().text +
                      "' must be the last segment");
      if (piece.front() != ':' && piece.front() != '*') {
        out.push_back(segment{segment_kind::literal, std::string{piece}});
        continue;
      }
      auto kind =
        piece.front() == ':' ? segment_kind::param : segment_kind::wildcard;
      auto name = piece.substr(1);
      if (name.empty())
        return fail(route_errc::empty_binding_name, index, path,
                    "'" + std::string{piece} + "' has no binding name");
      for (const auto& seg : out)
        if (seg.kind != segment_kind::literal && seg.text == name)
          return fail(route_errc::duplicate_binding_name, index, path,
                      "binding name '" + std::string{name} + "' used twice");
      if (++bindings > path_bindings::capacity)
        return fail(route_errc::too_many_bindings, index, path,
                    "more than " + std::to_string(path_bindings::capacity) +
                      " bindings");
      out.push_back(segment{kind, std::string{name}});
    }
    return std::nullopt;
  }

  static std::optional<route_error>
  sort_methods(std::vector<std::string>& methods, size_t index,
               const std::string& path) {
    for (const auto& m : methods)
      if (!is_token(m))
        return fail(route_errc::bad_method, index, path,
                    "method '" + m + "' is not a token (RFC 9110 9.1)");
    std::sort(methods.begin(), methods.end());
    methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
    return std::nullopt;
  }

  static std::vector<shared_middleware> share(std::vector<middleware> mws) {
    std::vector<shared_middleware> out;
    out.reserve(mws.size());
    for (auto& mw : mws)
      out.push_back(std::make_shared<const middleware>(std::move(mw)));
    return out;
  }

  // The pipeline: listener middlewares (shared instances) outermost, then
  // the route's own, then the handler.
  static handler pipeline(const std::vector<shared_middleware>& listener,
                          std::vector<middleware> own, handler h) {
    auto layers = listener;
    auto mine = share(std::move(own));
    layers.insert(layers.end(), mine.begin(), mine.end());
    return compose_shared(layers, std::move(h));
  }

  // Whether an `allow` value (methods joined by ", ") names OPTIONS
  // (methods are case-sensitive, RFC 9110 9.1).
  static bool lists_options(std::string_view methods) noexcept {
    for (size_t at = 0;
         (at = methods.find("OPTIONS", at)) != std::string_view::npos; at += 7)
      if ((at == 0 || methods[at - 1] == ' ') &&
          (at + 7 == methods.size() || methods[at + 7] == ','))
        return true;
    return false;
  }

  // The 404 and 405 answers pass through the listener middlewares (not
  // through any route's), so CORS or security-header middlewares see them.
  static void add_fallbacks(compiled_routes& table,
                            const std::vector<shared_middleware>& listener) {
    table.not_found_ = compose_shared(listener, not_found_response);
    const compiled_routes* self = &table; // never moves: heap, non-copyable
    table.method_not_allowed_ = compose_shared(listener, [self](request& req) {
      // RFC 9110 9.3.7: a server answers OPTIONS for any resource it knows
      // (below), so OPTIONS is one of the methods the resource supports and
      // `allow` lists it in the 405 too (15.5.6, 10.2.1).
      bool options = req.method() == "OPTIONS";
      auto methods =
        self->allow(options && req.path() == "*" ? "" : req.path());
      if (methods.empty())
        methods = "OPTIONS";
      else if (!lists_options(methods))
        methods += ", OPTIONS";
      // OPTIONS: no content, 204.
      auto resp = options ? response::status_only(204)
                          : response::text(405, "Method Not Allowed\n");
      resp.header("allow", std::move(methods));
      return resp;
    });
  }

  static compile_result compile(route_list routes,
                                const std::vector<middleware>& listener) {
    if (auto err = check_middlewares(listener, route_error::listener, {}))
      return std::move(*err);
    std::shared_ptr<compiled_routes> table{new compiled_routes};
    table->routes_.reserve(routes.size());
    for (size_t i = 0; i < routes.size(); ++i) {
      auto& r = routes[i];
      if (!r.handler)
        return fail(route_errc::empty_handler, i, r.path, "empty handler");
      compiled_route c;
      if (auto err = split_pattern(r.path, i, c.segments_))
        return std::move(*err);
      if (auto err = sort_methods(r.methods, i, r.path))
        return std::move(*err);
      if (auto err = check_middlewares(r.middlewares, i, r.path))
        return std::move(*err);
      c.index_ = i;
      c.path_ = std::move(r.path);
      c.state_ = std::move(r.state);
      c.methods_ = std::move(r.methods);
      table->routes_.push_back(std::move(c));
    }
    // Pipelines last: every layer of the listener is shared, built once.
    auto shared = share(listener);
    for (size_t i = 0; i < routes.size(); ++i)
      table->routes_[i].pipeline_ = pipeline(
        shared, std::move(routes[i].middlewares), std::move(routes[i].handler));
    add_fallbacks(*table, shared);
    index_first_segments(*table);
    return std::shared_ptr<const compiled_routes>{std::move(table)};
  }

  // Builds the first-segment index (see compiled_routes::candidates). The
  // bucket keys point into the routes' segments: the table never changes
  // after this.
  static void index_first_segments(compiled_routes& t) {
    using kind = compiled_route::segment_kind;
    for (const auto& r : t.routes_)
      if (!r.segments_.empty() && r.segments_[0].kind == kind::literal)
        t.by_first_.push_back({r.segments_[0].text, {}});
    auto by_literal = [](const auto& a, const auto& b) {
      return a.literal < b.literal;
    };
    std::sort(t.by_first_.begin(), t.by_first_.end(), by_literal);
    t.by_first_.erase(std::unique(t.by_first_.begin(), t.by_first_.end(),
                                  [](const auto& a, const auto& b) {
                                    return a.literal == b.literal;
                                  }),
                      t.by_first_.end());
    for (uint32_t i = 0; i < t.routes_.size(); ++i) {
      const auto& segs = t.routes_[i].segments_;
      if (segs.empty()) {
        t.empty_path_.push_back(i);
        continue;
      }
      if (segs[0].kind == kind::literal) {
        compiled_routes::first_segment_bucket key{segs[0].text, {}};
        std::lower_bound(t.by_first_.begin(), t.by_first_.end(), key,
                         by_literal)
          ->routes.push_back(i);
        continue;
      }
      // A :param or a wildcard matches any first segment.
      for (auto& b : t.by_first_)
        b.routes.push_back(i);
      t.other_first_.push_back(i);
      if (segs[0].kind == kind::wildcard)
        t.empty_path_.push_back(i);
    }
  }

  static compile_result
  compile_single(handler h, std::any state, std::vector<middleware> mws,
                 const std::vector<middleware>& listener) {
    if (auto err = check_middlewares(listener, route_error::listener, {}))
      return std::move(*err);
    if (!h)
      return fail(route_errc::empty_handler, 0, {}, "empty handler");
    if (auto err = check_middlewares(mws, 0, {}))
      return std::move(*err);
    std::shared_ptr<compiled_routes> table{new compiled_routes};
    auto shared = share(listener);
    compiled_route c;
    c.state_ = std::move(state);
    c.pipeline_ = pipeline(shared, std::move(mws), std::move(h));
    table->routes_.push_back(std::move(c));
    table->single_ = true;
    add_fallbacks(*table, shared);
    return std::shared_ptr<const compiled_routes>{std::move(table)};
  }
};

} // namespace detail

compile_result compile(route_list routes,
                       const std::vector<middleware>& listener_middlewares) {
  return detail::route_compiler::compile(std::move(routes),
                                         listener_middlewares);
}

compile_result
compile_single(handler h, std::any state, std::vector<middleware> middlewares,
               const std::vector<middleware>& listener_middlewares) {
  return detail::route_compiler::compile_single(std::move(h), std::move(state),
                                                std::move(middlewares),
                                                listener_middlewares);
}

} // namespace roadrunner
