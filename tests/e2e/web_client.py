#!/usr/bin/python3
"""Requests for the web-feature tests (tests/e2e/web.test.cpp).

Usage: web_client.py PORT OUTDIR JSON
JSON is a list of requests: {"proto": P, "method": "GET", "path": "/x",
"headers": [["name", "value"], ...] or {"name": "value"}, "body": "text",
"reset_after": N}.
P is "h1" (http.client), "h2" (h2c with prior knowledge, python3-h2),
"nghttp" (h2c, the nghttp CLI; status and headers from its HAR output),
or the same over TLS: "h1s" (ALPN http/1.1), "h2s" (ALPN h2), "nghttps".
The server's certificate is not verified (a test certificate).
With "reset_after" (h1/h2/h1s/h2s), the client stops once it has N bytes
of the body and closes the connection with a TCP reset (SO_LINGER 0).
For request i it prints one JSON line {"i", "status", "headers" (lowercase
names, wire order), "raw_len", "decoded" (bool), "error"} and writes the
body, decoded by its content-encoding (gzip: zlib, br: python3-brotli,
zstd: python3-zstandard), to OUTDIR/i. Every socket has a 10 s timeout,
nghttp a 20 s one.
"""
import http.client
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import zlib

import brotli
import h2.config
import h2.connection
import h2.events
import zstandard


def fields(req):
    """The request's header fields: a list of pairs or an object."""
    h = req.get("headers", [])
    return list(h.items()) if isinstance(h, dict) else h


def decode(coding, data):
    if coding in (None, "identity"):
        return data
    if coding == "gzip":
        d = zlib.decompressobj(16 + 15)
        out = d.decompress(data) + d.flush()
        if not d.eof:
            raise ValueError("gzip stream not ended")
        return out
    if coding == "br":
        return brotli.decompress(data)
    if coding == "zstd":
        d = zstandard.ZstdDecompressor().decompressobj()
        return d.decompress(data)
    raise ValueError("unknown coding " + coding)


def tls_context(alpn):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols([alpn])
    return ctx


def reset(sock):
    """Closes with a TCP reset instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
    sock.close()


class Reset(Exception):
    """The client reset the connection as asked: not an error."""


def h1(port, req, tls=False):
    if tls:
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=10,
                                        context=tls_context("http/1.1"))
    else:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.putrequest(req["method"], req["path"], skip_host=False,
                 skip_accept_encoding=True)
    body = req.get("body", "").encode()
    for k, v in fields(req):
        c.putheader(k, v)
    if body:
        c.putheader("content-length", str(len(body)))
    c.endheaders(body if body else None)
    r = c.getresponse()
    headers = [(k.lower(), v) for k, v in r.getheaders()]
    stop = req.get("reset_after")
    if stop is not None:
        data = b""
        while len(data) < stop:
            piece = r.read1(65536)
            if not piece:
                raise ValueError("body ended after %d bytes" % len(data))
            data += piece
        # The response's file object holds the descriptor too: close both.
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          struct.pack("ii", 1, 0))
        r.close()
        c.close()
        raise Reset(r.status, headers, data)
    data = r.read()
    c.close()
    return r.status, headers, data


def h2c(port, req, tls=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls:
        s = tls_context("h2").wrap_socket(s)
        if s.selected_alpn_protocol() != "h2":
            raise ValueError("ALPN chose %s" % s.selected_alpn_protocol())
    cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                    validate_outbound_headers=False)
    c = h2.connection.H2Connection(config=cfg)
    c.initiate_connection()
    body = req.get("body", "").encode()
    sid = c.get_next_available_stream_id()
    hdrs = [(":method", req["method"]), (":path", req["path"]),
            (":scheme", "http"), (":authority", "127.0.0.1:%d" % port)]
    hdrs += [(k.lower(), v) for k, v in fields(req)]
    c.send_headers(sid, hdrs, end_stream=not body)
    if body:
        c.send_data(sid, body, end_stream=True)
    s.sendall(c.data_to_send())
    status, headers, data, done = 0, [], bytearray(), False
    while not done:
        chunk = s.recv(65536)
        if not chunk:
            break
        for ev in c.receive_data(chunk):
            if isinstance(ev, h2.events.ResponseReceived):
                for k, v in ev.headers:
                    if k == ":status":
                        status = int(v)
                    else:
                        headers.append((k, v))
            elif isinstance(ev, h2.events.DataReceived):
                data += ev.data
                c.acknowledge_received_data(ev.flow_controlled_length,
                                            ev.stream_id)
                stop = req.get("reset_after")
                if stop is not None and len(data) >= stop:
                    reset(s)
                    raise Reset(status, headers, bytes(data))
            elif isinstance(ev, (h2.events.StreamEnded,
                                 h2.events.StreamReset)):
                done = True
        s.sendall(c.data_to_send())
    s.close()
    return status, headers, bytes(data)


def nghttp(port, req, tls=False):
    """nghttp (nghttp2's client): the body from its stdout, the status,
    header fields and bytes on the wire from its HAR file. nghttp sends
    accept-encoding: gzip, deflate unless told otherwise, so a request
    without the field sends "identity" (no coding either, RFC 9110 12.5.3);
    it inflates gzip and deflate bodies itself (the HAR keeps the wire
    size)."""
    url = "%s://127.0.0.1:%d%s" % ("https" if tls else "http", port,
                                   req["path"] if req["path"] != "*" else "/")
    with tempfile.TemporaryDirectory() as tmp:
        har = os.path.join(tmp, "har.json")
        argv = ["nghttp", "-y", "--har=" + har,
                "-H", ":method: " + req["method"]]
        if req["path"] == "*":
            argv += ["-H", ":path: *"]
        names = set()
        for k, v in fields(req):
            argv += ["-H", "%s: %s" % (k.lower(), v)]
            names.add(k.lower())
        if "accept-encoding" not in names:
            argv += ["-H", "accept-encoding: identity"]
        body = req.get("body", "").encode()
        if body:
            with open(os.path.join(tmp, "body"), "wb") as f:
                f.write(body)
            argv += ["-d", os.path.join(tmp, "body")]
        run = subprocess.run(argv + [url], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=20, check=False)
        if run.returncode != 0:
            raise ValueError("nghttp exited with %d: %s" %
                             (run.returncode, run.stderr.decode()[-300:]))
        with open(har) as f:
            entries = json.load(f)["log"]["entries"]
    if len(entries) != 1:
        raise ValueError("HAR has %d entries" % len(entries))
    res = entries[0]["response"]
    headers = [(h["name"].lower(), h["value"]) for h in res["headers"]
               if not h["name"].startswith(":")]
    coding = next((v for k, v in headers if k == "content-encoding"), None)
    return (res["status"], headers, run.stdout, res["content"]["size"],
            coding in ("gzip", "deflate"))


CLIENTS = {
    "h1": h1, "h2": h2c, "nghttp": nghttp,
    "h1s": lambda port, req: h1(port, req, tls=True),
    "h2s": lambda port, req: h2c(port, req, tls=True),
    "nghttps": lambda port, req: nghttp(port, req, tls=True),
}


def main():
    port, outdir, reqs = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    for i, req in enumerate(reqs):
        res = {"i": i, "status": 0, "headers": [], "raw_len": 0,
               "decoded": False, "error": ""}
        try:
            run = CLIENTS[req.get("proto", "h1")]
            partial = False  # reset midway: the bytes kept as they came
            try:
                got = run(port, req)
            except Reset as r:
                got, partial = r.args, True
            # (status, headers, body) or, from nghttp, (..., bytes on the
            # wire, whether it decoded the body already).
            status, headers, data = got[:3]
            wire, inflated = (got[3], got[4]) if len(got) > 3 else (len(data),
                                                                   False)
            res.update(status=status, headers=headers, raw_len=wire)
            coding = next((v for k, v in headers if k == "content-encoding"),
                          None)
            if req["method"] != "HEAD" and not partial and not inflated:
                data = decode(coding, data)
            res["decoded"] = coding is not None
            with open("%s/%d" % (outdir, i), "wb") as f:
                f.write(data)
        except Exception as e:  # reported, the C++ side fails the check
            res["error"] = "%s: %s" % (type(e).__name__, e)
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
