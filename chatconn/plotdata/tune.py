"""A sweep's policies on two scores, its Pareto front, the recommendation: :func:`pareto_info`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..core.errors import ConfigError
from ..tune.grid import format_value
from ..tune.metrics import METRICS, metric
from ..tune.objective import Objective
from ..tune.pareto import pareto_mask
from ..tune.recommend import Recommendation, recommend
from ..tune.sweep import SweepResult

__all__ = ["ParetoInfo", "pareto_info"]

_UNITS = {
    "s": "s",
    "share": "share",
    "attempts": "per session",
    "per_s": "per s",
    "x_capacity": "×",
}


# --------------------------------------------------------------------------- pareto
@dataclass(frozen=True, slots=True, eq=False)
class ParetoInfo:
    """Every scored policy of a sweep as a point (``x``, ``y``), in sweep order.

    ``index`` is each point's grid index (``#index`` in labels), ``hover`` its varied
    parameters and scores. ``on_front`` marks the points no other beats on ``objectives``;
    ``front_x``/``front_y`` are those points sorted by x (then y), to draw the front as a
    line. ``recommended`` is the position of the recommended point (None when there is no
    objective or nothing meets it). ``x_limits``/``y_limits`` are the objective's bounds on
    the shown metrics, to draw as lines. NaN marks an undefined score (nothing connected).
    """

    x_metric: str
    y_metric: str
    x_label: str
    y_label: str
    x: np.ndarray
    y: np.ndarray
    index: np.ndarray
    hover: tuple[str, ...]
    on_front: np.ndarray
    front_x: np.ndarray
    front_y: np.ndarray
    objectives: tuple[str, ...]
    recommended: int | None
    objective: str | None
    x_limits: tuple[float, ...]
    y_limits: tuple[float, ...]
    rejected: int

    @property
    def points(self) -> int:
        return int(self.x.size)


def _axis_label(name: str) -> str:
    m = METRICS[name]
    return f"{m.label} ({_UNITS[m.unit]})"


def _hover(result: SweepResult, names: Sequence[str]) -> tuple[str, ...]:
    out = []
    for s in result.scored:
        lines = [f"<b>#{s.index}</b>"]
        lines += [f"{k} = {format_value(v)}" for k, v in s.point.changes] or ["base policy"]
        lines += [f"{METRICS[n].label}: {METRICS[n].format(s.scores.get(n))}" for n in names]
        out.append("<br>".join(lines))
    return tuple(out)


def pareto_info(
    result: SweepResult,
    x: str = "p95_s",
    y: str = "peak_over_capacity",
    *,
    objectives: Sequence[str] | None = None,
    objective: Objective | str | Recommendation | None = None,
) -> ParetoInfo:
    """The points of a :class:`~chatconn.tune.sweep.SweepResult` on metrics ``x`` and ``y``.

    The front is over ``objectives`` (default: the two shown metrics, so it is the staircase
    one sees; pass :data:`~chatconn.tune.metrics.DEFAULT_PARETO_OBJECTIVES` to mark the
    policies no other beats on all four). ``objective`` (text, an Objective, or a
    Recommendation already made) marks the recommended policy and the limits it sets.
    """
    if not isinstance(result, SweepResult):
        raise ConfigError("result", result, "expected a SweepResult")
    metric(x), metric(y)
    names = (x, y) if objectives is None else tuple(objectives)
    if not names:
        raise ConfigError("objectives", list(names), "expected at least one metric")
    for name in names:
        metric(name)
    xs, ys = result.values(x), result.values(y)
    mask = pareto_mask(result.table(names), [METRICS[n].better for n in names])
    order = np.lexsort((ys[mask], xs[mask]))
    rec = objective
    if objective is not None and not isinstance(objective, Recommendation):
        rec = recommend(result, objective)
    recommended = None
    limits: dict[str, list[float]] = {x: [], y: []}
    text = None
    if isinstance(rec, Recommendation):
        text = str(rec.objective)
        if rec.chosen is not None:
            chosen = rec.chosen.index
            recommended = next((i for i, s in enumerate(result.scored) if s.index == chosen), None)
        for c in rec.objective.constraints:
            if c.metric in limits:
                limits[c.metric].append(c.bound)
    shown = tuple(dict.fromkeys((*names, x, y, "success_rate")))
    return ParetoInfo(
        x_metric=x,
        y_metric=y,
        x_label=_axis_label(x),
        y_label=_axis_label(y),
        x=xs,
        y=ys,
        index=np.array([s.index for s in result.scored], dtype=np.int64),
        hover=_hover(result, shown),
        on_front=mask,
        front_x=xs[mask][order],
        front_y=ys[mask][order],
        objectives=names,
        recommended=recommended,
        objective=text,
        x_limits=tuple(limits[x]),
        y_limits=tuple(limits[y]) if y != x else (),
        rejected=len(result.failures),
    )
