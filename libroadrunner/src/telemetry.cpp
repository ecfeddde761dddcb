#include <roadrunner/telemetry.hpp>

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
  }
  return "unknown";
}

} // namespace roadrunner
