"""Live runs at the automatic time scale against their simulation (issue 11's acceptance).

    python benchmarks/bench_agreement.py            # idle
    python benchmarks/bench_agreement.py --busy     # beside two CPU-burning processes
    python benchmarks/bench_agreement.py --json

For each profile: ``run_live`` of the seed policy with the automatic time scale (broadband
and 3g: 100 sessions, corporate firewall: 40; 20 at a time; seed 1) and ``simulate`` of
100,000 sessions with the same seed, measured in the same run. Prints the scale chosen, the
ratios live ÷ simulated of p50 and p90 time to connect (targets: within 15 % and 25 %; 10 %
for the firewall), the success rates, the distortion bound, the verdict and the wall time
of the live run (target: under 120 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time

import numpy as np

from chatconn import policy_preset, simulate
from chatconn.core.profiles import profile_preset
from chatconn.live.run import run_live

SESSIONS = {"broadband": 100, "3g": 100, "corporate-firewall": 40}
TARGETS = {"broadband": (0.15, 0.25), "3g": (0.15, 0.25), "corporate-firewall": (0.10, 0.10)}


def measure(profile: str, sessions: int, concurrency: int, seed: int) -> dict:
    policy = policy_preset("seed")
    sim = simulate(policy, profile_preset(profile), sessions=100_000, seed=seed)
    began = time.perf_counter()
    live = asyncio.run(
        run_live(policy, sessions, concurrency=concurrency, seed=seed,
                 lab_profile=profile_preset(profile))
    )  # fmt: skip
    wall = time.perf_counter() - began
    lt, st = live.result.time_to_connect, sim.time_to_connect
    lt, st = lt[np.isfinite(lt)], st[np.isfinite(st)]
    p50 = float(np.median(lt) / np.median(st)) if lt.size else float("nan")
    p90 = float(np.quantile(lt, 0.9) / np.quantile(st, 0.9)) if lt.size else float("nan")
    verdict = live.agreement()
    low50, low90 = TARGETS[profile]
    return {
        "profile": profile,
        "sessions": sessions,
        "time_scale": live.time_scale,
        "p50_ratio": p50,
        "p90_ratio": p90,
        "within_targets": abs(p50 - 1) <= low50 and abs(p90 - 1) <= low90,
        "live_success": float(live.result.connected.mean()),
        "simulated_success": float(sim.connected.mean()),
        "bound_s": live.bound_s,
        "verdict": verdict.verdict if verdict else None,
        "wall_s": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, allow_abbrev=False)
    parser.add_argument("--profiles", default=",".join(SESSIONS))
    parser.add_argument("--sessions", type=int, help="the same count for every profile")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--busy", action="store_true", help="two CPU-burning processes beside")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(2 if args.busy else 0)
    ]
    try:
        rows = [
            measure(p, args.sessions or SESSIONS[p], args.concurrency, args.seed)
            for p in args.profiles.split(",")
        ]
    finally:
        for process in burners:
            process.kill()
    if args.json:
        print(json.dumps({"busy": args.busy, "rows": rows}))
        return
    print(f"live (automatic time scale) vs simulate, {'busy' if args.busy else 'idle'} machine")
    for r in rows:
        print(
            f"  {r['profile']:<19} scale {r['time_scale']:<6g} p50 x{r['p50_ratio']:.3f}  "
            f"p90 x{r['p90_ratio']:.3f}  success {r['live_success']:.0%} vs "
            f"{r['simulated_success']:.0%}  bound {r['bound_s']:.3g} s  {r['verdict']}  "
            f"wall {r['wall_s']:.0f} s{'' if r['within_targets'] else '  (outside target)'}"
        )


if __name__ == "__main__":
    main()
