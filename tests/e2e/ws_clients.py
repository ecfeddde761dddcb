#!/usr/bin/python3
"""WebSocket checks against roadrunner-demo with Debian's python3-websockets.

Usage: ws_clients.py PORT CASE [--tls]; prints one "ok CASE ..." line on
success and exits 0, else prints what went wrong and exits 1. Every wait is
bounded. --tls: wss:// and https:// (any certificate).

Cases:
  echo      text and binary round trips on /ws/echo, a 100 KiB message,
            a ping answered, then a normal close (1000 both ways), with
            permessage-deflate negotiated
  plain     the same without compression
  chat      two clients on /ws/chat: each message reaches both members
  close     the server's close codes as a real client sees them: 1009 for
            a message over max_message_size, 1002 for a protocol error
  page      GET /chat serves the page that opens /ws/chat
"""

import asyncio
import ssl
import sys
import urllib.request

import websockets
import websockets.exceptions

TIMEOUT = 5

# --tls: no certificate checks (the tests make a self-signed one).
SSL = None


def connect(url, **kw):
    if url.startswith("wss://"):
        kw["ssl"] = SSL
    return websockets.connect(url, **kw)


async def echo(base, compression="deflate"):
    async with connect(base + "/ws/echo", max_size=2**20,
                                  compression=compression) as ws:
        ext = ws.response_headers.get("sec-websocket-extensions", "")
        assert ("permessage-deflate" in ext) == (compression is not None), ext
        await ws.send("hello")
        assert await asyncio.wait_for(ws.recv(), TIMEOUT) == "hello"
        await ws.send(b"\x00\x01\xff")
        assert await asyncio.wait_for(ws.recv(), TIMEOUT) == b"\x00\x01\xff"
        big = "x" * (100 * 1024)
        await ws.send(big)
        assert await asyncio.wait_for(ws.recv(), TIMEOUT) == big
        pong = await ws.ping(b"p")
        await asyncio.wait_for(pong, TIMEOUT)
        # Fragments sent by the client (an iterable is sent fragmented).
        await ws.send(["frag", "ment", "ed"])
        assert await asyncio.wait_for(ws.recv(), TIMEOUT) == "fragmented"
        await ws.close(1000, "done")
    assert ws.close_code == 1000, ws.close_code
    return "close=%d ext=%s" % (ws.close_code, "deflate" if compression else "none")


async def chat(base):
    async with connect(base + "/ws/chat") as a:
        # a is a member once it heard its own message back; b joins after.
        await a.send("a joined")
        assert await asyncio.wait_for(a.recv(), TIMEOUT) == "a joined"
        async with connect(base + "/ws/chat") as b:
            await b.send("b joined")
            got_b = await asyncio.wait_for(b.recv(), TIMEOUT)
            assert got_b == "b joined", got_b
            assert await asyncio.wait_for(a.recv(), TIMEOUT) == "b joined"
            await a.send("hi from a")
            assert await asyncio.wait_for(b.recv(), TIMEOUT) == "hi from a"
            assert await asyncio.wait_for(a.recv(), TIMEOUT) == "hi from a"
    return "members=2"


async def close_codes(base):
    codes = []
    # Over the server's max_message_size (1 MiB by default).
    async with connect(base + "/ws/echo",
                                  max_size=None) as ws:
        await ws.send("y" * (1024 * 1024 + 1))
        try:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
            raise AssertionError("no close after an oversized message")
        except websockets.exceptions.ConnectionClosed as e:
            codes.append(e.rcvd.code if e.rcvd else None)
    # A protocol error: a pong-like control frame over 125 bytes is refused
    # by the library itself, so send raw bytes after a real handshake.
    async with connect(base + "/ws/echo") as ws:
        transport = ws.transport
        # Unmasked text frame (RFC 6455 5.1: the server must fail it).
        transport.write(b"\x81\x02hi")
        try:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
            raise AssertionError("no close after an unmasked frame")
        except websockets.exceptions.ConnectionClosed as e:
            codes.append(e.rcvd.code if e.rcvd else None)
    assert codes == [1009, 1002], codes
    return "codes=" + ",".join(str(c) for c in codes)


def page(base):
    url = base.replace("wss://", "https://").replace("ws://", "http://") + "/chat"
    with urllib.request.urlopen(url, timeout=TIMEOUT, context=SSL) as r:
        body = r.read().decode()
        assert r.status == 200
        assert "text/html" in r.headers["content-type"]
    assert "new WebSocket(" in body and "/ws/chat" in body
    return "bytes=%d" % len(body)


def main():
    global SSL
    port, case = sys.argv[1], sys.argv[2]
    base = "ws://127.0.0.1:" + port
    if "--tls" in sys.argv[3:]:
        SSL = ssl.create_default_context()
        SSL.check_hostname = False
        SSL.verify_mode = ssl.CERT_NONE
        base = "wss://127.0.0.1:" + port
    try:
        if case == "page":
            detail = page(base)
        else:
            fn = {"echo": echo, "chat": chat, "close": close_codes,
                  "plain": lambda b: echo(b, None)}[case]
            detail = asyncio.run(asyncio.wait_for(fn(base), 4 * TIMEOUT))
    except Exception as e:  # any failure is reported, not raised
        print("fail %s %s: %r" % (case, type(e).__name__, e))
        return 1
    print("ok %s %s" % (case, detail))
    return 0


if __name__ == "__main__":
    sys.exit(main())
