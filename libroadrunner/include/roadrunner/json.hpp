#pragma once

// JSON responses from nlohmann::json (Debian's nlohmann-json3-dev). A
// separate header so that nothing else pays for including nlohmann.

#include <roadrunner/response.hpp>

#include <nlohmann/json.hpp>

namespace roadrunner {

/// `application/json` response with `value` serialized (compact).
inline response json_response(int status, const nlohmann::json& value) {
  return response::json(status, value.dump());
}

} // namespace roadrunner
