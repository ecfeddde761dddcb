// A small JSON API: typed path parameters, a JSON body in and out
// (nlohmann-json), a listener-wide middleware, 404 and 405 from the router.
//
//   json_api --port=8080
//   curl localhost:8080/items/1            -> {"id":1,"name":"first"}
//   curl -X POST localhost:8080/items -d '{"name":"x"}'  -> 201 {"id":2,...}
//   curl localhost:8080/items/abc          -> 400 {"error":"not_a_number"}
//   curl -X DELETE localhost:8080/items/1  -> 405 (allow: GET, OPTIONS)
//
// The items live in a map guarded by a mutex: plain handlers run on the
// reactor threads, several at once.
#include <roadrunner/json.hpp>
#include <roadrunner/roadrunner.hpp>

#include <caf/actor_system.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace {

struct config : roadrunner::system_config {
  uint16_t port = 8080;
  config() {
    opt_group{custom_options_, "global"}.add(port, "port",
                                             "TCP port (0: any free one)");
  }
};

struct store {
  std::mutex mtx;
  std::map<int64_t, std::string> items{{1, "first"}};
  int64_t next_id = 2;
};

roadrunner::response error(int status, std::string_view what) {
  return roadrunner::json_response(status, {{"error", what}});
}

// Every answer says which API version served it, 404 and 405 included.
roadrunner::response version_header(roadrunner::request& req,
                                    const roadrunner::next_fn& next) {
  auto res = next(req);
  res.header("x-api-version", "1");
  return res;
}

roadrunner::route_list routes(std::shared_ptr<store> db) {
  return {
    {"/items/:id",
     [db](roadrunner::request& r) {
       auto id = r.param<int64_t>("id");
       if (!id)
         return error(400, to_string(id.error()));
       std::lock_guard<std::mutex> guard{db->mtx};
       auto i = db->items.find(*id);
       if (i == db->items.end())
         return error(404, "no such item");
       return roadrunner::json_response(200,
                                        {{"id", *id}, {"name", i->second}});
     },
     {},
     {},
     {"GET"}},
    {"/items",
     [db](roadrunner::request& r) {
       auto body = nlohmann::json::parse(r.body(), nullptr, false);
       if (body.is_discarded() || !body.contains("name") ||
           !body["name"].is_string())
         return error(400, "expected {\"name\": string}");
       std::lock_guard<std::mutex> guard{db->mtx};
       auto id = db->next_id++;
       db->items[id] = body["name"].get<std::string>();
       return roadrunner::json_response(201,
                                        {{"id", id}, {"name", db->items[id]}});
     },
     {},
     {},
     {"POST"}},
  };
}

} // namespace

int main(int argc, char** argv) {
  config cfg;
  if (auto rc = roadrunner::parse_args(cfg, argc, argv))
    return *rc;
  caf::actor_system sys{cfg};
  roadrunner::listener_options opts;
  opts.port = cfg.port;
  opts.bind_address = "127.0.0.1";
  opts.routes = routes(std::make_shared<store>());
  opts.middlewares = {version_header};
  return roadrunner::serve(sys, "json_api", opts, std::chrono::seconds(5));
}
