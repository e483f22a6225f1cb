"""Which executor scores a sweep by default: what is faster on this machine.

Use :func:`default_workers` to decide how many processes ``chatconn tune`` (and
:func:`pooled`) give a sweep when nobody said: a :class:`~concurrent.futures.ProcessPoolExecutor`
of one process per core when the machine has more than one core and the grid is large
enough to pay for starting the pool, else this process.

Measured here (``benchmarks/bench_tune.py``, 2 cores, 24 policies at 20,000 sessions and a
10,000-client storm each): serial 0.31 s; a process pool of 2, 1.65–1.88× faster (its first
sweep, pool start included, 1.6×); a dask ``LocalCluster`` of 2 workers 0.97–1.22× — its
scheduler, nannies and client share the same two cores with the scoring. A local pool is
the default; dask.distributed is for a cluster of machines (pass
``distributed.Client("tcp://scheduler:8786").get_executor()`` to
:func:`~chatconn.tune.sweep.sweep`; see README "On a dask.distributed cluster").

Starting a pool of 2 costs ~0.03–0.1 s (fork, first import of numpy's workers' state), about
what scoring 4–8 policies costs at the default settings: below :data:`MIN_POOLED_POLICIES`
policies the sweep stays in this process. These thresholds are chatconn's own.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor

__all__ = ["MIN_POOLED_POLICIES", "available_cores", "default_workers", "pooled"]

#: Fewest policies for which a default sweep starts a process pool.
MIN_POOLED_POLICIES = 8


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on every platform
        return max(1, os.cpu_count() or 1)


def default_workers(policies: int, cores: int | None = None) -> int:
    """Processes a sweep of ``policies`` gets by default: one per core (at most one per
    policy) from :data:`MIN_POOLED_POLICIES` policies on a machine with 2+ cores, else 0
    (score in this process)."""
    cores = available_cores() if cores is None else cores
    if cores < 2 or policies < MIN_POOLED_POLICIES:
        return 0
    return min(cores, policies)


@contextlib.contextmanager
def pooled(workers: int) -> Iterator[Executor | None]:
    """A process pool of ``workers`` (shut down on exit), or None for ``workers`` 0/1."""
    if workers <= 1:
        yield None
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield pool
