"""``chatconn tune``: one JSON document, a readable table, one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chatconn.cli import main
from chatconn.core.policy import RetryPolicy
from chatconn.tune import METRICS, executor
from chatconn.tune.executor import MIN_POOLED_WORK, default_workers

QUICK = ["--sessions", "1500", "--clients", "200", "--capacity", "100", "--outage-s", "10"]
VARY = ["--vary", "initial_delay=0.5,2", "--vary", "jitter=0,0.5", "--vary", "max_delay=0.75,30"]


def _reject_constant(token: str) -> None:
    raise AssertionError(f"non-standard JSON token {token!r}")


def run_json(capsys, *argv: str):
    code = main(["tune", *argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert len(out.strip().splitlines()) == 1  # one JSON document
    return json.loads(out, parse_constant=_reject_constant)


def run_error(capsys, *argv: str) -> str:
    code = main(["tune", *argv])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_json_has_scores_front_and_recommendation(capsys):
    report = run_json(capsys, "--policy", "seed", "--set", "deadline=600", *VARY, *QUICK)
    assert report["policy"] == "seed (modified)" and report["profile"] == "global-users"
    assert report["base"]["deadline"] == 600.0
    assert report["grid"] == {
        "initial_delay": [0.5, 2.0],
        "jitter": [0.0, 0.5],
        "max_delay": [0.75, 30.0],
    }
    # 8 combinations; max_delay 0.75 clashes with initial_delay 2 twice.
    assert [p["index"] for p in report["policies"]] == [0, 1, 2, 3, 5, 7]
    assert [r["index"] for r in report["rejected"]] == [4, 6]
    assert all("max_delay" in r["reason"] for r in report["rejected"])
    for p in report["policies"]:
        assert set(p["scores"]) == set(METRICS) | {"lockstep"}
        assert set(p["changes"]) == {"initial_delay", "jitter", "max_delay"}
    front = {p["index"] for p in report["policies"] if p["pareto"]}
    assert front == set(report["pareto_front"]) and front
    rec = report["recommendation"]
    assert rec["objective"] == report["objective"] == "min p95_s; peak_over_capacity <= 2"
    assert rec["explanation"]
    if rec["chosen"] is not None:
        assert rec["chosen"]["scores"]["peak_over_capacity"] <= 2
        assert set(rec["chosen"]["policy"]) == set(RetryPolicy.field_names())
    assert report["settings"]["sessions"] == 1500
    # a small sweep (6 policies x 1,700 sessions and clients): scored in this process
    assert report["workers"] == 0


def test_default_executor_is_a_process_pool_for_large_sweeps(capsys, monkeypatch):
    monkeypatch.setattr(executor, "MIN_POOLED_WORK", 8 * 1700)  # this grid's work
    argv = ["--vary", "jitter=0,0.1,0.2,0.3,0.4,0.5,0.6,0.7", *QUICK]
    pooled = run_json(capsys, *argv)
    serial = run_json(capsys, *argv, "--workers", "1")
    cores = executor.available_cores()
    assert pooled["workers"] == (min(cores, 8) if cores > 1 else 0)
    assert serial["workers"] == 0
    for report in (serial, pooled):
        del report["workers"], report["elapsed_s"]
    assert pooled == serial


def test_default_workers_rule():
    work = MIN_POOLED_WORK // 10
    assert default_workers(9, work, cores=8) == 0  # not enough work to pay for the pool
    assert default_workers(10, work, cores=1) == 0  # one core
    assert default_workers(10, work, cores=2) == 2
    assert default_workers(100, work, cores=4) == 4
    assert default_workers(1, MIN_POOLED_WORK, cores=4) == 0  # one policy: nothing to split
    assert default_workers(20, work, cores=64) == 20


def test_workers_give_the_same_report(capsys):
    argv = ["--vary", "jitter=0,0.5", "--objective", "min p95_s; success_rate >= 99%", *QUICK]
    serial = run_json(capsys, *argv)
    pooled = run_json(capsys, *argv, "--workers", "2")
    assert pooled["workers"] == 2
    for report in (serial, pooled):
        del report["workers"], report["elapsed_s"]
    assert pooled == serial


def test_text_output_is_a_table_and_the_explanation(capsys):
    impossible = "min p95_s; peak_over_capacity <= 0; storm_back_share >= 100%"
    code = main(["tune", *VARY, *QUICK, "--objective", impossible])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("seed on global-users: 6 policies scored, 2 rejected;")
    assert "rejected #4 (initial_delay=2, jitter=0, max_delay=0.75)" in out
    assert "objective: min p95_s; peak_over_capacity <= 0; storm_back_share >= 1" in out
    # Everyone back means someone arrived after the outage: no storm does both.
    assert "No policy meets all your constraints" in out
    assert "back" in out.splitlines()[1]  # the table has the storm's back share
    assert sum(" front" in line for line in out.splitlines()) >= 1


def test_list_fields_take_alternatives_separated_by_a_bar(capsys):
    report = run_json(
        capsys, "--vary", "ladder=direct_websocket,long_polling|sse_fallback", "--profile", "4g"
    )
    assert report["grid"] == {"ladder": [["direct_websocket", "long_polling"], ["sse_fallback"]]}
    assert len(report["policies"]) == 2


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["--vary", "jiter=0,1"], "'jiter'"),
        (["--vary", "jitter"], "--vary='jitter'"),
        (["--vary", "jitter=0,,1"], "empty value"),
        (["--vary", "jitter=0,1.5"], "jitter=1.5"),
        (["--vary", "jitter=0,fast"], "jitter='fast'"),
        (["--vary", "jitter=0", "--vary", "jitter=1"], "given twice"),
        (["--vary", "jitter=0", "--objective", "min speed"], "unknown metric 'speed'"),
        (["--vary", "jitter=0", "--objective", "p95_s <= 3"], "no goal"),
        (["--vary", "jitter=0", "--profile", "moon"], "'moon'"),
        (["--vary", "jitter=0,0.5", "--vary", "initial_delay=1,2", "--max-policies", "3"], "limit"),
        (["--vary", "jitter=0", "--workers", "0"], "--workers"),
        (["--policy", "seed"], "--vary"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_it(capsys, argv, names):
    assert names in run_error(capsys, *argv)


def test_python_m_chatconn_cli_reports_a_bad_set_once():
    done = subprocess.run(
        [sys.executable, "-m", "chatconn.cli", "tune", "--set", "foo=1", "--vary", "jitter=0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("chatconn: error: --set 'foo=1': unknown policy field 'foo'")
