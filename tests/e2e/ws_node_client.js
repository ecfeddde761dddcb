#!/usr/bin/env node
// WebSocket checks against roadrunner-demo with node's `ws` package (found
// through NODE_PATH; the test installs it from npm into the build tree).
//
// Usage: node ws_node_client.js BASE CASE
//   BASE  ws://127.0.0.1:PORT or wss://127.0.0.1:PORT (any certificate)
//   CASE  echo     text, binary, a 100 KiB message, fragments, a ping
//                  answered, close 1000 both ways; permessage-deflate on
//         plain    the same without compression
//         chat     two clients on /ws/chat: a message reaches both
// Prints one "ok CASE ..." line and exits 0, or "fail CASE ..." and exits 1.
// Every wait is bounded.

"use strict";

const WebSocket = require("ws");

const TIMEOUT_MS = 5000;

// Every message a socket receives is queued from the start: a message that
// arrives while nobody awaits it is kept for the next `next`.
function open(url, deflate) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      perMessageDeflate: deflate,
      rejectUnauthorized: false,
      handshakeTimeout: TIMEOUT_MS,
    });
    ws.queue = [];
    ws.waiting = null;
    ws.on("message", (data, isBinary) => {
      if (ws.waiting) {
        const w = ws.waiting;
        ws.waiting = null;
        w([data, isBinary]);
      } else {
        ws.queue.push([data, isBinary]);
      }
    });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

// The next message, as [data, isBinary].
function next(ws) {
  if (ws.queue.length > 0)
    return Promise.resolve(ws.queue.shift());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.waiting = null;
      reject(new Error("no message"));
    }, TIMEOUT_MS);
    ws.waiting = (m) => {
      clearTimeout(timer);
      resolve(m);
    };
  });
}

function closed(ws) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no close")), TIMEOUT_MS);
    ws.once("close", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

function check(cond, what) {
  if (!cond)
    throw new Error(what);
}

async function echo(base, deflate) {
  const ws = await open(base + "/ws/echo", deflate);
  const ext = ws.extensions || "";
  check(ext.includes("permessage-deflate") === deflate, "extensions: " + ext);
  ws.send("hello");
  let [data, bin] = await next(ws);
  check(!bin && data.toString() === "hello", "text echo");
  ws.send(Buffer.from([0, 1, 255]));
  [data, bin] = await next(ws);
  check(bin && Buffer.compare(data, Buffer.from([0, 1, 255])) === 0,
        "binary echo");
  const big = "x".repeat(100 * 1024);
  ws.send(big);
  [data, bin] = await next(ws);
  check(data.toString() === big, "100 KiB echo");
  // Fragments from the client (fin: false, then the last piece).
  ws.send("frag", {fin: false});
  ws.send("ment", {fin: false});
  ws.send("ed", {fin: true});
  [data] = await next(ws);
  check(data.toString() === "fragmented", "fragments: " + data.toString());
  const pong = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no pong")), TIMEOUT_MS);
    ws.once("pong", (payload) => {
      clearTimeout(timer);
      resolve(payload.toString());
    });
  });
  ws.ping("p");
  check(await pong === "p", "pong payload");
  const done = closed(ws);
  ws.close(1000, "done");
  const code = await done;
  check(code === 1000, "close code " + code);
  return "close=" + code + " ext=" + (deflate ? "deflate" : "none");
}

async function chat(base) {
  const a = await open(base + "/ws/chat", false);
  a.send("a joined");
  let [data] = await next(a);
  check(data.toString() === "a joined", "a hears itself");
  const b = await open(base + "/ws/chat", false);
  b.send("b joined");
  [data] = await next(b);
  check(data.toString() === "b joined", "b hears itself");
  [data] = await next(a);
  check(data.toString() === "b joined", "a hears b");
  a.send("hi from a");
  [data] = await next(b);
  check(data.toString() === "hi from a", "b hears a");
  [data] = await next(a);
  check(data.toString() === "hi from a", "a hears a");
  const done = Promise.all([closed(a), closed(b)]);
  a.close(1000);
  b.close(1000);
  const codes = await done;
  check(codes[0] === 1000 && codes[1] === 1000, "close codes " + codes);
  return "members=2";
}

async function main() {
  const [base, name] = process.argv.slice(2);
  const cases = {
    echo: () => echo(base, true),
    plain: () => echo(base, false),
    chat: () => chat(base),
  };
  try {
    if (!cases[name])
      throw new Error("unknown case");
    const detail = await cases[name]();
    console.log("ok " + name + " " + detail);
    process.exit(0);
  } catch (e) {
    console.log("fail " + name + " " + e.message);
    process.exit(1);
  }
}

main();
