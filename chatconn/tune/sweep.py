"""Sweeps: score every policy of a grid, on one machine or on many.

Use :func:`sweep` to answer "which of these policies should we ship?"::

    result = sweep(policy_preset("seed"), {"initial_delay": [0.5, 1, 2], "jitter": [0, 0.4]},
                   "global-users", sessions=20_000, seed=1,
                   clients=10_000, outage_s=30, capacity=1_000)
    result.front()                       # the Pareto front (positions in result.scored)
    recommend(result, "min p95_s; peak_over_capacity <= 2")

Each valid grid point is scored by :func:`~chatconn.tune.score.score_policy` with the same
seed (common random numbers). ``executor`` is any :class:`concurrent.futures.Executor`:
``None`` scores in this process, one policy after another; a ``ProcessPoolExecutor`` uses
local cores; ``distributed.Client(...).get_executor()`` uses a dask cluster. The submitted
work is the top-level :func:`score_policy` with picklable arguments (a frozen RetryPolicy, a
profile or population, frozen settings). Results come back in grid order whatever order the
workers finish in, and are identical whatever the executor: a policy's score depends only on
the policy and the settings.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import ConfigError
from ..core.policy import RetryPolicy
from ..core.profiles import NetworkProfile, Population, as_population, load_target
from ..storm import DEFAULT_ATTEMPT_S
from .grid import GridPoint, ParameterGrid
from .metrics import DEFAULT_PARETO_OBJECTIVES, metric
from .pareto import pareto_mask
from .score import (
    DEFAULT_CAPACITY,
    DEFAULT_CLIENTS,
    DEFAULT_OUTAGE_S,
    DEFAULT_SESSIONS,
    Scores,
    ScoreSettings,
    score_policy,
)

__all__ = ["ScoredPolicy", "SweepResult", "sweep"]


@dataclass(frozen=True, slots=True)
class ScoredPolicy:
    """A grid point that made a valid policy, and its scores."""

    point: GridPoint
    scores: Scores

    @property
    def policy(self) -> RetryPolicy:
        assert self.point.policy is not None  # only valid points are scored
        return self.point.policy

    @property
    def index(self) -> int:
        """The grid index (``#index`` in labels and explanations)."""
        return self.point.index

    @property
    def label(self) -> str:
        return self.point.label

    @property
    def name(self) -> str:
        return self.point.name

    def to_dict(self) -> dict[str, Any]:
        return {**self.point.to_dict(), "scores": self.scores.to_dict()}


@dataclass(frozen=True, slots=True, eq=False)
class SweepResult:
    """Every policy of a sweep with its scores (grid order), and the rejected combinations.

    ``scored``: the valid grid points and their scores; ``failures``: the combinations
    RetryPolicy rejected, each with its ``reason``. ``target`` names the profile or
    population. ``elapsed_s`` is wall time, the only field that differs between runs.
    """

    base: RetryPolicy
    grid: ParameterGrid
    target: str
    settings: ScoreSettings
    scored: tuple[ScoredPolicy, ...]
    failures: tuple[GridPoint, ...]
    elapsed_s: float = 0.0

    @property
    def policies(self) -> tuple[RetryPolicy, ...]:
        return tuple(s.policy for s in self.scored)

    @property
    def scores(self) -> tuple[Scores, ...]:
        return tuple(s.scores for s in self.scored)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(s.label for s in self.scored)

    def __len__(self) -> int:
        return len(self.scored)

    def values(self, name: str) -> np.ndarray:
        """Metric ``name`` of every scored policy, as floats (NaN where undefined)."""
        metric(name)
        return np.array(
            [np.nan if (v := s.scores.get(name)) is None else v for s in self.scored], dtype=float
        )

    def table(self, names: Sequence[str]) -> np.ndarray:
        """Shape (policies, len(names)): the metrics ``names`` of every scored policy."""
        if not names:
            raise ConfigError("objectives", list(names), "expected at least one metric")
        return np.column_stack([self.values(n) for n in names])

    def front(self, objectives: Sequence[str] = DEFAULT_PARETO_OBJECTIVES) -> tuple[int, ...]:
        """Positions (in :attr:`scored`) of the Pareto front over ``objectives``."""
        mask = pareto_mask(self.table(objectives), [metric(n).better for n in objectives])
        return tuple(int(i) for i in np.flatnonzero(mask))

    def to_dict(self, objectives: Sequence[str] = DEFAULT_PARETO_OBJECTIVES) -> dict[str, Any]:
        """JSON-ready: settings, grid, each policy with its scores and Pareto flag, failures."""
        front = set(self.front(objectives))
        return {
            "base": self.base.to_dict(),
            "target": self.target,
            "settings": self.settings.to_dict(),
            "grid": self.grid.to_dict(),
            "pareto_objectives": list(objectives),
            "policies": [{**s.to_dict(), "pareto": i in front} for i, s in enumerate(self.scored)],
            "pareto_front": [self.scored[i].index for i in sorted(front)],
            "rejected": [p.to_dict() for p in self.failures],
            "elapsed_s": self.elapsed_s,
        }


def _target(target: NetworkProfile | Population | str) -> NetworkProfile | Population:
    if isinstance(target, str):
        return load_target(target)
    as_population(target)  # validates the type
    return target


def sweep(
    base: RetryPolicy,
    grid: ParameterGrid | Mapping[str, Iterable[Any]],
    target: NetworkProfile | Population | str,
    *,
    sessions: int = DEFAULT_SESSIONS,
    seed: int = 0,
    clients: int = DEFAULT_CLIENTS,
    outage_s: float = DEFAULT_OUTAGE_S,
    capacity: int = DEFAULT_CAPACITY,
    attempt_s: float = DEFAULT_ATTEMPT_S,
    within_s: float | None = None,
    executor: Executor | None = None,
) -> SweepResult:
    """Score every policy of ``grid`` applied to ``base`` under ``target`` (a profile,
    population or either's name).

    Each policy is simulated over ``sessions`` sessions and stormed with ``clients`` clients
    after an ``outage_s`` outage against ``capacity`` handshakes per second, all with
    ``seed`` (see :class:`~chatconn.tune.score.ScoreSettings`). Combinations RetryPolicy
    rejects are returned in ``failures`` with their reason. ``executor``: None runs here,
    serially; otherwise every policy is submitted to it and the results are collected in
    grid order (the executor is not shut down: it is the caller's).
    """
    if not isinstance(base, RetryPolicy):
        raise ConfigError("base", base, "expected a RetryPolicy")
    if not isinstance(grid, ParameterGrid):
        if not isinstance(grid, Mapping):
            raise ConfigError("grid", grid, "expected a ParameterGrid or a mapping")
        grid = ParameterGrid(grid)
    resolved = _target(target)
    if executor is not None and not isinstance(executor, Executor):
        raise ConfigError("executor", executor, "expected a concurrent.futures.Executor or None")
    settings = ScoreSettings(
        sessions=sessions,
        seed=seed,
        clients=clients,
        outage_s=outage_s,
        capacity_per_s=capacity,
        attempt_s=attempt_s,
        within_s=within_s,
    )
    began = time.perf_counter()
    points = grid.points(base)
    valid = [(p, p.policy) for p in points if p.policy is not None]
    if executor is None:
        scores = [score_policy(policy, resolved, settings) for _, policy in valid]
    else:
        scores = _collect(
            [executor.submit(score_policy, policy, resolved, settings) for _, policy in valid]
        )
    return SweepResult(
        base=base,
        grid=grid,
        target=resolved.name,
        settings=settings,
        scored=tuple(ScoredPolicy(p, s) for (p, _), s in zip(valid, scores, strict=True)),
        failures=tuple(p for p in points if not p.ok),
        elapsed_s=time.perf_counter() - began,
    )


def _collect(futures: list[Future[Scores]]) -> list[Scores]:
    """The results in submission order; on the first error, cancel what has not started."""
    try:
        return [f.result() for f in futures]
    except BaseException:
        for f in futures:
            f.cancel()
        raise
