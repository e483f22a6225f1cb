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
    policies side by side     comparison_info({name: result})      ComparisonInfo

Where a function takes "a result" it accepts a :class:`~chatconn.simulate.SimulationResult`,
a :class:`~chatconn.live.run.LiveRun` (its ``.result``) or an array of times to connect in
seconds (NaN = the session failed); see :func:`connect_times`. Times of a live run are in
*profile time* (measured wall time divided by the run's ``time_scale``), as the simulator's.

Empty inputs (no session, nothing connected, no record) give valid infos with empty arrays
and ``None`` for undefined statistics: never an exception, never a NaN statistic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .core.errors import ConfigError
from .core.policy import RetryPolicy
from .core.quality import DEFAULT_THRESHOLDS, Quality, QualityThresholds, quality_counts
from .core.schedule import (
    attempt_timeout,
    draw_waits,
    next_start,
    nominal_timeouts,
    spans_backoff,
    within_deadline,
)
from .core.strategies import ErrorCategory, Strategy

__all__ = [
    "DEFAULT_SAMPLES",
    "ECDF_MAX_POINTS",
    "HISTOGRAM_BINS",
    "QUALITY_COLOURS",
    "STRATEGY_COLOURS",
    "BackoffInfo",
    "ComparisonInfo",
    "Curve",
    "OverlayInfo",
    "QualityBand",
    "QualityInfo",
    "StormInfo",
    "TimelineInfo",
    "TimelineStrategy",
    "TtcInfo",
    "backoff_info",
    "comparison_info",
    "connect_times",
    "ecdf",
    "ks_distance",
    "overlay_info",
    "quality_bands",
    "quality_info",
    "storm_info",
    "timeline_info",
    "ttc_info",
]

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


def ks_distance(a: Any, b: Any) -> float:
    """Two-sample Kolmogorov–Smirnov distance ``sup |F_a - F_b|`` (NaN dropped from both).

    0 for identical samples, 1 for disjoint ones; NaN when either sample is empty.
    """
    x = np.sort(_finite(a))
    y = np.sort(_finite(b))
    if not x.size or not y.size:
        return math.nan
    grid = np.concatenate((x, y))
    fa = np.searchsorted(x, grid, side="right") / x.size
    fb = np.searchsorted(y, grid, side="right") / y.size
    return float(np.max(np.abs(fa - fb)))


def connect_times(source: Any) -> np.ndarray:
    """Seconds to connected per session, NaN where it failed (a new float array).

    ``source``: a SimulationResult (``time_to_connect``), a LiveRun (its ``result``), or an
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
        """Counts by lower-case class name, like ``SimulationResult.summary()["quality"]``."""
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


def _log_histogram(values: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    if not values.size:
        return np.zeros(0, dtype=np.int64), np.empty(0)
    positive = values[values > 0]
    lo = float(positive.min()) if positive.size else 1e-3
    hi = float(values.max())
    if hi <= lo * 1.0001:
        lo, hi = lo / 1.1, lo * 1.1
    edges = np.geomspace(lo, hi, bins + 1)
    counts, _ = np.histogram(np.clip(values, lo, hi), bins=edges)
    return counts.astype(np.int64), edges


def ttc_info(result: Any, thresholds: QualityThresholds = DEFAULT_THRESHOLDS) -> TtcInfo:
    """ECDF, log-binned histogram, success rate, p50/p95 and quality bands of a result."""
    times = connect_times(result)
    ok = times[~np.isnan(times)]
    x, y = _thin(*ecdf(ok))
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
    """Live and simulated time to connect of the same policy and profile, overlaid.

    ``ks`` is the two-sample KS distance between the connected times (None when either side
    has no connected session); success rates are compared separately, in the curves.
    """

    live: Curve
    simulated: Curve
    ks: float | None
    bands: tuple[QualityBand, ...]
    x_range: tuple[float, float]
    thresholds: QualityThresholds


def overlay_info(
    live: Any, simulated: Any, thresholds: QualityThresholds = DEFAULT_THRESHOLDS
) -> OverlayInfo:
    """Both ECDFs, p50/p95, success rates and the KS distance of ``live`` vs ``simulated``."""
    a, b = connect_times(live), connect_times(simulated)
    ks = ks_distance(a, b)
    curves = (_curve("live", live), _curve("simulated", simulated))
    x_range = _x_range([c.x for c in curves], thresholds)
    return OverlayInfo(
        live=curves[0],
        simulated=curves[1],
        ks=None if math.isnan(ks) else ks,
        bands=quality_bands(thresholds, x_range),
        x_range=x_range,
        thresholds=thresholds,
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


# --------------------------------------------------------------------------- backoff
@dataclass(frozen=True, slots=True, eq=False)
class BackoffInfo:
    """A policy's schedule over ``samples`` drawn sessions, attempt by attempt (0-based ``k``).

    ``waits_after`` is exactly ``draw_waits(policy, default_rng(seed), samples)`` (column k:
    the wait after attempt k); ``waits_before`` the wait before attempt k (column 0 is 0).
    ``timeouts`` are the nominal timeouts with gRPC's spanning applied (``spans_backoff``),
    before the deadline; ``nominal_timeouts`` the policy's table. The worst case — every
    attempt failing at its timeout — gives ``starts`` (seconds since the first attempt) and
    ``runs`` (the timeout shortened to end by the deadline), NaN where the attempt would
    start at or after the deadline: it is then absent. ``reached[k]`` is the share of samples
    with attempt k present; ``worst_case_s`` the end of each sample's last attempt.

    ``*_stats`` are (A, 5) arrays of min, p25, median, p75 and max per attempt: waits over
    all samples, starts and runs over the samples that reach the attempt (NaN if none).
    """

    policy: RetryPolicy
    samples: int
    seed: int
    strategies: tuple[Strategy, ...]
    labels: tuple[str, ...]
    nominal_timeouts: np.ndarray
    timeouts: np.ndarray
    waits_after: np.ndarray
    waits_before: np.ndarray
    starts: np.ndarray
    runs: np.ndarray
    reached: np.ndarray
    worst_case_s: np.ndarray
    deadline: float | None
    wait_stats: np.ndarray
    start_stats: np.ndarray
    run_stats: np.ndarray

    @property
    def attempts(self) -> int:
        return len(self.strategies)

    @property
    def present(self) -> np.ndarray:
        """Attempts that start (before the deadline) in at least one sample, shape (A,)."""
        return self.reached > 0


def _column_stats(values: np.ndarray) -> np.ndarray:
    out = np.full((values.shape[1], len(_QUANTILES)), np.nan)
    for k in range(values.shape[1]):
        column = values[:, k]
        column = column[~np.isnan(column)]
        if column.size:
            out[k] = np.percentile(column, _QUANTILES)
    return out


def backoff_info(
    policy: RetryPolicy, *, samples: int = DEFAULT_SAMPLES, seed: int = 0
) -> BackoffInfo:
    """Draw ``samples`` schedules of ``policy`` and describe them attempt by attempt.

    Every number goes through :mod:`chatconn.core.schedule` (``draw_waits``,
    ``nominal_timeouts``, ``spans_backoff``, ``attempt_timeout``, ``next_start``,
    ``within_deadline``); the last attempt's end in each sample equals
    :meth:`Schedule.worst_case_s` of the same draw. Memory: about 60 bytes per sample and
    attempt (20,000 samples of a 12-attempt policy: 15 MB).
    """
    if isinstance(samples, bool) or not isinstance(samples, int | np.integer) or samples < 1:
        raise ConfigError("samples", samples, "expected a whole number >= 1")
    count = policy.max_attempts
    waits = draw_waits(policy, np.random.default_rng(seed), int(samples))
    nominal = nominal_timeouts(policy)
    timeouts = np.array(np.broadcast_to(spans_backoff(policy, nominal, waits), waits.shape))
    before = np.zeros_like(waits)
    before[:, 1:] = waits[:, :-1]

    starts = np.full(waits.shape, np.nan)
    runs = np.full(waits.shape, np.nan)
    start = np.zeros(samples)
    present = np.ones(samples, dtype=bool)
    end = np.zeros(samples)
    for k in range(count):
        present &= within_deadline(policy, start)
        run = attempt_timeout(policy, start, timeouts[:, k])
        starts[present, k] = start[present]
        runs[present, k] = run[present]
        end = np.where(present, start + run, end)
        start = next_start(policy, start, start + run, waits[:, k])
    strategies = policy.strategies
    return BackoffInfo(
        policy=policy,
        samples=int(samples),
        seed=seed,
        strategies=strategies,
        labels=tuple(f"attempt {k + 1} · {s.value}" for k, s in enumerate(strategies)),
        nominal_timeouts=nominal,
        timeouts=timeouts,
        waits_after=waits,
        waits_before=before,
        starts=starts,
        runs=runs,
        reached=np.mean(~np.isnan(starts), axis=0),
        worst_case_s=end,
        deadline=policy.deadline,
        wait_stats=_column_stats(before),
        start_stats=_column_stats(starts),
        run_stats=_column_stats(runs),
    )


# --------------------------------------------------------------------------- timeline
@dataclass(frozen=True, slots=True, eq=False)
class TimelineStrategy:
    """The bars of one strategy (every strategy has one, possibly empty, in enum order)."""

    strategy: Strategy
    colour: str
    session: tuple[str, ...]
    attempt: np.ndarray
    start_s: np.ndarray
    duration_s: np.ndarray
    connected: np.ndarray
    error: tuple[str, ...]
    hover: tuple[str, ...]


@dataclass(frozen=True, slots=True, eq=False)
class TimelineInfo:
    """Live attempts, one row per session, in *profile time*.

    ``sessions`` are the rows: the first ``max_sessions`` sessions in order of first
    appearance among the records. Bars are that sessions' attempts, in record order: the
    session, attempt index (0-based), start (``started_s`` / ``time_scale``, seconds since the
    session's connect began) and duration (``duration_s`` / ``time_scale``), strategy,
    outcome and error category (lower-case :class:`ErrorCategory` name, "none" on success).
    ``by_strategy`` splits the same bars per strategy for drawing. ``total_sessions`` and
    ``total_records`` count the input before truncation.
    """

    sessions: tuple[str, ...]
    session: tuple[str, ...]
    attempt: np.ndarray
    start_s: np.ndarray
    duration_s: np.ndarray
    strategy: tuple[Strategy, ...]
    connected: np.ndarray
    error: tuple[str, ...]
    by_strategy: tuple[TimelineStrategy, ...]
    total_sessions: int
    total_records: int

    @property
    def bars(self) -> int:
        return len(self.session)


def timeline_info(records: Any, *, max_sessions: int = 50) -> TimelineInfo:
    """One row per session from ``AttemptRecord`` objects (or a LiveRun's ``records``)."""
    records = tuple(getattr(records, "records", records))
    order: dict[str, int] = {}
    for r in records:
        order.setdefault(r.session, len(order))
    shown = [r for r in records if order[r.session] < max_sessions]
    session = tuple(r.session for r in shown)
    attempt = np.array([r.attempt for r in shown], dtype=np.int64)
    start = np.array([r.started_s / r.time_scale for r in shown], dtype=float)
    duration = np.array([r.duration_s / r.time_scale for r in shown], dtype=float)
    strategy = tuple(Strategy(r.strategy) for r in shown)
    connected = np.array([bool(r.connected) for r in shown], dtype=bool)
    error = tuple(ErrorCategory(r.error_category).name.lower() for r in shown)
    hover = tuple(
        f"{s} · attempt {a + 1} · {st.value}<br>start {t0:.2f} s, took {d:.2f} s"
        f" ({'connected' if ok else e})"
        for s, a, st, t0, d, ok, e in zip(
            session, attempt, strategy, start, duration, connected, error, strict=True
        )
    )
    groups = []
    for strat in Strategy:
        idx = [i for i, s in enumerate(strategy) if s is strat]
        groups.append(
            TimelineStrategy(
                strategy=strat,
                colour=STRATEGY_COLOURS[strat.value],
                session=tuple(session[i] for i in idx),
                attempt=attempt[idx],
                start_s=start[idx],
                duration_s=duration[idx],
                connected=connected[idx],
                error=tuple(error[i] for i in idx),
                hover=tuple(hover[i] for i in idx),
            )
        )
    return TimelineInfo(
        sessions=tuple(s for s in order if order[s] < max_sessions),
        session=session,
        attempt=attempt,
        start_s=start,
        duration_s=duration,
        strategy=strategy,
        connected=connected,
        error=error,
        by_strategy=tuple(groups),
        total_sessions=len(order),
        total_records=len(records),
    )


# --------------------------------------------------------------------------- storm
@dataclass(frozen=True, slots=True, eq=False)
class StormInfo:
    """Attempts per second since the drop, accepted and refused, against the capacity."""

    seconds: np.ndarray
    accepted: np.ndarray
    refused: np.ndarray
    clients: int
    capacity_per_s: int
    outage_s: float
    peak_per_s: int
    peak_over_capacity: float
    reconnected_99_s: float | None
    reconnected_all_s: float | None


def storm_info(storm_result: Any) -> StormInfo:
    """The series and headline numbers of a :class:`~chatconn.storm.StormResult`."""
    r = storm_result
    accepted = np.asarray(r.accepted_per_s, dtype=np.int64)
    return StormInfo(
        seconds=np.arange(accepted.size, dtype=float),
        accepted=accepted,
        refused=np.asarray(r.refused_per_s, dtype=np.int64),
        clients=int(r.clients),
        capacity_per_s=int(r.capacity_per_s),
        outage_s=float(r.outage_s),
        peak_per_s=int(r.peak_per_s),
        peak_over_capacity=r.peak_per_s / r.capacity_per_s,
        reconnected_99_s=r.reconnected_99_s,
        reconnected_all_s=r.reconnected_all_s,
    )
