#include <roadrunner/response.hpp>

namespace roadrunner {

response response::text(int status, std::string body) {
  return response{status, "text/plain; charset=utf-8", std::move(body)};
}

response response::html(int status, std::string body) {
  return response{status, "text/html; charset=utf-8", std::move(body)};
}

response response::json(int status, std::string body) {
  return response{status, "application/json", std::move(body)};
}

} // namespace roadrunner
