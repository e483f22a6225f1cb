"""The lockstep figure: per retry, how much of the herd starts within one window."""

from __future__ import annotations

import textwrap
from typing import Any

import plotly.graph_objects as go

from ..core.policy import RetryPolicy
from ..lockstep import lockstep
from ..plotdata.lockstep import LOCKSTEP_COLOURS, LockstepInfo, lockstep_info
from ._style import _INK, _SHARE_TICKS, _figure, _note

NO_RETRY = "the policy never retries"


def _hline(value: float, text: str, colour: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A horizontal threshold line across the plot and its label at the right end."""
    shape = {
        "type": "line",
        "xref": "paper",
        "yref": "y",
        "x0": 0,
        "x1": 1,
        "y0": value,
        "y1": value,
        "line": {"color": colour, "dash": "dash", "width": 1.5},
    }
    label = {
        "text": text,
        "xref": "paper",
        "yref": "y",
        "x": 1,
        "y": value,
        "xanchor": "right",
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": 12, "color": colour},
        "bgcolor": "rgba(255, 255, 255, 0.85)",
    }
    return shape, label


def lockstep_figure(info: LockstepInfo, *, title: str | None = None) -> go.Figure:
    """Bars: per retry, the largest share of clients starting within one window (coloured
    lockstep / clustered / spread); markers: the largest share waiting the same time.
    Dashed lines: the lockstep and clustered thresholds. The verdict is in the title.

    Traces: 0 start-share bars, 1 wait-share markers.
    """
    window_ms = f"{info.window_s * 1000:g} ms"
    traces = [
        go.Bar(
            name=f"clients starting within one {window_ms} window",
            x=list(info.labels),
            y=info.start_share,
            marker={"color": list(info.colours)},
            customdata=list(zip(info.classes, info.window_start_s, strict=True)),
            hovertemplate="%{x}: %{y:.1%} of clients start together at %{customdata[1]:.2f} s"
            " (%{customdata[0]})<extra></extra>",
        ),
        go.Scatter(
            name=f"clients waiting the same time (within {window_ms})",
            x=list(info.labels),
            y=info.wait_share,
            mode="markers",
            marker={"symbol": "diamond", "size": 10, "color": _INK},
            customdata=info.at_cap_share,
            hovertemplate="%{x}: %{y:.1%} wait the same; %{customdata:.1%} exactly max_delay"
            "<extra></extra>",
        ),
    ]
    shapes, notes = [], []
    for value, text, colour in (
        (
            info.lockstep_share,
            f"lockstep: bars ≥ {info.lockstep_share:.0%}; in step: ◆ ≥ {info.in_step_share:.0%}",
            LOCKSTEP_COLOURS["lockstep"],
        ),
        (
            info.clustered_share,
            f"clustered ≥ {info.clustered_share:.0%}",
            LOCKSTEP_COLOURS["clustered"],
        ),
    ):
        shape, label = _hline(value, text, colour)
        shapes.append(shape)
        notes.append(label)
    if not info.attempt.size:
        notes.append(_note(NO_RETRY))
    layout = {
        # the numbers alone on the ticks: "retry 1retry 2…" ran together at half width
        "xaxis": {
            "title": {"text": "retry (attempt after the mass disconnect)"},
            "tickmode": "array",
            "tickvals": list(info.labels),
            "ticktext": [label.rsplit(" ", 1)[-1] for label in info.labels],
        },
        "yaxis": {
            "title": {"text": "share of clients"},
            "tickformat": ".0%",
            "range": [0, 1.08],
            "tickvals": _SHARE_TICKS,
        },
        "shapes": shapes,
        "annotations": notes,
        "bargap": 0.35,
    }
    worst = (
        f"worst: retry {info.worst_attempt}, {info.worst_share:.0%} start within {window_ms}"
        if info.worst_attempt is not None
        else NO_RETRY
    )
    # Short lines: the figure is often drawn half-width, next to its storm.
    lines = [f"{info.clients:,} clients dropped at once", worst]
    lines += ["<br>".join(textwrap.wrap(reason, 70)) for reason in info.reasons]
    head = title or f"Lockstep after a mass disconnect: {info.verdict}"
    return _figure(traces, layout, head, "<br>".join(lines), 300)


def plot_lockstep(source: Any, *, title: str | None = None, **lockstep_options: Any) -> go.Figure:
    """A :class:`~chatconn.lockstep.LockstepReport`, or a RetryPolicy to analyse with
    :func:`~chatconn.lockstep.lockstep` (``clients``, ``window_s``, ... passed on)."""
    report = lockstep(source, **lockstep_options) if isinstance(source, RetryPolicy) else source
    return lockstep_figure(lockstep_info(report), title=title)
