"""Benchmark of the live layer against the lab server, measured in one run.

    python benchmarks/bench_live.py            # the figures quoted in README.md
    python benchmarks/bench_live.py --json

Prints:
  1. connect overhead: ``ConnectionManager.connect()`` against the same protocol exchange
     done by hand with bare ``websockets.connect`` (open, auth, sync), both straight to the
     lab's backend on loopback (no chaos proxy), p50 and p90 of sequential connects,
     alternated; the overhead is the median of the paired differences (each manager
     connect minus the bare one just before it) over the bare median, robust to load from
     other processes; target: the manager within 10 % of bare;
  2. 5,000 concurrent sessions through the chaos proxies of a calm profile, the lab in its
     own process (:class:`chatconn.lab.process.LabProcess`): ConnectionManagers (attempt
     timeout 10 s, sharing one :class:`chatconn.live.gate.ConnectGate`) against bare
     ``websockets`` connects started together, alternated: how many connected (target: no
     failure) and the wall-time ratio (target: <= 1.5x bare);
  3. accuracy of an injected 200 ms RTT: the median of HTTP latency probes on one
     keep-alive connection, and of WebSocket connects (4 round trips), each net of the same
     measurement with ~no injected RTT in the same run (the loopback request itself costs
     about a millisecond); target: within 5 ms at p50.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time

import httpx
from websockets.asyncio.client import connect as ws_connect

from chatconn import NetworkProfile, RetryPolicy
from chatconn import wire as P
from chatconn.endpoint import Endpoint
from chatconn.lab.process import LabProcess
from chatconn.lab.server import LabServer
from chatconn.limits import raise_open_files_limit
from chatconn.live.gate import ConnectGate
from chatconn.live.manager import ConnectionManager

CALM = NetworkProfile("calm", rtt_median_s=0.002, rtt_sigma=0.0, auth_s=0.0, sync_s=0.0)
RTT_200 = NetworkProfile("rtt-200ms", rtt_median_s=0.2, rtt_sigma=0.0, auth_s=0.0, sync_s=0.0)
NEAR_ZERO = NetworkProfile("rtt-0", rtt_median_s=1e-6, rtt_sigma=0.0, auth_s=0.0, sync_s=0.0)
WS_ONLY = RetryPolicy(ladder=("direct_websocket",), max_attempts=1, base_timeout=10.0)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bare_connect(url: str, token: str) -> float:
    began = time.perf_counter()
    async with ws_connect(url, open_timeout=None, compression=None) as ws:
        await ws.send(P.encode({"type": "auth", "token": token}))
        P.decode(await ws.recv(), "connected")
        await ws.send(P.encode({"type": "sync"}))
        P.decode(await ws.recv(), "sync")
        elapsed = time.perf_counter() - began
    return elapsed


async def manager_connect(endpoint: Endpoint, token: str) -> float:
    """One ConnectionManager built and connected (its close is not timed, as the bare
    connect's). ``endpoint`` is built once by the caller, as the bare connect's URL:
    ``LabServer.backend_endpoint`` builds and validates a new Endpoint each time (three
    URLs, ~15 us warm, several times that between connects), which is the lab's cost."""
    began = time.perf_counter()
    manager = ConnectionManager(endpoint, token, policy=WS_ONLY)
    await manager.connect()
    elapsed = time.perf_counter() - began
    await manager.close()
    return elapsed


async def overhead(samples: int) -> dict:
    async with LabServer(CALM) as lab:
        endpoint = lab.backend_endpoint
        url = endpoint.primary
        for _ in range(20):  # warm up both paths
            await bare_connect(url, lab.token)
            await manager_connect(endpoint, lab.token)
        bare: list[float] = []
        managed: list[float] = []
        for _ in range(samples):  # interleaved, so drift hits both alike
            bare.append(await bare_connect(url, lab.token))
            managed.append(await manager_connect(endpoint, lab.token))
    return {
        "samples": samples,
        "bare_p50_ms": pct(bare, 0.5) * 1e3,
        "bare_p90_ms": pct(bare, 0.9) * 1e3,
        "manager_p50_ms": pct(managed, 0.5) * 1e3,
        "manager_p90_ms": pct(managed, 0.9) * 1e3,
        # paired: each manager connect against the bare one just before it, so that a
        # burst of load from the rest of the machine hits a pair, not one side
        "overhead_p50": statistics.median(m - b for m, b in zip(managed, bare, strict=True))
        / statistics.median(bare),
        "unpaired_overhead_p50": pct(managed, 0.5) / pct(bare, 0.5) - 1.0,
    }


async def _burst(sessions: int, lab: LabProcess, managed: bool) -> dict:
    """``sessions`` connects started together; wall time, failures, per-connect p50/p90."""
    gate = ConnectGate() if managed else None
    times: list[float] = []

    async def one(i: int) -> bool:
        if not managed:
            try:
                times.append(await bare_connect(lab.endpoint.primary, lab.token))
                return True
            except Exception:
                return False
        manager = ConnectionManager(
            lab.endpoint, lab.token, policy=WS_ONLY, session_tag=f"c{i}", gate=gate
        )
        try:
            await manager.connect()
            times.append(manager.attempts_elapsed_s or 0.0)
            return True
        except Exception:
            return False
        finally:
            await manager.close()

    began = time.perf_counter()
    results = await asyncio.gather(*(one(i) for i in range(sessions)))
    wall = time.perf_counter() - began
    out = {"connected": sum(results), "failed": sessions - sum(results), "wall_s": wall,
           "connect_p50_s": pct(times, 0.5) if times else None,
           "connect_p90_s": pct(times, 0.9) if times else None}  # fmt: skip
    if gate is not None:
        out["gate"] = {"limit": gate.limit, "waited": gate.waited, "peak": gate.peak}
    return out


async def concurrent(sessions: int, rounds: int = 2) -> dict:
    """``sessions`` concurrent sessions against the lab in its own process: bare websockets
    and ConnectionManager (policy timeout 10 s, one shared ConnectGate), alternated
    ``rounds`` times; the best wall time of each (the least disturbed by the machine)."""
    raise_open_files_limit()
    async with LabProcess(CALM) as lab:
        await _burst(min(sessions, 200), lab, managed=False)  # warm up both sides
        bare: list[dict] = []
        managed: list[dict] = []
        for _ in range(rounds):
            bare.append(await _burst(sessions, lab, managed=False))
            managed.append(await _burst(sessions, lab, managed=True))
    best_bare = min(bare, key=lambda r: r["wall_s"])
    best_managed = min(managed, key=lambda r: r["wall_s"])
    return {
        "sessions": sessions,
        "lab": "own process",
        "connected": min(r["connected"] for r in managed),
        "failed": max(r["failed"] for r in managed),
        "bare_failed": max(r["failed"] for r in bare),
        "wall_s": best_managed["wall_s"],
        "bare_wall_s": best_bare["wall_s"],
        "wall_ratio": best_managed["wall_s"] / best_bare["wall_s"],
        "bare": bare,
        "managed": managed,
    }


async def _latency(profile: NetworkProfile, samples: int) -> tuple[float, float]:
    """Median HTTP probe (one keep-alive connection) and median WebSocket connect."""
    async with LabServer(profile, seed=1) as lab:
        async with httpx.AsyncClient() as client:
            await client.get(lab.endpoint.http_url + P.LATENCY_PATH)  # open the connection
            probes = []
            for _ in range(samples):
                began = time.perf_counter()
                await client.get(lab.endpoint.http_url + P.LATENCY_PATH)
                probes.append(time.perf_counter() - began)
        connects = []
        for i in range(max(5, samples // 5)):
            manager = ConnectionManager(lab.endpoint, lab.token, policy=WS_ONLY, session_tag=str(i))
            began = time.perf_counter()
            await manager.connect()
            connects.append(time.perf_counter() - began)
            await manager.close()
    return statistics.median(probes), statistics.median(connects)


async def rtt_accuracy(samples: int) -> dict:
    """The injected delay, net of what the same exchange costs with ~no injected RTT."""
    base_probe, base_connect = await _latency(NEAR_ZERO, samples)
    probe, connect = await _latency(RTT_200, samples)
    return {
        "injected_rtt_ms": 200.0,
        "probe_p50_ms": probe * 1e3,
        "baseline_probe_p50_ms": base_probe * 1e3,
        "probe_error_p50_ms": (probe - base_probe - 0.2) * 1e3,
        "ws_connect_p50_ms": connect * 1e3,
        "baseline_ws_connect_p50_ms": base_connect * 1e3,
        "ws_connect_expected_ms": 4 * 200.0,
        "ws_connect_error_p50_ms": (connect - base_connect - 0.8) * 1e3,
    }


async def main_async(args: argparse.Namespace) -> dict:
    return {
        "overhead": await overhead(args.samples),
        "concurrent": await concurrent(args.sessions),
        "rtt": await rtt_accuracy(args.rtt_samples),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=5000)
    parser.add_argument("--rtt-samples", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = asyncio.run(main_async(args))
    if args.json:
        print(json.dumps(report))
        return 0
    o, c, r = report["overhead"], report["concurrent"], report["rtt"]
    print("live layer against the lab server, loopback, one run")
    print(
        f"connect (open+auth+sync), {o['samples']} sequential: bare websockets p50 "
        f"{o['bare_p50_ms']:.2f} ms, ConnectionManager p50 {o['manager_p50_ms']:.2f} ms "
        f"-> overhead {o['overhead_p50']:+.1%} (median of paired differences; target <= +10 %"
        f"), {o['unpaired_overhead_p50']:+.1%} as the ratio of the two medians"
    )
    print(
        f"{c['sessions']} concurrent sessions through the chaos proxies (lab in its own "
        f"process): ConnectionManager {c['connected']} connected, {c['failed']} failed, "
        f"{c['wall_s']:.2f} s; bare websockets {c['bare_wall_s']:.2f} s "
        f"({c['bare_failed']} failed) -> x{c['wall_ratio']:.2f} (target: 0 failed, <= x1.5)"
    )
    print(
        f"injected RTT 200 ms: HTTP probe p50 {r['probe_p50_ms']:.1f} ms, "
        f"{r['baseline_probe_p50_ms']:.1f} ms without injection -> injection error "
        f"{r['probe_error_p50_ms']:+.1f} ms; WebSocket connect p50 {r['ws_connect_p50_ms']:.1f} ms "
        f"({r['baseline_ws_connect_p50_ms']:.1f} ms without) vs 4 RTT = 800 ms -> error "
        f"{r['ws_connect_error_p50_ms']:+.1f} ms over 4 RTT (target: within 5 ms at p50)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
