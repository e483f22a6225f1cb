"""Reconnect storms: every client dropped at once, a server with limited capacity.

Use :func:`storm` to see the trade-off between fast reconnects and server load: N
connected clients are all dropped at t = 0 and start reconnecting by the policy's
schedule (attempt 0 at once). The rules:

- The server is down until ``outage_s``: every attempt before it is refused.
- Then it accepts at most ``capacity_per_s`` handshakes in each one-second window
  ``[outage_s + j, outage_s + j + 1)``, first come first served (ties by client number);
  the excess are refused. An attempt takes ``attempt_s`` (about one RTT) to be accepted or
  refused; a refused client waits by the policy (:mod:`chatconn.core.schedule`) and tries
  again.
- **A client that gives up stays down.** After a refused attempt, a client whose policy
  does not retry forever stops when it has made ``max_attempts`` attempts, or when its
  next attempt would start at or after the policy's ``deadline`` (counted from the drop):
  it is counted in ``gave_up`` and never comes back (SignalR's ``DefaultReconnectPolicy``
  returns ``null`` and closes; botocore raises after its 3rd attempt; the seed app shows
  "offline"). A policy with ``retries_forever`` (gRPC, websockets, Socket.IO) keeps going
  past ``max_attempts`` at its last wait, freshly jittered; its deadline, if it has one,
  still ends it.
- Clients neither back nor given up when the ``horizon_s`` is reached are ``still_down``.

Random waits are drawn per (client, attempt) from a counter-based hash of the seed
(splitmix64), not from a stream consumed in processing order: the result is a function of
the seed alone, whatever order the clients are handled in — so this module and the
straightforward rescan of :mod:`chatconn.storm_reference` give identical results, which
the tests hold them to.

The algorithm is a calendar queue: clients are kept in buckets by the capacity window of
their next attempt, so each window touches only its own arrivals (and the clients it
refuses), never the whole herd; the work is proportional to the number of attempts.

With ``heartbeat=`` the drop is silent (the lifetime rules, :mod:`chatconn.core.lifetime`):
each client starts reconnecting when its heartbeat notices, ``u * interval_s + timeout_s``
after the drop (``u`` from the seed), instead of all at once.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .core.errors import ConfigError
from .core.lifetime import HeartbeatConfig, detection_delay
from .core.policy import JitterMode, RetryPolicy
from .core.schedule import jitter_mode_for, jittered_wait, next_start, nominal_waits
from .simulate import _check_seed

__all__ = ["DEFAULT_ATTEMPT_S", "MAX_CLIENTS", "StormResult", "storm"]

DEFAULT_ATTEMPT_S = 0.05
DEFAULT_HORIZON_S = 24 * 3600.0
#: Memory is ~60 bytes per client; 10 M clients stay under 1 GB.
MAX_CLIENTS = 10**7


@dataclass(frozen=True, slots=True, eq=False)
class StormResult:
    """Arrivals per second and how long the herd took to get back — or that it did not.

    ``accepted_per_s[i]``/``refused_per_s[i]`` count attempts in second [i, i+1) from the
    drop. ``peak_per_s`` is the most attempts in one capacity window from ``outage_s`` on.
    Per client: ``connect_time`` (NaN if not back), ``attempts`` (attempts made, the
    accepted one included), ``gave_up_at`` (when it gave up, NaN if it did not).
    ``reconnected_99_s``/``reconnected_all_s`` are None when fewer than 99 % / not all of
    the clients got back (clients that gave up never do). ``gave_up`` counts clients that
    stopped by their policy's end; ``still_down`` those still retrying at the horizon.
    """

    policy: RetryPolicy
    clients: int
    outage_s: float
    capacity_per_s: int
    seed: int
    attempt_s: float
    accepted_per_s: np.ndarray
    refused_per_s: np.ndarray
    peak_per_s: int
    reconnected_99_s: float | None
    reconnected_all_s: float | None
    refused_during_outage: int
    refused_over_capacity: int
    gave_up: int
    still_down: int
    connect_time: np.ndarray
    attempts: np.ndarray
    gave_up_at: np.ndarray
    elapsed_s: float

    @property
    def refused(self) -> int:
        return self.refused_during_outage + self.refused_over_capacity

    @property
    def back(self) -> int:
        """Clients that reconnected."""
        return self.clients - self.gave_up - self.still_down

    def to_dict(self) -> dict[str, Any]:
        return {
            "clients": self.clients,
            "outage_s": self.outage_s,
            "capacity_per_s": self.capacity_per_s,
            "attempt_s": self.attempt_s,
            "retries_forever": self.policy.retries_forever,
            "peak_per_s": self.peak_per_s,
            "peak_over_capacity": self.peak_per_s / self.capacity_per_s,
            "back": self.back,
            "back_share": self.back / self.clients,
            "gave_up": self.gave_up,
            "still_down": self.still_down,
            "reconnected_99_s": self.reconnected_99_s,
            "reconnected_all_s": self.reconnected_all_s,
            "refused": self.refused,
            "refused_during_outage": self.refused_during_outage,
            "refused_over_capacity": self.refused_over_capacity,
            "attempts_mean": float(self.attempts.mean()),
            "series": [
                {"t_s": i, "accepted": int(a), "refused": int(r)}
                for i, (a, r) in enumerate(
                    zip(self.accepted_per_s, self.refused_per_s, strict=True)
                )
            ],
            "elapsed_s": self.elapsed_s,
        }


def _check(name: str, value: Any, low: float, *, integer: bool = False) -> Any:
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ConfigError(name, value, f"expected a {'whole ' if integer else ''}number >= {low}")
    if not math.isfinite(value) or value < low:
        raise ConfigError(
            name, value, f"expected a finite {'whole ' if integer else ''}number >= {low}"
        )
    return int(value) if integer else float(value)


@dataclass(frozen=True, slots=True)
class StormSettings:
    """The validated arguments of a storm (shared by :func:`storm` and the reference)."""

    policy: RetryPolicy
    clients: int
    outage_s: float
    capacity: int
    seed: int
    attempt_s: float
    horizon_s: float

    @classmethod
    def checked(
        cls,
        policy: Any,
        clients: Any,
        outage_s: Any,
        capacity_per_s: Any,
        seed: Any,
        attempt_s: Any,
        horizon_s: Any,
        max_clients: int = MAX_CLIENTS,
    ) -> StormSettings:
        if not isinstance(policy, RetryPolicy):
            raise ConfigError("policy", policy, "expected a RetryPolicy")
        clients = _check("clients", clients, 1, integer=True)
        if clients > max_clients:
            raise ConfigError("clients", clients, f"expected a whole number in [1, {max_clients}]")
        outage_s = _check("outage_s", outage_s, 0.0)
        capacity = _check("capacity_per_s", capacity_per_s, 1, integer=True)
        seed = _check_seed(seed)
        attempt_s = _check("attempt_s", attempt_s, 1e-6)
        horizon_s = _check("horizon_s", horizon_s, outage_s + 1.0)
        if outage_s + clients / capacity > horizon_s:
            raise ConfigError(
                "capacity_per_s",
                capacity,
                f"too small: {clients} clients need {clients / capacity:.0f} s after the "
                f"outage, past the {horizon_s:.0f} s horizon",
            )
        return cls(policy, clients, outage_s, capacity, seed, attempt_s, horizon_s)


# --------------------------------------------------------------------------- the rules
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
#: A client's tag: its number in the high 32 bits, the attempts it has made in the low 32.
TAG_BITS = 32
_ATTEMPT_MASK = (1 << TAG_BITS) - 1


def tags(ids: np.ndarray, attempts: np.ndarray | int = 0) -> np.ndarray:
    """Tags of clients ``ids`` having made ``attempts`` attempts (int64)."""
    return (ids.astype(np.int64) << TAG_BITS) | attempts


def tag_ids(tag: np.ndarray) -> np.ndarray:
    return tag >> TAG_BITS


def tag_attempts(tag: np.ndarray) -> np.ndarray:
    return tag & _ATTEMPT_MASK


def uniform_draws(key: np.uint64, tag: np.ndarray) -> np.ndarray:
    """U[0, 1) for each (client, attempt) tag: splitmix64's finaliser over the tag.

    A pure function of ``key`` (from the seed), the client and the attempt: the same pair
    always gets the same number, whatever order pairs are drawn in.
    """
    x = tag.view(np.uint64) ^ key
    x += _GOLDEN
    tmp = np.empty_like(x)
    for shift, mix in ((30, _MIX1), (27, _MIX2)):
        np.right_shift(x, np.uint64(shift), out=tmp)
        x ^= tmp
        x *= mix
    np.right_shift(x, np.uint64(31), out=tmp)
    x ^= tmp
    x >>= np.uint64(11)
    u = x.astype(np.float64)
    u *= _TO_UNIT
    return u


def seed_key(seed: int) -> np.uint64:
    """The 64-bit key of a seed for :func:`uniform_draws`."""
    return np.random.SeedSequence(seed).generate_state(1, dtype=np.uint64)[0]


class Group:
    """Clients travelling together, as parallel arrays: the next attempt's start ``t``,
    the ``tag`` (client number and attempts made so far, see :func:`tags`) and the last
    wait (decorrelated jitter only; else None)."""

    __slots__ = ("previous", "t", "tag")

    def __init__(self, t: np.ndarray, tag: np.ndarray, previous: np.ndarray | None) -> None:
        self.t, self.tag, self.previous = t, tag, previous

    @property
    def size(self) -> int:
        return int(self.t.size)

    @property
    def ids(self) -> np.ndarray:
        return tag_ids(self.tag)

    @property
    def k(self) -> np.ndarray:
        """Attempts made so far (= the index of the next attempt)."""
        return tag_attempts(self.tag)

    def take(self, index: Any) -> Group:
        prev = None if self.previous is None else self.previous[index]
        return Group(self.t[index], self.tag[index], prev)

    @staticmethod
    def concat(groups: list[Group]) -> Group:
        if len(groups) == 1:
            return groups[0]
        prev = None
        if groups[0].previous is not None:
            prev = np.concatenate([g.previous for g in groups])
        return Group(
            np.concatenate([g.t for g in groups]), np.concatenate([g.tag for g in groups]), prev
        )


class Herd:
    """The policy's rules for refused and accepted attempts, and every client's outcome.

    ``connect_time``, ``attempts`` and ``gave_up_at`` are indexed by client number and
    written when a client is accepted or gives up (``attempts`` also by the caller for
    clients still down at the horizon).
    """

    def __init__(self, settings: StormSettings) -> None:
        policy = self.policy = settings.policy
        n = settings.clients
        self.attempt_s = settings.attempt_s
        self.key = seed_key(settings.seed)
        self.connect_time = np.full(n, np.nan)
        self.gave_up_at = np.full(n, np.nan)
        self.attempts = np.zeros(n, dtype=np.int32)
        self.nominal = nominal_waits(policy)
        self.last = policy.max_attempts - 1
        self.decorrelated = JitterMode.DECORRELATED in (
            policy.jitter_mode,
            jitter_mode_for(policy, 0),
        )
        self.first_differs = jitter_mode_for(policy, 0) is not policy.jitter_mode

    def everyone(self, clients: int) -> Group:
        """All clients before attempt 0, at t = 0."""
        prev = np.full(clients, self.policy.initial_delay) if self.decorrelated else None
        return Group(np.zeros(clients), tags(np.arange(clients)), prev)

    def accept(self, group: Group) -> None:
        ids = group.ids
        self.connect_time[ids] = group.t + self.attempt_s
        self.attempts[ids] = group.k + 1

    def _waits(self, group: Group, u: np.ndarray) -> np.ndarray:
        """The jittered wait after each client's failed attempt ``group.k``."""
        policy = self.policy
        after = np.minimum(group.k, self.last)  # beyond the policy (forever): the last wait
        nominal = self.nominal[after]
        previous = group.previous if group.previous is not None else policy.initial_delay
        if not self.first_differs:
            # Every wait shares the policy's mode; jittered_wait only looks at
            # after_attempt to choose the mode, so index 1 stands for all.
            return jittered_wait(policy, 1, nominal, u, previous)
        wait = jittered_wait(policy, 1, nominal, u, previous)
        first = after == 0
        if first.any():
            prev0 = previous[first] if isinstance(previous, np.ndarray) else previous
            wait[first] = jittered_wait(policy, 0, nominal[first], u[first], prev0)
        return wait

    def _give_up(self, group: Group, failed_at: np.ndarray, stop: np.ndarray) -> None:
        tag = group.tag[stop]
        ids = tag_ids(tag)
        self.gave_up_at[ids] = failed_at[stop]
        self.attempts[ids] = tag_attempts(tag) + 1

    def refuse(
        self, group: Group, alive: np.ndarray | None = None
    ) -> tuple[Group, np.ndarray | None]:
        """Refuse the attempts of ``group`` where ``alive`` (None: all of them).

        Returns every client's next attempt, and the mask of those that do retry (None:
        all): clients outside ``alive``, and those that give up now, are masked out rather
        than copied out — the calendar drops them while it groups the rest anyway.
        """
        policy = self.policy
        failed_at = group.t + self.attempt_s
        if not policy.retries_forever:
            going = group.k + 1 < policy.max_attempts
            alive = self._stop(group, failed_at, going, alive)
        wait = self._waits(group, uniform_draws(self.key, group.tag))
        t = next_start(policy, group.t, failed_at, wait)
        if policy.deadline is not None:
            alive = self._stop(group, failed_at, t < policy.deadline, alive)
        return Group(t, group.tag + 1, wait if self.decorrelated else None), alive

    def _stop(
        self, group: Group, failed_at: np.ndarray, going: np.ndarray, alive: np.ndarray | None
    ) -> np.ndarray | None:
        """Give up where ``alive`` and not ``going``; return the new ``alive``."""
        if going.all():
            return alive
        stop = ~going if alive is None else ~going & alive
        if stop.any():
            self._give_up(group, failed_at, stop)
        return going if alive is None else going & alive

    def refuse_kept(self, group: Group) -> Group:
        """:meth:`refuse` every attempt of ``group``; the clients that retry, compacted."""
        retry, alive = self.refuse(group)
        return retry if alive is None else retry.take(alive)


class Seconds:
    """Attempts counted per second since the drop."""

    def __init__(self, horizon_s: float) -> None:
        self.counts = np.zeros(math.ceil(horizon_s) + 2, dtype=np.int64)
        self.last = -1

    def _grow(self, top: int) -> None:
        if top > self.counts.size:
            self.counts = np.concatenate([self.counts, np.zeros(top, dtype=np.int64)])

    def add(self, t: np.ndarray) -> None:
        if not t.size:
            return
        sec = t.astype(np.int64)  # t >= 0: truncation is floor
        low = int(sec.min())
        counts = np.bincount(sec - low)
        self._grow(low + counts.size)
        self.counts[low : low + counts.size] += counts
        self.last = max(self.last, low + counts.size - 1)

    def add_window(self, t: np.ndarray, low: float) -> None:
        """Count times that lie in the window starting at ``low``: at most two seconds
        (three when float rounding puts a time a hair below an integer ``low``)."""
        if not t.size:
            return
        first = math.floor(low)
        below = int(np.count_nonzero(t < first)) if first == low else 0  # float rounding
        before = t.size if first == low else int(np.count_nonzero(t < first + 1))
        self._grow(first + 2)
        if below:
            self.counts[first - 1] += below
        self.counts[first] += before - below
        self.counts[first + 1] += t.size - before
        self.last = max(self.last, first + 1 if t.size > before else first)


def window_of(t: np.ndarray, outage_s: float) -> np.ndarray:
    """The capacity window of each time: ``floor(t - outage_s)`` (window j spans
    ``[outage_s + j, outage_s + j + 1)``; negative during the outage)."""
    return np.floor(t - outage_s).astype(np.int64)


#: Sub-slots per window used to find the first-served arrivals without a full sort.
_SLOTS = 4096


def first_served(tag: np.ndarray, t: np.ndarray, tokens: int, low: float) -> np.ndarray:
    """A mask of the ``tokens`` earliest arrivals (ties by client number: tags sort by it),
    all in window ``[low, low + 1)``: a counting pass over sub-slots, then an exact sort of
    the one slot where the cut falls."""
    if t.size <= tokens:
        return np.ones(t.size, dtype=bool)
    slot = (t - low) * _SLOTS
    slot = np.clip(slot, 0, _SLOTS - 1, out=slot).astype(np.intp)
    before = np.cumsum(np.bincount(slot, minlength=_SLOTS))
    edge = int(np.searchsorted(before, tokens))  # the slot holding the tokens-th arrival
    won = slot < edge
    need = tokens - (int(before[edge - 1]) if edge else 0)
    tied = np.flatnonzero(slot == edge)
    won[_earliest(tied, t[tied], tag[tied], need)] = True
    return won


def _earliest(index: np.ndarray, t: np.ndarray, tag: np.ndarray, need: int) -> np.ndarray:
    """The ``need`` entries of ``index`` earliest by (t, tag), by selection, not sorting: a
    herd in lockstep puts whole windows at one instant."""
    if need >= index.size:
        return index
    cutoff = np.partition(t, need - 1)[need - 1]
    sure = t < cutoff
    rest = need - int(np.count_nonzero(sure))
    at = np.flatnonzero(t == cutoff)
    if rest < at.size:  # tags are unique: the rest smallest at the cutoff instant
        last = np.partition(tag[at], rest - 1)[rest - 1]
        at = at[tag[at] <= last]
    return np.concatenate([index[sure], index[at]])


class _Calendar:
    """Buckets of client groups by capacity window, visited in window order."""

    def __init__(self, outage_s: float) -> None:
        self.outage_s = outage_s
        self.buckets: dict[int, list[Group]] = {}
        self.heap: list[int] = []

    def push(self, group: Group, alive: np.ndarray | None = None) -> None:
        """File ``group`` (where ``alive``; None: all) under the windows of its times."""
        if alive is not None and alive.all():
            alive = None
        if not group.size or (alive is not None and not alive.any()):
            return
        w = np.subtract(group.t, self.outage_s)
        np.floor(w, out=w)  # window_of, kept in floats
        first = w.min() if alive is None else w[alive].min()
        w -= first
        span = int(w.max() if alive is None else w[alive].max()) + 1
        low = int(first)
        if span == 1 and alive is None:
            self._append(low, group)
            return
        if alive is not None:
            w[~alive] = span  # one more key, sorted last and never filed
        keys = w.astype(np.uint16 if span < 1 << 16 else np.int64)
        order = np.argsort(keys, kind="stable")  # a radix sort for 16-bit keys
        counts = np.bincount(keys, minlength=span)[:span]
        ends = np.cumsum(counts).tolist()
        grouped = group.take(order[: ends[-1]])
        for offset in np.flatnonzero(counts).tolist():
            end = ends[offset]
            self._append(low + offset, grouped.take(slice(end - int(counts[offset]), end)))

    def _append(self, window: int, group: Group) -> None:
        pieces = self.buckets.get(window)
        if pieces is None:
            self.buckets[window] = [group]
            heapq.heappush(self.heap, window)
        else:
            pieces.append(group)

    def pop(self, window: int) -> Group | None:
        pieces = self.buckets.pop(window, None)
        return None if pieces is None else Group.concat(pieces)

    def next_window(self) -> int | None:
        while self.heap:
            window = self.heap[0]
            if window in self.buckets:
                return window
            heapq.heappop(self.heap)
        return None

    def groups(self) -> list[Group]:
        return [g for pieces in self.buckets.values() for g in pieces]


def storm(
    policy: RetryPolicy,
    clients: int,
    outage_s: float,
    capacity_per_s: int,
    seed: int = 0,
    *,
    attempt_s: float = DEFAULT_ATTEMPT_S,
    horizon_s: float = DEFAULT_HORIZON_S,
    heartbeat: HeartbeatConfig | None = None,
) -> StormResult:
    """Simulate ``clients`` reconnecting after a ``outage_s`` outage to a limited server.

    Rules in the module docstring. Work is proportional to the attempts made (a calendar
    queue); see ``benchmarks/bench_storm.py`` for time and memory at 1,000,000 clients.
    """
    settings = StormSettings.checked(
        policy, clients, outage_s, capacity_per_s, seed, attempt_s, horizon_s
    )
    began = time.perf_counter()
    herd = Herd(settings)
    # Attempts per second: accepted, and all (refused = all - accepted).
    accepted, seen = Seconds(settings.horizon_s), Seconds(settings.horizon_s)
    calendar = _Calendar(settings.outage_s)
    outage_s = settings.outage_s

    # The outage: every attempt before outage_s is refused, in any order.
    waiting = herd.everyone(settings.clients)
    if heartbeat is not None:  # a silent drop: each client notices at its next missed pong
        u = np.random.default_rng([settings.seed, 14]).random(settings.clients)
        waiting.t = detection_delay(heartbeat, u)  # (chatconn.core.lifetime's rule)
    refused_outage = 0
    while waiting.size:
        later = waiting.t >= outage_s
        if later.all():
            calendar.push(waiting)
            break
        calendar.push(waiting.take(later))
        waiting = waiting.take(~later)
        refused_outage += waiting.size
        seen.add(waiting.t)
        waiting = herd.refuse_kept(waiting)

    refused_capacity = 0
    peak = 0
    while (window := calendar.next_window()) is not None:
        low = outage_s + window
        if low >= settings.horizon_s:
            break
        tokens = settings.capacity
        arrivals = 0
        while (group := calendar.pop(window)) is not None:
            arrivals += group.size
            seen.add_window(group.t, low)
            lost = None
            if tokens:
                won = first_served(group.tag, group.t, tokens, low)
                winners = group if won.all() else group.take(won)
                herd.accept(winners)
                accepted.add_window(winners.t, low)
                tokens -= winners.size
                if winners is group:
                    continue
                lost = ~won
            refused_capacity += group.size if lost is None else group.size - winners.size
            calendar.push(*herd.refuse(group, lost))
        peak = max(peak, arrivals)
    for group in calendar.groups():  # still reconnecting at the horizon
        herd.attempts[group.ids] = group.k
    return _result(settings, herd, accepted, seen, refused_outage, refused_capacity, peak, began)


def _result(
    settings: StormSettings,
    herd: Herd,
    accepted: Seconds,
    seen: Seconds,
    refused_outage: int,
    refused_capacity: int,
    peak: int,
    began: float,
) -> StormResult:
    """Headline numbers from the herd's final state (shared with the reference)."""
    n = settings.clients
    seconds = max(accepted.last, seen.last) + 1
    back_times = herd.connect_time[~np.isnan(herd.connect_time)]
    gave_up = int(np.count_nonzero(~np.isnan(herd.gave_up_at)))
    need = math.ceil(0.99 * n)
    t99 = None
    if back_times.size >= need:
        t99 = float(np.partition(back_times, need - 1)[need - 1])
    return StormResult(
        policy=settings.policy,
        clients=n,
        outage_s=settings.outage_s,
        capacity_per_s=settings.capacity,
        seed=settings.seed,
        attempt_s=settings.attempt_s,
        accepted_per_s=accepted.counts[:seconds].copy(),
        refused_per_s=seen.counts[:seconds] - accepted.counts[:seconds],
        peak_per_s=peak,
        reconnected_99_s=t99,
        reconnected_all_s=float(back_times.max()) if back_times.size == n else None,
        refused_during_outage=refused_outage,
        refused_over_capacity=refused_capacity,
        gave_up=gave_up,
        still_down=n - back_times.size - gave_up,
        connect_time=herd.connect_time,
        attempts=herd.attempts,
        gave_up_at=herd.gave_up_at,
        elapsed_s=time.perf_counter() - began,
    )
