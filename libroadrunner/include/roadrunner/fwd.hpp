#pragma once

// Forward declarations of roadrunner's public types, for headers that only
// name them (pointers, references, declarations). Include the type's own
// header to use it.

#include <functional>
#include <memory>
#include <vector>

namespace roadrunner {

// request side (request.hpp, request_head.hpp, peer_address.hpp, ...)
struct header_field;
struct request_head;
struct peer_address;
struct path_binding;
class path_bindings;
class request;
class owned_request;
template <class T>
class param_result;

// response side (response.hpp, responder.hpp, file_body.hpp, sse.hpp)
class response;
class responder;
class stream_writer;
class file_body;

// routing and middleware (router.hpp, middleware.hpp)
struct route;
struct route_error;
class compiled_route;
class compiled_routes;
class compile_result;
using handler = std::function<response(request&)>;
using next_fn = std::function<response(request&)>;
using middleware = std::function<response(request&, const next_fn&)>;
using route_list = std::vector<route>;

// configuration and observation (options.hpp, stats.hpp, telemetry.hpp, ...)
struct listener_options;
struct tls_options;
struct option_error;
struct listener_info;
struct telemetry_event;
class access_log;
class metrics;
class health;

} // namespace roadrunner
