"""What the figures show, as plain arrays: the pure half of :mod:`chatconn.plots`.

Optuna's split (``visualization/_edf.py``): every chart has an ``*_info`` function here that
computes everything it shows and returns a frozen dataclass of numpy arrays, and a thin
builder in :mod:`chatconn.plots` that only turns that info into a plotly figure. Tests check
the info, never pixels; widgets recompute the info and update a figure in place. This module
imports numpy and chatconn only (no plotly).

::

    chart                     info function                       info
    backoff distribution      backoff_info(policy, samples, seed)  BackoffInfo
    time to connect           ttc_info(result, thresholds)         TtcInfo
    live attempts timeline    timeline_info(records, max_sessions) TimelineInfo
    live vs simulated         overlay_info(live, simulated)        OverlayInfo
    quality classes           quality_info(result_or_times)        QualityInfo
    reconnect storm           storm_info(storm_result)             StormInfo
    lockstep after a drop     lockstep_info(lockstep_report)       LockstepInfo
    calibrated profile        calibration_info(calibration)        CalibrationInfo
    policy trade-off (tune)   pareto_info(sweep_result, x, y)      ParetoInfo
    policies side by side     comparison_info({name: result})      ComparisonInfo

Where a function takes "a result" it accepts a :class:`~chatconn.simulate.SessionOutcomes`,
a :class:`~chatconn.live.run.LiveRun` (its ``.result``) or an array of times to connect in
seconds (NaN = the session failed); see :func:`connect_times`. Times of a live run are in
*profile time* (measured wall time divided by the run's ``time_scale``), as the simulator's.

Empty inputs (no session, nothing connected, no record) give valid infos with empty arrays
and ``None`` for undefined statistics: never an exception, never a NaN statistic.
"""

from __future__ import annotations

from ._common import (
    DEFAULT_SAMPLES,
    ECDF_MAX_POINTS,
    HISTOGRAM_BINS,
    QUALITY_COLOURS,
    STRATEGY_COLOURS,
    QualityBand,
    connect_times,
    ecdf,
    ks_distance,
    quality_bands,
)
from .calibrate import CalibrationInfo, calibration_info
from .connect import (
    ComparisonInfo,
    Curve,
    OverlayInfo,
    QualityInfo,
    TtcInfo,
    comparison_info,
    overlay_info,
    quality_info,
    ttc_info,
)
from .live import TimelineInfo, TimelineStrategy, timeline_info
from .lockstep import LockstepInfo, lockstep_info
from .schedule import BackoffInfo, backoff_info
from .storm import StormInfo, storm_info
from .tune import ParetoInfo, pareto_info

__all__ = [
    "DEFAULT_SAMPLES",
    "ECDF_MAX_POINTS",
    "HISTOGRAM_BINS",
    "QUALITY_COLOURS",
    "STRATEGY_COLOURS",
    "BackoffInfo",
    "CalibrationInfo",
    "ComparisonInfo",
    "Curve",
    "LockstepInfo",
    "OverlayInfo",
    "ParetoInfo",
    "QualityBand",
    "QualityInfo",
    "StormInfo",
    "TimelineInfo",
    "TimelineStrategy",
    "TtcInfo",
    "backoff_info",
    "calibration_info",
    "comparison_info",
    "connect_times",
    "ecdf",
    "ks_distance",
    "lockstep_info",
    "overlay_info",
    "pareto_info",
    "quality_bands",
    "quality_info",
    "storm_info",
    "timeline_info",
    "ttc_info",
]
