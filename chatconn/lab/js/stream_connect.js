// The official stream-chat SDK connects to a lab speaking Stream's protocol.
// argv[2]: JSON {"baseURL", "apiKey", "user", "fallback": bool, "timeoutMs"}.
// Prints JSON lines: {"event": "connected", "connection_id", "me"}, the events the client
// dispatches ({"event": "client", "type"}), {"event": "watched"}, {"event": "message"}, and a
// final {"event": "done"} or {"event": "error", "message"}.
"use strict";
const { StreamChat } = require("stream-chat");

const opts = JSON.parse(process.argv[2]);
const t0 = performance.now();
const out = (record) => console.log(JSON.stringify({ t: (performance.now() - t0) / 1000, ...record }));

async function main() {
  const client = new StreamChat(opts.apiKey, {
    enableWSFallback: Boolean(opts.fallback),
    allowServerSideConnect: true,
    logger: () => {},
  });
  client.setBaseURL(opts.baseURL);
  client.on((event) => out({ event: "client", type: event.type, online: event.online, mode: event.mode }));
  const user = opts.user || "lab-user";
  const me = await client.connectUser({ id: user, name: "Lab user" }, client.devToken(user));
  out({ event: "connected", connection_id: me.connection_id, me: me.me && me.me.id, ws: Boolean(client.wsConnection && client.wsConnection.isHealthy), longpoll: Boolean(client.wsFallback) });
  const channel = client.channel("messaging", "lab", {});
  await channel.watch();
  out({ event: "watched", cid: channel.cid });
  const received = new Promise((resolve) => channel.on("message.new", (e) => resolve(e.message.text)));
  await channel.sendMessage({ text: "hello from the SDK" });
  out({ event: "message", text: await received });
  await client.disconnectUser();
  out({ event: "done" });
}

const timer = setTimeout(() => { out({ event: "error", message: "timeout" }); process.exit(2); }, opts.timeoutMs || 30000);
main().then(() => { clearTimeout(timer); process.exit(0); }, (err) => {
  out({ event: "error", message: String(err && err.message || err) });
  clearTimeout(timer);
  process.exit(1);
});
