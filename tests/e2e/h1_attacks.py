#!/usr/bin/python3
"""HTTP/1.1 attacks and large uploads, for the e2e suite (issue 18, items
5 and 6) and benchmarks/h2_attacks.sh.

Usage: h1_attacks.py PORT [--for=SECONDS] [--conns=N] [CASE...]
       h1_attacks.py PORT upload COUNT SIZE [PATH]

Each attack case opens its own connection, attacks, and prints `CASE
OUTCOME` and `CASE_ms N`: N is the milliseconds from the first attack byte
to the server's close (or to the deadline). Outcomes:
- `eof`: the server closed without answering; `status N eof`: it answered
  N, then closed; `timeout`: it did neither within the deadline.
- pipeline_flood (never reads): `cut` once the server gave up on a peer
  that does not read (reset or EOF seen while sending), with `sent K`.
- pipeline_read: `ok K` when all K pipelined requests were answered 200,
  in order, after the sender had been held back (the server stopped
  reading while its answers were not read).
The expectations live in tests/e2e/h1_attacks.test.cpp.

`upload COUNT SIZE` sends COUNT bodies of SIZE bytes at once, one
connection each, even ones with Content-Length, odd ones chunked (64 KiB
chunks), to POST PATH (default /sum), whose handler answers `SHA256 SIZE
WHERE` (hex digest of the body it saw, its length, `memory` or `spooled`).
Each body is a rotation of one random buffer, so every upload differs. It
prints `upload I STATUS ok|mismatch WHERE` per upload, then `uploads ok K
of COUNT spooled S`.

With --for=SECONDS (benchmarks/h2_attacks.sh) the one CASE is repeated as
an attacker would for that long, over --conns connections at once (slow
loris: 100 by default, else 1), a new connection after each cut. It prints
`CASE connections K cut M ms median uncut U` like h2_attacks.py.
"""

import hashlib
import os
import select
import socket
import sys
import threading
import time

DEADLINE = 10.0
HEAD = b"GET / HTTP/1.1\r\nHost: t\r\n"
GET = HEAD + b"\r\n"


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def ms_since(t0):
    return int((time.monotonic() - t0) * 1000)


def outcome(data, closed):
    """`status N eof` / `eof` / `timeout` from what the server sent."""
    words = []
    if data.startswith(b"HTTP/1.1 "):
        words.append("status " + data[9:12].decode("ascii", "replace"))
    elif data:
        words.append("bytes")
    words.append("eof" if closed else "timeout")
    return " ".join(words)


def recv_some(s):
    """What the server sent (bytes), or None once it closed (EOF or
    reset)."""
    try:
        chunk = s.recv(65536)
    except (ConnectionResetError, BrokenPipeError):
        return None
    return chunk or None


def read_to_close(s, end):
    """Reads until the server closes (EOF or reset) or `end`; returns
    (bytes, closed)."""
    data = b""
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return data, False
        r, _, _ = select.select([s], [], [], left)
        if not r:
            continue
        chunk = recv_some(s)
        if chunk is None:
            return data, True
        data += chunk


def send_reading(s, payload, end):
    """Sends `payload` while reading what the server answers; stops at the
    server's close. Returns (bytes received, closed)."""
    s.setblocking(False)
    view = memoryview(payload)
    pos = 0
    data = b""
    try:
        while pos < len(view) and time.monotonic() < end:
            r, w, _ = select.select([s], [s], [], 0.05)
            if r:
                chunk = recv_some(s)
                if chunk is None:
                    return data, True
                data += chunk
            if w:
                try:
                    pos += s.send(view[pos:pos + 65536])
                except BlockingIOError:
                    pass
                except OSError:
                    return data, True
    finally:
        s.setblocking(True)
    more, closed = read_to_close(s, end)
    return data + more, closed


def trickle(s, gap, end):
    """Slow loris: a head that never ends, one byte every `gap` seconds,
    until the server closes or `end`. Returns (bytes received, closed)."""
    payload = HEAD + b"".join(b"X-%d: v\r\n" % i for i in range(100000))
    pos = 0
    data = b""
    next_send = time.monotonic()
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [],
                                max(0.0, next_send - time.monotonic()))
        if r:
            chunk = recv_some(s)
            if chunk is None:
                return data, True
            data += chunk
            continue
        if time.monotonic() >= next_send:
            try:
                s.send(payload[pos:pos + 1])
            except OSError:
                return data, True
            pos += 1
            next_send += gap
    return data, False


# -- attack cases: each returns (outcome, ms) ---------------------------------


def slow_loris(port):
    """One header byte every 50 ms (20 B/s, under min_bytes_per_second)."""
    s = connect(port)
    t0 = time.monotonic()
    data, closed = trickle(s, 0.05, t0 + DEADLINE)
    s.close()
    return outcome(data, closed), ms_since(t0)


def slow_headers(port):
    """One header byte every 4 ms (250 B/s: the rate guard lets it be, the
    head never ends): request_timeout answers."""
    s = connect(port)
    t0 = time.monotonic()
    data, closed = trickle(s, 0.004, t0 + DEADLINE)
    s.close()
    return outcome(data, closed), ms_since(t0)


def header_flood(port, head):
    s = connect(port)
    t0 = time.monotonic()
    data, closed = send_reading(s, head, t0 + DEADLINE)
    s.close()
    return outcome(data, closed), ms_since(t0)


def many_headers(port):
    """10 000 header fields (max_header_count is 100)."""
    return header_flood(
        port, HEAD + b"".join(b"X-%d: v\r\n" % i for i in range(10000)) +
        b"\r\n")


def huge_header(port):
    """One 1 MB header line (max_header_line is 8192)."""
    return header_flood(port, HEAD + b"X-big: " + b"a" * 1000000 + b"\r\n\r\n")


def big_header_block(port):
    """40 fields of 400 bytes: each line is fine, the block (16 KB) is over
    max_header_block (10240)."""
    return header_flood(
        port, HEAD + b"".join(b"X-%d: %s\r\n" % (i, b"b" * 400)
                              for i in range(40)) + b"\r\n")


def pipeline_flood(port):
    """Pipelined GETs as fast as the server takes them, never reading a
    response (up to 2 million of them)."""
    s = connect(port)
    s.setblocking(False)
    batch = GET * 2000
    view = memoryview(batch)
    pos = 0
    sent = 0
    t0 = time.monotonic()
    end = t0 + DEADLINE
    if ENDLESS is not None:
        end = ENDLESS
    p = select.poll()
    p.register(s, select.POLLOUT | select.POLLERR | select.POLLHUP)
    cut = False
    while time.monotonic() < end and sent < 2000000 * len(GET):
        ev = p.poll(50)
        if not ev:
            continue
        if ev[0][1] & (select.POLLERR | select.POLLHUP):
            cut = True
            break
        try:
            n = s.send(view[pos:])
        except BlockingIOError:
            continue
        except OSError:
            cut = True
            break
        sent += n
        pos = (pos + n) % len(batch)
    ms = ms_since(t0)
    s.close()
    if cut:
        return "cut sent %d" % (sent // len(GET)), ms
    return "timeout sent %d" % (sent // len(GET)), ms


def pipeline_read(port, count=400000):
    """`count` pipelined GETs (11 MB) from a peer with small socket
    buffers; nothing is read until the server has held the sender back for
    200 ms (it stops reading while its answers are not read), then every
    request must be answered 200, in order."""
    s = connect(port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.setblocking(False)
    payload = memoryview(GET * count)
    pos = 0
    t0 = time.monotonic()
    end = t0 + 6 * DEADLINE
    blocked_since = None
    held = False
    reading = False
    marker = b"HTTP/1.1 "
    answers = 0
    ok = 0
    tail = b""
    while time.monotonic() < end and answers < count:
        r, w, _ = select.select([s] if reading else [],
                                [s] if pos < len(payload) else [], [], 0.05)
        if w:
            try:
                pos += s.send(payload[pos:pos + 262144])
                blocked_since = None
            except BlockingIOError:
                pass
        elif not reading:
            now = time.monotonic()
            if pos == len(payload):
                reading = True  # everything went out without a hold
            elif blocked_since is None:
                blocked_since = now
            elif now - blocked_since >= 0.2:
                held = reading = True
        if r:
            try:
                chunk = s.recv(1 << 20)
            except OSError:
                break
            if not chunk:
                break
            # Markers wholly inside `tail` were counted with the last chunk.
            window = tail + chunk
            answers += window.count(marker) - tail.count(marker)
            ok += window.count(b"HTTP/1.1 200 ") - tail.count(b"HTTP/1.1 200 ")
            tail = window[-12:]
    ms = ms_since(t0)
    s.close()
    if ok == count and answers == count and pos == len(payload):
        return "ok %d %s" % (count, "held" if held else "unheld"), ms
    return "answered %d of %d (200: %d) sent %d" % (
        answers, count, ok, pos // len(GET)), ms


CASES = {
    "slow_loris": slow_loris,
    "slow_headers": slow_headers,
    "many_headers": many_headers,
    "huge_header": huge_header,
    "big_header_block": big_header_block,
    "pipeline_flood": pipeline_flood,
    "pipeline_read": pipeline_read,
}

# --for: the end of the attack.
ENDLESS = None


def attack_for(port, name, seconds, conns):
    """Repeats case `name` for `seconds` over `conns` connections at once
    (threads: each case blocks on its own socket)."""
    global ENDLESS, DEADLINE
    ENDLESS = time.monotonic() + seconds
    DEADLINE = seconds
    lock = threading.Lock()
    stats = {"conns": 0, "cuts": [], "uncut": 0}

    def worker():
        while time.monotonic() < ENDLESS:
            try:
                result, ms = CASES[name](port)
            except OSError:
                time.sleep(0.01)  # refused (max_clients?): again shortly
                continue
            with lock:
                stats["conns"] += 1
                if (result.endswith("eof") or result.startswith("cut")) \
                        and time.monotonic() < ENDLESS:
                    stats["cuts"].append(ms)
                else:
                    stats["uncut"] += 1

    threads = [threading.Thread(target=worker, daemon=True)
               for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)
    cuts = sorted(stats["cuts"])
    median = cuts[len(cuts) // 2] if cuts else -1
    print("%s connections %d cut %d ms median uncut %d" %
          (name, stats["conns"], median, stats["uncut"]), flush=True)


# -- uploads -------------------------------------------------------------------


def upload(port, count, size, path):
    base = os.urandom(size)
    results = [None] * count
    start = threading.Barrier(count, timeout=60)

    def one(i):
        k = (i * 7919) % size
        parts = (memoryview(base)[k:], memoryview(base)[:k])
        digest = hashlib.sha256()
        for part in parts:
            digest.update(part)
        expected = "%s %d" % (digest.hexdigest(), size)
        chunked = i % 2 == 1
        s = None
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=120)
            head = "POST %s HTTP/1.1\r\nHost: t\r\n" % path
            if chunked:
                head += "Transfer-Encoding: chunked\r\n\r\n"
            else:
                head += "Content-Length: %d\r\n\r\n" % size
            start.wait()  # every connection sends at once
            s.sendall(head.encode())
            for part in parts:
                for at in range(0, len(part), 65536):
                    piece = part[at:at + 65536]
                    if chunked:
                        s.sendall(b"%x\r\n" % len(piece))
                        s.sendall(piece)
                        s.sendall(b"\r\n")
                    else:
                        s.sendall(piece)
            if chunked:
                s.sendall(b"0\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            head_part, _, body = data.partition(b"\r\n\r\n")
            status = int(head_part[9:12]) if head_part.startswith(
                b"HTTP/1.1 ") else 0
            length = 0
            for line in head_part.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(body) < length:
                chunk = s.recv(65536)
                if not chunk:
                    break
                body += chunk
            words = body.decode("ascii", "replace").split()
            where = words[2] if len(words) == 3 else "-"
            good = status == 200 and " ".join(words[:2]) == expected
            results[i] = "%d %s %s" % (status, "ok" if good else "mismatch",
                                       where)
        except (OSError, threading.BrokenBarrierError, ValueError) as e:
            results[i] = "0 error %s" % type(e).__name__
        finally:
            if s is not None:
                s.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    ok = 0
    spooled = 0
    for i, r in enumerate(results):
        r = r or "0 unfinished -"
        print("upload %d %s" % (i, r), flush=True)
        ok += " ok " in r
        spooled += r.endswith(" spooled")
    print("uploads ok %d of %d spooled %d" % (ok, count, spooled), flush=True)


def main():
    args = sys.argv[1:]
    seconds = None
    conns = None
    for a in list(args):
        if a.startswith("--for="):
            seconds = float(a[len("--for="):])
            args.remove(a)
        elif a.startswith("--conns="):
            conns = int(a[len("--conns="):])
            args.remove(a)
    port = int(args[0])
    if len(args) > 1 and args[1] == "upload":
        upload(port, int(args[2]), int(args[3]),
               args[4] if len(args) > 4 else "/sum")
        return
    names = args[1:] or list(CASES)
    if seconds is not None:
        for name in names:
            attack_for(port, name, seconds,
                       conns or (100 if name.startswith("slow") else 1))
        return
    for name in names:
        ms = -1
        try:
            result, ms = CASES[name](port)
        except OSError as e:
            result = "error %s" % type(e).__name__
        print(name, result, flush=True)
        print(name + "_ms", ms, flush=True)


if __name__ == "__main__":
    main()
