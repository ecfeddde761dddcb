#pragma once

#include <cstdint>
#include <string>

namespace roadrunner {

/// The remote end of a connection.
struct peer_address {
  /// Numeric address, e.g. "127.0.0.1" or "::1".
  std::string ip;
  /// The remote port.
  uint16_t port = 0;
};

} // namespace roadrunner
