"""The profile fields a calibration can fit, their search coordinates and starting values.

Use :func:`starting_values` for a quick, simulation-free estimate of each parameter from
what identifies it (the refinement in :func:`~chatconn.calibrate.calibrate` starts there)::

    parameter           identified by                              estimate
    rtt_median_s        time of first-attempt successes             t = R x RTT + auth_s + sync_s
    rtt_sigma           (R round trips of attempt 0's strategy)     + transfer; median and
                                                                    IQR / 1.349 of log RTT
    ws_blocked_share    sessions that never connected via           1 - share connected via
                        WebSocket                                   a WebSocket strategy
    stall_probability   sessions that needed a retry although       1 - share on attempt 1 -
                        their path works                            reset_probability

SYN losses (known from the base profile's ``loss``) add whole seconds to a share
``q = 1 - (1 - loss)**2`` of first attempts; they sit at the top of the times, so the RTT
quantiles are read at ``p x (1 - q)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..core.errors import ConfigError, UnknownNameError
from ..core.model import ROUND_TRIPS, syn_loss_probability
from ..core.policy import RetryPolicy
from ..core.profiles import NetworkProfile
from ..core.strategies import Strategy
from ..outcomes import SessionOutcomes

__all__ = [
    "FIT_PARAMETERS",
    "candidate_profile",
    "clip_value",
    "decode",
    "encode",
    "fit_names",
    "search_steps",
    "starting_values",
]

#: Every profile field a calibration can fit, in the order it reports them.
FIT_PARAMETERS = ("rtt_median_s", "rtt_sigma", "stall_probability", "ws_blocked_share")

_RTT_LIMITS = (1e-4, 60.0)
_SIGMA_MAX = 3.0
# Kept off 0 and 1 while searching: the simulator skips the draw of a share that is exactly
# 0 or 1 (and of a zero sigma), which would shift every later draw and break the common
# random numbers the search relies on.
_INSIDE = 1e-9
_IQR_PER_SIGMA = 1.3489795003921634  # of a normal distribution
_WS_CODES = np.array([s.code for s in Strategy if s.uses_websocket])


def fit_names(fit: Iterable[str] | str | None, policy: RetryPolicy) -> tuple[str, ...]:
    """The parameters to fit, checked, in :data:`FIT_PARAMETERS` order.

    By default every parameter the policy can reveal: ``ws_blocked_share`` only when its
    ladder has a WebSocket rung. Unknown names, an empty list, or asking for
    ``ws_blocked_share`` without a WebSocket rung raise :class:`ConfigError`.
    """
    has_ws = any(s.uses_websocket for s in policy.strategies)
    if fit is None:
        return tuple(p for p in FIT_PARAMETERS if has_ws or p != "ws_blocked_share")
    names = [fit] if isinstance(fit, str) else list(fit)
    for name in names:
        if name not in FIT_PARAMETERS:
            raise UnknownNameError("fit parameter", name, FIT_PARAMETERS)
    if not names:
        raise ConfigError("fit", names, "expected at least one of " + ", ".join(FIT_PARAMETERS))
    if "ws_blocked_share" in names and not has_ws:
        raise ConfigError(
            "fit",
            "ws_blocked_share",
            "cannot be fitted: the policy's ladder has no WebSocket rung, so a proxy that "
            "blocks WebSocket leaves no trace in the observations",
        )
    return tuple(p for p in FIT_PARAMETERS if p in names)


def clip_value(name: str, value: float, base: NetworkProfile) -> float:
    """``value`` clipped to what the profile accepts for ``name``."""
    if name == "rtt_median_s":
        return float(np.clip(value, *_RTT_LIMITS))
    if name == "rtt_sigma":
        return float(np.clip(value, 0.0, _SIGMA_MAX))
    if name == "stall_probability":
        return float(np.clip(value, 0.0, 1.0 - base.reset_probability))
    return float(np.clip(value, 0.0, 1.0))


def encode(values: dict[str, float], names: tuple[str, ...]) -> np.ndarray:
    """Search coordinates of parameter values: log of the RTT median, the others as they are."""
    return np.array([math.log(values[n]) if n == "rtt_median_s" else values[n] for n in names])


def decode(x: np.ndarray, names: tuple[str, ...], base: NetworkProfile) -> dict[str, float]:
    """Parameter values (clipped to their ranges) of search coordinates ``x``."""
    out = {}
    for name, value in zip(names, x, strict=True):
        if name == "rtt_median_s":
            value = math.exp(float(np.clip(value, *np.log(_RTT_LIMITS))))
        out[name] = clip_value(name, float(value), base)
    return out


def search_steps(values: dict[str, float], names: tuple[str, ...]) -> np.ndarray:
    """The initial simplex steps: about the uncertainty of a starting value."""
    steps = {
        "rtt_median_s": 0.2,
        "rtt_sigma": max(0.1, 0.2 * values.get("rtt_sigma", 0.0)),
        "stall_probability": max(0.02, 0.3 * values.get("stall_probability", 0.0)),
        "ws_blocked_share": max(0.05, 0.2 * values.get("ws_blocked_share", 0.0)),
    }
    return np.array([steps[n] for n in names])


def candidate_profile(
    base: NetworkProfile, values: dict[str, float], *, searching: bool = False
) -> NetworkProfile:
    """``base`` with ``values``; while ``searching``, fitted shares stay strictly inside
    (0, 1) and a fitted sigma above 0, so every candidate draws the same random numbers."""
    changes = dict(values)
    if searching:
        for name, value in values.items():
            if name == "rtt_sigma":
                changes[name] = max(value, 1e-6)
            elif name == "ws_blocked_share":
                changes[name] = min(max(value, _INSIDE), 1.0 - _INSIDE)
            elif name == "stall_probability":
                top = 1.0 - base.reset_probability - _INSIDE
                changes[name] = min(max(value, _INSIDE), top) if top > _INSIDE else value
    return base.with_changes(**changes)


def starting_values(
    observed: SessionOutcomes, base: NetworkProfile, names: tuple[str, ...]
) -> dict[str, float]:
    """Closed-form estimates of ``names`` (see the module doc); the base's value where the
    observations say nothing (no first-attempt success, no session on a working path)."""
    policy = observed.known_policy()
    first_strategy = policy.strategy_for(0)
    connected = observed.connected
    attempts = np.asarray(observed.attempts, dtype=np.int64)
    via_ws = connected & np.isin(observed.strategy, _WS_CODES)
    out: dict[str, float] = {}
    if "ws_blocked_share" in names:
        out["ws_blocked_share"] = 1.0 - float(via_ws.mean())
    if "stall_probability" in names:
        usable = via_ws if first_strategy.uses_websocket else connected
        value = base.stall_probability
        if np.any(usable):
            first_ok = float(np.mean(attempts[usable] == 1))
            value = 1.0 - first_ok - base.reset_probability
        out["stall_probability"] = value
    if "rtt_median_s" in names or "rtt_sigma" in names:
        out |= _rtt_start(observed, base, first_strategy)
    values = {n: clip_value(n, out.get(n, getattr(base, n)), base) for n in names}
    return values


def _rtt_start(
    observed: SessionOutcomes, base: NetworkProfile, strategy: Strategy
) -> dict[str, Any]:
    first = observed.ended_at[observed.connected & (observed.attempts == 1)]
    overhead = base.auth_s + base.sync_s + base.transfer_s
    rtt = (first - overhead) / ROUND_TRIPS[strategy]
    log_rtt = np.log(rtt[rtt > 0])
    if not log_rtt.size:
        return {}
    kept = 1.0 - syn_loss_probability(base)
    q25, q50, q75 = np.quantile(log_rtt, [0.25 * kept, 0.5 * kept, 0.75 * kept])
    out: dict[str, Any] = {"rtt_median_s": math.exp(q50)}
    if log_rtt.size >= 4:
        out["rtt_sigma"] = (q75 - q25) / _IQR_PER_SIGMA
    return out
