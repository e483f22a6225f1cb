"""The cells of notebooks/06_real_clients.ipynb (tools/make_notebooks.py writes it).

The real stream-chat SDK and chatconn's manager in the Stream-protocol lab, under a server
restart and behind a corporate firewall, beside the model of the ``stream-chat`` preset.
"""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_markdown_cell

CELLS: list = []


def md(text: str) -> None:
    CELLS.append(new_markdown_cell(text.strip()))


def code(text: str) -> None:
    CELLS.append(new_code_cell(text.strip()))


md("""
# Real clients: Stream Chat's SDK under the app's manager

The seed app is built on Stream Chat's JavaScript SDK (`stream-chat` 9.53.0). Its own
connection manager (the `seed` preset) calls `connectUser`, and underneath, the SDK's
`StableWSConnection` retries by itself with `retryInterval(n)` — the `stream-chat` preset.
This notebook puts the **official SDK** in the lab (`chatconn serve --protocol stream`
answers Stream's API), next to chatconn's own manager speaking the same protocol, under a
**server restart** and behind a **corporate firewall**, and asks what the SDK's retries add
underneath the app's.

It runs node (Node.js 18+ with npm) with the SDK pinned by the kit's lockfile
(`chatconn/lab/js/package-lock.json`), installed with `npm ci` on first use into
`~/.cache/chatconn/js/`.
""")
code("""
import asyncio

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from chatconn import policy_preset, simulate
from chatconn.agreement import ks_sorted
from chatconn.core.profiles import profile_preset
from chatconn.core.schedule import draw_waits
from chatconn.core.stream_sdk import (
    first_connect, reconnect_after_drop, retry_wait, stacked_connect,
)
from chatconn.lab.node_clients import NodeClients, per_client
from chatconn.lab.stream import dev_token
from chatconn.lab.stream_server import StreamLabServer
from chatconn.runs.analysis import ks_critical
from chatconn.live.manager import ConnectionManager
from chatconn.live.tokens import Secret

from chatconn.lab.nodejs import JS_DIR, node_modules

NODE_PATH = node_modules()  # the pinned SDK: chatconn/lab/js/package-lock.json
SDK_SCRIPT = JS_DIR / "stream_reconnect.js"
sdk = policy_preset("stream-chat")
seed = policy_preset("seed")
# No loss or stalls: what happens is the restart's or the proxy's doing alone.
CLEAN = profile_preset("fiber").with_changes(name="clean-fiber", loss=0.0, stall_probability=0.0)
""")
md("""
## The SDK's windows, and how it spends them

`retryInterval(n)` waits U[min(max(0.25, 2(n−1)), 25), min(0.5 + 2n, 25)) s. The preset
reproduces it draw for draw (`jitter_mode="window"`). But *n* is the SDK's
`consecutiveFailures`, not the retry number: one failed WebSocket attempt reaches the SDK
three times (`onerror`, `onclose`, the `catch` of the `_reconnect` that started it), each
adding one failure and starting a retry loop. So the retries fan out.
""")
code("""
windows = pd.DataFrame(
    {"n": n, "shortest_s": retry_wait(sdk, n, 0.0), "longest_s": retry_wait(sdk, n, 1 - 1e-9)}
    for n in range(1, 16)
).set_index("n")
windows.T
""")
code("""
rng = np.random.default_rng(1)
OUTAGES = (5, 20, 60, 120)


def seed_alone(down_s, n=1000):
    # the app's own manager against a refusing server: attempts at the cumulative waits
    starts = np.concatenate([np.zeros((n, 1)), np.cumsum(draw_waits(seed, rng, n), axis=1)], axis=1)
    ok = starts >= down_s
    connected = np.where(ok.any(axis=1), starts[np.arange(n), ok.argmax(axis=1)], np.nan)
    attempts = float(np.mean(ok.argmax(axis=1) + 1))
    return np.nanmedian(connected), attempts, float(np.mean(~ok.any(axis=1)))


def naive_chain(down_s, n=1000):
    starts = np.cumsum(draw_waits(sdk.with_changes(max_attempts=40), rng, n), axis=1)
    k = (starts >= down_s).argmax(axis=1)
    return np.median(starts[np.arange(n), k]), float(np.mean(k + 1)), 0.0


def sdk_model(down_s, n=1000):
    runs = [reconnect_after_drop(rng, down_s=down_s) for _ in range(n)]
    attempts = float(np.mean([len(r.attempts) for r in runs]))
    return np.median([r.connected_at for r in runs]), attempts, 0.0


def stacked(down_s, n=1000):
    runs = [stacked_connect(rng, seed, down_s=down_s) for _ in range(n)]
    done = [r.connected_at for r in runs if r.connected_at is not None]
    return (np.median(done) if done else np.nan,
            float(np.mean([len(r.ws_attempts) for r in runs])),
            float(np.mean([r.connected_at is None for r in runs])))


rows = []
for down in OUTAGES:
    for name, model in (("seed alone", seed_alone), ("SDK read naively (one chain)", naive_chain),
                        ("SDK (fan-out)", sdk_model), ("seed over the SDK", stacked)):
        median, attempts, gave_up = model(down)
        rows.append({"outage_s": down, "client": name, "reconnected_p50_s": round(median, 2),
                     "ws_attempts_mean": round(attempts, 1), "gave_up": round(gave_up, 3)})
restart_table = pd.DataFrame(rows).pivot(index="client", columns="outage_s")
restart_table
""")
md("""
**What to look at:** the SDK alone keeps ~9 interleaved retry chains once its windows reach
25 s, about 0.36 attempts per second per client in a long outage, where a single chain
would make one per 25 s. The seed app on top of it gives up after its 6 attempts (over a
minute of refusals), each `connectUser` carrying up to ~3 WebSocket attempts of the SDK's.

## The real SDK and chatconn's manager through one server restart

Both labs die at once (open sockets reset, the port refusing) and come back after
`DOWN_S`: 30 SDK clients in one node process, and 10 of chatconn's managers with the
`seed` policy (connecting while the server is down).
""")
code("""
DOWN_S, SDK_CLIENTS, MANAGERS = 4.0, 30, 10


async def sdk_restart():
    async with StreamLabServer(CLEAN) as lab:
        options = {"baseURL": lab.base_url, "apiKey": lab.api_key, "clients": SDK_CLIENTS,
                   "runMs": 40_000}
        async with NodeClients(SDK_SCRIPT, options, NODE_PATH) as node:
            await node.until("ready", 1, 30)
            after = max(r["t"] for r in node.records)
            await lab.kill()
            await asyncio.sleep(DOWN_S)
            await lab.start()
            await node.until("recovered", SDK_CLIENTS, 20)
        return per_client(node.records, after, lab.listening_since)


async def managers_restart():
    async with StreamLabServer(CLEAN) as lab:
        endpoint = lab.endpoint
        await lab.kill()
        loop = asyncio.get_running_loop()
        began = loop.time()

        async def one():
            token = Secret(dev_token(endpoint.user_id))
            async with ConnectionManager(endpoint, token, policy=seed) as m:
                await m.connect()
                return loop.time() - began, len(m.records)

        tasks = [asyncio.create_task(one()) for _ in range(MANAGERS)]
        await asyncio.sleep(DOWN_S)
        await lab.start()
        return await asyncio.gather(*tasks)


sdk_clients, manager_results = await asyncio.gather(sdk_restart(), managers_restart())
sdk_back = np.sort([c["attempts"][-1] for c in sdk_clients.values()])
downs = [c["down"] for c in sdk_clients.values()]
model_back = np.sort([reconnect_after_drop(rng, down_s=d).connected_at
                      for d in downs for _ in range(200)])
ks = ks_sorted(sdk_back, model_back)
crit = ks_critical(len(sdk_back), len(model_back), alpha=0.001)
manager_back = np.sort([t for t, _ in manager_results])
print(f"SDK: {len(sdk_back)} clients back after p50 {np.median(sdk_back):.2f} s; "
      f"KS vs the model {ks:.3f} (0.001 critical {crit:.3f})")
print(f"chatconn manager (seed): {len(manager_back)} back after p50 "
      f"{np.median(manager_back):.2f} s, "
      f"{np.mean([n for _, n in manager_results]):.1f} attempts each")
""")
code("""
def ecdf(values, name, dash=None):
    x = np.sort(values)
    return go.Scatter(x=x, y=np.arange(1, len(x) + 1) / len(x), mode="lines", name=name,
                      line={"shape": "hv", "dash": dash})


restart_figure = go.Figure(
    [ecdf(sdk_back, "stream-chat SDK (real, lab)"), ecdf(model_back, "stream-chat model", "dot"),
     ecdf(manager_back, "chatconn manager, seed (real, lab)")],
    layout={"title": f"Back after a {DOWN_S:g} s server restart",
            "xaxis_title": "seconds after the drop",
            "yaxis_title": "share of clients back", "template": "plotly_white"},
)
restart_figure
""")
md("""
## Behind a corporate firewall

`corporate-firewall` hangs every WebSocket upgrade. The SDK has **no handshake timeout**,
and its fallback's 6 s wait only starts once the first attempt *failed*: behind a hanging
proxy it sits on its first attempt forever — no retry, no fallback, even with
`enableWSFallback`. Only a proxy that refuses the upgrade (HTTP 403) makes it retry for 6 s
and switch to long polling. The app's manager is what rescues a hang: its own attempt
timeout, then its ladder (here chatconn's manager over Stream's protocol, which drops the
rungs Stream has no transport for and reaches long polling).
""")
code("""
def firewall(mode):
    return profile_preset("corporate-firewall").with_changes(
        name=f"corporate-firewall ({mode})", ws_block_mode=mode, loss=0.0, stall_probability=0.0)


async def sdk_behind(mode, watch_s):
    async with StreamLabServer(firewall(mode)) as lab:
        options = {"baseURL": lab.base_url, "apiKey": lab.api_key, "clients": 10,
                   "fallback": True, "runMs": 1}
        async with NodeClients(SDK_SCRIPT, options, NODE_PATH) as node:
            try:
                await node.until("ready", 1, watch_s)
            except TimeoutError:
                pass
        return node.records


async def manager_behind():
    async with StreamLabServer(firewall("hang"), time_scale=0.02) as lab:
        endpoint = lab.endpoint
        token = Secret(lab.token)
        async with ConnectionManager(endpoint, token, policy=seed, time_scale=0.02) as m:
            session = await m.connect()
            return session.strategy.value, len(m.records)


hang_records, forbidden_records, (manager_strategy, manager_attempts) = await asyncio.gather(
    sdk_behind("hang", 5.0), sdk_behind("forbidden", 20.0), manager_behind())


def outcome(records):
    attempts = sum(1 for r in records if r.get("event") == "attempt" and "transport" not in r)
    longpoll = sum(1 for r in records if r.get("event") == "connected" and r.get("longpoll"))
    websocket = sum(1 for r in records if r.get("event") == "connected" and not r.get("longpoll"))
    return {"ws_attempts_per_client": attempts / 10, "connected_websocket": websocket,
            "connected_longpoll": longpoll}


fallback_model = [first_connect(rng, fallback=True) for _ in range(2000)]
firewall_table = pd.DataFrame({
    "SDK, upgrade hangs (real)": outcome(hang_records),
    "SDK, upgrade refused 403 (real)": outcome(forbidden_records),
    "SDK model, hang": {"ws_attempts_per_client": len(first_connect(rng, ws_hangs=True).attempts),
                        "connected_websocket": 0, "connected_longpoll": 0},
    "SDK model, 403": {"ws_attempts_per_client": np.mean([len(m.attempts) for m in fallback_model]),
                       "connected_websocket": 0, "connected_longpoll": 10},
}).T
print(f"chatconn's manager (seed over Stream's protocol) behind the hanging proxy: "
      f"{manager_strategy} after {manager_attempts} attempts")
firewall_table
""")
code("""
firewalled = profile_preset("corporate-firewall")
simulated = {name: simulate(policy_preset(name), firewalled, 20_000, seed=1).summary()
             for name in ("seed", "stream-chat")}
{name: round(s["success_rate"], 3) for name, s in simulated.items()}
""")
md("""
**What it means for the app.** The SDK's own retries are not a second copy of the app's:
after a server restart they fan out (three loops per failed attempt) and reconnect a few
seconds after the server is back; in a long outage they keep ~0.36 attempts per second per
client going. Stacked under the seed app's manager, each of its `connectUser` calls carries
up to ~3 WebSocket attempts within the SDK's 15 s wait. Behind a proxy that hangs the
upgrade, the SDK neither retries nor falls back: the app's attempt timeout and its ladder
are what get those users connected — keep them, and give `connectUser` a timeout of the
app's own.
""")
