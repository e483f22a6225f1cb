"""House style: template, fonts, colours, empty-figure notes and the layout helpers."""

from __future__ import annotations

import math
import textwrap
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from ..plotdata import QUALITY_COLOURS, QualityBand

TEMPLATE = "plotly_white"
NO_CONNECTED = "no session connected"
NO_SESSION = "no session"
NO_ATTEMPT = "no attempt recorded yet"
NO_POLICY = "no policy to compare"
#: The live-vs-simulated subtitle before both sides have a session.
NO_COMPARISON = "nothing to compare yet"

_FONT = {"family": "Inter, Helvetica Neue, Arial, sans-serif", "size": 14, "color": "#2a2f36"}
_INK = "#1f2d3d"
_LIVE = "#e07b39"
_GOOD = QUALITY_COLOURS["excellent"]
_FAILED = QUALITY_COLOURS["critical"]
# Policy curves: distinct from the quality colours behind them.
_PALETTE = ("#3566c8", "#e07b39", "#7a52c7", "#1f2d3d", "#c2185b", "#8d6e3f", "#6b7b8c")
_TIME = "time to connect (s, log scale)"
_SHARE_TICKS = [0, 0.2, 0.4, 0.6, 0.8, 1.0]
_TITLE_DROP = 10  # px


# --------------------------------------------------------------------------- helpers
def _s(value: float | None) -> str:
    """Seconds for people: '0.28 s', '42.0 s', '–'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.2f} s" if value < 10 else f"{value:,.1f} s"


def _wrap(text: str, width: int = 110) -> str:
    """``text`` broken into lines of at most ``width`` characters, joined by ``<br>`` (a
    plotly title does not wrap by itself)."""
    return "<br>".join(textwrap.wrap(text, width, break_long_words=False)) or text


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
    top = 14 + _TITLE_DROP + title_px + legend_px + (30 if headings else 14)
    height = plot_height + top + 80
    full = {
        "template": TEMPLATE,
        "title": {
            "text": f"{title}<br><sup>{subtitle}</sup>" if subtitle else title,
            "x": 0.01,
            "xanchor": "left",
            "yref": "container",
            # plotly anchors a multi-line title's top a few pixels too high: without this
            # drop the title's first line was cut by the figure's top edge. (plotly's own
            # subtitle is placed by measuring the title, which reads 0 in a widget drawn
            # while hidden: it then overlapped the title in JupyterLab.)
            "y": 1 - (14 + _TITLE_DROP) / height,
            "yanchor": "top",
            "font": {"size": 20},
        },
        "font": _FONT,
        "height": height,
        "margin": {"l": 80, "r": 30, "t": top, "b": 80},
        "legend": {
            "orientation": "h",
            "yref": "container",
            "y": 1 - (14 + _TITLE_DROP + title_px) / height,
            "yanchor": "top",
            "xanchor": "left",
            "x": 0,
            "traceorder": "normal",
        },
        "hoverlabel": {"font": {"size": 13}},
        **layout,
    }
    if _SPEC_ONLY.get():  # chatconn.plots.update: the parts, not a validated figure
        del full["template"]
        return FigureSpec(traces, full)
    return go.Figure(data=traces, layout=full)


@dataclass(frozen=True, slots=True)
class FigureSpec:
    """What :func:`_figure` would build, unbuilt: the traces and the layout without the
    template (a validated ``go.Figure`` with the template costs ~30 ms to build; a widget
    already on screen has the template and only needs what changed)."""

    traces: list[Any]
    layout: dict[str, Any]


#: True while :func:`chatconn.plots.update.update_figure` asks a builder for its spec.
_SPEC_ONLY: ContextVar[bool] = ContextVar("chatconn_plots_spec_only", default=False)


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


#: A quality band narrower than this share of a log axis gets no label (it would collide
#: with its neighbours' labels or be cut off by its own edges).
_NARROW_BAND = 0.065


def _band_label(band: QualityBand, bands: tuple[QualityBand, ...]) -> str:
    """The class name alone ("Poor") on the four quality bands of a log time axis — the
    numbers are on the ticks and in the legend — and nothing on a band too narrow for it;
    any other band (the storm's "server down") keeps its label."""
    lo, hi = bands[0].lo, bands[-1].hi
    if len(bands) != 4 or not (lo > 0 and hi > lo) or band.lo <= 0:
        return band.label
    if math.log10(band.hi / band.lo) / math.log10(hi / lo) < _NARROW_BAND:
        return ""
    return band.quality.label.capitalize()


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
                "text": _band_label(band, bands) if labelled else "",
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


def _seconds_label(value: float) -> str:
    return f"{value:g} s"


def log_time_ticks(x_range: tuple[float, float]) -> dict[str, Any]:
    """Ticks of a log time axis at 1, 2, 5 × 10^k seconds inside ``x_range``, labelled with
    their unit ("0.5 s", "200 s"): plotly's own minor ticks read "2", "5" after 100."""
    lo, hi = x_range
    if not (lo > 0 and hi > lo):
        return {}
    values = [
        m * 10.0**k
        for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
        for m in (1, 2, 5)
    ]
    inside = [round(v, 12) for v in values if lo <= v <= hi]
    return {
        "tickmode": "array",
        "tickvals": inside,
        "ticktext": [_seconds_label(v) for v in inside],
    }


def _ecdf_axes(
    x_range: tuple[float, float], y_title: str, *, beside_panel: bool = False
) -> dict[str, dict[str, Any]]:
    """``xaxis``/``yaxis`` of a time-to-connect ECDF: log seconds against a share. With
    ``beside_panel`` the ECDF takes the left 56 % and a second panel (x2/y2) the rest."""
    x: dict[str, Any] = {
        "title": {"text": _TIME},
        "type": "log",
        "range": _log_range(x_range),
        **log_time_ticks(x_range),
    }
    y: dict[str, Any] = {
        "title": {"text": y_title},
        "tickformat": ".0%",
        "range": [0, 1.1],
        "tickvals": _SHARE_TICKS,
    }
    if beside_panel:
        x = {"domain": [0, 0.56], "anchor": "y", **x}
        y = {"anchor": "x", **y}
    return {"xaxis": x, "yaxis": y}


def _model_and_observed(model: Any, observed: Any, *, marker_size: int = 5) -> list[Any]:
    """The two ECDF traces of "observed against a model" figures (overlay, calibration):
    the model as a line, the observations (small samples) as a line with markers."""
    styles = ((model, _INK, "lines"), (observed, _LIVE, "lines+markers"))
    return [
        go.Scatter(
            name=(
                f"{curve.name}: {curve.connected:,}/{curve.sessions:,} connected, "
                f"p50 {_s(curve.p50)}, p95 {_s(curve.p95)}"
            ),
            x=curve.x,
            y=curve.y,
            mode=mode,
            marker={"size": marker_size},
            line={"shape": "hv", "color": colour, "width": 2.5},
            hovertemplate=f"{curve.name}: %{{y:.1%}} within %{{x:.2f}} s<extra></extra>",
        )
        for curve, colour, mode in styles
    ]
