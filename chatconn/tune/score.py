"""Scoring one policy: time to connect, success, client cost and server cost, as numbers.

Use :func:`score_policy` to put one policy through exactly what a sweep does to each of its
policies: a simulation of ``sessions`` connects under a profile or population
(:func:`chatconn.simulate.simulate`) and a reconnect storm of ``clients`` after an
``outage_s`` outage against ``capacity_per_s`` (:func:`chatconn.storm.storm`), both with
``seed``. :func:`scores_of` is the pure half: results in, :class:`Scores` out.

**Common random numbers.** Every policy of a sweep is scored with the *same* seed, so the
sessions meet the same draws: the simulator keys its random streams by block of sessions, so
session *i* gets the same round-trip time, proxy and losses under every policy, and the storm
starts from the same generator. Differences between two policies' scores are then differences
between the policies, not between two samples of luck — comparisons need far fewer sessions
to be trustworthy, and a sweep repeated with the same seed gives identical scores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..core.errors import ConfigError
from ..core.policy import RetryPolicy
from ..core.profiles import NetworkProfile, Population
from ..lockstep import LockstepReport, lockstep
from ..outcomes import SessionOutcomes
from ..simulate import _check_seed, _check_sessions, simulate
from ..storm import DEFAULT_ATTEMPT_S, DEFAULT_HORIZON_S, MAX_CLIENTS, StormResult, _check, storm
from .metrics import metric

__all__ = [
    "DEFAULT_CAPACITY",
    "DEFAULT_CLIENTS",
    "DEFAULT_OUTAGE_S",
    "DEFAULT_SESSIONS",
    "ScoreSettings",
    "Scores",
    "score_policy",
    "scores_of",
]

#: Sessions simulated per policy by default: enough for a stable p95 under common random
#: numbers, few enough that a grid of a hundred policies takes seconds.
DEFAULT_SESSIONS = 20_000
#: The default storm: 10,000 clients, a 30 s outage, 1,000 handshakes per second (as
#: ``chatconn storm``).
DEFAULT_CLIENTS = 10_000
DEFAULT_OUTAGE_S = 30.0
DEFAULT_CAPACITY = 1_000


@dataclass(frozen=True, slots=True)
class ScoreSettings:
    """How every policy of a sweep is scored; validated on construction.

    ``sessions`` and ``seed`` drive the simulation; ``clients``, ``outage_s``,
    ``capacity_per_s`` and ``attempt_s`` the storm (same ``seed``). ``within_s``: count a
    session as a success only if it connected within this many seconds (None: within the
    policy's own limits — its ``max_attempts`` and ``deadline``).
    """

    sessions: int = DEFAULT_SESSIONS
    seed: int = 0
    clients: int = DEFAULT_CLIENTS
    outage_s: float = DEFAULT_OUTAGE_S
    capacity_per_s: int = DEFAULT_CAPACITY
    attempt_s: float = DEFAULT_ATTEMPT_S
    within_s: float | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "sessions", _check_sessions(self.sessions))
        put(self, "seed", _check_seed(self.seed))
        clients = _check("clients", self.clients, 1, integer=True)
        if clients > MAX_CLIENTS:
            raise ConfigError("clients", clients, f"expected a whole number in [1, {MAX_CLIENTS}]")
        put(self, "clients", clients)
        put(self, "outage_s", _check("outage_s", self.outage_s, 0.0))
        capacity = _check("capacity_per_s", self.capacity_per_s, 1, integer=True)
        if self.outage_s + clients / capacity > DEFAULT_HORIZON_S:
            raise ConfigError(
                "capacity_per_s",
                capacity,
                f"too small: {clients} clients need {clients / capacity:.0f} s after the outage, "
                f"past the storm's {DEFAULT_HORIZON_S:.0f} s horizon",
            )
        put(self, "capacity_per_s", capacity)
        put(self, "attempt_s", _check("attempt_s", self.attempt_s, 1e-6))
        if self.within_s is not None:
            within = _check("within_s", self.within_s, 0.0)
            if within <= 0:
                raise ConfigError("within_s", within, "expected a number of seconds > 0 (or None)")
            put(self, "within_s", within)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Scores:
    """One policy's scores (names and directions: :data:`~chatconn.tune.metrics.METRICS`).

    ``p50_s``/``p95_s``: time to connect over the sessions that connected (None if none
    did). ``success_rate``: share of all sessions that connected (within ``within_s`` when
    the sweep states one). ``attempts_mean``: attempts per session, the client's cost.
    ``peak_per_s``/``peak_over_capacity``: the server's cost — the most attempts in one
    second once a storm's outage ends, and that over the capacity. ``reconnected_99_s``:
    seconds from the drop until 99 % of the storm's clients were back (None if never).
    ``storm_back_share``: the share of the storm's clients that got back at all — clients
    of a policy that gives up during the outage stay down, which also lowers its peak.
    ``lockstep_share``/``in_step_share``/``lockstep``: the lockstep detector
    (:func:`chatconn.lockstep.lockstep`) on a herd as large as the storm's, dropped at once —
    the largest share starting one retry within the same 100 ms, the largest share waiting
    the same time before one, and its verdict (lockstep, clustered, spread); None and "n/a"
    for a herd of one client.
    """

    p50_s: float | None
    p95_s: float | None
    success_rate: float
    attempts_mean: float
    peak_per_s: int
    peak_over_capacity: float
    reconnected_99_s: float | None
    storm_back_share: float
    lockstep_share: float | None
    in_step_share: float | None
    lockstep: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def get(self, name: str) -> float | None:
        """The value of metric ``name`` (a float, or None where undefined)."""
        value = getattr(self, metric(name).name)
        return None if value is None else float(value)


def scores_of(
    result: SessionOutcomes,
    herd: StormResult,
    together: LockstepReport | None,
    *,
    within_s: float | None = None,
) -> Scores:
    """The scores of a simulation, a storm and a lockstep report of one policy (pure)."""
    times = result.ended_at[result.connected]
    n = result.sessions
    p50: float | None
    p95: float | None
    if times.size:
        p50, p95 = (float(q) for q in np.percentile(times, (50, 95)))
    else:
        p50 = p95 = None
    in_time = times if within_s is None else times[times <= within_s]
    return Scores(
        p50_s=p50,
        p95_s=p95,
        success_rate=in_time.size / n,
        attempts_mean=float(result.attempts.mean()),
        peak_per_s=int(herd.peak_per_s),
        peak_over_capacity=herd.peak_per_s / herd.capacity_per_s,
        reconnected_99_s=herd.reconnected_99_s,
        storm_back_share=herd.back / herd.clients,
        lockstep_share=None if together is None else float(together.worst_share),
        in_step_share=None if together is None else float(together.wait_share.max(initial=0.0)),
        lockstep="n/a" if together is None else str(together.verdict),
    )


def score_policy(
    policy: RetryPolicy, target: NetworkProfile | Population, settings: ScoreSettings
) -> Scores:
    """Simulate and storm ``policy`` as :class:`ScoreSettings` say; return its scores.

    A top-level function of picklable arguments, so a sweep can submit it to any
    ``concurrent.futures.Executor`` — a process pool or a dask.distributed cluster.
    """
    if not isinstance(settings, ScoreSettings):
        raise ConfigError("settings", settings, "expected ScoreSettings")
    result = simulate(policy, target, settings.sessions, settings.seed)
    herd = storm(
        policy,
        settings.clients,
        settings.outage_s,
        settings.capacity_per_s,
        settings.seed,
        attempt_s=settings.attempt_s,
    )
    together = None  # a herd of one client cannot be in lockstep
    if settings.clients >= 2:
        together = lockstep(
            policy, clients=settings.clients, attempt_s=settings.attempt_s, seed=settings.seed
        )
    return scores_of(result, herd, together, within_s=settings.within_s)
