"""Random streams by block: sparse rare-event draws and draws into reused buffers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chatconn.core.model import SparseDraws
from chatconn.streams import BLOCK_SESSIONS, BlockStreams, Scratch


@pytest.mark.parametrize("p", [0.001, 0.01, 0.05])
def test_sparse_hits_are_bernoulli_p_with_uniform_draws_below_p(p):
    n = 40 * BLOCK_SESSIONS
    draws = BlockStreams(3, 0, 0, n).below(p)
    assert isinstance(draws, SparseDraws) and draws.below == p
    hits = draws.index
    assert np.all(np.diff(hits) > 0) and hits.min() >= 0 and hits.max() < n  # sorted, unique
    sd = math.sqrt(n * p * (1 - p))
    assert abs(hits.size - n * p) <= 5 * sd
    assert draws.u.size == hits.size and draws.u.min() >= 0 and draws.u.max() < p
    # uniform on [0, p): mean p/2 within 5 standard errors (sd of U[0,p) is p/sqrt(12))
    assert abs(draws.u.mean() - p / 2) <= 5 * p / math.sqrt(12 * hits.size)
    # hits are spread evenly: each half of the sessions gets about half of them
    half = np.count_nonzero(hits < n // 2)
    assert abs(half - hits.size / 2) <= 5 * math.sqrt(hits.size) / 2


def test_sparse_draws_do_not_depend_on_the_chunking():
    """Two blocks drawn as one chunk, or each as its own chunk: the same hits."""
    index = np.arange(0, 2 * BLOCK_SESSIONS, 3)  # the sessions still trying
    together = BlockStreams(5, 1, 0, 2 * BLOCK_SESSIONS).below(0.02, index)
    first = BlockStreams(5, 1, 0, BLOCK_SESSIONS)
    second = BlockStreams(5, 1, BLOCK_SESSIONS, BLOCK_SESSIONS)
    in_first = index[index < BLOCK_SESSIONS]
    a = first.below(0.02, in_first)
    b = second.below(0.02, index[index >= BLOCK_SESSIONS] - BLOCK_SESSIONS)
    np.testing.assert_array_equal(
        together.index, np.concatenate([a.index, b.index + in_first.size])
    )
    np.testing.assert_array_equal(together.u, np.concatenate([a.u, b.u]))


def test_sparse_edges():
    streams = BlockStreams(1, 0, 0, 1000)
    assert streams.below(0.0).index.size == 0
    everything = streams.below(1.0)
    np.testing.assert_array_equal(everything.index, np.arange(1000))
    assert streams.below(0.01, np.array([], dtype=np.intp)).index.size == 0


def test_draws_into_scratch_match_fresh_arrays():
    n = 3 * BLOCK_SESSIONS + 5
    fresh = BlockStreams(2, 0, 0, n)
    reused = BlockStreams(2, 0, 0, n, Scratch(n))
    np.testing.assert_array_equal(fresh.lognormal(-3.0, 0.5), reused.lognormal(-3.0, 0.5))
    index = np.arange(0, n, 7)
    np.testing.assert_array_equal(fresh.random(index), reused.random(index))
    np.testing.assert_array_equal(fresh.random(), reused.random())
    assert fresh.draws == reused.draws == index.size + n
