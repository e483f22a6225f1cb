"""Benchmark of the reconnect storm's calendar queue against the rescan, measured in one run.

    python benchmarks/bench_storm.py            # the figures quoted in README.md
    python benchmarks/bench_storm.py --json     # the same, machine-readable

Issue 18's case: 1,000,000 clients dropped at once, a 30 s outage, 1,000 handshakes/s. The
heavy version of it is the ``seed`` policy retrying forever at its last wait (the rule every
storm followed before clients could give up): ~100 M attempts over ~1,000 windows. Printed:
  (a) the storm as it was before (``_storm_before.py``: main's code, every window rescans
      every remaining client) against ``storm`` on the same herd, the capacity scaled so
      the herd needs the same ~1,000 windows, at sizes the old code can handle:
      interleaved best-of rounds, and the ratio;
  (b) the rescan reference (``chatconn.storm_reference.storm_rescan``, the same rules as
      ``storm`` by rescanning) against ``storm``: the ratio, and that the results are
      identical;
  (c) ``storm`` at 1,000,000 clients in a fresh process per policy: seconds and peak RSS
      (goal: < 5 s and < 1 GB) — the heavy case and the presets as shipped;
  (d) nanoseconds per attempt at the small size and at 1 M: the calendar queue's work
      grows with the attempts, a rescan's with clients x windows.
Ratios, not seconds, are what to compare across machines.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from _storm_before import storm as storm_before
from _timing import best_of

from chatconn import policy_preset
from chatconn.storm import storm
from chatconn.storm_reference import storm_rescan

OUTAGE_S = 30.0
CAPACITY = 1_000
SEED = 1

_CHILD = """
import json, sys, time
from chatconn import policy_preset
from chatconn.storm import storm
if sys.argv[1] == "before":  # main's storm, on the same herd (it has no give-up rule)
    from _storm_before import storm
    sys.argv[1] = "seed"

def high_water_mb():  # VmHWM: this process's peak RSS (ru_maxrss survives exec on Linux)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

name, forever = sys.argv[1], sys.argv[2] == "1"
clients, outage, capacity = map(float, sys.argv[3:])
policy = policy_preset(name)
if forever:
    policy = policy.with_changes(retries_forever=True)
before = high_water_mb()
began = time.perf_counter()
r = storm(policy, int(clients), outage, int(capacity), seed=1)
seconds = time.perf_counter() - began
back = int((r.connect_time == r.connect_time).sum())
print(json.dumps({"seconds": seconds, "attempts": int(r.attempts.clip(0).sum()), "back": back,
                  "gave_up": getattr(r, "gave_up", 0), "peak_per_s": r.peak_per_s,
                  "reconnected_99_s": r.reconnected_99_s, "import_rss_mb": before,
                  "peak_rss_mb": high_water_mb()}))
"""


def heavy_policy():
    return policy_preset("seed").with_changes(retries_forever=True)


def same(a, b) -> bool:
    arrays = ("connect_time", "attempts", "gave_up_at", "accepted_per_s", "refused_per_s")
    scalars = ("peak_per_s", "reconnected_99_s", "gave_up", "still_down", "refused")
    equal = all(np.array_equal(getattr(a, n), getattr(b, n), equal_nan=True) for n in arrays)
    return equal and all(getattr(a, n) == getattr(b, n) for n in scalars)


def against(baseline, clients: int, repeats: int) -> dict:
    policy = heavy_policy()
    capacity = max(1, round(CAPACITY * clients / 1_000_000))  # the same shape, scaled down
    run = lambda f: f(policy, clients, OUTAGE_S, capacity, SEED)  # noqa: E731
    queue, base = run(storm), run(baseline)
    t_queue, t_base = best_of(repeats, lambda: run(storm), lambda: run(baseline))
    attempts = int(queue.attempts.sum())
    return {
        "clients": clients,
        "capacity_per_s": capacity,
        "attempts": attempts,
        "storm_s": t_queue,
        "baseline_s": t_base,
        "x_baseline": t_base / t_queue,
        "identical": same(queue, base) if baseline is storm_rescan else None,
        "storm_ns_per_attempt": 1e9 * t_queue / attempts,
    }


def fresh_process(name: str, forever: bool, clients: int, repeats: int) -> dict:
    """The best time of ``repeats`` fresh processes (the machines are noisy), the worst RSS."""
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                _CHILD,
                name,
                "1" if forever else "0",
                *map(str, (clients, OUTAGE_S, CAPACITY)),
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,  # where _storm_before.py is
        )
        runs.append(json.loads(out.stdout))
    report = min(runs, key=lambda r: r["seconds"])
    report["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    report |= {"policy": name, "retries_forever": forever, "clients": clients}
    report["ns_per_attempt"] = 1e9 * report["seconds"] / report["attempts"]
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--before-clients", type=int, nargs="+", default=[50_000, 200_000])
    parser.add_argument("--rescan-clients", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--skip-before-large", action="store_true", help="do not run main's storm at --clients"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    before = [against(storm_before, n, args.repeats) for n in args.before_clients]
    rescan = against(storm_rescan, args.rescan_clients, args.repeats)
    cases = [("seed", True), ("seed", False), ("socketio", False), ("grpc", False)]
    big = [fresh_process(name, forever, args.clients, args.repeats) for name, forever in cases]
    before_large = None
    if not args.skip_before_large:  # once: it is the slow one
        before_large = fresh_process("before", True, args.clients, 1)
    report = {"outage_s": OUTAGE_S, "capacity_per_s": CAPACITY, "against_before": before,
              "against_rescan": rescan, "large": big, "before_large": before_large}  # fmt: skip
    report["ns_per_attempt_growth"] = big[0]["ns_per_attempt"] / rescan["storm_ns_per_attempt"]
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"reconnect storm, {OUTAGE_S:g} s outage, capacity scaled to 1,000/s per 1 M clients")
    print(f"(a) storm vs the storm before (main), seed retrying forever, best of {args.repeats}")
    for r in before:
        print(
            f"  {r['clients']:>9,} clients ({r['capacity_per_s']}/s, {r['attempts']:,} attempts): "
            f"storm {r['storm_s']:.3f} s, before {r['baseline_s']:.3f} s -> x{r['x_baseline']:.1f}"
        )
    r = rescan
    print(
        f"(b) storm vs its rescan reference at {r['clients']:,} clients: storm "
        f"{r['storm_s']:.3f} s, rescan {r['baseline_s']:.3f} s -> x{r['x_baseline']:.1f}; "
        f"identical results: {r['identical']}"
    )
    print(
        f"(c) {args.clients:,} clients at {CAPACITY:,}/s, one fresh process each "
        f"(goal < 5 s, < 1 GB), best of {args.repeats}"
    )
    for r in big:
        label = r["policy"] + (" retrying forever" if r["retries_forever"] else " as shipped")
        print(
            f"  {label:<26} {r['seconds']:6.2f} s  peak RSS {r['peak_rss_mb']:5.0f} MB "
            f"(import {r['import_rss_mb']:.0f})  {r['attempts']:>12,} attempts  back "
            f"{r['back']:>9,}  gave up {r['gave_up']:>9,}"
        )
    if before_large is not None:
        r, heavy = before_large, big[0]
        print(
            f"  the storm before (main), seed{'':<8} {r['seconds']:6.2f} s  peak RSS "
            f"{r['peak_rss_mb']:5.0f} MB -> storm x{r['seconds'] / heavy['seconds']:.1f} faster, "
            f"x{r['peak_rss_mb'] / heavy['peak_rss_mb']:.1f} less memory (before: one run)"
        )
    print(
        f"(d) ns per attempt: {rescan['storm_ns_per_attempt']:.0f} at "
        f"{rescan['clients']:,} clients, {big[0]['ns_per_attempt']:.0f} at {args.clients:,} "
        f"(x{report['ns_per_attempt_growth']:.2f}: linear in the attempts)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
