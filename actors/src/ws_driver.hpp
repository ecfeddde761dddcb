#pragma once

#include "protocol_driver.hpp"
#include "reactor.hpp"
#include "request_lifecycle.hpp"
#include "ws/codec.hpp"
#include "ws/deflate.hpp"
#include <roadrunner/websocket.hpp>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace roadrunner::detail {

/// What a WebSocket route fixed when it was made: shared by the route's
/// handler and every session it upgrades (immutable).
struct ws_route {
  caf::actor_system* sys = nullptr;
  ws_session_factory spawn;
  websocket_options opts;
};

/// The WebSocket protocol driver (RFC 6455), after an HTTP/1.1 upgrade:
/// frames in (masked, strictly checked, fragments reassembled, UTF-8
/// checked across fragments), complete messages to the session actor,
/// messages from any `websocket_handle` out, pings answered, the close
/// handshake in both directions. The upgrading request stays open while
/// the session lives (its admission slot, `request_stop` at the end).
/// Runs on: the connection's reactor thread.
class ws_driver final : public protocol_driver {
public:
  ws_driver(driver_host& host, std::shared_ptr<const ws_route> route,
            open_request req, std::string protocol,
            std::optional<ws::deflate_params> deflate, std::string leftover);
  ~ws_driver() override;

  ws_driver(const ws_driver&) = delete;
  ws_driver& operator=(const ws_driver&) = delete;

  void start() override;
  void on_io(uint32_t events) override;
  void on_wake(uint32_t tag) override;
  void on_drain(int64_t deadline_ms) override;
  void on_message(caf::message& msg) override;
  void stop() noexcept override;

private:
  void on_timer();
  void on_ping();
  void on_idle();
  void read_input();
  size_t consume(char* data, size_t size);
  void on_frame(const ws::frame_header& fh, char* payload);
  void on_data(const ws::frame_header& fh, char* payload);
  void on_compressed(const ws::frame_header& fh, char* payload);
  void on_close_frame(const char* payload, size_t size);
  void check_full();
  void deliver(std::string data, bool binary);
  void send(ws_message& msg);
  void start_close(uint16_t code, std::string_view reason);
  void fail(uint16_t code, std::string_view reason);
  void flush();
  void check_buffer();
  template <class Atom>
  void notify(Atom what);
  void emit(telemetry_kind kind) noexcept;

  reactor& home() const noexcept { return host_->home(); }
  transport& io() const noexcept { return host_->io(); }
  request_lifecycle& life() const noexcept { return host_->requests(); }

  driver_host* host_;
  std::shared_ptr<const ws_route> route_;
  open_request req_;
  std::string protocol_;
  std::string in_;  // a partial frame (header and payload)
  std::string msg_; // a fragmented message being reassembled
  ws::utf8_validator utf8_;
  std::unique_ptr<ws::deflate_session> deflate_; // negotiated: RFC 7692
  caf::actor session_; // the session actor (null once it ended)
  // The close timeout (after our close frame) or the drain deadline.
  member_timer<ws_driver, &ws_driver::on_timer> timer_{this};
  member_timer<ws_driver, &ws_driver::on_ping> ping_{this}; // ping_interval
  member_timer<ws_driver, &ws_driver::on_idle> idle_{this}; // idle_timeout
  uint64_t sent_ = 0;     // payload bytes queued for the peer
  uint64_t dropped_ = 0;  // messages dropped while the buffer was full
  uint64_t received_ = 0; // messages received (telemetry)
  uint16_t code_ = ws::close_code::abnormal; // for ws_closed
  std::string reason_;
  ws::opcode msg_op_ = ws::opcode::text;
  bool fragmented_ = false; // inside a fragmented message
  bool compressed_ = false; // ... whose first frame had RSV1
  bool close_sent_ = false;
  bool peer_closed_ = false; // the peer's close frame arrived
  bool failed_ = false;      // we failed the connection (1002, 1007, 1009)
  bool full_ = false;        // the session heard ws_full
  bool done_ = false;        // stopped
};

} // namespace roadrunner::detail
