#include <roadrunner/errors.hpp>

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>

namespace roadrunner {

const char* to_string(errc x) noexcept {
  switch (x) {
  case errc::invalid_listener_opt:
    return "invalid_listener_opt";
  case errc::listener_opt_conflict:
    return "listener_opt_conflict";
  case errc::listen_failed:
    return "listen_failed";
  case errc::module_not_loaded:
    return "module_not_loaded";
  case errc::no_routes:
    return "no_routes";
  case errc::already_started:
    return "already_started";
  }
  return "unknown";
}

caf::error make_error(errc x) {
  return caf::error{static_cast<uint8_t>(x), error_category};
}

std::string render_error(uint8_t code, caf::atom_value,
                         const caf::message& context) {
  std::string out = to_string(static_cast<errc>(code));
  out += '(';
  for (size_t i = 0; i < context.size(); ++i) {
    if (i > 0)
      out += ", ";
    if (context.match_element<std::string>(i))
      out += context.get_as<std::string>(i);
    else
      out += context.stringify(i);
  }
  out += ')';
  return out;
}

void add_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(
    error_category,
    [](uint8_t code, caf::atom_value category, const caf::message& ctx) {
      return render_error(code, category, ctx);
    });
}

} // namespace roadrunner
