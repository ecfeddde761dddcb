#!/usr/bin/python3
"""A scripted h2c client (prior knowledge) for the request lifecycle tests.

Usage: h2_script.py PORT COMMAND...

Debian's python3-h2 speaks for the client, with header validation off so a
malformed request can be sent on purpose. The commands run in order on one
connection; each takes a fixed number of arguments:

  get SID PATH              GET, END_STREAM on the HEADERS
  method SID METHOD PATH    any method, no body
  post SID PATH SIZE        POST with content-length and SIZE bytes of 'x'
  open SID PATH LENGTH      POST headers announcing LENGTH, no END_STREAM
  data SID SIZE             SIZE bytes of DATA, no END_STREAM
  big SID PATH SIZE         GET with an x-big field of SIZE bytes
  badpath SID               GET with a :path holding a space (malformed)
  rst SID                   RST_STREAM(CANCEL)
  wait SID                  reads until the stream ended or was reset, then
                            prints `stream SID status S ended E reset R
                            body N` (S, R: -1 when none)
  ping                      PING; prints `ping ok` when the ACK came back
                            (the connection still works), else `ping fail`
  say WORD                  prints WORD (the test can wait for it)

Every read has a deadline; a case never runs longer than a few seconds per
wait.
"""

import socket
import sys
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions

TIMEOUT = 10.0


def say(*words):
    print(*words, flush=True)


class Stream:
    def __init__(self):
        self.status = -1
        self.body = b""
        self.ended = False
        self.reset = -1


class Session:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cfg = h2.config.H2Configuration(client_side=True,
                                        header_encoding="utf-8",
                                        validate_outbound_headers=False,
                                        normalize_outbound_headers=False,
                                        validate_inbound_headers=False)
        self.conn = h2.connection.H2Connection(cfg)
        self.conn.initiate_connection()
        self.streams = {}
        self.eof = False
        self.pong = False
        self.buf = b""
        self.raw = False  # after a GOAWAY: frames are parsed here
        self.send()

    def stream(self, sid):
        return self.streams.setdefault(sid, Stream())

    def send(self):
        data = self.conn.data_to_send()
        if data:
            try:
                self.sock.sendall(data)
            except OSError:
                self.eof = True

    def pump(self, until, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while not until():
            left = deadline - time.monotonic()
            if left <= 0 or self.eof:
                break
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                break
            except OSError:
                data = b""
            if not data:
                self.eof = True
                break
            self.buf += data
            # Frame by frame: python-h2 refuses every frame after a GOAWAY,
            # but the streams up to its last id go on (RFC 9113 6.8), so
            # from the GOAWAY on frames are read raw (HPACK through the
            # connection's own decoder, which keeps its state).
            while len(self.buf) >= 9:
                n = int.from_bytes(self.buf[0:3], "big")
                if len(self.buf) < 9 + n:
                    break
                frame, self.buf = self.buf[:9 + n], self.buf[9 + n:]
                if self.raw:
                    self.raw_frame(frame)
                    continue
                try:
                    events = self.conn.receive_data(frame)
                except h2.exceptions.ProtocolError as e:
                    say("client_protocol_error", type(e).__name__)
                    self.eof = True
                    break
                for ev in events:
                    self.handle(ev)
                self.send()
        return until()

    def raw_frame(self, frame):
        kind, flags = frame[3], frame[4]
        sid = int.from_bytes(frame[5:9], "big") & 0x7FFFFFFF
        payload = frame[9:]
        if kind in (0, 1) and flags & 0x8:  # PADDED
            pad = payload[0]
            payload = payload[1:len(payload) - pad]
        if kind == 0:  # DATA
            self.stream(sid).body += payload
        elif kind == 1:  # HEADERS
            if flags & 0x20:  # PRIORITY
                payload = payload[5:]
            for name, value in self.conn.decoder.decode(payload):
                if name in (":status", b":status"):
                    self.stream(sid).status = int(value)
        elif kind == 3:  # RST_STREAM
            self.stream(sid).reset = int.from_bytes(payload[0:4], "big")
        elif kind == 7:  # GOAWAY
            say("goaway", int.from_bytes(payload[4:8], "big"),
                int.from_bytes(payload[0:4], "big") & 0x7FFFFFFF)
        if kind in (0, 1) and flags & 0x1:  # END_STREAM
            self.stream(sid).ended = True

    def handle(self, ev):
        if isinstance(ev, h2.events.ResponseReceived):
            self.stream(ev.stream_id).status = int(dict(ev.headers)[":status"])
        elif isinstance(ev, h2.events.DataReceived):
            self.stream(ev.stream_id).body += ev.data
            self.conn.acknowledge_received_data(ev.flow_controlled_length,
                                                ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            self.stream(ev.stream_id).ended = True
        elif isinstance(ev, h2.events.StreamReset):
            self.stream(ev.stream_id).reset = int(ev.error_code)
        elif isinstance(ev, h2.events.PingAckReceived):
            self.pong = True
        elif isinstance(ev, h2.events.ConnectionTerminated):
            say("goaway", int(ev.error_code), ev.last_stream_id)
            self.raw = True

    def headers(self, sid, method, path, extra=(), end=True):
        hs = [(":method", method), (":path", path), (":scheme", "http"),
              (":authority", "localhost")] + list(extra)
        self.conn.send_headers(sid, hs, end_stream=end)
        self.send()


def main():
    port = int(sys.argv[1])
    args = sys.argv[2:]
    s = Session(port)
    i = 0
    while i < len(args):
        cmd = args[i]
        if cmd == "get":
            s.headers(int(args[i + 1]), "GET", args[i + 2])
            i += 3
        elif cmd == "method":
            s.headers(int(args[i + 1]), args[i + 2], args[i + 3])
            i += 4
        elif cmd == "post":
            sid, size = int(args[i + 1]), int(args[i + 3])
            s.headers(sid, "POST", args[i + 2],
                      [("content-length", str(size))], end=size == 0)
            if size > 0:
                s.conn.send_data(sid, b"x" * size, end_stream=True)
                s.send()
            i += 4
        elif cmd == "open":
            s.headers(int(args[i + 1]), "POST", args[i + 2],
                      [("content-length", args[i + 3])], end=False)
            i += 4
        elif cmd == "data":
            s.conn.send_data(int(args[i + 1]), b"x" * int(args[i + 2]))
            s.send()
            i += 3
        elif cmd == "big":
            s.headers(int(args[i + 1]), "GET", args[i + 2],
                      [("x-big", "a" * int(args[i + 3]))])
            i += 4
        elif cmd == "badpath":
            s.headers(int(args[i + 1]), "GET", "/a b")
            i += 2
        elif cmd == "rst":
            s.conn.reset_stream(int(args[i + 1]), h2.errors.ErrorCodes.CANCEL)
            s.send()
            i += 2
        elif cmd == "wait":
            sid = int(args[i + 1])
            st = s.stream(sid)
            s.pump(lambda: st.ended or st.reset >= 0)
            say("stream", sid, "status", st.status, "ended", int(st.ended),
                "reset", st.reset, "body", len(st.body))
            i += 2
        elif cmd == "ping":
            s.pong = False
            s.conn.ping(b"lifecycl")
            s.send()
            say("ping", "ok" if s.pump(lambda: s.pong) else "fail")
            i += 1
        elif cmd == "say":
            say(args[i + 1])
            i += 2
        else:
            say("unknown_command", cmd)
            return 2
    s.sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
