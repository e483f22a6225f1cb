"""The calibration figure: observed against fitted-simulated time to connect, and shares."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from ..plotdata.calibrate import CalibrationInfo, calibration_info
from ._style import (
    _INK,
    _LIVE,
    NO_CONNECTED,
    _band_shapes,
    _ecdf_axes,
    _figure,
    _heading,
    _model_and_observed,
    _note,
    _pct,
)


def calibration_figure(info: CalibrationInfo, *, title: str | None = None) -> go.Figure:
    """Left: time-to-connect ECDFs, observed and simulated with the fitted profile, over the
    quality bands. Right: the shares the fit also matched (connected, on attempt 1, via
    WebSocket, via HTTP fallback), observed beside fitted. Fitted values in the subtitle.

    Traces: 0 fitted ECDF, 1 observed ECDF, 2 observed shares, 3 fitted shares.
    """
    traces: list[Any] = _model_and_observed(info.fitted, info.observed, marker_size=4)
    for name, shares, colour in (
        ("observed share", info.observed_shares, _LIVE),
        ("fitted share", info.fitted_shares, _INK),
    ):
        traces.append(
            go.Bar(
                name=name,
                orientation="h",
                y=list(info.share_names),
                x=shares,
                marker_color=colour,
                opacity=0.85,
                text=[f"{v:.1%}" for v in shares],
                textposition="outside",
                cliponaxis=False,
                textfont={"size": 11},
                hovertemplate=f"{name}: %{{y}} %{{x:.1%}}<extra></extra>",
                xaxis="x2",
                yaxis="y2",
            )
        )
    notes = [
        _heading("Time to connect (connected sessions)", "x"),
        _heading("Outcomes (share of all sessions)", "x2"),
    ]
    if not info.observed.connected or not info.fitted.connected:
        notes.append(_note(NO_CONNECTED))
    layout = {
        **_ecdf_axes(info.x_range, "share of connected sessions", beside_panel=True),
        "xaxis2": {"domain": [0.8, 1], "anchor": "y2", "tickformat": ".0%", "range": [0, 1.3]},
        "yaxis2": {"anchor": "x2", "type": "category", "autorange": "reversed"},
        "barmode": "group",
        "shapes": _band_shapes(info.bands),
        "annotations": notes,
    }
    # In words, not field names: what each fitted number means (the labels the fit's
    # description uses), the KS distance named for what it measures.
    fitted = " · ".join(
        f"{label} {text}" for label, text in zip(info.labels, info.texts, strict=True)
    )
    subtitle = (
        f"Fitted on top of the {info.base_name} profile: {fitted}"
        f"<br>connected: observed {_pct(info.observed.success_rate)}, fitted "
        f"{_pct(info.fitted.success_rate)} · largest gap between the observed and fitted "
        f"curves (KS distance) {info.ks:.3f}"
    )
    head = title or "Calibrated profile: observed vs fitted"
    return _figure(traces, layout, head, subtitle, 360, headings=True)


def plot_calibration(calibration: Any, *, title: str | None = None) -> go.Figure:
    """A :class:`~chatconn.calibrate.Calibration`: the fit, observed against simulated."""
    return calibration_figure(calibration_info(calibration), title=title)
