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
