#pragma once

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include <cstdint>
#include <string>

namespace roadrunner {

/// Error codes of the `roadrunner` category (counterparts of the seed's
/// start-up error shapes). The error's context names the option, its value
/// and a reason.
enum class errc : uint8_t {
  /// `{invalid_listener_opt, Key, Value}`: context (option, value, reason).
  invalid_listener_opt = 1,
  /// `{listener_opt_conflict, Key, Value, Reason}`: context (option, value,
  /// reason).
  listener_opt_conflict,
  /// `{listen_failed, Reason}`: context (reason).
  listen_failed,
  /// `roadrunner::module` is not loaded in this actor system.
  module_not_loaded,
  /// `reload_routes` on a single-handler listener.
  no_routes,
  /// `{already_started, Name}`: a listener of that name runs in this actor
  /// system; context (name).
  already_started,
};

/// The error category atom: "roadrunner".
constexpr caf::atom_value error_category = caf::atom("roadrunner");

/// Name of an error code ("invalid_listener_opt").
const char* to_string(errc x) noexcept;

/// A `caf::error` of our category with no context.
caf::error make_error(errc x);

/// A `caf::error` of our category with a context message.
template <class... Ts>
caf::error make_error(errc x, Ts&&... xs) {
  return caf::error{static_cast<uint8_t>(x), error_category,
                    caf::make_message(std::forward<Ts>(xs)...)};
}

/// Renders an error of our category, e.g.
/// "invalid_listener_opt(max_clients, 0, must be >= 1)".
std::string render_error(uint8_t code, caf::atom_value category,
                         const caf::message& context);

/// Registers `render_error` for our category with `cfg` (so
/// `sys.render(err)` prints it).
void add_error_category(caf::actor_system_config& cfg);

} // namespace roadrunner
