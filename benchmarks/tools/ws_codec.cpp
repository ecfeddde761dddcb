// WebSocket codec cost, own codec vs Debian's wslay (issue 15 item 6): echo
// N masked client text messages of SIZE bytes in memory (parse, unmask,
// UTF-8 check, copy the message out, frame the echo). No sockets, no
// actors: the part a library would replace. Run under callgrind or memcheck
// with two values of N and take the difference (benchmarks/ws_codec.sh).
//
// Usage: ws_codec own|wslay SIZE N

#include "ws/codec.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <wslay/wslay.h>

namespace {

std::string client_frame(size_t size) {
  std::string out;
  out.push_back('\x81');
  if (size < 126) {
    out.push_back(static_cast<char>(0x80 | size));
  } else {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(size >> 8));
    out.push_back(static_cast<char>(size & 0xff));
  }
  const char key[4] = {0x11, 0x22, 0x33, 0x44};
  out.append(key, 4);
  for (size_t i = 0; i < size; ++i)
    out.push_back(static_cast<char>(('a' + i % 26) ^ key[i & 3]));
  return out;
}

// -- own codec ----------------------------------------------------------------

size_t run_own(const std::string& frame, long n) {
  using namespace roadrunner::ws;
  size_t total = 0;
  std::string in;
  std::string out;
  for (long i = 0; i < n; ++i) {
    in = frame; // the bytes a read put in the buffer
    frame_header fh;
    frame_error err;
    if (parse_frame_header(in, 1 << 20, fh, err) != parse_result::ok)
      std::abort();
    auto* payload = in.data() + fh.header_size;
    unmask(payload, fh.payload_size, fh.mask);
    if (!valid_utf8({payload, fh.payload_size}))
      std::abort();
    std::string msg{payload, fh.payload_size}; // the ws_message
    out.clear();
    write_frame_header(out, opcode::text, msg.size());
    out.append(msg);
    total += out.size();
  }
  return total;
}

// -- wslay --------------------------------------------------------------------

struct wslay_io {
  const std::string* in = nullptr;
  size_t in_pos = 0;
  std::string out;
};

ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t* buf, size_t len, int,
                void* user) {
  auto* io = static_cast<wslay_io*>(user);
  auto left = io->in->size() - io->in_pos;
  if (left == 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  auto n = left < len ? left : len;
  std::memcpy(buf, io->in->data() + io->in_pos, n);
  io->in_pos += n;
  return static_cast<ssize_t>(n);
}

ssize_t send_cb(wslay_event_context_ptr, const uint8_t* data, size_t len, int,
                void* user) {
  auto* io = static_cast<wslay_io*>(user);
  io->out.append(reinterpret_cast<const char*>(data), len);
  return static_cast<ssize_t>(len);
}

void msg_cb(wslay_event_context_ptr ctx,
            const struct wslay_event_on_msg_recv_arg* arg, void*) {
  if (wslay_is_ctrl_frame(arg->opcode))
    return;
  // The message handed to the session actor, then its echo.
  std::string msg{reinterpret_cast<const char*>(arg->msg), arg->msg_length};
  wslay_event_msg m{arg->opcode, reinterpret_cast<const uint8_t*>(msg.data()),
                    msg.size()};
  wslay_event_queue_msg(ctx, &m);
}

size_t run_wslay(const std::string& frame, long n) {
  wslay_io io;
  wslay_event_callbacks cbs{recv_cb, send_cb, nullptr, nullptr,
                            nullptr, nullptr, msg_cb};
  wslay_event_context_ptr ctx;
  if (wslay_event_context_server_init(&ctx, &cbs, &io) != 0)
    std::abort();
  wslay_event_config_set_max_recv_msg_length(ctx, 1 << 20);
  size_t total = 0;
  for (long i = 0; i < n; ++i) {
    io.in = &frame;
    io.in_pos = 0;
    io.out.clear();
    if (wslay_event_recv(ctx) != 0 || wslay_event_send(ctx) != 0)
      std::abort();
    total += io.out.size();
  }
  wslay_event_context_free(ctx);
  return total;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s own|wslay SIZE N\n", argv[0]);
    return 2;
  }
  std::string mode = argv[1];
  auto size = static_cast<size_t>(std::atol(argv[2]));
  auto n = std::atol(argv[3]);
  auto frame = client_frame(size);
  auto total = mode == "own" ? run_own(frame, n) : run_wslay(frame, n);
  std::printf("%s size=%zu n=%ld out=%zu\n", mode.c_str(), size, n, total);
  return 0;
}
