// The npm socket.io server (pinned in package.json) on the port given as the first argument,
// WebSocket transport only; prints {"listening": PORT} once it listens. Used by
// tests/test_proxy_socketio.py and tools/record_observed_sample.py.
const { Server } = require("socket.io");
const port = Number(process.argv[2]);
const io = new Server(port, { transports: ["websocket"] });
io.on("connection", () => {});
io.httpServer.on("listening", () => console.log(JSON.stringify({ listening: port })));
