#!/usr/bin/python3
"""HTTP/2 cost breakdown of a callgrind file (instructions.sh CG_KEEP=DIR).

Usage: cg_h2_breakdown.py FILE REQUESTS [--handshake]

Sums the self instructions (Ir) of every function into the parts of an
HTTP/2 request (issue 19 item 4): nghttp2 (HPACK decoding, HPACK encoding,
its RFC 9113 header checks, the rest: framing, stream states, queues), our
code (the h2 engine, the h2 driver, the request lifecycle and routing, the
response, metrics and telemetry, compression's decision, reactor and
transport), libc (malloc/free, memcpy and friends, the rest), libstdc++,
CAF and OpenSSL, and prints instructions per request (self / REQUESTS).

nghttp2's internal functions have no symbols in Debian's build: they are
named here by address for libnghttp2.so.14.24.1 (nghttp2 1.52.0,
Debian 1.52.0-1+deb12u3), from the object order of its build and the call
graph (callers and callees); with another build they land in "nghttp2
other". With --handshake, OpenSSL's work under the TLS handshake (once per
connection) is split from the per-record work.
"""
import collections
import re
import sys

# libnghttp2.so.14.24.1 (Debian 1.52.0-1+deb12u3): internal functions by
# address -> part. HPACK: nghttp2_hd.c and nghttp2_hd_huffman.c lie between
# nghttp2_select_next_protocol (npn.c) and nghttp2_version; the header
# checks are nghttp2_http.c's nghttp2_http_on_header and helper.c's
# nghttp2_check_*.
NGHTTP2_SO = "libnghttp2.so.14.24.1"
HPACK_RANGE = (0x15FD0, 0x197C0)
# nghttp2_hd_inflate_hd_nv and what only it calls (lookup_token, ...).
HPACK_DECODE = {0x188B0, 0x15FD0, 0x17D30, 0x17DF0, 0x16FA0}
# nghttp2_bufs_add and nghttp2_cpymem: the deflater's output (few other
# callers per request).
HPACK_ENCODE = {0x82E0, 0x15DF0}
CHECKS_RANGE = (0x1A600, 0x1B0E0)  # nghttp2_http.c


def nghttp2_part(fn):
    if fn.startswith("nghttp2_check_"):
        return "nghttp2: header checks (RFC 9113 8.2, 8.3)"
    if fn.startswith("nghttp2_hd_"):
        return "nghttp2: HPACK encode"
    if not fn.startswith("0x"):
        return "nghttp2: framing, streams, queues"
    a = int(fn, 16)
    if a in HPACK_DECODE:
        return "nghttp2: HPACK decode"
    if a in HPACK_ENCODE:
        return "nghttp2: HPACK encode"
    if HPACK_RANGE[0] <= a < HPACK_RANGE[1]:
        return "nghttp2: HPACK encode"
    if CHECKS_RANGE[0] <= a < CHECKS_RANGE[1]:
        return "nghttp2: header checks (RFC 9113 8.2, 8.3)"
    return "nghttp2: framing, streams, queues"


OURS = [
    (r"block_pool", "ours: nghttp2's allocator (block_pool)"),
    (r"roadrunner::http2::", "ours: h2 engine (http2::session)"),
    (r"http1::iequals", "ours: http1::iequals (compression's Accept-Encoding match)"),
    (r"h2_driver", "ours: h2 driver"),
    (r"metrics|telemetry|fan_out|access_log|error_log", "ours: metrics, telemetry"),
    (r"compress|accept_encoding|coding_choice", "ours: compression decision"),
    (r"request_lifecycle|compiled_route|route|handler|request::|request_head|respond", "ours: lifecycle, routing, handler"),
    (r"response::|response\b", "ours: response building"),
    (r"reactor|transport|output_queue|socket|connection|http_date|date", "ours: reactor, transport, date"),
    (r"tls::", "ours: TLS glue"),
]


def part(ob, fn):
    if NGHTTP2_SO in ob or "libnghttp2" in ob:
        return nghttp2_part(fn) if NGHTTP2_SO in ob else "nghttp2: framing, streams, queues"
    if "libcrypto" in ob or "libssl" in ob:
        return "OpenSSL"
    if re.search(r"/libc\.so|/libc-", ob):
        if re.search(r"malloc|free|_int_|tcache|cfree|realloc|calloc", fn):
            return "libc: malloc, free"
        if re.search(r"mem|str", fn):
            return "libc: memcpy, memcmp, memset"
        return "libc: other (clock_gettime, locks)"
    if "libstdc++" in ob:
        return "libstdc++"
    if "libcaf" in ob:
        return "CAF"
    if ob.endswith("ld-linux-x86-64.so.2"):
        return "other"
    for pat, name in OURS:
        if re.search(pat, fn):
            return name
    return "ours: other"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        sys.exit(__doc__)
    path, requests = args[0], float(args[1])
    handshake = "--handshake" in sys.argv
    obn, fnn = {}, {}
    ob = fn = cfn = "?"
    sums = collections.Counter()
    hs_calls = 0  # inclusive cost of tls::session::handshake
    pending = False

    def name(table, line, prefix):
        m = re.match(prefix + r"\((\d+)\)(?: (.*))?", line)
        if m:
            if m.group(2):
                table[m.group(1)] = m.group(2)
            return table.get(m.group(1), "?")
        return line[len(prefix):]

    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if pending:
                pending = False
                cost = int(line.split()[1])
                if handshake and "tls::session::handshake" in cfn and "tls::session::handshake" not in fn:
                    hs_calls += cost
                continue
            if line.startswith("ob="):
                ob = name(obn, line, "ob=")
            elif line.startswith("cob="):
                name(obn, line, "cob=")
            elif line.startswith("fn="):
                fn = name(fnn, line, "fn=")
            elif line.startswith("cfn="):
                cfn = name(fnn, line, "cfn=")
            elif line.startswith("calls="):
                pending = True
            elif line and (line[0].isdigit() or line[0] in "+-*"):
                p = line.split()
                if len(p) >= 2:
                    sums[part(ob, fn)] += int(p[1])
    total = sum(sums.values())
    rows = sorted(sums.items(), key=lambda kv: -kv[1])
    print("part|instructions per request|share")
    for k, v in rows:
        print("%s|%d|%.1f%%" % (k, round(v / requests), 100.0 * v / total))
    print("total|%d|100%%" % round(total / requests))
    if handshake:
        # The handshakes are nearly all OpenSSL (and its malloc): per
        # request without them, and OpenSSL's share outside them.
        print("of which under tls::session::handshake (once per connection)|%d|%.1f%%"
              % (round(hs_calls / requests), 100.0 * hs_calls / total))
        print("total without the handshakes|%d|" % round((total - hs_calls) / requests))
        print("OpenSSL without the handshakes (about)|%d|"
              % round((sums["OpenSSL"] - hs_calls) / requests))


if __name__ == "__main__":
    main()
