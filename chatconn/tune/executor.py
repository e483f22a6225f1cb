"""Which executor scores a sweep by default: what is faster on this machine.

Use :func:`default_workers` to decide how many processes ``chatconn tune`` (and
:func:`pooled`) give a sweep when nobody said: a :class:`~concurrent.futures.ProcessPoolExecutor`
of one process per core when the machine has more than one core and the sweep is large
enough to pay for starting the pool, else this process.

Measured here (``benchmarks/bench_tune.py``, 2 cores, 24 policies at 20,000 sessions and a
10,000-client storm each): serial 0.31–0.35 s; a process pool of 2, 1.65–1.9× faster; a
dask ``LocalCluster`` of 2 workers 0.97–1.22× — its
scheduler, nannies and client share the same two cores with the scoring. A local pool is
the default; dask.distributed is for a cluster of machines (pass
``distributed.Client("tcp://scheduler:8786").get_executor()`` to
:func:`~chatconn.tune.sweep.sweep`; see README "On a dask.distributed cluster").

Starting the pool is not free: the first pooled sweep of ``bench_tune.py`` took ~0.2 s
more than the next ones. Scoring a policy at the default settings (20,000 sessions, a
10,000-client storm) takes ~15 ms, so a pool of 2 pays for itself from ~30 policies; the
rule counts the work as policies x (sessions + storm clients) and pools from
:data:`MIN_POOLED_WORK` (10^6, ~33 policies at the defaults). These thresholds are
chatconn's own, from that measurement.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor

__all__ = ["MIN_POOLED_WORK", "available_cores", "default_workers", "pooled"]

#: Policies x (sessions + storm clients) from which a default sweep starts a process pool.
MIN_POOLED_WORK = 1_000_000


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on every platform
        return max(1, os.cpu_count() or 1)


def default_workers(policies: int, work_per_policy: int, cores: int | None = None) -> int:
    """Processes a sweep gets by default: one per core (at most one per policy) when the
    machine has 2+ cores and ``policies * work_per_policy`` (sessions + storm clients per
    policy) reaches :data:`MIN_POOLED_WORK`; else 0 (score in this process)."""
    cores = available_cores() if cores is None else cores
    if cores < 2 or policies < 2 or policies * work_per_policy < MIN_POOLED_WORK:
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
