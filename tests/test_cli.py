"""The ``chatconn`` command line: JSON reports and one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import SUMMARY_KEYS

from chatconn.cli import main
from chatconn.core.policy import RetryPolicy
from chatconn.core.presets import policy_preset_names
from chatconn.core.profiles import population_names, profile_names
from chatconn.core.strategies import Strategy

ROOT = Path(__file__).resolve().parents[1]
STATS = {"min", "p5", "p50", "mean", "p95", "max"}


def _reject_constant(token: str) -> None:
    raise AssertionError(f"non-standard JSON token {token!r}")


def strict_loads(text: str):
    """Parse JSON, failing on NaN, Infinity or -Infinity (not JSON)."""
    return json.loads(text, parse_constant=_reject_constant)


def run_json(capsys, *argv: str):
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""
    assert len(out.strip().splitlines()) == 1  # one JSON document
    return strict_loads(out)


def run_error(capsys, *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].strip()
    return lines[0]


# --------------------------------------------------------------------------- schedule


def test_schedule_json_describes_every_attempt(capsys):
    report = run_json(capsys, "schedule", "--policy", "seed", "--samples", "2000", "--seed", "1")
    assert set(report["policy"]) == set(RetryPolicy.field_names())
    attempts = report["attempts"]
    assert len(attempts) == report["policy"]["max_attempts"] == 6
    for k, attempt in enumerate(attempts):
        assert {"index", "strategy", "timeout_s", "wait_before_s"} <= set(attempt)
        assert attempt["index"] == k
        assert set(attempt["wait_before_s"]) == STATS
    assert report["samples"] == 2000
    assert report["seed"] == 1


def test_schedule_attempt_zero_waits_nothing(capsys):
    report = run_json(capsys, "schedule", "--policy", "seed", "--samples", "2000", "--seed", "1")
    assert all(v == 0.0 for v in report["attempts"][0]["wait_before_s"].values())


def test_schedule_seed_timeouts_and_ladder_follow_the_documented_policy(capsys):
    report = run_json(capsys, "schedule", "--policy", "seed", "--samples", "2000", "--seed", "1")
    # Attempt k: min(15 * 1.4**k, 90) s, except the extended_timeout rung: 120 s.
    expected = [15.0, 21.0, 120.0, 15 * 1.4**3, 15 * 1.4**4, 15 * 1.4**5]
    assert [a["timeout_s"] for a in report["attempts"]] == pytest.approx(expected)
    assert [a["strategy"] for a in report["attempts"]] == [
        "direct_websocket",
        "direct_websocket",
        "extended_timeout",
        "multiple_ports",
        "long_polling",
        "sse_fallback",
    ]


def test_schedule_waits_are_ordered_and_within_the_jitter_band(capsys):
    report = run_json(capsys, "schedule", "--policy", "seed", "--samples", "2000", "--seed", "1")
    for k, attempt in enumerate(report["attempts"][1:], start=1):
        w = attempt["wait_before_s"]
        nominal = 1.4 ** (k - 1)  # 1 s growing x1.4, +/-40 % jitter
        assert w["min"] <= w["p5"] <= w["p50"] <= w["p95"] <= w["max"]
        assert w["min"] <= w["mean"] <= w["max"]
        assert w["min"] >= 0.6 * nominal - 1e-9
        assert w["max"] <= 1.4 * nominal + 1e-9
        assert w["p50"] == pytest.approx(nominal, rel=0.05)


def test_set_jitter_changes_the_policy(capsys):
    plain = run_json(capsys, "schedule", "--samples", "2000")
    report = run_json(capsys, "schedule", "--samples", "2000", "--set", "jitter=0.2")
    assert plain["policy"]["jitter"] == 0.4
    assert report["policy"]["jitter"] == 0.2
    wait = report["attempts"][1]["wait_before_s"]
    assert wait["min"] >= 0.8 - 1e-9
    assert wait["max"] <= 1.2 + 1e-9
    assert plain["attempts"][1]["wait_before_s"]["min"] < 0.8


def test_several_sets_apply_together(capsys):
    report = run_json(
        capsys,
        "schedule",
        "--samples",
        "500",
        "--set",
        "max_attempts=3",
        "--set",
        "ladder=long_polling",
        "--set",
        "deadline=none",
    )
    assert report["policy"]["max_attempts"] == 3
    assert report["policy"]["ladder"] == ["long_polling"]
    assert report["policy"]["deadline"] is None
    assert [a["strategy"] for a in report["attempts"]] == ["long_polling"] * 3


def test_schedule_of_grpc_spans_backoff_and_signalr_waits_its_table(capsys):
    signalr = run_json(capsys, "schedule", "--policy", "signalr", "--samples", "500")
    waits = [a["wait_before_s"] for a in signalr["attempts"]]
    # No jitter: every sample waits exactly the table's 0, 2, 10, 30 s.
    for w, table in zip(waits[1:], (0.0, 2.0, 10.0, 30.0), strict=True):
        assert w["min"] == w["max"] == table
    grpc = run_json(capsys, "schedule", "--policy", "grpc", "--samples", "500")
    assert all(a["timeout_s"] >= 20.0 for a in grpc["attempts"])


# --------------------------------------------------------------------------- simulate


def test_simulate_json_keys(capsys):
    report = run_json(
        capsys,
        "simulate",
        "--policy",
        "seed",
        "--profile",
        "3g",
        "--sessions",
        "5000",
        "--seed",
        "2",
    )
    for key in SUMMARY_KEYS:
        assert key in report
    assert report["sessions"] == 5000
    assert set(report["time_to_connect_s"]) == {"p50", "p90", "p95", "p99", "mean"}
    assert set(report["quality"]) == {"excellent", "good", "poor", "critical"}
    assert sum(report["quality"].values()) == 5000
    assert set(report["strategy_share"]) == {s.value for s in Strategy}
    assert 0.0 <= report["success_rate"] <= 1.0


def test_simulate_population_and_seed_reproducibility(capsys):
    argv = ("simulate", "--profile", "mobile-users", "--sessions", "3000", "--seed", "4")
    a = run_json(capsys, *argv)
    b = run_json(capsys, *argv)
    for key in ("success_rate", "time_to_connect_s", "attempts_mean", "quality", "strategy_share"):
        assert a[key] == b[key]


def test_simulate_json_without_connections_has_nulls_not_nan(capsys):
    report = run_json(capsys, "simulate", "--profile", "server-down", "--sessions", "2000")
    assert report["success_rate"] == 0.0
    assert all(v is None for v in report["time_to_connect_s"].values())


def test_simulate_set_changes_the_outcome(capsys):
    argv = ("simulate", "--profile", "corporate-firewall", "--sessions", "2000")
    plain = run_json(capsys, *argv)
    capped = run_json(capsys, *argv, "--set", "deadline=60")
    assert plain["attempts_mean"] > 4.9  # four WebSocket rungs hang before long polling
    assert capped["attempts_mean"] < 4


# --------------------------------------------------------------------------- storm, presets


def test_storm_json_keys(capsys):
    report = run_json(
        capsys,
        "storm",
        "--policy",
        "seed",
        "--set",
        "retries_forever=true",
        "--clients",
        "3000",
        "--outage-s",
        "10",
        "--capacity",
        "500",
        "--seed",
        "3",
    )
    for key in ("peak_per_s", "reconnected_99_s", "reconnected_all_s", "refused", "series"):
        assert key in report
    assert report["clients"] == 3000
    assert sum(row["accepted"] for row in report["series"]) == 3000
    assert sum(row["refused"] for row in report["series"]) == report["refused"]
    assert max(row["accepted"] for row in report["series"]) <= 500
    assert report["reconnected_99_s"] <= report["reconnected_all_s"]
    assert report["back"] == 3000 and report["gave_up"] == report["still_down"] == 0
    assert report["retries_forever"] is True


def test_storm_reports_clients_that_gave_up(capsys):
    report = run_json(capsys, "storm", "--policy", "signalr", "--clients", "1000",
                      "--capacity", "100")  # fmt: skip
    # Refused at 0, 0.05, 2.1, 12.15 s by the 30 s outage; 100 get in at 42.2 s and
    # DefaultReconnectPolicy stops the other 900.
    assert report["retries_forever"] is False
    assert report["back"] == 100 and report["gave_up"] == 900
    assert report["back_share"] == 0.1
    assert report["reconnected_99_s"] is None
    main(["storm", "--policy", "signalr", "--clients", "1000", "--capacity", "100"])
    text = capsys.readouterr().out
    assert "gave up and stayed down 900" in text


def test_presets_json_lists_every_policy_and_profile(capsys):
    report = run_json(capsys, "presets")
    assert set(report["policies"]) == set(policy_preset_names())
    for name in ("seed", "grpc", "websockets", "aws-standard", "aws-decorrelated"):
        assert name in report["policies"]
    assert {"socketio", "signalr"} <= set(report["policies"])
    assert set(report["profiles"]) == set(profile_names())
    for name in ("fiber", "corporate-firewall", "server-down", "blackhole", "flaky-wifi"):
        assert name in report["profiles"]
    assert set(report["populations"]) == set(population_names())
    for policy in report["policies"].values():
        assert set(RetryPolicy.field_names()) <= set(policy)
        assert policy["source"]


@pytest.mark.parametrize(
    "argv",
    [
        ("presets",),
        ("schedule", "--samples", "300"),
        ("simulate", "--profile", "4g", "--sessions", "2000"),
        ("storm", "--clients", "500", "--outage-s", "5", "--capacity", "100"),
    ],
)
def test_text_output_succeeds(capsys, argv):
    assert main(list(argv)) == 0
    out, err = capsys.readouterr()
    assert out.strip()
    assert err == ""
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


# --------------------------------------------------------------------------- errors


def test_unknown_policy(capsys):
    line = run_error(capsys, "simulate", "--policy", "nosuch", "--sessions", "10")
    assert "nosuch" in line
    assert "policy" in line
    assert "seed" in line  # the known names are listed


def test_unknown_profile(capsys):
    line = run_error(capsys, "simulate", "--profile", "nowhere", "--sessions", "10")
    assert "nowhere" in line
    assert "profile" in line
    assert "global-users" in line


def test_set_unknown_field(capsys):
    line = run_error(capsys, "schedule", "--set", "bogus=1")
    assert "bogus" in line
    assert "jitter" in line  # lists the known fields


def test_set_malformed(capsys):
    line = run_error(capsys, "schedule", "--set", "jitter")
    assert "jitter" in line
    assert "FIELD=VALUE" in line


def test_set_invalid_value(capsys):
    line = run_error(capsys, "schedule", "--set", "jitter=2")
    assert "jitter" in line
    assert "2" in line


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (("schedule", "--set", "jitter=abc"), "jitter"),
        (("schedule", "--set", "max_attempts=x"), "max_attempts"),
        (("schedule", "--set", "cap_after_jitter=maybe"), "cap_after_jitter"),
        (("schedule", "--set", "jitter_mode=wobbly"), "jitter_mode"),
        (("schedule", "--set", "ladder=carrier_pigeon"), "carrier_pigeon"),
        (("schedule", "--samples", "0"), "--samples"),
        (("schedule", "--seed", "-1"), "--seed"),
        (("storm", "--capacity", "0"), "--capacity"),
        (("storm", "--outage-s", "-3"), "--outage-s"),
        (("storm", "--clients", "many"), "--clients"),
    ],
)
def test_other_bad_values_give_one_line(capsys, argv, needle):
    assert needle in run_error(capsys, *argv)


def test_sessions_zero(capsys):
    line = run_error(capsys, "simulate", "--sessions", "0")
    assert "--sessions" in line
    assert "0" in line


def test_unknown_command(capsys):
    line = run_error(capsys, "frobnicate")
    assert "frobnicate" in line


def test_missing_command(capsys):
    line = run_error(capsys)
    assert "command" in line


# --------------------------------------------------------------------------- real process


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def test_module_runs_as_a_real_process():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatconn.cli",
            "schedule",
            "--policy",
            "grpc",
            "--samples",
            "500",
            "--json",
        ],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = strict_loads(done.stdout)
    assert len(report["attempts"]) == report["policy"]["max_attempts"] == 12
    assert done.stderr == ""


def test_real_process_error_exits_2_with_one_line():
    done = subprocess.run(
        [sys.executable, "-m", "chatconn.cli", "simulate", "--profile", "nowhere"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert "nowhere" in done.stderr


def test_storm_reports_the_lockstep_detector_beside_the_herd(capsys):
    assert main(["storm", "--policy", "signalr", "--clients", "2000", "--json"]) == 0
    herd = json.loads(capsys.readouterr().out)["lockstep"]
    assert herd["verdict"] == "lockstep" and herd["worst_share"] == 1.0
    assert herd["causes"] == ["fixed_table"]
    assert main(["storm", "--policy", "aws-decorrelated", "--clients", "2000"]) == 0
    assert "  lockstep: spread (" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["-1", "0", "inf"])
def test_a_time_scale_out_of_range_says_greater_than_zero(capsys, value):
    code = main(["run", "--lab", "--time-scale", value])
    _, err = capsys.readouterr()
    assert code == 2 and "--time-scale" in err
    assert "> 0" in err and ">= 0" not in err  # 0 itself is refused too


def test_options_are_never_abbreviated(capsys):
    # `--out` once silently meant `--outage-s` for tune (and would for storm).
    code = main(["storm", "--clients", "10", "--out", "5"])
    _, err = capsys.readouterr()
    assert code == 2 and "unrecognized arguments: --out" in err
    code = main(["tune", "--vary", "jitter=0.1,0.2", "--out", "x.json"])
    _, err = capsys.readouterr()
    assert code == 2 and "--outage-s" not in err


@pytest.mark.parametrize("command", ["simulate", "storm"])
def test_the_summary_names_a_policy_changed_by_set(capsys, command):
    size = ["--sessions", "2000"] if command == "simulate" else ["--clients", "50"]
    code = main([command, "--policy", "seed", "--set", "jitter=0.2", *size, "--json"])
    out, _ = capsys.readouterr()
    assert code == 0 and json.loads(out)["policy"] == "seed (modified)"
    code = main([command, "--policy", "seed", "--set", "jitter=0.4", *size, "--json"])
    out, _ = capsys.readouterr()
    assert code == 0 and json.loads(out)["policy"] == "seed"  # unchanged: still the preset
