#!/usr/bin/python3
"""One TLS 1.3 connection per request, for benchmarks/tls_instructions.sh.

Usage: tls_conns.py PORT COUNT full|resumed

Opens COUNT connections to 127.0.0.1:PORT one after the other; on each:
the TLS 1.3 handshake, `GET / HTTP/1.1` with `Connection: close`, the
response read to the end (it must contain "Hello, World!"), close.

full     offers no session: every handshake is a full one (X25519 and the
         certificate's signature), as `openssl s_time -new`.
resumed  offers the session of the connection before (its ticket, read
         with the response), as wrk does: every handshake but the first
         must resume (PSK with an X25519 exchange, no signature).

Checks what it asks for: a full handshake must not resume, a resumed one
must. Prints `done COUNT SIGNATURE` (SIGNATURE: the peer's signature
algorithm group, ECDSA or RSA, from the first handshake) or `failed
REASON` (exit 1). Only 127.0.0.1; every socket has a 10 s timeout.
"""
import socket
import ssl
import sys

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
ANSWER = b"Hello, World!"


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("full", "resumed"):
        sys.exit(__doc__)
    port, count, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    session = None
    kind = "?"
    for i in range(count):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        offer = session if mode == "resumed" else None
        with ctx.wrap_socket(raw, session=offer) as s:
            s.sendall(REQUEST)
            got = b""
            while True:
                try:
                    data = s.recv(65536)
                except ssl.SSLEOFError:  # closed without close_notify
                    break
                if not data:
                    break
                got += data
            if ANSWER not in got:
                print(f"failed connection {i}: no hello body in {got[:200]!r}")
                sys.exit(1)
            if mode == "resumed" and offer is not None and not s.session_reused:
                print(f"failed connection {i}: the session was not resumed")
                sys.exit(1)
            if mode == "full" and s.session_reused:
                print(f"failed connection {i}: resumed without an offer")
                sys.exit(1)
            if i == 0:
                cert = s.getpeercert(binary_form=True)
                kind = signature_kind(cert)
            session = s.session
    print(f"done {count} {kind}", flush=True)


def signature_kind(der):
    """ECDSA or RSA, from the certificate's public key algorithm OID."""
    if der is None:
        return "?"
    if bytes.fromhex("2a8648ce3d0201") in der:  # id-ecPublicKey
        return "ECDSA"
    if bytes.fromhex("2a864886f70d010101") in der:  # rsaEncryption
        return "RSA"
    return "?"


if __name__ == "__main__":
    try:
        main()
    except (OSError, ssl.SSLError) as e:
        print(f"failed {e}")
        sys.exit(1)
