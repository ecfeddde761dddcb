// Handler actors on other CAF nodes (issue 17 item 3; docs/scaling.md).
//
// The request crosses the wire as a `wire_request` (its bytes) plus the
// handle of an agent on the server's side; the handler node rebuilds an
// `owned_request` and a responder backed by a `remote_exchange`. Whatever
// the handler does with that responder (a deferred answer, a stream, body
// reads) is queued by the exchange as usual and shipped by a per-request
// relay actor to the agent, which applies it to the real responder:
//
//   server: connection --http_request--> [wire] --> handler actor (node)
//           agent <--(rr_respond | rr_start | rr_chunk | ...)-- relay
//           agent --(rr_written | rr_body | rr_drain | rr_cancel)--> relay
//
// Streams keep their budget across the wire: the node's exchange counts
// the bytes it shipped and the agent acknowledges them only once the
// connection took them (`stream_writer::write` said ok), so a client that
// stops reading stops the producer on the other node.
//
// A file response cannot cross as a file (the descriptor is the node's):
// the relay reads it and ships its bytes, as a buffered body up to
// `file_inline_max` (the server answers it like any buffered response,
// content-length included) and above that as a stream under the same
// budget. A handler that returns a file as its reply message reaches the
// relay too: `publish_handlers` puts a small actor in front of each
// handler that hands such a reply to the request's responder.

#include "exchange.hpp"
#include <roadrunner/detail/request_access.hpp>
#include <roadrunner/handler_actor.hpp>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace roadrunner {

namespace {

// Relay (node) -> agent (server): the responder operations.
using rr_respond_atom = caf::atom_constant<caf::atom("rr_respond")>;
using rr_start_atom = caf::atom_constant<caf::atom("rr_start")>;
using rr_chunk_atom = caf::atom_constant<caf::atom("rr_chunk")>;
using rr_finish_atom = caf::atom_constant<caf::atom("rr_finish")>;
using rr_abort_atom = caf::atom_constant<caf::atom("rr_abort")>;
using rr_read_atom = caf::atom_constant<caf::atom("rr_read")>;
using rr_abandon_atom = caf::atom_constant<caf::atom("rr_abandon")>;
// Agent (server) -> relay (node): progress and the connection's news.
using rr_written_atom = caf::atom_constant<caf::atom("rr_written")>;
using rr_body_atom = caf::atom_constant<caf::atom("rr_body")>;
using rr_drain_atom = caf::atom_constant<caf::atom("rr_drain")>;
using rr_cancel_atom = caf::atom_constant<caf::atom("rr_cancel")>;
// Local only.
using rr_wake_atom = caf::atom_constant<caf::atom("rr_wake")>;
using rr_ready_atom = caf::atom_constant<caf::atom("rr_ready")>;
// Front end -> directory (node): the handler published under a name.
using rr_lookup_atom = caf::atom_constant<caf::atom("rr_lookup")>;
// Linker -> itself: (re)connect to the node.
using rr_link_atom = caf::atom_constant<caf::atom("rr_link")>;

// Trailers travel as a flat list (name, value, name, value...): CAF 0.17
// knows std::vector<std::string> without registration.
std::vector<std::string> flatten(const std::vector<response::field>& xs) {
  std::vector<std::string> out;
  out.reserve(xs.size() * 2);
  for (auto& x : xs) {
    out.push_back(x.name);
    out.push_back(x.value);
  }
  return out;
}

std::vector<response::field> unflatten(std::vector<std::string>& xs) {
  std::vector<response::field> out;
  for (size_t i = 0; i + 1 < xs.size(); i += 2)
    out.push_back({std::move(xs[i]), std::move(xs[i + 1])});
  return out;
}

// -- the handler node's side --------------------------------------------------

// A file body up to this size crosses as one buffered body (exact
// content-length, HEAD and ranges as for a local file); a larger one is
// streamed in `file_chunk` pieces under the stream budget.
constexpr uint64_t file_inline_max = stream_writer::limit;
constexpr size_t file_chunk = 64 * 1024;

// Reads [at, at + n) of `f` into `out` (pread: no shared file offset);
// false on an error or a file that shrank.
bool read_file_range(const file_body& f, uint64_t at, size_t n,
                     std::string& out) {
  out.resize(n);
  size_t got = 0;
  while (got < n) {
    auto r =
      ::pread(f.fd(), out.data() + got, n - got, static_cast<off_t>(at + got));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

// The status and fields of a file response (its content-type is a field)
// with `body`.
response without_file(const response& r, std::string body) {
  response out{r.status()};
  for (auto& f : r.fields())
    out.header(f.name, f.value);
  out.body(std::move(body));
  return out;
}

class remote_exchange;

struct relay_state {
  std::shared_ptr<remote_exchange> x;
  caf::actor agent;
  body_callback cb;
  // A file being shipped: the next offset, the end, the bytes the agent
  // has not acknowledged yet.
  file_body_ptr file;
  uint64_t file_at = 0;
  uint64_t file_end = 0;
  size_t unacked = 0;
  static inline const char* name = "roadrunner.remote_responder";
};

using relay_ptr = caf::stateful_actor<relay_state>*;

caf::behavior relay(relay_ptr self, std::shared_ptr<remote_exchange> x,
                    caf::actor agent, std::vector<detail::exchange_op> first);

// The exchange behind a responder on the handler node: operations are
// queued as for a local request; waking ships them (through the relay) to
// the agent on the server.
class remote_exchange final : public detail::exchange {
public:
  remote_exchange(caf::actor agent, bool head_only)
    : agent_(std::move(agent)), head_only_(head_only) {}

  /// A HEAD request: a body is never sent, only announced.
  bool head_only() const noexcept { return head_only_; }

  ~remote_exchange() override {
    if (relay_)
      caf::anon_send_exit(relay_, caf::exit_reason::user_shutdown);
  }

  void relay_done() noexcept {
    std::lock_guard<std::mutex> guard{mtx_};
    relay_ = nullptr;
  }

protected:
  void wake() noexcept override {
    try {
      std::lock_guard<std::mutex> guard{mtx_};
      if (relay_) {
        caf::anon_send(relay_, rr_wake_atom::value);
        return;
      }
      if (!agent_)
        return; // sent without an agent: the server's deadline answers
      std::vector<detail::exchange_op> ops;
      take(ops);
      // The common case: the handler answered with its reply message and
      // the last responder copy went away: one message, no relay.
      bool only_abandon = true;
      for (auto& op : ops)
        only_abandon &= op.what == detail::exchange_op::kind::abandon;
      if (only_abandon) {
        if (!ops.empty())
          caf::anon_send(agent_, rr_abandon_atom::value);
        return;
      }
      auto& sys = caf::actor_cast<caf::abstract_actor*>(agent_)->home_system();
      relay_ = sys.spawn<caf::hidden>(
        relay, std::static_pointer_cast<remote_exchange>(shared_from_this()),
        agent_, std::move(ops));
    } catch (...) {
      // Out of memory: the server's deadline answers the request.
    }
  }

private:
  std::mutex mtx_;
  caf::actor agent_;
  caf::actor relay_;
  bool head_only_ = false;
};

// Ships the next pieces of the file while the agent's budget allows;
// finishes (and ends the relay) after the last one.
void pump_file(relay_ptr self) {
  auto& st = self->state;
  while (st.file_at < st.file_end && st.unacked < stream_writer::limit) {
    auto n = static_cast<size_t>(
      std::min<uint64_t>(file_chunk, st.file_end - st.file_at));
    std::string data;
    if (!read_file_range(*st.file, st.file_at, n, data)) {
      // The head is out: the client sees a cut-short body.
      self->send(st.agent, rr_abort_atom::value);
      self->quit();
      return;
    }
    st.file_at += n;
    st.unacked += n;
    self->send(st.agent, rr_chunk_atom::value, std::move(data));
  }
  if (st.file_at >= st.file_end) {
    self->send(st.agent, rr_finish_atom::value, std::vector<std::string>{});
    self->quit();
  }
}

// A file response from the handler: a buffered body when small (or read
// error: 500), else a stream. Returns true when the relay goes on (a
// stream in progress).
bool ship_file(relay_ptr self, response& r) {
  auto& st = self->state;
  auto& f = r.file_body();
  if (f->length() <= file_inline_max) {
    std::string body;
    if (!read_file_range(*f, f->offset(), static_cast<size_t>(f->length()),
                         body)) {
      self->send(st.agent, rr_respond_atom::value,
                 response::text(500, "Internal Server Error"));
      return false;
    }
    self->send(st.agent, rr_respond_atom::value,
               without_file(r, std::move(body)));
    return false;
  }
  self->send(st.agent, rr_start_atom::value, without_file(r, {}));
  if (st.x->head_only()) {
    // HEAD: the server sends no body anyway; nothing to read.
    self->send(st.agent, rr_finish_atom::value, std::vector<std::string>{});
    return false;
  }
  st.file = f;
  st.file_at = f->offset();
  st.file_end = f->offset() + f->length();
  pump_file(self);
  return true;
}

caf::behavior relay(relay_ptr self, std::shared_ptr<remote_exchange> x,
                    caf::actor agent, std::vector<detail::exchange_op> first) {
  self->state.x = std::move(x);
  self->state.agent = agent;
  // The server side gone (its node, the request): nothing more to ship.
  self->monitor(agent);
  self->set_down_handler([self](caf::down_msg&) {
    self->state.x->cancel();
    self->quit();
  });
  self->attach_functor([x = self->state.x] { x->relay_done(); });
  // Ships the operations; a completion ends the relay.
  auto ship = [self](std::vector<detail::exchange_op>& ops) {
    using k = detail::exchange_op::kind;
    auto& st = self->state;
    bool over = false;
    for (auto& op : ops) {
      switch (op.what) {
      case k::respond:
        if (op.resp.file_body() != nullptr) {
          // pump_file ends the relay after the last piece.
          if (ship_file(self, op.resp))
            continue;
        } else {
          self->send(st.agent, rr_respond_atom::value, std::move(op.resp));
        }
        over = true;
        break;
      case k::start:
        self->send(st.agent, rr_start_atom::value, std::move(op.resp));
        break;
      case k::chunk:
        self->send(st.agent, rr_chunk_atom::value, std::move(op.data));
        break;
      case k::finish:
        self->send(st.agent, rr_finish_atom::value, flatten(op.trailers));
        over = true;
        break;
      case k::abort:
        self->send(st.agent, rr_abort_atom::value);
        over = true;
        break;
      case k::read_body:
        st.cb = std::move(op.cb);
        self->send(st.agent, rr_read_atom::value,
                   static_cast<uint64_t>(op.max));
        break;
      case k::abandon:
        self->send(st.agent, rr_abandon_atom::value);
        over = true;
        break;
      }
    }
    ops.clear();
    if (over)
      self->quit();
  };
  ship(first);
  return {
    [self, ship](rr_wake_atom) {
      std::vector<detail::exchange_op> ops;
      if (self->state.x->take(ops))
        ship(ops);
    },
    [self](rr_written_atom, uint64_t n) {
      auto& st = self->state;
      if (st.file) {
        st.unacked -= std::min(st.unacked, static_cast<size_t>(n));
        pump_file(self);
        return;
      }
      st.x->written(static_cast<size_t>(n));
    },
    [self](rr_body_atom, const std::string& piece, bool last) {
      auto cb = self->state.cb; // the callback may ask for the next piece
      self->state.x->deliver(cb, piece, last);
    },
    [self](rr_drain_atom, int64_t deadline_ms) {
      self->state.x->notify_drain(deadline_ms);
    },
    [self](rr_cancel_atom) {
      self->state.x->cancel();
      self->quit();
    },
  };
}

// -- the server's side --------------------------------------------------------

struct agent_state {
  responder reply;
  stream_writer out;
  caf::actor relay;               // learnt from the first operation
  std::deque<std::string> queued; // chunks the connection could not take
  std::vector<response::field> trailers;
  bool finishing = false;
  static inline const char* name = "roadrunner.remote_agent";
};

using agent_ptr = caf::stateful_actor<agent_state>*;

// Writes queued chunks while the connection takes them; acknowledges each
// taken chunk to the relay (the node's stream budget), finishes when told.
void pump(agent_ptr self) {
  auto& st = self->state;
  while (!st.queued.empty()) {
    auto size = st.queued.front().size();
    // A copy: `write` takes its argument by value and does not queue it
    // when it answers `full`, so a moved chunk would be lost (it was: a
    // 1.2 MB stream came out 8 KiB short).
    auto res = st.out.write(st.queued.front());
    if (res == write_status::full)
      return; // on_ready resumes
    st.queued.pop_front();
    if (res == write_status::closed) {
      if (st.relay)
        self->send(st.relay, rr_cancel_atom::value);
      self->quit();
      return;
    }
    if (st.relay)
      self->send(st.relay, rr_written_atom::value, static_cast<uint64_t>(size));
  }
  if (st.finishing) {
    st.out.finish(std::move(st.trailers));
    self->quit();
  }
}

caf::behavior agent(agent_ptr self, responder reply) {
  self->state.reply = reply;
  auto addr = caf::actor_cast<caf::actor>(self);
  // Connection-side news, on the connection's thread: messages to us.
  reply.on_cancel([addr] { caf::anon_send(addr, rr_cancel_atom::value); });
  reply.on_drain(
    [addr](int64_t ms) { caf::anon_send(addr, rr_drain_atom::value, ms); });
  auto learn = [self] {
    if (!self->state.relay)
      self->state.relay = caf::actor_cast<caf::actor>(self->current_sender());
  };
  return {
    [self, learn](rr_respond_atom, response& r) {
      learn();
      self->state.reply.send(std::move(r));
      self->quit();
    },
    [self, learn](rr_start_atom, response& head) {
      learn();
      auto& st = self->state;
      st.out = st.reply.stream(std::move(head));
      if (!st.out) {
        self->send(st.relay, rr_cancel_atom::value);
        self->quit();
        return;
      }
      auto me = caf::actor_cast<caf::actor>(self);
      st.out.on_ready([me] { caf::anon_send(me, rr_ready_atom::value); });
    },
    [self, learn](rr_chunk_atom, std::string& data) {
      learn();
      self->state.queued.push_back(std::move(data));
      if (self->state.out && self->state.queued.size() == 1)
        pump(self);
    },
    [self](rr_ready_atom) { pump(self); },
    [self, learn](rr_finish_atom, std::vector<std::string>& trailers) {
      learn();
      auto& st = self->state;
      st.trailers = unflatten(trailers);
      st.finishing = true;
      if (st.out)
        pump(self);
      else
        self->quit(); // never started: the exchange answers 500
    },
    [self, learn](rr_abort_atom) {
      learn();
      auto& st = self->state;
      if (st.out)
        st.out.abort();
      else
        st.reply.send(response::text(500, "Internal Server Error"));
      self->quit();
    },
    [self, learn](rr_read_atom, uint64_t max) {
      learn();
      auto relay_handle = self->state.relay;
      self->state.reply.read_body(
        static_cast<size_t>(max),
        [relay_handle](std::string_view piece, bool last) {
          caf::anon_send(relay_handle, rr_body_atom::value, std::string{piece},
                         last);
        });
    },
    [self](rr_abandon_atom) {
      // The node dropped its responder: ours goes too (the reply message,
      // if any, still answers through forward's own copy).
      self->quit();
    },
    [self](rr_cancel_atom) {
      if (self->state.relay)
        self->send(self->state.relay, rr_cancel_atom::value);
      self->quit();
    },
    [self](rr_drain_atom, int64_t ms) {
      if (self->state.relay)
        self->send(self->state.relay, rr_drain_atom::value, ms);
    },
  };
}

// -- directory and linker -----------------------------------------------------

// In front of a published handler (on its node): forwards each request and
// hands a file reply to the request's responder, whose relay ships the
// bytes (a reply message cannot carry a descriptor). Ends with the handler,
// so the front ends' watch answers what it held.
caf::behavior published(caf::event_based_actor* self, caf::actor handler) {
  self->monitor(handler);
  self->set_down_handler([self](caf::down_msg& dm) { self->quit(dm.reason); });
  return {
    [self, handler](http_request& x) -> caf::result<response> {
      auto rp = self->make_response_promise<response>();
      auto reply = x.reply;
      self->request(handler, caf::infinite, std::move(x))
        .then(
          [rp, reply](response& r) mutable {
            if (r.file_body() != nullptr && reply) {
              reply.send(std::move(r));
              rp.deliver(response::deferred());
              return;
            }
            rp.deliver(std::move(r));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
  };
}

// Ends when the last handler it names has ended: a hidden actor still
// running when its actor system is destroyed would be cleaned up after
// the scheduler is gone (the middleman's registry holds it).
caf::behavior directory(caf::event_based_actor* self,
                        std::vector<std::pair<std::string, caf::actor>> xs) {
  auto left = std::make_shared<size_t>(0);
  for (auto& entry : xs)
    if (entry.second) {
      self->monitor(entry.second);
      ++*left;
    }
  self->set_down_handler([self, left](caf::down_msg&) {
    if (--*left == 0)
      self->quit();
  });
  return {
    [xs](rr_lookup_atom, const std::string& name) -> caf::actor {
      for (auto& [key, handle] : xs)
        if (key == name)
          return handle;
      return {};
    },
  };
}

// The current handle of one remote handler, read by the route on the
// reactor threads, written by the linker.
struct remote_slot {
  std::mutex mtx;
  caf::actor current;

  caf::actor get() {
    std::lock_guard<std::mutex> guard{mtx};
    return current;
  }

  void set(caf::actor x) {
    std::lock_guard<std::mutex> guard{mtx};
    current = std::move(x);
  }
};

struct linker_state {
  std::shared_ptr<remote_slot> slot;
  caf::actor linked;
  static inline const char* name = "roadrunner.remote_linker";
};

// Connects to the node (asynchronously, through the middleman actor), asks
// its directory for the handler, monitors it; when it goes down (its node
// lost), clears the slot and tries again every `retry_ms`.
caf::behavior linker(caf::stateful_actor<linker_state>* self,
                     std::shared_ptr<remote_slot> slot, std::string host,
                     uint16_t port, std::string name, int64_t retry_ms) {
  self->state.slot = slot;
  auto retry = [self, retry_ms] {
    self->delayed_send(self, std::chrono::milliseconds{retry_ms},
                       rr_link_atom::value);
  };
  self->set_down_handler([self, retry](caf::down_msg& dm) {
    if (dm.source != self->state.linked.address())
      return;
    self->state.slot->set({}); // the next requests: 503 at once
    self->state.linked = nullptr;
    retry();
  });
  self->send(self, rr_link_atom::value);
  return {
    [=](rr_link_atom) {
      auto mm = self->system().middleman().actor_handle();
      self
        ->request(mm, std::chrono::seconds{5}, caf::connect_atom::value, host,
                  port)
        .then(
          [=](const caf::node_id&, caf::strong_actor_ptr& dir,
              const std::set<std::string>&) {
            if (!dir) {
              retry();
              return;
            }
            self
              ->request(caf::actor_cast<caf::actor>(dir),
                        std::chrono::seconds{5}, rr_lookup_atom::value, name)
              .then(
                [=](caf::actor& handler) {
                  if (!handler) {
                    retry();
                    return;
                  }
                  self->monitor(handler);
                  self->state.linked = handler;
                  self->state.slot->set(std::move(handler));
                },
                [=](caf::error&) { retry(); });
          },
          [=](caf::error&) { retry(); });
    },
  };
}

} // namespace

// -- wire formats -------------------------------------------------------------

namespace detail {

wire_request to_wire(const http_request& x) {
  wire_request w;
  w.agent = x.agent;
  if (!x.req)
    return w;
  auto& r = x.req->get();
  w.method = r.method();
  w.target = r.target();
  w.path = r.path();
  w.query = r.query();
  auto v = r.version();
  w.version_major = v == "HTTP/2" ? 2 : 1;
  w.version_minor = v == "HTTP/1.1" ? 1 : 0;
  for (auto& f : r.headers())
    w.headers.emplace_back(std::string{f.name}, std::string{f.value});
  for (auto& b : r.bindings())
    w.bindings.emplace_back(std::string{b.name}, std::string{b.value});
  w.body = r.body();
  if (auto cl = r.content_length())
    w.content_length = static_cast<int64_t>(*cl);
  w.peer_ip = r.peer().ip;
  w.peer_port = r.peer().port;
  w.scheme = r.scheme();
  w.listener_name = r.listener_name();
  w.request_id = r.request_id();
  return w;
}

http_request from_wire(wire_request&& w) {
  // A request over the received bytes, copied once into an owned_request
  // (whose views point into itself).
  request_head head;
  head.method = w.method;
  head.target = w.target;
  head.path = w.path;
  head.query = w.query;
  head.version_major = w.version_major;
  head.version_minor = w.version_minor;
  head.headers.reserve(w.headers.size());
  for (auto& [name, value] : w.headers)
    head.headers.push_back({name, value});
  if (w.content_length >= 0) {
    head.framing = body_framing::content_length;
    head.content_length = static_cast<uint64_t>(w.content_length);
  }
  detail::connection_info info;
  info.peer.ip = w.peer_ip;
  info.peer.port = w.peer_port;
  info.scheme = w.scheme == "https" ? "https" : "http";
  info.listener_name = w.listener_name;
  request tmp{head, w.body, info};
  path_bindings bindings;
  for (auto& [name, value] : w.bindings)
    bindings.push(name, value);
  detail::request_access::bindings(tmp, bindings);
  detail::request_access::request_id(tmp, std::string_view{w.request_id});
  http_request out;
  out.req = owned_request::make(tmp);
  if (w.agent)
    out.reply =
      responder{std::make_shared<remote_exchange>(w.agent, w.method == "HEAD")};
  out.agent = std::move(w.agent);
  return out;
}

wire_response to_wire(const response& x) {
  wire_response w;
  w.status = x.status();
  w.deferred = x.is_deferred();
  w.file = x.file_body() != nullptr;
  w.content_type = x.content_type();
  for (auto& f : x.fields())
    w.fields.emplace_back(f.name, f.value);
  w.body = x.body();
  return w;
}

response from_wire(wire_response&& w) {
  if (w.deferred)
    return response::deferred();
  // The file lives on the other node. Handlers published with
  // `publish_handlers` never send one (their front actor streams it), so
  // this is a handler reached some other way.
  if (w.file)
    return response::text(500, "Internal Server Error");
  response r{w.status};
  // The three typed factories keep their content type as a literal.
  if (w.content_type == response::text(200, {}).content_type())
    r = response::text(w.status, std::move(w.body));
  else if (w.content_type == response::json(200, {}).content_type())
    r = response::json(w.status, std::move(w.body));
  else if (w.content_type == response::html(200, {}).content_type())
    r = response::html(w.status, std::move(w.body));
  else {
    if (!w.content_type.empty())
      r.header("content-type", std::move(w.content_type));
    r.body(std::move(w.body));
  }
  for (auto& [name, value] : w.fields)
    r.header(std::move(name), std::move(value));
  return r;
}

caf::actor remote_agent(caf::actor_system& sys, const responder& r) {
  auto a = sys.spawn<caf::hidden>(agent, r);
  // The agent ends with the request, however it ends.
  on_request_end(
    r, [a] { caf::anon_send_exit(a, caf::exit_reason::user_shutdown); });
  return a;
}

} // namespace detail

// -- public API ---------------------------------------------------------------

void add_remote_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<http_request>("roadrunner::http_request");
  cfg.add_message_type<response>("roadrunner::response");
}

caf::expected<uint16_t>
publish_handlers(caf::actor_system& sys,
                 std::vector<std::pair<std::string, caf::actor>> handlers,
                 uint16_t port, const std::string& address) {
  for (auto& entry : handlers)
    if (entry.second)
      entry.second = sys.spawn<caf::hidden>(published, std::move(entry.second));
  auto dir = sys.spawn<caf::hidden>(directory, std::move(handlers));
  auto res = sys.middleman().publish(
    dir, port, address.empty() ? nullptr : address.c_str(), true);
  if (!res)
    caf::anon_send_exit(dir, caf::exit_reason::user_shutdown);
  return res;
}

handler remote_handler(caf::actor_system& sys, std::string host, uint16_t port,
                       std::string name, actor_handler_options opts,
                       int64_t retry_ms) {
  auto slot = std::make_shared<remote_slot>();
  // The linker lives as long as the route table holds the handler.
  auto link = sys.spawn<caf::hidden>(linker, slot, std::move(host), port,
                                     std::move(name), retry_ms);
  auto guard = std::shared_ptr<const int>(new int{0}, [link](const int* p) {
    delete p;
    caf::anon_send_exit(link, caf::exit_reason::user_shutdown);
  });
  return [slot, guard, opts](request& req) {
    auto target = slot->get();
    if (!target)
      return response::text(503, "Service Unavailable");
    return detail::forward(target, req, opts);
  };
}

} // namespace roadrunner
