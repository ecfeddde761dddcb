#include <roadrunner/health.hpp>

namespace roadrunner {

namespace {

response no_store(int status, std::string_view body) {
  auto r = response::text(status, std::string{body});
  r.header("cache-control", "no-store");
  return r;
}

} // namespace

health::health() : ready_(std::make_shared<std::atomic<bool>>(true)) {}

telemetry_sink health::observer() const {
  return {[flag = ready_](const telemetry_event& e) {
            if (e.kind == telemetry_kind::drain_started)
              flag->store(false, std::memory_order_relaxed);
          },
          {telemetry_kind::drain_started}};
}

handler health::healthz() const {
  return [](request&) { return no_store(200, "ok\n"); };
}

handler health::readyz() const {
  return [flag = ready_](request&) {
    if (flag->load(std::memory_order_relaxed))
      return no_store(200, "ready\n");
    auto r = no_store(503, "draining\n");
    r.header("retry-after", "1");
    return r;
  };
}

bool health::ready() const noexcept {
  return ready_->load(std::memory_order_relaxed);
}

void health::ready(bool value) noexcept {
  ready_->store(value, std::memory_order_relaxed);
}

} // namespace roadrunner
