#pragma once

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/type_list.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

namespace roadrunner {

namespace detail {
class reactor;
class listener_registry;
} // namespace detail

/// The reactor threads of an actor system. CAF 0.17 parses the command line
/// before it loads modules and has no per-module option hook, so the setups
/// that work fully (the `roadrunner.reactors` option and readable errors)
/// are:
///
///     // 1. A config derived from roadrunner::system_config (recommended):
///     struct config : roadrunner::system_config { /* own options */ };
///     config cfg;
///     cfg.parse(argc, argv);            // --roadrunner.reactors=N
///     caf::actor_system sys{cfg};
///
///     // 2. The same with CAF_MAIN, which takes the config type from
///     //    caf_main's second parameter:
///     void caf_main(caf::actor_system& sys, const config& cfg);
///     CAF_MAIN()
///
///     // 3. A plain config: the module registers the error renderer when
///     //    it starts; the option is not declared, so set it in code:
///     caf::actor_system_config cfg;
///     cfg.load<roadrunner::module>();
///     caf::put(cfg.content, "roadrunner.reactors", size_t{4});
///
/// (`CAF_MAIN(roadrunner::module)` with a plain config refuses
/// `--roadrunner.reactors` on the command line.)
///
/// Config: `roadrunner.reactors` (default: one per core). The reactors start
/// with the actor system and stop after every actor is done; all listeners
/// of the system share them. CAF 0.17 has a fixed table of module slots, so
/// this module occupies the `network_manager` slot (unused by CAF 0.17's
/// core and io libraries).
class module : public caf::actor_system::module {
public:
  /// Called by CAF when the actor system loads the module.
  explicit module(caf::actor_system& sys);
  ~module() override;

  /// Factory used by `actor_system_config::load`.
  static caf::actor_system::module* make(caf::actor_system& sys,
                                         caf::detail::type_list<>);

  /// The loaded module of `sys`, or nullptr when not loaded.
  static module* from(caf::actor_system& sys) noexcept;

  /// Starts the reactor threads (CAF calls it when the system starts).
  void start() override;
  /// Stops the reactor threads after every actor is done (CAF calls it).
  void stop() override;
  /// Reads `roadrunner.reactors` from `cfg` and registers the error renderer.
  void init(caf::actor_system_config& cfg) override;
  /// The CAF module slot it occupies (`network_manager`).
  id_t id() const override;
  /// This module, for CAF's module lookup.
  void* subtype_ptr() override;

  /// Number of reactor threads.
  size_t num_reactors() const noexcept { return reactors_.size(); }

  /// Reactor `i` (0 <= i < num_reactors()).
  detail::reactor& reactor_at(size_t i) noexcept { return *reactors_[i]; }

  /// The next reactor in round-robin order.
  detail::reactor& next_reactor() noexcept;

  /// The system's running listeners by name (see `roadrunner::whereis`).
  detail::listener_registry& listeners() noexcept { return *listeners_; }

private:
  caf::actor_system& sys_;
  size_t wanted_ = 0;
  std::vector<std::unique_ptr<detail::reactor>> reactors_;
  std::atomic<size_t> next_{0};
  std::unique_ptr<detail::listener_registry> listeners_;
};

/// An actor system config prepared for roadrunner: it loads the module,
/// declares its options (`roadrunner.reactors`, settable from the CLI as
/// `--roadrunner.reactors=N` or in the INI file) and registers the error
/// renderer of the "roadrunner" category. Derive your config from it.
class system_config : public caf::actor_system_config {
public:
  system_config();
};

/// For `main`: parses the command line (and `caf-application.ini`) into
/// `cfg` as `CAF_MAIN` does. Returns the status `main` should return at
/// once: 0 after `--help` printed the options, 1 after printing a parse
/// error to stderr; nullopt to go on.
std::optional<int> parse_args(caf::actor_system_config& cfg, int argc,
                              char** argv);

} // namespace roadrunner
