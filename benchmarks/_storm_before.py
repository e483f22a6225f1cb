"""The reconnect storm as it was before the calendar queue (main at 56c4b2f, verbatim but
for its imports): the baseline of benchmarks/bench_storm.py. Every window rescans every
remaining client; clients never give up (they keep retrying at their last wait), so it
computes the same workload as ``storm`` with ``retries_forever=True``, with its own draws.

Reconnect storms: every client dropped at once, a server with limited capacity.

Use :func:`storm` to see the trade-off between fast reconnects and server load: N
connected clients are all dropped at t = 0 and start reconnecting by the policy's
schedule (attempt 0 at once). The server is down until ``outage_s`` (every attempt is
refused), then accepts at most ``capacity_per_s`` handshakes in each one-second window
``[outage_s + j, outage_s + j + 1)``, first come first served; the excess are refused and
count as failed attempts. An attempt takes ``attempt_s`` (about one RTT) to be accepted
or refused. A client that exhausts ``max_attempts`` keeps retrying at its last wait
(freshly jittered), as a chat client that must get back would; ``beyond_policy`` counts
the clients that the policy's own limit (attempts or deadline) would have given up.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from chatconn.core.errors import ConfigError
from chatconn.core.policy import JitterMode, RetryPolicy
from chatconn.core.schedule import jitter_mode_for, jittered_wait, next_start, nominal_waits
from chatconn.simulate import _check_seed

__all__ = ["DEFAULT_ATTEMPT_S", "StormResult", "storm"]

DEFAULT_ATTEMPT_S = 0.05
DEFAULT_HORIZON_S = 24 * 3600.0
MAX_CLIENTS = 10**6  # the window loop is O(clients x windows)


@dataclass(frozen=True, slots=True, eq=False)
class StormResult:
    """Arrivals per second and how long the herd took to get back.

    ``accepted_per_s[i]``/``refused_per_s[i]`` count attempts in second [i, i+1) from the
    drop. ``peak_per_s`` is the most attempts in one capacity window from ``outage_s`` on.
    ``connect_time``/``attempts`` are per client (NaN/-1 when not back by the horizon).
    """

    policy: RetryPolicy
    clients: int
    outage_s: float
    capacity_per_s: int
    seed: int
    attempt_s: float
    accepted_per_s: np.ndarray
    refused_per_s: np.ndarray
    peak_per_s: int
    reconnected_99_s: float | None
    reconnected_all_s: float | None
    refused_during_outage: int
    refused_over_capacity: int
    beyond_policy: int
    connect_time: np.ndarray
    attempts: np.ndarray
    elapsed_s: float

    @property
    def refused(self) -> int:
        return self.refused_during_outage + self.refused_over_capacity

    def to_dict(self) -> dict[str, Any]:
        return {
            "clients": self.clients,
            "outage_s": self.outage_s,
            "capacity_per_s": self.capacity_per_s,
            "attempt_s": self.attempt_s,
            "peak_per_s": self.peak_per_s,
            "peak_over_capacity": self.peak_per_s / self.capacity_per_s,
            "reconnected_99_s": self.reconnected_99_s,
            "reconnected_all_s": self.reconnected_all_s,
            "refused": self.refused,
            "refused_during_outage": self.refused_during_outage,
            "refused_over_capacity": self.refused_over_capacity,
            "attempts_mean": float(self.attempts[self.attempts > 0].mean())
            if self.clients
            else None,
            "beyond_policy": self.beyond_policy,
            "series": [
                {"t_s": i, "accepted": int(a), "refused": int(r)}
                for i, (a, r) in enumerate(
                    zip(self.accepted_per_s, self.refused_per_s, strict=True)
                )
            ],
            "elapsed_s": self.elapsed_s,
        }


def _check(name: str, value: Any, low: float, *, integer: bool = False) -> Any:
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ConfigError(name, value, f"expected a {'whole ' if integer else ''}number >= {low}")
    if not math.isfinite(value) or value < low:
        raise ConfigError(
            name, value, f"expected a finite {'whole ' if integer else ''}number >= {low}"
        )
    return int(value) if integer else float(value)


class _Waits:
    """Draws the wait after attempt k for clients at different k (beyond A: the last)."""

    def __init__(self, policy: RetryPolicy, rng: np.random.Generator) -> None:
        self.policy = policy
        self.rng = rng
        self.nominal = nominal_waits(policy)
        self.last = policy.max_attempts - 1
        self.decorrelated = JitterMode.DECORRELATED in (
            policy.jitter_mode,
            jitter_mode_for(policy, 0),
        )

    def draw(self, k: np.ndarray, previous: np.ndarray) -> np.ndarray:
        u = self.rng.random(k.size)
        capped = np.minimum(k, self.last)
        out = np.empty(k.size)
        for after in np.unique(capped):
            sel = capped == after
            prev = previous[sel] if self.decorrelated else self.policy.initial_delay
            out[sel] = jittered_wait(self.policy, int(after), self.nominal[after], u[sel], prev)
        return out


def storm(
    policy: RetryPolicy,
    clients: int,
    outage_s: float,
    capacity_per_s: int,
    seed: int = 0,
    *,
    attempt_s: float = DEFAULT_ATTEMPT_S,
    horizon_s: float = DEFAULT_HORIZON_S,
) -> StormResult:
    """Simulate ``clients`` reconnecting after a ``outage_s`` outage to a limited server."""
    if not isinstance(policy, RetryPolicy):
        raise ConfigError("policy", policy, "expected a RetryPolicy")
    clients = _check("clients", clients, 1, integer=True)
    if clients > MAX_CLIENTS:
        raise ConfigError("clients", clients, f"expected a whole number in [1, {MAX_CLIENTS}]")
    outage_s = _check("outage_s", outage_s, 0.0)
    capacity = _check("capacity_per_s", capacity_per_s, 1, integer=True)
    seed = _check_seed(seed)
    attempt_s = _check("attempt_s", attempt_s, 1e-6)
    horizon_s = _check("horizon_s", horizon_s, outage_s + 1.0)
    if outage_s + clients / capacity > horizon_s:
        raise ConfigError(
            "capacity_per_s",
            capacity,
            f"too small: {clients} clients need {clients / capacity:.0f} s after the outage, "
            f"past the {horizon_s:.0f} s horizon",
        )
    began = time.perf_counter()
    rng = np.random.default_rng(seed)
    waits = _Waits(policy, rng)

    # State of the clients still reconnecting, compacted as they get back.
    ids = np.arange(clients)
    next_t = np.zeros(clients)
    k = np.zeros(clients, dtype=np.int64)
    previous = np.full(clients, policy.initial_delay)
    connect_time = np.full(clients, np.nan)
    attempts = np.full(clients, -1, dtype=np.int64)
    accepted_times: list[np.ndarray] = []
    refused_times: list[np.ndarray] = []
    refused_outage = 0
    refused_capacity = 0

    def refuse(sel: np.ndarray) -> None:
        t = next_t[sel]
        refused_times.append(t)
        wait = waits.draw(k[sel], previous[sel])
        next_t[sel] = next_start(policy, t, t + attempt_s, wait)
        previous[sel] = wait
        k[sel] += 1

    # The outage: every attempt before outage_s is refused.
    while True:
        sel = np.flatnonzero(next_t < outage_s)
        if not sel.size:
            break
        refused_outage += sel.size
        refuse(sel)

    window = 0
    window_peaks: list[int] = []
    while ids.size:
        low = outage_s + window
        if low >= horizon_s:
            break
        high = low + 1.0
        tokens = capacity
        arrivals = 0
        while True:
            sel = np.flatnonzero(next_t < high)
            if not sel.size:
                break
            arrivals += sel.size
            if tokens:
                order = sel[np.argsort(next_t[sel], kind="stable")]
                won, sel = order[:tokens], np.sort(order[tokens:])
                tokens -= won.size
                accepted_times.append(next_t[won])
                connect_time[ids[won]] = next_t[won] + attempt_s
                attempts[ids[won]] = k[won] + 1
                keep = np.ones(ids.size, dtype=bool)
                keep[won] = False
                refused_capacity += sel.size
                refuse(sel)
                ids, next_t, k, previous = ids[keep], next_t[keep], k[keep], previous[keep]
            else:
                refused_capacity += sel.size
                refuse(sel)
        window_peaks.append(arrivals)
        if ids.size:
            # Jump over empty windows.
            window = max(window + 1, math.floor(next_t.min() - outage_s))

    accepted = np.concatenate(accepted_times) if accepted_times else np.empty(0)
    refused = np.concatenate(refused_times) if refused_times else np.empty(0)
    seconds = math.floor(max(accepted.max(initial=0.0), refused.max(initial=0.0))) + 1
    accepted_per_s = np.bincount(np.floor(accepted).astype(np.int64), minlength=seconds)
    refused_per_s = np.bincount(np.floor(refused).astype(np.int64), minlength=seconds)
    back = np.sort(connect_time[~np.isnan(connect_time)])
    all_back = back.size == clients
    t99 = back[math.ceil(0.99 * clients) - 1] if back.size >= math.ceil(0.99 * clients) else None
    beyond = attempts > policy.max_attempts
    if policy.deadline is not None:
        beyond |= connect_time > policy.deadline
    beyond |= np.isnan(connect_time)
    return StormResult(
        policy=policy,
        clients=clients,
        outage_s=outage_s,
        capacity_per_s=capacity,
        seed=seed,
        attempt_s=attempt_s,
        accepted_per_s=accepted_per_s,
        refused_per_s=refused_per_s,
        peak_per_s=max(window_peaks, default=0),
        reconnected_99_s=float(t99) if t99 is not None else None,
        reconnected_all_s=float(back[-1]) if all_back else None,
        refused_during_outage=refused_outage,
        refused_over_capacity=refused_capacity,
        beyond_policy=int(beyond.sum()),
        connect_time=connect_time,
        attempts=attempts,
        elapsed_s=time.perf_counter() - began,
    )
