"""Attempts over time: the live timeline and the reconnect storm."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from ..core.quality import Quality
from ..plotdata import QualityBand, StormInfo, TimelineInfo
from ._style import (
    _FAILED,
    _GOOD,
    _INK,
    NO_ATTEMPT,
    _band_shapes,
    _figure,
    _note,
    _s,
    _vline,
    _wrap,
)


# --------------------------------------------------------------------------- timeline
def timeline_figure(info: TimelineInfo, *, title: str | None = None) -> go.Figure:
    """One row per session, attempts as bars coloured by strategy; failed ones hatched.

    Traces: one horizontal bar trace per :class:`Strategy`, in enum order (empty ones are
    kept, hidden from the legend), so the trace count never changes.
    """
    traces = [
        go.Bar(
            name=group.strategy.value,
            orientation="h",
            y=group.session,
            base=group.start_s,
            x=group.duration_s,
            marker={
                "color": group.colour,
                "pattern": {"shape": np.where(group.connected, "", "/"), "solidity": 0.45},
                "line": {"color": np.where(group.connected, group.colour, _FAILED), "width": 1},
            },
            hovertext=group.hover,
            hoverinfo="text",
            showlegend=bool(group.session),
        )
        for group in info.by_strategy
    ]
    layout: dict[str, Any] = {
        "xaxis": {
            "title": {"text": "seconds since the session's first attempt (profile time)"},
            "rangemode": "tozero",
        },
        "yaxis": {
            "title": {"text": "session"},
            "type": "category",
            "categoryorder": "array",
            "categoryarray": info.sessions,
            "autorange": "reversed",
        },
        "barmode": "overlay",
        "bargap": 0.3,
        "annotations": [] if info.bars else [_note(NO_ATTEMPT)],
    }
    if not info.bars:
        layout["xaxis"]["range"] = [0, 1]
    shown = len(info.sessions)
    subtitle = (
        f"{shown} of {info.total_sessions} sessions · {info.bars} of {info.total_records} "
        "attempts · hatched with a red outline = failed"
    )
    height = max(160, 26 * shown)
    return _figure(traces, layout, title or "Live connection attempts", subtitle, height)


# --------------------------------------------------------------------------- storm
def storm_figure(info: StormInfo, *, title: str | None = None) -> go.Figure:
    """Attempts per second (accepted and refused, stacked) against the server's capacity.

    Traces: 0 accepted, 1 refused, 2 capacity line. Bar i covers second [i, i + 1).
    """
    second = {"offset": 0.0, "width": 1.0, "marker_line_width": 0}
    traces = [
        go.Bar(name="accepted", x=info.seconds, y=info.accepted, marker_color=_GOOD, **second),
        go.Bar(name="refused", x=info.seconds, y=info.refused, marker_color=_FAILED, **second),
        go.Scatter(
            name=f"capacity {info.capacity_per_s:,}/s",
            x=[0.0, float(info.seconds.size)],
            y=[info.capacity_per_s, info.capacity_per_s],
            mode="lines",
            line={"color": _INK, "dash": "dash", "width": 2},
        ),
    ]
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    if info.outage_s > 0:
        down = QualityBand(Quality.CRITICAL, "server down", "#9aa5b1", 0.0, info.outage_s)
        band = _band_shapes((down,))
        band[0]["label"]["textposition"] = "top left"  # centred, a short outage cut it off
        shapes += band
    if info.reconnected_99_s is not None:
        shape, label = _vline(
            info.reconnected_99_s, f"99 % back after {_s(info.reconnected_99_s)}", _GOOD
        )
        if info.reconnected_99_s > 0.6 * max(info.seconds.size, 1):  # text left of the line
            label["xanchor"] = "right"
        shapes.append(shape)
        notes.append(label)
    layout = {
        "xaxis": {
            "title": {"text": "seconds since every client was dropped"},
            "rangemode": "tozero",
        },
        "yaxis": {
            "title": {"text": "connection attempts per second"},
            "rangemode": "tozero",
            "ticklabelstandoff": 6,  # the two "0"s at the origin apart
        },
        "barmode": "stack",
        "bargap": 0.0,
        "shapes": shapes,
        "annotations": notes,
    }
    # Short lines: the figure is often drawn half-width, next to its lockstep chart.
    subtitle = (
        f"{info.clients:,} clients · {info.outage_s:g} s outage<br>once it is back: peak "
        f"{info.peak_per_s:,}/s = {info.peak_over_capacity:.1f}× capacity · 99 % back after "
        f"{_s(info.reconnected_99_s)}"
    )
    if info.gave_up:
        subtitle += f"<br>{info.gave_up:,} of them gave up and stayed down"
    if info.lockstep:
        subtitle += f"<br>{_wrap(info.lockstep, 70)}"
    return _figure(traces, layout, title or "Reconnect storm", subtitle, 320)
