"""A simulation larger than memory: split into parts over an executor, summarised exactly.

Use :func:`simulate_split` when the question is a summary (success rate, percentiles,
quality classes) of more sessions than :func:`~chatconn.simulate.simulate` keeps arrays
for (10^8), or to spread one large simulation over a process pool or a cluster::

    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(2) as pool:
        split = simulate_split(policy_preset("seed"), profile_preset("broadband"),
                               1_000_000_000, seed=1, executor=pool)
    split.summary()          # the keys of SessionOutcomes.summary(), plus "resolution"

The sessions are cut into parts of whole random-stream blocks
(:data:`~chatconn.streams.BLOCK_SESSIONS`), per population component as
:func:`~chatconn.simulate.simulate` cuts them, so part *k* draws exactly what the same
sessions draw in one big ``simulate`` with the same seed. Each part is simulated chunk by
chunk into one reused buffer and reduced to a :class:`Tally` — counts, an integer sum of
times in microseconds and a histogram of times to connect in 400 log-spaced bins per
decade — whose merge is integer addition. So the result is identical whatever the part
size, the executor and the order parts finish in, and memory stays constant: a worker
holds one chunk (~16 MB at the default), the caller a few tallies (~30 kB each) and at most
``window`` parts in flight.

What a split summary gives up against ``simulate(...).summary()``: percentiles come from
the histogram (the geometric middle of the bin holding the rank: within
:data:`RELATIVE_RESOLUTION`, 0.29 %, of the exact value), and the mean from times rounded
to the microsecond. Counts (success, attempts, quality classes, strategies) are exact.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

import numpy as np

from .core.errors import ConfigError
from .core.policy import RetryPolicy
from .core.profiles import NetworkProfile, Population, as_population
from .core.quality import DEFAULT_THRESHOLDS, Quality, quality_counts
from .core.strategies import Strategy
from .outcomes import PERCENTILES
from .simulate import (
    DEFAULT_CHUNK_SESSIONS,
    _Arrays,
    _check_seed,
    _simulate_chunk,
)
from .streams import BLOCK_SESSIONS, BlockStreams

__all__ = [
    "DEFAULT_PART_SESSIONS",
    "MAX_SPLIT_SESSIONS",
    "RELATIVE_RESOLUTION",
    "Part",
    "SplitResult",
    "Tally",
    "plan_parts",
    "simulate_split",
    "tally_part",
]

#: Sessions per part unless told: 4 default chunks (~1 M sessions, ~30 ms of work).
DEFAULT_PART_SESSIONS = 4 * DEFAULT_CHUNK_SESSIONS
#: Largest split simulation (the integer sums stay far below 2**63).
MAX_SPLIT_SESSIONS = 10**12
#: Histogram of times to connect: 400 bins per decade from 0.1 ms to 10^5 s, plus an
#: underflow and an overflow bin.
_BINS_PER_DECADE = 400
_LOG_LO, _LOG_HI = -4.0, 5.0
_EDGES = np.power(
    10.0, np.linspace(_LOG_LO, _LOG_HI, int((_LOG_HI - _LOG_LO) * _BINS_PER_DECADE) + 1)
)
#: Largest relative distance of a reported percentile from the exact one (half a bin).
RELATIVE_RESOLUTION = 10 ** (0.5 / _BINS_PER_DECADE) - 1.0
_QUALITIES = tuple(q.label for q in Quality)


@dataclass(frozen=True, slots=True)
class Part:
    """Sessions ``first`` to ``first + count`` of population component ``component``."""

    component: int
    first: int
    count: int


def plan_parts(population: Population, sessions: int, part_sessions: int) -> list[Part]:
    """The parts of a split: each component's sessions (split as ``simulate`` splits them)
    cut into runs of ``part_sessions`` (a multiple of BLOCK_SESSIONS)."""
    parts = []
    for component, count in enumerate(population.split(sessions)):
        for first in range(0, count, part_sessions):
            parts.append(Part(component, first, min(part_sessions, count - first)))
    return parts


@dataclass(frozen=True, slots=True, eq=False)
class Tally:
    """What a summary needs from some sessions, merged by integer addition (``+``)."""

    sessions: int
    connected: int
    attempts: int
    ended_us: int  # sum over connected sessions of round(time to connect in µs)
    quality: np.ndarray  # int64 per Quality, failed sessions counted as critical
    strategy: np.ndarray  # int64 per Strategy.code, connected sessions
    histogram: np.ndarray  # int64: underflow, the _EDGES bins, overflow
    uniform_draws: int = 0

    @classmethod
    def empty(cls) -> Tally:
        return cls(
            0, 0, 0, 0,
            np.zeros(len(Quality), np.int64),
            np.zeros(len(Strategy), np.int64),
            np.zeros(_EDGES.size + 1, np.int64),
        )  # fmt: skip

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.sessions + other.sessions,
            self.connected + other.connected,
            self.attempts + other.attempts,
            self.ended_us + other.ended_us,
            self.quality + other.quality,
            self.strategy + other.strategy,
            self.histogram + other.histogram,
            self.uniform_draws + other.uniform_draws,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tally):
            return NotImplemented
        return all(
            np.array_equal(getattr(self, name), getattr(other, name))
            for name in self.__dataclass_fields__
        )

    def percentile(self, p: float) -> float | None:
        """The ``p``-th percentile of times to connect (numpy's linear rank), from the
        histogram: the geometric middle of the bin holding that rank."""
        if not self.connected:
            return None
        rank = p / 100.0 * (self.connected - 1)
        index = int(np.searchsorted(np.cumsum(self.histogram), math.floor(rank), side="right"))
        if index == 0:
            return float(_EDGES[0])
        if index > _EDGES.size - 1:
            return float(_EDGES[-1])
        return float(math.sqrt(_EDGES[index - 1] * _EDGES[index]))


def _tally_chunk(out: _Arrays, uniform_draws: int) -> Tally:
    times = out.ended_at[out.connected]
    ok = int(times.size)
    quality = quality_counts(times, DEFAULT_THRESHOLDS)
    q = np.array([quality[label] for label in _QUALITIES], np.int64)
    q[Quality.CRITICAL] += out.connected.size - ok
    codes = np.bincount(out.strategy[out.connected], minlength=len(Strategy)).astype(np.int64)
    histogram = np.bincount(
        np.searchsorted(_EDGES, times, side="right"), minlength=_EDGES.size + 1
    ).astype(np.int64)
    return Tally(
        sessions=int(out.connected.size),
        connected=ok,
        attempts=int(out.attempts.sum(dtype=np.int64)),
        ended_us=int(np.rint(times * 1e6).astype(np.int64).sum()),
        quality=q,
        strategy=codes,
        histogram=histogram,
        uniform_draws=uniform_draws,
    )


def tally_part(
    policy: RetryPolicy,
    profile: NetworkProfile,
    part: Part,
    seed: int,
    chunk_sessions: int = DEFAULT_CHUNK_SESSIONS,
) -> Tally:
    """Simulate one part chunk by chunk into one buffer and tally it (what a worker runs)."""
    buffer = _Arrays(min(chunk_sessions, part.count))
    total = Tally.empty()
    end = part.first + part.count
    for first in range(part.first, end, chunk_sessions):
        n = min(chunk_sessions, end - first)
        out = buffer.view(0, n)
        out.last_error[:] = 0  # the simulator writes it for failed sessions only
        streams = BlockStreams(seed, part.component, first, n)
        _simulate_chunk(policy, profile, streams, out)
        total = total + _tally_chunk(out, streams.draws)
    return total


@dataclass(frozen=True, slots=True, eq=False)
class SplitResult:
    """A split simulation's merged :class:`Tally`, what ran it and how long it took."""

    policy: RetryPolicy
    target: str
    seed: int
    tally: Tally
    parts: int
    elapsed_s: float = 0.0

    @property
    def sessions(self) -> int:
        return self.tally.sessions

    def summary(self) -> dict[str, Any]:
        """The keys of :meth:`SessionOutcomes.summary` (percentiles from the histogram,
        see the module doc), plus ``resolution`` (the percentiles' relative resolution)."""
        t = self.tally
        n, ok = t.sessions, t.connected
        if ok:
            ttc: dict[str, float | None] = {f"p{p}": t.percentile(p) for p in PERCENTILES}
            ttc["mean"] = t.ended_us / ok / 1e6
        else:
            ttc = dict.fromkeys([*(f"p{p}" for p in PERCENTILES), "mean"])
        return {
            "sessions": n,
            "success_rate": ok / n if n else None,
            "time_to_connect_s": ttc,
            "attempts_mean": t.attempts / n if n else None,
            "quality": {label: int(t.quality[i]) for i, label in enumerate(_QUALITIES)},
            "strategy_share": {
                s.value: (int(t.strategy[s.code]) / ok if ok else 0.0) for s in Strategy
            },
            "elapsed_s": self.elapsed_s,
            "sessions_per_s": n / self.elapsed_s if self.elapsed_s > 0 else None,
            "resolution": RELATIVE_RESOLUTION,
        }


def _check_count(name: str, value: Any, limit: int, multiple: int = 1) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not 1 <= value <= limit
        or value % multiple
    ):
        what = f"a positive multiple of {multiple}" if multiple > 1 else "a whole number"
        raise ConfigError(name, value, f"expected {what} up to {limit}")
    return int(value)


def simulate_split(
    policy: RetryPolicy,
    target: NetworkProfile | Population,
    sessions: int,
    seed: int = 0,
    *,
    executor: Executor | None = None,
    part_sessions: int = DEFAULT_PART_SESSIONS,
    chunk_sessions: int = DEFAULT_CHUNK_SESSIONS,
    window: int | None = None,
) -> SplitResult:
    """Simulate ``sessions`` connects in parts of ``part_sessions`` and merge their
    tallies; see the module doc. ``executor``: None runs the parts here, one after
    another; any :class:`concurrent.futures.Executor` (a process pool, a dask client's
    ``get_executor()``) runs them there, at most ``window`` in flight (default: 4 per
    worker when the executor says how many it has, else 8) so memory stays constant."""
    if not isinstance(policy, RetryPolicy):
        raise ConfigError("policy", policy, "expected a RetryPolicy")
    sessions = _check_count("sessions", sessions, MAX_SPLIT_SESSIONS)
    seed = _check_seed(seed)
    chunk_sessions = _check_count("chunk_sessions", chunk_sessions, 1 << 24, BLOCK_SESSIONS)
    part_sessions = _check_count("part_sessions", part_sessions, 1 << 40, BLOCK_SESSIONS)
    if executor is not None and not isinstance(executor, Executor):
        raise ConfigError("executor", executor, "expected a concurrent.futures.Executor or None")
    population = as_population(target)
    parts = plan_parts(population, sessions, part_sessions)
    began = time.perf_counter()
    total = Tally.empty()
    for tally in _run(policy, population, parts, seed, chunk_sessions, executor, window):
        total = total + tally
    return SplitResult(
        policy=policy,
        target=population.name,
        seed=seed,
        tally=total,
        parts=len(parts),
        elapsed_s=time.perf_counter() - began,
    )


def _run(
    policy: RetryPolicy,
    population: Population,
    parts: list[Part],
    seed: int,
    chunk_sessions: int,
    executor: Executor | None,
    window: int | None,
) -> Iterator[Tally]:
    profiles = population.profiles
    if executor is None:
        for part in parts:
            yield tally_part(policy, profiles[part.component], part, seed, chunk_sessions)
        return
    if window is None:
        workers = getattr(executor, "_max_workers", None)
        window = 4 * workers if isinstance(workers, int) and workers > 0 else 8
    pending: deque[Future[Tally]] = deque()
    try:
        for part in parts:
            if len(pending) >= window:
                yield pending.popleft().result()
            pending.append(
                executor.submit(
                    tally_part, policy, profiles[part.component], part, seed, chunk_sessions
                )
            )
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
