#!/usr/bin/python3
"""A tiny stand-in for systemd's service manager, to test roadrunner-demo's
socket activation and sd_notify without systemd:

    systemd_launcher.py DEMO [FLAG...]

It binds a listening socket on 127.0.0.1 (an ephemeral port) and passes it
as fd 3 with LISTEN_FDS=1 and LISTEN_PID (as systemd does for a .socket
unit), listens on a NOTIFY_SOCKET datagram socket, then:

  1. waits for READY=1 and prints "notify READY=1";
  2. fetches / over the passed socket and prints "get STATUS BODY";
  3. checks the demo never bound a socket of its own ("own-sockets N");
  4. sends SIGTERM, waits for STOPPING=1 ("notify STOPPING=1");
  5. prints "exit CODE".

Every wait has a deadline; a missed one prints "timeout WHAT" and exits 1.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def wait_for(sock, wanted, deadline):
    """Reads notify datagrams until one carries `wanted`."""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(4096).decode()
        except socket.timeout:
            break
        if wanted in data.split("\n"):
            return True
    return False


def listening_sockets(pid):
    """Inodes of TCP sockets in LISTEN state held by `pid`."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                    listening.add(cols[9])
    return listening


def main():
    demo, flags = sys.argv[1], sys.argv[2:]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    os.dup2(listener.fileno(), 3)  # SD_LISTEN_FDS_START
    os.set_inheritable(3, True)
    passed = str(os.fstat(3).st_ino)  # the socket's inode, as /proc shows it
    tmp = tempfile.mkdtemp(prefix="rr-notify-")
    notify_path = os.path.join(tmp, "notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    env = dict(os.environ, NOTIFY_SOCKET=notify_path, LISTEN_FDS="1")
    # LISTEN_PID must be the demo's pid: sh sets it to its own, then execs.
    proc = subprocess.Popen(
        ["sh", "-c", 'LISTEN_PID=$$ exec "$0" "$@"', demo] + flags,
        env=env, pass_fds=(3,), stdout=subprocess.PIPE)
    os.close(3)
    code = 1
    try:
        if not wait_for(notify, "READY=1", time.monotonic() + 10):
            print("timeout READY=1")
            return 1
        print("notify READY=1")
        print("start", proc.stdout.readline().decode().strip())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            print("get", r.status, r.read().decode())
        own = listening_sockets(proc.pid)
        print("own-sockets", len(own - {passed}))
        proc.send_signal(signal.SIGTERM)
        if not wait_for(notify, "STOPPING=1", time.monotonic() + 10):
            print("timeout STOPPING=1")
            return 1
        print("notify STOPPING=1")
        code = proc.wait(timeout=10)
        print("exit", code)
        return 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        notify.close()
        os.unlink(notify_path)
        os.rmdir(tmp)


if __name__ == "__main__":
    sys.exit(main())
