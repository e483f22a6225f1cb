"""The retry schedule figure: waits and worst-case attempt start times."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from ..plotdata import STRATEGY_COLOURS, BackoffInfo
from ._style import _FAILED, _INK, _figure, _heading, _s, _vline


# --------------------------------------------------------------------------- backoff
def backoff_figure(info: BackoffInfo, *, title: str | None = None) -> go.Figure:
    """Per attempt: the wait before it (left) and the worst-case timeline (right).

    Traces: 0 wait-before box per attempt (min, quartiles, max); 1 the attempt running
    (median start to median start + median timeout, coloured by strategy, hover: nominal
    timeout and share of schedules reaching it); 2 worst-case start box per attempt.
    Attempts absent in every sample (deadline) have no box and no bar.
    """
    w = info.wait_stats
    here = info.present  # the worst-case panel shows only attempts that ever start
    st, run = info.start_stats[here], info.run_stats[here]
    labels = [label for label, keep in zip(info.labels, here, strict=True) if keep]
    box = {"orientation": "h", "boxpoints": False}
    traces = [
        go.Box(
            name="wait before (min, quartiles, max)",
            y=info.labels,
            lowerfence=w[:, 0],
            q1=w[:, 1],
            median=w[:, 2],
            q3=w[:, 3],
            upperfence=w[:, 4],
            marker_color="#607d8b",
            **box,
        ),
        go.Bar(
            name="attempt running until its timeout (median)",
            orientation="h",
            y=labels,
            base=st[:, 2],
            x=run[:, 2],
            marker={
                "color": [
                    STRATEGY_COLOURS[s.value]
                    for s, keep in zip(info.strategies, here, strict=True)
                    if keep
                ]
            },
            opacity=0.45,
            customdata=np.column_stack((info.reached[here], info.nominal_timeouts[here])),
            hovertemplate="%{y}<br>runs %{x:.1f} s (nominal timeout %{customdata[1]:.1f} s)"
            "<br>reached in %{customdata[0]:.1%} of schedules<extra></extra>",
            xaxis="x2",
            yaxis="y2",
        ),
        go.Box(
            name="worst-case start (min, quartiles, max)",
            y=labels,
            lowerfence=st[:, 0],
            q1=st[:, 1],
            median=st[:, 2],
            q3=st[:, 3],
            upperfence=st[:, 4],
            marker_color=_INK,
            xaxis="x2",
            yaxis="y2",
            **box,
        ),
    ]
    shapes: list[dict[str, Any]] = []
    notes = [
        _heading("Wait before the attempt", "x"),
        _heading("Worst case: every attempt times out", "x2"),
    ]
    notes += [
        {
            "text": "never starts: past the deadline",
            "xref": "x2",
            "yref": "y2",
            "x": 0,
            "y": label,
            "xanchor": "left",
            "showarrow": False,
            "font": {"size": 12, "color": "#777"},
        }
        for label, keep in zip(info.labels, here, strict=True)
        if not keep
    ]
    if info.deadline is not None:
        shape, label = _vline(
            info.deadline, f"deadline {_s(info.deadline)}", _FAILED, "x2", dash="dash"
        )
        shapes.append(shape)
        notes.append(label)
    layout = {
        "xaxis": {"domain": [0, 0.36], "anchor": "y", "title": {"text": "wait (s)"}},
        "xaxis2": {
            "domain": [0.40, 1],
            "anchor": "y2",
            "title": {"text": "seconds since the first attempt"},
        },
        "yaxis": {"anchor": "x", "type": "category", "autorange": "reversed"},
        "yaxis2": {"anchor": "x2", "matches": "y", "showticklabels": False},
        "barmode": "overlay",
        "boxmode": "overlay",
        "shapes": shapes,
        "annotations": notes,
    }
    policy = info.policy
    deadline = _s(policy.deadline) if policy.deadline is not None else "none"
    subtitle = (
        f"{info.samples:,} drawn schedules · {policy.max_attempts} attempts · "
        f"jitter {policy.jitter_mode.value} {policy.jitter:g} · deadline {deadline}"
    )
    head = title or "Retry schedule: waits and attempt start times"
    return _figure(traces, layout, head, subtitle, 60 + 44 * info.attempts, headings=True)
