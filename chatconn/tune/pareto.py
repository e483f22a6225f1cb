"""The Pareto front: the points no other point beats on every objective at once.

Use :func:`pareto_front` on any table of scores (one row per policy, one column per
objective) to drop the policies that are worse than some other policy on every objective
and strictly worse on at least one — what is left is the real menu of trade-offs.

Rules, so hand-made cases have one answer: point *a* dominates *b* when *a* is at least as
good on every objective and strictly better on one. Equal points (ties) do not dominate each
other: both stay on the front. A missing value (NaN) counts as the worst possible. A single
point is its own front; no points give an empty front. Pure: arrays in, arrays out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.errors import ConfigError
from .metrics import Better

__all__ = ["pareto_front", "pareto_mask"]


def _as_costs(values: Any, better: Sequence[Better | str] | None) -> np.ndarray:
    """``values`` as an (n, m) float array in which lower is better and NaN is +inf."""
    table = np.array(values, dtype=float)
    if table.ndim == 1 and table.size == 0:
        table = table.reshape(0, len(better) if better is not None else 1)
    if table.ndim != 2 or table.shape[1] == 0:
        raise ConfigError("values", values, "expected a table: one row per point, a column each")
    if better is None:
        better = [Better.LOWER] * table.shape[1]
    if len(better) != table.shape[1]:
        raise ConfigError(
            "better", list(better), f"expected one direction per column ({table.shape[1]})"
        )
    for column, direction in enumerate(better):
        try:
            direction = Better(direction)
        except ValueError:
            raise ConfigError("better", direction, "expected 'lower' or 'higher'") from None
        if direction is Better.HIGHER:
            table[:, column] = -table[:, column]
    table[np.isnan(table)] = np.inf
    return table


def pareto_mask(values: Any, better: Sequence[Better | str] | None = None) -> np.ndarray:
    """True for each row of ``values`` that no other row dominates.

    ``values``: shape (points, objectives). ``better``: per column, ``"lower"`` or
    ``"higher"`` is better (default: lower for every column).
    """
    costs = _as_costs(values, better)
    keep = np.ones(costs.shape[0], dtype=bool)
    for i, row in enumerate(costs):
        no_worse = np.all(costs <= row, axis=1)
        better_somewhere = np.any(costs < row, axis=1)
        keep[i] = not np.any(no_worse & better_somewhere)
    return keep


def pareto_front(values: Any, better: Sequence[Better | str] | None = None) -> np.ndarray:
    """Indices of the rows of ``values`` on the Pareto front, in row order."""
    return np.flatnonzero(pareto_mask(values, better))
