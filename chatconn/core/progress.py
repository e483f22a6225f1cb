"""Percent progress of a connect, from the planned schedule: "Attempt 2 of 6 · 33 %".

Attempt k of N says how many tries are left, not how much time: six attempts of the seed
policy are 15 s of timeouts each with waits growing between them. The percent here is the
time spent against the worst case still possible, read from the one schedule
(:meth:`~chatconn.core.schedule.Schedule.worst_case_end`, the formula the planner and the
simulator use)::

    percent = elapsed / planned_end

where ``planned_end`` is when the connect ends at the latest if the attempt now running (or
about to run) and every later one time out. Pure: times are passed in (profile seconds
since the connect began), nothing reads a clock.

Why the percent does not move back: while an attempt runs ``planned_end`` stays put and
``elapsed`` grows; without a deadline, an attempt that fails before its timeout moves the
rest of the schedule earlier, so ``planned_end`` only shrinks and the percent jumps forward.
With a deadline one case goes the other way: an early failure can make room for one more
attempt before the deadline, and ``planned_end`` moves later (never past the deadline). The
status indicator keeps the highest percent shown during a connect
(:attr:`chatconn.widgets.status.ConnectionStatus.percent`), so its bar holds still until
time catches up. It reaches 100 % when the last possible attempt times out; a connect that
succeeds shows 100 % (:func:`progress_percent` with ``done=True``).
"""

from __future__ import annotations

import math

from .planner import AttemptPlan
from .schedule import Schedule

__all__ = ["planned_end", "progress_fraction", "progress_percent"]


def planned_end(schedule: Schedule, step: AttemptPlan, offset: float = 0.0) -> float:
    """When the connect ends at the latest, with ``step`` the attempt running or next: its
    start plus every remaining timeout and wait, bounded by the deadline. ``offset`` (profile
    seconds) moves the planner's clock to the connect's (after ``reset_backoff`` the planner
    starts again from 0)."""
    return offset + schedule.worst_case_end(step.index, step.start)


def progress_fraction(elapsed_s: float, planned_end_s: float | None) -> float | None:
    """``elapsed_s / planned_end_s`` in [0, 1]; None when there is no plan (yet)."""
    if planned_end_s is None or not math.isfinite(planned_end_s):
        return None
    if planned_end_s <= 0:
        return 1.0
    return min(max(elapsed_s / planned_end_s, 0.0), 1.0)


def progress_percent(
    elapsed_s: float, planned_end_s: float | None, *, done: bool = False
) -> int | None:
    """The whole percent shown beside the attempt counter (rounded down, so 100 % means
    the plan is spent); 100 when ``done``; None when there is no plan."""
    if done:
        return 100
    fraction = progress_fraction(elapsed_s, planned_end_s)
    if fraction is None:
        return None
    return math.floor(fraction * 100.0 + 1e-9)
