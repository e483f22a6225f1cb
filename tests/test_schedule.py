"""The schedule formulas: nominal sequences, jitter modes, deadline helpers, scalar == array.

Expected values come from the published sources quoted in the presets' docstrings
(websockets' backoff() generator, gRPC's connection-backoff.md, socket.io-client's backo2,
SignalR's DefaultReconnectPolicy, botocore, the AWS backoff simulator) or from first
principles (15 * 1.4**k), never from the code's own output.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatconn.core.planner import AttemptPlan, ConnectPlanner, GiveUp
from chatconn.core.policy import JitterMode, RetryPolicy, WaitAnchor
from chatconn.core.presets import policy_preset, policy_preset_names
from chatconn.core.schedule import (
    Schedule,
    attempt_timeout,
    draw_waits,
    jitter_mode_for,
    next_start,
    nominal_timeouts,
    nominal_waits,
    spans_backoff,
    within_deadline,
)
from chatconn.core.strategies import Strategy

N = 20_000  # sessions for the distribution tests
Z = 5.0  # standard errors allowed for a sample mean


def _assert_mean(sample: np.ndarray, mean: float, sd: float) -> None:
    se = sd / math.sqrt(sample.size)
    assert abs(float(sample.mean()) - mean) <= Z * se, (float(sample.mean()), mean, se)


def _uniforms(seed: int, sessions: int, attempts: int) -> np.ndarray:
    """The uniforms draw_waits documents it draws: rng.random((sessions, A)) once."""
    return np.random.default_rng(seed).random((sessions, attempts))


# ======================================================================= seed
def test_seed_nominal_timeouts_grow_by_1_4_with_the_extended_rung_at_120():
    expected = [15.0, 15 * 1.4, 120.0, 15 * 1.4**3, 15 * 1.4**4, 15 * 1.4**5]
    assert expected[1] == pytest.approx(21.0)
    assert expected[3:] == pytest.approx([41.16, 57.624, 80.6736])
    assert nominal_timeouts(policy_preset("seed")).tolist() == pytest.approx(expected, rel=1e-12)


def test_seed_nominal_waits_grow_by_1_4_from_one_second():
    expected = [1.4**k for k in range(6)]
    assert expected[:3] == pytest.approx([1.0, 1.4, 1.96])
    assert nominal_waits(policy_preset("seed")).tolist() == pytest.approx(expected, rel=1e-12)


def test_nominal_timeouts_cap_at_max_timeout():
    policy = RetryPolicy(max_attempts=10, ladder=("direct_websocket",))
    expected = [min(15 * 1.4**k, 90.0) for k in range(10)]
    assert expected[-1] == 90.0
    assert nominal_timeouts(policy).tolist() == pytest.approx(expected, rel=1e-12)


def test_nominal_waits_cap_at_max_delay_before_jitter():
    policy = RetryPolicy(max_attempts=15)
    expected = [min(1.4**k, 30.0) for k in range(15)]
    assert expected[-1] == 30.0
    assert nominal_waits(policy).tolist() == pytest.approx(expected, rel=1e-12)


def test_nominal_waits_count_argument_extends_the_sequence():
    policy = RetryPolicy(max_attempts=2)
    assert nominal_waits(policy, 4).tolist() == pytest.approx([1.0, 1.4, 1.96, 2.744])
    assert nominal_waits(policy, 0).shape == (0,)


def test_seed_draw_timeouts_are_the_nominal_timeouts():
    policy = policy_preset("seed")
    schedule = Schedule.draw(policy, np.random.default_rng(3))
    assert schedule.timeouts == tuple(nominal_timeouts(policy).tolist())


def test_seed_drawn_waits_are_within_40_percent_of_nominal():
    policy = policy_preset("seed")
    waits = draw_waits(policy, np.random.default_rng(11), N)
    nominal = np.array([1.4**k for k in range(6)])
    assert np.all(waits >= nominal * 0.6 - 1e-12)
    assert np.all(waits < nominal * 1.4 + 1e-12)
    for k in range(6):
        _assert_mean(waits[:, k], nominal[k], nominal[k] * 0.4 / math.sqrt(3))


def test_schedule_attempts_describe_strategy_timeout_and_wait_before():
    policy = policy_preset("seed")
    schedule = Schedule.draw(policy, np.random.default_rng(5))
    attempts = schedule.attempts
    assert [a.index for a in attempts] == list(range(6))
    assert [a.strategy for a in attempts] == list(policy.ladder)
    assert attempts[0].wait_before == 0.0
    for k in range(1, 6):
        assert attempts[k].wait_before == schedule.waits_after[k - 1]
        assert attempts[k].timeout == schedule.timeouts[k]


# ======================================================================= websockets
def _websockets_backoff(count: int) -> list[float]:
    """The nominal part of websockets 17.4 backoff(): 3.1, *1.618 while < 90, then 90."""
    out: list[float] = []
    delay = 3.1
    while delay < 90.0 and len(out) < count:
        out.append(delay)
        delay *= 1.618
    while len(out) < count:
        out.append(90.0)
    return out


def test_websockets_nominal_waits_follow_its_generator_after_the_random_first():
    policy = policy_preset("websockets")
    ramp = _websockets_backoff(9)
    published = [3.1, 5.0158, 8.1156, 13.131, 21.246, 34.376, 55.620, 89.994]
    assert ramp[:8] == pytest.approx(published, abs=6e-4)
    assert ramp[8] == 90.0
    assert nominal_waits(policy)[1:].tolist() == pytest.approx(ramp, rel=1e-12)


def test_websockets_first_wait_is_uniform_on_zero_five_then_exact_ramp():
    policy = policy_preset("websockets")
    waits = draw_waits(policy, np.random.default_rng(7), N)
    first = waits[:, 0]
    assert first.min() >= 0.0
    assert first.max() < 5.0
    _assert_mean(first, 2.5, 5.0 / math.sqrt(12))
    assert np.quantile(first, 0.9) > 4.0  # spread over the whole interval
    ramp = np.array(_websockets_backoff(9))
    np.testing.assert_allclose(waits[:, 1:], np.broadcast_to(ramp, (N, 9)), rtol=1e-12)
    assert np.all(waits[:, 1:] == waits[0, 1:])  # no jitter after the first


def test_websockets_timeout_is_open_timeout_10s():
    schedule = Schedule.draw(policy_preset("websockets"), np.random.default_rng(0))
    assert schedule.timeouts == (10.0,) * 10


# ======================================================================= gRPC
def test_grpc_spec_first_wait_is_exactly_one_second_without_jitter():
    waits = draw_waits(policy_preset("grpc-spec"), np.random.default_rng(1), N)
    assert np.all(waits[:, 0] == 1.0)
    core = draw_waits(policy_preset("grpc"), np.random.default_rng(1), N)
    np.testing.assert_array_equal(waits[:, 1:], core[:, 1:])  # the same after the first


def test_grpc_core_first_wait_is_one_second_plus_minus_20_percent():
    # src/core/util/backoff.cc: the first NextAttemptDelay() is initial_backoff *
    # U(1 - jitter, 1 + jitter); measured with grpcio 1.85: 0.80-1.20 s, mean 1.00.
    first = draw_waits(policy_preset("grpc"), np.random.default_rng(1), N)[:, 0]
    assert first.min() >= 0.8 and first.max() < 1.2
    assert first.min() < 0.81 and first.max() > 1.19
    _assert_mean(first, 1.0, 0.2 / math.sqrt(3))


@pytest.mark.parametrize("name", ["grpc", "grpc-spec"])
def test_grpc_nominal_waits_1_6_growth_capped_at_120(name):
    expected = [1.0] + [min(1.6**k, 120.0) for k in range(1, 12)]
    assert expected[1:4] == pytest.approx([1.6, 2.56, 4.096])
    assert expected[10] == pytest.approx(109.951, abs=1e-3)
    assert expected[11] == 120.0
    assert nominal_waits(policy_preset(name)).tolist() == pytest.approx(expected, rel=1e-12)


def test_grpc_jitter_is_plus_minus_20_percent_around_the_capped_nominal():
    policy = policy_preset("grpc")
    waits = draw_waits(policy, np.random.default_rng(2), N)
    for k in range(1, 12):
        nominal = min(1.6**k, 120.0)
        col = waits[:, k]
        assert col.min() >= nominal * 0.8 - 1e-9
        assert col.max() < nominal * 1.2 + 1e-9
        _assert_mean(col, nominal, nominal * 0.2 / math.sqrt(3))
    capped = waits[:, 11]
    assert capped.max() > 120.0  # the cap applies before the jitter ...
    assert capped.max() > 140.0  # ... so waits spread up to 144 s
    assert capped.min() < 100.0  # ... and down to 96 s


def test_grpc_timeout_spans_to_the_next_backoff_deadline_with_a_20s_minimum():
    policy = policy_preset("grpc")
    for seed in range(5):
        schedule = Schedule.draw(policy, np.random.default_rng(seed))
        for timeout, wait in zip(schedule.timeouts, schedule.waits_after, strict=True):
            assert timeout == max(20.0, wait)
        assert schedule.timeouts[0] == 20.0
        assert schedule.timeouts[-1] > 20.0  # the 120 s backoff outlasts 20 s


def test_spans_backoff_only_when_enabled():
    on = RetryPolicy(timeout_spans_backoff=True)
    off = RetryPolicy()
    assert spans_backoff(on, 20.0, 30.0) == 30.0
    assert spans_backoff(on, 20.0, 5.0) == 20.0
    assert spans_backoff(off, 20.0, 30.0) == 20.0
    np.testing.assert_array_equal(
        spans_backoff(on, np.array([20.0, 20.0]), np.array([5.0, 25.0])), [20.0, 25.0]
    )


# ======================================================================= socket.io backo2
def _backo2_ms(attempt: int, rand: float) -> int:
    """socket.io-client 4.8.4 Backoff.prototype.duration(), min 1000, max 5000, jitter 0.5."""
    ms = 1000 * 2**attempt
    deviation = math.floor(rand * 0.5 * ms)
    ms = ms - deviation if (math.floor(rand * 10) & 1) == 0 else ms + deviation
    return int(min(ms, 5000))


@pytest.fixture(scope="module")
def socketio_waits() -> np.ndarray:
    return draw_waits(policy_preset("socketio"), np.random.default_rng(2024), 100_000)


def test_socketio_waits_are_whole_milliseconds(socketio_waits):
    ms = socketio_waits * 1000.0
    assert np.all(np.abs(ms - np.round(ms)) < 1e-6)


@pytest.mark.parametrize(
    ("retry", "low_ms", "high_ms"),
    [(1, 551, 1499), (2, 1101, 2999), (3, 2201, 5000), (4, 4401, 5000)],
)
def test_socketio_waits_span_the_measured_ranges(socketio_waits, retry, low_ms, high_ms):
    ms = np.round(socketio_waits[:, retry - 1] * 1000.0)
    assert ms.min() == low_ms
    assert ms.max() == high_ms


def test_socketio_waits_are_exactly_5s_from_the_5th_retry(socketio_waits):
    assert np.all(socketio_waits[:, 4:] == 5.0)


def test_socketio_cap_after_jitter_puts_most_4th_retries_at_exactly_5s(socketio_waits):
    at_cap = np.mean(socketio_waits[:, 3] == 5.0)
    # backo2 at attempt 3: 8000 ms -/+ floor(rand * 4000); only rand in [0.8, 0.9) stays < 5000
    assert at_cap == pytest.approx(0.9, abs=0.01)


def test_socketio_wait_distribution_is_a_comb(socketio_waits):
    first = socketio_waits[:, 0]
    # rand in [0.1, 0.2): 1000 + (50..99); rand in [0.3, 0.4): 1000 + (150..199); nothing between
    assert not np.any((first >= 1.100) & (first < 1.150))
    assert not np.any((first > 0.900) & (first <= 0.950))
    assert np.any((first >= 1.050) & (first < 1.100))
    assert np.any((first >= 1.150) & (first < 1.200))
    assert np.any((first > 0.950) & (first <= 1.000))


def test_socketio_waits_equal_the_backo2_duration_for_the_same_rand():
    policy = policy_preset("socketio")
    sessions = 2_000
    waits = draw_waits(policy, np.random.default_rng(99), sessions)
    rand = _uniforms(99, sessions, policy.max_attempts)
    for i in range(sessions):
        for k in range(policy.max_attempts):
            assert round(waits[i, k] * 1000.0) == _backo2_ms(k, float(rand[i, k]))


# ======================================================================= SignalR and AWS
def test_signalr_waits_are_exactly_0_2_10_30():
    policy = policy_preset("signalr")
    for seed in range(3):
        schedule = Schedule.draw(policy, np.random.default_rng(seed))
        assert schedule.waits_after[:4] == (0.0, 2.0, 10.0, 30.0)
    waits = draw_waits(policy, np.random.default_rng(0), 100)
    assert np.all(waits[:, :4] == np.array([0.0, 2.0, 10.0, 30.0]))


def test_delays_table_last_entry_repeats_beyond_the_table():
    policy = RetryPolicy(delays=(0.5, 2.0), max_attempts=3, jitter_mode="none")
    assert nominal_waits(policy, 5).tolist() == [0.5, 2.0, 2.0, 2.0, 2.0]


def test_aws_standard_nominal_doubles_from_50ms_and_caps_at_20s():
    policy = policy_preset("aws-standard").with_changes(max_attempts=12)
    expected = [min(0.05 * 2**k, 20.0) for k in range(12)]
    assert expected[9] == 20.0 and expected[8] < 20.0  # the cap at attempt_number 10
    assert nominal_waits(policy).tolist() == pytest.approx(expected, rel=1e-12)


# ======================================================================= scalar == array
@pytest.mark.parametrize("name", policy_preset_names())
@pytest.mark.parametrize("seed", [0, 1, 42, 2**31 - 1])
def test_scalar_draw_equals_row_zero_of_draw_waits(name, seed):
    policy = policy_preset(name)
    schedule = Schedule.draw(policy, np.random.default_rng(seed))
    rows = draw_waits(policy, np.random.default_rng(seed), 8)
    assert schedule.waits_after == tuple(rows[0].tolist())


@pytest.mark.parametrize("name", policy_preset_names())
def test_consecutive_scalar_draws_equal_consecutive_rows(name):
    policy = policy_preset(name)
    rng = np.random.default_rng(123)
    drawn = [Schedule.draw(policy, rng).waits_after for _ in range(6)]
    rows = draw_waits(policy, np.random.default_rng(123), 6)
    assert drawn == [tuple(row.tolist()) for row in rows]


# ======================================================================= jitter modes
def _mode_policy(mode: str, **changes) -> RetryPolicy:
    base = {
        "initial_delay": 2.0,
        "multiplier": 2.0,
        "max_delay": 16.0,
        "max_attempts": 7,
        "jitter": 0.3,
        "jitter_mode": mode,
        "ladder": ("direct_websocket",),
    }
    base.update(changes)
    return RetryPolicy(**base)


NOMINAL = np.array([min(2.0 * 2.0**k, 16.0) for k in range(7)])  # 2, 4, 8, 16, 16, 16, 16


def test_jitter_none_gives_exactly_the_nominal():
    waits = draw_waits(_mode_policy("none"), np.random.default_rng(0), 500)
    assert np.all(waits == NOMINAL)


def test_jitter_proportional_bounds_and_mean():
    waits = draw_waits(_mode_policy("proportional"), np.random.default_rng(1), N)
    for k, d in enumerate(NOMINAL):
        col = waits[:, k]
        assert col.min() >= d * 0.7 - 1e-12
        assert col.max() < d * 1.3 + 1e-12
        _assert_mean(col, d, d * 0.3 / math.sqrt(3))


def test_jitter_full_bounds_and_mean():
    waits = draw_waits(_mode_policy("full"), np.random.default_rng(2), N)
    for k, d in enumerate(NOMINAL):
        col = waits[:, k]
        assert col.min() >= 0.0
        assert col.max() < d
        _assert_mean(col, d / 2, d / math.sqrt(12))


def test_jitter_equal_bounds_and_mean():
    waits = draw_waits(_mode_policy("equal"), np.random.default_rng(3), N)
    for k, d in enumerate(NOMINAL):
        col = waits[:, k]
        assert col.min() >= d / 2
        assert col.max() < d
        _assert_mean(col, 3 * d / 4, (d / 2) / math.sqrt(12))


def test_jitter_decorrelated_bounds_and_first_wait_uniform_on_base_3base():
    policy = _mode_policy("decorrelated")
    waits = draw_waits(policy, np.random.default_rng(4), N)
    base = policy.initial_delay
    assert waits.min() >= base
    assert waits.max() <= policy.max_delay
    first = waits[:, 0]
    assert first.max() < 3 * base
    _assert_mean(first, 2 * base, 2 * base / math.sqrt(12))
    assert np.any(waits[:, -1] == policy.max_delay)  # the cap is reached
    assert np.all(waits[:, 1:] <= 3 * waits[:, :-1] + 1e-12)  # uniform(base, 3 * previous)


@pytest.mark.parametrize(
    ("mode", "formula"),
    [
        # The AWS backoff simulator / article formulas, v = the capped nominal.
        ("proportional", lambda v, u, prev, p: v * (1 + p.jitter * (2 * u - 1))),
        ("full", lambda v, u, prev, p: u * v),
        ("equal", lambda v, u, prev, p: v / 2 + u * (v / 2)),
        (
            "decorrelated",
            lambda v, u, prev, p: np.minimum(
                p.max_delay, p.initial_delay + u * (3 * prev - p.initial_delay)
            ),
        ),
    ],
)
def test_jitter_modes_apply_the_published_formula_to_the_drawn_uniforms(mode, formula):
    policy = _mode_policy(mode)
    waits = draw_waits(policy, np.random.default_rng(8), 1_000)
    u = _uniforms(8, 1_000, policy.max_attempts)
    prev = np.full(1_000, policy.initial_delay)
    for k, v in enumerate(NOMINAL):
        np.testing.assert_allclose(waits[:, k], formula(v, u[:, k], prev, policy), rtol=1e-12)
        prev = waits[:, k]


def test_cap_before_jitter_spreads_proportional_waits_around_max_delay():
    policy = _mode_policy("proportional", jitter=0.5, max_delay=8.0)
    waits = draw_waits(policy, np.random.default_rng(5), N)[:, 3:]  # nominal 8 (capped)
    assert waits.min() >= 4.0
    assert waits.max() < 12.0
    assert waits.max() > 11.5
    assert np.mean(waits > 8.0) == pytest.approx(0.5, abs=0.02)


def test_cap_after_jitter_never_exceeds_max_delay_and_locksteps_at_the_cap():
    policy = _mode_policy("proportional", jitter=0.5, max_delay=8.0, cap_after_jitter=True)
    waits = draw_waits(policy, np.random.default_rng(5), N)
    assert waits.max() <= 8.0
    # nominal 2, 4, 8, 16, ... uncapped; from 16 on, even 16 * (1 - 0.5) reaches the cap
    assert np.all(waits[:, 3:] == 8.0)
    assert nominal_waits(policy).tolist() == pytest.approx([2.0 * 2.0**k for k in range(7)])


@pytest.mark.parametrize("mode", ["full", "equal", "decorrelated", "none"])
def test_cap_after_jitter_bounds_every_mode(mode):
    policy = _mode_policy(mode, cap_after_jitter=True, max_delay=5.0, jitter=1.0)
    waits = draw_waits(policy, np.random.default_rng(6), 5_000)
    assert waits.max() <= 5.0
    assert waits.min() >= 0.0


def test_first_delay_jitter_applies_only_to_the_first_wait():
    policy = _mode_policy("none", first_delay=3.0, first_delay_jitter="full")
    assert jitter_mode_for(policy, 0) is JitterMode.FULL
    assert jitter_mode_for(policy, 1) is JitterMode.NONE
    waits = draw_waits(policy, np.random.default_rng(9), N)
    assert waits[:, 0].max() < 3.0
    _assert_mean(waits[:, 0], 1.5, 3.0 / math.sqrt(12))
    # the exponential sequence starts at retry 2 with initial_delay
    assert np.all(waits[:, 1:] == NOMINAL[:6])


# ======================================================================= deadline helpers
def test_next_start_from_failure_and_from_start():
    failure = RetryPolicy(wait_from="failure")
    start = RetryPolicy(wait_from="start")
    assert next_start(failure, 10.0, 14.0, 3.0) == 17.0
    assert next_start(start, 10.0, 11.0, 3.0) == 13.0  # sleeps until start + wait
    assert next_start(start, 10.0, 14.0, 3.0) == 14.0  # failed later: retry at once
    got = next_start(start, np.array([0.0, 0.0]), np.array([1.0, 5.0]), np.array([2.0, 2.0]))
    np.testing.assert_array_equal(got, [2.0, 5.0])


def test_attempt_timeout_is_clipped_to_end_at_the_deadline():
    policy = RetryPolicy(deadline=50.0)
    assert attempt_timeout(policy, 0.0, 15.0) == 15.0
    assert attempt_timeout(policy, 40.0, 15.0) == 10.0
    assert attempt_timeout(RetryPolicy(), 40.0, 15.0) == 15.0
    got = attempt_timeout(policy, np.array([0.0, 40.0, 45.0]), np.array([15.0, 15.0, 15.0]))
    np.testing.assert_array_equal(got, [15.0, 10.0, 5.0])


def test_within_deadline_is_strictly_before_the_deadline():
    policy = RetryPolicy(deadline=50.0)
    assert within_deadline(policy, 49.999)
    assert not within_deadline(policy, 50.0)
    assert not within_deadline(policy, 60.0)
    np.testing.assert_array_equal(
        within_deadline(policy, np.array([0.0, 50.0, 51.0])), [True, False, False]
    )
    assert within_deadline(RetryPolicy(), 1e9) is True
    no_deadline = within_deadline(RetryPolicy(), np.array([0.0, 1e9]))
    assert no_deadline.dtype == bool and no_deadline.all()


def test_worst_case_without_deadline_sums_timeouts_and_waits_between_attempts():
    policy = RetryPolicy(jitter=0.0)
    schedule = Schedule.draw(policy, np.random.default_rng(0))
    timeouts = [15.0, 21.0, 120.0, 15 * 1.4**3, 15 * 1.4**4, 15 * 1.4**5]
    waits = [1.4**k for k in range(5)]
    assert schedule.worst_case_s() == pytest.approx(sum(timeouts) + sum(waits))


def test_worst_case_with_deadline_ends_at_the_deadline():
    policy = RetryPolicy(jitter=0.0, deadline=40.0)
    # attempt 0: 0-15, wait 1; attempt 1: 16-37, wait 1.4; attempt 2 starts 38.4, cut at 40
    assert Schedule.draw(policy, np.random.default_rng(0)).worst_case_s() == pytest.approx(40.0)


def test_worst_case_with_start_anchor_counts_waits_from_starts():
    policy = RetryPolicy(
        jitter=0.0,
        wait_from="start",
        base_timeout=2.0,
        max_timeout=2.0,
        extended_timeout=2.0,
        initial_delay=5.0,
        max_delay=5.0,
        max_attempts=3,
    )
    # starts at 0, 5, 10 (each attempt ends at +2 before its 5 s backoff deadline)
    assert Schedule.draw(policy, np.random.default_rng(0)).worst_case_s() == pytest.approx(12.0)


# ======================================================================= properties
@st.composite
def policies(draw, with_deadline: bool | None = None):
    base = draw(st.floats(min_value=0.01, max_value=60.0))
    initial = draw(st.floats(min_value=0.01, max_value=30.0))
    attempts = draw(st.integers(min_value=1, max_value=25))
    kwargs = {
        "base_timeout": base,
        "max_timeout": base * draw(st.floats(min_value=1.0, max_value=20.0)),
        "timeout_growth": draw(st.floats(min_value=1.0, max_value=4.0)),
        "extended_timeout": draw(st.floats(min_value=0.01, max_value=300.0)),
        "timeout_spans_backoff": draw(st.booleans()),
        "max_attempts": attempts,
        "initial_delay": initial,
        "multiplier": draw(st.floats(min_value=1.0, max_value=5.0)),
        "max_delay": initial * draw(st.floats(min_value=1.0, max_value=50.0)),
        "jitter": draw(st.floats(min_value=0.0, max_value=1.0)),
        "jitter_mode": draw(st.sampled_from(list(JitterMode))),
        "first_delay_jitter": draw(st.sampled_from(list(JitterMode))),
        "cap_after_jitter": draw(st.booleans()),
        "wait_from": draw(st.sampled_from(list(WaitAnchor))),
        "ladder": tuple(draw(st.lists(st.sampled_from(list(Strategy)), min_size=1, max_size=6))),
    }
    deadline = st.floats(min_value=0.01, max_value=500.0)
    if with_deadline is None:
        kwargs["deadline"] = draw(st.none() | deadline)
    elif with_deadline:
        kwargs["deadline"] = draw(deadline)
    shape = draw(st.sampled_from(["exponential", "first_delay", "table"]))
    if shape == "first_delay":
        kwargs["first_delay"] = draw(st.floats(min_value=0.0, max_value=30.0))
    elif shape == "table":
        kwargs["delays"] = tuple(
            draw(
                st.lists(
                    st.floats(min_value=0.0, max_value=60.0),
                    min_size=max(1, attempts - 1),
                    max_size=attempts + 2,
                )
            )
        )
    return RetryPolicy(**kwargs)


presets = st.sampled_from(policy_preset_names()).map(policy_preset)


@settings(deadline=None, max_examples=150)
@given(policies() | presets, st.integers(min_value=0, max_value=2**32 - 1))
def test_property_waits_are_non_negative_and_finite(policy, seed):
    waits = draw_waits(policy, np.random.default_rng(seed), 16)
    assert waits.shape == (16, policy.max_attempts)
    assert np.all(np.isfinite(waits))
    assert np.all(waits >= 0.0)
    schedule = Schedule.draw(policy, np.random.default_rng(seed))
    assert all(t > 0 for t in schedule.timeouts)


@settings(deadline=None, max_examples=150)
@given(policies() | presets, st.integers(min_value=0, max_value=2**32 - 1))
def test_property_scalar_draw_equals_array_row(policy, seed):
    schedule = Schedule.draw(policy, np.random.default_rng(seed))
    rows = draw_waits(policy, np.random.default_rng(seed), 3)
    assert schedule.waits_after == tuple(rows[0].tolist())


@settings(deadline=None, max_examples=150)
@given(policies() | presets)
def test_property_nominal_timeouts_grow_and_stay_under_max_timeout_off_extended_rungs(policy):
    timeouts = nominal_timeouts(policy)
    assert timeouts.shape == (policy.max_attempts,)
    plain = [
        float(t)
        for k, t in enumerate(timeouts)
        if policy.strategy_for(k) is not Strategy.EXTENDED_TIMEOUT
    ]
    assert all(a <= b for a, b in itertools.pairwise(plain))
    assert all(0 < t <= policy.max_timeout for t in plain)
    if policy.strategy_for(0) is not Strategy.EXTENDED_TIMEOUT:
        assert timeouts[0] == policy.base_timeout
    for k, t in enumerate(timeouts):
        if policy.strategy_for(k) is Strategy.EXTENDED_TIMEOUT:
            assert t == policy.extended_timeout


@settings(deadline=None, max_examples=150)
@given(policies(with_deadline=True), st.integers(min_value=0, max_value=2**32 - 1))
def test_property_worst_case_never_passes_the_deadline(policy, seed):
    schedule = Schedule.draw(policy, np.random.default_rng(seed))
    worst = schedule.worst_case_s()
    assert 0 < worst <= policy.deadline * (1 + 1e-12)


@settings(deadline=None, max_examples=150)
@given(policies(with_deadline=True), st.integers(min_value=0, max_value=2**32 - 1))
def test_property_planner_timing_out_every_attempt_never_plans_past_the_deadline(policy, seed):
    schedule = Schedule.draw(policy, np.random.default_rng(seed))
    step: AttemptPlan | GiveUp = ConnectPlanner(schedule).first()
    last_end = 0.0
    while isinstance(step, AttemptPlan):
        assert step.start < policy.deadline
        assert step.start + step.timeout <= policy.deadline * (1 + 1e-12)
        last_end = step.start + step.timeout
        step = ConnectPlanner(schedule).after_failure(step, last_end)
    assert step.at == last_end
    assert last_end == pytest.approx(schedule.worst_case_s(), rel=1e-12, abs=1e-12)
