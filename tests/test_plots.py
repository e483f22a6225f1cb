"""Charts: the infos (chatconn.plotdata) against first principles; the figures by structure.

No pixels: a figure is checked for its traces, title and axis titles, and for not raising on
empty inputs. Simulations are small (10,000 sessions) so the module runs in a few seconds.
"""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import pytest
from helpers import heading

import chatconn.plotdata
from chatconn.agreement import compare
from chatconn.core.policy import RetryPolicy
from chatconn.core.presets import policy_preset
from chatconn.core.profiles import load_target, profile_preset
from chatconn.core.quality import Quality, QualityThresholds, classify, quality_counts
from chatconn.core.schedule import Schedule, draw_waits, nominal_timeouts, spans_backoff
from chatconn.core.strategies import ErrorCategory, Strategy
from chatconn.plotdata import (
    ECDF_MAX_POINTS,
    QUALITY_COLOURS,
    BackoffInfo,
    backoff_info,
    comparison_info,
    connect_times,
    ecdf,
    ks_distance,
    overlay_info,
    quality_info,
    storm_info,
    timeline_info,
    ttc_info,
)
from chatconn.plots import (
    NO_ATTEMPT,
    NO_COMPARISON,
    NO_CONNECTED,
    NO_POLICY,
    NO_SESSION,
    TEMPLATE,
    comparison_figure,
    figure_from_info,
    plot_backoff,
    plot_compare,
    plot_live_vs_simulated,
    plot_quality,
    plot_storm,
    plot_time_to_connect,
    plot_timeline,
    refresh,
    update_figure,
)
from chatconn.records import AttemptRecord
from chatconn.simulate import simulate
from chatconn.storm import storm

SESSIONS = 10_000


@pytest.fixture(scope="module")
def seed_result():
    return simulate(policy_preset("seed"), load_target("global-users"), SESSIONS, seed=1)


@pytest.fixture(scope="module")
def grpc_result():
    """About 2 % of sessions fail (WebSocket-only behind blocking proxies)."""
    return simulate(policy_preset("grpc"), load_target("global-users"), SESSIONS, seed=2)


@pytest.fixture(scope="module")
def dead_result():
    """Nothing connects."""
    return simulate(policy_preset("aws-standard"), profile_preset("server-down"), 500, seed=3)


@pytest.fixture(scope="module")
def herd():
    return storm(policy_preset("seed").with_changes(retries_forever=True), 2_000, 10.0, 200, seed=1)


def record(session, attempt, strategy, started, duration, ok, *, scale=1.0, error=None):
    category = ErrorCategory.NONE if ok else (error or ErrorCategory.TIMEOUT)
    return AttemptRecord(
        session=session,
        attempt=attempt,
        strategy=strategy,
        url="ws://127.0.0.1:1/ws",
        timeout_s=15.0 * scale,
        wait_before_s=0.0,
        started_s=started,
        duration_s=duration,
        connected=ok,
        error_category=category,
        error="" if ok else category.name.lower(),
        time_scale=scale,
    )


WS, LP, EXT = Strategy.DIRECT_WEBSOCKET, Strategy.LONG_POLLING, Strategy.EXTENDED_TIMEOUT
RECORDS = (  # interleaved as concurrent sessions finish; wall times at scale 0.1
    record("s2", 0, WS, 0.0, 1.5, False, scale=0.1),
    record("s0", 0, WS, 0.0, 0.02, True, scale=0.1),
    record("s2", 1, EXT, 1.6, 0.3, False, scale=0.1, error=ErrorCategory.RESET),
    record("s1", 0, WS, 0.0, 1.5, False, scale=0.1),
    record("s2", 2, LP, 2.0, 0.05, True, scale=0.1),
    record("s1", 1, WS, 1.6, 0.04, True, scale=0.1),
)


# --------------------------------------------------------------------------- primitives
def test_ecdf_is_the_share_of_values_at_or_below_each_point():
    data = np.array([3.0, 1.0, np.nan, 2.0, 2.0, 5.0])
    x, y = ecdf(data)
    finite = data[~np.isnan(data)]
    assert x.tolist() == [1.0, 2.0, 3.0, 5.0]  # distinct, sorted, NaN dropped
    assert y.tolist() == [float(np.mean(finite <= v)) for v in x]
    assert np.all(np.diff(y) > 0) and y[-1] == 1.0


def test_ecdf_of_nothing_is_empty():
    for values in ([], [np.nan, np.nan]):
        x, y = ecdf(values)
        assert x.size == 0 and y.size == 0


def test_ks_distance_from_first_principles():
    rng = np.random.default_rng(0)
    a = rng.exponential(size=500)
    assert ks_distance(a, a.copy()) == 0.0
    assert ks_distance(a, a + 100.0) == 1.0  # disjoint
    assert ks_distance([1, 2, 3], [2, 3, 4]) == pytest.approx(1 / 3)
    b = rng.exponential(size=300) * 1.3
    assert ks_distance(a, b) == ks_distance(b, a)
    grid = np.concatenate((a, b))
    brute = max(abs(np.mean(a <= t) - np.mean(b <= t)) for t in grid)
    assert ks_distance(a, b) == pytest.approx(brute)
    assert ks_distance([1.0, np.nan, 2.0], [1.0, 2.0]) == 0.0  # NaN dropped
    assert math.isnan(ks_distance([], [1.0]))


def test_connect_times_accepts_results_live_runs_and_arrays(grpc_result):
    times = grpc_result.time_to_connect
    np.testing.assert_array_equal(connect_times(grpc_result), times)
    np.testing.assert_array_equal(connect_times(SimpleNamespace(result=grpc_result)), times)
    np.testing.assert_array_equal(connect_times([1.0, np.nan]), [1.0, np.nan])


@pytest.mark.parametrize(
    "path",
    sorted(Path(chatconn.plotdata.__file__).parent.glob("*.py")),
    ids=lambda p: p.name,
)
def test_plotdata_imports_no_plotly(path):
    tree = ast.parse(path.read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 0
    }
    assert imported <= {"__future__", "math", "collections", "dataclasses", "typing", "numpy"}


# --------------------------------------------------------------------------- backoff
BACKOFF_POLICIES = ["seed", "grpc", "websockets", "socketio", "aws-decorrelated", "signalr"]


@pytest.mark.parametrize("name", BACKOFF_POLICIES)
def test_backoff_waits_are_draw_waits_for_the_same_seed(name):
    policy = policy_preset(name)
    info = backoff_info(policy, samples=2_000, seed=5)
    expected = draw_waits(policy, np.random.default_rng(5), 2_000)
    np.testing.assert_array_equal(info.waits_after, expected)
    assert np.all(info.waits_before[:, 0] == 0.0)
    np.testing.assert_array_equal(info.waits_before[:, 1:], expected[:, :-1])
    spanned = spans_backoff(policy, nominal_timeouts(policy), expected)
    np.testing.assert_array_equal(info.timeouts, np.broadcast_to(spanned, expected.shape))
    np.testing.assert_array_equal(info.nominal_timeouts, nominal_timeouts(policy))
    assert info.strategies == policy.strategies
    np.testing.assert_allclose(info.wait_stats[:, 2], np.median(info.waits_before, axis=0))


def test_worst_case_starts_are_sums_of_timeouts_and_waits():
    policy = policy_preset("seed")  # waits from the failure, no deadline
    info = backoff_info(policy, samples=1_000, seed=2)
    steps = info.timeouts + info.waits_after
    expected = np.concatenate((np.zeros((1_000, 1)), np.cumsum(steps, axis=1)[:, :-1]), axis=1)
    np.testing.assert_allclose(info.starts, expected)
    assert np.all(info.reached == 1.0)
    np.testing.assert_allclose(info.worst_case_s, expected[:, -1] + info.timeouts[:, -1])


def test_grpc_waits_count_from_attempt_starts():
    info = backoff_info(policy_preset("grpc"), samples=1_000, seed=3)
    s, t, w = info.starts, info.timeouts, info.waits_after
    np.testing.assert_allclose(s[:, 1:], np.maximum(s[:, :-1] + w[:, :-1], s[:, :-1] + t[:, :-1]))
    assert np.all(t >= 20.0) and np.any(t > 20.0)  # spanning: until the next backoff deadline


@pytest.mark.parametrize("deadline", [40.0, 100.0, 250.0])
def test_the_deadline_is_respected(deadline):
    policy = policy_preset("seed").with_changes(deadline=deadline)
    info = backoff_info(policy, samples=3_000, seed=4)
    present = ~np.isnan(info.starts)
    assert np.all(info.starts[present] < deadline)
    assert np.all(info.starts[present] + info.runs[present] <= deadline + 1e-9)
    assert np.all(present[:, 0])
    assert np.all(present[:, :-1] >= present[:, 1:])  # once absent, absent after
    np.testing.assert_array_equal(np.isnan(info.runs), ~present)
    np.testing.assert_allclose(info.reached, present.mean(axis=0))
    assert np.all(np.diff(info.reached) <= 0)
    assert np.all(info.worst_case_s <= deadline + 1e-9)
    assert info.present.tolist() == (info.reached > 0).tolist()


@pytest.mark.parametrize(
    "policy",
    [
        policy_preset("seed"),
        policy_preset("seed").with_changes(deadline=60.0),
        policy_preset("grpc").with_changes(deadline=150.0),
        policy_preset("websockets"),
    ],
    ids=["seed", "seed-deadline", "grpc-deadline", "websockets"],
)
def test_worst_case_matches_the_scalar_schedule(policy):
    info = backoff_info(policy, samples=200, seed=9)
    rng = np.random.default_rng(9)
    scalar = [Schedule.draw(policy, rng).worst_case_s() for _ in range(200)]
    np.testing.assert_allclose(info.worst_case_s, scalar)


def test_backoff_info_validates_samples():
    with pytest.raises(ValueError, match="samples"):
        backoff_info(policy_preset("seed"), samples=0)


# --------------------------------------------------------------------------- time to connect
def test_ttc_info_from_first_principles(grpc_result):
    info = ttc_info(grpc_result)
    summary = grpc_result.summary()
    times = grpc_result.time_to_connect
    ok = times[~np.isnan(times)]
    assert (info.sessions, info.connected) == (SESSIONS, ok.size)
    assert 0 < info.connected < SESSIONS
    assert info.success_rate == summary["success_rate"]
    assert info.p50 == pytest.approx(summary["time_to_connect_s"]["p50"])
    assert info.p95 == pytest.approx(summary["time_to_connect_s"]["p95"])
    assert np.all(np.diff(info.ecdf_x) > 0) and np.all(np.diff(info.ecdf_y) > 0)
    assert info.ecdf_y[-1] == 1.0 and info.ecdf_x[-1] == ok.max()
    assert info.ecdf_x.size <= ECDF_MAX_POINTS
    # A thinned curve keeps exact points of the ECDF.
    np.testing.assert_allclose(info.ecdf_y, [np.mean(ok <= x) for x in info.ecdf_x])
    assert info.hist_counts.sum() == ok.size
    assert info.hist_edges.size == info.hist_counts.size + 1
    assert np.all(np.diff(info.hist_edges) > 0) and info.hist_edges[0] > 0
    assert np.allclose(
        np.diff(np.log(info.hist_edges)), np.log(info.hist_edges[1] / info.hist_edges[0])
    )
    assert info.hist_step_y.size == info.hist_step_x.size


def test_ttc_bands_are_the_quality_classes():
    thresholds = QualityThresholds(1.0, 4.0, 10.0)
    info = ttc_info(np.array([0.5, 3.0, 30.0, np.nan]), thresholds)
    bands = info.bands
    assert [b.quality for b in bands] == list(Quality)
    assert [b.colour for b in bands] == [QUALITY_COLOURS[q.label] for q in Quality]
    assert [b.hi for b in bands[:3]] == [1.0, 4.0, 10.0]
    assert [b.lo for b in bands[1:]] == [1.0, 4.0, 10.0]
    assert (bands[0].lo, bands[-1].hi) == info.x_range
    assert 0 < info.x_range[0] < 0.5 and info.x_range[1] > 30.0
    assert info.success_rate == 0.75


@pytest.mark.parametrize("empty", ["nothing connected", "no session"])
def test_ttc_info_of_empty_inputs(empty, dead_result):
    source = dead_result if empty == "nothing connected" else np.empty(0)
    info = ttc_info(source)
    assert info.connected == 0
    assert info.ecdf_x.size == info.hist_counts.size == info.hist_edges.size == 0
    assert info.p50 is None and info.p95 is None
    assert info.success_rate == (0.0 if source is dead_result else None)
    assert info.x_range[0] > 0 and len(info.bands) == 4


# --------------------------------------------------------------------------- quality
def test_quality_counts_match_the_core(grpc_result):
    info = quality_info(grpc_result)
    assert info.as_dict() == grpc_result.summary()["quality"]
    codes = classify(grpc_result.time_to_connect)
    assert info.counts.tolist() == np.bincount(codes, minlength=4).tolist()
    assert info.failed == int((~grpc_result.connected).sum()) > 0
    assert info.shares.sum() == pytest.approx(1.0)
    assert info.colours == (
        QUALITY_COLOURS["excellent"],
        QUALITY_COLOURS["good"],
        QUALITY_COLOURS["poor"],
        QUALITY_COLOURS["critical"],
    )


def test_quality_of_collected_times_with_custom_thresholds():
    thresholds = QualityThresholds(1.0, 4.5, 12.0)
    times = np.array([0.2, 1.0, 4.4, 4.5, 11.9, 12.0, np.nan])
    info = quality_info(times, thresholds)
    assert info.as_dict() == quality_counts(times, thresholds)
    assert info.failed == 1
    assert info.counts.tolist() == [1, 2, 2, 2]  # a boundary belongs to the worse class
    assert info.labels == (
        "Excellent < 1 s",
        "Good 1–4.5 s",
        "Poor 4.5–12 s",
        "Critical ≥ 12 s or failed",
    )
    empty = quality_info([])
    assert empty.sessions == 0 and empty.counts.sum() == 0 and np.all(empty.shares == 0)


# --------------------------------------------------------------------------- timeline
def test_timeline_rows_follow_first_appearance_in_profile_time():
    info = timeline_info(RECORDS)
    assert info.sessions == ("s2", "s0", "s1")
    assert info.session == tuple(r.session for r in RECORDS)  # bars keep record order
    assert info.duration_s.sum() == pytest.approx(sum(r.duration_s / 0.1 for r in RECORDS))
    np.testing.assert_allclose(info.start_s, [r.started_s / 0.1 for r in RECORDS])
    assert info.connected.tolist() == [r.connected for r in RECORDS]
    assert info.error[2] == "reset" and info.error[1] == "none"
    assert (info.total_sessions, info.total_records, info.bars) == (3, 6, 6)
    groups = {g.strategy: g for g in info.by_strategy}
    assert [g.strategy for g in info.by_strategy] == list(Strategy)
    assert sum(len(g.session) for g in info.by_strategy) == info.bars
    assert groups[WS].session == ("s2", "s0", "s1", "s1")
    assert groups[LP].duration_s.tolist() == pytest.approx([0.5])
    assert groups[Strategy.SSE_FALLBACK].session == ()


def test_timeline_keeps_the_first_sessions_only():
    info = timeline_info(SimpleNamespace(records=RECORDS), max_sessions=2)  # a LiveRun's records
    assert info.sessions == ("s2", "s0")
    assert set(info.session) == {"s2", "s0"}
    kept = [r for r in RECORDS if r.session in ("s2", "s0")]
    assert info.duration_s.sum() == pytest.approx(sum(r.duration_s / r.time_scale for r in kept))
    assert (info.total_sessions, info.total_records, info.bars) == (3, 6, 4)


def test_timeline_of_no_record():
    info = timeline_info([])
    assert info.sessions == () and info.bars == 0 and info.start_s.size == 0


# --------------------------------------------------------------------------- overlay
def test_overlay_of_live_times_and_a_simulation(seed_result):
    live = seed_result.time_to_connect[:200].copy()
    live[:10] = np.nan  # ten live sessions failed
    info = overlay_info(live, seed_result)
    ok = live[~np.isnan(live)]
    assert info.live.sessions == 200 and info.live.connected == 190
    assert info.live.success_rate == 0.95
    assert info.live.p50 == pytest.approx(np.percentile(ok, 50))
    assert info.simulated.p95 == pytest.approx(seed_result.summary()["time_to_connect_s"]["p95"])
    assert info.ks == pytest.approx(ks_distance(ok, seed_result.time_to_connect))
    assert info.live.y[-1] == 1.0 and info.live.y_all[-1] == pytest.approx(0.95)
    assert overlay_info(seed_result, seed_result).ks == 0.0


def test_overlay_with_an_empty_side(seed_result):
    info = overlay_info([], seed_result)
    assert info.ks is None and info.live.connected == 0 and info.live.success_rate is None
    assert info.agreement is None  # no live session yet: no verdict to give
    assert overlay_info([], []).ks is None and overlay_info([], []).agreement is None


@pytest.fixture(scope="module")
def broadband_twin():
    return simulate(policy_preset("seed"), profile_preset("broadband"), 20_000, seed=1)


def test_the_overlay_carries_the_verdict_of_compare_with_the_runs_bound(broadband_twin):
    live_times = simulate(policy_preset("seed"), profile_preset("broadband"), 40, seed=9)
    run = SimpleNamespace(result=live_times, bound_s=0.01)  # what Run and LiveRun offer
    info = overlay_info(run, broadband_twin)
    expected = compare(live_times, broadband_twin, bound_s=0.01)
    assert info.bound_s == 0.01 and info.agreement is not None
    assert info.agreement.to_dict() == expected.to_dict()
    assert info.agreement.verdict == "agrees"  # 40 draws of the same model, seed fixed
    # An explicit bound wins over the run's; bare times have none.
    assert overlay_info(run, broadband_twin, bound_s=0.0).agreement.bound_s == 0.0
    assert overlay_info(live_times.time_to_connect, broadband_twin).bound_s == 0.0
    assert info.ks == pytest.approx(expected.ks)  # kept, as a detail


def test_a_live_run_slower_than_sampling_and_its_bound_explain_is_called_slower(broadband_twin):
    live = broadband_twin.time_to_connect[:100] + 0.5  # half a second on a ~0.23 s median
    info = overlay_info(live, broadband_twin, bound_s=0.02)
    assert info.agreement.verdict == "slower"
    assert info.agreement.headline.startswith("live is slower by")
    # The same times with a bound that covers the shift: the harness can explain it.
    assert overlay_info(live, broadband_twin, bound_s=0.6).agreement.verdict in (
        "agrees",
        "inconclusive",  # a bound of 0.6 s on a 0.23 s median says nothing either way
    )


def test_the_harness_band_is_the_simulated_ecdf_shifted_right_by_the_bound(broadband_twin):
    info = overlay_info(broadband_twin.time_to_connect[:50], broadband_twin, bound_s=0.04)
    sim = info.simulated
    half = info.band_x.size // 2
    assert info.band_x.size == info.band_y.size == 2 * (2 * sim.x.size - 1)
    lower_x, upper_x = info.band_x[:half], info.band_x[half:][::-1]
    lower_y, upper_y = info.band_y[:half], info.band_y[half:][::-1]
    np.testing.assert_allclose(upper_x - lower_x, 0.04)
    np.testing.assert_array_equal(lower_y, upper_y)
    # The lower edge is the simulated step line: every ECDF point is a corner of it.
    assert set(zip(sim.x.tolist(), sim.y.tolist(), strict=True)) <= set(
        zip(lower_x.tolist(), lower_y.tolist(), strict=True)
    )
    assert np.all(np.diff(lower_x) >= 0) and np.all(np.diff(lower_y) >= 0)
    assert info.x_range[1] > info.band_x.max()  # the band is on the axis
    empty = overlay_info(broadband_twin, broadband_twin)
    assert empty.band_x.size == 0 and empty.bound_s == 0.0


# --------------------------------------------------------------------------- storm
def test_storm_info_is_the_storm_result(herd):
    info = storm_info(herd)
    assert info.accepted.sum() == herd.clients
    assert info.refused.sum() == herd.refused
    assert info.seconds.tolist() == list(range(herd.accepted_per_s.size))
    assert (info.capacity_per_s, info.outage_s, info.peak_per_s) == (200, 10.0, herd.peak_per_s)
    assert info.reconnected_99_s == herd.reconnected_99_s
    assert info.peak_over_capacity == herd.peak_per_s / 200
    assert info.accepted[:10].sum() == 0  # nothing accepted while the server is down
    assert info.gave_up == 0


def test_storm_figure_says_how_many_gave_up():
    result = storm(policy_preset("signalr"), 1_000, 30.0, 100, seed=0)
    info = storm_info(result)
    assert info.gave_up == result.gave_up == 900
    assert info.accepted.sum() == 100
    assert "900 of them gave up and stayed down" in plot_storm(result).layout.title.text


# --------------------------------------------------------------------------- comparison
def test_comparison_info_per_policy(seed_result, grpc_result):
    info = comparison_info({"seed": seed_result, "grpc": grpc_result})
    assert info.names == ("seed", "grpc")
    for curve, quality, result in zip(
        info.curves, info.quality, (seed_result, grpc_result), strict=True
    ):
        summary = result.summary()
        assert curve.success_rate == summary["success_rate"]
        assert curve.p50 == pytest.approx(summary["time_to_connect_s"]["p50"])
        assert curve.p95 == pytest.approx(summary["time_to_connect_s"]["p95"])
        assert curve.mean_attempts == pytest.approx(summary["attempts_mean"])
        assert quality.as_dict() == summary["quality"]
        assert curve.y_all[-1] == pytest.approx(summary["success_rate"])
        assert np.all(np.diff(curve.y_all) >= 0)
    assert comparison_info({}).curves == ()


# --------------------------------------------------------------------------- figures
def axis_titles(fig: go.Figure) -> list[str]:
    layout = fig.layout.to_plotly_json()
    return [
        axis["title"]["text"]
        for key, axis in layout.items()
        if key.startswith(("xaxis", "yaxis")) and axis.get("title", {}).get("text")
    ]


def check_style(fig: go.Figure) -> None:
    assert isinstance(fig, go.Figure)
    assert fig.layout.title.text
    assert fig.layout.template.layout.paper_bgcolor == "white"  # plotly_white
    assert any("s" in t or "session" in t for t in axis_titles(fig))
    fig.to_json()  # serialisable (NaN-safe) for HTML reports


def notes(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def test_plot_backoff():
    fig = plot_backoff(policy_preset("seed").with_changes(deadline=60.0), samples=2_000)
    check_style(fig)
    assert [t.type for t in fig.data] == ["box", "bar", "box"]
    assert len(fig.data[0].y) == 6 and len(fig.data[2].y) == 3  # three attempts never start
    assert "wait (s)" in axis_titles(fig)
    assert sum("never starts" in n for n in notes(fig)) == 3
    assert any(n.startswith("deadline") for n in notes(fig))


def test_plot_time_to_connect(grpc_result):
    fig = plot_time_to_connect(grpc_result, title="gRPC, worldwide")
    check_style(fig)
    assert fig.layout.title.text.startswith("gRPC, worldwide")
    assert [t.name for t in fig.data] == [
        "share of connected sessions (ECDF)",
        "sessions per bin (log-spaced)",
    ]
    assert fig.layout.xaxis2.type == "log"
    assert "time to connect (s, log scale)" in axis_titles(fig)
    bands = [s for s in fig.layout.shapes if s.type == "rect"]
    assert {s.fillcolor for s in bands} == set(QUALITY_COLOURS.values())
    assert any(n.startswith("p95") for n in notes(fig))


@pytest.mark.parametrize("source", ["dead", "none", "nan"])
def test_plot_time_to_connect_of_nothing(source, dead_result):
    data = {"dead": dead_result, "none": np.empty(0), "nan": [np.nan] * 3}[source]
    fig = plot_time_to_connect(data)
    check_style(fig)
    assert (NO_SESSION if source == "none" else NO_CONNECTED) in notes(fig)


def test_plot_timeline():
    fig = plot_timeline(RECORDS)
    check_style(fig)
    assert [t.name for t in fig.data] == [s.value for s in Strategy]
    assert [t.showlegend for t in fig.data] == [True, True, False, True, False]
    assert list(fig.layout.yaxis.categoryarray) == ["s2", "s0", "s1"]
    empty = plot_timeline([])
    check_style(empty)
    assert NO_ATTEMPT in notes(empty) and len(empty.data) == len(Strategy)


def test_plot_live_vs_simulated(seed_result):
    fig = plot_live_vs_simulated(seed_result.time_to_connect[:100], seed_result, bound_s=0.05)
    check_style(fig)
    names = [t.name.split(":")[0] for t in fig.data]
    assert names[:2] == ["simulated", "live"] and names[2].startswith("what the harness can add")
    info = overlay_info(seed_result.time_to_connect[:100], seed_result, bound_s=0.05)
    title = heading(fig)  # long lines are wrapped
    headline, details = info.agreement.headline, info.agreement.details
    # The verdict is the subtitle's first line; medians, p90 and success follow; KS last.
    assert title.index(headline[1:]) < title.index("p50") < title.index("KS distance")
    assert details in title and "p90" in title and "success" in title
    band = fig.data[2]
    assert band.fill == "toself" and np.array_equal(band.x, info.band_x)
    assert "0.05 s" in band.name
    empty = plot_live_vs_simulated([], seed_result)
    assert f"{NO_CONNECTED} (live)" in notes(empty)
    assert NO_COMPARISON in heading(empty) and not empty.data[2].showlegend


def test_plot_quality(grpc_result):
    fig = plot_quality(grpc_result)
    check_style(fig)
    (bars,) = fig.data
    assert list(bars.x) == list(quality_info(grpc_result).labels)
    assert list(bars.marker.color) == list(QUALITY_COLOURS.values())
    assert NO_SESSION in notes(plot_quality([]))


def test_plot_storm(herd):
    fig = plot_storm(herd)
    check_style(fig)
    assert [t.name for t in fig.data] == ["accepted", "refused", "capacity 200/s"]
    assert fig.layout.barmode == "stack"
    assert any(n.startswith("99 % back") for n in notes(fig))


def test_plot_compare(seed_result, grpc_result, dead_result):
    fig = plot_compare({"seed": seed_result, "grpc": grpc_result, "dead": dead_result})
    check_style(fig)
    names = [t.name for t in fig.data]
    assert names[:3] == ["seed", "grpc", "dead"]
    assert names[3:] == list(quality_info(seed_result).labels)
    assert NO_POLICY in notes(plot_compare({}))
    assert NO_CONNECTED in notes(plot_compare({"dead": dead_result}))


# --------------------------------------------------------------------------- in-place updates
def test_update_figure_refreshes_in_place(seed_result, dead_result):
    fig = plot_time_to_connect(dead_result)
    traces = list(fig.data)
    assert NO_CONNECTED in notes(fig)
    update_figure(fig, ttc_info(seed_result), title="Seed")
    assert list(fig.data) == traces and all(a is b for a, b in zip(fig.data, traces, strict=True))
    expected = ttc_info(seed_result)
    np.testing.assert_array_equal(fig.data[0].x, expected.ecdf_x)
    assert NO_CONNECTED not in notes(fig)  # stale annotations are removed
    assert fig.layout.title.text.startswith("Seed")
    assert fig.to_plotly_json() == plot_time_to_connect(seed_result, title="Seed").to_plotly_json()


def test_refresh_replaces_traces_when_their_number_changes(seed_result, grpc_result):
    fig = plot_compare({"seed": seed_result})
    refresh(fig, comparison_figure(comparison_info({"seed": seed_result, "grpc": grpc_result})))
    assert [t.name for t in fig.data][:2] == ["seed", "grpc"] and len(fig.data) == 6


def test_update_a_figure_widget_in_place(seed_result, grpc_result):
    pytest.importorskip("anywidget")  # plotly 7's FigureWidget is an anywidget
    widget = go.FigureWidget(plot_time_to_connect(seed_result))
    before = [id(t) for t in widget.data]
    update_figure(widget, ttc_info(grpc_result))
    assert [id(t) for t in widget.data] == before
    np.testing.assert_array_equal(widget.data[0].x, ttc_info(grpc_result).ecdf_x)


def test_figure_from_info_covers_every_info(seed_result, herd):
    infos = [
        backoff_info(RetryPolicy(), samples=100),
        ttc_info(seed_result),
        timeline_info(RECORDS),
        overlay_info(seed_result, seed_result),
        quality_info(seed_result),
        storm_info(herd),
        comparison_info({"seed": seed_result}),
    ]
    for info in infos:
        assert isinstance(figure_from_info(info), go.Figure)
    assert isinstance(infos[0], BackoffInfo)
    with pytest.raises(TypeError, match="no figure"):
        figure_from_info(object())
    assert TEMPLATE == "plotly_white"


def test_the_storm_figure_carries_the_lockstep_verdict_when_given():
    from chatconn.lockstep import lockstep
    from chatconn.plots import plot_storm
    from chatconn.storm import storm

    policy = policy_preset("signalr")
    herd = storm(policy, 500, 10, 100, seed=1)
    report = lockstep(policy, clients=500, seed=1)
    assert "lockstep detector" not in heading(plot_storm(herd))
    title = heading(plot_storm(herd, lockstep=report))
    assert "lockstep detector: lockstep · 100% of clients start retry 1 within the same 100 ms" in (
        title
    )


def _update_counting(fig: go.Figure, info: object) -> tuple[int, int]:
    """update_figure(fig, info): how many go.Figure were built, how many batches sent."""
    batches: list[dict] = []
    built: list[int] = []
    original = fig.plotly_update
    real_init = go.Figure.__init__

    def counting_update(**kwargs):
        batches.append(kwargs)
        return original(**kwargs)

    def counting_init(self, *args, **kwargs):
        built.append(1)
        real_init(self, *args, **kwargs)

    fig.plotly_update = counting_update  # type: ignore[method-assign]
    go.Figure.__init__ = counting_init  # type: ignore[method-assign]
    try:
        update_figure(fig, info, title="t")
    finally:
        go.Figure.__init__ = real_init  # type: ignore[method-assign]
    return len(built), len(batches)


def test_update_figure_builds_no_figure_and_sends_one_batch(seed_result, grpc_result, herd):
    """Every kind of info: the widget path (no validated figure built, no template copied,
    one batch of changes) ends in exactly what a figure built from scratch shows."""
    pairs = [
        (ttc_info(seed_result), ttc_info(grpc_result)),
        (quality_info(seed_result), quality_info(grpc_result)),
        (backoff_info(RetryPolicy(), samples=100), backoff_info(RetryPolicy(jitter=0.9))),
        (comparison_info({"seed": seed_result}), comparison_info({"grpc": grpc_result})),
        (overlay_info(seed_result, grpc_result), overlay_info(grpc_result, seed_result)),
        (timeline_info(RECORDS[:2]), timeline_info(RECORDS)),
        (storm_info(herd), storm_info(herd)),
    ]
    for before, after in pairs:
        fig = figure_from_info(before, title="t")
        changed = json.loads(fig.to_json()) != json.loads(figure_from_info(after).to_json())
        built, batches = _update_counting(fig, after)
        assert built == 0 and batches == int(changed), type(after).__name__
        expected = figure_from_info(after, title="t")
        assert json.loads(fig.to_json()) == json.loads(expected.to_json()), type(after).__name__
