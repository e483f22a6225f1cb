"""Timing shared by the benchmarks: interleaved best-of rounds (ratios, not absolutes)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any


def best_of(repeats: int, *fns: Callable[[], Any]) -> list[float]:
    """The best time of each of ``fns`` over ``repeats`` rounds, interleaved so that the
    machine's drift hits a measurement and its baseline alike."""
    best = [math.inf] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            began = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - began)
    return best
