"""What the observed-client figures show, as plain arrays (pure; no plotly).

::

    observed_waits_info(source, policy, name)   waits per retry vs the policy's band
    observed_timeline_info(source, max_clients)  each client's attempts on one time axis

``source`` is an observed :class:`~chatconn.runs.Run` (its ``observations``), a sequence of
:class:`~chatconn.observe.ObservedConnection`, or timelines from
:func:`chatconn.observe.timelines`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.policy import RetryPolicy, WaitAnchor
from ..observe import Attempt, compare_waits, observed_waits, simulated_waits, timelines

__all__ = [
    "ObservedTimelineInfo",
    "ObservedWaitsInfo",
    "observed_timeline_info",
    "observed_waits_info",
]


def _lines(source: Any) -> Mapping[str, Sequence[Attempt]]:
    if isinstance(source, Mapping):
        return source
    return timelines(getattr(source, "observations", source))


@dataclass(frozen=True, slots=True)
class ObservedWaitsInfo:
    """Per observed wait: its retry number and seconds; per retry 1..R: the policy's
    p5/p50/p95 (``band_*``); the comparison's verdict in words."""

    name: str
    retry: np.ndarray
    wait_s: np.ndarray
    client: tuple[str, ...]
    band_retry: np.ndarray
    band_p5: np.ndarray
    band_p50: np.ndarray
    band_p95: np.ndarray
    verdict: str


def observed_waits_info(
    source: Any,
    policy: RetryPolicy,
    name: str = "the policy",
    *,
    samples: int = 20_000,
    seed: int = 0,
    time_scale: float = 1.0,
    **compare: Any,
) -> ObservedWaitsInfo:
    """Every observed wait before a retry, and the policy's band for the same retries."""
    lines = _lines(source)
    anchor = policy.wait_from
    retry, wait, client = [], [], []
    for who, attempts in lines.items():
        for a in attempts:
            if a.retry < 1 or a.parallel:
                continue
            value = a.since_start_s if anchor is WaitAnchor.START else a.gap_s
            if value is not None:
                retry.append(a.retry)
                wait.append(value)
                client.append(who)
    count = max(observed_waits(lines, anchor), default=0)
    if count:
        sim = simulated_waits(policy, count, np.random.default_rng(seed), samples) * time_scale
        p5, p50, p95 = np.percentile(sim, (5, 50, 95), axis=0)
    else:
        p5 = p50 = p95 = np.zeros(0)
    verdict = compare_waits(
        lines, policy, name=name, samples=samples, seed=seed, time_scale=time_scale, **compare
    ).verdict
    return ObservedWaitsInfo(
        name=name,
        retry=np.array(retry, dtype=int),
        wait_s=np.array(wait, dtype=float),
        client=tuple(client),
        band_retry=np.arange(1, count + 1),
        band_p5=p5,
        band_p50=p50,
        band_p95=p95,
        verdict=verdict,
    )


@dataclass(frozen=True, slots=True)
class ObservedTimelineInfo:
    """One bar per attempt: client row, start and duration (s since the proxy started;
    open connections end at the last event seen), outcome."""

    clients: tuple[str, ...]
    row: np.ndarray
    start_s: np.ndarray
    duration_s: np.ndarray
    outcome: tuple[str, ...]
    retry: np.ndarray
    shown: int
    total: int


def observed_timeline_info(source: Any, max_clients: int = 30) -> ObservedTimelineInfo:
    """The first ``max_clients`` clients' attempts (clients in order of first appearance)."""
    lines = _lines(source)
    names = list(lines)[:max_clients]
    ends = [
        c.connection.ended_s or c.connection.at_s for attempts in lines.values() for c in attempts
    ]
    horizon = max(ends, default=0.0)
    row, start, duration, outcome, retry = [], [], [], [], []
    for i, who in enumerate(names):
        for a in lines[who]:
            c = a.connection
            end = c.ended_s if c.ended_s is not None else horizon
            row.append(i)
            start.append(c.at_s)
            duration.append(max(end - c.at_s, 0.0))
            outcome.append(c.outcome)
            retry.append(a.retry)
    return ObservedTimelineInfo(
        clients=tuple(names),
        row=np.array(row, dtype=int),
        start_s=np.array(start, dtype=float),
        duration_s=np.array(duration, dtype=float),
        outcome=tuple(outcome),
        retry=np.array(retry, dtype=int),
        shown=len(names),
        total=len(lines),
    )
