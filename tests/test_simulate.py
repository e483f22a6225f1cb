"""The vectorised simulator: reproducibility, structural invariants, and agreement in
distribution with the scalar reference loop that drives the live planner."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers import SUMMARY_KEYS

from chatconn.core.errors import ConfigError
from chatconn.core.model import ROUND_TRIPS
from chatconn.core.policy import RetryPolicy
from chatconn.core.presets import policy_preset, policy_preset_names
from chatconn.core.profiles import NetworkProfile, Population, population_preset, profile_preset
from chatconn.core.strategies import ErrorCategory, Strategy
from chatconn.outcomes import SessionOutcomes
from chatconn.reference import simulate_reference
from chatconn.simulate import DEFAULT_CHUNK_SESSIONS, simulate
from chatconn.streams import BLOCK_SESSIONS

ARRAYS = (
    "connected",
    "time_to_connect",
    "ended_at",
    "attempts",
    "strategy",
    "last_error",
    "profile",
)
HTTP_CODES = {Strategy.LONG_POLLING.code, Strategy.SSE_FALLBACK.code}
WEBSOCKET_ONLY = [
    name
    for name in policy_preset_names()
    if all(s.uses_websocket for s in policy_preset(name).ladder)
]


def static_token(name: str) -> NetworkProfile:
    """A preset whose token is known in advance: the attempts themselves meet its outage
    (with the token from the server, the token fetch fails first: test_token_model.py)."""
    return profile_preset(name).with_changes(token_endpoint="static")


def assert_identical(a: SessionOutcomes, b: SessionOutcomes) -> None:
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: sup |F_a - F_b| over all sample points."""
    a, b = np.sort(a), np.sort(b)
    points = np.concatenate([a, b])
    fa = np.searchsorted(a, points, side="right") / a.size
    fb = np.searchsorted(b, points, side="right") / b.size
    return float(np.abs(fa - fb).max())


def ks_critical_001(n: int, m: int) -> float:
    """Critical value of the two-sample KS statistic at the 0.001 level (c = 1.95)."""
    return 1.95 * math.sqrt((n + m) / (n * m))


# --------------------------------------------------------------------------- the KS helper


def test_ks_distance_of_a_sample_with_itself_is_zero_and_of_disjoint_samples_is_one():
    x = np.random.default_rng(0).random(500)
    assert ks_distance(x, x) == 0.0
    assert ks_distance(x, x + 2.0) == 1.0


def test_ks_distance_detects_a_shift_that_the_critical_value_rejects():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.0, 1.0, 3000), rng.normal(0.3, 1.0, 3000)
    assert ks_distance(a, b) > ks_critical_001(3000, 3000)


# --------------------------------------------------------------------------- reproducibility

SESSIONS = 2 * BLOCK_SESSIONS + 7_000  # three blocks, the last one partial


@pytest.mark.parametrize(("policy", "profile"), [("seed", "flaky-wifi"), ("grpc", "3g")])
def test_same_seed_gives_identical_arrays_whatever_the_chunk_size(policy, profile):
    pol, prof = policy_preset(policy), profile_preset(profile)
    results = [
        simulate(pol, prof, SESSIONS, seed=42, chunk_sessions=chunk)
        for chunk in (BLOCK_SESSIONS, 2 * BLOCK_SESSIONS, DEFAULT_CHUNK_SESSIONS)
    ]
    results.append(simulate(pol, prof, SESSIONS, seed=42))
    for other in results[1:]:
        assert_identical(results[0], other)


def test_population_is_reproducible_across_chunk_sizes():
    population = population_preset("global-users")
    pol = policy_preset("aws-decorrelated")
    a = simulate(pol, population, 50_000, seed=9, chunk_sessions=BLOCK_SESSIONS)
    b = simulate(pol, population, 50_000, seed=9)
    assert_identical(a, b)
    assert a.profile_names == tuple(p.name for p in population.profiles)


def test_different_seeds_give_different_results():
    pol, prof = policy_preset("seed"), profile_preset("flaky-wifi")
    a = simulate(pol, prof, 20_000, seed=1)
    b = simulate(pol, prof, 20_000, seed=2)
    assert not np.array_equal(a.ended_at, b.ended_at)
    assert a.seed == 1 and b.seed == 2


def test_a_prefix_of_sessions_does_not_depend_on_the_total():
    # Blocks are keyed by position, so the first block's sessions are the same in a longer run.
    pol, prof = policy_preset("seed"), profile_preset("4g")
    short = simulate(pol, prof, BLOCK_SESSIONS, seed=5)
    long = simulate(pol, prof, 3 * BLOCK_SESSIONS, seed=5)
    assert np.array_equal(short.ended_at, long.ended_at[:BLOCK_SESSIONS])


# --------------------------------------------------------------------------- argument checks


@pytest.mark.parametrize(
    "chunk", [BLOCK_SESSIONS + 1, 10_000, BLOCK_SESSIONS // 2, 0, -BLOCK_SESSIONS, True, 16384.0]
)
def test_chunk_sessions_must_be_a_positive_multiple_of_the_block(chunk):
    with pytest.raises(ConfigError) as info:
        simulate(policy_preset("seed"), profile_preset("fiber"), 100, chunk_sessions=chunk)
    assert info.value.field == "chunk_sessions"
    assert str(BLOCK_SESSIONS) in str(info.value)


@pytest.mark.parametrize("sessions", [0, -1, True, False, 1.5, "10", None])
def test_invalid_session_counts_raise(sessions):
    with pytest.raises(ConfigError) as info:
        simulate(policy_preset("seed"), profile_preset("fiber"), sessions)
    assert info.value.field == "sessions"


@pytest.mark.parametrize("seed", [-1, 1.0, True, "0"])
def test_invalid_seeds_raise(seed):
    with pytest.raises(ConfigError) as info:
        simulate(policy_preset("seed"), profile_preset("fiber"), 10, seed=seed)
    assert info.value.field == "seed"


def test_policy_and_target_types_are_checked():
    with pytest.raises(ConfigError):
        simulate("seed", profile_preset("fiber"), 10)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        simulate(policy_preset("seed"), "fiber", 10)  # type: ignore[arg-type]


def test_the_reference_checks_its_arguments_too():
    with pytest.raises(ConfigError):
        simulate_reference(policy_preset("seed"), profile_preset("fiber"), 0)
    with pytest.raises(ConfigError):
        simulate_reference(policy_preset("seed"), profile_preset("fiber"), 10, seed=-3)


# --------------------------------------------------------------------------- invariants


@pytest.fixture(scope="module")
def flaky() -> SessionOutcomes:
    # 3 attempts: ~0.5 % of sessions fail every one (~200 of 40,000), whatever the seed;
    # with all 6 a failure is rarer than 1 in 40,000 and the invariants below go untested.
    policy = policy_preset("seed").with_changes(max_attempts=3)
    return simulate(policy, profile_preset("flaky-wifi"), 40_000, seed=3)


def test_result_arrays_have_one_entry_per_session(flaky):
    assert flaky.sessions == 40_000
    for name in ARRAYS:
        assert getattr(flaky, name).shape == (40_000,), name


def test_time_to_connect_is_ended_at_for_connected_and_nan_otherwise(flaky):
    ok = flaky.connected
    assert ok.any() and (~ok).any()  # flaky Wi-Fi: some fail, most connect
    np.testing.assert_array_equal(flaky.time_to_connect[ok], flaky.ended_at[ok])
    assert np.isnan(flaky.time_to_connect[~ok]).all()


def test_strategy_codes_follow_the_ladder(flaky):
    policy = flaky.policy
    ok = flaky.connected
    assert (flaky.strategy[~ok] == -1).all()
    expected = np.array([policy.strategy_for(k - 1).code for k in flaky.attempts[ok]])
    np.testing.assert_array_equal(flaky.strategy[ok], expected)


def test_attempts_and_last_errors_are_consistent(flaky):
    policy = flaky.policy
    assert flaky.attempts.min() >= 1
    assert flaky.attempts.max() <= policy.max_attempts
    assert (flaky.attempts[~flaky.connected] == policy.max_attempts).all()  # no deadline
    first_try = flaky.connected & (flaky.attempts == 1)
    assert (flaky.last_error[first_try] == ErrorCategory.NONE).all()
    retried = flaky.attempts > 1
    assert (flaky.last_error[retried] != ErrorCategory.NONE).all()
    assert (flaky.last_error[~flaky.connected] != ErrorCategory.NONE).all()


def test_connect_times_include_the_server_time(flaky):
    # A successful attempt includes auth + sync + transfer on top of its round trips.
    assert (flaky.ended_at > 0).all()
    profile = profile_preset("flaky-wifi")
    floor = profile.auth_s + profile.sync_s + profile.transfer_s
    assert (flaky.time_to_connect[flaky.connected] > floor).all()


def test_random_draws_are_counted(flaky):
    assert flaky.random_draws["lognormal"] == flaky.sessions
    assert flaky.random_draws["uniform"] > 0


def test_population_sessions_are_split_by_share():
    population = population_preset("global-users")
    result = simulate(policy_preset("seed"), population, 30_000, seed=4)
    counts = np.bincount(result.profile, minlength=len(population.profiles))
    assert tuple(int(c) for c in counts) == population.split(30_000)
    assert result.target == "global-users"


def test_a_single_profile_is_its_own_population():
    result = simulate(policy_preset("seed"), profile_preset("4g"), 1000, seed=0)
    assert result.profile_names == ("4g",)
    assert result.target == "4g"
    assert (result.profile == 0).all()


def test_two_profile_population_mixes_their_outcomes():
    down, fine = profile_preset("server-down"), profile_preset("fiber")
    population = Population("half", ((down, 1), (fine, 1)))
    result = simulate(policy_preset("seed"), population, 4000, seed=2)
    assert not result.connected[result.profile == 0].any()
    assert result.connected[result.profile == 1].mean() > 0.99


# --------------------------------------------------------------------------- scenarios


def test_corporate_firewall_connects_seed_policy_over_http_only():
    policy = policy_preset("seed")
    result = simulate(policy, profile_preset("corporate-firewall"), 20_000, seed=1)
    ok = result.connected
    assert ok.mean() > 0.99
    assert set(np.unique(result.strategy[ok]).tolist()) <= HTTP_CODES
    first_http = min(
        k for k in range(policy.max_attempts) if not policy.strategy_for(k).uses_websocket
    )
    assert (result.attempts[ok] >= first_http + 1).all()
    # The four WebSocket attempts before it all hung until their timeouts (15, 21, the
    # 120 s extended rung, 15 * 1.4**3), with waits of at least 0.6 x 1, 1.4, 1.96, 2.744 s.
    hung = 15.0 + 21.0 + 120.0 + 15.0 * 1.4**3 + 0.6 * (1.0 + 1.4 + 1.96 + 2.744)
    assert (result.time_to_connect[ok] >= hung - 1e-9).all()


@pytest.mark.parametrize("name", WEBSOCKET_ONLY)
def test_websocket_only_presets_never_connect_behind_corporate_firewall(name):
    policy = policy_preset(name)
    result = simulate(policy, profile_preset("corporate-firewall"), 5_000, seed=1)
    assert not result.connected.any()
    assert (result.attempts == policy.max_attempts).all()
    assert (result.last_error == ErrorCategory.TIMEOUT).all()


def test_socketio_and_signalr_are_websocket_only():
    assert {"socketio", "signalr"} <= set(WEBSOCKET_ONLY)
    assert "seed" not in WEBSOCKET_ONLY


@pytest.mark.parametrize("name", policy_preset_names())
@pytest.mark.parametrize(
    ("profile", "error"),
    [("server-down", ErrorCategory.REFUSED), ("blackhole", ErrorCategory.TIMEOUT)],
)
def test_unreachable_server_uses_every_attempt_and_never_connects(name, profile, error):
    policy = policy_preset(name)
    result = simulate(policy, static_token(profile), 3_000, seed=8)
    assert result.connected.sum() == 0
    assert (result.attempts == policy.max_attempts).all()
    assert (result.last_error == error).all()
    summary = result.summary()
    assert summary["success_rate"] == 0.0
    assert summary["quality"]["critical"] == 3_000


def test_blackhole_session_lasts_every_timeout_plus_every_wait():
    # seed: timeouts min(15 * 1.4**k, 90) with the third rung extended to 120 s;
    # waits 1 * 1.4**(k-1) with +/-40 % jitter between the six attempts.
    timeouts = [min(15 * 1.4**k, 90.0) for k in range(6)]
    timeouts[2] = 120.0
    waits = [1.4**k for k in range(5)]
    result = simulate(policy_preset("seed"), static_token("blackhole"), 5_000, seed=6)
    low, high = sum(timeouts) + 0.6 * sum(waits), sum(timeouts) + 1.4 * sum(waits)
    assert result.ended_at.min() >= low - 1e-9
    assert result.ended_at.max() <= high + 1e-9
    # With 5,000 sessions the jitter spreads the end over most of that range.
    assert result.ended_at.max() - result.ended_at.min() > 0.5 * (high - low)


def test_server_down_fails_fast_on_refusals():
    # Refused after 1 RTT: a session lasts its waits plus a few RTTs, far below the timeouts.
    result = simulate(policy_preset("seed"), static_token("server-down"), 5_000, seed=6)
    waits = sum(1.4**k for k in range(5))
    assert result.ended_at.min() >= 0.6 * waits
    assert np.median(result.ended_at) < 1.4 * waits + 6 * 1.0


@pytest.mark.parametrize("profile", ["blackhole", "server-down", "flaky-wifi"])
def test_deadline_bounds_every_session(profile):
    policy = policy_preset("seed").with_changes(deadline=60)
    result = simulate(policy, profile_preset(profile), 20_000, seed=3)
    assert result.ended_at.max() <= 60.0 + 1e-9
    ok = result.connected
    assert (result.time_to_connect[ok] <= 60.0 + 1e-9).all()


def test_deadline_on_blackhole_ends_sessions_early():
    policy = policy_preset("seed").with_changes(deadline=60)
    result = simulate(policy, static_token("blackhole"), 5_000, seed=3)
    # 15 + 21 s of timeouts and two waits leave the 120 s rung cut at the deadline.
    assert not result.connected.any()
    assert (result.attempts < policy.max_attempts).all()
    np.testing.assert_allclose(result.ended_at, 60.0, rtol=0, atol=1e-9)
    reference = simulate_reference(policy, static_token("blackhole"), 300, seed=3)
    np.testing.assert_allclose(reference.ended_at, 60.0, rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- summary


@pytest.mark.parametrize("profile", ["3g", "flaky-wifi", "corporate-firewall", "satellite"])
def test_summary_keys_and_consistency(profile):
    result = simulate(policy_preset("seed"), profile_preset(profile), 20_000, seed=12)
    s = result.summary()
    assert set(s) == SUMMARY_KEYS
    assert s["sessions"] == 20_000
    assert s["success_rate"] == pytest.approx(result.connected.mean())
    assert s["attempts_mean"] == pytest.approx(result.attempts.mean())
    assert set(s["quality"]) == {"excellent", "good", "poor", "critical"}
    assert sum(s["quality"].values()) == 20_000
    assert s["quality"]["critical"] >= int((~result.connected).sum())
    assert set(s["strategy_share"]) == {st.value for st in Strategy}
    assert sum(s["strategy_share"].values()) == pytest.approx(1.0)
    assert all(0.0 <= v <= 1.0 for v in s["strategy_share"].values())
    t = s["time_to_connect_s"]
    assert set(t) == {"p50", "p90", "p95", "p99", "mean"}
    assert t["p50"] <= t["p90"] <= t["p95"] <= t["p99"]
    times = result.time_to_connect[result.connected]
    assert t["p50"] == pytest.approx(np.median(times))
    assert times.min() <= t["mean"] <= times.max()
    json.dumps(s, allow_nan=False)


def test_sessions_of_a_policy_that_gives_up_are_reported_as_given_up():
    # The seed app stops after 6 attempts: a session that did not connect gave up.
    result = simulate(policy_preset("seed"), profile_preset("server-down"), 2_000, seed=1)
    s = result.summary()
    assert s["gave_up"] == 2_000 and s["still_trying"] == 0
    assert result.gave_up.all() and not result.still_trying.any()


def test_sessions_of_a_policy_that_retries_forever_are_still_trying_not_given_up():
    # websockets never gives up: after the preset's 10 simulated attempts a session that
    # has not connected is still trying, not failed for good.
    policy = policy_preset("websockets")
    result = simulate(policy, static_token("server-down"), 2_000, seed=1)
    s = result.summary()
    assert s["still_trying"] == 2_000 and s["gave_up"] == 0
    assert (result.attempts == policy.max_attempts).all()
    # ... unless its deadline ends the connect first: then it gave up.
    short = policy.with_changes(deadline=20.0)
    s = simulate(short, static_token("server-down"), 2_000, seed=1).summary()
    assert s["gave_up"] == 2_000 and s["still_trying"] == 0
    mixed = simulate(policy, profile_preset("flaky-wifi"), 20_000, seed=2).summary()
    failed = round((1 - mixed["success_rate"]) * 20_000)
    assert mixed["gave_up"] + mixed["still_trying"] == failed


def test_summary_quality_counts_follow_the_thresholds():
    result = simulate(policy_preset("seed"), profile_preset("3g"), 20_000, seed=13)
    t = result.time_to_connect
    q = result.summary()["quality"]
    ok = result.connected
    assert q["excellent"] == int((t[ok] < 2).sum())
    assert q["good"] == int(((t[ok] >= 2) & (t[ok] < 8)).sum())
    assert q["poor"] == int(((t[ok] >= 8) & (t[ok] < 15)).sum())
    assert q["critical"] == int((t[ok] >= 15).sum() + (~ok).sum())


def test_summary_with_no_connection_is_nan_free():
    result = simulate(policy_preset("seed"), profile_preset("server-down"), 2_000, seed=1)
    s = result.summary()
    assert s["success_rate"] == 0.0
    assert all(v is None for v in s["time_to_connect_s"].values())
    assert all(v == 0.0 for v in s["strategy_share"].values())
    json.dumps(s, allow_nan=False)


def test_strategy_shares_match_connected_strategies():
    result = simulate(policy_preset("seed"), profile_preset("flaky-wifi"), 20_000, seed=2)
    share = result.summary()["strategy_share"]
    ok = result.connected
    for strategy in Strategy:
        expected = (result.strategy[ok] == strategy.code).mean()
        assert share[strategy.value] == pytest.approx(expected)
    assert share["direct_websocket"] > 0.5  # most sessions connect on the first rung


# --------------------------------------------------------------------------- vs reference

PAIRS = [
    ("seed", "flaky-wifi", {}),
    ("grpc", "3g", {}),
    ("socketio", "flaky-wifi", {}),
    ("aws-decorrelated", "corporate-firewall", {}),
    ("websockets", "satellite", {}),
    ("signalr", "flaky-wifi", {}),
    ("seed", "flaky-wifi", {"deadline": 60.0}),
    ("grpc", "flaky-wifi", {"deadline": 45.0}),
]


def _mean_close(a: np.ndarray, b: np.ndarray) -> None:
    a, b = a.astype(float), b.astype(float)
    se = math.sqrt(a.var() / a.size + b.var() / b.size)
    assert abs(a.mean() - b.mean()) <= 4.5 * se + 1e-12, (a.mean(), b.mean(), se)


@pytest.mark.parametrize(("policy", "profile", "changes"), PAIRS)
def test_vectorised_simulator_matches_the_reference_in_distribution(policy, profile, changes):
    pol = policy_preset(policy)
    if changes:
        pol = pol.with_changes(**changes)
    prof = profile_preset(profile)
    fast = simulate(pol, prof, 50_000, seed=101)
    slow = simulate_reference(pol, prof, 2_500, seed=202)
    n, m = fast.sessions, slow.sessions

    assert ks_distance(fast.ended_at, slow.ended_at) < ks_critical_001(n, m)
    a, b = fast.time_to_connect[fast.connected], slow.time_to_connect[slow.connected]
    if a.size and b.size:
        assert ks_distance(a, b) < ks_critical_001(a.size, b.size)

    p1, p2 = fast.connected.mean(), slow.connected.mean()
    pooled = (p1 * n + p2 * m) / (n + m)
    assert abs(p1 - p2) <= 4.5 * math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / m)) + 1e-12
    _mean_close(fast.attempts, slow.attempts)
    # Which rung connected and why the last attempt failed: same shares, category by category.
    for name in ("strategy", "last_error"):
        x, y = getattr(fast, name), getattr(slow, name)
        for value in np.union1d(x, y):
            _mean_close(x == value, y == value)


def test_reference_result_has_the_simulator_shape():
    pol, prof = policy_preset("seed"), profile_preset("3g")
    ref = simulate_reference(pol, prof, 200, seed=1)
    assert isinstance(ref, SessionOutcomes)
    assert ref.sessions == 200
    assert ref.profile_names == ("3g",)
    ok = ref.connected
    np.testing.assert_array_equal(ref.time_to_connect[ok], ref.ended_at[ok])
    assert np.isnan(ref.time_to_connect[~ok]).all()
    assert set(ref.summary()) == SUMMARY_KEYS


def test_fast_path_timing_is_four_round_trips_when_nothing_fails():
    # A profile without randomness apart from the RTT: every session connects on attempt 1
    # in 4 RTT + auth + sync; the simulated median is then 4 * median RTT + auth + sync.
    profile = NetworkProfile("calm", rtt_median_s=0.1, rtt_sigma=0.3, auth_s=0.05, sync_s=0.05)
    result = simulate(RetryPolicy(), profile, 40_000, seed=3)
    assert result.connected.all()
    assert (result.attempts == 1).all()
    rounds = ROUND_TRIPS[Strategy.DIRECT_WEBSOCKET]
    assert np.median(result.time_to_connect) == pytest.approx(rounds * 0.1 + 0.1, rel=0.02)
