#include <roadrunner/telemetry.hpp>

#include <utility>

namespace roadrunner {

const char* to_string(telemetry_kind x) noexcept {
  switch (x) {
  case telemetry_kind::request_start:
    return "request_start";
  case telemetry_kind::request_stop:
    return "request_stop";
  case telemetry_kind::request_exception:
    return "request_exception";
  case telemetry_kind::request_rejected:
    return "request_rejected";
  case telemetry_kind::connection_accepted:
    return "connection_accepted";
  case telemetry_kind::connection_closed:
    return "connection_closed";
  case telemetry_kind::connection_rejected:
    return "connection_rejected";
  case telemetry_kind::slots_reconciled:
    return "slots_reconciled";
  case telemetry_kind::drain_started:
    return "drain_started";
  case telemetry_kind::drain_finished:
    return "drain_finished";
  case telemetry_kind::tls_handshake_completed:
    return "tls_handshake_completed";
  case telemetry_kind::tls_handshake_failed:
    return "tls_handshake_failed";
  case telemetry_kind::http2_connection_error:
    return "http2_connection_error";
  case telemetry_kind::accept_error:
    return "accept_error";
  case telemetry_kind::websocket_open:
    return "websocket_open";
  case telemetry_kind::websocket_close:
    return "websocket_close";
  }
  return "unknown";
}

telemetry_sink fan_out(std::vector<telemetry_sink> sinks) {
  std::erase_if(sinks, [](const telemetry_sink& x) { return !x; });
  if (sinks.empty())
    return {};
  if (sinks.size() == 1)
    return std::move(sinks.front());
  auto interest = telemetry_interest::none();
  for (auto& x : sinks)
    interest = interest | x.interest();
  return telemetry_sink{[xs = std::move(sinks)](const telemetry_event& e) {
                          for (auto& x : xs) {
                            if (!x.wants(e))
                              continue;
                            try {
                              x(e);
                            } catch (...) {
                              // One subscriber's failure must not silence
                              // the others.
                            }
                          }
                        },
                        interest};
}

} // namespace roadrunner
