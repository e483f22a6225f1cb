"""The attempt schedule, written once: timeouts, waits, jitter, deadline and ladder.

Every consumer goes through these functions — the live manager draws one session with
:meth:`Schedule.draw`, the simulator calls :func:`jittered_wait` on whole columns of
sessions, plots and reports describe :func:`nominal_timeouts` and :func:`nominal_waits`.
The formulas use ``np.minimum``/``np.maximum``/``np.floor`` so the same code runs on a
Python float and on a numpy array; a test holds one drawn session equal to a row of
:func:`draw_waits` for the same seed.

Indexing: attempt ``k`` is 0-based; "the wait after attempt k" is the wait before
attempt ``k + 1`` (retry number ``k + 1``). Arrays of waits have one column per attempt,
the last one being the wait that *would* follow the final attempt (used by gRPC's
``timeout_spans_backoff`` and by reconnect storms, where clients keep going).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from .errors import ConfigError
from .policy import JitterMode, RetryPolicy, WaitAnchor
from .strategies import Strategy

__all__ = [
    "PlannedAttempt",
    "Schedule",
    "attempt_timeout",
    "draw_waits",
    "jitter_mode_for",
    "jittered_wait",
    "next_start",
    "nominal_timeouts",
    "nominal_waits",
    "spans_backoff",
    "within_deadline",
]

Num = TypeVar("Num", float, np.ndarray)

# Nominal waits are computed by repeated multiplication, as websockets' backoff() does;
# clipping keeps an uncapped (cap_after_jitter) sequence finite.
_HUGE = 1e300


def nominal_timeouts(policy: RetryPolicy) -> np.ndarray:
    """Connect timeout of each attempt before gRPC spanning and the deadline, shape (A,).

    Attempt k gets ``min(base_timeout * timeout_growth**k, max_timeout)``; an
    ``extended_timeout`` rung gets ``extended_timeout`` instead.
    """
    k = np.arange(policy.max_attempts, dtype=float)
    grown = np.minimum(policy.base_timeout * np.power(policy.timeout_growth, k), policy.max_timeout)
    extended = np.array([s is Strategy.EXTENDED_TIMEOUT for s in policy.strategies])
    return np.where(extended, policy.extended_timeout, grown)


def nominal_waits(policy: RetryPolicy, count: int | None = None) -> np.ndarray:
    """Nominal wait after each attempt (before jitter), shape (count,), default (A,).

    The wait before retry r (r >= 1) is ``min(initial_delay * multiplier**(r-1), max_delay)``
    (each nominal is the previous one times ``multiplier`` plus ``delay_step``, so with a
    step: ``d(r) = d(r-1) * multiplier + delay_step``), or ``delays[r-1]`` with a table,
    or ``first_delay`` for r = 1 when set (the sequence
    then starts at r = 2). Beyond a table, its last wait repeats. With ``cap_after_jitter``
    (or the ``window`` jitter mode) the nominal is left uncapped; :func:`jittered_wait` caps
    the jittered value (the window's ends).
    """
    count = policy.max_attempts if count is None else count
    out = np.empty(count)
    if policy.delays is not None:
        table = policy.delays
        for k in range(count):
            out[k] = table[min(k, len(table) - 1)]
        return out
    # backo2 with cap_after_jitter and window cap the jittered wait (window: each end).
    uncapped = policy.cap_after_jitter or JitterMode.WINDOW in (
        policy.jitter_mode,
        policy.first_delay_jitter,
    )
    cap = _HUGE if uncapped else policy.max_delay
    start = 0
    if policy.first_delay is not None and count:
        out[0] = policy.first_delay
        start = 1
    delay = policy.initial_delay
    for k in range(start, count):
        out[k] = min(delay, cap)
        delay = min(delay * policy.multiplier + policy.delay_step, _HUGE)
    return out


def jitter_mode_for(policy: RetryPolicy, after_attempt: int) -> JitterMode:
    """The jitter mode of the wait after attempt ``after_attempt``."""
    if after_attempt == 0 and policy.first_delay is not None and policy.delays is None:
        return policy.first_delay_jitter
    return policy.jitter_mode


def jittered_wait(
    policy: RetryPolicy, after_attempt: int, nominal: Num, u: Num, previous: Num
) -> Num:
    """The wait after attempt ``after_attempt`` from its nominal value and a uniform ``u``.

    ``previous`` is the wait before it (``initial_delay`` for the first), used only by
    decorrelated jitter. Works elementwise on floats and arrays alike.
    """
    mode = jitter_mode_for(policy, after_attempt)
    j = policy.jitter
    if mode is JitterMode.NONE:
        wait = nominal + 0.0 * u
    elif mode is JitterMode.PROPORTIONAL:
        wait = nominal * (1.0 + j * (2.0 * u - 1.0))
    elif mode is JitterMode.FULL:
        wait = u * nominal
    elif mode is JitterMode.EQUAL:
        wait = nominal / 2.0 + u * (nominal / 2.0)
    elif mode is JitterMode.DECORRELATED:
        # AWS: sleep = min(cap, random_between(base, sleep * 3)), sleep starting at base.
        base = policy.initial_delay
        wait = np.minimum(policy.max_delay, base + u * (3.0 * previous - base))
    elif mode is JitterMode.BACKO2:
        # socket.io-client backo2 duration(), in integer milliseconds:
        #   deviation = floor(rand * jitter * ms)
        #   ms = (floor(rand * 10) & 1) == 0 ? ms - deviation : ms + deviation
        #   return min(ms, max) | 0
        ms = nominal * 1000.0
        deviation = np.floor(u * j * ms)
        # floor(10u) is even exactly when it equals 2 * floor(5u) (scaling by 2 is exact
        # in binary floating point): the same test as "% 2 == 0", without a slow fmod.
        sign = np.where(np.floor(u * 10.0) == 2.0 * np.floor(u * 5.0), -1.0, 1.0)
        wait_ms = ms + sign * deviation
        if policy.cap_after_jitter:
            wait_ms = np.minimum(wait_ms, policy.max_delay * 1000.0)
        backo2: Num = np.floor(wait_ms) / 1000.0
        return backo2
    elif mode is JitterMode.WINDOW:
        # stream-chat src/utils.ts retryInterval(n), in integer milliseconds:
        #   max = Math.min(500 + n * 2000, 25000)
        #   min = Math.min(Math.max(250, (n - 1) * 2000), 25000)
        #   return Math.floor(Math.random() * (max - min) + min)
        high = np.minimum(nominal, policy.max_delay)
        low = np.minimum(np.maximum(policy.window_floor, nominal - policy.window), high)
        low, high = np.round(low * 1000.0), np.round(high * 1000.0)
        window: Num = np.floor(u * (high - low) + low) / 1000.0
        return window
    else:  # pragma: no cover - the enum is closed
        raise AssertionError(mode)
    if policy.cap_after_jitter:
        wait = np.minimum(wait, policy.max_delay)
    return wait


def draw_waits(policy: RetryPolicy, rng: np.random.Generator, sessions: int) -> np.ndarray:
    """Jittered waits after every attempt for many sessions, shape (sessions, A).

    Draws ``rng.random((sessions, A))`` once, so row i equals what :meth:`Schedule.draw`
    gives for the i-th of ``sessions`` draws in a row from the same generator.
    """
    count = policy.max_attempts
    u = rng.random((sessions, count))
    nominal = nominal_waits(policy, count)
    waits = np.empty((sessions, count))
    previous: float | np.ndarray = policy.initial_delay
    for k in range(count):
        waits[:, k] = jittered_wait(policy, k, nominal[k], u[:, k], previous)
        previous = waits[:, k]
    return waits


def spans_backoff(policy: RetryPolicy, timeout: Num, wait_after: Num) -> Num:
    """gRPC's ``TryConnect(Max(deadline, now + MIN_CONNECT_TIMEOUT))``.

    With ``timeout_spans_backoff`` an attempt may run until the next backoff deadline
    (its start + the wait after it) when that is later than its own timeout.
    """
    if policy.timeout_spans_backoff:
        spanned: Num = np.maximum(timeout, wait_after)
        return spanned
    return timeout


def next_start(policy: RetryPolicy, prev_start: Num, failed_at: Num, wait: Num) -> Num:
    """When the next attempt starts, from the previous one's start and failure times.

    ``wait_from=failure``: failure + wait. ``wait_from=start`` (gRPC's SleepUntil):
    previous start + wait, or at once if the attempt failed later than that.
    """
    start: Num
    if policy.wait_from is WaitAnchor.START:
        start = np.maximum(prev_start + wait, failed_at)
    else:
        start = failed_at + wait
    return start


def within_deadline(policy: RetryPolicy, start: Num) -> Num | bool:
    """True where an attempt starting at ``start`` would still begin before the deadline."""
    if policy.deadline is None:
        return np.ones_like(start, dtype=bool) if isinstance(start, np.ndarray) else True
    return start < policy.deadline


def attempt_timeout(policy: RetryPolicy, start: Num, timeout: Num) -> Num:
    """The attempt's timeout shortened so that it ends by the deadline, if there is one."""
    if policy.deadline is None:
        return timeout
    shortened: Num = np.minimum(timeout, policy.deadline - start)
    return shortened


@functools.lru_cache(maxsize=256)
def _tables_by_value(policy: RetryPolicy) -> tuple[tuple[float, ...], tuple[float, ...]]:
    return tuple(nominal_timeouts(policy).tolist()), tuple(nominal_waits(policy).tolist())


#: The last policies' tables by identity: a policy object is used for every connect of a
#: manager, and hashing a RetryPolicy (all its fields) costs more than the lookup.
_TABLES_BY_ID: dict[int, tuple[RetryPolicy, tuple[tuple[float, ...], tuple[float, ...]]]] = {}


def _scalar_tables(policy: RetryPolicy) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Nominal timeouts and waits as Python floats, computed once per (frozen) policy:
    the live manager draws one schedule per connect and should not redo them."""
    entry = _TABLES_BY_ID.get(id(policy))
    if entry is not None and entry[0] is policy:  # the entry holds the policy: id not reused
        return entry[1]
    tables = _tables_by_value(policy)
    if len(_TABLES_BY_ID) >= 256:
        _TABLES_BY_ID.clear()
    _TABLES_BY_ID[id(policy)] = (policy, tables)
    return tables


@dataclass(frozen=True, slots=True)
class PlannedAttempt:
    """One attempt of a drawn schedule (before the deadline shortens anything)."""

    index: int
    strategy: Strategy
    timeout: float
    wait_before: float


@dataclass(frozen=True, slots=True)
class Schedule:
    """One session's drawn schedule: what the live manager follows.

    Use :meth:`draw`; ``waits_after[k]`` is the wait after attempt k (the last entry is
    the wait a further attempt would use). Timeouts here already include gRPC spanning;
    the deadline is applied at run time by :class:`~chatconn.core.planner.ConnectPlanner`
    because it depends on when attempts actually fail.
    """

    policy: RetryPolicy
    timeouts: tuple[float, ...]
    waits_after: tuple[float, ...]

    @classmethod
    def draw(cls, policy: RetryPolicy, rng: np.random.Generator) -> Schedule:
        """Draw one session's schedule; the scalar twin of :func:`draw_waits`."""
        return cls.from_uniforms(policy, rng.random(policy.max_attempts).tolist())

    @classmethod
    def from_uniforms(cls, policy: RetryPolicy, u: Sequence[float]) -> Schedule:
        """The schedule of :meth:`draw` from its ``max_attempts`` uniforms in [0, 1) (the
        jitter of the wait after each attempt), for a caller that draws them itself."""
        count = policy.max_attempts
        if len(u) != count:
            raise ConfigError("u", len(u), f"expected {count} uniforms (max_attempts)")
        nominal_timeout, nominal = _scalar_tables(policy)
        waits: list[float] = []
        previous = policy.initial_delay
        for k in range(count):
            previous = float(jittered_wait(policy, k, nominal[k], u[k], previous))
            waits.append(previous)
        if policy.timeout_spans_backoff:
            timeouts = tuple(
                float(spans_backoff(policy, nominal_timeout[k], waits[k])) for k in range(count)
            )
        else:
            timeouts = nominal_timeout
        return cls(policy=policy, timeouts=timeouts, waits_after=tuple(waits))

    @property
    def attempts(self) -> tuple[PlannedAttempt, ...]:
        return tuple(
            PlannedAttempt(
                index=k,
                strategy=self.policy.strategy_for(k),
                timeout=self.timeouts[k],
                wait_before=0.0 if k == 0 else self.waits_after[k - 1],
            )
            for k in range(len(self.timeouts))
        )

    def worst_case_s(self) -> float:
        """Longest the whole connect can take: every attempt times out, every wait is taken.

        Bounded by the policy's deadline when it has one.
        """
        return self.worst_case_end(0, 0.0)

    def worst_case_end(self, index: int, start: float) -> float:
        """When the connect ends at the latest if attempt ``index`` starts at ``start``
        (elapsed seconds, as the planner counts them) and it and every later attempt time
        out: the remaining budget from where a connect stands (percent progress).

        Attempt ``index`` itself is taken as planned (the planner already checked it against
        the deadline, shortening its timeout to end by it).
        """
        policy = self.policy
        end = start
        for k in range(index, len(self.timeouts)):
            if k > index and not within_deadline(policy, start):
                break
            end = start + float(attempt_timeout(policy, start, self.timeouts[k]))
            if k + 1 < len(self.timeouts):
                start = float(next_start(policy, start, end, self.waits_after[k]))
        return end
