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
  const user = `lab-user-${i}`;
  try {
    const me = await client.connectUser({ id: user }, client.devToken(user));
    out({ client: i, event: "connected", connection_id: me.connection_id, longpoll: Boolean(client.wsFallback) });
    await client.channel("messaging", "lab", {}).watch();
  } catch (err) {
    out({ client: i, event: "error", message: String((err && err.message) || err) });
  }
  return client;
}

async function main() {
  const clients = await Promise.all(Array.from({ length: opts.clients || 1 }, (_, i) => connect(i)));
  out({ event: "ready" });
  await new Promise((resolve) => {
    setTimeout(resolve, opts.runMs || 60000);
    process.stdin.on("end", resolve);
    process.stdin.on("close", resolve);
    process.stdin.resume();
  });
  await Promise.all(clients.map((c) => c.disconnectUser(100).catch(() => {})));
  out({ event: "done" });
  process.exit(0);
}

main();
