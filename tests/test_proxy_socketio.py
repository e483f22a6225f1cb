"""socket.io-client (node, pinned in chatconn/lab/js) through ``chatconn proxy`` in front of the npm
``socket.io`` server: the server is killed and restarted, the clients reconnect, and the waits
the proxy recorded reproduce the ``socketio`` preset's schedule."""

from __future__ import annotations

import asyncio
import json
import os
import socket

import jsclients
import pytest
from helpers import run

from chatconn.core.presets import POLICY_PRESETS, policy_preset
from chatconn.core.profiles import NetworkProfile
from chatconn.live.harness import quiet_heap
from chatconn.observe import best_match, compare_waits, timelines
from chatconn.proxy import ObservingProxy
from chatconn.runs import load_run

#: Clients reconnecting in parallel (one node process): 40 waits per retry give a KS critical
#: distance of ~0.35 at the 0.001 level (Bonferroni over the retries compared).
CLIENTS = 40
#: Server down this long: every client gets through retries 1-4 (at most 1.5 + 3 + 5 + 5 s
#: with socket.io's defaults, reconnectionDelay 1000 ms x2 capped at 5000, jitter 0.5).
OUTAGE_S = 16.0
#: A quiet loopback link: no stalls or losses that would add socket.io's 20 s timeout.
LINK = NetworkProfile("quiet-lan", "2 ms, nothing lost", rtt_median_s=0.002, rtt_sigma=0.0)

SERVER = jsclients.JS_DIR / "socketio_server.js"
CLIENTS_JS = jsclients.JS_DIR / "socketio_clients.js"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _node(script, *args: str) -> asyncio.subprocess.Process:
    modules = jsclients.node_modules()
    return await asyncio.create_subprocess_exec(
        "node", str(script), *args,
        cwd=jsclients.JS_DIR,
        env={**os.environ, "NODE_PATH": str(modules)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _until(proc: asyncio.subprocess.Process, test, limit_s: float) -> list[dict]:
    seen = []
    async with asyncio.timeout(limit_s):
        while True:
            line = await proc.stdout.readline()
            if not line:
                raise AssertionError("node exited: " + (await proc.stderr.read()).decode())
            if line.startswith(b"{"):
                seen.append(json.loads(line))
                if test(seen[-1]):
                    return seen


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
    await proc.wait()


def test_socketio_clients_reconnecting_through_the_proxy_reproduce_the_socketio_preset(
    js_clients, tmp_path
):
    record = tmp_path / "socketio.jsonl"
    port = _free_port()

    async def scenario():
        server = await _node(SERVER, str(port))
        clients = None
        try:
            await _until(server, lambda m: "listening" in m, 30)
            async with ObservingProxy(("127.0.0.1", port), LINK, record=record) as proxy:
                host, listen = proxy.address
                clients = await _node(CLIENTS_JS, f"http://{host}:{listen}", str(CLIENTS))
                await _until(clients, lambda m: m.get("connected") == CLIENTS, 30)
                server.kill()  # the server dies: every client is dropped
                await server.wait()
                await asyncio.sleep(OUTAGE_S)
                server = await _node(SERVER, str(port))
                await _until(server, lambda m: "listening" in m, 30)
                # Every client reconnects within one capped wait (5 s) of the restart.
                await _until(clients, lambda m: m.get("connected") == CLIENTS, 20)
                clients.stdin.write(b"stop\n")
                await clients.stdin.drain()
                await asyncio.wait_for(clients.wait(), 10)
        finally:
            await _stop(server)
            if clients is not None:
                await _stop(clients)

    with quiet_heap():  # the proxy runs here: no full GC pass in its timestamps
        run(scenario(), 120)
    loaded = load_run(record)
    lines = timelines(loaded.observations)
    assert set(lines) == {f"tag:c{i}" for i in range(CLIENTS)}
    for attempts in lines.values():
        outcomes = [a.outcome for a in attempts]
        # connected, dropped; refused by the dead upstream at every retry; connected again
        assert outcomes[0] == outcomes[-1] == "connected", outcomes
        assert set(outcomes[1:-1]) == {"unreachable"}, outcomes
        assert attempts[0].connection.closed_by == "upstream"
        assert [a.retry for a in attempts[1:]] == list(range(1, len(attempts)))
        assert len(attempts) - 1 >= 5  # retries 1-4 refused, at least one more
    same = compare_waits(lines, policy_preset("socketio"), name="socketio")
    assert same.agrees is True, [r.describe("socketio") for r in same.retries]
    assert {r.retry for r in same.compared} >= {1, 2, 3, 4}
    assert same.verdict.startswith("behaves like socketio (retries 1–")
    print(same.verdict, *(r.describe("socketio") for r in same.retries), sep="\n")
    ranked = best_match(lines, {n: policy_preset(n) for n in POLICY_PRESETS})
    assert ranked[0].name == "socketio", [(r.name, r.verdict) for r in ranked]
    assert all(r.agrees is False for r in ranked[1:]), [(r.name, r.verdict) for r in ranked]
    # The run's sessions: one first connect and one reconnect per client.
    assert loaded.sessions == 2 * CLIENTS and loaded.result.connected.all()


@pytest.mark.parametrize("alpha", [0.001])
def test_socketio_comparison_is_not_fooled_by_a_shorter_first_delay(alpha):
    """The same clients' waits, every one halved: socket.io's own schedule rejects them
    (guards the test above against a comparison that accepts anything)."""
    import numpy as np

    from chatconn.observe import ObservedConnection, simulated_waits

    policy = policy_preset("socketio")
    waits = simulated_waits(policy, 5, np.random.default_rng(1), CLIENTS) / 2
    conns = []
    for c in range(CLIENTS):
        t, n = 10.0, c * 10
        conns.append(ObservedConnection(n, "127.0.0.1", 1, 0.0, tag=f"c{c}", head_s=0.0,
                                        first_byte_s=0.01, closed_s=t, closed_by="upstream",
                                        upgrade=True, status=101))  # fmt: skip
        for r in range(5):
            t += waits[c, r]
            conns.append(ObservedConnection(n + r + 1, "127.0.0.1", 1, t, tag=f"c{c}",
                                            head_s=0.0, closed_s=0.001, closed_by="upstream",
                                            upgrade=True, upstream_error="refused"))  # fmt: skip
            t += 0.001
    verdict = compare_waits(timelines(conns), policy, name="socketio", alpha=alpha)
    assert verdict.agrees is False and "differs from socketio at retry 1" in verdict.verdict
