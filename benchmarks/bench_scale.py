"""One simulation of 10^9 sessions split over a process pool, in constant memory.

    python benchmarks/bench_scale.py                    # 10^9 sessions, one worker per core
    python benchmarks/bench_scale.py --sessions 2e8 --json

Runs :func:`chatconn.split.simulate_split` of the ``seed`` policy on ``global-users`` over a
``ProcessPoolExecutor`` (one process per core), after the same split of 10^7 sessions, and
prints: wall time and sessions per second; the speed-up over the same code serially in
this process (10^7 sessions, measured in the same run); the caller's peak RSS after 10^7
and after 10^9 sessions (constant memory: the same), and the workers' peak RSS. Then a
plain ``simulate()`` of 10^7 sessions, for its rate and memory (it keeps every session's
arrays: 10^9 would need ~14 GB).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from chatconn.core.presets import policy_preset
from chatconn.core.profiles import load_target
from chatconn.simulate import simulate
from chatconn.split import simulate_split
from chatconn.tune.executor import available_cores


def _rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0  # kB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--sessions", type=float, default=1e9)
    parser.add_argument("--small", type=float, default=1e7, help="the baseline's sessions")
    parser.add_argument("--workers", type=int, default=max(2, available_cores()))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sessions, small = int(args.sessions), int(args.small)
    policy, target = policy_preset("seed"), load_target("global-users")

    simulate_split(policy, target, 100_000, seed=1)  # warm up imports and caches
    with ProcessPoolExecutor(args.workers) as pool:
        simulate_split(policy, target, small, seed=1, executor=pool)
        rss_small = _rss_mb()
        began = time.perf_counter()
        big = simulate_split(policy, target, sessions, seed=1, executor=pool)
        wall = time.perf_counter() - began
        rss_big = _rss_mb()
    workers_rss = _rss_mb(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    simulate_split(policy, target, small, seed=1)
    serial_rate = small / (time.perf_counter() - began)
    rate = sessions / wall
    summary = big.summary()
    began = time.perf_counter()
    simulate(policy, target, small, seed=1).summary()
    simulate_rate = small / (time.perf_counter() - began)
    report = {
        "sessions": sessions,
        "workers": args.workers,
        "parts": big.parts,
        "wall_s": wall,
        "sessions_per_s": rate,
        "serial_split_sessions_per_s": serial_rate,
        "speedup_over_serial": rate / serial_rate,
        "simulate_sessions_per_s": simulate_rate,
        "caller_peak_rss_mb_after_small": rss_small,
        "caller_peak_rss_mb_after_big": rss_big,
        "workers_peak_rss_mb": workers_rss,
        "success_rate": summary["success_rate"],
        "p50_s": summary["time_to_connect_s"]["p50"],
        "p99_s": summary["time_to_connect_s"]["p99"],
    }
    if args.json:
        print(json.dumps(report))
        return 0
    r = report
    print(
        f"simulate_split: {sessions:,} sessions (seed on global-users) in {r['parts']:,} parts "
        f"over {r['workers']} processes: {wall:.1f} s, {rate / 1e6:.1f} M sessions/s, "
        f"x{r['speedup_over_serial']:.2f} the same split serially ({serial_rate / 1e6:.1f} M/s, "
        f"{small:,} sessions); simulate() {simulate_rate / 1e6:.1f} M/s"
    )
    print(
        f"memory: caller peak RSS {rss_small:.0f} MB after {small:,} sessions, {rss_big:.0f} MB "
        f"after {sessions:,} (constant); workers' peak {workers_rss:.0f} MB each at most"
    )
    print(
        f"result: success {r['success_rate']:.4%}, p50 {r['p50_s']:.3f} s, "
        f"p99 {r['p99_s']:.1f} s (percentiles within 0.3 %)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
