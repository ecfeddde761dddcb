#pragma once

// Not API: what a connection hands the requests it dispatches.

#include <roadrunner/detail/listener_stats.hpp>
#include <roadrunner/peer_address.hpp>

#include <memory>
#include <string_view>

namespace roadrunner {
class responder;
struct proxy_info; // <roadrunner/proxy_protocol.hpp>
} // namespace roadrunner

namespace roadrunner::detail {

/// Where `request::defer` gets its responder: the connection (or HTTP/2
/// stream) dispatching the request.
class deferral_source {
public:
  virtual ~deferral_source() = default;
  /// A responder for the request being dispatched right now (the same one
  /// for repeated calls during one dispatch).
  virtual responder defer() = 0;
};

/// Facts about the connection a request arrived on; owned by the connection.
struct connection_info {
  peer_address peer;
  /// "http" or "https".
  std::string_view scheme = "http";
  /// The listener's name as given to `start_listener`.
  std::string_view listener_name;
  /// The listener's live counters.
  const listener_stats* stats = nullptr;
  /// Makes responders for `request::defer` (null: deferring is impossible,
  /// e.g. for a request copy).
  deferral_source* deferral = nullptr;
  /// `body_buffering = manual`: the body is pulled through the responder.
  bool manual_body = false;
  /// The PROXY protocol header of the connection (`proxy_protocol`), null
  /// without one. Shared: a request copy keeps it alive.
  std::shared_ptr<const proxy_info> proxy;
};

} // namespace roadrunner::detail
