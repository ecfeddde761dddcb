#pragma once

// Not API: the server's setters of a `request` (the router binds the path
// parameters and the route state; the connection sets the request id).

#include <roadrunner/request.hpp>

#include <any>
#include <cstdint>
#include <string_view>

namespace roadrunner::detail {

struct request_access {
  /// Replaces the request's path bindings.
  static void bindings(request& r, const path_bindings& b) noexcept {
    r.bindings_ = b;
  }

  /// Points the request at a route's state (the pointee must outlive every
  /// use of the request); nullptr clears it.
  static void state(request& r, const std::any* s) noexcept { r.state_ = s; }

  /// Sets the request id to `id` as 16 lowercase hex digits.
  static void request_id(request& r, uint64_t id) noexcept {
    constexpr char digits[] = "0123456789abcdef";
    for (size_t i = r.id_.size(); i-- > 0; id >>= 4)
      r.id_[i] = digits[id & 0xf];
    r.id_size_ = r.id_.size();
  }

  /// Sets the request id to a copy of `id`; bytes past the 16th are dropped.
  static void request_id(request& r, std::string_view id) noexcept {
    r.id_size_ = id.size() < r.id_.size() ? id.size() : r.id_.size();
    id.copy(r.id_.data(), r.id_size_);
  }

  /// The listener's live counters (null for a copy without them).
  static const listener_stats* stats(const request& r) noexcept {
    return r.conn_->stats;
  }
};

} // namespace roadrunner::detail
