#include "acceptor.hpp"

#include "connection.hpp"
#include "io/socket.hpp"
#include <roadrunner/listener.hpp>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace roadrunner::detail {

namespace {

// Connections accepted per call where the queue is emptied at once (after
// a back-off, a reuse-port drain) before yielding to the other sockets of
// the reactor; a readiness event takes one (acceptor::on_io).
constexpr int accept_batch_size = 32;

// Pause after running out of descriptors or memory, before trying again.
constexpr int64_t backoff_ms = 100;

// SO_REUSEPORT drain: how long a leaving socket keeps accepting after it
// refused new connections, so that handshakes already under way (their
// final ACK is one round trip away) land in its queue and are served.
constexpr int64_t reuse_port_grace_ms = 250;

// At the end of that grace period: at most this many batches are taken.
constexpr int max_grace_batches = 64;

// The connection behind a handle this acceptor spawned (same reactor
// thread: its state may be touched here).
connection& conn_of(const caf::actor& handle) {
  return *static_cast<connection*>(
    caf::actor_cast<caf::abstract_actor*>(handle));
}

} // namespace

acceptor::acceptor(caf::actor_config& cfg, reactor* home, int listen_fd,
                   listener_shared_ptr shared)
  : hosted_actor(cfg, home), fd_(listen_fd), shared_(std::move(shared)) {}

acceptor::~acceptor() {
  io::close_fd(fd_);
}

caf::behavior acceptor::make_behavior() {
  self_ref_ = ctrl();
  set_down_handler([this](caf::down_msg& dm) {
    // Exactly-once slot release: a connection gives its slot back itself
    // before its socket closes; one that could not (it never ran, say)
    // still holds it here. on_exit releases whatever is left.
    auto it = conns_.find(dm.source.id());
    if (it == conns_.end())
      return;
    auto& conn = conn_of(it->second);
    if (auto p = std::find(pool_.begin(), pool_.end(), &conn);
        p != pool_.end()) {
      pool_.erase(p); // killed while waiting for a socket: holds no slot
      conns_.erase(it);
      return;
    }
    conn.release_slot();
    conns_.erase(it);
    if (listener_) // draining: the listener waits for active_clients == 0
      send(listener_, conn_down_atom::value);
  });
  if (!watch())
    back_off();
  // Nothing to answer: the acceptor reacts to its socket, timers, down
  // messages and exit messages (from the linked listener).
  return {
    [this](drain_atom, int64_t deadline_ms,
           bool notify) -> caf::result<caf::ok_atom> {
      // Drain: stop accepting at once (the socket closes when every
      // acceptor closed its duplicate), then tell the connections — the
      // acceptors' connection maps are the drain group.
      listener_ = caf::actor_cast<caf::actor>(current_sender());
      release_pool();
      if (notify)
        for (auto& kvp : conns_)
          send(kvp.second, drain_atom::value, deadline_ms);
      if (shared_->opts.reuse_port && fd_ >= 0 && !leaving_) {
        // SO_REUSEPORT: closing now would reset the connections the
        // kernel queued here (net.ipv4.tcp_migrate_req=0). Refuse new
        // ones first, take what is queued or still in its handshake, and
        // close after the grace period; answer the listener then, so it
        // cannot end us (and reset the queue) earlier.
        leaving_ = true;
        drain_deadline_ = deadline_ms;
        notify_ = notify;
        io::refuse_new_connections(fd_);
        accept_batch();
        home().arm(grace_timer_.node, reuse_port_grace_ms);
        drain_ack_ = make_response_promise<caf::ok_atom>();
        return drain_ack_;
      }
      stop_listening();
      return caf::ok_atom::value;
    },
    [this](conn_count_atom) {
      return static_cast<uint64_t>(conns_.size() - pool_.size());
    },
    [this](connections_atom) {
      // Handles that leave here may be sent a kill for the socket they
      // serve now: those actors are never reused for another.
      std::vector<caf::actor> xs;
      xs.reserve(conns_.size());
      for (auto& kvp : conns_) {
        auto& conn = conn_of(kvp.second);
        if (conn.closed())
          continue;
        conn.expose();
        xs.push_back(kvp.second);
      }
      return xs;
    },
  };
}

bool acceptor::watch() {
  // EPOLLEXCLUSIVE: one acceptor wakes per pending connection, not all.
  watching_ = home().add(fd_, EPOLLIN | EPOLLEXCLUSIVE, this);
  return watching_;
}

void acceptor::back_off() {
  if (watching_) {
    home().remove(fd_, this);
    watching_ = false;
  }
  home().arm(backoff_timer_.node, backoff_ms);
}

void acceptor::on_backoff_end() {
  if (fd_ < 0)
    return; // draining: the socket is closed
  if (!watch())
    back_off();
  else
    accept_batch();
}

void acceptor::on_io(uint32_t) {
  // One connection per readiness event, as nginx does by default: the
  // socket is level-triggered, so the next loop iteration reports it again
  // while connections wait, and no accept4 -> EAGAIN ends each wake-up (one
  // syscall less per connection when they come one at a time; a storm is
  // spread over iterations and reactors, docs/architecture.md 2).
  bool more = false;
  accept_batch(more, 1);
}

void acceptor::accept_batch() {
  bool more = false;
  accept_batch(more, accept_batch_size);
}

void acceptor::accept_batch(bool& more, int limit) {
  auto& stats = shared_->stats;
  for (int i = 0; i < limit; ++i) {
    peer_address peer;
    int fd = io::accept_connection(fd_, peer);
    if (fd < 0) {
      switch (errno) {
      case EAGAIN:
#if EAGAIN != EWOULDBLOCK
      case EWOULDBLOCK:
#endif
        return;
      case EMFILE:
      case ENFILE:
      case ENOBUFS:
      case ENOMEM:
        report_accept_error(errno);
        back_off();
        return;
      case EINTR:
      case ECONNABORTED:
        continue; // the client left before the accept: nothing to report
      default:
        // EPROTO, EPERM (firewall)...: skip it.
        report_accept_error(errno);
        continue;
      }
    }
    if (!stats.try_acquire_slot()) {
      // Counted before the close: a client that saw the close and then
      // reads the metrics must find its rejection there.
      telemetry_event e;
      e.kind = telemetry_kind::connection_rejected;
      e.peer = &peer;
      e.reason = "max_clients";
      shared_->emit(e);
      io::close_fd(fd);
      continue;
    }
    telemetry_event e;
    e.kind = telemetry_kind::connection_accepted;
    e.peer = &peer;
    shared_->emit(e);
    if (!pool_.empty()) {
      // A closed connection's actor serves this socket (see recycle).
      auto* conn = pool_.back();
      pool_.pop_back();
      conn->reopen(fd, std::move(peer));
      continue;
    }
    auto conn = system().spawn<connection>(&home(), fd, shared_,
                                           std::move(peer), acceptor_ref{this});
    monitor(conn);
    if (leaving_)
      late_.push_back(conn); // told to drain when the grace period ends
    conns_.emplace(conn.id(), std::move(conn));
  }
  more = true; // a full batch: more may be queued
}

void acceptor::end_grace() {
  // Everything queued now is ours to serve: nothing new arrives (the
  // filter drops SYNs) but handshakes under way when it was attached.
  for (int i = 0; i < max_grace_batches && fd_ >= 0; ++i) {
    bool more = false;
    accept_batch(more, accept_batch_size);
    if (!more)
      break;
  }
  stop_listening();
  // The late connections were born during the drain: they had a grace
  // period to send their request, which now ends with `connection: close`
  // (an idle one closes).
  if (notify_)
    for (auto& conn : late_)
      if (conns_.count(conn.id()) > 0)
        send(conn, drain_atom::value, drain_deadline_);
  late_.clear();
  drain_ack_.deliver(caf::ok_atom::value);
}

bool acceptor::recycle(connection& conn) {
  if (fd_ < 0 || leaving_ || listener_ || pool_.size() >= max_pooled ||
      conns_.count(conn.id()) == 0)
    return false;
  pool_.push_back(&conn);
  return true;
}

void acceptor::release_pool() {
  // Draining or ending: the pooled actors end (their down messages find
  // them no longer ours).
  for (auto* conn : pool_) {
    auto it = conns_.find(conn->id());
    if (it == conns_.end())
      continue;
    caf::anon_send_exit(it->second, caf::exit_reason::user_shutdown);
    conns_.erase(it);
  }
  pool_.clear();
}

void acceptor::report_accept_error(int err) {
  telemetry_event e;
  e.kind = telemetry_kind::accept_error;
  e.error_code = err;
  e.reason =
    ::strerrorname_np(err) != nullptr ? ::strerrorname_np(err) : "accept_error";
  shared_->emit(e);
}

void acceptor::stop_listening() {
  home().disarm(backoff_timer_.node);
  home().disarm(grace_timer_.node);
  if (watching_) {
    home().remove(fd_, this);
    watching_ = false;
  }
  io::close_fd(fd_);
  fd_ = -1;
}

void acceptor::on_exit() {
  stop_listening();
  release_pool();
  // Nobody will hear these connections' down messages any more: end them
  // and release their slots here (each exactly once: they leave the map).
  // They outlive this object, so none may offer itself back any more.
  for (auto& [id, conn] : conns_) {
    caf::anon_send_exit(conn, caf::exit_reason::user_shutdown);
    conn_of(conn).release_slot();
    conn_of(conn).disown();
  }
  conns_.clear();
  if (self_ref_)
    home().release_later(std::move(self_ref_));
}

} // namespace roadrunner::detail
