"""Plain-language sentences about scored policies, for a recommendation's explanation.

Use these to turn scores into text a stakeholder can read without knowing the metric
names: ``"95 % of the users who connect do so within 3.10 s"``, ``"it sends 5.20 × capacity in
the busiest second after the outage, over your limit of 2.00 × capacity"``. Pure: scores and
settings in, strings out.
"""

from __future__ import annotations

from collections.abc import Sequence

from .metrics import METRICS
from .objective import Constraint, Goal, Objective
from .score import Scores, ScoreSettings
from .sweep import ScoredPolicy

__all__ = ["alternatives", "describe", "missed", "portrait", "verdict"]

# "it ..." clauses per metric; {v} is the formatted value.
_CLAUSES = {
    "p50_s": "half of its connected users wait up to {v}",
    "p95_s": "95 % of its connected users wait up to {v}",
    "success_rate": "{v} of its sessions connect",
    "attempts_mean": "a session makes {v} on average",
    "peak_per_s": "it sends {v} attempts in the busiest second after the outage",
    "peak_over_capacity": "it sends {v} in the busiest second after the outage",
    "reconnected_99_s": "99 % of its clients are back after {v}",
    "storm_back_share": "{v} of its dropped clients get back (the rest gave up)",
    "lockstep_share": "{v} of its dropped clients retry within the same 100 ms",
    "in_step_share": "{v} of its dropped clients wait the same time before a retry",
}


def describe(name: str, value: float | None) -> str:
    """One clause about metric ``name`` at ``value``: ``it sends 5.20 × capacity ...``."""
    return _CLAUSES[name].format(v=METRICS[name].format(value))


def missed(constraint: Constraint, value: float | None) -> str:
    """How ``value`` misses ``constraint``: ``..., over your limit of 2.00 × capacity``."""
    fmt = METRICS[constraint.metric].format
    if value is None:
        return f"its {METRICS[constraint.metric].label} is undefined (no session connected)"
    side = "over your limit of" if constraint.op == "<=" else "under your minimum of"
    return f"{describe(constraint.metric, value)}, {side} {fmt(constraint.bound)}"


def _within(settings: ScoreSettings) -> str:
    if settings.within_s is None:
        return "within the policy's own limits"
    return f"within {settings.within_s:g} s"


def portrait(scores: Scores, settings: ScoreSettings) -> str:
    """What a policy does for users, clients and the server, in two sentences."""
    s = scores
    if s.p95_s is None:
        users = "No session connects"
    else:
        users = (
            f"95 % of the users who connect do so within {METRICS['p95_s'].format(s.p95_s)} "
            f"(median {METRICS['p50_s'].format(s.p50_s)}); "
            f"{METRICS['success_rate'].format(s.success_rate)} of sessions connect "
            f"{_within(settings)}"
        )
    back = (
        f"99 % are back after {METRICS['reconnected_99_s'].format(s.reconnected_99_s)}"
        if s.reconnected_99_s is not None
        else "fewer than 99 % get back within the storm's horizon"
    )
    return (
        f"{users}; a session makes {s.attempts_mean:.2f} attempts on average. "
        f"When {settings.clients:,} clients are dropped by a {settings.outage_s:g} s outage, "
        f"the busiest second after it brings {s.peak_per_s:,} attempts, "
        f"{s.peak_over_capacity:.2f} × the capacity of {settings.capacity_per_s:,}/s; {back}."
    )


def verdict(
    objective: Objective,
    chosen: ScoredPolicy,
    best: ScoredPolicy | None,
    *,
    feasible: int,
    total: int,
) -> str:
    """Why ``chosen`` and not ``best`` (the best on the goal, ignoring the constraints)."""
    m = METRICS[objective.metric]
    word = "lowest" if objective.goal is Goal.MIN else "highest"
    if objective.constraints:
        limits = "; ".join(str(c) for c in objective.constraints)
        among = f"of the {feasible} of {total} policies that meet your constraints ({limits})"
    else:
        among = f"of the {total} policies"
    parts = [f"It has the {word} {m.label} {among}."]
    if best is not None and best is not chosen:
        misses = [
            missed(c, best.scores.get(c.metric))
            for c in objective.constraints
            if not c.holds(best.scores.get(c.metric))
        ]
        extreme = "fastest" if m.unit == "s" and objective.goal is Goal.MIN else "best"
        parts.append(
            f"The {extreme} policy overall, {best.name}, reaches "
            f"{m.format(best.scores.get(objective.metric))}, but " + "; and ".join(misses) + "."
        )
    elif objective.constraints:
        parts.append(
            f"It is also the best of all {total} policies on {m.label}: "
            "your constraints cost nothing here."
        )
    return " ".join(parts)


def alternatives(
    objective: Objective, runners_up: Sequence[ScoredPolicy], *, constrained: bool
) -> str:
    """``Runners-up: #4 (...) at 2.61 s, #7 (...) at 2.70 s.`` (or that there is none)."""
    m = METRICS[objective.metric]
    if runners_up:
        others = ", ".join(
            f"{r.name} at {m.format(r.scores.get(objective.metric))}" for r in runners_up
        )
        return f"Runner{'s' if len(runners_up) > 1 else ''}-up: {others}."
    if constrained:
        return "No other policy meets the constraints."
    return ""
