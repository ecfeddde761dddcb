#!/usr/bin/python3
"""Requests for the web-feature tests (tests/e2e/web.test.cpp).

Usage: web_client.py PORT OUTDIR JSON
JSON is a list of requests: {"proto": "h1"|"h2", "method": "GET",
"path": "/x", "headers": [["name", "value"], ...] or {"name": "value"},
"body": "text"}.
HTTP/1.1 goes through http.client, h2c (prior knowledge) through python3-h2.
For request i it prints one JSON line {"i", "status", "headers" (lowercase
names, wire order), "raw_len", "decoded" (bool), "error"} and writes the
body, decoded by its content-encoding (gzip: zlib, br: python3-brotli,
zstd: python3-zstandard), to OUTDIR/i. Every socket has a 10 s timeout.
"""
import http.client
import json
import socket
import sys
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


def h1(port, req):
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
    data = r.read()
    headers = [(k.lower(), v) for k, v in r.getheaders()]
    c.close()
    return r.status, headers, data


def h2c(port, req):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
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
            elif isinstance(ev, (h2.events.StreamEnded,
                                 h2.events.StreamReset)):
                done = True
        s.sendall(c.data_to_send())
    s.close()
    return status, headers, bytes(data)


def main():
    port, outdir, reqs = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    for i, req in enumerate(reqs):
        res = {"i": i, "status": 0, "headers": [], "raw_len": 0,
               "decoded": False, "error": ""}
        try:
            run = h2c if req.get("proto") == "h2" else h1
            status, headers, data = run(port, req)
            res.update(status=status, headers=headers, raw_len=len(data))
            coding = next((v for k, v in headers if k == "content-encoding"),
                          None)
            if req["method"] != "HEAD":
                data = decode(coding, data)
            res["decoded"] = coding is not None
            with open("%s/%d" % (outdir, i), "wb") as f:
                f.write(data)
        except Exception as e:  # reported, the C++ side fails the check
            res["error"] = "%s: %s" % (type(e).__name__, e)
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
