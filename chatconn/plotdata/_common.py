"""What every info shares: colours and sizes, the ECDF and KS primitives, quality bands."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..agreement import ks_sorted
from ..core.quality import DEFAULT_THRESHOLDS, Quality, QualityThresholds
from ..core.strategies import Strategy

#: Schedules drawn by :func:`backoff_info` by default.
DEFAULT_SAMPLES = 20_000
#: Curves in infos keep at most this many points of the exact ECDF (a subset of its steps,
#: always including the first and the last): a browser draws 100k-session curves smoothly and
#: the drawn curve is within 1/ECDF_MAX_POINTS of the exact one.
ECDF_MAX_POINTS = 1_000
#: Log-spaced bins of the time-to-connect histogram.
HISTOGRAM_BINS = 50

#: Quality class colours (green, teal, amber, red), by lower-case class name.
QUALITY_COLOURS: dict[str, str] = {
    "excellent": "#2e9e5b",
    "good": "#1b9aaa",
    "poor": "#f2a81d",
    "critical": "#d64545",
}
#: One colour per strategy, by strategy value (blue shades for WebSocket rungs).
STRATEGY_COLOURS: dict[str, str] = {
    Strategy.DIRECT_WEBSOCKET.value: "#3566c8",
    Strategy.EXTENDED_TIMEOUT.value: "#7a52c7",
    Strategy.MULTIPLE_PORTS.value: "#46a5dc",
    Strategy.LONG_POLLING.value: "#e07b39",
    Strategy.SSE_FALLBACK.value: "#8d6e3f",
}

_QUANTILES = (0.0, 25.0, 50.0, 75.0, 100.0)


# --------------------------------------------------------------------------- primitives
def ecdf(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """The exact empirical CDF of ``values`` (NaN dropped): distinct sorted values ``x`` and
    ``y[i]`` = share of values <= ``x[i]``. Non-decreasing, ends at 1; empty in, empty out."""
    data = np.asarray(values, dtype=float).ravel()
    data = data[~np.isnan(data)]
    if not data.size:
        return np.empty(0), np.empty(0)
    x, counts = np.unique(data, return_counts=True)
    return x, np.cumsum(counts) / data.size


def ecdf_sorted(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`ecdf` of values already sorted, without NaN (no sort again): the same arrays."""
    if not ordered.size:
        return np.empty(0), np.empty(0)
    ends = np.flatnonzero(ordered[1:] != ordered[:-1])  # last index of each distinct value
    ends = np.append(ends, ordered.size - 1)
    return ordered[ends], (ends + 1) / ordered.size


def ks_distance(a: Any, b: Any) -> float:
    """Two-sample Kolmogorov–Smirnov distance ``sup |F_a - F_b|`` (NaN dropped from both).

    0 for identical samples, 1 for disjoint ones; NaN when either sample is empty.
    """
    x = np.sort(_finite(a))
    y = np.sort(_finite(b))
    if not x.size or not y.size:
        return math.nan
    return ks_sorted(x, y)


def connect_times(source: Any) -> np.ndarray:
    """Seconds to connected per session, NaN where it failed (a new float array).

    ``source``: a SessionOutcomes (``time_to_connect``), a LiveRun (its ``result``), or an
    array-like of seconds with NaN for failures.
    """
    result = getattr(source, "result", source)
    if hasattr(result, "time_to_connect"):
        return np.asarray(result.time_to_connect, dtype=float)
    return np.array(source, dtype=float).ravel()


def _finite(values: Any) -> np.ndarray:
    data = np.asarray(values, dtype=float).ravel()
    return data[np.isfinite(data)]


def _thin(x: np.ndarray, y: np.ndarray, limit: int = ECDF_MAX_POINTS) -> tuple[np.ndarray, ...]:
    if x.size <= limit:
        return x, y
    keep = np.unique(np.linspace(0, x.size - 1, limit).round().astype(np.int64))
    return x[keep], y[keep]


def _percentile(values: np.ndarray, q: float) -> float | None:
    return float(np.percentile(values, q)) if values.size else None


def _x_range(arrays: Iterable[np.ndarray], thresholds: QualityThresholds) -> tuple[float, float]:
    """A positive time range for a log axis: all data and the quality edges, with margins."""
    data = [a[a > 0] for a in arrays]
    data = [a for a in data if a.size]
    lo = min((float(a.min()) for a in data), default=thresholds.excellent_below)
    hi = max((float(a.max()) for a in data), default=thresholds.poor_below)
    lo = min(lo, thresholds.excellent_below / 10.0)
    hi = max(hi, thresholds.poor_below * 2.0)  # room for the CRITICAL band and its label
    return lo / 1.5, hi * 1.5


# --------------------------------------------------------------------------- quality
@dataclass(frozen=True, slots=True)
class QualityBand:
    """One quality class as a band of times ``[lo, hi)`` in seconds, for shading an axis."""

    quality: Quality
    label: str
    colour: str
    lo: float
    hi: float


def _quality_labels(thresholds: QualityThresholds) -> tuple[str, ...]:
    a, b, c = (f"{edge:g}" for edge in thresholds.edges)
    return (
        f"Excellent < {a} s",
        f"Good {a}–{b} s",
        f"Poor {b}–{c} s",
        f"Critical ≥ {c} s or failed",
    )


def quality_bands(
    thresholds: QualityThresholds = DEFAULT_THRESHOLDS,
    x_range: tuple[float, float] = (0.0, math.inf),
) -> tuple[QualityBand, ...]:
    """The four classes as bands, the outer ones clipped to ``x_range`` (EXCELLENT starts at
    its low end, CRITICAL ends at its high end)."""
    edges = (x_range[0], *thresholds.edges, x_range[1])
    labels = _quality_labels(thresholds)
    return tuple(
        QualityBand(q, labels[q], QUALITY_COLOURS[q.label], edges[q], edges[q + 1]) for q in Quality
    )
