"""ConnectPlanner: the sans-I/O decisions of one connect (next attempt, wait, give up)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatconn.core.planner import AttemptPlan, ConnectPlanner, GiveUp, GiveUpReason
from chatconn.core.policy import JitterMode, RetryPolicy, WaitAnchor
from chatconn.core.presets import policy_preset, policy_preset_names
from chatconn.core.schedule import Schedule
from chatconn.core.strategies import Strategy

# The seed policy without jitter: timeouts 15, 21, 120, 15*1.4**3, ...; waits 1, 1.4, 1.96, ...
STEADY = RetryPolicy(jitter=0.0)


def _planner(policy: RetryPolicy, seed: int = 0) -> ConnectPlanner:
    return ConnectPlanner(Schedule.draw(policy, np.random.default_rng(seed)))


def test_first_is_attempt_zero_at_zero_with_the_first_timeout():
    step = _planner(STEADY).first()
    assert step == AttemptPlan(
        index=0, strategy=Strategy.DIRECT_WEBSOCKET, start=0.0, timeout=15.0, wait_before=0.0
    )


@pytest.mark.parametrize("name", policy_preset_names())
def test_first_uses_the_schedules_first_timeout_for_every_preset(name):
    planner = _planner(policy_preset(name), seed=4)
    step = planner.first()
    assert (step.index, step.start, step.wait_before) == (0, 0.0, 0.0)
    assert step.timeout == planner.schedule.timeouts[0]
    assert step.strategy is planner.schedule.policy.ladder[0]


def test_first_timeout_is_shortened_by_a_deadline_shorter_than_it():
    step = _planner(STEADY.with_changes(deadline=10.0)).first()
    assert step.timeout == 10.0


def test_after_failure_waits_from_the_failure():
    planner = _planner(STEADY)
    first = planner.first()
    second = planner.after_failure(first, 3.0)
    assert isinstance(second, AttemptPlan)
    assert second.index == 1
    assert second.start == 3.0 + 1.0
    assert second.wait_before == pytest.approx(1.0)
    assert second.timeout == pytest.approx(15 * 1.4)
    third = planner.after_failure(second, second.start + 21.0)
    assert isinstance(third, AttemptPlan)
    assert third.start == pytest.approx(3.0 + 1.0 + 21.0 + 1.4)
    assert third.strategy is Strategy.EXTENDED_TIMEOUT
    assert third.timeout == 120.0


def test_after_failure_follows_the_drawn_waits():
    planner = _planner(policy_preset("seed"), seed=17)
    waits = planner.schedule.waits_after
    step = planner.first()
    for k in range(1, 6):
        failed_at = step.start + 0.5 * step.timeout
        step = planner.after_failure(step, failed_at)
        assert isinstance(step, AttemptPlan)
        assert step.index == k
        assert step.start == failed_at + waits[k - 1]
        assert step.timeout == planner.schedule.timeouts[k]


def test_after_failure_with_start_anchor_sleeps_until_start_plus_wait():
    planner = _planner(policy_preset("grpc-spec"), seed=3)
    first = planner.first()
    second = planner.after_failure(first, 0.25)
    assert isinstance(second, AttemptPlan)
    assert second.start == 1.0  # gRPC spec: exactly 1 s after the first attempt *started*
    assert second.wait_before == pytest.approx(0.75)
    wait_1 = planner.schedule.waits_after[1]
    third = planner.after_failure(second, second.start + 0.1)
    assert isinstance(third, AttemptPlan)
    assert third.start == max(second.start + wait_1, second.start + 0.1)
    assert third.start == second.start + wait_1


def test_after_failure_with_start_anchor_retries_at_once_when_the_attempt_outlasted_the_wait():
    planner = _planner(policy_preset("grpc-spec"), seed=3)
    first = planner.first()
    second = planner.after_failure(first, 19.0)  # failed long after start + 1 s
    assert isinstance(second, AttemptPlan)
    assert second.start == 19.0
    assert second.wait_before == 0.0


def test_gives_up_with_attempts_exhausted_after_max_attempts():
    policy = STEADY.with_changes(max_attempts=3)
    planner = _planner(policy)
    step = planner.first()
    plans = [step]
    while True:
        nxt = planner.after_failure(step, step.start + step.timeout)
        if isinstance(nxt, GiveUp):
            break
        plans.append(nxt)
        step = nxt
    assert [p.index for p in plans] == [0, 1, 2]
    assert nxt == GiveUp(
        at=plans[-1].start + plans[-1].timeout, reason=GiveUpReason.ATTEMPTS_EXHAUSTED, attempts=3
    )


def test_single_attempt_policy_gives_up_after_the_first_failure():
    planner = _planner(STEADY.with_changes(max_attempts=1))
    result = planner.after_failure(planner.first(), 2.0)
    assert result == GiveUp(2.0, GiveUpReason.ATTEMPTS_EXHAUSTED, 1)


def test_deadline_shortens_timeouts_and_gives_up_when_the_next_start_is_past_it():
    planner = _planner(STEADY.with_changes(deadline=40.0))
    a0 = planner.first()
    assert (a0.start, a0.timeout) == (0.0, 15.0)
    a1 = planner.after_failure(a0, 15.0)
    assert isinstance(a1, AttemptPlan)
    assert (a1.start, a1.timeout) == (16.0, pytest.approx(21.0))  # 16 + 21 = 37 < 40
    a2 = planner.after_failure(a1, 37.0)
    assert isinstance(a2, AttemptPlan)
    assert a2.start == pytest.approx(38.4)
    assert a2.timeout == pytest.approx(1.6)  # 120 s cut to end at the deadline
    assert a2.start + a2.timeout == pytest.approx(40.0)
    end = planner.after_failure(a2, 40.0)
    assert end == GiveUp(40.0, GiveUpReason.DEADLINE, 3)


def test_gives_up_when_the_next_start_would_be_exactly_at_the_deadline():
    planner = _planner(STEADY.with_changes(deadline=10.0))
    result = planner.after_failure(planner.first(), 9.0)  # 9 + 1 s wait == deadline
    assert result == GiveUp(9.0, GiveUpReason.DEADLINE, 1)


def test_plans_an_attempt_starting_just_before_the_deadline():
    planner = _planner(STEADY.with_changes(deadline=10.0))
    result = planner.after_failure(planner.first(), 8.5)
    assert isinstance(result, AttemptPlan)
    assert result.start == 9.5
    assert result.timeout == pytest.approx(0.5)


def test_planner_is_stateless_and_replays():
    planner = _planner(policy_preset("seed"), seed=8)
    first = planner.first()
    assert planner.after_failure(first, 4.0) == planner.after_failure(first, 4.0)
    assert planner.first() == first


# ----------------------------------------------------------------- property
@st.composite
def deadline_policies(draw):
    base = draw(st.floats(min_value=0.05, max_value=60.0))
    initial = draw(st.floats(min_value=0.01, max_value=30.0))
    return RetryPolicy(
        base_timeout=base,
        max_timeout=base * draw(st.floats(min_value=1.0, max_value=10.0)),
        timeout_growth=draw(st.floats(min_value=1.0, max_value=3.0)),
        extended_timeout=draw(st.floats(min_value=0.05, max_value=300.0)),
        timeout_spans_backoff=draw(st.booleans()),
        max_attempts=draw(st.integers(min_value=1, max_value=20)),
        initial_delay=initial,
        multiplier=draw(st.floats(min_value=1.0, max_value=4.0)),
        max_delay=initial * draw(st.floats(min_value=1.0, max_value=20.0)),
        jitter=draw(st.floats(min_value=0.0, max_value=1.0)),
        jitter_mode=draw(st.sampled_from(list(JitterMode))),
        cap_after_jitter=draw(st.booleans()),
        wait_from=draw(st.sampled_from(list(WaitAnchor))),
        deadline=draw(st.floats(min_value=0.05, max_value=400.0)),
    )


preset_with_deadline = st.builds(
    lambda name, deadline: policy_preset(name).with_changes(deadline=deadline),
    st.sampled_from(policy_preset_names()),
    st.floats(min_value=0.05, max_value=400.0),
)


@settings(deadline=None, max_examples=200)
@given(
    deadline_policies() | preset_with_deadline,
    st.integers(min_value=0, max_value=2**32 - 1),
    st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=20, max_size=20),
)
def test_property_planner_never_plans_past_the_deadline(policy, seed, fractions):
    planner = _planner(policy, seed)
    step: AttemptPlan | GiveUp = planner.first()
    previous: AttemptPlan | None = None
    failed_at = 0.0
    for fraction in fractions:
        if not isinstance(step, AttemptPlan):
            break
        assert step.start < policy.deadline
        assert step.timeout > 0
        assert step.start + step.timeout <= policy.deadline * (1 + 1e-12)
        assert step.start >= failed_at
        assert step.strategy is policy.strategy_for(step.index)
        if previous is not None:
            assert step.index == previous.index + 1
            assert step.start >= previous.start
            assert step.wait_before == pytest.approx(step.start - failed_at)
        failed_at = step.start + fraction * step.timeout
        previous = step
        step = planner.after_failure(step, failed_at)
    assert isinstance(step, GiveUp)  # max_attempts <= 20 fractions
    assert step.at == failed_at
    assert step.attempts == previous.index + 1
    if step.reason is GiveUpReason.ATTEMPTS_EXHAUSTED:
        assert step.attempts == policy.max_attempts
    else:
        assert step.reason is GiveUpReason.DEADLINE
        assert step.attempts < policy.max_attempts
