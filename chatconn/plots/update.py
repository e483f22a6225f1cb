"""Figures from infos and in-place updates of a figure on screen (widgets)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
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
from ._style import _SPEC_ONLY, FigureSpec
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


def _trace_json(trace: Any) -> dict[str, Any]:
    return trace if isinstance(trace, dict) else trace.to_plotly_json()


def apply_spec(target: go.Figure, spec: FigureSpec) -> None:
    """Make ``target`` show ``spec`` (what a builder would have drawn), in place: in one
    ``batch_update``, only the trace properties and layout keys that changed are set
    (arrays are compared element-wise); traces are replaced only when their number or
    types changed. The template on screen stays (``spec`` has none)."""
    news = [_trace_json(t) for t in spec.traces]
    with target.batch_update():
        same = len(target.data) == len(news) and all(
            a.type == b.get("type") for a, b in zip(target.data, news, strict=True)
        )
        if same:
            for old, new in zip(target.data, news, strict=True):
                _assign_changed(old, new, frozenset({"uid", "type"}))
        else:
            target.data = ()
            target.add_traces(news)
        _assign_changed(target.layout, spec.layout, frozenset({"template"}))


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, np.ndarray) or isinstance(new, np.ndarray):
        a, b = np.asarray(old), np.asarray(new)
        if a.shape != b.shape:
            return False
        if a.dtype.kind in "fiub" and b.dtype.kind in "fiub":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(old, tuple | list) and isinstance(new, tuple | list):
        return len(old) == len(new) and all(_same(a, b) for a, b in zip(old, new, strict=True))
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() == new.keys() and all(_same(old[k], new[k]) for k in old)
    try:
        return bool(old == new)
    except ValueError:
        return False


def _assign_changed(target: Any, new: dict[str, Any], skip: frozenset[str]) -> None:
    old = target._props if target._props is not None else {}  # read, never mutated
    changes = {k: v for k, v in new.items() if k not in skip and not _same(old.get(k), v)}
    changes |= {k: None for k in old if k not in new and k not in skip}
    if changes:
        target.update(changes, overwrite=True)


def update_figure(target: go.Figure, info: Any, *, title: str | None = None) -> None:
    """What a widget calls on every change: ``target`` (a figure built from an info of the
    same kind) updated in place to show ``info`` — the builder's traces and layout without
    building a validated figure (:class:`FigureSpec`), then :func:`apply_spec`."""
    try:
        builder = _BUILDERS[type(info)]
    except KeyError:
        raise TypeError(
            f"no figure for {type(info).__name__}; expected a chatconn.plotdata info"
        ) from None
    token = _SPEC_ONLY.set(True)
    try:
        spec = builder(info, title=title)
    finally:
        _SPEC_ONLY.reset(token)
    apply_spec(target, spec)
