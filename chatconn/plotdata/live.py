"""Live attempts, one row per session: :func:`timeline_info`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.strategies import ErrorCategory, Strategy
from ._common import STRATEGY_COLOURS


# --------------------------------------------------------------------------- timeline
@dataclass(frozen=True, slots=True, eq=False)
class TimelineStrategy:
    """The bars of one strategy (every strategy has one, possibly empty, in enum order)."""

    strategy: Strategy
    colour: str
    session: tuple[str, ...]
    attempt: np.ndarray
    start_s: np.ndarray
    duration_s: np.ndarray
    connected: np.ndarray
    error: tuple[str, ...]
    hover: tuple[str, ...]


@dataclass(frozen=True, slots=True, eq=False)
class TimelineInfo:
    """Live attempts, one row per session, in *profile time*.

    ``sessions`` are the rows: the first ``max_sessions`` sessions in order of first
    appearance among the records. Bars are that sessions' attempts, in record order: the
    session, attempt index (0-based), start (``started_s`` / ``time_scale``, seconds since the
    session's connect began) and duration (``duration_s`` / ``time_scale``), strategy,
    outcome and error category (lower-case :class:`ErrorCategory` name, "none" on success).
    ``by_strategy`` splits the same bars per strategy for drawing. ``total_sessions`` and
    ``total_records`` count the input before truncation.
    """

    sessions: tuple[str, ...]
    session: tuple[str, ...]
    attempt: np.ndarray
    start_s: np.ndarray
    duration_s: np.ndarray
    strategy: tuple[Strategy, ...]
    connected: np.ndarray
    error: tuple[str, ...]
    by_strategy: tuple[TimelineStrategy, ...]
    total_sessions: int
    total_records: int

    @property
    def bars(self) -> int:
        return len(self.session)


def timeline_info(records: Any, *, max_sessions: int = 50) -> TimelineInfo:
    """One row per session from ``AttemptRecord`` objects (or a LiveRun's ``records``)."""
    records = tuple(getattr(records, "records", records))
    order: dict[str, int] = {}
    for r in records:
        order.setdefault(r.session, len(order))
    shown = [r for r in records if order[r.session] < max_sessions]
    session = tuple(r.session for r in shown)
    attempt = np.array([r.attempt for r in shown], dtype=np.int64)
    start = np.array([r.started_s / r.time_scale for r in shown], dtype=float)
    duration = np.array([r.duration_s / r.time_scale for r in shown], dtype=float)
    strategy = tuple(Strategy(r.strategy) for r in shown)
    connected = np.array([bool(r.connected) for r in shown], dtype=bool)
    error = tuple(ErrorCategory(r.error_category).name.lower() for r in shown)
    hover = tuple(
        f"{s} · attempt {a + 1} · {st.value}<br>start {t0:.2f} s, took {d:.2f} s"
        f" ({'connected' if ok else e})"
        for s, a, st, t0, d, ok, e in zip(
            session, attempt, strategy, start, duration, connected, error, strict=True
        )
    )
    groups = []
    for strat in Strategy:
        idx = [i for i, s in enumerate(strategy) if s is strat]
        groups.append(
            TimelineStrategy(
                strategy=strat,
                colour=STRATEGY_COLOURS[strat.value],
                session=tuple(session[i] for i in idx),
                attempt=attempt[idx],
                start_s=start[idx],
                duration_s=duration[idx],
                connected=connected[idx],
                error=tuple(error[i] for i in idx),
                hover=tuple(hover[i] for i in idx),
            )
        )
    return TimelineInfo(
        sessions=tuple(s for s in order if order[s] < max_sessions),
        session=session,
        attempt=attempt,
        start_s=start,
        duration_s=duration,
        strategy=strategy,
        connected=connected,
        error=error,
        by_strategy=tuple(groups),
        total_sessions=len(order),
        total_records=len(records),
    )
