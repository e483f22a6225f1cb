"""The benchmark script still runs and reports every figure README quotes (no timing asserted)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_reports_ratios_against_floor_and_python_loop():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_simulate.py"),
            "--sessions", "40000",
            "--loop-sessions", "300",
            "--rss-sessions", "50000",
            "--repeats", "1",
            "--plain-sessions", "2000",
            "--tenacity-sessions", "300",
            "--json",
        ],
        check=True, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    report = json.loads(out.stdout)
    (run,) = report["runs"]
    assert run["sessions"] == 40_000
    # One lognormal per broadband session; rare events drawn sparsely: fewer uniforms than
    # the floor's 1.3 per session (dense checks would take at least two per first attempt).
    assert run["lognormals_per_session"] == 1.0
    assert 0 < run["uniforms_per_session"] < 1.3
    for key in (
        "simulate_sessions_per_s",
        "floor_sessions_per_s",
        "share_of_floor",
        "sfc64_floor_sessions_per_s",
        "share_of_sfc64_floor",
        "x_python_loop",
    ):
        assert run[key] > 0
    fixed = report["fixed_cost"]
    assert fixed["target"] == "global-users" and fixed["ms_at_100k"] > 0
    assert report["python_loop_sessions_per_s"] > 0
    # The hand-written loop and tenacity run the same model (checked against simulate).
    for baseline in ("plain_loop", "tenacity"):
        assert report[baseline]["sessions_per_s"] > 0 and report[baseline]["same_model"]
    assert run["x_plain_loop"] > 0 and run["x_tenacity"] > run["x_plain_loop"]
    assert report["memory"]["peak_rss_mb"] >= report["memory"]["import_rss_mb"] > 0


def test_live_benchmark_reports_overhead_concurrency_and_rtt_accuracy():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_live.py"),
            "--samples", "10",
            "--sessions", "20",
            "--rtt-samples", "5",
            "--json",
        ],
        check=True, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    report = json.loads(out.stdout)
    overhead, concurrent, rtt = report["overhead"], report["concurrent"], report["rtt"]
    assert overhead["bare_p50_ms"] > 0 and overhead["manager_p50_ms"] > 0
    assert {"overhead_p50", "unpaired_overhead_p50"} <= set(overhead)
    assert concurrent == concurrent | {"sessions": 20, "connected": 20, "failed": 0}
    # Managed and bare bursts against the same lab process, alternated; the ratio of walls.
    assert concurrent["lab"] == "own process" and concurrent["bare_failed"] == 0
    assert len(concurrent["bare"]) == len(concurrent["managed"]) >= 2
    assert concurrent["wall_ratio"] == concurrent["wall_s"] / concurrent["bare_wall_s"]
    # The injected 200 ms shows up: well above the un-injected baseline (no tight bound).
    assert rtt["probe_p50_ms"] > 150 + rtt["baseline_probe_p50_ms"]
    assert rtt["ws_connect_p50_ms"] > 600 + rtt["baseline_ws_connect_p50_ms"]


def test_widget_benchmark_reports_update_latency_per_change():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_widgets.py"), "--sessions", "5000",
         "--json"],
        check=True, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    report = json.loads(out.stdout)
    assert report["changes"] == 20
    assert 0 < report["median_ms"] <= report["p90_ms"] <= report["max_ms"]
    assert set(report["parts_median_ms"]) == {"simulate", "infos", "figures"}


def finite_positive(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_run_records_benchmark_reports_ratios_to_its_floors():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_runs.py"), "--sessions", "20000",
         "--repeats", "1", "--json"],
        check=True, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    report = json.loads(out.stdout)
    assert report["sessions"] == 20_000 and report["loaded_equals_saved"] is True
    for key in (
        "bytes_per_session",
        "save_over_floor",
        "load_over_floor",
        "save_over_simulate",
        "load_over_simulate",
        "replay_over_simulate",
        "load_peak_growth_mb",
    ):
        assert finite_positive(report[key]), (key, report[key])


def test_tune_benchmark_reports_sweep_overhead_speedups_and_fit_cost():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    dask = ["--dask"] if importlib.util.find_spec("distributed") else []
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_tune.py"),
         "--grid", '{"initial_delay": [0.5, 1], "jitter": [0, 0.5]}', "--sessions", "5000",
         "--clients", "2000", "--observed", "500", "--sim-sessions", "1000", "--repeats", "1",
         "--json", *dask],
        check=True, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    sweep, fit = (report := json.loads(out.stdout))["sweep"], report["calibrate"]
    assert sweep["policies"] == 4 and sweep["pool_same_scores"] is True
    keys = ["serial_over_baseline", "serial_over_grid_parts", "pool_speedup"]
    if dask:
        keys.append("dask_speedup")
        assert sweep["dask_same_scores"] is True
    for key in keys:
        assert finite_positive(sweep[key]), (key, sweep[key])
    assert finite_positive(fit["calibrate_over_simulate"]) and fit["evaluations"] > 0


def test_agreement_benchmark_reports_ratios_bound_and_verdict():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_agreement.py"),
            "--profiles", "broadband", "--sessions", "10", "--json",
        ],
        check=True, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    (row,) = json.loads(out.stdout)["rows"]
    assert row["profile"] == "broadband" and row["sessions"] == 10
    assert row["time_scale"] > 0 and row["bound_s"] > 0 and row["wall_s"] > 0
    assert row["p50_ratio"] > 0 and row["live_success"] > 0
    assert row["verdict"] in ("agrees", "slower", "faster", "success differs", "inconclusive")


def test_storm_benchmark_reports_ratios_identity_and_memory():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_storm.py"),
            "--before-clients", "5000",
            "--rescan-clients", "5000",
            "--clients", "20000",
            "--repeats", "1",
            "--json",
        ],
        check=True, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    report = json.loads(out.stdout)
    (before,) = report["against_before"]
    assert before["clients"] == 5_000 and before["capacity_per_s"] == 5
    assert before["storm_s"] > 0 and before["baseline_s"] > 0 and before["x_baseline"] > 0
    assert report["against_rescan"]["identical"] is True
    large = {(r["policy"], r["retries_forever"]): r for r in report["large"]}
    heavy = large[("seed", True)]
    assert heavy["back"] == 20_000 and heavy["gave_up"] == 0
    assert large[("seed", False)]["gave_up"] == 20_000  # 6 attempts inside a 30 s outage
    assert heavy["peak_rss_mb"] >= heavy["import_rss_mb"] > 0
    before = report["before_large"]  # main's storm on the same herd, in its own process
    assert before["back"] == 20_000 and before["seconds"] > 0


def test_scale_benchmark_reports_split_rate_speedup_and_memory():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_scale.py"), "--sessions", "600000",
         "--small", "200000", "--workers", "2", "--json"],
        check=True, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    report = json.loads(out.stdout)
    assert report["sessions"] == 600_000 and report["workers"] == 2 and report["parts"] >= 3
    for key in ("sessions_per_s", "serial_split_sessions_per_s", "speedup_over_serial",
                "simulate_sessions_per_s", "workers_peak_rss_mb"):  # fmt: skip
        assert report[key] > 0, key
    assert report["caller_peak_rss_mb_after_big"] >= report["caller_peak_rss_mb_after_small"] > 0
    assert 0 < report["success_rate"] <= 1
