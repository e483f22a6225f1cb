"""Benchmark of policy sweeps and of calibration against the work they do, measured in one run.

    python benchmarks/bench_tune.py              # the figures quoted in README.md
    python benchmarks/bench_tune.py --dask       # also a dask LocalCluster (2 workers)
    python benchmarks/bench_tune.py --json

A sweep scores every policy with one ``simulate()``, one ``storm()`` and one ``lockstep()``.
The baseline is the sum of those parts: the base policy's (``seed``) with the same settings,
run as many times as the grid has policies. For the 24-policy grid below on
``global-users`` (20,000 sessions; storm of 10,000 clients, 30 s outage, 1,000 handshakes/s)
it prints the serial sweep against that baseline — the sweep machinery's overhead, though
the grid's policies do not all cost what the base does, so the parts of the grid's own
policies are timed too — and the speed-up over serial of a ``ProcessPoolExecutor(2)`` and,
with ``--dask``, of a dask ``LocalCluster`` (2 workers, 1 thread each), both started and
warmed first (their first sweep, start-up included, is reported apart). Then one
``calibrate()`` of 2,000 observed sessions (``base="3g"``, ``seed=1``) against one
``simulate()`` of its 20,000 ``sim_sessions`` under the fitted profile: "a fit costs about
K simulations". Timings are the best of ``--repeats`` rounds, each round running a
measurement and its baseline one after the other, so the machine's drift hits both alike.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from _timing import best_of  # benchmarks/_timing.py: the scripts run from this folder

from chatconn import policy_preset, simulate
from chatconn.calibrate import calibrate
from chatconn.core.profiles import load_target, profile_preset
from chatconn.lockstep import lockstep
from chatconn.storm import storm
from chatconn.tune import ParameterGrid, sweep

POLICY = "seed"
TARGET = "global-users"
GRID = {"initial_delay": [0.25, 0.5, 1, 2], "multiplier": [1.5, 2], "jitter": [0, 0.2, 0.5]}
CALIBRATE_BASE = "3g"


def timed(fn):
    began = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - began


def measure_sweep(args: argparse.Namespace) -> dict:
    policy, target = policy_preset(POLICY), load_target(TARGET)
    grid = ParameterGrid(json.loads(args.grid))
    policies = [p.policy for p in grid.points(policy) if p.ok]
    seed, clients, outage, capacity = 1, args.clients, args.outage_s, args.capacity

    def run(executor=None):
        return sweep(policy, grid, target, sessions=args.sessions, seed=seed, clients=clients,
                     outage_s=outage, capacity=capacity, executor=executor)  # fmt: skip

    def parts(policy, times: int = 1) -> None:
        for _ in range(times):  # what score_policy does, minus scoring
            simulate(policy, target, args.sessions, seed)
            storm(policy, clients, outage, capacity, seed)
            lockstep(policy, clients=max(clients, 2), seed=seed)

    def grid_parts() -> None:
        for p in policies:
            parts(p)

    serial_result = run()  # warm-up
    with ProcessPoolExecutor(args.workers) as pool:
        started, pool_first = timed(lambda: run(pool))  # starts the workers
        baseline, own_parts, serial, pooled = best_of(
            args.repeats,
            lambda: parts(policy, len(policies)),
            grid_parts,
            run,
            lambda: run(pool),
        )
    report = {
        "target": TARGET,
        "policies": len(policies),
        "grid": grid.to_dict(),
        "sessions": args.sessions,
        "clients": clients,
        "outage_s": outage,
        "capacity": capacity,
        "workers": args.workers,
        "baseline_s": baseline,
        "base_policy_s": baseline / len(policies),
        "grid_parts_s": own_parts,
        "serial_s": serial,
        "serial_over_baseline": serial / baseline,
        "serial_over_grid_parts": serial / own_parts,
        "pool_s": pooled,
        "pool_speedup": serial / pooled,
        "pool_first_sweep_s": pool_first,
        "pool_same_scores": started.scores == serial_result.scores,
    }

    if args.dask:
        from dask.distributed import Client, LocalCluster

        began = time.perf_counter()
        with (
            LocalCluster(
                n_workers=args.workers, threads_per_worker=1, dashboard_address=None, processes=True
            ) as cluster,
            Client(cluster) as client,
        ):
            executor = client.get_executor()
            report["dask_start_s"] = time.perf_counter() - began
            first, report["dask_first_sweep_s"] = timed(lambda: run(executor))
            serial_here, report["dask_s"] = best_of(args.repeats, run, lambda: run(executor))
        report["dask_speedup"] = serial_here / report["dask_s"]
        report["dask_same_scores"] = first.scores == serial_result.scores
    return report


def measure_calibrate(args: argparse.Namespace) -> dict:
    policy, base = policy_preset(POLICY), profile_preset(CALIBRATE_BASE)
    observed = simulate(policy, base, args.observed, seed=2)
    fit = calibrate(observed, base=CALIBRATE_BASE, seed=1, sim_sessions=args.sim_sessions)

    def one_sim():
        return simulate(policy, fit.profile, args.sim_sessions, seed=1)

    fit_s, *sims = best_of(  # each round: a fit, then ten simulations timed one by one
        args.repeats,
        lambda: calibrate(observed, base=CALIBRATE_BASE, seed=1, sim_sessions=args.sim_sessions),
        *[one_sim] * 10,
    )
    sim = min(sims)
    return {
        "observed_sessions": args.observed,
        "sim_sessions": args.sim_sessions,
        "base": CALIBRATE_BASE,
        "calibrate_s": fit_s,
        "simulate_s": sim,
        "calibrate_over_simulate": fit_s / sim,
        "evaluations": fit.evaluations,
        "bootstrap": fit.bootstrap,
        "calibrate_per_evaluation_over_simulate": fit_s / fit.evaluations / sim,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--grid", default=json.dumps(GRID), help="the grid, as JSON")
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--outage-s", type=float, default=30.0)
    parser.add_argument("--capacity", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dask", action="store_true", help="also a dask LocalCluster")
    parser.add_argument("--observed", type=int, default=2_000, help="sessions to calibrate to")
    parser.add_argument("--sim-sessions", type=int, default=20_000, help="calibrate's")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    report = {"sweep": measure_sweep(args), "calibrate": measure_calibrate(args)}
    if args.json:
        print(json.dumps(report))
        return 0
    s, c = report["sweep"], report["calibrate"]
    print(
        f"sweep of {s['policies']} policies on {TARGET!r}: {s['sessions']:,} sessions, storm of "
        f"{s['clients']:,} clients / {s['outage_s']:g} s / {s['capacity']:,} per s; best of "
        f"{args.repeats}; one run, one machine"
    )
    print(f"{'':>28} {'seconds':>8} {'ratio':>8}")
    print(
        f"{'baseline (sum of parts)':>28} {s['baseline_s']:>8.3f}          the base policy's "
        f"simulate + storm + lockstep ({s['base_policy_s'] * 1e3:.1f} ms) x {s['policies']}"
    )
    print(
        f"{'its policies, part by part':>28} {s['grid_parts_s']:>8.3f} "
        f"{s['grid_parts_s'] / s['baseline_s']:>7.2f}x baseline"
    )
    print(
        f"{'serial sweep':>28} {s['serial_s']:>8.3f} {s['serial_over_baseline']:>7.2f}x baseline"
        f" ({s['serial_over_grid_parts']:.2f}x its policies part by part)"
    )
    pool, dask = f"process pool ({s['workers']})", f"dask LocalCluster ({s['workers']})"
    print(
        f"{pool:>28} {s['pool_s']:>8.3f} "
        f"{s['pool_speedup']:>7.2f}x speed-up (first sweep with start-up "
        f"{s['pool_first_sweep_s']:.2f} s; same scores: {s['pool_same_scores']})"
    )
    if "dask_s" in s:
        print(
            f"{dask:>28} {s['dask_s']:>8.3f} "
            f"{s['dask_speedup']:>7.2f}x speed-up (cluster start {s['dask_start_s']:.2f} s, first "
            f"sweep {s['dask_first_sweep_s']:.2f} s; same scores: {s['dask_same_scores']})"
        )
    print(
        f"calibrate({c['observed_sessions']:,} sessions, base={c['base']!r}, sim_sessions="
        f"{c['sim_sessions']:,}): {c['calibrate_s']:.2f} s = {c['calibrate_over_simulate']:,.0f} "
        f"simulations of {c['sim_sessions']:,} ({c['simulate_s'] * 1e3:.1f} ms each); it ran "
        f"{c['evaluations']} evaluations ({c['bootstrap']} bootstrap refits): "
        f"{c['calibrate_per_evaluation_over_simulate']:.1f} simulations' worth each"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
