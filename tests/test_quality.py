"""Quality classes of a time to connect (rules from chatconn.core.quality's docstring)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from chatconn.core.errors import ConfigError
from chatconn.core.quality import (
    DEFAULT_THRESHOLDS,
    Quality,
    QualityThresholds,
    classify,
    quality_counts,
)


def expected_quality(t: float | None, edges=(2.0, 8.0, 15.0)) -> Quality:
    """EXCELLENT < e0 <= GOOD < e1 <= POOR < e2 <= CRITICAL; failed: CRITICAL."""
    if t is None or math.isnan(t):
        return Quality.CRITICAL
    if t < edges[0]:
        return Quality.EXCELLENT
    if t < edges[1]:
        return Quality.GOOD
    if t < edges[2]:
        return Quality.POOR
    return Quality.CRITICAL


times = st.one_of(
    st.floats(min_value=0.0, max_value=1e6, allow_nan=False),
    st.sampled_from([0.0, 1.999, 2.0, 7.999999, 8.0, 14.99, 15.0, math.nan]),
)


def test_classes_are_ordered_best_to_worst():
    assert Quality.EXCELLENT < Quality.GOOD < Quality.POOR < Quality.CRITICAL
    assert [q.label for q in Quality] == ["excellent", "good", "poor", "critical"]


def test_default_thresholds_are_2_8_15_seconds():
    assert DEFAULT_THRESHOLDS.edges == (2.0, 8.0, 15.0)


@pytest.mark.parametrize(
    ("seconds", "quality"),
    [
        (0.0, Quality.EXCELLENT),
        (0.5, Quality.EXCELLENT),
        (1.999, Quality.EXCELLENT),
        (2.0, Quality.GOOD),
        (5.0, Quality.GOOD),
        (7.999, Quality.GOOD),
        (8.0, Quality.POOR),
        (14.999, Quality.POOR),
        (15.0, Quality.CRITICAL),
        (1e9, Quality.CRITICAL),
        (math.inf, Quality.CRITICAL),
    ],
)
def test_scalar_boundaries_belong_to_the_worse_class(seconds, quality):
    assert classify(seconds) is quality


@pytest.mark.parametrize("seconds", [2, 8, 15])
def test_integer_boundaries_belong_to_the_worse_class(seconds):
    assert classify(seconds) is expected_quality(float(seconds))
    assert classify(np.int64(seconds)) is expected_quality(float(seconds))


@pytest.mark.parametrize("failed", [None, math.nan, np.float64("nan"), np.float32("nan")])
def test_failed_sessions_are_critical(failed):
    assert classify(failed) is Quality.CRITICAL


def test_array_gives_integer_codes_with_nan_critical():
    values = np.array([0.0, 1.999, 2.0, 7.9, 8.0, 14.9, 15.0, np.nan, 100.0])
    codes = classify(values)
    assert isinstance(codes, np.ndarray)
    assert np.issubdtype(codes.dtype, np.integer)
    assert codes.shape == values.shape
    expected = [int(expected_quality(float(v))) for v in values]
    assert codes.tolist() == expected
    assert codes[7] == Quality.CRITICAL


def test_integer_array_is_classified_like_floats():
    assert classify(np.array([0, 2, 8, 15])).tolist() == [0, 1, 2, 3]


def test_empty_array_gives_empty_codes():
    codes = classify(np.array([]))
    assert codes.size == 0


@settings(max_examples=300, deadline=None)
@given(seconds=times)
def test_scalar_and_array_classifications_agree_with_the_rule(seconds):
    scalar = classify(seconds)
    array = classify(np.array([seconds, seconds]))
    assert scalar is expected_quality(seconds)
    assert array.tolist() == [int(scalar), int(scalar)]


@settings(max_examples=200, deadline=None)
@given(
    edges=st.lists(
        st.floats(0.001, 1000.0, allow_nan=False), min_size=3, max_size=3, unique=True
    ).map(sorted),
    values=st.lists(st.one_of(times, st.just(math.nan)), min_size=1, max_size=30),
)
def test_custom_thresholds_apply_to_scalars_and_arrays(edges, values):
    thresholds = QualityThresholds(*edges)
    codes = classify(np.array(values, dtype=float), thresholds)
    for value, code in zip(values, codes, strict=True):
        expected = expected_quality(value, tuple(edges))
        assert code == expected
        assert classify(value, thresholds) is expected


def test_custom_thresholds_change_the_classes():
    strict = QualityThresholds(excellent_below=0.5, good_below=1.0, poor_below=3.0)
    assert classify(0.6) is Quality.EXCELLENT
    assert classify(0.6, strict) is Quality.GOOD
    assert classify(1.0, strict) is Quality.POOR
    assert classify(3.0, strict) is Quality.CRITICAL
    assert classify(np.array([0.4, 0.6, 1.0, 3.0]), strict).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "edges",
    [
        (2.0, 2.0, 15.0),  # not increasing
        (8.0, 2.0, 15.0),
        (2.0, 8.0, 8.0),
        (2.0, 8.0, 5.0),
        (math.nan, 8.0, 15.0),
        (2.0, math.nan, 15.0),
        (2.0, 8.0, math.nan),
        (0.0, 8.0, 15.0),  # <= 0
        (-1.0, 8.0, 15.0),
        (2.0, 8.0, math.inf),
        ("2", 8.0, 15.0),
        (True, 8.0, 15.0),
    ],
)
def test_invalid_thresholds_raise(edges):
    with pytest.raises(ConfigError):
        QualityThresholds(*edges)


@pytest.mark.parametrize("seconds", [-0.001, -1, -math.inf])
def test_negative_scalar_time_raises(seconds):
    with pytest.raises(ConfigError) as info:
        classify(seconds)
    assert info.value.field == "seconds"


def test_negative_time_in_array_raises_even_next_to_nan():
    with pytest.raises(ConfigError):
        classify(np.array([1.0, np.nan, -0.5]))


@pytest.mark.parametrize("value", ["3", True, [1.0]])
def test_non_numeric_scalar_raises(value):
    with pytest.raises(ConfigError):
        classify(value)


@settings(max_examples=100, deadline=None)
@given(
    values=hnp.arrays(
        np.float64,
        st.integers(0, 200),
        elements=st.one_of(st.floats(0.0, 60.0), st.just(math.nan)),
    )
)
def test_quality_counts_sum_to_n_and_match_the_rule(values):
    counts = quality_counts(values)
    assert set(counts) == {"excellent", "good", "poor", "critical"}
    assert sum(counts.values()) == values.size
    for quality in Quality:
        expected = sum(1 for v in values if expected_quality(float(v)) is quality)
        assert counts[quality.label] == expected
        assert isinstance(counts[quality.label], int)


def test_quality_counts_with_custom_thresholds():
    values = np.array([0.1, 0.7, 1.5, 5.0, np.nan])
    counts = quality_counts(values, QualityThresholds(0.5, 1.0, 2.0))
    assert counts == {"excellent": 1, "good": 1, "poor": 1, "critical": 2}


def test_quality_counts_put_each_boundary_in_the_worse_class():
    # Exactly on an edge: 2.0 s is good, 8.0 s poor, 15.0 s critical (as classify says).
    values = np.array([np.nextafter(2.0, 0), 2.0, 8.0, 15.0])
    assert quality_counts(values) == {"excellent": 1, "good": 1, "poor": 1, "critical": 1}
    assert [classify(float(v)) for v in values] == list(Quality)
