"""Percent progress from the planned schedule (chatconn.core.progress) and the status
indicator's spinner, percent and tips (chatconn.widgets.status, chatconn.tips)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from helpers import run

from chatconn.core.errors import ConfigError, UnknownNameError
from chatconn.core.planner import AttemptPlan, ConnectPlanner, GiveUp
from chatconn.core.policy import RetryPolicy
from chatconn.core.profiles import NetworkProfile
from chatconn.core.progress import planned_end, progress_fraction, progress_percent
from chatconn.core.schedule import Schedule
from chatconn.core.strategies import ErrorCategory, Strategy
from chatconn.lab.chaos import Fault
from chatconn.lab.server import LabServer
from chatconn.live.errors import ConnectFailed
from chatconn.live.events import (
    AttemptFinished,
    AttemptStarted,
    ConnectionState,
    StateChanged,
    Waiting,
)
from chatconn.live.manager import ConnectionManager
from chatconn.messages import LANGUAGES, message
from chatconn.tips import TIP_KEYS, TipBook, tip_key
from chatconn.widgets.status import ConnectionStatus, StatusIndicator

#: No jitter: 3 attempts of 2 s, waits 1 s then 2 s: worst case 2+1+2+2+2 = 9 s.
FIXED = RetryPolicy(
    max_attempts=3,
    base_timeout=2.0,
    max_timeout=2.0,
    timeout_growth=1.0,
    initial_delay=1.0,
    multiplier=2.0,
    jitter=0.0,
    ladder=(Strategy.DIRECT_WEBSOCKET,),
)


def _schedule(policy: RetryPolicy = FIXED, seed: int = 0) -> Schedule:
    return Schedule.draw(policy, np.random.default_rng(seed))


# ----------------------------------------------------------------------------- pure
def test_planned_end_from_the_first_attempt_is_the_schedules_worst_case():
    for policy in (FIXED, RetryPolicy(), RetryPolicy(deadline=40.0)):
        for seed in range(5):
            schedule = _schedule(policy, seed)
            first = ConnectPlanner(schedule).first()
            assert planned_end(schedule, first) == pytest.approx(schedule.worst_case_s())
    assert _schedule().worst_case_s() == pytest.approx(9.0)


def test_an_early_failure_moves_the_planned_end_earlier_by_exactly_the_time_saved():
    schedule = _schedule()
    planner = ConnectPlanner(schedule)
    first = planner.first()
    second = planner.after_failure(first, 0.5)  # refused after 0.5 s instead of 2 s
    assert isinstance(second, AttemptPlan) and second.start == pytest.approx(1.5)
    assert planned_end(schedule, second) == pytest.approx(9.0 - 1.5)
    # the reset_backoff offset moves the planner's clock to the connect's
    assert planned_end(schedule, second, offset=4.0) == pytest.approx(7.5 + 4.0)


def test_the_planned_end_respects_the_deadline():
    policy = RetryPolicy(**{**_fields(FIXED), "deadline": 4.0})
    schedule = _schedule(policy)
    first = ConnectPlanner(schedule).first()
    assert planned_end(schedule, first) == pytest.approx(4.0)  # 2 + 1 + 1 (cut)


def _fields(policy: RetryPolicy) -> dict:
    return {name: getattr(policy, name) for name in policy.__dataclass_fields__}


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("deadline", [False, True])
def test_percent_never_goes_back_whatever_the_failure_times(seed, deadline):
    """Walk a random connect through the planner, feeding the status indicator's fold the
    events the manager would emit, and sample the percent densely in time."""
    rng = np.random.default_rng(seed)
    limit = float(rng.uniform(20, 200)) if deadline else None
    schedule = Schedule.draw(RetryPolicy(deadline=limit), rng)
    planner = ConnectPlanner(schedule)
    status = ConnectionStatus()
    status.apply(StateChanged(0.0, ConnectionState.CONNECTING, ConnectionState.IDLE))
    step = planner.first()
    last, now = 0, 0.0
    while isinstance(step, AttemptPlan):
        end = planned_end(schedule, step)
        if limit is not None:
            assert end <= limit + 1e-9
        status.apply(_started(step.start, step.index, end))
        failed_at = step.start + rng.uniform(0, 1) * step.timeout
        for t in np.linspace(now, failed_at, 25):
            status.elapsed_s = float(t)
            assert status.percent >= last
            last = status.percent
        now = failed_at
        status.apply(_failed(failed_at, step.index))
        step = planner.after_failure(step, failed_at)
        if isinstance(step, AttemptPlan) and limit is None:  # no deadline: only earlier
            assert planned_end(schedule, step) <= end + 1e-9
    assert isinstance(step, GiveUp)
    assert 0 <= last <= 100


def test_percent_bounds_and_edge_cases():
    assert progress_percent(3.0, 9.0) == 33
    assert progress_percent(0.0, 9.0) == 0
    assert progress_percent(12.0, 9.0) == 100
    assert progress_percent(1.0, None) is None
    assert progress_percent(1.0, None, done=True) == 100
    assert progress_fraction(1.0, 0.0) == 1.0
    assert progress_fraction(1.0, float("inf")) is None


# ----------------------------------------------------------------------------- tips
def test_tips_are_chosen_from_the_state_and_the_last_error():
    F, D = ConnectionState.FAILED, ConnectionState.DEGRADED
    assert tip_key(F, ErrorCategory.TIMEOUT) == "tip.failed.timeout"
    assert tip_key(F, ErrorCategory.UPGRADE_REJECTED) == "tip.failed.upgrade_rejected"
    assert tip_key(F, ErrorCategory.TOKEN) == "tip.failed.token"
    assert tip_key(F, None) == tip_key(F, ErrorCategory.NONE) == "tip.failed"
    lp, ports = Strategy.LONG_POLLING, Strategy.MULTIPLE_PORTS
    blocked = "tip.degraded.websocket_blocked"
    assert tip_key(D, ErrorCategory.UPGRADE_REJECTED, lp) == blocked
    assert tip_key(D, ErrorCategory.TIMEOUT, Strategy.SSE_FALLBACK) == blocked
    assert tip_key(D, ErrorCategory.TIMEOUT, ports) == tip_key(D, None, lp) == "tip.degraded"
    assert tip_key(D, ErrorCategory.TIMEOUT) == "tip.degraded"
    assert tip_key("reconnecting", None) == "tip.reconnecting"
    for state in ("idle", "connecting", "connected", "closed"):
        assert tip_key(state, ErrorCategory.TIMEOUT) is None


def test_every_tip_says_what_still_works_in_both_languages():
    for key in TIP_KEYS:
        en, ru = message(key, "en"), message(key, "ru")
        assert en.startswith("You can") and ("reading" in en or "read" in en)
        assert "можно читать" in ru
    assert TipBook().say("degraded", None, "ru") == message("tip.degraded", "ru")


def test_tip_texts_are_configurable_and_validated():
    book = TipBook({"tip.failed": {"en": "Your drafts are kept."}})
    assert book.say("failed", None, "en") == "Your drafts are kept."
    assert book.say("failed", None, "ru") == message("tip.failed", "ru")  # not overridden
    assert book.say("failed", ErrorCategory.TIMEOUT) == message("tip.failed.timeout")
    with pytest.raises(UnknownNameError, match=r"tip\.nope"):
        TipBook({"tip.nope": {"en": "x"}})
    with pytest.raises(UnknownNameError, match="de"):
        TipBook({"tip.failed": {"de": "x"}})
    with pytest.raises(ConfigError, match="texts"):
        TipBook({"tip.failed": {"en": "  "}})
    with pytest.raises(ConfigError, match="tips"):
        StatusIndicator("panel", tips={"tip.failed": {"en": "x"}})
    assert set(LANGUAGES) == {"en", "ru"}


# ------------------------------------------------------------- the status indicator
def _started(t, k, planned, strategy=Strategy.DIRECT_WEBSOCKET):
    return AttemptStarted(t, k, 3, strategy, 2.0, 0.0 if k == 0 else 1.0, planned)


def _failed(t, k, category=ErrorCategory.REFUSED, strategy=Strategy.DIRECT_WEBSOCKET):
    return AttemptFinished(t, k, 3, strategy, 2.0, 0.5, False, category, None)


def _connected(t, k, strategy=Strategy.DIRECT_WEBSOCKET):
    return AttemptFinished(t, k, 3, strategy, 2.0, 0.1, True, ErrorCategory.NONE, None)


def test_the_indicator_shows_percent_beside_the_counter_and_a_spinner_while_trying():
    idle, connecting = ConnectionState.IDLE, ConnectionState.CONNECTING
    en, ru = StatusIndicator("inline"), StatusIndicator("panel", language="ru")
    badge = StatusIndicator("badge")
    script = [
        StateChanged(0.0, connecting, idle),
        _started(0.0, 0, 9.0),
        _failed(0.5, 0),
        Waiting(0.5, 1, 1.0, 7.5),
        _started(1.5, 1, 7.5),
        _failed(2.5, 1),
    ]
    for indicator in (en, ru, badge):
        assert not indicator.status.spinning and "chatconn-spinner" not in indicator.badge.value
        for event in script:
            indicator.handle(event)
        assert indicator.status.spinning and "chatconn-spinner" in indicator.badge.value
        assert "@keyframes chatconn-spin" in indicator.badge.value
    assert en.status.percent == 33  # 2.5 s of a plan now ending at 7.5 s
    assert en.texts()["progress"] == "Attempt 2 of 3 · 33%"
    assert ru.texts()["progress"] == "Попытка 2 из 3 · 33\u00a0%"
    assert "Attempt 2 of 3 · 33%" in en.line.value
    assert "Попытка 2 из 3 · 33\u00a0%" in ru.details.value
    assert en.texts()["tip"] == ""  # connecting: no tip
    # gave up: the spinner stops, a tip for the last error appears, no percent
    for indicator in (en, ru, badge):
        indicator.handle(StateChanged(3.0, ConnectionState.FAILED, connecting, "x"))
        assert not indicator.status.spinning
        assert "chatconn-spinner" not in indicator.badge.value and "●" in indicator.badge.value
    assert en.texts()["tip"] == message("tip.failed.refused", "en")
    assert en.texts()["progress"] == "Attempt 2 of 3"
    assert html_escaped(message("tip.failed.refused", "ru")) in ru.details.value
    assert html_escaped(message("tip.failed.refused", "en")) in en.line.value
    ru.language = "en"
    assert html_escaped(message("tip.failed.refused", "en")) in ru.details.value


def html_escaped(text: str) -> str:
    import html

    return html.escape(text)


def test_degraded_shows_a_tip_from_the_last_error_and_connected_shows_100_percent():
    status = ConnectionStatus()
    status.apply(StateChanged(0.0, ConnectionState.CONNECTING, ConnectionState.IDLE))
    status.apply(_started(0.0, 0, 9.0))
    status.apply(_failed(0.2, 0, ErrorCategory.UPGRADE_REJECTED))
    status.apply(_started(1.2, 1, 8.0, Strategy.LONG_POLLING))
    status.apply(_connected(1.3, 1, Strategy.LONG_POLLING))
    status.apply(StateChanged(1.3, ConnectionState.DEGRADED, ConnectionState.CONNECTING))
    assert status.tip == "tip.degraded.websocket_blocked" and not status.spinning
    assert status.percent is None
    status.apply(StateChanged(5.0, ConnectionState.RECONNECTING, ConnectionState.DEGRADED))
    assert status.spinning and status.tip == "tip.reconnecting" and status.percent is None
    status.apply(_started(5.0, 0, 14.0))
    status.apply(_connected(5.1, 0))
    status.apply(StateChanged(5.1, ConnectionState.CONNECTED, ConnectionState.RECONNECTING))
    assert status.percent == 100 and status.tip is None and not status.spinning


def test_custom_tips_reach_the_panel():
    book = TipBook({"tip.failed.refused": {"en": "Server restarting — back soon."}})
    panel = StatusIndicator("panel", tips=book)
    panel.handle(StateChanged(0.0, ConnectionState.CONNECTING, ConnectionState.IDLE))
    panel.handle(_started(0.0, 0, 9.0))
    panel.handle(_failed(0.1, 0))
    panel.handle(StateChanged(0.2, ConnectionState.FAILED, ConnectionState.CONNECTING))
    assert "Server restarting — back soon." in panel.details.value


# ------------------------------------------------------------------------ live
CALM = NetworkProfile("calm", rtt_median_s=0.002, rtt_sigma=0.0, auth_s=0.0, sync_s=0.0)


def test_a_live_connect_reports_a_planned_end_that_only_moves_earlier_and_a_rising_percent():
    """Against the lab: a stall (the attempt times out), then two resets (early failures)."""

    async def scenario():
        async with LabServer(CALM) as lab:
            lab.schedule("ws0", [Fault.STALL, Fault.RESET, Fault.RESET])
            manager = ConnectionManager(lab.endpoint, lab.token, policy=FIXED, time_scale=0.05)
            status = ConnectionStatus(time_scale=0.05)
            seen = []

            def on_event(event):
                status.apply(event)
                seen.append((event, status.percent))

            manager.subscribe(on_event)
            try:
                await manager.connect()
            except ConnectFailed:
                pass
            finally:
                await manager.close()
            return manager, seen

    manager, seen = run(scenario())
    plans = [e.planned_end_s for e, _ in seen if isinstance(e, AttemptStarted | Waiting)]
    assert plans and all(p is not None for p in plans)
    # It moves later only by how late the real world ran against the plan: plan k + 1 is
    # made when attempt k has failed (just before its Waiting event), so it lies later than
    # plan k by at most how much longer than its timeout attempt k took to be seen failing
    # (a timer firing late, subscribers running on a busy machine), plus how late the wait
    # before attempt k ended; 1 ms of wall time covers the synchronous steps in between.
    scale = 0.05
    kinds = (AttemptStarted, Waiting)
    timeline = [e for e, _ in seen if isinstance(e, kinds)]
    started = {e.attempt: e for e in timeline if isinstance(e, AttemptStarted)}
    waits = {e.next_attempt: e for e in timeline if isinstance(e, Waiting)}
    for k in range(1, len(started)):
        ran = (waits[k].elapsed_s - started[k - 1].elapsed_s) / scale - started[k - 1].timeout_s
        slept = 0.0
        if k - 1 in waits:  # the wait before attempt k - 1 overslept by this much
            slept = started[k - 1].elapsed_s - waits[k - 1].elapsed_s - waits[k - 1].seconds
            slept = max(slept / scale, 0.0)
        late = max(ran, 0.0) + slept + 0.001 / scale
        assert waits[k].planned_end_s <= started[k - 1].planned_end_s + late
        assert started[k].planned_end_s == waits[k].planned_end_s  # one plan per attempt
    # The first plan: the schedule's worst case from when attempt 0 was planned, after the
    # token and before its AttemptStarted (milliseconds; more on a busy machine).
    head_start = plans[0] - manager.schedule.worst_case_s()
    assert 0 <= head_start <= started[0].elapsed_s / scale + 1e-6
    assert plans[-1] < plans[0] - 1.0  # two early failures moved the end earlier
    percents = [p for _, p in seen if p is not None]
    assert len(percents) >= 6 and percents == sorted(percents) and percents[-1] > 0


def test_a_bound_indicator_moves_the_percent_during_a_long_attempt_without_events():
    """A stalled attempt of 2 profile s at time scale 0.5: one wall second with no event;
    the indicator's percent still climbs (it re-renders every TICK_S)."""
    one = RetryPolicy(
        ladder=(Strategy.DIRECT_WEBSOCKET,), max_attempts=1, base_timeout=2.0, max_timeout=2.0
    )

    async def scenario():
        async with LabServer(CALM) as lab:
            lab.schedule("ws0", [Fault.STALL])
            async with ConnectionManager(lab.endpoint, lab.token, policy=one, time_scale=0.5) as m:
                indicator = StatusIndicator("inline")
                indicator.bind(m)
                connect = asyncio.create_task(m.connect())
                await asyncio.sleep(0.4)  # after the first tick (0.25 s)
                early = indicator.status.percent, len(m.bus.history)
                await asyncio.sleep(0.5)  # two more ticks, before the timeout (1 s)
                late = indicator.status.percent, len(m.bus.history)
                line = indicator.line.value
                with pytest.raises(ConnectFailed):
                    await connect
                return early, late, line, indicator.status.spinning

    (early, events_early), (late, events_late), line, spinning = run(scenario())
    assert events_late == events_early  # nothing happened in between...
    assert 5 <= early < late <= 100  # ...yet the percent moved: ~25 % then ~75 %
    assert f"Attempt 1 of 1 · {late}%" in line
    assert not spinning
