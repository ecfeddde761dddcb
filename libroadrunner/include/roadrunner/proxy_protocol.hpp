#pragma once

#include <roadrunner/request.hpp>

#include <cstdint>
#include <string>

namespace roadrunner {

/// What a PROXY protocol header (HAProxy, versions 1 and 2) said about a
/// connection: the client and the address it reached at the proxy, and the
/// version 2 TLVs the server reads. A request on a listener with
/// `proxy_protocol = true` carries it (`request::proxy()`); its `peer()`
/// is then `source` whenever the header carried an address.
///
/// Immutable once the header is read; shared by every request of the
/// connection and by copies handed to handler actors.
struct proxy_info {
  /// 1 (text) or 2 (binary).
  uint8_t version = 0;
  /// Version 2 `LOCAL` command (the proxy's own health check): the header
  /// carries no client, the connection's own peer stays.
  bool local = false;
  /// The client as the proxy saw it; an empty `ip` when the header carried
  /// none (v1 `UNKNOWN`, v2 `LOCAL`, `UNSPEC` or a UNIX address).
  peer_address source;
  /// The address the client connected to at the proxy (same rule).
  peer_address destination;
  /// PP2_TYPE_ALPN (0x01): the protocol the client negotiated with the
  /// proxy, e.g. "h2"; empty when absent.
  std::string alpn;
  /// PP2_TYPE_AUTHORITY (0x02): the host name the client asked for (TLS
  /// SNI); empty when absent.
  std::string authority;
  /// PP2_TYPE_UNIQUE_ID (0x05): the proxy's connection id, opaque bytes (at
  /// most 128); empty when absent.
  std::string unique_id;
  /// PP2_TYPE_SSL (0x20) with PP2_CLIENT_SSL set: the client spoke TLS to
  /// the proxy.
  bool ssl = false;
  /// PP2_SUBTYPE_SSL_VERSION (0x21) inside PP2_TYPE_SSL, e.g. "TLSv1.3".
  std::string ssl_version;
};

} // namespace roadrunner
