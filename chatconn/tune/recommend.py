"""Pick one policy from a sweep for a stated objective, and say why in plain language.

Use :func:`recommend` after :func:`~chatconn.tune.sweep.sweep`::

    rec = recommend(result, "min p95_s; peak_over_capacity <= 2; success_rate >= 99%")
    rec.policy, rec.scores          # the chosen RetryPolicy and its Scores (None if infeasible)
    print(rec.explanation)          # for the stakeholder who asked

Rules: among the policies that meet every constraint, the best on the goal wins; ties go to
the better one on :data:`~chatconn.tune.metrics.DEFAULT_PARETO_OBJECTIVES` in turn, then to
the earlier grid point. The next ones in that order are the runners-up. When no policy meets
every constraint, nothing is chosen — this is an answer, not an error: the recommendation
names the constraints no policy met and the *closest* policy, the one with the smallest sum
of relative shortfalls (:meth:`~chatconn.tune.objective.Constraint.shortfall`). Invalid
input (an unknown metric, a bad objective text, not a sweep result) raises ConfigError.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

from ..core.errors import ConfigError
from ..core.policy import RetryPolicy
from .explain import alternatives, missed, portrait, verdict
from .metrics import DEFAULT_PARETO_OBJECTIVES, METRICS, Better
from .objective import DEFAULT_OBJECTIVE, Constraint, Objective, parse_objective
from .score import Scores
from .sweep import ScoredPolicy, SweepResult

__all__ = ["DEFAULT_RUNNERS_UP", "Recommendation", "recommend"]

#: Runners-up a recommendation lists by default.
DEFAULT_RUNNERS_UP = 2


@dataclass(frozen=True, slots=True, eq=False)
class Recommendation:
    """The policy chosen for an objective, the alternatives, and why.

    ``chosen`` is None when no policy meets every constraint (``feasible == 0``); then
    ``closest`` is the policy that misses them by the least. ``best_overall`` is the best on
    the goal ignoring the constraints — the price of the constraints is the gap between it
    and ``chosen``. ``met_by[i]`` counts the policies meeting constraint ``i`` alone.
    """

    objective: Objective
    chosen: ScoredPolicy | None
    runners_up: tuple[ScoredPolicy, ...]
    best_overall: ScoredPolicy | None
    closest: ScoredPolicy | None
    feasible: int
    total: int
    met_by: tuple[int, ...]
    explanation: str

    @property
    def policy(self) -> RetryPolicy | None:
        """The chosen RetryPolicy, or None."""
        return None if self.chosen is None else self.chosen.policy

    @property
    def scores(self) -> Scores | None:
        """The chosen policy's Scores, or None."""
        return None if self.chosen is None else self.chosen.scores

    def to_dict(self) -> dict[str, Any]:
        def entry(s: ScoredPolicy | None) -> dict[str, Any] | None:
            return None if s is None else {**s.to_dict(), "policy": s.policy.to_dict()}

        return {
            "objective": str(self.objective),
            "feasible": self.feasible,
            "policies": self.total,
            "constraints": [
                {"constraint": str(c), "met_by": n}
                for c, n in zip(self.objective.constraints, self.met_by, strict=True)
            ],
            "chosen": entry(self.chosen),
            "runners_up": [entry(s) for s in self.runners_up],
            "best_overall": entry(self.best_overall),
            "closest": entry(self.closest),
            "explanation": self.explanation,
        }


def _closeness(
    objective: Objective, c: Constraint, s: ScoredPolicy
) -> tuple[float, tuple[float, ...]]:
    """How close ``s`` comes to meeting ``c``, ties broken by the objective."""
    return c.shortfall(s.scores.get(c.metric)), _rank(objective, s)


def _rank(objective: Objective, s: ScoredPolicy) -> tuple[float, ...]:
    """Sort key: the goal, then the default Pareto objectives, then the grid index."""
    ties = []
    for name in DEFAULT_PARETO_OBJECTIVES:
        value = s.scores.get(name)
        if value is None or math.isnan(value):
            ties.append(math.inf)
        else:
            ties.append(value if METRICS[name].better is Better.LOWER else -value)
    return (objective.key(s.scores.get(objective.metric)), *ties, float(s.index))


def _meets(objective: Objective, s: ScoredPolicy) -> bool:
    return all(c.holds(s.scores.get(c.metric)) for c in objective.constraints)


def recommend(
    result: SweepResult,
    objective: Objective | str = DEFAULT_OBJECTIVE,
    *,
    runners_up: int = DEFAULT_RUNNERS_UP,
) -> Recommendation:
    """The policy of ``result`` that best meets ``objective`` (an Objective or its text)."""
    if not isinstance(result, SweepResult):
        raise ConfigError("result", result, "expected a SweepResult (from sweep())")
    if isinstance(objective, str):
        objective = parse_objective(objective)
    if not isinstance(objective, Objective):
        raise ConfigError("objective", objective, "expected an Objective or its text")
    if isinstance(runners_up, bool) or not isinstance(runners_up, int) or runners_up < 0:
        raise ConfigError("runners_up", runners_up, "expected a whole number >= 0")

    ranked = sorted(result.scored, key=lambda s: _rank(objective, s))
    feasible = [s for s in ranked if _meets(objective, s)]
    met_by = tuple(
        sum(c.holds(s.scores.get(c.metric)) for s in ranked) for c in objective.constraints
    )
    best = ranked[0] if ranked else None
    chosen = feasible[0] if feasible else None
    closest = None
    if chosen is None and ranked:
        closest = min(
            ranked,
            key=lambda s: (
                sum(c.shortfall(s.scores.get(c.metric)) for c in objective.constraints),
                _rank(objective, s),
            ),
        )
    others = tuple(feasible[1 : 1 + runners_up])
    return Recommendation(
        objective=objective,
        chosen=chosen,
        runners_up=others,
        best_overall=best,
        closest=closest,
        feasible=len(feasible),
        total=len(ranked),
        met_by=met_by,
        explanation=_explain(
            result, objective, chosen, others, best, closest, met_by, len(feasible)
        ),
    )


def _explain(
    result: SweepResult,
    objective: Objective,
    chosen: ScoredPolicy | None,
    others: tuple[ScoredPolicy, ...],
    best: ScoredPolicy | None,
    closest: ScoredPolicy | None,
    met_by: tuple[int, ...],
    feasible: int,
) -> str:
    settings = result.settings
    total = len(result.scored)
    basis = (
        f"Scored on {result.target!r}: {settings.sessions:,} simulated sessions per policy "
        f"and a storm of {settings.clients:,} clients, seed {settings.seed}, "
        "the same random draws for every policy."
    )
    if not total:
        rejected = len(result.failures)
        if rejected:
            first = result.failures[0]
            return (
                f"No policy to choose from: all {rejected} combinations of the grid were "
                f"rejected as invalid (e.g. {first.name}: {first.reason})."
            )
        return "No policy to choose from: the sweep is empty."
    if chosen is not None:
        parts = [
            f"Recommended: {chosen.name}.",
            verdict(objective, chosen, best, feasible=feasible, total=total),
            portrait(chosen.scores, settings),
            alternatives(objective, others, constrained=bool(objective.constraints)),
            basis,
        ]
        return " ".join(p for p in parts if p)
    assert closest is not None
    lines = [
        "No policy meets all your constraints ("
        + "; ".join(str(c) for c in objective.constraints)
        + ")."
    ]
    for c, n in zip(objective.constraints, met_by, strict=True):
        m = METRICS[c.metric]
        if n:
            lines.append(f"{c}: met by {n} of {total}.")
            continue
        nearest = min(result.scored, key=functools.partial(_closeness, objective, c))
        value = nearest.scores.get(c.metric)
        if value is None:
            lines.append(f"{c}: met by none of the {total} policies (undefined for all).")
        else:
            lines.append(
                f"{c}: met by none of the {total} policies; the nearest reaches "
                f"{m.format(value)}, by {nearest.name}."
            )
    if all(met_by):
        lines.append("Each limit alone is met by some policy, but no policy meets them all.")
    misses = [
        missed(c, closest.scores.get(c.metric))
        for c in objective.constraints
        if not c.holds(closest.scores.get(c.metric))
    ]
    lines.append(f"The closest is {closest.name}: " + "; and ".join(misses) + ".")
    lines.append(portrait(closest.scores, settings))
    lines.append("Relax a limit, or widen the grid towards it.")
    lines.append(basis)
    return " ".join(lines)
