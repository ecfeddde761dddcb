// An echo WebSocket server on node's `ws` package, for benchmarks/ws_echo.sh
// (the same work as roadrunner-demo's /ws/echo: every message back as it
// came, no compression). Prints `listening PORT` once it accepts.
"use strict";
const { WebSocketServer } = require("ws");
const wss = new WebSocketServer({
  host: "127.0.0.1",
  port: 0,
  perMessageDeflate: false,
  maxPayload: 1024 * 1024,
});
wss.on("listening", () => console.log("listening " + wss.address().port));
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
