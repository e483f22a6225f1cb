"""Results in, plotly figures out: the thin half of the charts (numbers: :mod:`chatconn.plotdata`).

Every chart comes in three layers, as Optuna's ``plot_edf`` over ``_get_edf_info``::

    plot_time_to_connect(result)      = ttc_figure(ttc_info(result))
    ttc_info(result)  -> TtcInfo          pure arrays, tested         (chatconn.plotdata)
    ttc_figure(info)  -> go.Figure        draws the info, computes nothing

    plot_*                              info function     figure builder
    plot_backoff(policy, samples, seed) backoff_info      backoff_figure     waits, starts
    plot_time_to_connect(result)        ttc_info          ttc_figure         ECDF + histogram
    plot_timeline(records)              timeline_info     timeline_figure    live attempts
    plot_live_vs_simulated(live, sim)   overlay_info      overlay_figure     two ECDFs, verdict
    plot_quality(result_or_times)       quality_info      quality_figure     classes
    plot_storm(storm_result)            storm_info        storm_figure       arrivals/s
    plot_lockstep(report_or_policy)     lockstep_info     lockstep_figure    share per retry
    plot_calibration(calibration)       calibration_info  calibration_figure observed vs fit
    plot_pareto(sweep_result, x, y)     pareto_info       pareto_figure      trade-off
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

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from ..core.policy import RetryPolicy
from ..core.quality import DEFAULT_THRESHOLDS, QualityThresholds
from ..plotdata import (
    DEFAULT_SAMPLES,
    backoff_info,
    comparison_info,
    overlay_info,
    quality_info,
    storm_info,
    timeline_info,
    ttc_info,
)
from ._style import NO_ATTEMPT, NO_COMPARISON, NO_CONNECTED, NO_POLICY, NO_SESSION, TEMPLATE
from .activity import storm_figure, timeline_figure
from .calibrate import calibration_figure, plot_calibration
from .connect import comparison_figure, overlay_figure, quality_figure, ttc_figure
from .lockstep import lockstep_figure, plot_lockstep
from .schedule import backoff_figure
from .tune import pareto_figure, plot_pareto
from .update import figure_from_info, refresh, update_figure

__all__ = [
    "NO_ATTEMPT",
    "NO_COMPARISON",
    "NO_CONNECTED",
    "NO_POLICY",
    "NO_SESSION",
    "TEMPLATE",
    "backoff_figure",
    "calibration_figure",
    "comparison_figure",
    "figure_from_info",
    "lockstep_figure",
    "overlay_figure",
    "pareto_figure",
    "plot_backoff",
    "plot_calibration",
    "plot_compare",
    "plot_live_vs_simulated",
    "plot_lockstep",
    "plot_pareto",
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


def plot_backoff(
    policy: RetryPolicy,
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    title: str | None = None,
) -> go.Figure:
    """A policy's waits and worst-case attempt start times, attempt by attempt."""
    return backoff_figure(backoff_info(policy, samples=samples, seed=seed), title=title)


def plot_time_to_connect(
    result: Any, thresholds: QualityThresholds = DEFAULT_THRESHOLDS, *, title: str | None = None
) -> go.Figure:
    """Time-to-connect ECDF and histogram of a simulation (or a live run, or times)."""
    return ttc_figure(ttc_info(result, thresholds), title=title)


def plot_timeline(records: Any, *, max_sessions: int = 50, title: str | None = None) -> go.Figure:
    """Live attempts of ``AttemptRecord`` s (or a LiveRun), one row per session."""
    return timeline_figure(timeline_info(records, max_sessions=max_sessions), title=title)


def plot_live_vs_simulated(
    live: Any,
    simulated: Any,
    thresholds: QualityThresholds = DEFAULT_THRESHOLDS,
    *,
    bound_s: float | None = None,
    title: str | None = None,
) -> go.Figure:
    """A live run and a simulation of the same policy and profile, overlaid, with the
    verdict of :func:`chatconn.agreement.compare` as the subtitle and the harness band
    (``bound_s``: by default the live run's recorded distortion bound)."""
    return overlay_figure(overlay_info(live, simulated, thresholds, bound_s=bound_s), title=title)


def plot_quality(
    result_or_times: Any,
    thresholds: QualityThresholds = DEFAULT_THRESHOLDS,
    *,
    title: str | None = None,
) -> go.Figure:
    """Counts and shares per quality class of a result or of collected times (NaN = failed)."""
    return quality_figure(quality_info(result_or_times, thresholds), title=title)


def plot_storm(storm_result: Any, *, lockstep: Any = None, title: str | None = None) -> go.Figure:
    """A :class:`~chatconn.storm.StormResult`: arrivals per second against capacity; with
    ``lockstep`` (a :class:`~chatconn.lockstep.LockstepReport`), its verdict in the subtitle
    (the detail: :func:`plot_lockstep` beside it)."""
    return storm_figure(storm_info(storm_result, lockstep), title=title)


def plot_compare(
    results: Mapping[str, Any],
    thresholds: QualityThresholds = DEFAULT_THRESHOLDS,
    *,
    title: str | None = None,
) -> go.Figure:
    """Several named simulations (policies) side by side."""
    return comparison_figure(comparison_info(results, thresholds), title=title)
