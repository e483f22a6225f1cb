"""Results in, plotly figures out: the thin half of the charts (numbers: :mod:`chatconn.plotdata`).

Every chart comes in three layers, as Optuna's ``plot_edf`` over ``_get_edf_info``::

    plot_time_to_connect(result)      = ttc_figure(ttc_info(result))
    ttc_info(result)  -> TtcInfo          pure arrays, tested         (chatconn.plotdata)
    ttc_figure(info)  -> go.Figure        draws the info, computes nothing

    plot_*                              info function     figure builder
    plot_backoff(policy, samples, seed) backoff_info      backoff_figure     waits, starts
    plot_time_to_connect(result)        ttc_info          ttc_figure         ECDF + histogram
    plot_timeline(records)              timeline_info     timeline_figure    live attempts
    plot_live_vs_simulated(live, sim)   overlay_info      overlay_figure     two ECDFs, KS
    plot_quality(result_or_times)       quality_info      quality_figure     classes
    plot_storm(storm_result)            storm_info        storm_figure       arrivals/s
    plot_compare({name: result})        comparison_info   comparison_figure  policies

Figures are plain ``go.Figure`` s for decks and HTML reports: template ``plotly_white``, a
title (override with ``title=``), axis titles with units, quality bands in
:data:`~chatconn.plotdata.QUALITY_COLOURS`. Empty inputs (no session connected, no record,
no policy) give a valid figure with an annotation saying so, never an exception.

Updating a figure already on screen (widgets): keep one ``go.FigureWidget`` per chart and
refresh it in place — no new output, no flicker::

    fw = go.FigureWidget(plot_time_to_connect(result))     # once; display(fw)
    ...
    update_figure(fw, ttc_info(new_result))                # on every change

:func:`update_figure` builds the new figure from the info and :func:`refresh` copies its
traces and layout into ``fw`` inside one ``fw.batch_update()``, assigning only what changed
(``fw.data[i].x = ...``). A builder's trace order is fixed (listed in its docstring), so
trace-by-trace updates are possible by hand as well::

    with fw.batch_update():
        fw.data[0].x, fw.data[0].y = info.ecdf_x, info.ecdf_y

Only :func:`comparison_figure` (one curve per policy) can change its number of traces;
:func:`refresh` then replaces the traces of the same widget.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .core.policy import RetryPolicy
from .core.quality import DEFAULT_THRESHOLDS, Quality, QualityThresholds
from .plotdata import (
    DEFAULT_SAMPLES,
    QUALITY_COLOURS,
    STRATEGY_COLOURS,
    BackoffInfo,
    ComparisonInfo,
    OverlayInfo,
    QualityBand,
    QualityInfo,
    StormInfo,
    TimelineInfo,
    TtcInfo,
    backoff_info,
    comparison_info,
    overlay_info,
    quality_info,
    storm_info,
    timeline_info,
    ttc_info,
)

__all__ = [
    "NO_ATTEMPT",
    "NO_CONNECTED",
    "NO_POLICY",
    "NO_SESSION",
    "TEMPLATE",
    "backoff_figure",
    "comparison_figure",
    "figure_from_info",
    "overlay_figure",
    "plot_backoff",
    "plot_compare",
    "plot_live_vs_simulated",
    "plot_quality",
    "plot_storm",
    "plot_time_to_connect",
    "plot_timeline",
    "quality_figure",
    "refresh",
    "storm_figure",
    "timeline_figure",
    "ttc_figure",
    "update_figure",
]

TEMPLATE = "plotly_white"
NO_CONNECTED = "no session connected"
NO_SESSION = "no session"
NO_ATTEMPT = "no attempt recorded yet"
NO_POLICY = "no policy to compare"

_FONT = {"family": "Inter, Helvetica Neue, Arial, sans-serif", "size": 14, "color": "#2a2f36"}
_INK = "#1f2d3d"
_LIVE = "#e07b39"
_GOOD = QUALITY_COLOURS["excellent"]
_FAILED = QUALITY_COLOURS["critical"]
# Policy curves: distinct from the quality colours behind them.
_PALETTE = ("#3566c8", "#e07b39", "#7a52c7", "#1f2d3d", "#c2185b", "#8d6e3f", "#6b7b8c")
_TIME = "time to connect (s, log scale)"
_SHARE_TICKS = [0, 0.2, 0.4, 0.6, 0.8, 1.0]


# --------------------------------------------------------------------------- helpers
def _s(value: float | None) -> str:
    """Seconds for people: '0.28 s', '42.0 s', '–'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.2f} s" if value < 10 else f"{value:,.1f} s"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _legend_rows(traces: list[Any], width: float = 900.0) -> int:
    """About how many rows a horizontal legend of these traces takes in a notebook."""
    names = [t.name or "" for t in traces if t.showlegend is not False]
    return math.ceil(sum(45 + 7.5 * len(name) for name in names) / width) if names else 0


def _figure(
    traces: list[Any],
    layout: dict[str, Any],
    title: str,
    subtitle: str,
    plot_height: int,
    *,
    headings: bool = False,
) -> go.Figure:
    """House style in one validated construction (much faster than many ``add_*`` calls).

    Title, subtitle and a horizontal legend stack at the top, in pixels from the top edge,
    and the top margin makes room for them, so ``plot_height`` is the plotting area's height
    whatever the title's length.
    """
    lines = subtitle.count("<br>") + 1 if subtitle else 0
    title_px = 34 + 19 * lines
    legend_px = 26 * _legend_rows(traces)
    top = 14 + title_px + legend_px + (30 if headings else 14)
    height = plot_height + top + 80
    full = {
        "template": TEMPLATE,
        "title": {
            "text": f"{title}<br><sup>{subtitle}</sup>" if subtitle else title,
            "x": 0.01,
            "xanchor": "left",
            "yref": "container",
            "y": 1 - 14 / height,
            "yanchor": "top",
            "font": {"size": 20},
        },
        "font": _FONT,
        "height": height,
        "margin": {"l": 80, "r": 30, "t": top, "b": 80},
        "legend": {
            "orientation": "h",
            "yref": "container",
            "y": 1 - (14 + title_px) / height,
            "yanchor": "top",
            "xanchor": "left",
            "x": 0,
            "traceorder": "normal",
        },
        "hoverlabel": {"font": {"size": 13}},
        **layout,
    }
    return go.Figure(data=traces, layout=full)


def _note(text: str) -> dict[str, Any]:
    """A centred annotation saying why the figure is empty."""
    return {
        "text": text,
        "xref": "paper",
        "yref": "paper",
        "x": 0.5,
        "y": 0.5,
        "showarrow": False,
        "font": {"size": 18, "color": "#777"},
    }


def _heading(text: str, x: str) -> dict[str, Any]:
    """A subplot title above the axes ``x`` (and its y axis of the same number)."""
    return {
        "text": f"<b>{text}</b>",
        "xref": f"{x} domain",
        "yref": f"{x.replace('x', 'y')} domain",
        "x": 0.5,
        "y": 1.0,
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": 15},
    }


def _band_shapes(
    bands: tuple[QualityBand, ...], x: str = "x", *, labelled: bool = True
) -> list[dict[str, Any]]:
    """The quality classes shaded behind the data of axes ``x``, labelled at the top."""
    return [
        {
            "type": "rect",
            "xref": x,
            "yref": f"{x.replace('x', 'y')} domain",
            "x0": band.lo,
            "x1": band.hi,
            "y0": 0,
            "y1": 1,
            "fillcolor": band.colour,
            "opacity": 0.13,
            "line": {"width": 0},
            "layer": "below",
            "label": {
                "text": band.label if labelled else "",
                "textposition": "top center",
                "font": {"size": 11, "color": band.colour},
            },
        }
        for band in bands
    ]


def _vline(
    value: float,
    text: str,
    colour: str,
    x: str = "x",
    *,
    dash: str = "dot",
    top: bool = True,
    log: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A vertical marker line on axes ``x`` and its label (a shape and an annotation).

    On a log axis plotly places shapes in data units but annotations in log10 units.
    """
    yref = f"{x.replace('x', 'y')} domain"
    shape = {
        "type": "line",
        "xref": x,
        "yref": yref,
        "x0": value,
        "x1": value,
        "y0": 0,
        "y1": 1,
        "line": {"color": colour, "dash": dash, "width": 1.5},
    }
    label = {
        "text": text,
        "xref": x,
        "yref": yref,
        "x": math.log10(value) if log and value > 0 else value,
        "y": 0.97 if top else 0.03,
        "xanchor": "left",
        "yanchor": "top" if top else "bottom",
        "showarrow": False,
        "font": {"size": 12, "color": colour},
        "bgcolor": "rgba(255, 255, 255, 0.7)",
    }
    return shape, label


def _log_range(x_range: tuple[float, float]) -> list[float]:
    return [math.log10(x_range[0]), math.log10(x_range[1])]


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


def plot_backoff(
    policy: RetryPolicy,
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    title: str | None = None,
) -> go.Figure:
    """A policy's waits and worst-case attempt start times, attempt by attempt."""
    return backoff_figure(backoff_info(policy, samples=samples, seed=seed), title=title)


# --------------------------------------------------------------------------- time to connect
def ttc_figure(info: TtcInfo, *, title: str | None = None) -> go.Figure:
    """ECDF (top) and log-binned histogram (bottom) of time to connect, quality bands behind.

    Traces: 0 ECDF (share of connected sessions), 1 histogram as a step line.
    """
    traces = [
        go.Scatter(
            name="share of connected sessions (ECDF)",
            x=info.ecdf_x,
            y=info.ecdf_y,
            mode="lines",
            line={"shape": "hv", "color": _INK, "width": 2.5},
            hovertemplate="%{y:.1%} connected within %{x:.2f} s<extra></extra>",
        ),
        go.Scatter(
            name="sessions per bin (log-spaced)",
            x=info.hist_step_x,
            y=info.hist_step_y,
            mode="lines",
            line={"shape": "hv", "color": "#3566c8", "width": 1.5},
            fill="tozeroy",
            fillcolor="rgba(53, 102, 200, 0.25)",
            hovertemplate="%{y:,.0f} sessions from %{x:.2f} s<extra></extra>",
            xaxis="x2",
            yaxis="y2",
        ),
    ]
    shapes = _band_shapes(info.bands) + _band_shapes(info.bands, "x2", labelled=False)
    notes = []
    for name, value in (("p50", info.p50), ("p95", info.p95)):
        if value is not None:
            shape, label = _vline(value, f"{name} {_s(value)}", _INK, top=False, log=True)
            shapes.append(shape)
            notes.append(label)
    if not info.connected:
        notes.append(_note(NO_CONNECTED if info.sessions else NO_SESSION))
    log_range = _log_range(info.x_range)
    layout = {
        "xaxis": {
            "anchor": "y",
            "type": "log",
            "range": log_range,
            "matches": "x2",
            "showticklabels": False,
        },
        "xaxis2": {"anchor": "y2", "type": "log", "range": log_range, "title": {"text": _TIME}},
        "yaxis": {
            "domain": [0.42, 1],
            "title": {"text": "share of connected sessions"},
            "tickformat": ".0%",
            "range": [0, 1.1],
            "tickvals": _SHARE_TICKS,
        },
        "yaxis2": {"domain": [0, 0.36], "title": {"text": "sessions"}, "rangemode": "tozero"},
        "shapes": shapes,
        "annotations": notes,
    }
    subtitle = (
        f"{info.connected:,} of {info.sessions:,} sessions connected "
        f"({_pct(info.success_rate)}) · p50 {_s(info.p50)} · p95 {_s(info.p95)}"
    )
    return _figure(traces, layout, title or "Time to connect", subtitle, 460)


def plot_time_to_connect(
    result: Any, thresholds: QualityThresholds = DEFAULT_THRESHOLDS, *, title: str | None = None
) -> go.Figure:
    """Time-to-connect ECDF and histogram of a simulation (or a live run, or times)."""
    return ttc_figure(ttc_info(result, thresholds), title=title)


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


def plot_timeline(records: Any, *, max_sessions: int = 50, title: str | None = None) -> go.Figure:
    """Live attempts of ``AttemptRecord`` s (or a LiveRun), one row per session."""
    return timeline_figure(timeline_info(records, max_sessions=max_sessions), title=title)


# --------------------------------------------------------------------------- overlay
def overlay_figure(info: OverlayInfo, *, title: str | None = None) -> go.Figure:
    """Live and simulated ECDFs of time to connect over the quality bands.

    Traces: 0 simulated (line), 1 live (line with markers: live runs are small).
    """
    styles = ((info.simulated, _INK, "lines"), (info.live, _LIVE, "lines+markers"))
    traces = [
        go.Scatter(
            name=(
                f"{curve.name}: {curve.connected:,}/{curve.sessions:,} connected, "
                f"p50 {_s(curve.p50)}, p95 {_s(curve.p95)}"
            ),
            x=curve.x,
            y=curve.y,
            mode=mode,
            marker={"size": 5},
            line={"shape": "hv", "color": colour, "width": 2.5},
            hovertemplate=f"{curve.name}: %{{y:.1%}} within %{{x:.2f}} s<extra></extra>",
        )
        for curve, colour, mode in styles
    ]
    empty = [c.name for c in (info.live, info.simulated) if not c.connected]
    layout = {
        "xaxis": {"title": {"text": _TIME}, "type": "log", "range": _log_range(info.x_range)},
        "yaxis": {
            "title": {"text": "share of connected sessions"},
            "tickformat": ".0%",
            "range": [0, 1.1],
            "tickvals": _SHARE_TICKS,
        },
        "shapes": _band_shapes(info.bands),
        "annotations": [_note(f"{NO_CONNECTED} ({' and '.join(empty)})")] if empty else [],
    }
    ks = "–" if info.ks is None else f"{info.ks:.3f}"
    subtitle = (
        f"KS distance {ks} · success live {_pct(info.live.success_rate)}, "
        f"simulated {_pct(info.simulated.success_rate)}"
    )
    return _figure(traces, layout, title or "Live vs simulated time to connect", subtitle, 360)


def plot_live_vs_simulated(
    live: Any,
    simulated: Any,
    thresholds: QualityThresholds = DEFAULT_THRESHOLDS,
    *,
    title: str | None = None,
) -> go.Figure:
    """A live run and a simulation of the same policy and profile, overlaid."""
    return overlay_figure(overlay_info(live, simulated, thresholds), title=title)


# --------------------------------------------------------------------------- quality
def quality_figure(info: QualityInfo, *, title: str | None = None) -> go.Figure:
    """Share of sessions per quality class, with counts. Traces: 0 the four bars."""
    bars = go.Bar(
        name="sessions",
        x=info.labels,
        y=info.shares,
        marker={"color": info.colours},
        text=[f"{n:,} ({s:.1%})" for n, s in zip(info.counts, info.shares, strict=True)],
        textposition="outside",
        cliponaxis=False,
        customdata=info.counts,
        hovertemplate="%{x}: %{customdata:,} sessions (%{y:.1%})<extra></extra>",
        showlegend=False,
    )
    layout = {
        "xaxis": {"title": {"text": "quality class (time to connect)"}},
        "yaxis": {"title": {"text": "share of sessions"}, "tickformat": ".0%", "range": [0, 1.1]},
        "annotations": [] if info.sessions else [_note(NO_SESSION)],
    }
    subtitle = f"{info.sessions:,} sessions · {info.failed:,} failed, counted as critical"
    return _figure([bars], layout, title or "Connection quality", subtitle, 300)


def plot_quality(
    result_or_times: Any,
    thresholds: QualityThresholds = DEFAULT_THRESHOLDS,
    *,
    title: str | None = None,
) -> go.Figure:
    """Counts and shares per quality class of a result or of collected times (NaN = failed)."""
    return quality_figure(quality_info(result_or_times, thresholds), title=title)


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
        shapes += _band_shapes((down,))
    if info.reconnected_99_s is not None:
        shape, label = _vline(
            info.reconnected_99_s, f"99 % back after {_s(info.reconnected_99_s)}", _GOOD
        )
        shapes.append(shape)
        notes.append(label)
    layout = {
        "xaxis": {
            "title": {"text": "seconds since every client was dropped"},
            "rangemode": "tozero",
        },
        "yaxis": {"title": {"text": "connection attempts per second"}, "rangemode": "tozero"},
        "barmode": "stack",
        "bargap": 0.0,
        "shapes": shapes,
        "annotations": notes,
    }
    subtitle = (
        f"{info.clients:,} clients · {info.outage_s:g} s outage · once it is back, peak "
        f"{info.peak_per_s:,}/s = {info.peak_over_capacity:.1f}× capacity · 99 % back after "
        f"{_s(info.reconnected_99_s)}"
    )
    return _figure(traces, layout, title or "Reconnect storm", subtitle, 320)


def plot_storm(storm_result: Any, *, title: str | None = None) -> go.Figure:
    """A :class:`~chatconn.storm.StormResult`: arrivals per second against capacity."""
    return storm_figure(storm_info(storm_result), title=title)


# --------------------------------------------------------------------------- comparison
def comparison_figure(info: ComparisonInfo, *, title: str | None = None) -> go.Figure:
    """Policies side by side: share of *all* sessions connected by time t (left, so curves
    level off at the success rate) and quality shares (right).

    Traces: one curve per policy (mapping order), then one stacked bar per quality class.
    """
    traces: list[Any] = [
        go.Scatter(
            name=curve.name,
            legendgroup="policies",
            x=curve.x,
            y=curve.y_all,
            mode="lines",
            line={"shape": "hv", "color": _PALETTE[i % len(_PALETTE)], "width": 2.5},
            hovertemplate=f"{curve.name}: %{{y:.1%}} within %{{x:.2f}} s<extra></extra>",
        )
        for i, curve in enumerate(info.curves)
    ]
    for q, band in enumerate(info.bands):
        traces.append(
            go.Bar(
                name=band.label,
                legendgroup="quality",
                orientation="h",
                y=info.names,
                x=[qi.shares[q] for qi in info.quality],
                marker_color=band.colour,
                customdata=[int(qi.counts[q]) for qi in info.quality],
                hovertemplate=f"%{{y}}: %{{x:.1%}} (%{{customdata:,}} sessions)"
                f"<extra>{band.label}</extra>",
                xaxis="x2",
                yaxis="y2",
            )
        )
    notes = [_heading("Share of all sessions connected by time t", "x"), _heading("Quality", "x2")]
    if not info.curves:
        notes.append(_note(NO_POLICY))
    elif not any(c.connected for c in info.curves):
        notes.append(_note(NO_CONNECTED))
    layout = {
        "xaxis": {
            "domain": [0, 0.56],
            "anchor": "y",
            "title": {"text": _TIME},
            "type": "log",
            "range": _log_range(info.x_range),
        },
        "yaxis": {
            "anchor": "x",
            "title": {"text": "share of all sessions"},
            "tickformat": ".0%",
            "range": [0, 1.1],
            "tickvals": _SHARE_TICKS,
        },
        "xaxis2": {
            "domain": [0.68, 1],
            "anchor": "y2",
            "title": {"text": "share of sessions"},
            "tickformat": ".0%",
            "range": [0, 1],
        },
        "yaxis2": {"anchor": "x2", "type": "category", "autorange": "reversed"},
        "barmode": "stack",
        "shapes": _band_shapes(info.bands),
        "annotations": notes,
    }
    parts = [
        f"<b>{c.name}</b> {_pct(c.success_rate)} connected, p95 {_s(c.p95)}, "
        f"{c.mean_attempts or 0:.2f} attempts"
        for c in info.curves
    ]
    subtitle = "<br>".join(" · ".join(parts[i : i + 2]) for i in range(0, len(parts), 2))
    height = max(380, 70 * len(info.curves))
    head = title or "Retry policies compared"
    return _figure(traces, layout, head, subtitle, height, headings=True)


def plot_compare(
    results: Mapping[str, Any],
    thresholds: QualityThresholds = DEFAULT_THRESHOLDS,
    *,
    title: str | None = None,
) -> go.Figure:
    """Several named simulations (policies) side by side."""
    return comparison_figure(comparison_info(results, thresholds), title=title)


# --------------------------------------------------------------------------- widgets
_BUILDERS: dict[type, Callable[..., go.Figure]] = {
    BackoffInfo: backoff_figure,
    TtcInfo: ttc_figure,
    TimelineInfo: timeline_figure,
    OverlayInfo: overlay_figure,
    QualityInfo: quality_figure,
    StormInfo: storm_figure,
    ComparisonInfo: comparison_figure,
}


def figure_from_info(info: Any, *, title: str | None = None) -> go.Figure:
    """The figure of any ``*Info`` from :mod:`chatconn.plotdata`."""
    try:
        builder = _BUILDERS[type(info)]
    except KeyError:
        raise TypeError(
            f"no figure for {type(info).__name__}; expected a chatconn.plotdata info"
        ) from None
    return builder(info, title=title)


def _differs(old: Any, new: Any) -> bool:
    try:
        return bool(old != new)
    except ValueError:  # numpy arrays: element-wise
        return True


def _assign(target: Any, new: dict[str, Any], skip: frozenset[str]) -> None:
    old = target.to_plotly_json()
    changes = {k: v for k, v in new.items() if k not in skip and _differs(old.get(k), v)}
    changes |= {k: None for k in old if k not in new and k not in skip}
    if changes:
        target.update(changes, overwrite=True)


def refresh(target: go.Figure, source: go.Figure) -> None:
    """Make ``target`` (typically a ``go.FigureWidget`` on screen) show ``source``, in place.

    One ``batch_update``: trace by trace when both have the same trace types in the same
    order (only changed properties are sent), otherwise the traces are replaced; then the
    layout (shapes, annotations, titles, ranges). No new output is created.
    """
    with target.batch_update():
        same = len(target.data) == len(source.data) and all(
            a.type == b.type for a, b in zip(target.data, source.data, strict=True)
        )
        if same:
            for old, new in zip(target.data, source.data, strict=True):
                _assign(old, new.to_plotly_json(), frozenset({"uid", "type"}))
        else:
            target.data = ()
            target.add_traces(list(source.data))
        _assign(target.layout, source.layout.to_plotly_json(), frozenset())


def update_figure(target: go.Figure, info: Any, *, title: str | None = None) -> None:
    """``refresh(target, figure_from_info(info))``: what a widget calls on every change."""
    refresh(target, figure_from_info(info, title=title))
