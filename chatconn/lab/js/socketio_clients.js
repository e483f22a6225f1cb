// COUNT socket.io-client instances (pinned) connecting to URL, each tagged for chatconn proxy
// (query chatconn_client=cN), with socket.io-client's default reconnection; only the transport
// is fixed so that one attempt is one connection (the default starts with HTTP long polling).
// Prints one JSON line per connect/disconnect with the number connected; exits on any stdin.
const { io } = require("socket.io-client");
const [url, count] = [process.argv[2], Number(process.argv[3])];
let connected = 0;
const sockets = [];
for (let i = 0; i < count; i++) {
  const s = io(url, { transports: ["websocket"], query: { chatconn_client: "c" + i } });
  s.on("connect", () => {
    connected++;
    console.log(JSON.stringify({ client: i, event: "connect", connected, at: Date.now() }));
  });
  s.on("disconnect", (reason) => {
    connected--;
    console.log(JSON.stringify({ client: i, event: "disconnect", reason, at: Date.now() }));
  });
  sockets.push(s);
}
process.stdin.on("data", () => {
  sockets.forEach((s) => s.close());
  process.exit(0);
});
