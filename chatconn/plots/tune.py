"""A sweep's trade-off: every policy on two scores, the Pareto front, the recommendation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from ..plotdata.tune import ParetoInfo, pareto_info
from ._style import _FAILED, _GOOD, _INK, NO_POLICY, _figure, _note

__all__ = ["pareto_figure", "plot_pareto"]

_POINT = "#9aa5b1"
_FRONT = "#3566c8"


def _limit(axis: str, value: float) -> dict[str, Any]:
    """A dashed line at an objective's bound on ``axis`` ('x' or 'y'), labelled."""
    vertical = axis == "x"
    return {
        "type": "line",
        "xref": "x" if vertical else "x domain",
        "yref": "y domain" if vertical else "y",
        "x0": value if vertical else 0,
        "x1": value if vertical else 1,
        "y0": 0 if vertical else value,
        "y1": 1 if vertical else value,
        "line": {"color": _FAILED, "dash": "dash", "width": 1.5},
        "label": {
            "text": f"limit {value:g}",
            "textposition": "end",
            "font": {"size": 11, "color": _FAILED},
        },
    }


def pareto_figure(info: ParetoInfo, *, title: str | None = None) -> go.Figure:
    """Policies as points on (x, y), the Pareto front as a line, the recommended one starred.

    Traces: 0 every policy, 1 the front (sorted by x), 2 the recommended policy (empty when
    there is none). The objective's bounds on the shown metrics are dashed lines.
    """
    traces = [
        go.Scatter(
            name="policies",
            x=info.x,
            y=info.y,
            mode="markers",
            marker={"color": _POINT, "size": 9, "line": {"color": _INK, "width": 0.5}},
            hovertext=list(info.hover),
            hoverinfo="text",
        ),
        go.Scatter(
            name=f"Pareto front ({', '.join(info.objectives)})",
            x=info.front_x,
            y=info.front_y,
            mode="lines+markers",
            line={"color": _FRONT, "width": 2},
            marker={"color": _FRONT, "size": 10},
            hoverinfo="skip",
        ),
        go.Scatter(
            name="recommended",
            x=[] if info.recommended is None else [info.x[info.recommended]],
            y=[] if info.recommended is None else [info.y[info.recommended]],
            mode="markers",
            marker={"color": _GOOD, "size": 18, "symbol": "star", "line": {"color": _INK}},
            hovertext=[] if info.recommended is None else [info.hover[info.recommended]],
            hoverinfo="text",
            showlegend=info.recommended is not None,
        ),
    ]
    shapes = [_limit("x", v) for v in info.x_limits] + [_limit("y", v) for v in info.y_limits]
    layout = {
        "xaxis": {"title": {"text": info.x_label}},
        "yaxis": {"title": {"text": info.y_label}},
        "shapes": shapes,
        "annotations": [] if info.points else [_note(NO_POLICY)],
    }
    chosen = (
        f"recommended #{int(info.index[info.recommended])}"
        if info.recommended is not None
        else ("nothing meets the objective" if info.objective else "no objective given")
    )
    subtitle = (
        f"{info.points} policies · {int(info.on_front.sum())} on the front · "
        f"{info.rejected} rejected · {chosen}"
    )
    if info.objective:
        subtitle += f"<br>objective: {info.objective}"
    return _figure(traces, layout, title or "Policies: the trade-off", subtitle, 420)


def plot_pareto(
    result: Any,
    x: str = "p95_s",
    y: str = "peak_over_capacity",
    *,
    objectives: Sequence[str] | None = None,
    objective: Any = None,
    title: str | None = None,
) -> go.Figure:
    """A :class:`~chatconn.tune.sweep.SweepResult` on two scores with its front and,
    given an ``objective`` (text, Objective or Recommendation), the recommended policy."""
    info = pareto_info(result, x, y, objectives=objectives, objective=objective)
    return pareto_figure(info, title=title)
