#include "listener_registry.hpp"

#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>

namespace roadrunner::detail {

bool listener_registry::reserve(const std::string& name) {
  std::lock_guard<std::mutex> guard{mtx_};
  return by_name_.emplace(name, listener_actor{}).second;
}

void listener_registry::cancel(const std::string& name) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = by_name_.find(name);
  if (i != by_name_.end() && !i->second)
    by_name_.erase(i);
}

void listener_registry::publish(const std::string& name, listener_actor l) {
  std::lock_guard<std::mutex> guard{mtx_};
  by_name_[name] = std::move(l);
}

void listener_registry::remove(const std::string& name,
                               const caf::actor_addr& who) {
  listener_actor dropped; // released outside the lock
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = by_name_.find(name);
    if (i == by_name_.end() || !i->second || i->second.address() != who)
      return;
    dropped = std::move(i->second);
    by_name_.erase(i);
  }
}

std::optional<listener_actor>
listener_registry::find(std::string_view name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = by_name_.find(name);
  if (i == by_name_.end() || !i->second)
    return std::nullopt;
  return i->second;
}

std::vector<listener_entry> listener_registry::all() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<listener_entry> out;
  for (auto& [name, l] : by_name_)
    if (l)
      out.push_back(listener_entry{name, l});
  return out;
}

void listener_registry::clear() {
  decltype(by_name_) dropped;
  std::lock_guard<std::mutex> guard{mtx_};
  dropped.swap(by_name_);
}

} // namespace roadrunner::detail
