"""Figures of real clients observed through ``chatconn proxy`` (numbers:
:mod:`chatconn.plotdata.observe`).

::

    plot_observed_waits(run, "socketio")     observed waits per retry over the preset's band
    plot_observed_timeline(run)              each client's attempts, coloured by outcome
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from ..core.policy import RetryPolicy
from ..core.presets import policy_preset
from ..plotdata.observe import (
    ObservedTimelineInfo,
    ObservedWaitsInfo,
    observed_timeline_info,
    observed_waits_info,
)
from ._style import _FAILED, _GOOD, _INK, _LIVE, _figure, _note

__all__ = [
    "observed_timeline_figure",
    "observed_waits_figure",
    "plot_observed_timeline",
    "plot_observed_waits",
]

_BAND = "rgba(53, 102, 200, 0.18)"


def observed_waits_figure(info: ObservedWaitsInfo, *, title: str | None = None) -> go.Figure:
    """Traces: 0 the band's p95 (invisible edge), 1 the band p5–p95 (filled), 2 its median,
    3 the observed waits (markers)."""
    x = info.band_retry.astype(float)
    traces = [
        go.Scatter(x=x, y=info.band_p95, mode="lines", line={"width": 0}, showlegend=False,
                   hoverinfo="skip"),
        go.Scatter(x=x, y=info.band_p5, mode="lines", line={"width": 0}, fill="tonexty",
                   fillcolor=_BAND, name=f"{info.name}: p5–p95"),
        go.Scatter(x=x, y=info.band_p50, mode="lines+markers", line={"color": "#3566c8"},
                   name=f"{info.name}: median"),
        go.Scatter(x=info.retry.astype(float), y=info.wait_s, mode="markers",
                   marker={"color": _LIVE, "size": 7, "opacity": 0.7}, name="observed",
                   text=list(info.client), hovertemplate="%{text}<br>retry %{x}: %{y:.3f} s"),
    ]  # fmt: skip
    layout: dict[str, Any] = {
        "xaxis": {"title": {"text": "retry"}, "dtick": 1},
        "yaxis": {"title": {"text": "wait before the retry (s)"}, "rangemode": "tozero"},
    }
    if not info.retry.size:
        layout["annotations"] = [_note("no retry observed")]
    return _figure(traces, layout, title or f"Observed waits vs {info.name}", info.verdict, 420)


def plot_observed_waits(
    source: Any, policy: RetryPolicy | str, *, title: str | None = None, **kwargs: Any
) -> go.Figure:
    """Observed waits per retry over ``policy``'s p5–p95 band (a preset name or a policy)."""
    name = policy if isinstance(policy, str) else kwargs.pop("name", "the policy")
    found = policy_preset(policy) if isinstance(policy, str) else policy
    return observed_waits_figure(observed_waits_info(source, found, name, **kwargs), title=title)


_OUTCOME_COLOURS = {"connected": _GOOD, "no_answer": "#9aa5b1"}


def observed_timeline_figure(info: ObservedTimelineInfo, *, title: str | None = None) -> go.Figure:
    """Traces: 0 attempt bars (one row per client), 1 a marker at the start of every failed
    attempt (most fail in milliseconds: too short to see as a bar)."""
    colours = [_OUTCOME_COLOURS.get(o, _FAILED) for o in info.outcome]
    traces = [
        go.Bar(
            x=info.duration_s, base=info.start_s, y=[info.clients[r] for r in info.row],
            orientation="h", marker={"color": colours, "line": {"color": _INK, "width": 0.5}},
            text=[f"retry {r}: {o}" for r, o in zip(info.retry, info.outcome, strict=True)],
            hovertemplate="%{y}<br>%{text}<br>from %{base:.3f} s for %{x:.3f} s",
            name="attempts", showlegend=False, textposition="none",
        ),
        go.Scatter(
            x=[t for t, o in zip(info.start_s, info.outcome, strict=True) if o != "connected"],
            y=[info.clients[r] for r, o in zip(info.row, info.outcome, strict=True)
               if o != "connected"],
            mode="markers", marker={"color": _FAILED, "symbol": "x", "size": 8},
            name="failed attempt", showlegend=False, hoverinfo="skip",
        ),
    ]  # fmt: skip
    layout: dict[str, Any] = {
        "xaxis": {"title": {"text": "seconds since the proxy started"}},
        "yaxis": {"autorange": "reversed", "type": "category"},
        "barmode": "overlay",
    }
    if not info.clients:
        layout["annotations"] = [_note("no connection observed")]
    subtitle = f"{info.shown} of {info.total} clients; green connected, red failed"
    height = max(200, 22 * info.shown)
    return _figure(traces, layout, title or "Attempts per client", subtitle, height)


def plot_observed_timeline(
    source: Any, *, max_clients: int = 30, title: str | None = None
) -> go.Figure:
    """Each client's attempts on one time axis (an observed run or its connections)."""
    return observed_timeline_figure(observed_timeline_info(source, max_clients), title=title)
