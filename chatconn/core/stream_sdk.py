"""How stream-chat's ``StableWSConnection`` spends the ``stream-chat`` preset's waits.

The preset (:func:`chatconn.core.presets.stream_chat`) gives the wait of retry n; this module
models *which* retries the SDK runs and when, read from ``stream-chat`` 9.53.0
``src/connection.ts`` and checked against the SDK itself in the lab (tests/
test_stream_sdk.py). A single failed WebSocket attempt reaches the SDK three times:

* ``onerror`` (``consecutiveFailures += 1``, then ``_reconnect()``),
* ``onclose`` with an abnormal code (``+= 1``, ``_reconnect()``) — ``ws`` emits both at once,
* the ``catch`` of the ``_reconnect`` that started the attempt (``+= 1``, ``_reconnect()``),
  or of ``connect()`` for the first attempt (``+= 1``, no new loop).

Each ``_reconnect()`` sleeps ``retryInterval(consecutiveFailures)`` *as it was when called*
and then tries, unless another attempt is in progress or the connection is healthy. So a
failed attempt starts up to three retry loops, with windows n+1, n+2, n+3, and the failure
count climbs by three per failure: the retries fan out, and the n of each is not the
number of the retry. A healthy connection that drops (a server restart) sees only
``onclose``: one loop with n = 1. After 25 s of windows every failure adds three loops that
all wake 24-25 s later, so during a long outage the attempts grow by up to three times per
25 s, thinned only by loops that wake while an attempt is in progress (an attempt that
hangs silences all of them: a reconnect's handshake has no timeout).

The first ``connectUser`` waits ``connect(timeout)`` (15 s, or 6 s with
``enableWSFallback``) for a loop to succeed *only after its first attempt failed*; an
attempt that hangs holds ``connectUser`` (and the fallback) forever. With the fallback, a
first connect that failed switches to long polling (one ``GET /longpoll`` with an 8 s
timeout, ``connection_fallback.ts``) and stays there.

Pure: the random generator is passed in; times are seconds from the drop (or the first
attempt).
"""

from __future__ import annotations

import functools
import heapq
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError
from .policy import JitterMode, RetryPolicy
from .schedule import jittered_wait, nominal_waits

__all__ = [
    "FALLBACK_CONNECT_WAIT_S",
    "FIRST_CONNECT_WAIT_S",
    "LONGPOLL_CONNECT_TIMEOUT_S",
    "SdkConnect",
    "StackedConnect",
    "first_connect",
    "reconnect_after_drop",
    "retry_wait",
    "stacked_connect",
]

#: ``client.ts`` ``defaultWSTimeout`` and ``defaultWSTimeoutWithFallback`` (ms / 1000).
FIRST_CONNECT_WAIT_S = 15.0
FALLBACK_CONNECT_WAIT_S = 6.0
#: ``connection_fallback.ts``: the long-poll connect request's timeout.
LONGPOLL_CONNECT_TIMEOUT_S = 8.0
#: retryInterval's window no longer changes past this n (both ends at the 25 s cap).
_N_TABLE = 64
#: How long a refused attempt keeps ``isConnecting`` set: a loopback refusal (~0.3 ms) plus
#: the SDK's own turns; loops that wake meanwhile abort (at the 25 s cap they wake together).
REFUSAL_S = 0.001
#: Safety valve on a modelled run: a long outage grows the loops geometrically.
MAX_ATTEMPTS_MODELLED = 100_000


@dataclass(frozen=True, slots=True)
class SdkConnect:
    """One modelled client: its WebSocket attempt starts, and how it ended.

    ``connected_at`` is when the attempt that succeeded started (None: not connected within
    the horizon); ``transport`` is "websocket", "longpoll" or None; ``gave_up_at`` is when
    ``connectUser`` rejected (the first connect without the fallback), else None.
    """

    attempts: tuple[float, ...]
    connected_at: float | None
    transport: str | None
    gave_up_at: float | None = None


def _policy(policy: RetryPolicy | None) -> RetryPolicy:
    if policy is None:
        from .presets import stream_chat

        return stream_chat()
    if not isinstance(policy, RetryPolicy):
        raise ConfigError("policy", policy, "expected a RetryPolicy")
    return policy


def retry_wait(policy: RetryPolicy, n: int, u: float) -> float:
    """``retryInterval(n)`` as the policy's schedule draws it (retry n waits in window n)."""
    table = _nominal(policy)
    k = min(max(n, 1), _N_TABLE) - 1
    return float(jittered_wait(policy, k, table[k], u, policy.initial_delay))


@functools.lru_cache(maxsize=32)
def _nominal(policy: RetryPolicy) -> np.ndarray:
    return nominal_waits(policy, _N_TABLE)


class _Waits:
    """The wait of every failure count n = 1, 2, ... of one modelled client, drawn in
    blocks through the schedule (each n is used once: every loop gets the next count)."""

    def __init__(self, policy: RetryPolicy, rng: np.random.Generator) -> None:
        if JitterMode.DECORRELATED in (policy.jitter_mode, policy.first_delay_jitter):
            raise ConfigError("policy", "decorrelated", "the SDK's waits do not chain")
        self.policy, self.rng = policy, rng
        self.table: list[float] = []

    def __call__(self, n: int) -> float:
        while n > len(self.table):
            start = len(self.table)
            count = max(16, start)
            ks = np.minimum(np.arange(start, start + count), _N_TABLE - 1)
            nominal = _nominal(self.policy)[ks]
            u = self.rng.random(count)
            previous = np.full(count, self.policy.initial_delay)  # unused: no decorrelated jitter
            block = jittered_wait(self.policy, 1, nominal, u, previous)
            if start == 0:  # the first wait may have its own jitter (first_delay)
                block[0] = jittered_wait(self.policy, 0, nominal[0], u[0], 0.0)
            self.table.extend(np.asarray(block, dtype=float).tolist())
        return self.table[n - 1]


def _run_loops(
    policy: RetryPolicy,
    rng: np.random.Generator,
    loops: list[int],
    failures: int,
    ws_ok_at: float,
    horizon_s: float,
    attempt_s: float,
    hang: bool,
    start: float = 0.0,
) -> tuple[list[float], float | None]:
    """The retry loops started at ``start`` (windows ``loops``) until one connects."""
    wait = _Waits(policy, rng)
    heap: list[tuple[float, int]] = []
    seq = 0
    for n in loops:
        heapq.heappush(heap, (start + wait(n), seq))
        seq += 1
    attempts: list[float] = []
    busy_until = -np.inf
    while heap:
        t, _ = heapq.heappop(heap)
        if t > horizon_s or len(attempts) >= MAX_ATTEMPTS_MODELLED:
            break
        if t <= busy_until:  # "Abort (2) since already connecting" (a wake at the same ms too)
            continue
        attempts.append(t)
        if t >= ws_ok_at:
            return attempts, t
        if hang:  # isConnecting stays true: every later loop aborts
            break
        busy_until = t + attempt_s
        for _ in range(3):  # onerror, onclose, the _reconnect's catch
            failures += 1
            heapq.heappush(heap, (busy_until + wait(failures), seq))
            seq += 1
    return attempts, None


def reconnect_after_drop(
    rng: np.random.Generator,
    *,
    down_s: float,
    policy: RetryPolicy | None = None,
    horizon_s: float = 600.0,
    attempt_s: float = REFUSAL_S,
    hang: bool = False,
) -> SdkConnect:
    """A healthy client whose server dies at 0 and accepts again from ``down_s``.

    Attempts before ``down_s`` fail after ``attempt_s`` (a refusal: ~0), or hang when
    ``hang`` (a blackhole: the SDK then waits on that attempt forever).
    """
    policy = _policy(policy)
    if not down_s >= 0:
        raise ConfigError("down_s", down_s, "expected seconds >= 0")
    # onclose of the open socket: consecutiveFailures 0 -> 1, one _reconnect with window 1.
    attempts, ok = _run_loops(policy, rng, [1], 1, down_s, horizon_s, attempt_s, hang)
    return SdkConnect(tuple(attempts), ok, None if ok is None else "websocket")


def first_connect(
    rng: np.random.Generator,
    *,
    ws_ok_at: float = np.inf,
    ws_hangs: bool = False,
    fallback: bool = False,
    longpoll_ok: bool = True,
    policy: RetryPolicy | None = None,
    attempt_s: float = REFUSAL_S,
) -> SdkConnect:
    """``connectUser`` when WebSocket attempts fail until ``ws_ok_at`` (np.inf: always;
    failing fast, e.g. HTTP 403 or a refusal, or hanging when ``ws_hangs``)."""
    policy = _policy(policy)
    if ws_hangs or ws_ok_at <= 0:
        # The first attempt never settles (or succeeds): connect() awaits it forever.
        return SdkConnect(
            (0.0,), 0.0 if ws_ok_at <= 0 else None, "websocket" if ws_ok_at <= 0 else None
        )
    wait = FALLBACK_CONNECT_WAIT_S if fallback else FIRST_CONNECT_WAIT_S
    # onerror (1) and onclose (2) start loops with windows 1 and 2; connect()'s catch makes 3.
    loops, ok = _run_loops(
        policy, rng, [1, 2], 3, ws_ok_at, attempt_s + wait, attempt_s, False, attempt_s
    )
    attempts = [0.0, *loops]
    if ok is not None:
        return SdkConnect(tuple(attempts), ok, "websocket")
    if fallback and longpoll_ok:
        return SdkConnect(tuple(attempts), wait, "longpoll")
    return SdkConnect(tuple(attempts), None, None, gave_up_at=wait)


@dataclass(frozen=True, slots=True)
class StackedConnect:
    """The app's manager on top of the SDK: each app attempt is one ``connectUser``.

    ``app_attempts`` start times, ``ws_attempts`` every WebSocket attempt the SDK made under
    them, ``connected_at`` when the one that succeeded started (None: not within the app's
    attempts).
    """

    app_attempts: tuple[float, ...]
    ws_attempts: tuple[float, ...]
    connected_at: float | None


def stacked_connect(
    rng: np.random.Generator,
    app_policy: RetryPolicy,
    *,
    down_s: float,
    sdk_policy: RetryPolicy | None = None,
    attempt_s: float = REFUSAL_S,
) -> StackedConnect:
    """An app connecting through the SDK while the server refuses until ``down_s``.

    App attempt k starts at its schedule's time and calls ``connectUser``: the SDK tries,
    fans its retries out for up to 15 s (:func:`first_connect`), and either connects or
    rejects; the app's own timeout cuts it short (``disconnectUser``), then the app waits
    its jittered wait and calls again. The app's ladder is not modelled (every rung is a
    ``connectUser``): this is what the SDK's retries add underneath the app's.
    """
    from .schedule import Schedule

    sdk = _policy(sdk_policy)
    schedule = Schedule.draw(app_policy, rng)
    start = 0.0
    app: list[float] = []
    ws: list[float] = []
    for k, timeout in enumerate(schedule.timeouts):
        app.append(start)
        inner = first_connect(rng, ws_ok_at=down_s - start, policy=sdk, attempt_s=attempt_s)
        cut = start + timeout
        ws.extend(start + t for t in inner.attempts if start + t < cut)
        if inner.connected_at is not None and start + inner.connected_at < cut:
            return StackedConnect(tuple(app), tuple(ws), start + inner.connected_at)
        ended = min(cut, start + (inner.gave_up_at or timeout))
        if k + 1 < len(schedule.timeouts):
            start = ended + schedule.waits_after[k]
    return StackedConnect(tuple(app), tuple(ws), None)
