#!/usr/bin/python3
"""RFC 9113 conformance cases with frames built by hand, for the e2e suite.

Usage: h2_frames.py PORT [--tls] [CASE...]

Each case opens its own connection to roadrunner-demo (h2c with prior
knowledge, or TLS with ALPN h2), sends frames that a validating client
library would refuse to send, and prints one line `CASE OUTCOME`, where
OUTCOME is what the server answered, in the order it came:

  rst SID CODE        RST_STREAM on SID with error CODE (e.g. STREAM_CLOSED)
  goaway CODE LAST    GOAWAY with error CODE and last-stream-id LAST
  status SID N        a response HEADERS with :status N on SID
  push                a PUSH_PROMISE
  pingack HEX         a PING ACK the case asked for
  ping                the two PINGs sent after the case were acknowledged
                      (the server read everything before them, answered
                      it, and is still talking)
  eof                 the server closed the connection
  timeout             none of the above within the deadline

Only the frames a case asks to observe are listed (responses it waited for
before the interesting frame are not). The expectations live in the C++
table (tests/e2e/rfc9113.test.cpp), not here. HPACK blocks are made with
Debian's python3-hpack; every socket has a timeout and every loop is
bounded.
"""

import socket
import ssl
import struct
import sys
import time

import hpack

TIMEOUT = 3.0

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS = 0, 1, 2, 3, 4
PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 5, 6, 7, 8, 9

END_STREAM, ACK, END_HEADERS, PADDED, PRIO_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20

ERRORS = [
    "NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
    "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR",
    "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR",
    "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
]
CODE = {name: i for i, name in enumerate(ERRORS)}

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def error_name(code):
    return ERRORS[code] if code < len(ERRORS) else hex(code)


def frame(ftype, flags, sid, payload=b""):
    return (struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) +
            struct.pack(">I", sid) + payload)


def get(path="/", method="GET", extra=()):
    return [(":method", method), (":scheme", "http"), (":path", path),
            (":authority", "localhost")] + list(extra)


class Conn:
    """One connection: raw frames out, parsed frames in."""

    def __init__(self, port, tls, settings=()):
        s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            s = ctx.wrap_socket(s, server_hostname="localhost")
        self.sock = s
        self.received = {}
        self.out = b""
        self.enc = hpack.Encoder()
        self.dec = hpack.Decoder()
        self.buf = b""
        self.eof = False
        self.seen = []  # observed outcome words, in order
        self.statuses = {}
        self.ended = set()
        self.next_ping = 0
        payload = b"".join(struct.pack(">HI", k, v) for k, v in settings)
        self.send(PREFACE + frame(SETTINGS, 0, 0, payload))
        # The server's SETTINGS, and its ACK of ours: from here on the
        # server's limits are in force.
        self.until(lambda: self.settings_acked, record=False)

    settings_acked = False
    # The type of the first frame the server sent.
    first_type = None
    # Acknowledge DATA with WINDOW_UPDATEs as it arrives.
    auto_window = True
    # DATA payload bytes received per stream.
    received = {}

    # -- sending -------------------------------------------------------------

    def send(self, data):
        # Frames go out together when the case starts reading: the server
        # gets a case's frames in one read, so that a connection error
        # leaves no unread input behind (a close with unread input is a
        # TCP reset, which may drop the GOAWAY before the client reads it).
        self.out += data

    def flush(self):
        if self.out and not self.eof:
            try:
                self.sock.sendall(self.out)
            except OSError:
                self.eof = True
        self.out = b""

    def block(self, fields):
        return self.enc.encode(fields)

    def headers(self, sid, fields, end_stream=True, end_headers=True,
                block=None, flags=0, prefix=b""):
        if block is None:
            block = self.block(fields)
        f = flags | (END_STREAM if end_stream else 0)
        f |= END_HEADERS if end_headers else 0
        self.send(frame(HEADERS, f, sid, prefix + block))

    def data(self, sid, payload=b"x", end_stream=False, flags=0):
        self.send(frame(DATA, flags | (END_STREAM if end_stream else 0), sid,
                        payload))

    def raw(self, ftype, flags, sid, payload=b""):
        self.send(frame(ftype, flags, sid, payload))

    def rst(self, sid, code="CANCEL"):
        self.send(frame(RST_STREAM, 0, sid, struct.pack(">I", CODE[code])))

    def window_update(self, sid, inc):
        self.send(frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", inc)))

    def priority(self, sid, dep=0, weight=16):
        self.send(frame(PRIORITY, 0, sid, struct.pack(">IB", dep, weight)))

    # -- receiving -----------------------------------------------------------

    def read_frames(self, deadline):
        """Reads once (until the deadline); returns the complete frames."""
        self.flush()
        left = deadline - time.monotonic()
        if left <= 0 or self.eof:
            return None
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            return None
        except (ConnectionError, ssl.SSLError, OSError):
            d = b""
        if not d:
            self.eof = True
            return []
        self.buf += d
        out = []
        while len(self.buf) >= 9:
            n = int.from_bytes(self.buf[0:3], "big")
            if len(self.buf) < 9 + n:
                break
            sid = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
            out.append((self.buf[3], self.buf[4], sid, self.buf[9:9 + n]))
            self.buf = self.buf[9 + n:]
        return out

    def handle(self, ftype, flags, sid, p, record):
        words = None
        if self.first_type is None:
            self.first_type = ftype
        if ftype == SETTINGS and not flags & ACK:
            self.send(frame(SETTINGS, ACK, 0))
        elif ftype == SETTINGS:
            self.settings_acked = True
        elif ftype == HEADERS:
            # Keep the HPACK state in step; only :status matters.
            block = p
            if flags & PADDED:
                block = block[1:len(block) - p[0]]
            if flags & PRIO_FLAG:
                block = block[5:]
            fields = dict(self.dec.decode(block))
            st = fields.get(":status", fields.get(b":status"))
            if st is not None:
                st = int(st)
                self.statuses[sid] = st
                words = "status %d %d" % (sid, st)
            if flags & END_STREAM:
                self.ended.add(sid)
        elif ftype == DATA:
            self.received[sid] = self.received.get(sid, 0) + len(p)
            if flags & END_STREAM:
                self.ended.add(sid)
            if p and self.auto_window:  # keep the windows open
                inc = struct.pack(">I", len(p))
                self.send(frame(WINDOW_UPDATE, 0, 0, inc) +
                          frame(WINDOW_UPDATE, 0, sid, inc))
        elif ftype == RST_STREAM:
            self.ended.add(sid)
            words = "rst %d %s" % (sid, error_name(
                int.from_bytes(p[0:4], "big")))
        elif ftype == GOAWAY:
            words = "goaway %s %d" % (
                error_name(int.from_bytes(p[4:8], "big")),
                int.from_bytes(p[0:4], "big") & 0x7FFFFFFF)
        elif ftype == PUSH_PROMISE:
            words = "push"
        elif ftype == PING and flags & ACK:
            words = "pingack %s" % p.hex()
        elif ftype == PING:
            self.send(frame(PING, ACK, 0, p))
        if words and record:
            self.seen.append(words)

    def until(self, cond, timeout=TIMEOUT, record=True):
        deadline = time.monotonic() + timeout
        while not cond():
            frames = self.read_frames(deadline)
            if frames is None:
                return False
            if self.eof and not frames:
                return cond()
            for f in frames:
                self.handle(*f, record)
        return True

    def response(self, sid, timeout=TIMEOUT):
        """Waits for the end of SID's response (not part of the outcome)."""
        self.until(lambda: sid in self.ended, timeout, record=False)
        return self.statuses.get(sid)

    def outcome(self, timeout=TIMEOUT):
        """Sends a PING and reads until its ACK, then a second PING and its
        ACK (everything the server wrote in answer to the frames before the
        first PING has arrived by then), EOF or the deadline. Returns the
        outcome line: the RST_STREAM, GOAWAY, PUSH_PROMISE and response
        words sorted, then "ping", "eof" or "timeout"."""
        acked = 0
        for _ in range(2):
            self.next_ping += 1
            payload = struct.pack(">Q", 0x7272000000000000 + self.next_ping)
            self.send(frame(PING, 0, 0, payload))
            want = "pingack " + payload.hex()
            if not self.until(lambda: self.eof or want in self.seen, timeout):
                break
            if self.eof:
                break
            acked += 1
        ours = "pingack 7272"
        words = sorted(w for w in self.seen if not w.startswith(ours))
        if self.eof:
            words.append("eof")
        elif acked == 2:
            words.append("ping")
        else:
            words.append("timeout")
        self.seen = []
        return " ".join(words)


# -- cases ---------------------------------------------------------------------
# Each takes a fresh Conn and returns its outcome. Stream 1 is the first
# request; /slow?ms=N keeps a stream half-closed (remote) for N ms.

SLOW = "/slow?ms=1500"


def sends(*steps):
    """A case that runs `steps` (each takes the Conn and sends frames) and
    returns the outcome."""
    def case(c):
        for step in steps:
            step(c)
        return c.outcome()
    return case


def request_and_wait(c, sid=1, path="/"):
    c.headers(sid, get(path))
    c.response(sid)


# 5.1 idle


def idle_priority(c):
    # PRIORITY on an idle stream is allowed; the stream may open later.
    c.priority(3)
    c.headers(3, get())
    return c.outcome()


def idle_even_headers(c):
    # A client cannot open a server-initiated (even) stream.
    c.headers(2, get())
    return c.outcome()


# 5.1 half-closed (remote)


def half_closed_window_update(c):
    c.headers(1, get(SLOW))
    c.window_update(1, 100)
    c.priority(1, 0, 200)
    r = c.outcome()
    c.response(1)
    return r + " then %s" % c.statuses.get(1)


def reset_then_silence(c):
    # After the client's RST_STREAM the server sends nothing on the stream
    # (5.1: only PRIORITY on a closed stream), not even the answer its
    # handler gives 200 ms later: stream 3's answer comes after that.
    c.headers(1, get("/slow?ms=200"))
    c.rst(1, "CANCEL")
    c.headers(3, get("/slow?ms=600"))
    c.until(lambda: 3 in c.ended, record=True)
    c.seen = [w for w in c.seen if w.split()[1:2] == ["1"]]
    return c.outcome()


def unknown_frame_ignored(c):
    # 4.1 / 5.5: frames of unknown types and unknown flags are ignored.
    c.raw(0xFA, 0xFF, 0, b"whatever")
    c.raw(0xFA, 0, 1, b"")
    c.headers(3, get(), flags=0x40 | 0x02)
    return c.outcome()


def unknown_frame_in_header_block(c):
    # 4.3: a header block is contiguous; any other frame inside it is a
    # connection error PROTOCOL_ERROR, even of an unknown type.
    block = c.block(get())
    c.headers(1, None, block=block[:3], end_headers=False)
    c.raw(0xFA, 0, 1, b"")
    c.raw(CONTINUATION, END_HEADERS, 1, block[3:])
    return c.outcome()


# 5.1 closed, after both END_STREAMs
def closed_data(c):
    request_and_wait(c)
    c.data(1, b"x")
    return c.outcome()


def closed_headers(c):
    request_and_wait(c)
    c.headers(1, [("x-trailer", "1")])
    return c.outcome()


def closed_window_update_priority_rst(c):
    request_and_wait(c)
    c.window_update(1, 100)
    c.priority(1)
    c.rst(1, "CANCEL")
    return c.outcome()


# 5.1 closed, after the client's RST_STREAM


def client_reset_data_later(c):
    # The RST_STREAM and the DATA in separate reads, other streams between.
    c.headers(1, get(), end_stream=False)
    c.rst(1, "CANCEL")
    request_and_wait(c, 3)
    c.data(1, b"x")
    return c.outcome()


# 5.1 closed, after the server's RST_STREAM: frames the client may have sent
# before it saw the reset are ignored, but HPACK state and the connection
# window still count.
def server_reset_then_frames(c):
    # 413: the server answers and resets the rest with NO_ERROR.
    c.headers(1, get("/echo", "POST", [("content-length", "100000")]),
              end_stream=False)
    c.until(lambda: 1 in c.ended, record=True)
    c.data(1, b"x" * 1000)
    # A header block on the closed stream adds to the HPACK dynamic table:
    # the next request refers to that entry.
    c.headers(1, [("x-new-field", "kept-in-the-table")])
    c.headers(3, get("/", extra=[("x-new-field", "kept-in-the-table")]))
    r = c.outcome()
    c.response(3)
    return r + " then %s" % c.statuses.get(3)


def server_reset_malformed_then_data(c):
    # A malformed request is reset with PROTOCOL_ERROR; the body the client
    # had already sent is ignored.
    c.headers(1, get(extra=[("connection", "close")]), end_stream=False)
    c.until(lambda: 1 in c.ended, record=True)
    c.data(1, b"x", end_stream=True)
    r = c.outcome()
    request_and_wait(c, 3)
    return r + " then %s" % c.statuses.get(3)


# 5.1.1 stream identifiers
def lower_stream_id(c):
    request_and_wait(c, 5)
    c.headers(3, get())
    return c.outcome()


def reused_stream_id(c):
    request_and_wait(c, 1)
    c.headers(1, get())
    return c.outcome()


def skipped_id_data(c):
    # Opening 5 closes the idle stream 3: DATA on it is on a closed stream.
    request_and_wait(c, 5)
    c.data(3, b"x")
    return c.outcome()


# 6.1 DATA


def data_padded_ok(c):
    c.headers(1, get("/echo", "POST"), end_stream=False)
    c.data(1, bytes([3]) + b"abc" + b"\0\0\0", end_stream=True, flags=PADDED)
    c.response(1)
    return "status %s" % c.statuses.get(1)


# 6.2 HEADERS


def headers_bad_padding(c):
    block = c.block(get())
    c.headers(1, None, block=block, flags=PADDED,
              prefix=bytes([len(block) + 10]))
    return c.outcome()


def headers_then_priority(c):
    # A header block must be followed by CONTINUATION only.
    c.headers(1, get(), end_headers=False)
    c.priority(3)
    return c.outcome()


def headers_self_dependency(c):
    prio = struct.pack(">IB", 1, 16)
    c.headers(1, None, block=c.block(get()), flags=PRIO_FLAG, prefix=prio)
    return c.outcome()


# 6.5 SETTINGS


def settings_unknown_and_ack(c):
    # An unknown setting is ignored; every SETTINGS is acknowledged.
    c.settings_acked = False
    c.raw(SETTINGS, 0, 0, struct.pack(">HI", 0xF0F0, 7))
    acked = c.until(lambda: c.settings_acked, record=False)
    return ("ack " if acked else "") + c.outcome()


def server_preface(c):
    # 3.4: the server's preface is a SETTINGS frame, its first frame.
    return "first %d " % c.first_type + c.outcome()


def initial_window_negative(c):
    # 6.9.2: lowering SETTINGS_INITIAL_WINDOW_SIZE can make a stream's send
    # window negative; the server waits until WINDOW_UPDATEs make it
    # positive again. The handshake set INITIAL_WINDOW_SIZE 100 (HANDSHAKE).
    c.auto_window = False
    c.headers(1, get("/large"))
    c.until(lambda: c.received.get(1, 0) >= 100, record=False)
    got = [c.received.get(1, 0)]
    c.raw(SETTINGS, 0, 0, struct.pack(">HI", 4, 50))  # window 0 -> -50
    c.window_update(1, 30)  # -20: still nothing may be sent
    c.outcome()
    got.append(c.received.get(1, 0))
    c.window_update(1, 40)  # 20
    c.outcome()
    got.append(c.received.get(1, 0))
    return "data " + ",".join(str(n) for n in got) + " " + c.outcome()


def settings_in_order(c):
    # INITIAL_WINDOW_SIZE 100000 then 3 in one frame: the last value wins,
    # so the 13-byte body comes as DATA frames of at most 3 bytes.
    c.raw(SETTINGS, 0, 0, struct.pack(">HIHI", 4, 100000, 4, 3))
    c.headers(1, get())
    sizes = []
    deadline = time.monotonic() + TIMEOUT
    while 1 not in c.ended:
        frames = c.read_frames(deadline)
        if not frames:
            break
        for f in frames:
            if f[0] == DATA and f[2] == 1:
                sizes.append(len(f[3]))
            c.handle(*f, False)
    return "data %s" % ",".join(str(s) for s in sizes)


# 6.6 / 8.4 PUSH_PROMISE
def client_push_promise(c):
    c.headers(1, get(SLOW))
    c.raw(PUSH_PROMISE, END_HEADERS, 1, struct.pack(">I", 2) +
          c.block(get("/pushed")))
    return c.outcome()


def no_push_when_disabled(c):
    # SETTINGS_ENABLE_PUSH=0 was sent in the handshake (see main).
    request_and_wait(c)
    return c.outcome()


# 6.8 GOAWAY


def goaway_from_client(c):
    # The client's GOAWAY: its open stream is still answered.
    c.headers(1, get("/slow?ms=200"))
    c.raw(GOAWAY, 0, 0, struct.pack(">II", 0, 0))
    c.response(1)
    return "status %s" % c.statuses.get(1)


# 6.9 WINDOW_UPDATE


def initial_window_overflow(c):
    # A stream window already raised to 2^31-1: SETTINGS_INITIAL_WINDOW_SIZE
    # growing it further overflows.
    c.headers(1, get(SLOW))
    c.window_update(1, 0x7FFFFFFF - 65535)
    c.raw(SETTINGS, 0, 0, struct.pack(">HI", 4, 65536))
    return c.outcome()


def data_over_window(c):
    # The demo runs with --stream-window=1000 for the flow-control cases.
    c.headers(1, get("/echo", "POST"), end_stream=False)
    c.data(1, b"x" * 2000)
    return c.outcome()


# 6.10 CONTINUATION


def continuation_split_ok(c):
    block = c.block(get())
    c.headers(1, None, block=block[:4], end_headers=False)
    c.raw(CONTINUATION, 0, 1, block[4:6])
    c.raw(CONTINUATION, END_HEADERS, 1, block[6:])
    c.response(1)
    return "status %s" % c.statuses.get(1)


# 8.1 framing and malformed requests: a malformed one is reset with
# PROTOCOL_ERROR and the connection goes on (checked by the PING).
def request(fields, end_stream=True):
    def case(c):
        c.headers(1, fields, end_stream=end_stream)
        return c.outcome()
    return case


def trailers_ok(c):
    c.headers(1, get("/echo", "POST"), end_stream=False)
    c.data(1, b"abc")
    c.headers(1, [("x-trailer", "1")], end_stream=True)
    c.response(1)
    return "status %s" % c.statuses.get(1)


def content_length_short(c):
    c.headers(1, get("/echo", "POST", [("content-length", "10")]),
              end_stream=False)
    c.data(1, b"abc", end_stream=True)
    return c.outcome()


def content_length_long(c):
    c.headers(1, get("/echo", "POST", [("content-length", "2")]),
              end_stream=False)
    c.data(1, b"ab")
    c.data(1, b"c", end_stream=True)
    return c.outcome()


def get_with_body(c):
    # Not malformed: a GET may carry content; the handler answers.
    c.headers(1, get(), end_stream=False)
    c.data(1, b"abc", end_stream=True)
    c.response(1)
    return "status %s" % c.statuses.get(1)


def without(name):
    return [f for f in get() if f[0] != name]


# The cases by name: the ones above, and those that only send frames and
# report the outcome (`sends`). Sections and expectations: the table in
# tests/e2e/rfc9113.test.cpp.
CASES = {
    "idle_data": sends(lambda c: c.data(1, b"x", end_stream=True)),
    "idle_rst_stream": sends(lambda c: c.rst(1)),
    "idle_window_update": sends(lambda c: c.window_update(1, 100)),
    "idle_continuation": sends(
        lambda c: c.raw(CONTINUATION, END_HEADERS, 1, c.block(get()))),
    "idle_priority": idle_priority,
    "idle_even_headers": idle_even_headers,
    "half_closed_data": sends(
        lambda c: c.headers(1, get(SLOW)),
        lambda c: c.data(1, b"x")),
    "half_closed_headers": sends(
        lambda c: c.headers(1, get(SLOW)),
        lambda c: c.headers(1, [("x-trailer", "1")])),
    "half_closed_window_update": half_closed_window_update,
    "half_closed_rst_stream": sends(
        lambda c: c.headers(1, get(SLOW)),
        lambda c: c.rst(1, "CANCEL")),
    "reset_then_silence": reset_then_silence,
    "unknown_frame_ignored": unknown_frame_ignored,
    "unknown_frame_in_header_block": unknown_frame_in_header_block,
    "closed_data": closed_data,
    "closed_headers": closed_headers,
    "closed_window_update_priority_rst": closed_window_update_priority_rst,
    "client_reset_data": sends(
        lambda c: c.headers(1, get(), end_stream=False),
        lambda c: c.rst(1, "CANCEL"),
        lambda c: c.data(1, b"x")),
    "client_reset_headers": sends(
        lambda c: c.headers(1, get(), end_stream=False),
        lambda c: c.rst(1, "CANCEL"),
        lambda c: c.headers(1, [("x-trailer", "1")])),
    "client_reset_data_later": client_reset_data_later,
    "server_reset_then_frames": server_reset_then_frames,
    "server_reset_malformed_then_data": server_reset_malformed_then_data,
    "lower_stream_id": lower_stream_id,
    "reused_stream_id": reused_stream_id,
    "skipped_id_data": skipped_id_data,
    "over_max_concurrent": sends(
        lambda c: c.headers(1, get(SLOW)),
        lambda c: c.headers(3, get(SLOW)),
        lambda c: c.headers(5, get(SLOW))),
    "data_stream_zero": sends(lambda c: c.data(0, b"x")),
    "data_bad_padding": sends(
        lambda c: c.headers(1, get("/echo", "POST"), end_stream=False),
        lambda c: c.data(1, bytes([10]) + b"abc", end_stream=True,
                         flags=PADDED)),
    "data_padded_ok": data_padded_ok,
    "headers_stream_zero": sends(lambda c: c.headers(0, get())),
    "headers_bad_padding": headers_bad_padding,
    "headers_then_priority": headers_then_priority,
    "headers_then_other_stream": sends(
        lambda c: c.headers(1, get(), end_headers=False),
        lambda c: c.headers(3, get())),
    "headers_self_dependency": headers_self_dependency,
    "priority_stream_zero": sends(lambda c: c.priority(0)),
    "priority_bad_length": sends(lambda c: c.raw(PRIORITY, 0, 1, b"\0\0\0\0")),
    "priority_self_dependency": sends(lambda c: c.priority(1, 1)),
    "rst_stream_zero": sends(lambda c: c.rst(0)),
    "rst_bad_length": sends(
        lambda c: c.headers(1, get(SLOW)),
        lambda c: c.raw(RST_STREAM, 0, 1, b"\0\0\0")),
    "settings_ack_with_payload": sends(
        lambda c: c.raw(SETTINGS, ACK, 0, struct.pack(">HI", 3, 10))),
    "settings_on_stream": sends(
        lambda c: c.raw(SETTINGS, 0, 1, struct.pack(">HI", 3, 10))),
    "settings_bad_length": sends(
        lambda c: c.raw(SETTINGS, 0, 0, b"\0\3\0\0\0")),
    "settings_enable_push_2": sends(
        lambda c: c.raw(SETTINGS, 0, 0, struct.pack(">HI", 2, 2))),
    "settings_window_too_large": sends(
        lambda c: c.raw(SETTINGS, 0, 0, struct.pack(">HI", 4, 0x80000000))),
    "settings_frame_size_too_small": sends(
        lambda c: c.raw(SETTINGS, 0, 0, struct.pack(">HI", 5, 16383))),
    "settings_frame_size_too_large": sends(
        lambda c: c.raw(SETTINGS, 0, 0, struct.pack(">HI", 5, 16777216))),
    "settings_unknown_and_ack": settings_unknown_and_ack,
    "settings_in_order": settings_in_order,
    "server_preface": server_preface,
    "initial_window_negative": initial_window_negative,
    "client_push_promise": client_push_promise,
    "no_push_when_disabled": no_push_when_disabled,
    "ping_echo": sends(lambda c: c.raw(PING, 0, 0, b"abcdefgh")),
    "ping_ack_not_answered": sends(lambda c: c.raw(PING, ACK, 0, b"abcdefgh")),
    "ping_on_stream": sends(lambda c: c.raw(PING, 0, 1, b"abcdefgh")),
    "ping_bad_length": sends(lambda c: c.raw(PING, 0, 0, b"abcdef")),
    "goaway_on_stream": sends(
        lambda c: c.raw(GOAWAY, 0, 1, struct.pack(">II", 0, 0))),
    "goaway_from_client": goaway_from_client,
    "window_update_zero_stream": sends(
        lambda c: c.headers(1, get(SLOW)),
        lambda c: c.window_update(1, 0)),
    "window_update_zero_connection": sends(lambda c: c.window_update(0, 0)),
    "window_update_bad_length": sends(
        lambda c: c.raw(WINDOW_UPDATE, 0, 0, b"\0\0\1")),
    "window_overflow_connection": sends(
        lambda c: c.window_update(0, 0x7FFFFFFF)),
    "window_overflow_stream": sends(
        lambda c: c.headers(1, get(SLOW)),
        lambda c: c.window_update(1, 0x7FFFFFFF)),
    "initial_window_overflow": initial_window_overflow,
    "data_over_window": data_over_window,
    "continuation_stream_zero": sends(
        lambda c: c.headers(1, get(), end_headers=False,
                            block=c.block(get())[:3]),
        lambda c: c.raw(CONTINUATION, END_HEADERS, 0, b"")),
    "continuation_after_end_headers": sends(
        lambda c: c.headers(1, get(SLOW)),
        lambda c: c.raw(CONTINUATION, END_HEADERS, 1,
                        c.block([("x-a", "1")]))),
    "continuation_after_data": sends(
        lambda c: c.headers(1, get("/echo", "POST"), end_stream=False),
        lambda c: c.data(1, b"x"),
        lambda c: c.raw(CONTINUATION, END_HEADERS, 1,
                        c.block([("x-a", "1")]))),
    "continuation_split_ok": continuation_split_ok,
    "trailers_without_end_stream": sends(
        lambda c: c.headers(1, get("/echo", "POST"), end_stream=False),
        lambda c: c.data(1, b"abc"),
        lambda c: c.headers(1, [("x-trailer", "1")], end_stream=False)),
    "trailers_with_pseudo": sends(
        lambda c: c.headers(1, get("/echo", "POST"), end_stream=False),
        lambda c: c.data(1, b"abc"),
        lambda c: c.headers(1, [(":path", "/")], end_stream=True)),
    "trailers_ok": trailers_ok,
    "content_length_short": content_length_short,
    "content_length_long": content_length_long,
    "content_length_no_body": sends(
        lambda c: c.headers(1, get("/echo", "POST",
                                   [("content-length", "5")]))),
    "get_with_body": get_with_body,
    "uppercase_name": request(get(extra=[("X-Upper", "1")])),
    "bad_name_char": request(get(extra=[("x y", "1")])),
    "bad_value_char": request(get(extra=[("x-a", "a\nb")])),
    "value_leading_space": request(get(extra=[("x-a", " b")])),
    "connection_field": request(get(extra=[("connection", "close")])),
    "keep_alive_field": request(get(extra=[("keep-alive", "5")])),
    "proxy_connection_field": request(
        get(extra=[("proxy-connection", "x")])),
    "transfer_encoding_field": request(
        get(extra=[("transfer-encoding", "chunked")])),
    "upgrade_field": request(get(extra=[("upgrade", "h2c")])),
    "te_not_trailers": request(get(extra=[("te", "gzip")])),
    "te_trailers_ok": request(get(extra=[("te", "trailers")])),
    "unknown_pseudo": request(get()[:4] + [(":foo", "1")]),
    "status_in_request": request(get()[:4] + [(":status", "200")]),
    "pseudo_after_regular": request(
        [(":method", "GET"), (":scheme", "http"), ("x-a", "1"),
         (":path", "/"), (":authority", "localhost")]),
    "duplicate_method": request(get() + [(":method", "GET")]),
    "duplicate_path": request(get()[:4] + [(":path", "/")]),
    "duplicate_scheme": request(get()[:4] + [(":scheme", "http")]),
    "missing_method": request(without(":method")),
    "missing_scheme": request(without(":scheme")),
    "missing_path": request(without(":path")),
    "empty_path": request([(k, "" if k == ":path" else v)
                             for k, v in get()]),
    "host_differs": request(get(extra=[("host", "other")])),
}

# The client's first SETTINGS for some cases (default: empty).
HANDSHAKE = {"no_push_when_disabled": ((2, 0),),
             "initial_window_negative": ((4, 100),)}


def main():
    args = [a for a in sys.argv[1:] if a != "--tls"]
    tls = "--tls" in sys.argv
    port = int(args[0])
    names = args[1:] or list(CASES)
    for name in names:
        try:
            c = Conn(port, tls, HANDSHAKE.get(name, ()))
            result = CASES[name](c)
            c.sock.close()
        except (OSError, ssl.SSLError, hpack.HPACKError) as e:
            result = "error %s" % type(e).__name__
        print(name, result, flush=True)


if __name__ == "__main__":
    main()
