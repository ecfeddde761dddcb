#pragma once

// Route lists, their compiled (immutable) form, matching and dispatch.
//
// A route list is compiled once (listener start, later `reload_routes`) into a
// `compiled_routes` table held by `std::shared_ptr<const compiled_routes>`.
// The table is never modified after `compile` returns, so any number of
// threads may match and dispatch on it at once without locks; swapping in a
// new table (RCU style) leaves requests that already hold the old pointer
// finishing on it.

#include <roadrunner/middleware.hpp>
#include <roadrunner/request.hpp>
#include <roadrunner/response.hpp>

#include <any>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roadrunner {

namespace detail {
struct route_compiler; // router.cpp
} // namespace detail

/// One entry of a route list (the seed's map form; the tuple forms are this
/// with fewer fields set). Every member has a default member initializer, so
/// designated initializers may leave any out without -Wextra warnings:
/// `route{.path = "/users/:id", .handler = h, .methods = {"GET"}}`.
///
/// Path syntax: '/'-separated segments; a segment is a literal (byte-exact,
/// case-sensitive), `:name` (binds one non-empty segment) or `*name` (only
/// as the last segment: binds the rest of the path as sent, from the first
/// byte of its next non-empty segment, so never with a leading '/' but with
/// inner and trailing slashes kept; empty when nothing follows). Empty
/// segments are ignored on both sides, as upstream does (`/a//b/` is `/a/b`,
/// and `/` is the empty path), so a trailing slash never matters. Matching is
/// on the raw path: nothing is percent-decoded, in the path or in bindings
/// (`%2F` never splits a segment; dot segments are not removed, so a
/// handler that maps a wildcard to files must refuse "..").
struct route {
  /// The pattern, starting with '/'.
  std::string path{};
  /// Runs when this route is chosen (after the middlewares). Must not be
  /// empty.
  roadrunner::handler handler{};
  /// Per-route state, reachable as `request::state()` / `state_as<T>()`
  /// while the pipeline runs (also from the middlewares). May be empty.
  std::any state{};
  /// Per-route middlewares, run inside the listener-wide ones; the first in
  /// the list is the outermost.
  std::vector<middleware> middlewares{};
  /// Method tokens (case-sensitive) this route accepts; empty = any method.
  /// A route that accepts GET also accepts HEAD (RFC 9110 9.3.2).
  std::vector<std::string> methods{};
};

/// Routes in priority order: the first that matches wins.
using route_list = std::vector<route>;

/// Why `compile` refused a route list.
enum class route_errc : uint8_t {
  empty_path,             // path is ""
  relative_path,          // path does not start with '/'
  bad_literal,            // a byte that a request path never holds
  empty_binding_name,     // ":" or "*" with no name after it
  duplicate_binding_name, // the same name bound twice in one route
  wildcard_not_last,      // "*name" followed by more segments
  too_many_bindings,      // more than path_bindings::capacity
  bad_method,             // a method that is not a token (RFC 9110 9.1)
  empty_handler,          // route::handler is empty
  empty_middleware,       // an empty middleware in a route or the listener
};

/// The enumerator's name, e.g. "wildcard_not_last".
const char* to_string(route_errc code) noexcept;

/// A refused route list: the first problem found, in list order (listener
/// middlewares first, then each route's handler, path, methods, middlewares).
struct route_error {
  /// `index` of a problem in the listener-wide middlewares.
  static constexpr size_t listener = static_cast<size_t>(-1);

  /// What is wrong.
  route_errc code = route_errc::empty_path;
  /// Position of the route in the list, or `listener`.
  size_t index = 0;
  /// The route's path as given (empty for `listener`).
  std::string path;
  /// A sentence naming the offending piece, e.g. "binding name 'id' used
  /// twice".
  std::string reason;
};

/// One route of a compiled table: its pattern split once, its methods sorted
/// and de-duplicated, and its middlewares and handler composed into one
/// callable. Immutable; lives as long as its table.
class compiled_route {
public:
  /// Position in the route list given to `compile` (0 in single-handler
  /// mode); lets a caller keep side tables, e.g. of handler actors.
  size_t index() const noexcept { return index_; }

  /// The pattern as given (empty in single-handler mode).
  const std::string& path() const noexcept { return path_; }

  /// The route's state (possibly empty).
  const std::any& state() const noexcept { return state_; }

  /// Accepted methods, sorted and de-duplicated; empty = any.
  std::span<const std::string> methods() const noexcept { return methods_; }

  /// Whether `method` is accepted (HEAD is accepted where GET is).
  bool allows(std::string_view method) const noexcept;

  /// Runs the composed pipeline (listener middlewares, route middlewares,
  /// handler) on `req` as it is; see `compiled_routes::respond`, which also
  /// sets the bindings and the state first. Exceptions from the pipeline
  /// propagate.
  response run(request& req) const { return pipeline_(req); }

private:
  friend class compiled_routes;
  friend struct detail::route_compiler;

  enum class segment_kind : uint8_t { literal, param, wildcard };

  struct segment {
    segment_kind kind;
    std::string text; // the literal, or the binding name
  };

  // Matches the segments against a routing path (origin-form, or the path
  // part of an absolute-form target), appending the bindings to `out`. No
  // allocation.
  bool match_path(std::string_view path, path_bindings& out) const noexcept;

  size_t index_ = 0;
  std::string path_;
  std::any state_;
  std::vector<std::string> methods_;
  std::vector<segment> segments_;
  handler pipeline_;
};

/// The outcome of `compiled_routes::match`.
enum class match_status : uint8_t {
  found,              // `route` and `bindings` are set
  not_found,          // no route's path matches -> 404
  method_not_allowed, // a path matches but not the method -> 405 + allow
};

/// A match: status, the chosen route and its bindings. `route` points into
/// the table and binding names into it too; binding values point into the
/// path given to `match`. Valid while both live.
struct match_result {
  /// Found, or why not (404, 405).
  match_status status = match_status::not_found;
  /// The chosen route when `found`, else nullptr.
  const compiled_route* route = nullptr;
  /// The route's bindings when `found`.
  path_bindings bindings;
};

/// A compiled, immutable route table; obtain it from `compile` or
/// `compile_single`. Every member is const and safe to call from several
/// threads at once (the handlers and middlewares must be, too).
class compiled_routes {
public:
  compiled_routes(const compiled_routes&) = delete;
  compiled_routes& operator=(const compiled_routes&) = delete;

  /// Finds the first route whose path and method match. Only the routes
  /// whose first segment can match the path's are tried (an index built
  /// by `compile`: a binary search on the literal first segments), in list
  /// order, each over the path's bytes; allocates nothing. `path` is the raw
  /// request path (no query); an absolute-form target ("http://host/a") is
  /// matched on its path part; any other path not starting with '/' (e.g. "*")
  /// matches no route. In single-handler mode every request is `found`.
  match_result match(std::string_view method,
                     std::string_view path) const noexcept;

  /// The `allow` value for `path`: the declared methods of every route whose
  /// path matches (HEAD is served on GET routes but listed only where
  /// declared, as upstream does), sorted (byte order),
  /// de-duplicated and joined with ", " (RFC 9110 10.2.1). Empty when no
  /// route's path matches. An empty `path` lists every route's methods
  /// (what `OPTIONS *` answers).
  std::string allow(std::string_view path) const;

  /// `respond(req, match(req.method(), req.path()))`.
  response dispatch(request& req) const;

  /// Answers `req` given its match: when found, sets the request's bindings
  /// and state, then runs the route's pipeline; otherwise runs the listener
  /// middlewares around the 404 (`text/plain` "Not Found") or the 405
  /// (`text/plain` "Method Not Allowed" plus `allow`: `allow(path)` and
  /// OPTIONS, which every known path answers), so middlewares such
  /// as CORS see those too and may answer instead (docs/upstream-bugs.md F4).
  /// OPTIONS on a path some route matches (with other methods), and
  /// `OPTIONS *`, take the 405 pipeline but answer 204 with `allow` (the
  /// methods plus OPTIONS; RFC 9110 9.3.7).
  /// Exceptions from handlers and middlewares propagate.
  response respond(request& req, const match_result& m) const;

  /// True for a table built by `compile_single` (never 404 or 405).
  bool single_handler() const noexcept { return single_; }

  /// The compiled routes, in list order.
  std::span<const compiled_route> routes() const noexcept { return routes_; }

private:
  friend struct detail::route_compiler;

  compiled_routes() = default;

  // Which routes can match a path, by its first non-empty segment: each
  // list holds positions in routes_, in list order. A route with a literal
  // first segment is in that literal's bucket only; one starting with a
  // :param in every bucket and in other_first_; one starting with a
  // wildcard also in empty_path_; "/" (no segment) in empty_path_ only.
  struct first_segment_bucket {
    std::string_view literal; // into routes_[...].segments_[0].text
    std::vector<uint32_t> routes;
  };
  const std::vector<uint32_t>&
  candidates(std::string_view first) const noexcept;

  std::vector<compiled_route> routes_;
  std::vector<first_segment_bucket> by_first_; // sorted by literal
  std::vector<uint32_t> other_first_;          // first segment no literal names
  std::vector<uint32_t> empty_path_;           // paths without a segment ("/")
  handler not_found_;          // listener middlewares around the 404
  handler method_not_allowed_; // listener middlewares around the 405
  bool single_ = false;
};

/// The result of `compile`: a shareable table or the first error.
class compile_result {
public:
  /// A compiled table.
  compile_result(std::shared_ptr<const compiled_routes> table) noexcept
    : table_(std::move(table)) {}

  /// A refusal.
  compile_result(route_error err) noexcept : error_(std::move(err)) {}

  /// True when compiling succeeded.
  bool has_value() const noexcept { return table_ != nullptr; }
  /// True when compiling succeeded.
  explicit operator bool() const noexcept { return has_value(); }

  /// The table; null when compiling failed.
  const std::shared_ptr<const compiled_routes>& value() const noexcept {
    return table_;
  }

  /// The error; meaningful only when `!has_value()`.
  const route_error& error() const noexcept { return error_; }

  /// The table; only when compiling succeeded.
  const compiled_routes& operator*() const noexcept { return *table_; }
  /// Members of the table; only when compiling succeeded.
  const compiled_routes* operator->() const noexcept { return table_.get(); }

private:
  std::shared_ptr<const compiled_routes> table_;
  route_error error_;
};

/// Checks and compiles `routes`: splits every path once, sorts and
/// de-duplicates methods, and composes each route's pipeline (listener
/// middlewares outermost, then the route's, then the handler) plus the
/// 404 and 405 pipelines (listener middlewares only). Each listener
/// middleware is one shared instance across all pipelines. An empty list
/// is valid (every request gets 404). Never throws for a bad route; only
/// std::bad_alloc can escape.
compile_result
compile(route_list routes,
        const std::vector<middleware>& listener_middlewares = {});

/// Compiles single-handler dispatch (the seed's `routes => Handler` and
/// `{Handler, State}` forms): every request, whatever its method and path,
/// runs listener middlewares, then `middlewares`, then `h`, with `state`
/// reachable from the request. Fails only for an empty handler or
/// middleware.
compile_result
compile_single(roadrunner::handler h, std::any state = {},
               std::vector<middleware> middlewares = {},
               const std::vector<middleware>& listener_middlewares = {});

} // namespace roadrunner
