"""Quality classes of a time to connect.

::

    EXCELLENT   t < 2 s
    GOOD        2 s <= t < 8 s
    POOR        8 s <= t < 15 s
    CRITICAL    t >= 15 s, or failed (NaN)

A boundary value belongs to the worse class (exactly 2.0 s is GOOD). Thresholds are a
:class:`QualityThresholds` value; :func:`classify` takes one timing or a whole array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import overload

import numpy as np

from .errors import ConfigError

__all__ = [
    "DEFAULT_THRESHOLDS",
    "Quality",
    "QualityThresholds",
    "classify",
    "quality_counts",
]


class Quality(IntEnum):
    """Ordered from best to worst; integer codes are what :func:`classify` returns for arrays."""

    EXCELLENT = 0
    GOOD = 1
    POOR = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class QualityThresholds:
    """Upper bounds (exclusive, seconds) of EXCELLENT, GOOD and POOR."""

    excellent_below: float = 2.0
    good_below: float = 8.0
    poor_below: float = 15.0

    def __post_init__(self) -> None:
        previous = 0.0
        for name in ("excellent_below", "good_below", "poor_below"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(name, value, "expected a number of seconds")
            if not math.isfinite(value) or value <= previous:
                raise ConfigError(name, value, f"expected a finite number > {previous}")
            object.__setattr__(self, name, float(value))
            previous = float(value)

    @property
    def edges(self) -> tuple[float, float, float]:
        return (self.excellent_below, self.good_below, self.poor_below)


DEFAULT_THRESHOLDS = QualityThresholds()


def _codes(values: np.ndarray, thresholds: QualityThresholds) -> np.ndarray:
    """The rule, written once: a time's class is the number of edges it has reached
    (``>=``: a boundary value belongs to the worse class); NaN (failed) is CRITICAL."""
    codes = np.zeros(values.shape, dtype=np.int8)
    for edge in thresholds.edges:  # int8 + bool: no int64 temporaries on big arrays
        codes += values >= edge
    codes[np.isnan(values)] = Quality.CRITICAL
    return codes


def _check_times(values: np.ndarray, failed: str) -> None:
    if values.size and np.nanmin(values, initial=0.0) < 0:
        raise ConfigError("seconds", float(np.nanmin(values)), f"times must be >= 0 ({failed})")


@overload
def classify(seconds: np.ndarray, thresholds: QualityThresholds = ...) -> np.ndarray: ...


@overload
def classify(seconds: float | None, thresholds: QualityThresholds = ...) -> Quality: ...


def classify(
    seconds: float | np.ndarray | None, thresholds: QualityThresholds = DEFAULT_THRESHOLDS
) -> Quality | np.ndarray:
    """The quality of one time to connect (None or NaN = failed), or int8 codes for an array.

    Negative times are an error: a time to connect cannot be negative.
    """
    if isinstance(seconds, np.ndarray):
        values = seconds.astype(float, copy=False)
        _check_times(values, "NaN = failed")
        return _codes(values, thresholds)
    if seconds is None:
        return Quality.CRITICAL
    if isinstance(seconds, bool) or not isinstance(seconds, int | float | np.floating | np.integer):
        raise ConfigError("seconds", seconds, "expected a number of seconds or None")
    value = float(seconds)  # one value: _codes' rule without building arrays (a live
    if math.isnan(value):  # connect classifies its time: ~0.1 ms through numpy)
        return Quality.CRITICAL
    if value < 0:
        raise ConfigError("seconds", value, "times must be >= 0 (None or NaN = failed)")
    reached = 0
    for edge in thresholds.edges:
        if value >= edge:
            reached += 1
    return _BY_CODE[reached]


#: Quality by integer code (classify's one-value path: no enum lookup per connect).
_BY_CODE = tuple(Quality)


def quality_counts(
    seconds: np.ndarray, thresholds: QualityThresholds = DEFAULT_THRESHOLDS
) -> dict[str, int]:
    """Sessions per class, by lower-case name (NaN = failed counts as critical)."""
    values = np.asarray(seconds, dtype=float)
    _check_times(values, "NaN = failed")
    codes = _codes(values, thresholds)  # int8: no int64 copy, as bincount would make
    return {q.label: int(np.count_nonzero(codes == q)) for q in Quality}
