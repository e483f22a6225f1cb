"""Tuning: sweep a grid of retry policies, find the Pareto front, recommend one.

Use this package when the question is "which numbers should we ship?"::

    from chatconn.tune import ParameterGrid, recommend, sweep

    result = sweep(policy_preset("seed"), {"initial_delay": [0.5, 1, 2], "jitter": [0, 0.2, 0.5]},
                   "global-users", sessions=20_000, seed=1,
                   clients=10_000, outage_s=30, capacity=1_000)
    result.front()                                              # Pareto front (positions)
    rec = recommend(result, "min p95_s; peak_over_capacity <= 2")
    print(rec.explanation)

::

    module        job
    metrics       what is scored: names, better direction, units (METRICS)
    grid          ParameterGrid over RetryPolicy fields; bad values raise, clashes are kept
    score         ScoreSettings, Scores, score_policy (simulation + storm, common random numbers)
    sweep         sweep() on any concurrent.futures.Executor (process pool, dask) -> SweepResult
    pareto        pareto_mask / pareto_front on any table of scores (pure)
    objective     Objective, Constraint and the text form "min p95_s; peak_over_capacity <= 2"
    recommend     recommend() -> Recommendation with a plain-language explanation
    explain       the sentences of that explanation
    cli           ``chatconn tune`` (add_tune_parser, run_tune, print_tune)

Charts: :func:`chatconn.plotdata.pareto_info` and :func:`chatconn.plots.plot_pareto`.
"""

from __future__ import annotations

from .grid import DEFAULT_GRID_LIMIT, GridPoint, ParameterGrid
from .metrics import DEFAULT_PARETO_OBJECTIVES, METRICS, Better, Metric, metric
from .objective import DEFAULT_OBJECTIVE, Constraint, Goal, Objective, parse_objective
from .pareto import pareto_front, pareto_mask
from .recommend import Recommendation, recommend
from .score import Scores, ScoreSettings, score_policy, scores_of
from .sweep import ScoredPolicy, SweepResult, sweep

__all__ = [
    "DEFAULT_GRID_LIMIT",
    "DEFAULT_OBJECTIVE",
    "DEFAULT_PARETO_OBJECTIVES",
    "METRICS",
    "Better",
    "Constraint",
    "Goal",
    "GridPoint",
    "Metric",
    "Objective",
    "ParameterGrid",
    "Recommendation",
    "ScoreSettings",
    "ScoredPolicy",
    "Scores",
    "SweepResult",
    "metric",
    "pareto_front",
    "pareto_mask",
    "parse_objective",
    "recommend",
    "score_policy",
    "scores_of",
    "sweep",
]
