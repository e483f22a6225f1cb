"""The lockstep detector: shares from first principles, every preset's verdict, agreement with
the storm model, the info and figure, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import plotly.graph_objects as go
import pytest

from chatconn.core.errors import ConfigError
from chatconn.core.policy import JitterMode, RetryPolicy
from chatconn.core.presets import policy_preset, policy_preset_names
from chatconn.lockstep import (
    CLUSTERED_SHARE,
    DEFAULT_WINDOW_S,
    LOCKSTEP_SHARE,
    LockstepCause,
    LockstepVerdict,
    densest_window,
    lockstep,
)
from chatconn.plotdata import lockstep_info
from chatconn.plots import figure_from_info, lockstep_figure, plot_lockstep
from chatconn.storm import storm

FULL_JITTER = RetryPolicy(jitter_mode=JitterMode.FULL, jitter=1.0)
NO_JITTER = RetryPolicy(jitter=0.0)  # proportional with a zero factor: no jitter at all


def test_densest_window_counts_the_fullest_half_open_window():
    times = np.array([0.0, 0.05, 0.0999, 0.1, 0.5, 0.52, 0.55, 0.58, 3.0, 3.0])
    share, start = densest_window(times, 0.1)
    assert share == pytest.approx(4 / 10) and start == 0.5  # 0.5, 0.52, 0.55, 0.58
    assert densest_window(np.full(7, 2.5), 0.1) == (1.0, 2.5)
    assert densest_window(np.array([0.0, 0.1, 0.2]), 0.1)[0] == pytest.approx(1 / 3)


def test_signalr_fixed_table_is_lockstep_at_every_retry():
    report = lockstep(policy_preset("signalr"))
    assert report.verdict is LockstepVerdict.LOCKSTEP
    np.testing.assert_array_equal(report.start_share, 1.0)
    np.testing.assert_array_equal(report.wait_share, 1.0)
    assert report.worst_share == 1.0 and report.worst_attempt == 1
    assert report.causes == (LockstepCause.FIXED_TABLE,)
    assert "0, 2, 10, 30" in report.reasons[0]
    # The herd's retries start at attempt_s + the table's waits, counted from each failure.
    np.testing.assert_allclose(report.window_start_s, [0.05, 2.1, 12.15, 42.2])


@pytest.mark.parametrize(
    "policy", [NO_JITTER, RetryPolicy(jitter_mode=JitterMode.NONE)], ids=["jitter=0", "none"]
)
def test_a_policy_without_jitter_is_lockstep_with_share_one(policy):
    report = lockstep(policy, clients=2_000)
    assert report.verdict is LockstepVerdict.LOCKSTEP
    np.testing.assert_array_equal(report.start_share, 1.0)
    assert report.flagged_attempts == (1, 2, 3, 4, 5)
    assert report.causes == (LockstepCause.NO_JITTER,)
    assert "No jitter" in report.reasons[0]


@pytest.mark.parametrize(
    ("policy", "first_range_s"),
    [(policy_preset("aws-decorrelated"), 2.0), (FULL_JITTER, 1.0)],
    ids=["aws-decorrelated", "full"],
)
def test_decorrelated_and_full_jitter_spread_the_herd(policy, first_range_s):
    """Retry 1 waits uniformly over [1, 3) s (decorrelated) or [0, 1) s (full jitter), so
    about window / range of the herd starts in one window; later retries spread more."""
    report = lockstep(policy, clients=20_000, seed=3)
    assert report.verdict is LockstepVerdict.SPREAD
    assert report.causes == () and not report.flagged.any()
    expected = DEFAULT_WINDOW_S / first_range_s
    assert expected * 0.9 <= report.start_share[0] <= expected * 1.25
    assert report.worst_attempt == 1
    assert np.all(report.start_share[1:] < report.start_share[0])
    assert report.worst_share < CLUSTERED_SHARE
    assert "spreads every retry" in report.reasons[0]


def test_socketio_cap_after_jitter_is_detected_where_the_cap_binds():
    """backo2 over 1, 2, 4, 8, 16 s with +/-50 %, capped at 5 s after the jitter. At retry 3
    (nominal 4 s) a wait reaches the cap when floor(10u) is odd and u >= 0.5: 30 % of u;
    at retry 4 (8 s) every '+' wait and the '-' waits with u < 0.75 and floor(10u) even:
    90 %; from retry 5 (16 s, never below 8 s) all of them."""
    report = lockstep(policy_preset("socketio"), clients=20_000, seed=1)
    np.testing.assert_allclose(report.at_cap_share, [0, 0, 0.3, 0.9, 1, 1, 1, 1, 1], atol=0.015)
    assert report.flagged_attempts == (4, 5, 6, 7, 8, 9)
    assert report.causes == (LockstepCause.CAP_AFTER_JITTER,)
    assert report.verdict is LockstepVerdict.CLUSTERED
    np.testing.assert_array_equal(report.wait_share[4:], 1.0)  # in step: the same 5 s
    # Starts stay where retries 1-3 spread them: the cap stops any further spreading.
    np.testing.assert_allclose(report.start_share[4:], report.start_share[3], atol=1e-12)
    assert "retries 4–9" in report.reasons[0] and "max_delay = 5 s" in report.reasons[0]


def test_every_preset_gets_its_verdict_and_cause():
    expected = {
        "seed": (LockstepVerdict.SPREAD, ()),
        # The C-core jitters its first wait by +/-20 %; the spec does not.
        "grpc": (LockstepVerdict.CLUSTERED, (LockstepCause.SMALL_JITTER,)),
        "grpc-spec": (LockstepVerdict.LOCKSTEP, (LockstepCause.UNJITTERED_FIRST_WAIT,)),
        "websockets": (LockstepVerdict.CLUSTERED, (LockstepCause.NO_JITTER,)),
        "aws-standard": (LockstepVerdict.LOCKSTEP, (LockstepCause.SMALL_JITTER,)),
        "aws-decorrelated": (LockstepVerdict.SPREAD, ()),
        "socketio": (LockstepVerdict.CLUSTERED, (LockstepCause.CAP_AFTER_JITTER,)),
        "signalr": (LockstepVerdict.LOCKSTEP, (LockstepCause.FIXED_TABLE,)),
        # retryInterval's window closes on 25 s: from retry 14 every client waits exactly 25 s.
        "stream-chat": (LockstepVerdict.CLUSTERED, (LockstepCause.CAP_AFTER_JITTER,)),
    }
    assert set(expected) == set(policy_preset_names())
    for name, (verdict, causes) in expected.items():
        report = lockstep(policy_preset(name), clients=5_000)
        assert (report.verdict, report.causes) == (verdict, causes), name
        assert report.reasons and all(r.endswith(".") for r in report.reasons), name
    grpc = lockstep(policy_preset("grpc-spec"), clients=5_000)
    assert grpc.flagged_attempts == (1,)  # only its unjittered first wait (1 s)
    websockets = lockstep(policy_preset("websockets"), clients=5_000)
    # The first wait is full jitter over 5 s; after it nothing spreads the herd further.
    assert websockets.start_share.max() == pytest.approx(0.02, abs=0.01)
    assert websockets.flagged_attempts == tuple(range(2, 10))


def test_a_lockstep_policy_storm_peak_is_the_whole_herd():
    """No jitter: waits 1, 1.4, 1.96, 2.744, 3.8416 s, so attempts start at 0, 1.05, 2.5,
    4.51, 7.30, 11.19 s — all clients together, each refused during a 10 s outage, then
    all at once in the first window after it."""
    clients = 2_000
    report = lockstep(NO_JITTER, clients=clients)
    result = storm(NO_JITTER, clients, outage_s=10.0, capacity_per_s=clients)
    assert result.peak_per_s == clients
    for start in report.window_start_s[report.window_start_s < 10.0]:
        assert result.refused_per_s[math.floor(start)] >= clients
    spread = storm(FULL_JITTER, clients, outage_s=10.0, capacity_per_s=clients, seed=1)
    assert spread.peak_per_s < clients / 2


def test_storm_peaks_rank_as_the_verdicts_do():
    peaks = {}
    for name in ("signalr", "socketio", "aws-decorrelated"):
        policy = policy_preset(name)
        peaks[lockstep(policy, clients=5_000).verdict] = storm(
            policy, 5_000, outage_s=30.0, capacity_per_s=1_000, seed=1
        ).peak_per_s
    assert peaks[LockstepVerdict.LOCKSTEP] == 5_000
    assert peaks[LockstepVerdict.LOCKSTEP] > peaks[LockstepVerdict.CLUSTERED]
    assert peaks[LockstepVerdict.CLUSTERED] > peaks[LockstepVerdict.SPREAD]


def test_attempts_beyond_the_policy_repeat_the_last_wait_as_a_storm_does():
    report = lockstep(policy_preset("socketio"), attempts=15, clients=2_000)
    assert report.attempt.tolist() == list(range(1, 15))
    np.testing.assert_array_equal(report.at_cap_share[4:], 1.0)
    spread = lockstep(FULL_JITTER, attempts=12, clients=2_000)
    assert spread.verdict is LockstepVerdict.SPREAD and spread.attempt.size == 11


def test_a_policy_that_never_retries_has_nothing_to_report():
    report = lockstep(RetryPolicy(max_attempts=1))
    assert report.attempt.size == 0 and report.worst_attempt is None
    assert report.verdict is LockstepVerdict.SPREAD and "never retries" in report.reasons[0]
    fig = plot_lockstep(report)
    assert any("never retries" in a.text for a in fig.layout.annotations)


def test_same_seed_same_report_and_json_ready():
    a = lockstep(FULL_JITTER, clients=1_000, seed=5)
    b = lockstep(FULL_JITTER, clients=1_000, seed=5)
    np.testing.assert_array_equal(a.start_share, b.start_share)
    data = json.loads(json.dumps(a.to_dict()))
    assert data["verdict"] == "spread" and len(data["attempts"]) == 5
    assert data["attempts"][0]["start_share"] == a.start_share[0]


def test_the_window_is_a_parameter():
    wide = lockstep(FULL_JITTER, clients=5_000, window_s=1.0, seed=2)
    assert wide.start_share[0] == 1.0  # every retry-1 wait is under 1 s
    assert wide.verdict is LockstepVerdict.LOCKSTEP


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"policy": "seed"}, "policy"),
        ({"clients": 1}, "clients"),
        ({"clients": 2.5}, "clients"),
        ({"clients": True}, "clients"),
        ({"clients": 10**7}, "clients"),
        ({"window_s": 0}, "window_s"),
        ({"window_s": float("nan")}, "window_s"),
        ({"window_s": "0.1"}, "window_s"),
        ({"attempt_s": -1.0}, "attempt_s"),
        ({"attempts": 0}, "attempts"),
        ({"attempts": 10**6}, "attempts"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    policy = kwargs.pop("policy", FULL_JITTER)
    with pytest.raises(ConfigError) as caught:
        lockstep(policy, **kwargs)
    assert caught.value.field == field


def test_info_is_the_report_with_classes_and_thresholds():
    report = lockstep(policy_preset("socketio"), clients=5_000)
    info = lockstep_info(report)
    np.testing.assert_array_equal(info.start_share, report.start_share)
    np.testing.assert_array_equal(info.wait_share, report.wait_share)
    assert info.labels[0] == "retry 1" and len(info.labels) == report.attempt.size
    assert info.classes == ("spread",) * 3 + ("clustered",) * 6
    assert (info.lockstep_share, info.clustered_share) == (LOCKSTEP_SHARE, CLUSTERED_SHARE)
    assert info.verdict == "clustered" and info.reasons == report.reasons
    lock = lockstep_info(lockstep(policy_preset("signalr"), clients=1_000))
    assert set(lock.classes) == {"lockstep"} and len(set(lock.colours)) == 1
    with pytest.raises(ConfigError):
        lockstep_info(policy_preset("seed"))


def test_figure_bars_the_start_share_with_threshold_lines_and_the_verdict_in_the_title():
    report = lockstep(policy_preset("signalr"), clients=1_000)
    fig = lockstep_figure(lockstep_info(report))
    assert isinstance(fig, go.Figure) and len(fig.data) == 2
    assert fig.data[0].type == "bar" and list(fig.data[0].y) == report.start_share.tolist()
    assert list(fig.data[1].y) == report.wait_share.tolist()
    assert "lockstep" in fig.layout.title.text
    assert sorted(s.y0 for s in fig.layout.shapes) == [CLUSTERED_SHARE, LOCKSTEP_SHARE]
    assert figure_from_info(lockstep_info(report)).to_plotly_json() == fig.to_plotly_json()
    titled = plot_lockstep(policy_preset("seed"), clients=1_000, title="Seed")
    assert titled.layout.title.text.startswith("Seed")
