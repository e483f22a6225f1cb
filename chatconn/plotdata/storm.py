"""A reconnect storm's arrivals per second: :func:`storm_info`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


# --------------------------------------------------------------------------- storm
@dataclass(frozen=True, slots=True, eq=False)
class StormInfo:
    """Attempts per second since the drop, accepted and refused, against the capacity;
    ``gave_up`` clients stopped by their policy and stayed down; ``lockstep`` is the
    lockstep detector's verdict in one line, when one was given."""

    seconds: np.ndarray
    accepted: np.ndarray
    refused: np.ndarray
    clients: int
    capacity_per_s: int
    outage_s: float
    peak_per_s: int
    peak_over_capacity: float
    reconnected_99_s: float | None
    reconnected_all_s: float | None
    lockstep: str | None = None
    gave_up: int = 0


def lockstep_line(report: Any) -> str:
    """A :class:`~chatconn.lockstep.LockstepReport` in one line, for the storm's subtitle."""
    window = f"{report.window_s * 1000:g} ms"
    if report.worst_attempt is None:
        return f"lockstep detector: {report.verdict} (the policy never retries)"
    return (
        f"lockstep detector: {report.verdict} · {report.worst_share:.0%} of clients start "
        f"retry {report.worst_attempt} within the same {window}"
    )


def storm_info(storm_result: Any, lockstep: Any = None) -> StormInfo:
    """The series and headline numbers of a :class:`~chatconn.storm.StormResult`, with
    ``lockstep`` (a :class:`~chatconn.lockstep.LockstepReport` of the same policy) in a line."""
    r = storm_result
    accepted = np.asarray(r.accepted_per_s, dtype=np.int64)
    return StormInfo(
        seconds=np.arange(accepted.size, dtype=float),
        accepted=accepted,
        refused=np.asarray(r.refused_per_s, dtype=np.int64),
        clients=int(r.clients),
        capacity_per_s=int(r.capacity_per_s),
        outage_s=float(r.outage_s),
        peak_per_s=int(r.peak_per_s),
        peak_over_capacity=r.peak_per_s / r.capacity_per_s,
        reconnected_99_s=r.reconnected_99_s,
        reconnected_all_s=r.reconnected_all_s,
        lockstep=None if lockstep is None else lockstep_line(lockstep),
        gave_up=int(getattr(r, "gave_up", 0)),
    )
