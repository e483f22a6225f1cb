"""masked_percentiles: np.percentile(values[mask]) exactly, without copying every value."""

from __future__ import annotations

import numpy as np
import pytest

from chatconn.orderstats import CHUNK, masked_percentiles

PERCENTILES = (0, 1, 33.3, 50, 90, 95, 99, 99.9, 100)


@pytest.mark.parametrize(
    "make",
    [
        lambda rng, n: rng.lognormal(0.0, 1.0, n),
        lambda rng, n: np.round(rng.exponential(1.0, n), 2),  # many ties
        lambda rng, n: np.sort(rng.random(n)),  # ordered: the strided sample is not random
        lambda rng, n: rng.random(n),
    ],
)
@pytest.mark.parametrize("n", [5_000, CHUNK + 7, 2 * CHUNK + 1])
def test_same_numbers_as_numpy(make, n):
    rng = np.random.default_rng(n)
    values = make(rng, n)
    mask = rng.random(n) < 0.97
    expected = np.percentile(values[mask], PERCENTILES)
    got = masked_percentiles(values, mask, PERCENTILES)
    assert got == [float(x) for x in expected]  # bit for bit


def test_a_sample_that_misses_every_rank_falls_back_to_the_exact_way():
    n = 2 * CHUNK + 3
    step = max(1, n // (1 << 17))
    values = np.arange(n, dtype=float) + 1e6
    values[::step] = 0.0  # all the strided sample sees
    mask = np.ones(n, dtype=bool)
    expected = np.percentile(values, PERCENTILES)
    assert masked_percentiles(values, mask, PERCENTILES) == [float(x) for x in expected]


def test_nothing_selected_is_an_error():
    with pytest.raises(ValueError, match="no value"):
        masked_percentiles(np.ones(3), np.zeros(3, dtype=bool), (50,))
