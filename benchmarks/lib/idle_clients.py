#!/usr/bin/python3
"""Opens N keep-alive connections to 127.0.0.1:PORT, sends one `GET /` on
each, reads every response, prints `ready N` and holds the connections open
until stdin closes. Bounded: gives up after 120 s."""
import selectors
import socket
import sys
import time

port, count = int(sys.argv[1]), int(sys.argv[2])
request = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
sel = selectors.DefaultSelector()
socks = []
deadline = time.monotonic() + 120
pending = {}
for i in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(request)
    s.setblocking(False)
    socks.append(s)
    pending[s] = b""
    sel.register(s, selectors.EVENT_READ)
    # Keep the number of unanswered requests modest (the backlog is 1024).
    while len(pending) > 256 and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            data = key.fileobj.recv(4096)
            pending[key.fileobj] += data
            if b"Hello, World!" in pending[key.fileobj] or not data:
                sel.unregister(key.fileobj)
                del pending[key.fileobj]
while pending and time.monotonic() < deadline:
    for key, _ in sel.select(timeout=1):
        data = key.fileobj.recv(4096)
        pending[key.fileobj] += data
        if b"Hello, World!" in pending[key.fileobj] or not data:
            sel.unregister(key.fileobj)
            del pending[key.fileobj]
if pending:
    print(f"failed {len(pending)} unanswered", flush=True)
    sys.exit(1)
print(f"ready {len(socks)}", flush=True)
sys.stdin.read()
