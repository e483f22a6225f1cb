"""Benchmark of the vectorised simulator against its two baselines, measured in one run.

    python benchmarks/bench_simulate.py            # the figures quoted in README.md
    python benchmarks/bench_simulate.py --json     # the same, machine-readable

For the ``seed`` policy on the ``broadband`` profile it prints sessions/s of
``chatconn.simulate`` for 1e6 and 1e7 sessions, against
  (a) the RNG floor: drawing exactly the random numbers the model needed for that run
      (same bit generator, same blocks), and nothing else;
  (b) the scalar reference: the same model driven by a plain Python loop, one session at
      a time through the live planner (``chatconn.reference.simulate_reference``);
and the peak RSS of a fresh process that simulates 1e7 sessions and summarises them.
Targets (issue 2): >= 40 % of the floor, >= 20x the Python loop, 10 M sessions < 400 MB.
Ratios, not seconds, are what to compare across machines; each timing is the best of
``--repeats`` runs because the machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time

from chatconn import policy_preset, profile_preset, simulate, simulate_reference
from chatconn.streams import BLOCK_SESSIONS, block_generator

POLICY = "seed"
PROFILE = "broadband"


def best_of(repeats: int, fn) -> float:
    best = math.inf
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - began)
    return best


def rng_floor_seconds(sessions: int, lognormals: int, uniforms: int, seed: int) -> float:
    """Draw the run's lognormals and uniforms block by block, as the simulator does."""
    profile = profile_preset(PROFILE)
    per_session = uniforms / sessions
    mean = math.log(profile.rtt_median_s)
    began = time.perf_counter()
    for first in range(0, sessions, BLOCK_SESSIONS):
        n = min(BLOCK_SESSIONS, sessions - first)
        g = block_generator(seed, 0, first // BLOCK_SESSIONS)
        if lognormals:
            g.lognormal(mean, profile.rtt_sigma, n)
        g.random(round(per_session * n))
    return time.perf_counter() - began


def measure(sessions: int, repeats: int, seed: int = 1) -> dict:
    policy, profile = policy_preset(POLICY), profile_preset(PROFILE)
    result = simulate(policy, profile, sessions, seed)  # warm-up, and the draw counts
    sim = best_of(repeats, lambda: simulate(policy, profile, sessions, seed))
    draws = result.random_draws
    floor = min(
        rng_floor_seconds(sessions, draws["lognormal"], draws["uniform"], seed)
        for _ in range(repeats)
    )
    return {
        "sessions": sessions,
        "simulate_sessions_per_s": sessions / sim,
        "floor_sessions_per_s": sessions / floor,
        "share_of_floor": floor / sim,
        "uniforms_per_session": draws["uniform"] / sessions,
        "lognormals_per_session": draws["lognormal"] / sessions,
    }


def python_loop_rate(sessions: int, seed: int = 1) -> float:
    policy, profile = policy_preset(POLICY), profile_preset(PROFILE)
    result = simulate_reference(policy, profile, sessions, seed)
    return sessions / result.elapsed_s


# VmHWM (peak resident set) of the child's own address space: unlike ru_maxrss it is not
# inherited from the parent across fork + exec.
HWM = "int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
CHILD = """
import json
from chatconn import policy_preset, profile_preset, simulate
imported = {hwm}
r = simulate(policy_preset({policy!r}), profile_preset({profile!r}), {sessions}, 1)
summary = r.summary()
print(json.dumps({{"peak_kib": {hwm}, "import_kib": imported, "elapsed_s": r.elapsed_s}}))
"""


def peak_rss(sessions: int) -> dict:
    """Peak RSS of a fresh interpreter that simulates and summarises ``sessions``."""
    code = CHILD.format(hwm=HWM, policy=POLICY, profile=PROFILE, sessions=sessions)
    child = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    out = json.loads(child.stdout)
    return {
        "sessions": sessions,
        "peak_rss_mb": out["peak_kib"] / 1024,
        "import_rss_mb": out["import_kib"] / 1024,
        "sessions_per_s": sessions / out["elapsed_s"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--loop-sessions", type=int, default=20_000)
    parser.add_argument("--rss-sessions", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    loop = python_loop_rate(args.loop_sessions)
    rows = []
    for n in args.sessions:
        row = measure(n, args.repeats)
        row["x_python_loop"] = row["simulate_sessions_per_s"] / loop
        rows.append(row)
    rss = peak_rss(args.rss_sessions)
    report = {
        "policy": POLICY,
        "profile": PROFILE,
        "python_loop_sessions_per_s": loop,
        "runs": rows,
        "memory": rss,
    }
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"simulate({POLICY!r} on {PROFILE!r}); best of {args.repeats}; one run, one machine")
    print(f"python loop (scalar reference): {loop:,.0f} sessions/s")
    print(f"{'sessions':>12} {'simulate/s':>14} {'RNG floor/s':>14} {'of floor':>9} {'x loop':>8}")
    for r in rows:
        print(
            f"{r['sessions']:>12,} {r['simulate_sessions_per_s']:>14,.0f} "
            f"{r['floor_sessions_per_s']:>14,.0f} {r['share_of_floor']:>8.0%} "
            f"{r['x_python_loop']:>8,.0f}"
        )
    print(
        f"peak RSS simulating + summarising {rss['sessions']:,} sessions in a fresh process: "
        f"{rss['peak_rss_mb']:.0f} MB (of which {rss['import_rss_mb']:.0f} MB is the interpreter "
        "with numpy and chatconn imported)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
