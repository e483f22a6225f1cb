"""Observed sessions, checked and reduced to the statistics a fit compares.

Use :func:`observations` to turn what the user has — a
:class:`~chatconn.simulate.SessionOutcomes`, a :class:`~chatconn.live.run.LiveRun` or
anything with a ``.result`` holding the same per-session arrays — into a checked
:class:`~chatconn.simulate.SessionOutcomes`, and :func:`outcome_stats` /
:func:`distance` to compare two sets of sessions the way :func:`~chatconn.calibrate.calibrate`
does::

    term       what it compares                                     identifies mostly
    ks_time    KS distance of the time to connect (connected)       everything, overall
    ks_first   KS distance of the time of first-attempt successes   RTT median and spread
    outcome    total variation of "connected via strategy s" /      share of blocked WebSocket
               "failed with last error e" shares
    attempts   total variation of the attempts-made shares          stalls (retries needed)

Every term lies in [0, 1]; :func:`distance` returns them and their sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..agreement import ks_sorted
from ..core.errors import ConfigError
from ..core.policy import RetryPolicy
from ..core.strategies import ErrorCategory, Strategy
from ..outcomes import SessionOutcomes

__all__ = [
    "DISTANCE_TERMS",
    "OutcomeStats",
    "distance",
    "ks_sorted",
    "observations",
    "outcome_stats",
]

#: The terms of :func:`distance`, in order.
DISTANCE_TERMS = ("ks_time", "ks_first", "outcome", "attempts")
_STRATEGIES = len(Strategy)
_OUTCOMES = _STRATEGIES + len(ErrorCategory)
_FIELDS = ("connected", "ended_at", "attempts", "strategy", "last_error")


def observations(source: Any, policy: RetryPolicy | None = None) -> SessionOutcomes:
    """The observed sessions as a checked SessionOutcomes (sessions with no attempt dropped).

    ``source``: a SessionOutcomes, or anything whose ``.result`` is one (a LiveRun).
    ``policy``: the policy that produced them; by default the one the result carries.
    Raises :class:`ConfigError` naming what is wrong: not a result, no session, arrays of
    different lengths, a connected session without a time, nothing connected.
    """
    result = getattr(source, "result", source)
    missing = [name for name in _FIELDS if not hasattr(result, name)]
    if missing:
        raise ConfigError(
            "observed",
            type(source).__name__,
            "expected a SessionOutcomes or a LiveRun (per-session arrays "
            + ", ".join(_FIELDS)
            + f"); missing {', '.join(missing)}",
        )
    if policy is None:
        policy = getattr(result, "policy", None)
    if not isinstance(policy, RetryPolicy):
        raise ConfigError(
            "policy", policy, "expected the RetryPolicy that produced the observations"
        )
    arrays = {name: np.asarray(getattr(result, name)).ravel() for name in _FIELDS}
    sizes = {name: a.size for name, a in arrays.items()}
    if len(set(sizes.values())) != 1:
        raise ConfigError("observed", sizes, "expected per-session arrays of one length")
    attempts = arrays["attempts"].astype(np.int64)
    kept = attempts > 0  # a live session whose token fetch failed made no attempt
    if not np.any(kept):
        raise ConfigError("observed", f"{attempts.size} sessions", "no session made an attempt")
    connected = arrays["connected"].astype(bool)[kept]
    ended = arrays["ended_at"].astype(float)[kept]
    strategy = arrays["strategy"].astype(np.int64)[kept]
    last_error = arrays["last_error"].astype(np.int64)[kept]
    attempts = attempts[kept]
    if not np.any(connected):
        raise ConfigError(
            "observed",
            f"0 of {connected.size} sessions connected",
            "a fit needs at least one connected session (times to connect)",
        )
    good_time = np.isfinite(ended) & (ended >= 0)
    if not np.all(good_time[connected]):
        raise ConfigError("observed.ended_at", "NaN or negative", "expected seconds >= 0")
    if np.any((strategy[connected] < 0) | (strategy[connected] >= _STRATEGIES)):
        raise ConfigError("observed.strategy", "unknown code", "expected Strategy codes")
    if np.any((last_error < 0) | (last_error >= len(ErrorCategory))):
        raise ConfigError("observed.last_error", "unknown code", "expected ErrorCategory codes")
    n = int(connected.size)
    return SessionOutcomes(
        policy=policy,
        target=str(getattr(result, "target", "observed")),
        seed=int(getattr(result, "seed", 0)),
        profile_names=tuple(getattr(result, "profile_names", ("observed",))),
        connected=connected,
        ended_at=np.where(good_time, ended, 0.0),
        attempts=attempts.astype(np.int16),
        strategy=np.where(connected, strategy, -1).astype(np.int8),
        last_error=last_error.astype(np.int8),
        profile=np.zeros(n, dtype=np.int8),
        kind=str(getattr(result, "kind", "simulated")),
    )


@dataclass(frozen=True, slots=True, eq=False)
class OutcomeStats:
    """What a fit compares of a set of sessions (see the module doc).

    ``times``/``first``: sorted seconds to connect of the connected sessions / of those that
    connected on their first attempt. ``outcome``: shares of the sessions by outcome, first
    "connected via strategy code i" (one per :class:`Strategy`), then "failed with last
    error e" (one per :class:`ErrorCategory`). ``attempts``: shares by attempts made,
    index 0 = one attempt, the last entry gathering ``max_attempts`` or more.
    """

    sessions: int
    times: np.ndarray
    first: np.ndarray
    outcome: np.ndarray
    attempts: np.ndarray

    @property
    def success_rate(self) -> float:
        return float(self.outcome[:_STRATEGIES].sum())


def outcome_stats(result: SessionOutcomes, max_attempts: int) -> OutcomeStats:
    """The statistics of :func:`distance` for the sessions of ``result``."""
    connected = np.asarray(result.connected, dtype=bool)
    n = connected.size
    ended = np.asarray(result.ended_at, dtype=float)
    attempts = np.asarray(result.attempts, dtype=np.int64)
    category = np.where(
        connected,
        np.asarray(result.strategy, dtype=np.int64),
        _STRATEGIES + np.asarray(result.last_error, dtype=np.int64),
    )
    tried = np.clip(attempts, 1, max_attempts) - 1
    return OutcomeStats(
        sessions=int(n),
        times=np.sort(ended[connected]),
        first=np.sort(ended[connected & (attempts == 1)]),
        outcome=np.bincount(category, minlength=_OUTCOMES) / n,
        attempts=np.bincount(tried, minlength=max_attempts) / n,
    )


def distance(observed: OutcomeStats, simulated: OutcomeStats) -> dict[str, float]:
    """The terms of the fit's objective (each in [0, 1]) and their sum under ``"total"``."""
    terms = {
        "ks_time": ks_sorted(observed.times, simulated.times),
        "ks_first": ks_sorted(observed.first, simulated.first),
        "outcome": 0.5 * float(np.abs(observed.outcome - simulated.outcome).sum()),
        "attempts": 0.5 * float(np.abs(observed.attempts - simulated.attempts).sum()),
    }
    terms["total"] = sum(terms.values())
    return terms
