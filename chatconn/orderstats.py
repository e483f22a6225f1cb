"""Exact percentiles of the connected sessions' times without copying them all.

:meth:`SessionOutcomes.summary` needs ``np.percentile(ended_at[connected], ...)``: the
masked copy alone is 8 bytes per session (80 MB at 10^7), on top of the result's own
arrays. :func:`masked_percentiles` returns the same numbers (numpy's default "linear"
method, bit for bit) in bounded memory: a strided sample brackets each needed order
statistic, one chunked pass counts the values below each bracket and keeps the few inside
it, and a partition of those gives the exact value. When a bracket misses its rank (it
cannot for a random sample of i.i.d. sessions but can for adversarial data), that
percentile falls back to the full copy: exact either way.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

__all__ = ["CHUNK", "masked_chunks", "masked_percentiles"]

#: Sessions per chunk of a pass (8 MB of float64 at most held at once).
CHUNK = 1 << 20
_SAMPLE = 1 << 17  # sessions in the strided sample
_MARGIN_SD = 6.0  # bracket half-width in standard deviations of a sample rank


def masked_chunks(values: np.ndarray, mask: np.ndarray) -> Iterator[np.ndarray]:
    """``values[mask]``, chunk by chunk (each a new array of at most CHUNK values)."""
    for lo in range(0, values.size, CHUNK):
        yield values[lo : lo + CHUNK][mask[lo : lo + CHUNK]]


def _linear(sorted_at: dict[int, float], n: int, p: float) -> float:
    """numpy's "linear" percentile from the order statistics it needs (same arithmetic:
    ``np.lib._function_base_impl._quantile`` and ``_lerp``)."""
    virtual = (n - 1) * np.true_divide(p, 100)
    previous = math.floor(virtual)
    gamma = np.float64(virtual - previous)
    a = np.float64(sorted_at[previous])
    b = np.float64(sorted_at[min(previous + 1, n - 1)])
    diff = b - a
    if gamma >= 0.5:
        return float(b - diff * (1 - gamma))
    return float(a + diff * gamma)


def _needed(n: int, percentiles: Sequence[float]) -> list[int]:
    ranks: set[int] = set()
    for p in percentiles:
        previous = math.floor((n - 1) * np.true_divide(p, 100))
        ranks.update((previous, min(previous + 1, n - 1)))
    return sorted(ranks)


def masked_percentiles(
    values: np.ndarray, mask: np.ndarray, percentiles: Sequence[float], count: int | None = None
) -> list[float]:
    """``np.percentile(values[mask], percentiles)`` (exactly), holding at most a chunk and
    the brackets' values. ``count``: ``mask``'s number of true values, if known. At least
    one value must be selected."""
    n = int(np.count_nonzero(mask)) if count is None else count
    if n == 0:
        raise ValueError("no value selected")
    if n <= CHUNK:  # small: the plain way
        return [float(v) for v in np.percentile(values[mask], percentiles, overwrite_input=True)]
    ranks = _needed(n, percentiles)
    step = max(1, values.size // _SAMPLE)
    sample = np.sort(values[::step][mask[::step]])
    m = sample.size
    margin = _MARGIN_SD * math.sqrt(m) / 2 + 2  # sd of a sample rank is at most sqrt(m)/2
    # One closed bracket [lo, hi] of values per needed rank, merged where they overlap.
    brackets: list[list[float]] = []
    for k in ranks:
        j = k / (n - 1) * (m - 1)
        lo_i, hi_i = math.floor(j - margin), math.ceil(j + margin)
        lo = -math.inf if lo_i < 0 else float(sample[lo_i])
        hi = math.inf if hi_i >= m else float(sample[hi_i])
        if brackets and lo <= brackets[-1][1]:
            brackets[-1][1] = max(brackets[-1][1], hi)
        else:
            brackets.append([lo, hi])
    # Half-open bounds [lo, next float after hi): searchsorted puts a value of bracket i
    # at 2i + 1; counts of the even positions below it are the values under it.
    bounds = np.array(
        [x for lo, hi in brackets for x in (lo, np.nextafter(hi, math.inf))], dtype=float
    )
    below = np.zeros(bounds.size + 1, dtype=np.int64)
    inside: list[list[np.ndarray]] = [[] for _ in brackets]
    for chunk in masked_chunks(values, mask):
        where = np.searchsorted(bounds, chunk, side="right")
        below += np.bincount(where, minlength=bounds.size + 1)
        odd = (where & 1).astype(bool)
        if odd.any():
            kept, at = chunk[odd], where[odd]
            for i in range(len(brackets)):
                part = kept[at == 2 * i + 1]
                if part.size:
                    inside[i].append(part)
    starts = np.concatenate(([0], np.cumsum(below)))  # values before position j
    found: dict[int, float] = {}
    missing = []
    for k in ranks:
        for i in range(len(brackets)):
            first, count = int(starts[2 * i + 1]), int(below[2 * i + 1])
            if first <= k < first + count:
                values_in = np.concatenate(inside[i])
                found[k] = float(np.partition(values_in, k - first)[k - first])
                break
        else:
            missing.append(k)
    if missing:  # a bracket missed its rank: the exact way, for these ranks
        everything = values[mask]
        everything.partition(missing)
        found.update({k: float(everything[k]) for k in missing})
    return [_linear(found, n, p) for p in percentiles]
