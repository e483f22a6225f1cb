"""The sans-I/O connect planner: from a drawn schedule and observed times to the next action.

Everything that decides *what happens next* in one connect lives here, as ``websockets``
keeps its protocol apart from its asyncio layer: the live manager executes the actions
(open a transport with the given timeout, sleep until ``start``), the scalar reference
simulator feeds it modelled outcomes. Time is elapsed seconds since the connect began,
passed in by the caller; nothing here reads a clock.

::

    planner = ConnectPlanner(Schedule.draw(policy, rng))
    step = planner.first()                  # AttemptPlan(index=0, start=0.0, timeout=15.0, ...)
    step = planner.after_failure(step, t)   # the next AttemptPlan, or GiveUp
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .schedule import Schedule, attempt_timeout, next_start, within_deadline
from .strategies import Strategy

__all__ = ["AttemptPlan", "ConnectPlanner", "GiveUp", "GiveUpReason"]


class GiveUpReason(StrEnum):
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    DEADLINE = "deadline"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class AttemptPlan:
    """Start attempt ``index`` at elapsed ``start`` (sleep until then) with ``timeout``."""

    index: int
    strategy: Strategy
    start: float
    timeout: float
    wait_before: float


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Stop trying at elapsed ``at``."""

    at: float
    reason: GiveUpReason
    attempts: int


class ConnectPlanner:
    """Plans one connect from a :class:`~chatconn.core.schedule.Schedule`.

    Stateless between calls apart from the schedule: every decision is a function of the
    schedule, the failed attempt and when it failed, so callers can replay it.
    """

    __slots__ = ("schedule",)

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule

    def first(self, at: float = 0.0) -> AttemptPlan | GiveUp:
        """Attempt 0 at elapsed ``at``: 0 in the simulator; in the live manager, the time
        the token fetch and the diagnostics took, which counts against the deadline (the
        attempt's timeout is shortened to end by it). GiveUp if the deadline has passed."""
        if at > 0 and not within_deadline(self.schedule.policy, at):
            return GiveUp(at, GiveUpReason.DEADLINE, 0)
        return self._plan(0, at, 0.0)

    def after_failure(self, failed: AttemptPlan, failed_at: float) -> AttemptPlan | GiveUp:
        """The next attempt after ``failed`` ended unsuccessfully at elapsed ``failed_at``."""
        policy = self.schedule.policy
        k = failed.index + 1
        if k >= policy.max_attempts:
            return GiveUp(failed_at, GiveUpReason.ATTEMPTS_EXHAUSTED, k)
        wait = self.schedule.waits_after[failed.index]
        start = float(next_start(policy, failed.start, failed_at, wait))
        if not within_deadline(policy, start):
            # Never plan a wait that ends past the deadline: give up now.
            return GiveUp(failed_at, GiveUpReason.DEADLINE, k)
        return self._plan(k, start, start - failed_at)

    def _plan(self, k: int, start: float, waited: float) -> AttemptPlan:
        policy = self.schedule.policy
        timeout = float(attempt_timeout(policy, start, self.schedule.timeouts[k]))
        return AttemptPlan(k, policy.strategy_for(k), start, timeout, waited)
