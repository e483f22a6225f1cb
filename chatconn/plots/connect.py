"""Time-to-connect figures: one result, live vs simulated, quality classes, policies."""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go

from ..plotdata import ComparisonInfo, OverlayInfo, QualityInfo, TtcInfo
from ._style import (
    _INK,
    _PALETTE,
    _SHARE_TICKS,
    _TIME,
    NO_COMPARISON,
    NO_CONNECTED,
    NO_POLICY,
    NO_SESSION,
    _band_shapes,
    _ecdf_axes,
    _figure,
    _heading,
    _log_range,
    _model_and_observed,
    _note,
    _pct,
    _s,
    _vline,
    _wrap,
    log_time_ticks,
)


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
        "xaxis2": {
            "anchor": "y2",
            "type": "log",
            "range": log_range,
            "title": {"text": _TIME},
            **log_time_ticks(info.x_range),
        },
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


# --------------------------------------------------------------------------- overlay
def overlay_figure(info: OverlayInfo, *, title: str | None = None) -> go.Figure:
    """Live and simulated ECDFs of time to connect over the quality bands, the harness
    band behind them, and the verdict as the subtitle: its headline, then the medians,
    90th percentiles and success rates side by side (and the KS distance, as a detail).

    Traces: 0 simulated (line), 1 live (line with markers: live runs are small), 2 the
    harness band (the simulated ECDF shifted right by ``info.bound_s``; empty without one).
    """
    traces = _model_and_observed(info.simulated, info.live)
    bound = f"{info.bound_s:.3g} s"
    traces.append(
        go.Scatter(
            name=f"what the harness can add (up to {bound})",
            x=info.band_x,
            y=info.band_y,
            mode="lines",
            line={"width": 0, "color": _INK},
            fill="toself",
            fillcolor="rgba(31, 45, 61, 0.16)",
            hoveron="fills",
            hoverinfo="text",
            text=(
                f"live lands in here if the model holds: the simulation plus up to {bound} "
                "that this machine's harness can add to a connect"
            ),
            showlegend=bool(info.band_x.size),
        )
    )
    empty = [c.name for c in (info.live, info.simulated) if not c.connected]
    layout = {
        **_ecdf_axes(info.x_range, "share of connected sessions"),
        "shapes": _band_shapes(info.bands),
        "annotations": [_note(f"{NO_CONNECTED} ({' and '.join(empty)})")] if empty else [],
    }
    agreement = info.agreement
    if agreement is None:
        subtitle = NO_COMPARISON
    else:
        ks = "" if info.ks is None else f" · KS distance {info.ks:.3f}"
        headline = agreement.headline[:1].upper() + agreement.headline[1:]
        subtitle = f"<b>{_wrap(headline)}</b><br>{_wrap(agreement.details + ks)}"
    return _figure(traces, layout, title or "Live vs simulated time to connect", subtitle, 360)


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


# --------------------------------------------------------------------------- comparison
_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot", "5px,2px,1px,2px")
_MARKERS = ("circle", "square", "diamond", "triangle-up", "x", "triangle-down", "star")
#: Vertical room per end label, as a share of the y axis (0 to 1.1).
_LABEL_STEP = 0.055


def _end_labels(info: ComparisonInfo) -> list[dict[str, Any]]:
    """Each policy's name at the right end of its curve, in its colour; labels that would
    collide are pushed down until they do not (the curves often end together)."""
    ends = [
        (float(curve.y_all[-1]) if len(curve.y_all) else 0.0, i, curve.name)
        for i, curve in enumerate(info.curves)
        if curve.connected
    ]
    placed: list[tuple[float, int, str]] = []
    for y, i, name in sorted(ends, reverse=True):
        if placed and placed[-1][0] - y < _LABEL_STEP:
            y = placed[-1][0] - _LABEL_STEP
        placed.append((y, i, name))
    x = math.log10(info.x_range[1]) if info.x_range[1] > 0 else 0.0
    return [
        {
            "text": name,
            "xref": "x",
            "yref": "y",
            "x": x,
            "y": y,
            "xanchor": "right",
            "yanchor": "middle",
            "showarrow": False,
            "font": {"size": 12, "color": _PALETTE[i % len(_PALETTE)]},
            "bgcolor": "rgba(255, 255, 255, 0.8)",
        }
        for y, i, name in placed
    ]


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
            mode="lines+markers",
            # seven presets told apart without colour alone: a dash and a marker each
            line={
                "shape": "hv",
                "color": _PALETTE[i % len(_PALETTE)],
                "width": 2.5,
                "dash": _DASHES[i % len(_DASHES)],
            },
            marker={
                "symbol": _MARKERS[i % len(_MARKERS)],
                "size": 8,
                "maxdisplayed": 12,
                "color": _PALETTE[i % len(_PALETTE)],
            },
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
    notes += _end_labels(info)
    if not info.curves:
        notes.append(_note(NO_POLICY))
    elif not any(c.connected for c in info.curves):
        notes.append(_note(NO_CONNECTED))
    layout = {
        **_ecdf_axes(info.x_range, "share of all sessions", beside_panel=True),
        "xaxis2": {
            "domain": [0.68, 1],
            "anchor": "y2",
            "title": {"text": "share of sessions"},
            "tickformat": ".0%",
            "range": [0, 1],
        },
        # policy names drawn inside the bars: outside, a long one reached over the ECDF panel
        "yaxis2": {
            "anchor": "x2",
            "type": "category",
            "autorange": "reversed",
            "ticklabelposition": "inside",
            "tickfont": {"color": "white", "size": 13},
        },
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
