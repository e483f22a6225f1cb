"""The figures a sweep scores every policy on: names, better direction, units, formatting.

Use :data:`METRICS` wherever a score is named by text (objectives, Pareto objectives, plot
axes, the CLI), so that every part of :mod:`chatconn.tune` agrees on what ``p95_s`` means and
whether less of it is better::

    name                direction  what it measures                                    side
    p50_s               lower      median time to connect, over connected sessions      user
    p95_s               lower      95th percentile time to connect, connected sessions  user
    success_rate        higher     share of sessions connected (within ``within_s``)    user
    attempts_mean       lower      attempts per session, the first one included         client
    peak_per_s          lower      most attempts in one second after a storm's outage   server
    peak_over_capacity  lower      that peak divided by the server's capacity           server
    reconnected_99_s    lower      seconds from the drop until 99 % of clients are back  server
    storm_back_share    higher     share of the storm's clients that got back at all:    user
                                   clients of a policy that gives up stay down
    lockstep_share      lower      largest share of a dropped herd (as many clients as     server
                                   the storm's) starting one retry within the same 100 ms
    in_step_share       lower      largest share of that herd waiting the same time (within  server
                                   100 ms) before a retry: later retries cannot spread it
                                   (chatconn.lockstep; clustered from 0.2 / 0.5 of these)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..core.errors import UnknownNameError

__all__ = ["DEFAULT_PARETO_OBJECTIVES", "METRICS", "Better", "Metric", "metric"]


class Better(StrEnum):
    """Which way a metric improves."""

    LOWER = "lower"
    HIGHER = "higher"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Metric:
    """One scored figure: its name in :class:`~chatconn.tune.score.Scores`, the direction in
    which it improves, a label for axes and prose, and its unit (``s``, ``share``, ``attempts``,
    ``per_s``, ``x_capacity``)."""

    name: str
    better: Better
    label: str
    unit: str

    def format(self, value: float | None) -> str:
        """The value for people: ``3.10 s``, ``99.50 %``, ``1.84 × capacity``, ``–`` if None."""
        if value is None:
            return "–"
        if self.unit == "s":
            return f"{value:.2f} s" if value < 10 else f"{value:,.1f} s"
        if self.unit == "share":
            text = f"{100 * value:.2f}"
            if text == "100.00" and value < 1:
                return "> 99.99 %"  # never round a loss away
            return f"{text} %"
        if self.unit == "attempts":
            return f"{value:.2f} attempts"
        if self.unit == "per_s":
            return f"{value:,.0f}/s"
        if self.unit == "x_capacity":
            return f"{value:.2f} × capacity"
        return f"{value:g}"  # pragma: no cover - every metric has one of the units above


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("p50_s", Better.LOWER, "median time to connect", "s"),
        Metric("p95_s", Better.LOWER, "p95 time to connect", "s"),
        Metric("success_rate", Better.HIGHER, "success rate", "share"),
        Metric("attempts_mean", Better.LOWER, "attempts per session", "attempts"),
        Metric("peak_per_s", Better.LOWER, "storm peak", "per_s"),
        Metric("peak_over_capacity", Better.LOWER, "storm peak / capacity", "x_capacity"),
        Metric("reconnected_99_s", Better.LOWER, "99 % reconnected after", "s"),
        Metric("storm_back_share", Better.HIGHER, "back after the storm", "share"),
        Metric("lockstep_share", Better.LOWER, "clients retrying in lockstep", "share"),
        Metric("in_step_share", Better.LOWER, "clients waiting in step", "share"),
    )
}

#: The trade-off a Pareto front is drawn over by default: users wait (p95 ↓), the server is
#: hammered (storm peak ↓), clients work (attempts ↓), users get in at all (success ↑).
DEFAULT_PARETO_OBJECTIVES = ("p95_s", "peak_per_s", "attempts_mean", "success_rate")


def metric(name: str) -> Metric:
    """The metric called ``name``; raises UnknownNameError listing the known ones."""
    try:
        return METRICS[name]
    except (KeyError, TypeError):
        raise UnknownNameError("metric", name, tuple(METRICS)) from None
