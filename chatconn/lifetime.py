"""Sessions that last an hour: drops, detection, reconnects, the breaker across them.

Use :func:`simulate_lifetime` to answer "with this policy and this heartbeat, how long is
a user disconnected per hour, and how long until a dead connection is noticed?". Each
session starts connected and lives ``hours``; the rules are
:mod:`chatconn.core.lifetime`'s. Every reconnect is a whole connect of the policy — its
time and success drawn from :func:`chatconn.simulate.simulate` of the same policy and
profile (diagnostics, attempts), so diagnostics, deadlines and ladders count here as they
do for the first connect. A reconnect reuses the token of the first connect (the manager
keeps it, :class:`~chatconn.live.token_cache.TokenCache`), so its pool is simulated with
``token_endpoint="static"``; token expiry within the hour is not modelled. The breaker
(:class:`~chatconn.core.breaker.CircuitBreaker`, the live manager's own) is told every
connect's outcome; after a failed connect the session tries again when the breaker
allows it, one cool-down later at the earliest, as the manager's ``auto_retry`` does.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .core.breaker import BreakerConfig, CircuitBreaker
from .core.errors import ConfigError
from .core.lifetime import HeartbeatConfig, detection_delay, drop_gap
from .core.policy import RetryPolicy
from .core.profiles import NetworkProfile, Population, TokenEndpoint, as_population
from .simulate import _check_seed, simulate

__all__ = ["LifetimeResult", "simulate_lifetime"]

#: Connect outcomes simulated per profile to draw reconnects from.
POOL_SESSIONS = 20_000
MAX_LIFETIME_SESSIONS = 1_000_000


@dataclass(frozen=True, slots=True, eq=False)
class LifetimeResult:
    """Per session: seconds disconnected, drops, reconnects, failed connects; and every
    drop's detection delay. ``hours`` is each session's lifetime."""

    policy: RetryPolicy
    target: str
    hours: float
    heartbeat: HeartbeatConfig
    breaker: BreakerConfig
    seed: int
    disconnected_s: np.ndarray
    drops: np.ndarray
    reconnects: np.ndarray
    failed_connects: np.ndarray
    detection_s: np.ndarray
    elapsed_s: float = 0.0
    profile_names: tuple[str, ...] = field(default=())

    @property
    def sessions(self) -> int:
        return int(self.drops.size)

    def summary(self) -> dict[str, Any]:
        """Per hour of session: time disconnected, reconnects, drops; detection delays."""
        per_hour = self.disconnected_s / self.hours
        qs = (50, 90, 99)
        out: dict[str, Any] = {
            "sessions": self.sessions,
            "hours": self.hours,
            "heartbeat": {
                "interval_s": self.heartbeat.interval_s,
                "timeout_s": self.heartbeat.timeout_s,
            },
            "disconnected_s_per_hour": {
                "mean": float(per_hour.mean()),
                **{f"p{q}": float(v) for q, v in zip(qs, np.percentile(per_hour, qs), strict=True)},
            },
            "availability": float(1.0 - per_hour.mean() / 3600.0),
            "drops_per_hour": float(self.drops.mean() / self.hours),
            "reconnects_per_hour": float(self.reconnects.mean() / self.hours),
            "failed_connects_per_hour": float(self.failed_connects.mean() / self.hours),
        }
        if self.detection_s.size:
            d = self.detection_s
            out["detection_s"] = {
                "mean": float(d.mean()),
                **{f"p{q}": float(v) for q, v in zip(qs, np.percentile(d, qs), strict=True)},
                "max": float(d.max()),
            }
        else:
            out["detection_s"] = None
        return out


def _check_positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(name, value, "expected a number > 0")
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(name, value, "expected a finite number > 0")
    return float(value)


def simulate_lifetime(
    policy: RetryPolicy,
    target: NetworkProfile | Population,
    sessions: int = 10_000,
    *,
    hours: float = 1.0,
    heartbeat: HeartbeatConfig | None = None,
    breaker: BreakerConfig | None = None,
    seed: int = 0,
    pool_sessions: int = POOL_SESSIONS,
) -> LifetimeResult:
    """Simulate ``sessions`` sessions of ``hours`` each; see the module doc."""
    if not isinstance(policy, RetryPolicy):
        raise ConfigError("policy", policy, "expected a RetryPolicy")
    if isinstance(sessions, bool) or not isinstance(sessions, int):
        raise ConfigError(
            "sessions", sessions, f"expected a whole number in [1, {MAX_LIFETIME_SESSIONS}]"
        )
    if not 1 <= sessions <= MAX_LIFETIME_SESSIONS:
        raise ConfigError(
            "sessions", sessions, f"expected a whole number in [1, {MAX_LIFETIME_SESSIONS}]"
        )
    hours = _check_positive("hours", hours)
    heartbeat = heartbeat if heartbeat is not None else HeartbeatConfig()
    breaker = breaker if breaker is not None else BreakerConfig()
    if not isinstance(heartbeat, HeartbeatConfig):
        raise ConfigError("heartbeat", heartbeat, "expected a HeartbeatConfig")
    if not isinstance(breaker, BreakerConfig):
        raise ConfigError("breaker", breaker, "expected a BreakerConfig")
    seed = _check_seed(seed)
    population = as_population(target)
    began = time.perf_counter()
    rng = np.random.default_rng([seed, 14])
    horizon = hours * 3600.0
    disconnected = np.zeros(sessions)
    drops = np.zeros(sessions, dtype=np.int32)
    reconnects = np.zeros(sessions, dtype=np.int32)
    failed = np.zeros(sessions, dtype=np.int32)
    delays: list[float] = []
    index = 0
    for component, (profile, count) in enumerate(
        zip(population.profiles, population.split(sessions), strict=True)
    ):
        if count == 0:
            continue
        kept_token = profile.with_changes(token_endpoint=TokenEndpoint.STATIC)
        pool = simulate(policy, kept_token, pool_sessions, seed=seed + component)
        times, ok = pool.ended_at, pool.connected
        for i in range(index, index + count):
            cb = CircuitBreaker(breaker)
            t = 0.0
            while True:
                t += float(drop_gap(profile.drops_per_hour, rng.random()))
                if t >= horizon:
                    break
                drops[i] += 1
                down = t
                delay = float(detection_delay(heartbeat, rng.random()))
                delays.append(delay)
                t += delay
                while t < horizon:  # connect until connected (or the hour is over)
                    if not cb.allow(t):  # open: wait out the cool-down (at least 1 ns,
                        t += max(cb.retry_after(t), 1e-9)  # as rounding may leave it open)
                        continue
                    k = int(rng.integers(times.size))
                    t += float(times[k])
                    if ok[k]:
                        cb.record_success(t)
                        reconnects[i] += 1
                        break
                    cb.record_failure(t)
                    failed[i] += 1
                    t += cb.retry_after(t) or breaker.cooldown_s  # auto_retry's wait
                disconnected[i] += min(t, horizon) - down
                if t >= horizon:
                    break
        index += count
    return LifetimeResult(
        policy=policy,
        target=population.name,
        hours=hours,
        heartbeat=heartbeat,
        breaker=breaker,
        seed=seed,
        disconnected_s=disconnected,
        drops=drops,
        reconnects=reconnects,
        failed_connects=failed,
        detection_s=np.asarray(delays),
        elapsed_s=time.perf_counter() - began,
        profile_names=tuple(p.name for p in population.profiles),
    )
