#pragma once

#include <roadrunner/listener.hpp>

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace roadrunner::detail {

/// The running listeners of one actor system by name; owned by
/// `roadrunner::module`. It holds a strong handle to each, so a listener
/// serves until it is stopped, drained or killed whether or not anyone else
/// keeps its handle, and its name is unique in the system. Runs on: any
/// thread (one mutex; touched once per start, stop and look-up, never per
/// request).
class listener_registry {
public:
  /// Claims `name` for a listener being started; false if it is taken.
  bool reserve(const std::string& name);

  /// Gives up a reservation that did not lead to a listener.
  void cancel(const std::string& name);

  /// Fills the reservation of `name` with the started listener.
  void publish(const std::string& name, listener_actor l);

  /// Forgets `name` if it still belongs to `who` (idempotent: the listener
  /// calls it before it answers stop or drain, and again when it ends).
  void remove(const std::string& name, const caf::actor_addr& who);

  std::optional<listener_actor> find(std::string_view name) const;

  std::vector<listener_entry> all() const;

  /// Drops every handle (the module's end; the system has no actors left
  /// unless the user turned off awaiting them).
  void clear();

private:
  mutable std::mutex mtx_;
  // An invalid handle marks a name reserved by a start in progress.
  std::map<std::string, listener_actor, std::less<>> by_name_;
};

} // namespace roadrunner::detail
