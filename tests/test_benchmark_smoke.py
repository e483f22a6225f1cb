"""The benchmark script still runs and reports every figure README quotes (no timing asserted)."""

from __future__ import annotations

import json
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
            "--json",
        ],
        check=True, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    report = json.loads(out.stdout)
    (run,) = report["runs"]
    assert run["sessions"] == 40_000
    # The floor draws exactly what the run drew: one lognormal per broadband session, and at
    # least the two uniforms (loss, stall/reset) of every first attempt.
    assert run["lognormals_per_session"] == 1.0
    assert run["uniforms_per_session"] >= 2.0
    for key in (
        "simulate_sessions_per_s",
        "floor_sessions_per_s",
        "share_of_floor",
        "x_python_loop",
    ):
        assert run[key] > 0
    assert report["python_loop_sessions_per_s"] > 0
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
    assert concurrent == concurrent | {"sessions": 20, "connected": 20, "failed": 0}
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
