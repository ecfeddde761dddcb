// The documented ways to load roadrunner into a CAF 0.17 application each
// give the reactors option and readable errors (issue 13, item 3).
#include <roadrunner/errors.hpp>
#include <roadrunner/module.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exec_main.hpp>
#include <caf/settings.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

// Renders one of our errors with `sys` (readable: "listen_failed(busy)";
// unregistered: "error(3, roadrunner, ...)").
std::string rendered(caf::actor_system& sys) {
  return sys.render(roadrunner::make_error(roadrunner::errc::listen_failed,
                                           std::string{"busy"}));
}

struct argv_builder {
  std::vector<std::string> args;
  std::vector<char*> ptrs;
  explicit argv_builder(std::vector<std::string> xs) : args(std::move(xs)) {
    for (auto& a : args)
      ptrs.push_back(a.data());
    ptrs.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(args.size()); }
  char** argv() { return ptrs.data(); }
};

// What caf_main saw (CAF_MAIN calls a plain function).
size_t seen_reactors = 0;
std::string seen_error;

void caf_main(caf::actor_system& sys, const roadrunner::system_config&) {
  seen_reactors = roadrunner::module::from(sys)->num_reactors();
  seen_error = rendered(sys);
}

} // namespace

TEST_SUITE("actors.modules") {

  TEST_CASE("roadrunner::system_config takes --roadrunner.reactors from the "
            "command line and renders errors") {
    roadrunner::system_config cfg;
    argv_builder args{{"app", "--roadrunner.reactors=3"}};
    REQUIRE_FALSE(cfg.parse(args.argc(), args.argv()));
    caf::actor_system sys{cfg};
    REQUIRE(roadrunner::module::from(sys) != nullptr);
    CHECK(roadrunner::module::from(sys)->num_reactors() == 3);
    CHECK(rendered(sys) == "listen_failed(busy)");
  }

  TEST_CASE("CAF_MAIN with caf_main(sys, const roadrunner::system_config&) "
            "takes the option and renders errors") {
    argv_builder args{{"app", "--roadrunner.reactors=2"}};
    seen_reactors = 0;
    seen_error.clear();
    // Exactly what CAF_MAIN() expands to.
    CHECK(caf::exec_main<>(caf_main, args.argc(), args.argv()) == 0);
    CHECK(seen_reactors == 2);
    CHECK(seen_error == "listen_failed(busy)");
  }

  TEST_CASE("a plain config with cfg.load<roadrunner::module>() renders "
            "errors once the module starts; reactors set in code") {
    caf::actor_system_config cfg;
    cfg.load<roadrunner::module>();
    // A plain config declares no roadrunner.reactors option (CAF 0.17
    // refuses it on the command line); the module reads the setting.
    caf::put(cfg.content, "roadrunner.reactors", size_t{3});
    caf::actor_system sys{cfg};
    REQUIRE(roadrunner::module::from(sys) != nullptr);
    CHECK(roadrunner::module::from(sys)->num_reactors() == 3);
    CHECK(rendered(sys) == "listen_failed(busy)");
  }

} // TEST_SUITE
