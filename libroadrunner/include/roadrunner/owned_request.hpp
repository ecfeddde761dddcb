#pragma once

#include <roadrunner/request.hpp>

#include <any>
#include <memory>
#include <string>

namespace roadrunner {

/// A self-contained copy of a request that owns every byte it shows
/// (method, target, headers, body, bindings, state, peer, id): what a
/// handler actor receives, valid on any thread for as long as it is held.
/// Immutable and never moved (its views point into itself): obtain it with
/// `make`. `get()` is a full `request` except that `defer()` is empty (the
/// responder travels next to the copy) and `listener_stats()` answers an
/// empty snapshot unless `keep_alive` keeps the listener's counters alive.
class owned_request {
public:
  /// Copies `r`. `keep_alive` is held as long as the copy (the server
  /// passes the listener's shared state so `listener_stats()` stays valid).
  static std::shared_ptr<const owned_request>
  make(const request& r, std::shared_ptr<const void> keep_alive = {});

  owned_request(const owned_request&) = delete;
  owned_request& operator=(const owned_request&) = delete;

  /// The copied request.
  const roadrunner::request& get() const noexcept { return req_; }
  /// The copied request.
  const roadrunner::request& operator*() const noexcept { return req_; }
  /// Members of the copied request.
  const roadrunner::request* operator->() const noexcept { return &req_; }

private:
  struct token {};

public:
  /// Used by `make` only (the token is private).
  owned_request(token, const request& r, std::shared_ptr<const void> keep);

private:
  std::string bytes_; // method, target, path, query, host, fields, bindings
  request_head head_;
  std::string body_;
  std::string listener_name_;
  detail::connection_info info_;
  std::any state_;
  std::shared_ptr<const void> keep_;
  roadrunner::request req_;
};

} // namespace roadrunner
