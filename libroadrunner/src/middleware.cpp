#include <roadrunner/middleware.hpp>

#include <utility>

namespace roadrunner {

handler compose_shared(std::span<const shared_middleware> layers,
                       handler inner) {
  // Wrap from the innermost layer outwards, so layers[0] ends up outermost.
  // Each closure owns its continuation; a call passes it by const reference,
  // so running the pipeline creates no std::function.
  for (auto i = layers.size(); i-- > 0;) {
    const auto& layer = layers[i];
    if (layer == nullptr || !*layer)
      continue;
    inner = [mw = layer, next = std::move(inner)](request& req) {
      return (*mw)(req, next);
    };
  }
  return inner;
}

handler compose(std::vector<middleware> layers, handler inner) {
  std::vector<shared_middleware> shared;
  shared.reserve(layers.size());
  for (auto& mw : layers)
    shared.push_back(std::make_shared<const middleware>(std::move(mw)));
  return compose_shared(shared, std::move(inner));
}

} // namespace roadrunner
