"""Calibration: a profile fitted back from observations drawn from a known one, starting values
and the distance from first principles, bad input, the info and figure, and a fit to a real
live run against the lab.

Tolerances for the synthetic fits (2,000 observed sessions of the ``seed`` policy, fitted with
a different seed than the one that drew them, 20,000 simulated per candidate). Over 12 pairs of
seeds the fit's standard deviation was, on the firewall-like and the 3G profile: RTT median
1.0-1.2 %, RTT sigma 0.010-0.014, stall probability 0.004-0.005, blocked-WebSocket share 0.012
(the binomial sd of 2,000 sessions at 0.3 is 0.010), KS 0.013 on average; the tolerances below
are three to four of those. The fits themselves are deterministic (fixed seeds).
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import pytest
from helpers import heading, run

from chatconn.calibrate import FIT_PARAMETERS, Calibration, calibrate
from chatconn.calibrate.observed import (
    DISTANCE_TERMS,
    distance,
    ks_sorted,
    observations,
    outcome_stats,
)
from chatconn.calibrate.parameters import fit_names, starting_values
from chatconn.calibrate.search import nelder_mead
from chatconn.core.errors import ConfigError, UnknownNameError
from chatconn.core.policy import RetryPolicy
from chatconn.core.presets import policy_preset
from chatconn.core.profiles import FaultMode, NetworkProfile, profile_preset
from chatconn.core.strategies import ErrorCategory, Strategy
from chatconn.live.run import run_live
from chatconn.outcomes import SessionOutcomes
from chatconn.plotdata import calibration_info
from chatconn.plots import calibration_figure, figure_from_info, plot_calibration
from chatconn.simulate import simulate

SEED_POLICY = policy_preset("seed")
OBSERVED_SEED = 1
FIT_SEED = 7
RTT_MEDIAN_REL = 0.05
RTT_SIGMA_ABS = 0.05
STALL_ABS = 0.015
SHARE_ABS = 0.035
KS_MAX = 0.04  # 2,000 vs 20,000 sessions of one distribution: KS < 0.03 in 95 % of draws

FIREWALL = profile_preset("corporate-firewall").with_changes(
    name="firewall-30", ws_blocked_share=0.3, stall_probability=0.05
)


def wrong(profile: NetworkProfile) -> NetworkProfile:
    """``profile`` with every fittable field wrong: the fit must not lean on them."""
    return profile.with_changes(
        rtt_median_s=0.5, rtt_sigma=1.0, stall_probability=0.0, ws_blocked_share=0.0
    )


def assert_recovers(fit: Calibration, truth: NetworkProfile) -> None:
    values = fit.values
    assert values["rtt_median_s"] == pytest.approx(truth.rtt_median_s, rel=RTT_MEDIAN_REL)
    assert values["rtt_sigma"] == pytest.approx(truth.rtt_sigma, abs=RTT_SIGMA_ABS)
    assert values["stall_probability"] == pytest.approx(truth.stall_probability, abs=STALL_ABS)
    assert values["ws_blocked_share"] == pytest.approx(truth.ws_blocked_share, abs=SHARE_ABS)
    assert fit.ks < KS_MAX
    assert 0 <= fit.terms["total"] < 4 * KS_MAX


@pytest.fixture(scope="module")
def firewall_fit() -> tuple[SessionOutcomes, Calibration]:
    observed = simulate(SEED_POLICY, FIREWALL, 2_000, seed=OBSERVED_SEED)
    return observed, calibrate(observed, base=wrong(FIREWALL), seed=FIT_SEED, bootstrap=4)


# --------------------------------------------------------------------------- recovery
def test_fit_recovers_a_corporate_firewall_like_profile(firewall_fit):
    observed, fit = firewall_fit
    assert_recovers(fit, FIREWALL)
    assert fit.observed_sessions == 2_000 and fit.dropped_sessions == 0
    assert fit.observed_success_rate == pytest.approx(observed.connected.mean())
    assert abs(fit.fitted_success_rate - fit.observed_success_rate) < 0.01


def test_fit_recovers_a_3g_profile():
    truth = profile_preset("3g")
    observed = simulate(SEED_POLICY, truth, 2_000, seed=OBSERVED_SEED)
    fit = calibrate(observed, base=wrong(truth), seed=FIT_SEED, bootstrap=0)
    assert_recovers(fit, truth)
    assert all(p.spread is None for p in fit.parameters)


def test_the_fitted_profile_is_the_base_with_the_fitted_fields(firewall_fit):
    _, fit = firewall_fit
    base = wrong(FIREWALL)
    assert fit.base == base and fit.policy is SEED_POLICY
    assert fit.profile == base.with_changes(
        name="firewall-30 (fitted)", description=fit.profile.description, **fit.values
    )
    assert fit.profile.blocked_ports == FIREWALL.blocked_ports  # not fitted: the base's
    assert tuple(p.name for p in fit.parameters) == FIT_PARAMETERS
    for p in fit.parameters:
        assert p.base == getattr(base, p.name)
    assert fit.parameter("ws_blocked_share").value == fit.values["ws_blocked_share"]
    with pytest.raises(ConfigError):
        fit.parameter("loss")


def test_bootstrap_refits_give_a_rough_spread(firewall_fit):
    _, fit = firewall_fit
    tolerance = {
        "rtt_median_s": RTT_MEDIAN_REL * FIREWALL.rtt_median_s,
        "rtt_sigma": RTT_SIGMA_ABS,
        "stall_probability": STALL_ABS,
        "ws_blocked_share": SHARE_ABS,
    }
    for p in fit.parameters:
        assert p.spread is not None and 0 <= p.spread < tolerance[p.name], p
    assert fit.bootstrap == 4 and fit.evaluations > 4


def test_description_says_what_was_fitted_and_how_well(firewall_fit):
    _, fit = firewall_fit
    text = fit.description
    assert "2,000 observed sessions" in text and "RTT median" in text
    assert "WebSocket blocked" in text and f"KS {fit.ks:.3f}" in text
    assert "firewall-30" in text  # where everything else comes from
    data = json.loads(json.dumps(fit.to_dict()))
    assert data["profile"]["ws_blocked_share"] == fit.values["ws_blocked_share"]
    assert [p["name"] for p in data["parameters"]] == list(FIT_PARAMETERS)


def test_a_subset_is_fitted_alone_and_the_same_seed_gives_the_same_fit(firewall_fit):
    observed, _ = firewall_fit
    base = FIREWALL.with_changes(ws_blocked_share=0.0)
    fits = [
        calibrate(observed, base=base, fit="ws_blocked_share", seed=3, bootstrap=0)
        for _ in range(2)
    ]
    assert fits[0].values == fits[1].values
    assert list(fits[0].values) == ["ws_blocked_share"]
    assert fits[0].values["ws_blocked_share"] == pytest.approx(0.3, abs=SHARE_ABS)
    assert fits[0].profile.rtt_median_s == FIREWALL.rtt_median_s
    assert "rtt_median_s" in fits[0].description  # named among the base's fields


def test_fit_names_default_to_what_the_policy_can_reveal():
    assert fit_names(None, SEED_POLICY) == FIT_PARAMETERS
    http_only = RetryPolicy(ladder=(Strategy.LONG_POLLING,))
    assert "ws_blocked_share" not in fit_names(None, http_only)
    assert fit_names(["ws_blocked_share", "rtt_sigma"], SEED_POLICY) == (
        "rtt_sigma",
        "ws_blocked_share",
    )


# --------------------------------------------------------------------------- first principles
def hand_made(policy: RetryPolicy = SEED_POLICY) -> SessionOutcomes:
    """Ten sessions: six connect on attempt 1 with RTT 0.1, 0.1, 0.2, 0.2, 0.4, 0.4 s (4 round
    trips + 0.1 s of auth and sync), one via WebSocket on attempt 2, two via long polling on
    attempt 5, one fails after 6 attempts."""
    rtt = np.array([0.1, 0.1, 0.2, 0.2, 0.4, 0.4])
    ws, lp = Strategy.DIRECT_WEBSOCKET.code, Strategy.LONG_POLLING.code
    return SessionOutcomes(
        policy=policy,
        target="hand",
        seed=0,
        profile_names=("hand",),
        connected=np.array([True] * 9 + [False]),
        ended_at=np.concatenate((4 * rtt + 0.1, [17.0, 200.0, 210.0, 300.0])),
        attempts=np.array([1] * 6 + [2, 5, 5, 6], dtype=np.int16),
        strategy=np.array([ws] * 7 + [lp, lp, -1], dtype=np.int8),
        last_error=np.array([0] * 6 + [1, 1, 1, 1], dtype=np.int8),
        profile=np.zeros(10, dtype=np.int8),
    )


def test_starting_values_from_first_principles():
    base = NetworkProfile("hand", auth_s=0.05, sync_s=0.05, loss=0.0)
    start = starting_values(hand_made(), base, FIT_PARAMETERS)
    log_rtt = np.log([0.1, 0.1, 0.2, 0.2, 0.4, 0.4])
    q25, q75 = np.quantile(log_rtt, [0.25, 0.75])
    assert start["rtt_median_s"] == pytest.approx(0.2)
    assert start["rtt_sigma"] == pytest.approx((q75 - q25) / 1.3489795003921634)
    assert start["ws_blocked_share"] == pytest.approx(0.3)  # 7 of 10 connected via WebSocket
    assert start["stall_probability"] == pytest.approx(1 / 7)  # 1 of those 7 needed a retry


def test_statistics_and_distance_from_first_principles():
    stats = outcome_stats(hand_made(), max_attempts=6)
    assert stats.sessions == 10 and stats.success_rate == pytest.approx(0.9)
    np.testing.assert_allclose(stats.times, np.sort(hand_made().ended_at[:9]))
    assert stats.first.size == 6
    expected_outcome = np.zeros(len(Strategy) + len(ErrorCategory))
    expected_outcome[Strategy.DIRECT_WEBSOCKET.code] = 0.7
    expected_outcome[Strategy.LONG_POLLING.code] = 0.2
    expected_outcome[len(Strategy) + ErrorCategory.TIMEOUT] = 0.1
    np.testing.assert_allclose(stats.outcome, expected_outcome)
    np.testing.assert_allclose(stats.attempts, [0.6, 0.1, 0, 0, 0.2, 0.1])
    terms = distance(stats, stats)
    assert set(terms) == {*DISTANCE_TERMS, "total"} and terms["total"] == 0.0

    rng = np.random.default_rng(0)
    a, b = np.sort(rng.random(50)), np.sort(rng.random(70) + 0.2)
    grid = np.concatenate((a, b))
    brute = max(abs(np.mean(a <= t) - np.mean(b <= t)) for t in grid)
    assert ks_sorted(a, b) == pytest.approx(brute)
    assert ks_sorted(a, np.empty(0)) == 1.0 and ks_sorted(np.empty(0), np.empty(0)) == 0.0


def test_nelder_mead_finds_the_minimum_of_a_bowl():
    target = np.array([1.0, -2.0, 0.5])
    found = nelder_mead(
        lambda x: float(np.sum((x - target) ** 2 * [1, 4, 9])),
        np.zeros(3),
        np.full(3, 0.5),
        max_evals=400,
        xtol=1e-4,
    )
    np.testing.assert_allclose(found.x, target, atol=1e-3)
    assert found.evaluations == found.values.size == found.points.shape[0] <= 400
    assert found.value == found.values.min()


# --------------------------------------------------------------------------- bad input
def test_bad_observations_raise_config_errors_naming_them():
    empty = SessionOutcomes(
        policy=SEED_POLICY,
        target="x",
        seed=0,
        profile_names=("x",),
        connected=np.zeros(0, dtype=bool),
        ended_at=np.zeros(0),
        attempts=np.zeros(0, dtype=np.int16),
        strategy=np.zeros(0, dtype=np.int8),
        last_error=np.zeros(0, dtype=np.int8),
        profile=np.zeros(0, dtype=np.int8),
    )
    down = profile_preset("server-down").with_changes(token_endpoint="static")  # attempts fail
    failed = simulate(RetryPolicy(max_attempts=2), down, 50)
    ragged = SimpleNamespace(
        result=SimpleNamespace(
            policy=SEED_POLICY,
            connected=np.ones(3, dtype=bool),
            ended_at=np.ones(2),
            attempts=np.ones(3),
            strategy=np.zeros(3),
            last_error=np.zeros(3),
        )
    )
    for bad, needle in (
        (empty, "no session"),
        (failed, "0 of 50 sessions connected"),
        ([0.3, 0.5], "SessionOutcomes or a LiveRun"),
        ("runs.jsonl", "SessionOutcomes or a LiveRun"),
        (ragged, "one length"),
    ):
        with pytest.raises(ConfigError) as caught:
            calibrate(bad, bootstrap=0)
        assert caught.value.field == "observed", bad
        assert needle in str(caught.value), str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"policy": "seed"}, "policy"),
        ({"fit": ["rtt_mean"]}, "fit parameter"),
        ({"fit": []}, "fit"),
        ({"base": 42}, "base"),
        ({"base": "moon"}, "profile"),
        ({"sim_sessions": 10}, "sim_sessions"),
        ({"bootstrap": -1}, "bootstrap"),
        ({"seed": -1}, "seed"),
        ({"max_evals": 2}, "max_evals"),
    ],
)
def test_bad_arguments_raise_config_errors_naming_them(firewall_fit, kwargs, field):
    observed, _ = firewall_fit
    with pytest.raises(ConfigError) as caught:
        calibrate(observed, **kwargs)
    assert caught.value.field == field
    if field == "fit parameter":
        assert isinstance(caught.value, UnknownNameError) and "rtt_median_s" in str(caught.value)


def test_ws_blocked_share_cannot_be_fitted_without_a_websocket_rung():
    http_only = RetryPolicy(ladder=(Strategy.LONG_POLLING,), max_attempts=2)
    observed = simulate(http_only, profile_preset("broadband"), 200, seed=1)
    with pytest.raises(ConfigError, match="no WebSocket rung"):
        calibrate(observed, fit=["ws_blocked_share"])
    assert observations(observed).sessions == 200


# --------------------------------------------------------------------------- info and figure
@pytest.fixture(scope="module")
def small_fit() -> Calibration:
    """Few sessions on both sides, so no ECDF is thinned."""
    observed = simulate(SEED_POLICY, profile_preset("broadband"), 300, seed=1)
    return calibrate(
        observed, base="broadband", fit=["rtt_median_s"], sim_sessions=1_000, seed=3, bootstrap=0
    )


def ecdf_by_hand(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.unique(times)
    return x, np.array([np.mean(times <= t) for t in x])


def test_calibration_info_ecdfs_and_ks_from_first_principles(small_fit):
    info = calibration_info(small_fit)
    observed = small_fit.observed.ended_at[small_fit.observed.connected]
    fitted = small_fit.simulated.ended_at[small_fit.simulated.connected]
    for curve, times in ((info.observed, observed), (info.fitted, fitted)):
        x, y = ecdf_by_hand(times)
        np.testing.assert_array_equal(curve.x, x)
        np.testing.assert_allclose(curve.y, y)
        assert curve.connected == times.size
    grid = np.concatenate((observed, fitted))
    brute = max(abs(np.mean(observed <= t) - np.mean(fitted <= t)) for t in grid)
    assert info.ks == pytest.approx(brute) and small_fit.ks == pytest.approx(brute)
    sim = small_fit.simulated
    ws = np.isin(sim.strategy, [s.code for s in Strategy if s.uses_websocket]) & sim.connected
    np.testing.assert_allclose(
        info.fitted_shares,
        [sim.connected.mean(), (sim.connected & (sim.attempts == 1)).mean(), ws.mean(), 0.0],
    )
    assert info.names == ("rtt_median_s",) and info.values[0] == small_fit.values["rtt_median_s"]
    assert info.texts[0].endswith("ms") and info.base_name == "broadband"
    assert math.isfinite(info.x_range[0]) and info.x_range[0] > 0


def test_calibration_figure_shows_both_curves_the_shares_and_the_fit(small_fit):
    fig = plot_calibration(small_fit)
    assert isinstance(fig, go.Figure) and len(fig.data) == 4
    assert fig.data[0].name.startswith("fitted") and fig.data[1].name.startswith("observed")
    said = heading(fig)
    assert f"(KS distance) {small_fit.ks:.3f}" in said
    assert "rtt_median_s" not in said and "RTT median" in said  # words, not field names
    assert calibration_figure(
        calibration_info(small_fit), title="Fit"
    ).layout.title.text.startswith("Fit")
    same = figure_from_info(calibration_info(small_fit))
    assert same.to_plotly_json() == fig.to_plotly_json()
    with pytest.raises(ConfigError):
        calibration_info(small_fit.observed)


# --------------------------------------------------------------------------- live
LIVE_POLICY = RetryPolicy(
    base_timeout=2.0,  # 0.4 s of wall time: a loaded machine does not time out a good path
    max_timeout=2.0,
    extended_timeout=2.0,
    timeout_growth=1.0,
    max_attempts=4,
    initial_delay=0.25,
    multiplier=1.0,
    max_delay=0.25,
    jitter=0.2,
    ladder=(Strategy.DIRECT_WEBSOCKET, Strategy.DIRECT_WEBSOCKET, Strategy.LONG_POLLING),
)
LAB = NetworkProfile(
    "lab-calibration",
    rtt_median_s=0.1,
    rtt_sigma=0.3,
    stall_probability=0.05,
    ws_blocked_share=0.3,
    ws_block_mode=FaultMode.FORBIDDEN,  # fails in 2 RTT: the run stays short
)


def test_fit_to_a_live_run_against_the_lab_finds_its_proxy_share_and_rtt():
    """60 real sessions, 5 at a time, at the automatic time scale (about 10 s here).

    At a fixed 0.2 this failed on a loaded machine (fitted share 0.32 against 0.38 seen):
    the harness's CPU time, magnified 5x, read as network time and the fit bent other
    parameters to explain it. The automatic scale keeps the harness within 5 % of the
    median connect, so the timings carry the network, not the machine.

    Honest tolerances for 60 sessions: the lab draws which sessions sit behind the proxy, so
    the run's own share (the sessions whose upgrade got a 403, from the attempt records) is
    0.3 +/- 0.06 (one binomial sd); the fit must find that share within 0.05 and 0.3
    within 0.2. RTT: about 40 first-attempt successes give the median to +/- 6 %; what the
    harness may still add (up to 5 %, more when the machine's load changes during the run)
    only lengthens it, so the band is asymmetric.
    """
    live = run(
        run_live(LIVE_POLICY, 60, concurrency=5, seed=1, time_scale="auto", lab_profile=LAB),
        90,
    )
    base = LAB.with_changes(
        rtt_median_s=0.03, rtt_sigma=0.6, stall_probability=0.0, ws_blocked_share=0.0
    )
    fit = calibrate(live, base=base, seed=2, bootstrap=0)
    assert fit.policy is LIVE_POLICY and fit.observed_sessions == 60
    rejected = {
        r.session for r in live.records if r.error_category == ErrorCategory.UPGRADE_REJECTED
    }
    behind_proxy = len(rejected) / 60
    assert fit.values["ws_blocked_share"] == pytest.approx(behind_proxy, abs=0.05)
    assert fit.values["ws_blocked_share"] == pytest.approx(LAB.ws_blocked_share, abs=0.2)
    assert 0.075 <= fit.values["rtt_median_s"] <= 0.15
    assert 0.0 <= fit.values["stall_probability"] <= 0.2
