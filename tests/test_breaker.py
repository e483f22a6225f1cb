"""The circuit breaker, driven by a fake clock (plain floats)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatconn.core.breaker import BreakerConfig, BreakerState, CircuitBreaker
from chatconn.core.errors import ConfigError


def test_stays_closed_below_the_failure_threshold():
    breaker = CircuitBreaker(BreakerConfig(failure_threshold=3, cooldown_s=10))
    for t in (0.0, 1.0):
        breaker.record_failure(t)
    assert breaker.state(2.0) is BreakerState.CLOSED
    assert breaker.allow(2.0)


def test_opens_at_the_threshold_and_refuses_until_the_cooldown_ends():
    breaker = CircuitBreaker(BreakerConfig(failure_threshold=3, cooldown_s=10))
    for t in (0.0, 1.0, 2.0):
        breaker.record_failure(t)
    assert breaker.state(2.0) is BreakerState.OPEN
    assert not breaker.allow(5.0)
    assert breaker.retry_after(5.0) == pytest.approx(7.0)
    assert not breaker.allow(11.999)


def test_half_open_after_the_cooldown_allows_exactly_one_trial():
    breaker = CircuitBreaker(BreakerConfig(failure_threshold=1, cooldown_s=10))
    breaker.record_failure(0.0)
    assert breaker.state(10.0) is BreakerState.HALF_OPEN
    assert breaker.allow(10.0)
    assert not breaker.allow(10.5)  # the trial is in flight


def test_successful_trial_closes_and_failed_trial_reopens():
    config = BreakerConfig(failure_threshold=2, cooldown_s=5)
    ok = CircuitBreaker(config)
    ok.record_failure(0.0)
    ok.record_failure(0.0)
    assert ok.allow(5.0)
    ok.record_success(5.1)
    assert ok.state(5.1) is BreakerState.CLOSED
    ok.record_failure(6.0)  # one failure after closing is below the threshold again
    assert ok.state(6.0) is BreakerState.CLOSED

    bad = CircuitBreaker(config)
    bad.record_failure(0.0)
    bad.record_failure(0.0)
    assert bad.allow(5.0)
    bad.record_failure(5.2)  # a failed trial re-opens at once, for a full cool-down
    assert bad.state(5.2) is BreakerState.OPEN
    assert bad.retry_after(6.2) == pytest.approx(4.0)


def test_success_resets_the_consecutive_count():
    breaker = CircuitBreaker(BreakerConfig(failure_threshold=2, cooldown_s=5))
    breaker.record_failure(0.0)
    breaker.record_success(1.0)
    breaker.record_failure(2.0)
    assert breaker.state(2.0) is BreakerState.CLOSED


def test_reset_closes_an_open_breaker():
    breaker = CircuitBreaker(BreakerConfig(failure_threshold=1, cooldown_s=100))
    breaker.record_failure(0.0)
    breaker.reset()
    assert breaker.state(1.0) is BreakerState.CLOSED and breaker.allow(1.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("failure_threshold", 0),
        ("failure_threshold", 1.5),
        ("failure_threshold", True),
        ("cooldown_s", 0),
        ("cooldown_s", -1),
        ("cooldown_s", math.nan),
        ("cooldown_s", math.inf),
    ],
)
def test_invalid_config_names_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        BreakerConfig(**{field: value})


@settings(max_examples=150, deadline=None)
@given(
    threshold=st.integers(1, 6),
    cooldown=st.floats(0.1, 100),
    outcomes=st.lists(st.tuples(st.booleans(), st.floats(0, 50)), max_size=40),
)
def test_never_allows_a_call_while_open_before_the_cooldown(threshold, cooldown, outcomes):
    breaker = CircuitBreaker(BreakerConfig(threshold, cooldown))
    now = 0.0
    for success, step in outcomes:
        now += step
        was_open = breaker.state(now) is BreakerState.OPEN
        allowed = breaker.allow(now)
        if was_open:
            assert not allowed
        if allowed:
            (breaker.record_success if success else breaker.record_failure)(now)


def test_an_abandoned_half_open_trial_lets_the_next_call_try():
    breaker = CircuitBreaker(BreakerConfig(failure_threshold=1, cooldown_s=10))
    breaker.record_failure(0.0)
    assert breaker.allow(10.0)  # the half-open trial starts...
    assert not breaker.allow(10.1)
    breaker.abandon()  # ...and is cancelled before any outcome
    assert breaker.state(10.2) is BreakerState.HALF_OPEN
    assert breaker.allow(10.2)
