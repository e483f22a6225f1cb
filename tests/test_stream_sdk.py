"""The official stream-chat SDK in the lab against the ``stream-chat`` preset's model.

Many SDK clients run in one node process (chatconn/lab/js/stream_reconnect.js), each printing when
it saw its socket close and every WebSocket attempt it started (from the SDK's own log
lines). The lab's server is killed (open sockets reset, the port refusing) and restarted on
the same port; the clients' retry times are compared with
:func:`chatconn.core.stream_sdk.reconnect_after_drop`, which spends the preset's waits
(``retryInterval``'s window per failure count) the way ``StableWSConnection`` does.

KS at the 0.001 level: the two-sample critical distance ``c(a) sqrt((n + m) / (n m))`` with
``c(0.001) = sqrt(-ln(0.0005) / 2) = 1.949``. The harness floor is far below the windows:
node's timers and the log line add milliseconds to waits that are seconds wide.
"""

from __future__ import annotations

import asyncio

import jsclients
import numpy as np

from chatconn.agreement import ks_sorted
from chatconn.core.profiles import profile_preset
from chatconn.core.stream_sdk import first_connect, reconnect_after_drop
from chatconn.lab.node_clients import NodeClients as _NodeClients
from chatconn.lab.node_clients import per_client
from chatconn.lab.stream_server import StreamLabServer
from chatconn.runs.analysis import ks_critical as _ks_critical

SCRIPT = jsclients.JS_DIR / "stream_reconnect.js"
ALPHA = 0.001
#: Clients in the node process: n = 80 gives a critical KS distance of ~0.22 against the
#: model's 20,000 draws, while a single retry chain (the preset read naively) misses the
#: attempt counts and third-attempt times by ~0.85 (test_a_single_chain_would_be_told_apart).
CLIENTS = 80
DOWN_S = 8.0
MODEL_DRAWS = 20_000
#: Harness floor: node's setTimeout may fire up to 1 ms early against performance.now(), and
#: the two clocks (node's, the lab's) are lined up on the system clock to about 1 ms.
FLOOR_S = 0.003
#: No loss, stalls or resets: a stalled reconnect would hang that client (it has no timeout).
CLEAN = profile_preset("fiber").with_changes(name="clean-fiber", loss=0.0, stall_probability=0.0)


def ks_critical(n: int, m: int, alpha: float = ALPHA) -> float:
    return _ks_critical(n, m, alpha)


def NodeClients(options: dict) -> _NodeClients:
    jsclients.node_modules()
    return _NodeClients(SCRIPT, options, jsclients.NODE_MODULES)


async def _kill_and_restart() -> tuple[dict[int, dict], dict]:
    async with StreamLabServer(CLEAN) as lab:
        options = {"baseURL": lab.base_url, "apiKey": lab.api_key, "clients": CLIENTS}
        options["runMs"] = 55_000
        async with NodeClients(options) as node:
            await node.until("ready", 1, 30)
            assert node.count("connected") == CLIENTS, node.records[-5:]
            ready_t = max(r["t"] for r in node.records)
            await lab.kill()
            await asyncio.sleep(DOWN_S)
            await lab.start()
            await node.until("recovered", CLIENTS, 25)
        return per_client(node.records, ready_t, lab.listening_since), lab.stats()


def test_the_sdk_reconnects_after_a_server_restart_as_the_presets_model_says(js_clients):
    clients, stats = asyncio.run(_kill_and_restart())
    assert len(clients) == CLIENTS and all(c["recovered"] for c in clients.values())
    # Each client recovered its state the SDK's way: queryChannels of the channel it watched.
    assert stats["generation"] == 2 and stats["hub"]["query_channels"] == CLIENTS
    assert stats["hub"]["connect_websocket"] == 2 * CLIENTS
    rng = np.random.default_rng(13)
    downs = [c["down"] for c in clients.values()]
    assert all(DOWN_S - 0.5 < d < DOWN_S + 2 for d in downs), downs
    per = MODEL_DRAWS // CLIENTS  # the same outage as each client saw
    model = [reconnect_after_drop(rng, down_s=d) for d in downs for _ in range(per)]
    crit = ks_critical(CLIENTS, len(model))

    # The first retry waits retryInterval(1): U[0.25, 2.5) s. Node's timers may fire up to
    # 1 ms early on performance.now()'s clock (libuv counts whole ms): the harness floor.
    sdk_first = np.sort([c["attempts"][0] for c in clients.values()])
    model_first = np.sort([m.attempts[0] for m in model])
    assert sdk_first[0] >= 0.25 - FLOOR_S and sdk_first[-1] < 2.5 + 0.05
    assert ks_sorted(sdk_first, model_first) < crit

    # Reconnected: the start of the attempt that succeeded, after the server came back.
    sdk_back = np.sort([c["attempts"][-1] for c in clients.values()])
    model_back = np.sort([m.connected_at for m in model])
    assert all(c["attempts"][-1] >= c["down"] - FLOOR_S for c in clients.values())
    assert ks_sorted(sdk_back, model_back) < crit, (sdk_back[:10], model_back[:10])

    # The third attempt: retry 3's window counted from the first attempt (the fan-out).
    sdk_third = np.sort([c["attempts"][2] for c in clients.values()])
    model_third = np.sort([m.attempts[2] for m in model])
    assert ks_sorted(sdk_third, model_third) < crit

    # How many attempts it took.
    sdk_n = np.sort([len(c["attempts"]) for c in clients.values()]).astype(float)
    model_n = np.sort([len(m.attempts) for m in model]).astype(float)
    assert ks_sorted(sdk_n, model_n) < crit, (np.bincount(sdk_n.astype(int)), model_n.mean())


def test_a_single_chain_would_be_told_apart():
    """The naive reading — retry k waits retryInterval(k) after retry k-1 — is far from the
    SDK's fan-out in the attempts it makes and in when its third attempt starts (retry 3's
    window counted from the *first* attempt, not the second): the test above can fail."""
    from chatconn.core.presets import policy_preset
    from chatconn.core.schedule import draw_waits

    rng = np.random.default_rng(5)
    waits = draw_waits(policy_preset("stream-chat"), rng, MODEL_DRAWS)
    starts = np.cumsum(waits, axis=1)
    chain_n = np.sort(np.argmax(starts >= DOWN_S, axis=1) + 1).astype(float)
    model = [reconnect_after_drop(rng, down_s=DOWN_S) for _ in range(5000)]
    model_n = np.sort([len(m.attempts) for m in model]).astype(float)
    assert ks_sorted(chain_n, model_n) > 3 * ks_critical(CLIENTS, MODEL_DRAWS)
    third = np.sort([m.attempts[2] for m in model])
    assert ks_sorted(np.sort(starts[:, 2]), third) > 3 * ks_critical(CLIENTS, MODEL_DRAWS)


def _firewall(mode: str):
    """corporate-firewall (WebSocket upgrades blocked for every session) without its loss and
    stalls, so that what the SDK does is the blocking's doing; ``mode``: hang (the preset) or
    forbidden (the proxy answers the upgrade with HTTP 403)."""
    return profile_preset("corporate-firewall").with_changes(
        name=f"corporate-firewall-{mode}", ws_block_mode=mode, loss=0.0, stall_probability=0.0
    )


async def _behind_firewall(mode: str, clients: int, watch_s: float):
    async with StreamLabServer(_firewall(mode)) as lab:
        options = {"baseURL": lab.base_url, "apiKey": lab.api_key, "clients": clients}
        options |= {"fallback": True, "runMs": 1}
        async with NodeClients(options) as node:
            if mode == "hang":
                await asyncio.sleep(watch_s)
            else:
                await node.until("ready", 1, watch_s)
        return node.records, lab.stats()


def test_behind_a_hanging_websocket_proxy_the_sdk_waits_on_its_first_attempt_forever(js_clients):
    """corporate-firewall as it is: the upgrade hangs. The SDK has no handshake timeout, and
    its 6 s fallback wait starts only once the first attempt failed, so it neither retries
    nor falls back to long polling — as the model says (one attempt, never connected)."""
    clients, watch_s = 10, 9.0
    records, stats = asyncio.run(_behind_firewall("hang", clients, watch_s))
    model = first_connect(np.random.default_rng(1), ws_hangs=True, fallback=True)
    assert model.attempts == (0.0,) and model.connected_at is None
    for i in range(clients):
        mine = [r for r in records if r.get("client") == i]
        # No retry, no fallback, no error until the test stopped the client.
        assert [r["event"] for r in mine] == ["attempt", "error"], mine
        assert "disconnectUser() was called" in mine[1]["message"]
    assert stats["ports"]["ws0"]["faults"]["upgrade_hang"] == clients
    assert stats["hub"].get("connect_longpoll", 0) == 0


def test_behind_a_proxy_refusing_the_upgrade_the_sdk_falls_back_to_long_polling(js_clients):
    """The upgrade answered with 403: the SDK retries for 6 s (its loops fanning out as the
    model says), then switches to long polling for good."""
    clients = 40
    records, stats = asyncio.run(_behind_firewall("forbidden", clients, 30.0))
    first = {i: min(r["t"] for r in records if r.get("client") == i) for i in range(clients)}
    ws_attempts, switched = [], []
    for i in range(clients):
        mine = [r for r in records if r.get("client") == i]
        ws_attempts.append(sum(1 for r in mine if r["event"] == "attempt" and "transport" not in r))
        (change,) = [r for r in mine if r["event"] == "transport"]
        assert change["mode"] == "longpoll"
        switched.append(change["t"] - first[i])
        (connected,) = [r for r in mine if r["event"] == "connected"]
        assert connected["longpoll"] is True
    assert stats["hub"]["connect_longpoll"] == clients
    assert stats["ports"]["ws0"]["faults"]["upgrade_403"] == sum(ws_attempts)
    # The switch comes 6 s (defaultWSTimeoutWithFallback) after the first attempt failed
    # (2 RTT of the profile, ~0.1 s); the slack is node's timers on a busy machine.
    assert all(6.0 <= s < 6.0 + 1.5 for s in switched), switched
    rng = np.random.default_rng(2)
    model = [first_connect(rng, fallback=True, attempt_s=0.08) for _ in range(MODEL_DRAWS)]
    assert all(m.transport == "longpoll" for m in model)
    sdk_n = np.sort(ws_attempts).astype(float)
    model_n = np.sort([len(m.attempts) for m in model]).astype(float)
    assert ks_sorted(sdk_n, model_n) < ks_critical(clients, MODEL_DRAWS), np.bincount(ws_attempts)
