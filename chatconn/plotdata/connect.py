"""Time to connect: quality classes, one result's ECDF and histogram, live vs simulated,
several policies side by side."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..agreement import Agreement, compare
from ..core.quality import DEFAULT_THRESHOLDS, Quality, QualityThresholds, quality_counts
from ._common import (
    HISTOGRAM_BINS,
    QUALITY_COLOURS,
    QualityBand,
    _percentile,
    _quality_labels,
    _thin,
    _x_range,
    connect_times,
    ecdf,
    ecdf_sorted,
    ks_distance,
    quality_bands,
)


# --------------------------------------------------------------------------- quality
@dataclass(frozen=True, slots=True, eq=False)
class QualityInfo:
    """Sessions per quality class (failed sessions count as CRITICAL), in class order.

    ``shares`` are of all sessions (zeros when there is none); ``labels`` name the ranges
    from the thresholds ("Excellent < 2 s", ...); ``colours`` are :data:`QUALITY_COLOURS`.
    """

    sessions: int
    failed: int
    qualities: tuple[Quality, ...]
    names: tuple[str, ...]
    labels: tuple[str, ...]
    colours: tuple[str, ...]
    counts: np.ndarray
    shares: np.ndarray
    thresholds: QualityThresholds

    def as_dict(self) -> dict[str, int]:
        """Counts by lower-case class name, like ``SessionOutcomes.summary()["quality"]``."""
        return {name: int(n) for name, n in zip(self.names, self.counts, strict=True)}


def quality_info(
    result_or_times: Any, thresholds: QualityThresholds = DEFAULT_THRESHOLDS
) -> QualityInfo:
    """Counts and shares per quality class of a result or of collected times (see module)."""
    times = connect_times(result_or_times)
    failed = int(np.count_nonzero(np.isnan(times)))
    by_name = quality_counts(times, thresholds)  # NaN is below no edge: counted as critical
    counts = np.array([by_name[q.label] for q in Quality], dtype=np.int64)
    shares = counts / times.size if times.size else np.zeros(len(Quality))
    return QualityInfo(
        sessions=int(times.size),
        failed=failed,
        qualities=tuple(Quality),
        names=tuple(q.label for q in Quality),
        labels=_quality_labels(thresholds),
        colours=tuple(QUALITY_COLOURS[q.label] for q in Quality),
        counts=counts,
        shares=shares,
        thresholds=thresholds,
    )


# --------------------------------------------------------------------------- curves
@dataclass(frozen=True, slots=True, eq=False)
class Curve:
    """The time-to-connect distribution of one named set of sessions.

    ``x``/``y`` are the ECDF over *connected* sessions (ends at 1; at most
    :data:`ECDF_MAX_POINTS` points), ``y_all`` the same steps as a share of *all* sessions
    (ends at the success rate). Percentiles are over connected sessions, None without any;
    ``mean_attempts`` is None for bare times.
    """

    name: str
    sessions: int
    connected: int
    success_rate: float | None
    x: np.ndarray
    y: np.ndarray
    y_all: np.ndarray
    p50: float | None
    p95: float | None
    mean_attempts: float | None


def _curve(name: str, source: Any) -> Curve:
    times = connect_times(source)
    ok = times[~np.isnan(times)]
    x, y = _thin(*ecdf(ok))
    result = getattr(source, "result", source)
    attempts = getattr(result, "attempts", None)
    return Curve(
        name=name,
        sessions=int(times.size),
        connected=int(ok.size),
        success_rate=ok.size / times.size if times.size else None,
        x=x,
        y=y,
        y_all=y * (ok.size / times.size) if times.size else y,
        p50=_percentile(ok, 50),
        p95=_percentile(ok, 95),
        mean_attempts=float(np.mean(attempts)) if attempts is not None and attempts.size else None,
    )


@dataclass(frozen=True, slots=True, eq=False)
class TtcInfo:
    """Time to connect of one result: ECDF and histogram over connected sessions.

    ``hist_edges`` are log-spaced seconds (``hist_counts`` has one fewer entry and sums to
    ``connected``; a zero time counts in the first bin). ``bands`` are the quality classes
    clipped to ``x_range``, a positive range covering the data and the thresholds (for a log
    axis).
    """

    sessions: int
    connected: int
    success_rate: float | None
    ecdf_x: np.ndarray
    ecdf_y: np.ndarray
    hist_counts: np.ndarray
    hist_edges: np.ndarray
    p50: float | None
    p95: float | None
    thresholds: QualityThresholds
    bands: tuple[QualityBand, ...]
    x_range: tuple[float, float]

    @property
    def hist_step_x(self) -> np.ndarray:
        """The histogram as a step line: the edges (draw with ``line_shape="hv"``)."""
        return self.hist_edges

    @property
    def hist_step_y(self) -> np.ndarray:
        """Counts with the last repeated, so each bin is a flat step up to its right edge."""
        return np.append(self.hist_counts, self.hist_counts[-1:]).astype(float)


def _log_histogram(ordered: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts of sorted ``ordered`` in ``bins`` log-spaced bins from its smallest positive
    value to its largest (values outside clipped into the end bins): ``np.histogram``'s
    counts, read off the sorted values by binary search (bins * log n, not n * log bins)."""
    if not ordered.size:
        return np.zeros(0, dtype=np.int64), np.empty(0)
    first_positive = int(np.searchsorted(ordered, 0.0, side="right"))
    lo = float(ordered[first_positive]) if first_positive < ordered.size else 1e-3
    hi = float(ordered[-1])
    if hi <= lo * 1.0001:
        lo, hi = lo / 1.1, lo * 1.1
    edges = np.geomspace(lo, hi, bins + 1)
    # np.histogram: [e_i, e_i+1) and the last bin closed; clipping puts what lies below
    # lo in the first bin and above hi in the last, so the outer edges count everything.
    cut = np.searchsorted(ordered, edges[1:-1], side="left")
    bounds = np.concatenate(([0], cut, [ordered.size]))
    return np.diff(bounds).astype(np.int64), edges


def ttc_info(result: Any, thresholds: QualityThresholds = DEFAULT_THRESHOLDS) -> TtcInfo:
    """ECDF, log-binned histogram, success rate, p50/p95 and quality bands of a result."""
    times = connect_times(result)
    ok = np.sort(times[~np.isnan(times)])  # sorted once: ECDF, histogram, percentiles
    x, y = _thin(*ecdf_sorted(ok))
    counts, edges = _log_histogram(ok, HISTOGRAM_BINS)
    x_range = _x_range([ok], thresholds)
    return TtcInfo(
        sessions=int(times.size),
        connected=int(ok.size),
        success_rate=ok.size / times.size if times.size else None,
        ecdf_x=x,
        ecdf_y=y,
        hist_counts=counts,
        hist_edges=edges,
        p50=_percentile(ok, 50),
        p95=_percentile(ok, 95),
        thresholds=thresholds,
        bands=quality_bands(thresholds, x_range),
        x_range=x_range,
    )


@dataclass(frozen=True, slots=True, eq=False)
class OverlayInfo:
    """Live and simulated time to connect of the same policy and profile, overlaid, with
    the verdict of their comparison.

    ``agreement`` is :func:`chatconn.agreement.compare` of the two, allowing ``bound_s``
    profile seconds of harness cost (None when either side has no session yet): its
    ``headline`` is what the figure says first, its ``details`` the medians, 90th
    percentiles and success rates side by side. ``band_x``/``band_y`` outline (as one
    closed polygon) the simulated ECDF and the same ECDF shifted right by ``bound_s``:
    where live can land if the model holds and the harness adds what it can (empty when
    ``bound_s`` is 0 or nothing simulated connected). ``ks`` is the two-sample KS distance
    between the connected times (None when either side has no connected session): a
    detail, not the verdict.
    """

    live: Curve
    simulated: Curve
    ks: float | None
    bands: tuple[QualityBand, ...]
    x_range: tuple[float, float]
    thresholds: QualityThresholds
    agreement: Agreement | None = None
    bound_s: float = 0.0
    band_x: np.ndarray = field(default_factory=lambda: np.empty(0))
    band_y: np.ndarray = field(default_factory=lambda: np.empty(0))


def harness_band(curve: Curve, bound_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The closed outline between ``curve``'s ECDF steps and the same steps ``bound_s``
    seconds later (drawn as a shaded band): the steps forward, the shifted steps back."""
    if bound_s <= 0 or not curve.x.size:
        return np.empty(0), np.empty(0)
    # An "hv" step line through (x_i, y_i): (x_0, y_0), (x_1, y_0), (x_1, y_1), ...
    x = np.repeat(curve.x, 2)[1:]
    y = np.repeat(curve.y, 2)[:-1]
    return np.concatenate([x, x[::-1] + bound_s]), np.concatenate([y, y[::-1]])


def overlay_info(
    live: Any,
    simulated: Any,
    thresholds: QualityThresholds = DEFAULT_THRESHOLDS,
    *,
    bound_s: float | None = None,
) -> OverlayInfo:
    """Both ECDFs, p50/p95, success rates, the verdict of ``live`` against ``simulated``
    and the harness band. ``bound_s``: profile seconds the harness can add to a live
    connect; by default the live run's own (:attr:`chatconn.runs.Run.bound_s`,
    :attr:`chatconn.live.LiveRun.bound_s`), 0 for bare times or a run without a harness
    measurement."""
    if bound_s is None:
        bound_s = float(getattr(live, "bound_s", 0.0) or 0.0)
    a, b = connect_times(live), connect_times(simulated)
    ks = ks_distance(a, b)
    curves = (_curve("live", live), _curve("simulated", simulated))
    agreement = compare(a, b, bound_s=bound_s) if a.size and b.size else None
    band_x, band_y = harness_band(curves[1], bound_s)
    x_range = _x_range([c.x for c in curves] + [band_x], thresholds)
    return OverlayInfo(
        live=curves[0],
        simulated=curves[1],
        ks=None if math.isnan(ks) else ks,
        bands=quality_bands(thresholds, x_range),
        x_range=x_range,
        thresholds=thresholds,
        agreement=agreement,
        bound_s=float(bound_s),
        band_x=band_x,
        band_y=band_y,
    )


@dataclass(frozen=True, slots=True, eq=False)
class ComparisonInfo:
    """Several named policies side by side, in the mapping's order."""

    names: tuple[str, ...]
    curves: tuple[Curve, ...]
    quality: tuple[QualityInfo, ...]
    bands: tuple[QualityBand, ...]
    x_range: tuple[float, float]
    thresholds: QualityThresholds


def comparison_info(
    results: Mapping[str, Any], thresholds: QualityThresholds = DEFAULT_THRESHOLDS
) -> ComparisonInfo:
    """Per named result: ECDF, success rate, p50/p95, mean attempts and quality shares."""
    names = tuple(str(name) for name in results)
    curves = tuple(_curve(str(name), r) for name, r in results.items())
    quality = tuple(quality_info(r, thresholds) for r in results.values())
    x_range = _x_range([c.x for c in curves], thresholds)
    return ComparisonInfo(
        names=names,
        curves=curves,
        quality=quality,
        bands=quality_bands(thresholds, x_range),
        x_range=x_range,
        thresholds=thresholds,
    )
