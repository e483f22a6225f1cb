"""A lockstep report, retry by retry: :func:`lockstep_info`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import ConfigError
from ..lockstep import CLUSTERED_SHARE, IN_STEP_SHARE, LOCKSTEP_SHARE, LockstepReport
from ._common import QUALITY_COLOURS

#: Bar colour per class of retry: lockstep, clustered, spread.
LOCKSTEP_COLOURS = {
    "lockstep": QUALITY_COLOURS["critical"],
    "clustered": QUALITY_COLOURS["poor"],
    "spread": QUALITY_COLOURS["excellent"],
}


@dataclass(frozen=True, slots=True, eq=False)
class LockstepInfo:
    """Per retry of a :class:`~chatconn.lockstep.LockstepReport`: the largest share of
    clients starting within one window (the bars), the largest share waiting the same time
    (in step), the share waiting exactly ``max_delay``, the retry's class (lockstep if its
    start share reaches ``lockstep_share``, clustered if it is flagged, else spread) and
    its colour. ``verdict``, ``worst_*`` and ``reasons`` are the report's.
    """

    attempt: np.ndarray
    labels: tuple[str, ...]
    start_share: np.ndarray
    wait_share: np.ndarray
    at_cap_share: np.ndarray
    window_start_s: np.ndarray
    classes: tuple[str, ...]
    colours: tuple[str, ...]
    verdict: str
    worst_attempt: int | None
    worst_share: float
    reasons: tuple[str, ...]
    clients: int
    window_s: float
    attempt_s: float
    lockstep_share: float
    clustered_share: float
    in_step_share: float


def lockstep_info(report: Any) -> LockstepInfo:
    """The bars, markers, classes and headline of a lockstep report."""
    if not isinstance(report, LockstepReport):
        raise ConfigError("report", type(report).__name__, "expected a LockstepReport")
    classes = tuple(
        "lockstep" if s >= LOCKSTEP_SHARE else "clustered" if f else "spread"
        for s, f in zip(report.start_share, report.flagged, strict=True)
    )
    return LockstepInfo(
        attempt=report.attempt.copy(),
        labels=tuple(f"retry {int(k)}" for k in report.attempt),
        start_share=report.start_share.copy(),
        wait_share=report.wait_share.copy(),
        at_cap_share=report.at_cap_share.copy(),
        window_start_s=report.window_start_s.copy(),
        classes=classes,
        colours=tuple(LOCKSTEP_COLOURS[c] for c in classes),
        verdict=report.verdict.value,
        worst_attempt=report.worst_attempt,
        worst_share=report.worst_share,
        reasons=report.reasons,
        clients=report.clients,
        window_s=report.window_s,
        attempt_s=report.attempt_s,
        lockstep_share=LOCKSTEP_SHARE,
        clustered_share=CLUSTERED_SHARE,
        in_step_share=IN_STEP_SHARE,
    )
