#include "listener_registry.hpp"
#include "reactor.hpp"
#include <roadrunner/errors.hpp>
#include <roadrunner/module.hpp>

#include <caf/actor_system_config.hpp>
#include <caf/config_value.hpp>

#include <iostream>
#include <thread>

namespace roadrunner {

module::module(caf::actor_system& sys) :sys_(sys),
  listeners_(std::make_unique<detail::listener_registry>()) {}

module::~module() {
  stop();
}

caf::actor_system::module* module::make(caf::actor_system& sys,
                                        caf::detail::type_list<>) {
  return new module(sys);
}

module* module::from(caf::actor_system& sys) noexcept {
  if (!sys.has_network_manager())
    return nullptr;
  // network_manager() reinterpret_casts our subtype_ptr() (== this); cast
  // back to what it really is.
  return reinterpret_cast<module*>(&sys.network_manager());
}

void module::init(caf::actor_system_config& cfg) {
  // Readable errors in every setup, also with a plain config plus
  // cfg.load<roadrunner::module>() (system_config registers it as well).
  add_error_category(cfg);
  auto cores = std::thread::hardware_concurrency();
  auto n = caf::get_or(cfg, "roadrunner.reactors",
                       static_cast<size_t>(cores > 0 ? cores : 1));
  wanted_ = n > 0 ? n : 1;
}

void module::start() {
  for (size_t i = 0; i < wanted_; ++i)
    reactors_.emplace_back(std::make_unique<detail::reactor>(sys_, i));
  for (auto& r : reactors_)
    r->start();
}

void module::stop() {
  // By now every listener has ended (the system waits for its actors)
  // unless awaiting them was turned off: then they end with their handles.
  listeners_->clear();
  for (auto& r : reactors_)
    r->stop();
}

caf::actor_system::module::id_t module::id() const {
  return network_manager;
}

void* module::subtype_ptr() {
  return this;
}

detail::reactor& module::next_reactor() noexcept {
  auto i = next_.fetch_add(1, std::memory_order_relaxed);
  return *reactors_[i % reactors_.size()];
}

system_config::system_config() {
  load<module>();
  roadrunner::add_error_category(*this);
  opt_group{custom_options_, "roadrunner"}.add<size_t>(
    "reactors", "reactor threads (default: one per core)");
}

std::optional<int> parse_args(caf::actor_system_config& cfg, int argc,
                              char** argv) {
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << caf::actor_system_config::render(err) << std::endl;
    return 1;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  return std::nullopt;
}

} // namespace roadrunner
