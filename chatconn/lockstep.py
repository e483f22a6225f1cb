"""Lockstep detector: do a policy's clients retry together after a mass disconnect?

Use :func:`lockstep` before shipping a policy, next to :func:`~chatconn.storm.storm`: it
says *why* a storm has a sharp peak. The situation is the storm's: ``clients`` clients
are all dropped at t = 0, make attempt 0 at once, and every attempt fails after
``attempt_s``; each then waits as the policy says (drawn through
:mod:`chatconn.core.schedule`: :func:`draw_waits`, :func:`jittered_wait`,
:func:`next_start`) and retries. For every retry k (attempt index k >= 1) the report has::

    start_share    the largest share of clients whose attempt k starts within one window
                   of ``window_s`` (100 ms): the herd arriving together
    wait_share     the largest share whose wait before attempt k falls within one window:
                   clients in step, whatever their offsets (nothing spreads them further,
                   so any cluster the herd has — an outage's end, a capacity window — stays)
    at_cap_share   the share whose wait before attempt k is exactly ``max_delay``

Verdict, from the worst retry (thresholds are the constants below)::

    lockstep    start_share >= LOCKSTEP_SHARE (0.5): most of the herd retries in one window
    clustered   start_share >= CLUSTERED_SHARE (0.2), or wait_share >= IN_STEP_SHARE (0.5):
                a large cluster, or clients moving in step
    spread      neither: the jitter spreads every retry (about window / jitter range)

Causes, from the policy's fields and where they bite: no jitter, a fixed delay table
without jitter, an unjittered first wait, a cap applied after the jitter (clients pile up
at exactly ``max_delay``: Socket.IO, and decorrelated jitter once it reaches the cap), a
jitter too small for the wait (it spreads a retry over less than a few windows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from .core.errors import ConfigError
from .core.policy import MAX_ATTEMPTS_LIMIT, JitterMode, RetryPolicy
from .core.schedule import (
    draw_waits,
    jitter_mode_for,
    jittered_wait,
    next_start,
    nominal_waits,
)
from .simulate import _check_seed
from .storm import DEFAULT_ATTEMPT_S

__all__ = [
    "CLUSTERED_SHARE",
    "DEFAULT_CLIENTS",
    "DEFAULT_WINDOW_S",
    "IN_STEP_SHARE",
    "LOCKSTEP_SHARE",
    "LockstepCause",
    "LockstepReport",
    "LockstepVerdict",
    "lockstep",
]

#: Clients drawn: the share in a window is then known to about +/- 0.005.
DEFAULT_CLIENTS = 10_000
#: Width of the window "at the same time" (seconds).
DEFAULT_WINDOW_S = 0.1
#: A retry whose start_share reaches this is lockstep: most of the herd in one window.
LOCKSTEP_SHARE = 0.5
#: A retry whose start_share reaches this is clustered.
CLUSTERED_SHARE = 0.2
#: A retry whose wait_share reaches this has most clients in step (clustered at least).
IN_STEP_SHARE = 0.5
MAX_CLIENTS = 1_000_000


class LockstepVerdict(StrEnum):
    """How together the herd retries: see the module doc for the thresholds."""

    LOCKSTEP = "lockstep"
    CLUSTERED = "clustered"
    SPREAD = "spread"

    def __str__(self) -> str:
        return self.value


class LockstepCause(StrEnum):
    """Why clients retry together, read from the policy's fields."""

    NO_JITTER = "no_jitter"  # jitter_mode none (or a zero proportional/backo2 jitter)
    FIXED_TABLE = "fixed_table"  # a delays table without jitter (SignalR)
    UNJITTERED_FIRST_WAIT = "unjittered_first_wait"  # first_delay without jitter (gRPC)
    CAP_AFTER_JITTER = "cap_after_jitter"  # waits pile up at exactly max_delay
    SMALL_JITTER = "small_jitter"  # the jitter spreads a wait over too few windows

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True, eq=False)
class LockstepReport:
    """Per retry (``attempt[i]`` is the 0-based attempt index, 1 = the first retry) the
    shares of the module doc, ``window_start_s`` where the fullest start window begins,
    ``wait_spread_s`` the range (max - min) of the waits before it, and ``flagged`` whether
    it is clustered or worse. ``worst_attempt`` has the largest start share (None when the
    policy never retries). ``causes``/``reasons`` explain a verdict other than spread in
    plain language (one reason saying it is fine otherwise).
    """

    policy: RetryPolicy
    clients: int
    window_s: float
    attempt_s: float
    seed: int
    attempt: np.ndarray
    start_share: np.ndarray
    wait_share: np.ndarray
    at_cap_share: np.ndarray
    window_start_s: np.ndarray
    wait_spread_s: np.ndarray
    flagged: np.ndarray
    worst_attempt: int | None
    worst_share: float
    verdict: LockstepVerdict
    causes: tuple[LockstepCause, ...]
    reasons: tuple[str, ...]

    @property
    def flagged_attempts(self) -> tuple[int, ...]:
        """The attempts that are clustered or worse."""
        return tuple(int(k) for k in self.attempt[self.flagged])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "clients": self.clients,
            "window_s": self.window_s,
            "attempt_s": self.attempt_s,
            "seed": self.seed,
            "verdict": self.verdict.value,
            "worst_attempt": self.worst_attempt,
            "worst_share": self.worst_share,
            "causes": [c.value for c in self.causes],
            "reasons": list(self.reasons),
            "attempts": [
                {
                    "attempt": int(k),
                    "start_share": float(s),
                    "wait_share": float(w),
                    "at_cap_share": float(c),
                    "window_start_s": float(t),
                    "wait_spread_s": float(r),
                    "flagged": bool(f),
                }
                for k, s, w, c, t, r, f in zip(
                    self.attempt,
                    self.start_share,
                    self.wait_share,
                    self.at_cap_share,
                    self.window_start_s,
                    self.wait_spread_s,
                    self.flagged,
                    strict=True,
                )
            ],
        }


def _number(name: str, value: Any, low: float, *, whole: bool = False) -> Any:
    kinds = (int, np.integer) if whole else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ConfigError(name, value, f"expected a {'whole ' if whole else ''}number >= {low}")
    if not math.isfinite(value) or value < low:
        kind = "whole number" if whole else "finite number"
        raise ConfigError(name, value, f"expected a {kind} >= {low}")
    return int(value) if whole else float(value)


def densest_window(times: np.ndarray, window_s: float) -> tuple[float, float]:
    """The largest share of ``times`` in one window ``[t, t + window_s)`` and its ``t``."""
    s = np.sort(times)
    counts = np.searchsorted(s, s + window_s, side="left") - np.arange(s.size)
    best = int(np.argmax(counts))
    return float(counts[best] / s.size), float(s[best])


def lockstep(
    policy: RetryPolicy,
    *,
    clients: int = DEFAULT_CLIENTS,
    window_s: float = DEFAULT_WINDOW_S,
    attempt_s: float = DEFAULT_ATTEMPT_S,
    attempts: int | None = None,
    seed: int = 0,
) -> LockstepReport:
    """How together ``clients`` clients dropped at once retry under ``policy``.

    ``attempts`` (default ``max_attempts``) may go beyond the policy, as a storm's clients
    of a policy that ``retries_forever`` do: further waits repeat the last one, freshly
    jittered. Bad input raises ConfigError.
    """
    if not isinstance(policy, RetryPolicy):
        raise ConfigError("policy", policy, "expected a RetryPolicy")
    clients = _number("clients", clients, 2, whole=True)
    if clients > MAX_CLIENTS:
        raise ConfigError("clients", clients, f"expected a whole number in [2, {MAX_CLIENTS}]")
    window_s = _number("window_s", window_s, 0.0)
    if window_s <= 0:
        raise ConfigError("window_s", window_s, "expected a number of seconds > 0")
    attempt_s = _number("attempt_s", attempt_s, 0.0)
    count = policy.max_attempts if attempts is None else attempts
    count = _number("attempts", count, 1, whole=True)
    if count > MAX_ATTEMPTS_LIMIT:
        raise ConfigError(
            "attempts", count, f"expected a whole number in [1, {MAX_ATTEMPTS_LIMIT}]"
        )
    seed = _check_seed(seed)

    waits = _waits(policy, np.random.default_rng(seed), clients, count - 1)
    retries = count - 1
    start_share = np.empty(retries)
    wait_share = np.empty(retries)
    window_start = np.empty(retries)
    start = np.zeros(clients)
    for i in range(retries):
        start = next_start(policy, start, start + attempt_s, waits[:, i])
        start_share[i], window_start[i] = densest_window(start, window_s)
        wait_share[i], _ = densest_window(waits[:, i], window_s)
    at_cap = np.mean(waits == policy.max_delay, axis=0)
    spread = waits.max(axis=0, initial=-np.inf) - waits.min(axis=0, initial=np.inf)
    flagged = (start_share >= CLUSTERED_SHARE) | (wait_share >= IN_STEP_SHARE)
    worst = int(np.argmax(start_share)) if retries else None
    worst_share = float(start_share[worst]) if worst is not None else 0.0
    if worst_share >= LOCKSTEP_SHARE:
        verdict = LockstepVerdict.LOCKSTEP
    elif np.any(flagged):
        verdict = LockstepVerdict.CLUSTERED
    else:
        verdict = LockstepVerdict.SPREAD
    attempt = np.arange(1, count)
    causes, reasons = _explain(
        policy, attempt, flagged, start_share, wait_share, at_cap, spread, window_s
    )
    return LockstepReport(
        policy=policy,
        clients=clients,
        window_s=window_s,
        attempt_s=attempt_s,
        seed=seed,
        attempt=attempt,
        start_share=start_share,
        wait_share=wait_share,
        at_cap_share=at_cap,
        window_start_s=window_start,
        wait_spread_s=spread if retries else np.empty(0),
        flagged=flagged,
        worst_attempt=worst + 1 if worst is not None else None,
        worst_share=worst_share,
        verdict=verdict,
        causes=causes,
        reasons=reasons,
    )


def _waits(policy: RetryPolicy, rng: np.random.Generator, clients: int, retries: int) -> np.ndarray:
    """The wait before each retry, shape (clients, retries): :func:`draw_waits` for the
    policy's own attempts, then the last wait freshly jittered (as in a storm)."""
    drawn = draw_waits(policy, rng, clients)
    if retries <= drawn.shape[1]:
        return drawn[:, :retries]
    last = policy.max_attempts - 1
    nominal = nominal_waits(policy)[last]
    extra = np.empty((clients, retries - drawn.shape[1]))
    previous = drawn[:, -1]
    for j in range(extra.shape[1]):
        previous = jittered_wait(policy, last, nominal, rng.random(clients), previous)
        extra[:, j] = previous
    return np.hstack((drawn, extra))


def _unjittered(policy: RetryPolicy, after: int) -> bool:
    """True when the wait after attempt ``after`` has no random part at all."""
    mode = jitter_mode_for(policy, after)
    if mode is JitterMode.NONE:
        return True
    return mode in (JitterMode.PROPORTIONAL, JitterMode.BACKO2) and policy.jitter == 0.0


def _retries(ks: list[int]) -> str:
    """'retry 1', 'retries 2-4', 'retries 1, 3 and 5-9' (k = attempt index = retry number)."""
    runs: list[tuple[int, int]] = []
    for k in ks:
        if runs and k == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], k)
        else:
            runs.append((k, k))
    parts = [f"{a}" if a == b else f"{a}–{b}" for a, b in runs]
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return ("retry " if len(ks) == 1 else "retries ") + text


def _explain(
    policy: RetryPolicy,
    attempt: np.ndarray,
    flagged: np.ndarray,
    start_share: np.ndarray,
    wait_share: np.ndarray,
    at_cap: np.ndarray,
    spread: np.ndarray,
    window_s: float,
) -> tuple[tuple[LockstepCause, ...], tuple[str, ...]]:
    """Attribute every flagged retry to one cause and say it in plain language."""
    if not attempt.size:
        return (), ("The policy never retries (max_attempts 1): there is nothing to fall in step.",)
    by_cause: dict[LockstepCause, list[int]] = {}
    for i in np.flatnonzero(flagged).tolist():
        k = int(attempt[i])
        after = min(k - 1, policy.max_attempts - 1)
        if _unjittered(policy, after):
            if policy.delays is not None:
                cause = LockstepCause.FIXED_TABLE
            elif after == 0 and policy.first_delay is not None:
                cause = LockstepCause.UNJITTERED_FIRST_WAIT
            else:
                cause = LockstepCause.NO_JITTER
        elif at_cap[i] >= IN_STEP_SHARE:
            cause = LockstepCause.CAP_AFTER_JITTER
        else:
            cause = LockstepCause.SMALL_JITTER
        by_cause.setdefault(cause, []).append(k)
    reasons = []
    for cause, ks in by_cause.items():
        i = int(np.flatnonzero(attempt == ks[0])[0])
        where = _retries(ks)
        if cause is LockstepCause.FIXED_TABLE:
            table = ", ".join(f"{d:g}" for d in policy.delays or ())
            text = (
                f"Fixed delay table ({table} s) without jitter: every client waits the same "
                f"and retries at the same moment ({where})."
            )
        elif cause is LockstepCause.UNJITTERED_FIRST_WAIT:
            text = (
                f"The first wait (first_delay {policy.first_delay:g} s) has no jitter: every "
                f"client retries together at {policy.first_delay:g} s ({where})."
            )
        elif cause is LockstepCause.NO_JITTER:
            text = f"No jitter: every client waits exactly the same time ({where})"
            if policy.first_delay is not None and not _unjittered(policy, 0):
                text += (
                    "; only the first wait's random offset separates them, and no later wait "
                    "spreads them any further."
                )
            else:
                text += ", so the whole herd retries in the same instant."
        elif cause is LockstepCause.CAP_AFTER_JITTER:
            if policy.jitter_mode is JitterMode.WINDOW:
                how = "both ends of the jitter window are capped, so the window closes on the cap"
            elif policy.cap_after_jitter:
                how = "the cap applies after the jitter"
            else:
                how = "decorrelated jitter caps each drawn wait"
            text = (
                f"Clients pile up at the cap: {how}, so {at_cap[i]:.0%} of clients wait exactly "
                f"max_delay = {policy.max_delay:g} s ({where}); cap before jitter instead."
            )
        else:
            text = (
                f"Jitter too small for the wait: it spreads the wait before retry {ks[0]} over "
                f"only {spread[i]:.3g} s, so {max(start_share[i], wait_share[i]):.0%} of clients "
                f"fall in one {window_s:g} s window ({where})."
            )
        reasons.append(text)
    if not reasons:
        worst = int(np.argmax(start_share))
        reasons.append(
            f"The jitter spreads every retry: at most {start_share[worst]:.1%} of clients start "
            f"within one {window_s:g} s window (retry {int(attempt[worst])})."
        )
    return tuple(by_cause), tuple(reasons)
