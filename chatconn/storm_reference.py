"""The reconnect storm by rescanning: the tests' yardstick and the benchmark's baseline.

:func:`storm_rescan` applies the rules of :mod:`chatconn.storm` (the same
:class:`~chatconn.storm.Herd`: refusals, waits, giving up) the straightforward way: every
client's state lives in full-size arrays, every capacity window rescans all clients still
reconnecting for the attempts that fall in it, and serves them in (time, client) order with
a full sort. It is O(clients x windows) — use :func:`chatconn.storm.storm`, whose calendar
queue touches only each window's arrivals. Because waits are drawn per (client, attempt),
both give identical results.
"""

from __future__ import annotations

import time

import numpy as np

from .core.policy import RetryPolicy
from .storm import (
    DEFAULT_ATTEMPT_S,
    DEFAULT_HORIZON_S,
    Herd,
    Seconds,
    StormResult,
    StormSettings,
    _result,
    tag_attempts,
    window_of,
)

__all__ = ["MAX_RESCAN_CLIENTS", "storm_rescan"]

#: The rescan costs O(clients x windows): keep it to sizes a test or a baseline can afford.
MAX_RESCAN_CLIENTS = 200_000


def storm_rescan(
    policy: RetryPolicy,
    clients: int,
    outage_s: float,
    capacity_per_s: int,
    seed: int = 0,
    *,
    attempt_s: float = DEFAULT_ATTEMPT_S,
    horizon_s: float = DEFAULT_HORIZON_S,
) -> StormResult:
    """:func:`chatconn.storm.storm`, computed by rescanning every client in every window."""
    settings = StormSettings.checked(
        policy,
        clients,
        outage_s,
        capacity_per_s,
        seed,
        attempt_s,
        horizon_s,
        max_clients=MAX_RESCAN_CLIENTS,
    )
    began = time.perf_counter()
    herd = Herd(settings)
    state = herd.everyone(settings.clients)  # full-size arrays, indexed by client number
    accepted, seen = Seconds(settings.horizon_s), Seconds(settings.horizon_s)  # seen: all
    waiting = np.ones(settings.clients, dtype=bool)  # neither back nor given up

    def refuse(ids: np.ndarray) -> None:
        seen.add(state.t[ids])
        retry = herd.refuse_kept(state.take(ids))
        waiting[ids] = False
        back = retry.ids
        waiting[back] = True
        state.t[back] = retry.t
        state.tag[back] = retry.tag
        if state.previous is not None:
            state.previous[back] = retry.previous

    refused_outage = 0
    while True:
        ids = np.flatnonzero(waiting & (state.t < settings.outage_s))
        if not ids.size:
            break
        refused_outage += ids.size
        refuse(ids)

    refused_capacity = 0
    peak = 0
    window = 0
    while waiting.any():
        if settings.outage_s + window >= settings.horizon_s:
            break
        tokens = settings.capacity
        arrivals = 0
        while True:
            ids = np.flatnonzero(waiting)
            ids = ids[window_of(state.t[ids], settings.outage_s) <= window]
            if not ids.size:
                break
            arrivals += ids.size
            if tokens:
                order = ids[np.lexsort((ids, state.t[ids]))]
                won = order[:tokens]
                tokens -= won.size
                herd.accept(state.take(won))
                accepted.add(state.t[won])
                seen.add(state.t[won])
                waiting[won] = False
                ids = np.sort(order[won.size :])
            if ids.size:
                refused_capacity += ids.size
                refuse(ids)
        peak = max(peak, arrivals)
        if waiting.any():  # jump over empty windows
            first = state.t[waiting].min(keepdims=True)
            window = max(window + 1, int(window_of(first, settings.outage_s)[0]))
    still = np.flatnonzero(waiting)
    herd.attempts[still] = tag_attempts(state.tag[still])
    return _result(settings, herd, accepted, seen, refused_outage, refused_capacity, peak, began)
