// Many official stream-chat clients in one process, connected to the lab; every WebSocket
// attempt each client makes is printed (from the SDK's own log line "_connect() - Connecting
// to ..."; the URL, which carries the token, is never printed), and so are its connection
// events. argv[2]: JSON {"baseURL", "apiKey", "clients", "fallback", "runMs"}.
// Lines: {"t", "client", "event": "attempt" | "closed" | "connected" | "changed" | "recovered" | "transport"
// | "ready" | "error"}; t in seconds from the script's start (performance.now()).
// The script ends after runMs, or when its standard input closes.
"use strict";
const { StreamChat } = require("stream-chat");

const opts = JSON.parse(process.argv[2]);
const t0 = performance.now();
const out = (record) => process.stdout.write(JSON.stringify({ t: (performance.now() - t0) / 1000, ...record }) + "\n");
// t = 0 on the system's clock (seconds since the epoch), to line the lines up with the lab's.
out({ event: "origin", epoch: (performance.timeOrigin + t0) / 1000 });

function makeClient(i) {
  const logger = (level, message) => {
    if (message.startsWith("connection:_connect() - Connecting to")) out({ client: i, event: "attempt" });
    else if (message.startsWith("connection:onclose() - onclose callback")) out({ client: i, event: "closed" });
    else if (message.startsWith("WSConnectionFallback:_setState() - CONNECTING")) out({ client: i, event: "attempt", transport: "longpoll" });
  };
  const client = new StreamChat(opts.apiKey, {
    enableWSFallback: Boolean(opts.fallback),
    allowServerSideConnect: true,
    logger,
  });
  client.setBaseURL(opts.baseURL);
  client.on("connection.changed", (e) => out({ client: i, event: "changed", online: e.online }));
  client.on("connection.recovered", () => out({ client: i, event: "recovered" }));
  client.on("transport.changed", (e) => out({ client: i, event: "transport", mode: e.mode }));
  return client;
}

async function connect(i) {
  const client = makeClient(i);
  clients.push(client);
  const user = `lab-user-${i}`;
  try {
    const me = await client.connectUser({ id: user }, client.devToken(user));
    out({ client: i, event: "connected", connection_id: me.connection_id, longpoll: Boolean(client.wsFallback) });
    await client.channel("messaging", "lab", {}).watch();
  } catch (err) {
    out({ client: i, event: "error", message: String((err && err.message) || err) });
  }
}

const clients = [];
async function stop() {
  await Promise.race([
    Promise.all(clients.map((c) => c.disconnectUser(100).catch(() => {}))),
    new Promise((resolve) => setTimeout(resolve, 2000)),
  ]);
  out({ event: "done" });
  process.exit(0);
}
// Standard input closing stops the script at any time (connectUser may never settle).
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();

async function main() {
  await Promise.all(Array.from({ length: opts.clients || 1 }, (_, i) => connect(i)));
  out({ event: "ready" });
  setTimeout(stop, opts.runMs || 60000);
}

main();
