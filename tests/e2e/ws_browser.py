#!/usr/bin/python3
"""Two pages of roadrunner-demo's /chat in headless Chromium (Debian's
`chromium`), driven through the DevTools protocol with python3-websockets.

Usage: ws_browser.py URL    (http://127.0.0.1:PORT/chat or https://...)

Each page opens the browser's WebSocket to /ws/chat; page A says
something through the page's own form, page B must show it, then the
other way round. Prints `ok status=S` (S: the status of the pages'
WebSocket handshakes as the browser saw them: 101 over HTTP/1.1, 200 for
RFC 8441 over HTTP/2) and exits 0, or `fail ...` and exits 1. Every wait
is bounded; the browser is killed at the end.
"""

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import websockets

TIMEOUT = 15


class Browser:
    def __init__(self, url):
        self.url = url
        self.profile = tempfile.mkdtemp(prefix="rr-chromium-")
        self.proc = None
        self.ws = None
        self.next_id = 0
        self.pending = {}
        self.events = []

    async def start(self):
        self.proc = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check",
             "--ignore-certificate-errors", "--remote-debugging-port=0",
             "--user-data-dir=" + self.profile, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        loop = asyncio.get_running_loop()
        endpoint = None
        deadline = loop.time() + TIMEOUT
        while endpoint is None:
            if loop.time() > deadline:
                raise AssertionError("no DevTools endpoint from chromium")
            line = await asyncio.wait_for(
                loop.run_in_executor(None, self.proc.stderr.readline), TIMEOUT)
            if not line:
                raise AssertionError("chromium exited")
            m = re.search(rb"DevTools listening on (ws://\S+)", line)
            if m:
                endpoint = m.group(1).decode()
        self.ws = await websockets.connect(endpoint, max_size=None)
        self.reader = asyncio.create_task(self.read())

    async def read(self):
        async for raw in self.ws:
            msg = json.loads(raw)
            if "id" in msg and msg["id"] in self.pending:
                self.pending.pop(msg["id"]).set_result(msg)
            elif "method" in msg:
                self.events.append(msg)

    async def call(self, method, params=None, session=None):
        self.next_id += 1
        fut = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = fut
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        await self.ws.send(json.dumps(msg))
        res = await asyncio.wait_for(fut, TIMEOUT)
        if "error" in res:
            raise AssertionError("%s: %s" % (method, res["error"]))
        return res.get("result", {})

    async def page(self):
        target = await self.call("Target.createTarget", {"url": "about:blank"})
        att = await self.call("Target.attachToTarget",
                              {"targetId": target["targetId"], "flatten": True})
        session = att["sessionId"]
        await self.call("Network.enable", {}, session)
        await self.call("Page.navigate", {"url": self.url}, session)
        return session

    async def eval(self, session, expr):
        res = await self.call("Runtime.evaluate",
                              {"expression": expr, "returnByValue": True},
                              session)
        return res.get("result", {}).get("value")

    async def until_log(self, session, text):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while True:
            log = await self.eval(
                session,
                "(document.getElementById('log') || {innerText: ''}).innerText")
            if log and text in log:
                return
            if loop.time() > deadline:
                raise AssertionError("page never showed %r (log: %r)" % (text, log))
            await asyncio.sleep(0.05)  # polling the page, bounded above

    async def say(self, session, text):
        await self.eval(session,
                        "document.getElementById('msg').value = %s;"
                        "document.getElementById('f').requestSubmit(); true"
                        % json.dumps(text))

    def handshake_statuses(self):
        return sorted({str(e["params"]["response"]["status"])
                       for e in self.events
                       if e.get("method") ==
                       "Network.webSocketHandshakeResponseReceived"})

    async def stop(self):
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 2)
            except Exception:
                pass
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        shutil.rmtree(self.profile, ignore_errors=True)


async def chat(url):
    b = Browser(url)
    try:
        await b.start()
        page_a = await b.page()
        page_b = await b.page()
        await b.until_log(page_a, "(connected)")
        await b.until_log(page_b, "(connected)")
        await b.say(page_a, "hello from a")
        await b.until_log(page_b, "hello from a")
        await b.until_log(page_a, "hello from a")
        await b.say(page_b, "hello from b")
        await b.until_log(page_a, "hello from b")
        return "status=" + ",".join(b.handshake_statuses())
    finally:
        await b.stop()


def main():
    if shutil.which("chromium") is None:
        print("skip chromium is not installed")
        return 0
    try:
        detail = asyncio.run(asyncio.wait_for(chat(sys.argv[1]), 4 * TIMEOUT))
    except Exception as e:  # any failure is reported, not raised
        print("fail %s: %r" % (type(e).__name__, e))
        return 1
    print("ok " + detail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
