"""Stakeholder reports (chatconn.report): findings from rules, one self-contained HTML file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs

from chatconn import load_target, policy_preset, simulate
from chatconn.cli import main
from chatconn.report import build_report, findings, write_report
from chatconn.runs import RunFileError, compare_runs, load_run, save_run

PLOTLY_BANNER = get_plotlyjs()[:60]  # the start of plotly.js: the library, once


def row(**changes):
    """A compare_runs row with sensible values; tests change what their rule reads."""
    base = {
        "label": "seed · 3g · live",
        "file": "x.jsonl",
        "kind": "live",
        "policy": "seed",
        "profile": "3g",
        "seed": 1,
        "time_scale": 0.2,
        "sessions": 40,
        "complete": True,
        "success_rate": 1.0,
        "p50_s": 1.2,
        "p95_s": 3.1,
        "attempts_mean": 1.1,
        "failed_attempts_mean": None,
        "quality": {"excellent": 0.6, "good": 0.4, "poor": 0.0, "critical": 0.0},
        "strategy_share": {"direct_websocket": 1.0, "long_polling": 0.0},
        "twin": None,
        "twin_success_rate": None,
        "twin_sessions": None,
        "twin_p50_s": None,
        "ks_to_twin": None,
        "ks_critical": None,
    }
    return base | changes


def texts(rows, level=None):
    return [f.text for f in findings(rows) if level is None or f.level == level]


# -- findings (pure) ------------------------------------------------------------------------------
def test_the_fastest_reliable_policy_per_profile_is_named_with_the_others_times():
    rows = [
        row(policy="grpc", label="grpc · 3g · live", p95_s=9.5),
        row(policy="seed", p95_s=3.1),
        row(policy="fast", label="fast · 3g · live", p95_s=1.0, success_rate=0.8),
    ]
    (best,) = [t for t in texts(rows) if t.startswith("On 3g")]
    assert best.startswith(
        "On 3g (live, 40 sessions each), seed connects 100% of users, 95 % of them within "
        "3.10 s (good)"
    )
    assert "grpc needs 9.50 s" in best and "fast needs 1.00 s and connects 80.0%" in best


def test_live_runs_are_preferred_over_simulations_for_the_verdict():
    rows = [row(kind="simulated", policy="sim", p95_s=0.5), row(p95_s=3.1)]
    assert any(t.startswith("On 3g (live, 40 sessions), seed") for t in texts(rows))


def test_low_success_and_total_failure_are_warnings():
    (partial,) = texts(
        [row(success_rate=0.9, attempts_mean=1.2, failed_attempts_mean=3.0)], "warning"
    )
    # Those who gave up made 3.0 attempts; 1.2 is the mean over everyone.
    assert "only 90.0% of users connected" in partial
    assert "gave up after 3.0 attempts on average" in partial and "1.2" not in partial
    none = row(success_rate=0.0, p50_s=None, p95_s=None, strategy_share={"direct_websocket": 0})
    (failed,) = texts([none], "warning")
    assert "no user connected" in failed


def test_a_fallback_share_is_explained_with_its_cost():
    share = {"direct_websocket": 0.0, "long_polling": 1.0}
    (note,) = [t for t in texts([row(strategy_share=share, p50_s=205.0)]) if "fallback" in t]
    assert "100% of connected users got through only by a fallback (long polling" in note
    assert "205.0 s at the median" in note
    assert not [t for t in texts([row()]) if "fallback" in t]


def twin(**changes):
    return row(twin_success_rate=1.0, twin_sessions=1000, twin_p50_s=1.0, ks_critical=0.3) | changes


def test_agreement_with_the_model_follows_the_ks_test():
    agreeing = [twin(ks_to_twin=0.1), twin(label="grpc · 3g · live", ks_to_twin=0.2)]
    (good,) = [t for t in texts(agreeing, "good") if "KS" in t]
    assert good.startswith("These live runs agree with their simulations")
    assert "seed · 3g · live (0.10 < 0.30), grpc · 3g · live (0.20 < 0.30)" in good
    (bad,) = texts([twin(ks_to_twin=0.5, p50_s=1.5)], "warning")
    assert "differs from its simulation (medians 1.50 s live vs 1.00 s simulated; KS " in bad


def test_a_small_systematic_offset_is_a_note_that_names_the_time_scale():
    (note,) = [t for t in texts([twin(ks_to_twin=0.9, p50_s=1.03, time_scale=0.02)]) if "KS" in t]
    assert "is consistently 3.0% slower than its simulation" in note
    assert "at time scale ×0.02 each millisecond of real overhead counts 50×" in note


def test_different_success_rates_live_and_simulated_are_a_warning():
    (bad,) = texts([twin(success_rate=0.5, twin_success_rate=1.0)], "warning")[1:]
    assert "50.0% connected live but 100% in its simulation" in bad


def test_simulated_twins_do_not_repeat_their_live_runs_findings():
    low = {"success_rate": 0.5, "attempts_mean": 4.0, "failed_attempts_mean": 6.0}
    rows = [
        row(twin="sim.jsonl", **low),
        row(kind="simulated", label="seed · 3g · simulated", file="sim.jsonl", **low),
    ]
    assert [t for t in texts(rows, "warning") if "only" in t] == [
        t for t in texts(rows[:1], "warning") if "only" in t
    ]


def test_an_interrupted_run_and_many_attempts_are_called_out():
    found = texts([row(complete=False, attempts_mean=3.5)])
    assert any("was interrupted" in t for t in found)
    assert any("3.5 attempts per user" in t for t in found)


# -- the HTML -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two profiles, two policies, simulated (small): enough for every kind of figure."""
    folder = tmp_path_factory.mktemp("runs")
    for policy in ("seed", "websockets"):
        for profile in ("3g", "corporate-firewall"):
            result = simulate(policy_preset(policy), load_target(profile), 500, seed=1)
            save_run(result, folder / f"{policy}-{profile}.jsonl")
    return folder


def test_the_report_embeds_plotly_once_and_fetches_nothing(runs, tmp_path):
    path, _ = write_report([runs], tmp_path / "report.html")
    html = path.read_text()
    assert html.count(PLOTLY_BANNER) == 1
    assert not re.search(r"""<(?:script|link|img)[^>]+(?:src|href)=["']?https?:""", html)
    assert html.count('class="plotly-graph-div"') == 2  # one comparison per profile
    assert "<table>" in html and html.count("<tr>") == 1 + 4  # header + one row per run


def test_the_summary_table_shows_what_compare_runs_computed(runs, tmp_path):
    loaded = [load_run(p) for p in sorted(runs.glob("*.jsonl"))]
    document, found = build_report(loaded)
    for r in compare_runs(loaded):
        assert f"<td>{r['sessions']:,}</td><td>{r['success_rate']:.1%}</td>" in document
    assert "websockets · corporate-firewall · simulated: no user connected" in " ".join(
        f.text for f in found
    )


def test_text_from_run_files_is_escaped(tmp_path):
    result = simulate(policy_preset("seed"), load_target("3g"), 50)
    save_run(result, tmp_path / "evil.jsonl", policy_name="<script>alert(1)</script>")
    document, _ = build_report([load_run(tmp_path / "evil.jsonl")])
    assert "<script>alert(1)" not in document
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document


def test_live_runs_get_overlay_quality_and_timeline(tmp_path):
    from helpers import run as run_coro

    from chatconn import profile_preset
    from chatconn.live.run import run_live

    out = tmp_path / "live.jsonl"
    run_coro(
        run_live(
            policy_preset("seed"), 6, concurrency=6, time_scale=0.2,
            lab_profile=profile_preset("fiber"), out=out, policy_name="seed",
        )
    )  # fmt: skip
    document, _ = build_report([load_run(out)])
    for title in ("seed · fiber · live vs its simulation", "Connection quality · seed · fiber",
                  "Attempts of the first 30 sessions · seed · fiber"):  # fmt: skip
        assert json.dumps(title)[1:-1] in document, title  # as plotly's JSON writes it
    assert document.count('class="plotly-graph-div"') == 4


def test_nothing_is_overwritten_and_bad_inputs_are_named(runs, tmp_path, capsys):
    existing = tmp_path / "report.html"
    existing.write_text("keep")
    with pytest.raises(RunFileError, match="exists; pass --force"):
        write_report([runs], existing)
    assert existing.read_text() == "keep"
    write_report([runs], existing, force=True)
    assert existing.read_text().startswith("<!DOCTYPE html>")

    assert main(["report", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert "missing.jsonl: no such run file" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()

    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["report", str(runs), "--out", str(blocker / "r.html")]) == 2
    assert "r.html: cannot write it" in capsys.readouterr().err


def test_the_report_command_prints_findings_and_the_path(runs, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", str(runs), "--out", str(out), "--title", "Q4 review"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"wrote {out} (") and "[warning]" in text
    assert "<title>Q4 review</title>" in out.read_text()


def test_a_torn_run_is_reported_with_a_warning_not_dropped(runs, tmp_path, capsys):
    torn = tmp_path / "torn.jsonl"
    lines = (runs / "seed-3g.jsonl").read_text().splitlines()
    torn.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:10])
    assert main(["report", str(torn), "--out", str(tmp_path / "r.html")]) == 0
    err = capsys.readouterr().err
    assert "chatconn: warning:" in err and "torn last line" in err
    assert "interrupted" in (tmp_path / "r.html").read_text()


def test_make_report_builds_the_sample_report():
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    assert re.search(
        r"^report: .*\n\t.*chatconn report data/runs --out \S+ --force", makefile, re.M
    )


def test_among_reliable_policies_the_fastest_wins_whatever_its_last_decimal_of_success():
    rows = [
        row(policy="slow", label="slow · 3g · live", p95_s=9.5, success_rate=1.0),
        row(policy="fast", label="fast · 3g · live", p95_s=3.1, success_rate=0.995),
    ]
    (best,) = [t for t in texts(rows) if t.startswith("On 3g")]
    assert "fast connects 99.5% of users, 95 % of them within 3.10 s" in best


def test_a_success_gap_the_sample_size_explains_is_not_a_disagreement():
    from chatconn.runs.analysis import proportions_differ

    assert not proportions_differ(38 / 40, 40, 0.99, 1000)  # 2 of 40 failing: chance
    assert proportions_differ(30 / 40, 40, 0.99, 1000)
    assert not proportions_differ(1.0, 40, 1.0, 1000) and not proportions_differ(0, 5, 0, 9)
    assert not [t for t in texts([twin(success_rate=0.95, twin_success_rate=0.99)]) if "but" in t]


def test_compare_runs_averages_the_attempts_of_those_who_gave_up(tmp_path):
    policy = policy_preset("seed").with_changes(max_attempts=3, ladder=("direct_websocket",))
    result = simulate(policy, load_target("flaky-wifi"), 400, seed=2)
    assert 0 < result.connected.sum() < result.sessions  # some gave up, some connected
    (r,) = compare_runs([load_run(save_run(result, tmp_path / "flaky.jsonl"))])
    gave_up = result.attempts[~result.connected]
    assert r["failed_attempts_mean"] == pytest.approx(gave_up.mean())
    assert r["failed_attempts_mean"] > r["attempts_mean"]
