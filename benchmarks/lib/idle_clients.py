#!/usr/bin/python3
"""Idle keep-alive clients for the resource benchmarks (idle_rss.sh,
drain_time.sh, max_conns.sh).

Usage: idle_clients.py PORT COUNT [--source=127.0.0.X] [--best-effort]
                       [--exit-when-closed] [--deadline=SECONDS] [--no-stdin]
                       [--tls]

Opens COUNT connections to 127.0.0.1:PORT, sends one `GET /` on each, reads
every response (it must contain "Hello, World!"), then prints
`ready N` and holds the connections open.

While holding, it watches every socket: a socket that reads EOF (or an
error) is closed and counted. SIGUSR1 prints
`open N closed M first=T last=T` (T: Unix time in seconds of the first and
last close seen, 0 if none). EOF on stdin ends the program (closing every
connection), unless --no-stdin is given; SIGTERM always ends it.

Options:
  --source=ADDR      bind each socket to this local address (with
                     IP_BIND_ADDRESS_NO_PORT, so the port is picked at connect
                     time per destination); use 127.0.0.2, 127.0.0.3, ... to
                     get more than one ephemeral port range of connections.
  --best-effort      stop opening connections at the first error (e.g. fd
                     limit, connect timeout) or when no answer came for 10 s
                     (e.g. the server is out of file descriptors), close the
                     unanswered ones and hold the rest, printing
                     `ready N [unanswered=M] stopped=REASON`, instead of
                     failing.
  --exit-when-closed once every connection is closed by the peer, print
                     `closed N first=T last=T` and exit 0.
  --deadline=S       give up setting up after S seconds (default 120); also
                     stop when no answer came for 10 s.
  --no-stdin         ignore stdin (hold until SIGTERM or --exit-when-closed).
  --tls              TLS (any certificate accepted): each connection does
                     its handshake and its request one after the other
                     (blocking, 10 s timeout), then idles like the others.

Failures print `failed REASON` and exit 1.
"""
import errno
import os
import selectors
import signal
import socket
import ssl
import sys
import time

IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
ANSWER = b"Hello, World!"
MAX_UNANSWERED = 256  # keep below the server's listen backlog (1024)
STALL_S = 10  # no answer for this long: the server stopped answering


def say(line):
    print(line, flush=True)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    flags = [a for a in sys.argv[1:] if a.startswith("--")]
    if len(args) != 2:
        sys.exit(__doc__)
    port, count = int(args[0]), int(args[1])
    source, best_effort, exit_when_closed, setup_s = None, False, False, 120.0
    use_stdin = True
    tls = None
    for f in flags:
        if f.startswith("--source="):
            source = f.split("=", 1)[1]
        elif f == "--best-effort":
            best_effort = True
        elif f == "--exit-when-closed":
            exit_when_closed = True
        elif f == "--no-stdin":
            use_stdin = False
        elif f == "--tls":
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE
        elif f.startswith("--deadline="):
            setup_s = float(f.split("=", 1)[1])
        else:
            sys.exit(f"unknown option {f}\n{__doc__}")

    # SIGUSR1 may come at any time (before `ready`, open is 0).
    state = {"open": 0, "closed": 0, "first": 0.0, "last": 0.0}

    def report(_signum=None, _frame=None):
        say(f"open {state['open']} closed {state['closed']} "
            f"first={state['first']:.6f} last={state['last']:.6f}")

    signal.signal(signal.SIGUSR1, report)
    sel = selectors.DefaultSelector()
    socks = []
    pending = {}  # socket -> bytes of its response so far
    deadline = time.monotonic() + setup_s
    stopped = None

    def stalled(since):
        now = time.monotonic()
        return now > deadline or now - since > STALL_S

    def read_answers(timeout):
        """Reads what arrived; returns the number of answers completed."""
        done = 0
        for key, _ in sel.select(timeout=timeout):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except ssl.SSLWantReadError:
                continue  # part of a TLS record so far
            except OSError as e:
                data = b""
                err = e
            else:
                err = None
            pending[s] += data
            if ANSWER in pending[s]:
                sel.unregister(s)
                del pending[s]
                done += 1
            elif not data:
                raise RuntimeError(f"connection closed before the answer ({err})")
        return done

    last_progress = time.monotonic()
    try:
        for _ in range(count):
            if time.monotonic() > deadline:
                stopped = "deadline"
                break
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            except OSError as e:
                stopped = errno.errorcode.get(e.errno, str(e))
                break
            try:
                if source:
                    s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                    s.bind((source, 0))
                s.settimeout(10)
                s.connect(("127.0.0.1", port))
                if tls is not None:
                    s = tls.wrap_socket(s)
                s.sendall(REQUEST)
                if tls is not None:
                    answer = b""
                    while ANSWER not in answer:
                        data = s.recv(4096)
                        if not data:
                            raise ConnectionError("closed before the answer")
                        answer += data
            except OSError as e:
                s.close()
                stopped = errno.errorcode.get(e.errno, None) or type(e).__name__
                break
            if tls is not None:  # answered already: hold it
                s.setblocking(False)
                socks.append(s)
                last_progress = time.monotonic()
                continue
            s.setblocking(False)
            socks.append(s)
            pending[s] = b""
            sel.register(s, selectors.EVENT_READ)
            last_progress = time.monotonic()
            while len(pending) > MAX_UNANSWERED and not stalled(last_progress):
                if read_answers(1):
                    last_progress = time.monotonic()
            if stalled(last_progress):
                stopped = ("deadline" if time.monotonic() > deadline
                           else f"no answer for {STALL_S} s")
                break
        while pending and not stalled(last_progress):
            if read_answers(1):
                last_progress = time.monotonic()
    except RuntimeError as e:
        if not best_effort:
            say(f"failed {e}")
            sys.exit(1)
        stopped = str(e)
    unanswered = len(pending)
    if (stopped or unanswered) and not best_effort:
        say(f"failed after {len(socks)} connections ({unanswered} unanswered): "
            f"{stopped or 'no answer'}")
        sys.exit(1)
    # Best effort: keep what was answered, drop the rest.
    for s in list(pending):
        sel.unregister(s)
        socks.remove(s)
        s.close()
    pending.clear()
    if unanswered and not stopped:
        stopped = ("deadline" if time.monotonic() > deadline
                   else f"no answer for {STALL_S} s")
    state["open"] = len(socks)
    say(f"ready {len(socks)}" + (f" unanswered={unanswered}" if unanswered else "")
        + (f" stopped={stopped.replace(' ', '_')}" if stopped else ""))

    # Hold: watch the sockets for EOF (and stdin for EOF).
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    stdin = sys.stdin.fileno()
    if use_stdin:
        sel.register(stdin, selectors.EVENT_READ)
    while True:
        if exit_when_closed and state["open"] == 0:
            say(f"closed {state['closed']} first={state['first']:.6f} "
                f"last={state['last']:.6f}")
            return
        for key, _ in sel.select(timeout=None):
            if key.fileobj == stdin:
                if not os.read(stdin, 4096):
                    return
                continue
            s = key.fileobj
            try:
                data = s.recv(4096)
            except ssl.SSLWantReadError:
                continue  # a TLS record in part, or one without data
            except OSError:
                data = b""
            if data:
                continue  # not expected on an idle connection; ignore
            now = time.time()
            state["first"] = state["first"] or now
            state["last"] = now
            state["closed"] += 1
            state["open"] -= 1
            sel.unregister(s)
            s.close()


if __name__ == "__main__":
    main()
