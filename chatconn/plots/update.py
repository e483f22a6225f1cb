"""Figures from infos and in-place updates of a figure on screen (widgets)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go

from ..plotdata import (
    BackoffInfo,
    ComparisonInfo,
    OverlayInfo,
    QualityInfo,
    StormInfo,
    TimelineInfo,
    TtcInfo,
)
from ..plotdata.calibrate import CalibrationInfo
from ..plotdata.lockstep import LockstepInfo
from ..plotdata.tune import ParetoInfo
from .activity import storm_figure, timeline_figure
from .calibrate import calibration_figure
from .connect import comparison_figure, overlay_figure, quality_figure, ttc_figure
from .lockstep import lockstep_figure
from .schedule import backoff_figure
from .tune import pareto_figure

# --------------------------------------------------------------------------- widgets
_BUILDERS: dict[type, Callable[..., go.Figure]] = {
    BackoffInfo: backoff_figure,
    TtcInfo: ttc_figure,
    TimelineInfo: timeline_figure,
    OverlayInfo: overlay_figure,
    QualityInfo: quality_figure,
    StormInfo: storm_figure,
    ComparisonInfo: comparison_figure,
    ParetoInfo: pareto_figure,
    LockstepInfo: lockstep_figure,
    CalibrationInfo: calibration_figure,
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
