"""Stakeholder reports (chatconn.report): findings from rules, one self-contained HTML file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
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
        "harness_measured": True,
        "bound_s": 0.01,
        "verdict": None,
        "vs_model": None,
        "verdict_headline": None,
        "verdict_details": None,
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
    (note,) = [t for t in texts([row(strategy_share=share, p50_s=5.0)], "note") if "fallback" in t]
    assert "100% of connected users got through only by a fallback (long polling" in note
    assert "5.00 s at the median" in note
    assert not [t for t in texts([row()]) if "fallback" in t]


def test_minutes_behind_a_proxy_before_a_fallback_are_a_warning_listed_first():
    """Issue 16: everyone behind the firewall waiting 210 s is a warning, not a footnote."""
    share = {"direct_websocket": 0.0, "long_polling": 1.0}
    rows = [row(attempts_mean=2.5), row(strategy_share=share, p50_s=210.0)]
    found = findings(rows)
    assert found[0].level == "warning" and "waited 210.0 s at the median" in found[0].text
    assert "far past the 15 s where a connect counts as critical" in found[0].text
    assert [f.level for f in found] == sorted(
        (f.level for f in found), key=lambda x: x != "warning"
    )


DETAILS = "p50 1.5 s live vs 1 s, p90 2 s live vs 1.8 s; success 100% live vs 100% simulated"


def twin(verdict="agrees", headline="agrees within sampling error", **changes):
    """A live row compared with its twin: what compare_runs writes from compare()."""
    return row(
        twin_success_rate=1.0, twin_sessions=1000, twin_p50_s=1.0, verdict=verdict,
        vs_model=verdict, verdict_headline=headline, verdict_details=DETAILS,
    ) | changes  # fmt: skip


def test_agreeing_live_runs_are_listed_together_with_their_medians():
    agreeing = [twin(p50_s=1.02), twin(label="grpc · 3g · live", bound_s=0.0)]
    (good,) = [t for t in texts(agreeing, "good") if "agree" in t]
    assert good.startswith("These live runs agree with their simulations within sampling error")
    assert "seed · 3g · live (p50 1.02 s live vs 1.00 s, harness up to 10 ms)" in good
    assert "grpc · 3g · live (p50 1.20 s live vs 1.00 s)" in good  # no harness: no allowance
    assert not texts(agreeing, "warning")


def test_a_live_run_slower_than_sampling_and_its_harness_explain_quotes_the_verdict():
    headline = "live is slower by 0.5 s at p50 — more than sampling (40 sessions) and ..."
    (bad,) = texts([twin("slower", headline, p50_s=1.5)], "warning")
    assert bad.startswith(f"seed · 3g · live: {headline}. Side by side: {DETAILS}.")
    assert "Check its timeline" in bad


def test_a_run_recorded_before_the_harness_was_measured_says_so():
    old = twin("slower", "live is slower by 0.5 s at p50", harness_measured=False, bound_s=0.0)
    (bad,) = texts([old | {"time_scale": 0.02}], "warning")
    assert "recorded before chatconn measured its own harness" in bad
    assert "each millisecond of the harness's own cost reads as 50 ms" in bad
    assert "automatic time scale" in bad


def test_different_success_rates_and_inconclusive_runs_quote_their_headlines():
    headline = "success differs: success 50% live vs 100% simulated (two-proportion test at 1%)"
    (bad,) = texts([twin("success differs", headline, success_rate=0.5)], "warning")[1:]
    assert bad.startswith(f"seed · 3g · live: {headline}. The lab and the model disagree")
    unsure = "inconclusive: the harness can add up to 0.2 s (20% of the simulated median)"
    (note,) = [t for t in texts([twin("inconclusive", unsure)], "note") if "inconclusive" in t]
    assert note == f"seed · 3g · live: {unsure}. Side by side: {DETAILS}."
    assert not [t for t in texts([twin("no data", "no session connected")]) if "no session" in t]


def test_compare_runs_gives_a_live_run_the_verdict_of_compare_with_its_bound():
    from chatconn.agreement import compare
    from chatconn.runs import SAMPLE_DIR, load_runs, twin_of

    runs = load_runs(SAMPLE_DIR)
    rows = {r["label"]: r for r in compare_runs(runs)}
    for label in ("seed · 3g · live", "seed · corporate-firewall · live"):
        run = next(r for r in runs if r.label == label)
        expected = compare(run, twin_of(run, runs).result, bound_s=0.0)
        got = rows[label]
        # Recorded before chatconn measured its harness: no allowance for it.
        assert run.bound_s == 0.0 and got["bound_s"] == 0.0 and not got["harness_measured"]
        assert (got["verdict"], got["vs_model"]) == (expected.verdict, expected.label)
        assert got["verdict_headline"] == expected.headline
        assert got["verdict_details"] == expected.details
        assert got["ks_to_twin"] == pytest.approx(expected.ks)
    assert rows["seed · 3g · simulated"]["verdict"] is None


def test_agreement_label_says_the_verdict_in_a_few_words():
    from chatconn.agreement import compare

    rng = np.random.default_rng(1)
    twin_times = rng.lognormal(0.0, 0.3, 20_000)
    assert compare(rng.lognormal(0.0, 0.3, 200), twin_times).label == "agrees"
    slower = compare(rng.lognormal(0.0, 0.3, 200) + 1.0, twin_times)
    worst = slower.worst
    assert worst is not None and slower.verdict == "slower"
    assert slower.label == f"slower by {abs(worst.difference_s):.3g} s at {worst.name}"
    assert slower.to_dict()["label"] == slower.label
    assert compare(rng.lognormal(0.0, 0.3, 200) - 0.5, twin_times).label.startswith("faster by")


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
    run = load_run(out)
    document, found = build_report([run])
    for title in ("seed · fiber · live vs its simulation", "Connection quality · seed · fiber",
                  "Attempts of the first 30 sessions · seed · fiber"):  # fmt: skip
        assert json.dumps(title)[1:-1] in document, title  # as plotly's JSON writes it
    assert document.count('class="plotly-graph-div"') == 4
    # The harness was measured: the verdict allows its bound, in the table, the overlay's
    # subtitle and the findings alike.
    assert run.harness is not None and run.bound_s > 0
    (r,) = compare_runs([run])
    assert r["bound_s"] == run.bound_s and r["harness_measured"]
    assert f'">{r["vs_model"]}</td>' in document
    medians = r["verdict_details"].split(";")[0]  # "p50 ... live vs ..., p90 ... vs ..."
    assert json.dumps(medians)[1:-1] in document  # in the overlay's subtitle
    assert json.dumps("what the harness can add")[1:-1] in document  # the band's name
    said = " ".join(f.text for f in found)  # agreeing runs are listed, the others quoted
    assert (run.label if r["verdict"] == "agrees" else r["verdict_headline"]) in said


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
