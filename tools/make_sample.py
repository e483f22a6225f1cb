"""Regenerate the curated sample of run records in data/runs (``make sample``).

    python tools/make_sample.py [--out data/runs] [--force]

Live runs of three policies against the in-process lab server under four profiles, each
with its simulated twin (same policy, profile and seed; more sessions). Live timings differ
from one regeneration to the next (they are measured); the simulated twins are identical.
Takes about three minutes on a 2-core machine and writes about 1 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from chatconn import load_target, policy_preset, simulate
from chatconn.live.run import run_live
from chatconn.runs import RunFileError, load_runs, save_run

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ("seed", "websockets", "socketio")
#: profile -> time scale of its live runs: 1 for fast profiles (no CPU distortion, see
#: README "Live, against the lab"), small for the slow ones whose timeouts dominate.
PROFILES = {"broadband": 1.0, "3g": 0.5, "flaky-wifi": 0.5, "corporate-firewall": 0.02}
LIVE_SESSIONS = 40
CONCURRENCY = 10
TWIN_SESSIONS = 1_000
SEED = 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "runs")
    parser.add_argument("--force", action="store_true", help="replace existing sample files")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    try:
        for profile, scale in PROFILES.items():
            for policy_name in POLICIES:
                policy = policy_preset(policy_name)
                stem = f"{policy_name}-{profile}"
                twin = simulate(policy, load_target(profile), TWIN_SESSIONS, seed=SEED)
                save_run(twin, args.out / f"simulated-{stem}.jsonl", force=args.force)
                live_path = args.out / f"live-{stem}.jsonl"
                if live_path.exists() and args.force:
                    live_path.unlink()
                t0 = time.perf_counter()
                live = asyncio.run(
                    run_live(
                        policy,
                        LIVE_SESSIONS,
                        concurrency=CONCURRENCY,
                        seed=SEED,
                        time_scale=scale,
                        lab_profile=load_target(profile),
                        out=live_path,
                        policy_name=policy_name,
                    )
                )
                s = live.summary()
                p50 = s["time_to_connect_s"]["p50"]
                print(
                    f"{stem:<32} live ×{scale:<4g} {s['success_rate']:>6.1%} connected, "
                    f"p50 {'-' if p50 is None else f'{p50:.2f} s':>9} "
                    f"({time.perf_counter() - t0:5.1f} s wall)",
                    flush=True,
                )
    except RunFileError as exc:
        print(f"make_sample: {exc}", file=sys.stderr)
        return 2
    runs = load_runs(args.out)
    size = sum(r.path.stat().st_size for r in runs)
    print(
        f"{len(runs)} runs in {args.out}, {size / 1e6:.2f} MB, {time.perf_counter() - began:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
