#!/usr/bin/python3
"""WebSocket over HTTP/2 (RFC 8441) against a roadrunner server.

Usage: ws_h2_client.py PORT CASE [--tls] [--path=/ws/echo]

Debian's python3-h2 speaks HTTP/2 (header validation off, so that malformed
requests can be sent on purpose); the WebSocket frames (RFC 6455) are
written and read here. Every read has a deadline; a case prints `key value`
lines and exits 0, or prints `fail ...` and exits 1.

Cases:
  settings      the server's SETTINGS_ENABLE_CONNECT_PROTOCOL
  echo          extended CONNECT, 200 without content-length, text and
                binary echoed, a 300 KiB message each way (flow control:
                more than the 64 KiB windows), a GET on another stream while
                the session is open, a ping answered, the close handshake
                (1000 both ways) and END_STREAM
  deflate       permessage-deflate negotiated in the 200; a compressed
                message is inflated by the server and echoed compressed
  chat          two sessions on /ws/chat over one connection: a message of
                one reaches both
  fail          an unmasked frame: close 1002, then END_STREAM
  eof           END_STREAM without a close frame: the server ends its side
  hold          opens a session, prints `open`, waits for the server's close
                frame (a drain), prints `close CODE` and answers it
  held          backpressure (RFC 8441 tunnel): the client's streams get no
                window (SETTINGS_INITIAL_WINDOW_SIZE 0), so the echoes on
                stream 1 cannot leave; the client sends 16 KiB messages
                while the server gives credit, a PING round trip as the
                barrier when none is left; prints `credit_kib N` (what
                the server let it send), then another session on stream
                3 echoes 200 KiB both ways (`other_session`), then stream
                1's window opens: every echo arrives in order and the
                server gives credit again (`resumed`)
  noread        the client's streams get no window and it never opens
                them; the session floods (`flood 200`); prints `cut 1`
                once the server ends the connection
  refuse KIND   a request the server must refuse; prints the status or the
                RST_STREAM code, then whether the connection still works
                (ping). KIND: no_setting (the listener does not advertise
                the setting), bad_protocol, no_scheme, no_path, no_authority,
                protocol_on_get, plain_get, plain_connect, not_ws_route
                (with --path= a route that is not a WebSocket), no_version
"""

import os
import socket
import struct
import sys
import time
import zlib

import h2.errors
import h2.events
import h2.settings

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import h2_client  # noqa: E402 (tests/e2e/h2_client.py: the h2 session)

TIMEOUT = 10.0


def say(*words):
    print(*words, flush=True)


# -- WebSocket frames (RFC 6455 5.2) ------------------------------------------

def ws_frame(opcode, payload, fin=True, rsv1=False, mask=True):
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    masked = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
    return head + key + masked


def ws_close(code, reason=b""):
    return ws_frame(0x8, struct.pack("!H", code) + reason)


class Frames:
    """Server frames (unmasked) parsed from the stream's DATA."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data

    def next(self):
        b = self.buf
        if len(b) < 2:
            return None
        b0, b1 = b[0], b[1]
        if b1 & 0x80:
            raise AssertionError("server frame is masked")
        n = b1 & 0x7F
        pos = 2
        if n == 126:
            if len(b) < 4:
                return None
            n = struct.unpack("!H", b[2:4])[0]
            pos = 4
        elif n == 127:
            if len(b) < 10:
                return None
            n = struct.unpack("!Q", b[2:10])[0]
            pos = 10
        if len(b) < pos + n:
            return None
        self.buf = b[pos + n:]
        return (b0 & 0x80 != 0, b0 & 0x40 != 0, b0 & 0x0F, b[pos:pos + n])


# -- HTTP/2 -------------------------------------------------------------------

class Client(h2_client.Session):
    """tests/e2e/h2_client.py's session, plus the server's SETTINGS, PING
    acknowledgements and each stream's WebSocket frames."""

    def __init__(self, port, tls, settings=None):
        # TLS with ALPN h2 and any certificate; h2 validation off.
        sock = h2_client.connect(port, tls)
        if tls:
            assert sock.selected_alpn_protocol() == "h2"
        super().__init__(sock, h2_client.client(sock, validate=False,
                                                settings=settings))
        # Streams whose received data is acknowledged (WINDOW_UPDATE);
        # None: all of them.
        self.acked = None
        self.scheme = "https" if tls else "http"
        self.authority = "127.0.0.1:%d" % port
        self.settings = None
        self.pong = False

    def stream(self, sid):
        st = super().stream(sid)
        if not hasattr(st, "frames"):
            st.frames = Frames()
        return st

    def handle(self, ev):
        if self.acked is not None:
            self.ack = False  # h2_client.Session's own acknowledgements
        super().handle(ev)
        if isinstance(ev, h2.events.RemoteSettingsChanged):
            if self.settings is None:
                self.settings = {int(k): v.new_value
                                 for k, v in ev.changed_settings.items()}
        elif isinstance(ev, h2.events.DataReceived):
            self.stream(ev.stream_id).frames.feed(ev.data)
            if self.acked is not None and ev.stream_id in self.acked:
                self.conn.acknowledge_received_data(
                    ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.PingAckReceived):
            self.pong = True

    def until(self, cond, what):
        # cond may consume (a frame): pump asks again after it held, so the
        # first true answer is kept.
        held = []

        def check(_):
            if not held and cond():
                held.append(True)
            return bool(held)

        if not self.pump(check):
            raise AssertionError("timed out waiting for " + what)

    def connect_ws(self, sid, path, extra=(), protocol="websocket",
                   drop=(), method="CONNECT"):
        hdrs = [(":method", method), (":protocol", protocol),
                (":scheme", self.scheme), (":path", path),
                (":authority", self.authority),
                ("sec-websocket-version", "13")] + list(extra)
        hdrs = [h for h in hdrs if h[0] not in drop]
        self.conn.send_headers(sid, hdrs)
        self.send()

    def write(self, sid, data, end=False):
        # Within the peer's windows and frame size; waits for WINDOW_UPDATEs.
        view = memoryview(data)
        while True:
            room = min(self.conn.local_flow_control_window(sid),
                       self.conn.max_outbound_frame_size)
            if room <= 0:
                before = self.conn.local_flow_control_window(sid)
                self.until(lambda: self.conn.local_flow_control_window(sid)
                           > before, "window update")
                continue
            chunk = view[:room]
            view = view[room:]
            last = len(view) == 0
            self.conn.send_data(sid, bytes(chunk), end_stream=end and last)
            self.send()
            if last:
                return

    def frame(self, sid, what="a frame"):
        st = self.stream(sid)
        got = []

        def ready():
            f = st.frames.next()
            if f is not None:
                got.append(f)
                return True
            return st.ended or st.reset is not None

        self.until(ready, what)
        if not got:
            raise AssertionError("stream ended before " + what)
        return got[0]

    def message(self, sid):
        """A whole message (fragments joined), pongs skipped."""
        data, op0 = b"", None
        while True:
            fin, rsv1, op, payload = self.frame(sid, "a message")
            if op == 0xA:
                continue
            if op0 is None:
                op0 = (op, rsv1)
            data += payload
            if fin:
                return op0[0], op0[1], data

    def ping(self):
        self.pong = False
        self.conn.ping(b"12345678")
        self.send()
        try:
            self.until(lambda: self.pong, "PING ACK")
            return "ok"
        except AssertionError:
            return "fail"

    def get(self, sid, path):
        self.conn.send_headers(sid, [(":method", "GET"), (":scheme", self.scheme),
                                     (":path", path),
                                     (":authority", self.authority)],
                               end_stream=True)
        self.send()
        st = self.stream(sid)
        self.until(lambda: st.ended or st.reset is not None, "GET " + path)
        return st


def open_ws(c, sid, path, extra=()):
    c.connect_ws(sid, path, extra)
    st = c.stream(sid)
    c.until(lambda: st.status is not None or st.reset is not None, "the 200")
    assert st.status is not None, "reset %r" % st.reset
    return st


def echo(c, path):
    st = open_ws(c, 1, path)
    say("status", st.status)
    say("content_length", dict(st.headers).get("content-length", "none"))
    c.write(1, ws_frame(0x1, b"hello"))
    op, _, data = c.message(1)
    say("text", op, data.decode())
    c.write(1, ws_frame(0x2, b"\x00\x01\xff"))
    op, _, data = c.message(1)
    say("binary", op, data.hex())
    # Fragments from the client.
    c.write(1, ws_frame(0x1, b"frag", fin=False) + ws_frame(0x0, b"ment", fin=False)
           + ws_frame(0x0, b"ed"))
    op, _, data = c.message(1)
    say("fragments", data.decode())
    # More than both 64 KiB windows, each way.
    big = bytes((i * 7) & 0xFF for i in range(300 * 1024))
    c.write(1, ws_frame(0x2, big))
    op, _, data = c.message(1)
    say("big", op, len(data), "same" if data == big else "different")
    # Another stream of the same connection while the session is open.
    other = c.get(3, "/")
    say("other_stream", other.status)
    c.write(1, ws_frame(0x9, b"pp"))
    fin, _, op, data = c.frame(1, "the pong")
    say("pong", op, data.decode())
    c.write(1, ws_close(1000, b"done"))
    fin, _, op, data = c.frame(1, "the close frame")
    say("close", op, struct.unpack("!H", data[:2])[0])
    c.until(lambda: st.ended or st.reset is not None, "END_STREAM")
    say("ended", int(st.ended), end_kind(st))
    say("ping", c.ping())


def end_kind(st):
    # After our END_STREAM the server may add RST_STREAM(NO_ERROR) (RFC
    # 9113 8.1: "stop sending"); either is a clean end.
    return "clean" if st.reset in (None, 0) else "reset %d" % st.reset


def deflate(c, path):
    st = open_ws(c, 1, path, [("sec-websocket-extensions",
                               "permessage-deflate; client_no_context_takeover")])
    ext = dict(st.headers).get("sec-websocket-extensions", "none")
    say("extension", ext.split(";")[0])
    text = b"compress me " * 200
    co = zlib.compressobj(wbits=-15)
    packed = co.compress(text) + co.flush(zlib.Z_SYNC_FLUSH)
    assert packed.endswith(b"\x00\x00\xff\xff")
    c.write(1, ws_frame(0x1, packed[:-4], rsv1=True))
    op, rsv1, data = c.message(1)
    if rsv1:
        data = zlib.decompressobj(wbits=-15).decompress(data + b"\x00\x00\xff\xff")
    say("echo", op, int(rsv1), "same" if data == text else "different")
    c.write(1, ws_close(1000))
    c.frame(1, "the close frame")
    c.until(lambda: st.ended or st.reset is not None, "END_STREAM")
    say("ended", int(st.ended))


def close_both(c, a, b):
    """The close handshake on streams 1 (`a`) and 3 (`b`)."""
    for sid in (1, 3):
        c.write(sid, ws_close(1000))
        c.frame(sid, "the close frame")
    c.until(lambda: (a.ended or a.reset is not None)
            and (b.ended or b.reset is not None), "both ends")
    say("ended", int(a.ended), int(b.ended))


def chat(c, path):
    a = open_ws(c, 1, path)
    c.write(1, ws_frame(0x1, b"a joined"))
    say("a_hears", c.message(1)[2].decode())
    b = open_ws(c, 3, path)
    c.write(3, ws_frame(0x1, b"b joined"))
    say("b_hears", c.message(3)[2].decode())
    say("a_hears", c.message(1)[2].decode())
    c.write(1, ws_frame(0x1, b"hi from a"))
    say("b_hears", c.message(3)[2].decode())
    say("a_hears", c.message(1)[2].decode())
    close_both(c, a, b)


def fail(c, path):
    st = open_ws(c, 1, path)
    c.write(1, ws_frame(0x1, b"hi", mask=False))
    fin, _, op, data = c.frame(1, "the close frame")
    say("close", op, struct.unpack("!H", data[:2])[0])
    c.until(lambda: st.ended or st.reset is not None, "END_STREAM")
    say("ended", int(st.ended))
    say("ping", c.ping())


def eof(c, path):
    st = open_ws(c, 1, path)
    c.write(1, ws_frame(0x1, b"bye"))
    say("text", c.message(1)[2].decode())
    c.conn.end_stream(1)
    c.send()
    c.until(lambda: st.ended or st.reset is not None, "END_STREAM")
    say("ended", int(st.ended), end_kind(st))
    say("ping", c.ping())


def hold(c, path):
    # A drain sends GOAWAY before the close frame; python3-h2 refuses any
    # frame after a GOAWAY, so past the 200 the frames are read here.
    st = open_ws(c, 1, path)
    say("open")
    frames, buf, ended = Frames(), b"", False
    deadline = time.monotonic() + TIMEOUT
    code = None
    while not ended and time.monotonic() < deadline:
        if code is None:
            f = frames.next()
            if f is not None:
                code = struct.unpack("!H", f[3][:2])[0]
                say("close", code)
                # Our answer: a DATA frame on stream 1, by hand.
                payload = ws_close(code)
                c.sock.sendall(struct.pack("!I", len(payload))[1:] +
                               b"\x00\x00" + struct.pack("!I", 1) + payload)
                continue
        c.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = c.sock.recv(65536)
        except socket.timeout:
            break
        if not data:
            break
        buf += data
        while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
            n = int.from_bytes(buf[:3], "big")
            ftype, flags = buf[3], buf[4]
            sid = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            body, buf = buf[9:9 + n], buf[9 + n:]
            if sid == 1 and ftype == 0:  # DATA
                frames.feed(body)
                ended = ended or bool(flags & 1)
            elif sid == 1 and ftype == 3:  # RST_STREAM
                ended = True
    if not ended:
        raise AssertionError("no END_STREAM after the close handshake")


NO_WINDOW = {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0}


def held(c, path):
    c.acked = set()  # nothing acknowledged: stream 1's echoes stay put
    st = open_ws(c, 1, path)
    payload = bytes(range(256)) * 64  # 16 KiB
    msg = ws_frame(0x2, payload)
    sent = 0  # bytes of WebSocket frames sent on stream 1
    limit = 8 * 1024 * 1024
    while sent < limit:
        room = min(c.conn.local_flow_control_window(1),
                   c.conn.max_outbound_frame_size)
        if room <= 0:
            # No credit left: does a round trip bring any? The server
            # sends its WINDOW_UPDATEs before the PING's ACK.
            if c.ping() != "ok":
                raise AssertionError("no PING ACK")
            if c.conn.local_flow_control_window(1) <= 0:
                break
            continue
        at = sent % len(msg)
        chunk = msg[at:at + room]
        c.conn.send_data(1, chunk)
        c.send()
        sent += len(chunk)
    say("credit_kib", sent // 1024)
    # Another session of the same connection goes on meanwhile.
    c.acked.add(3)
    other = open_ws(c, 3, path)
    c.conn.increment_flow_control_window(1 << 20, stream_id=3)
    c.send()
    big = bytes((i * 13) & 0xFF for i in range(200 * 1024))
    c.write(3, ws_frame(0x2, big))
    _, _, data = c.message(3)
    say("other_session", len(data), "same" if data == big else "different")
    # Stream 1 opens: every echo arrives, and the server gives credit
    # again (the rest of the last message, then one more).
    c.acked.add(1)
    c.conn.increment_flow_control_window(16 << 20, stream_id=1)
    c.conn.increment_flow_control_window(16 << 20)
    c.send()
    whole, rest = divmod(sent, len(msg))
    same = 0
    for _ in range(whole):
        same += c.message(1)[2] == payload
    if rest:
        c.write(1, msg[rest:])
        same += c.message(1)[2] == payload
        whole += 1
    c.write(1, ws_frame(0x1, b"end"))
    _, _, data = c.message(1)
    say("resumed", "%d/%d" % (same, whole), data.decode())
    close_both(c, st, other)


def noread(c, path):
    c.acked = set()
    open_ws(c, 1, path)
    c.write(1, ws_frame(0x1, b"flood 200"))
    if not c.pump(lambda s: s.eof, 10.0):
        raise AssertionError("the connection was not cut")
    say("cut", 1)


def refuse(c, path, kind):
    sid = 1
    if kind in ("no_setting", "bad_protocol", "no_scheme", "no_path",
                "no_authority", "not_ws_route", "no_version"):
        drop = {"no_scheme": (":scheme",), "no_path": (":path",),
                "no_authority": (":authority",),
                "no_version": ("sec-websocket-version",)}.get(kind, ())
        protocol = "foo" if kind == "bad_protocol" else "websocket"
        c.connect_ws(sid, path, protocol=protocol, drop=drop)
    elif kind == "protocol_on_get":
        c.connect_ws(sid, path, method="GET")
    elif kind == "plain_get":
        c.conn.send_headers(sid, [(":method", "GET"), (":scheme", c.scheme),
                                  (":path", path), (":authority", c.authority),
                                  ("sec-websocket-version", "13")],
                            end_stream=True)
        c.send()
    elif kind == "plain_connect":
        c.conn.send_headers(sid, [(":method", "CONNECT"),
                                  (":authority", c.authority)])
        c.send()
    else:
        raise AssertionError("unknown kind " + kind)
    st = c.stream(sid)
    c.until(lambda: st.status is not None or st.reset is not None,
            "an answer")
    if st.status is not None:
        say("status", st.status)
    else:
        say("reset", h2.errors.ErrorCodes(st.reset).name)
    say("ping", c.ping())


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    tls = "--tls" in sys.argv
    path = "/ws/echo"
    for a in sys.argv[1:]:
        if a.startswith("--path="):
            path = a[len("--path="):]
    port, case = int(args[0]), args[1]
    try:
        c = Client(port, tls,
                   NO_WINDOW if case in ("held", "noread") else None)
        c.until(lambda: c.settings is not None, "the server's SETTINGS")
        if case == "settings":
            say("enable_connect_protocol",
                c.settings.get(int(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL),
                               0))
        elif case == "echo":
            echo(c, path)
        elif case == "deflate":
            deflate(c, path)
        elif case == "chat":
            chat(c, path if path != "/ws/echo" else "/ws/chat")
        elif case == "fail":
            fail(c, path)
        elif case == "eof":
            eof(c, path)
        elif case == "hold":
            hold(c, path)
        elif case == "held":
            held(c, path)
        elif case == "noread":
            noread(c, path)
        elif case == "refuse":
            refuse(c, path, args[2])
        else:
            raise AssertionError("unknown case " + case)
    except Exception as e:  # any failure is reported, not raised
        say("fail", case, type(e).__name__, e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
