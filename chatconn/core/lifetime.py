"""Sessions that last: drops, heartbeats that detect them, reconnects, a breaker across them.

The rules, shared by the lifetime simulator (:mod:`chatconn.lifetime`), the reconnect storm
(:func:`chatconn.storm.storm` with ``heartbeat=``) and the live manager (which pings by
:class:`HeartbeatConfig`)::

    drop        a connected session loses its connection at the profile's
                ``drops_per_hour`` (a Poisson process: exponential gaps while connected)
    detection   a silent drop (no FIN/RST: NAT or proxy timeouts, radio loss) is noticed by
                the heartbeat: the next ping goes out at a uniform point of its interval and
                gets no pong within ``timeout_s`` -> delay = u * interval_s + timeout_s
                (at most interval_s + timeout_s)
    reconnect   a full connect by the policy (token, diagnostics, attempts), as simulated
    breaker     its state carries across connects: a failed connect is recorded; the
                manager (``auto_retry``) tries again when the breaker allows it, after its
                cool-down; a success closes it

Defaults follow Stream Chat's JS client (``stream-chat`` 9.53.0 ``src/connection.ts``:
``pingInterval = 25 * 1000``; ``connectionCheckTimeout = pingInterval + 10 * 1000``, i.e.
the connection is declared dead after 35 s without a message): ping every 25 s, no pong
within 10 s means dead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConfigError

__all__ = [
    "DEFAULT_HEARTBEAT_INTERVAL_S",
    "DEFAULT_HEARTBEAT_TIMEOUT_S",
    "HeartbeatConfig",
    "detection_delay",
    "drop_gap",
]

#: stream-chat ``connection.ts``: ``pingInterval`` 25 s.
DEFAULT_HEARTBEAT_INTERVAL_S = 25.0
#: stream-chat ``connection.ts``: ``connectionCheckTimeout`` = pingInterval + 10 s.
DEFAULT_HEARTBEAT_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class HeartbeatConfig:
    """Ping every ``interval_s``; no pong within ``timeout_s`` means the connection is dead.

    Defaults follow Stream Chat's client (health check every 25 s, dead after 35 s of
    silence: 25 s + a 10 s pong timeout).
    """

    interval_s: float = DEFAULT_HEARTBEAT_INTERVAL_S
    timeout_s: float = DEFAULT_HEARTBEAT_TIMEOUT_S

    def __post_init__(self) -> None:
        for name in ("interval_s", "timeout_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(name, value, "expected a number of seconds > 0")
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(name, value, "expected a finite number of seconds > 0")
            object.__setattr__(self, name, float(value))

    @property
    def worst_detection_s(self) -> float:
        """The longest a silent drop goes unnoticed: ``interval_s + timeout_s``."""
        return self.interval_s + self.timeout_s


def detection_delay(heartbeat: HeartbeatConfig, u: Any) -> Any:
    """Seconds from a silent drop to its detection, for uniform draw(s) ``u`` in [0, 1)."""
    return u * heartbeat.interval_s + heartbeat.timeout_s


def drop_gap(drops_per_hour: float, u: Any) -> Any:
    """Seconds of connected time until the next drop (exponential), from uniform ``u``;
    infinite when the rate is 0."""
    if drops_per_hour <= 0:
        return np.full(np.shape(u), math.inf) if np.ndim(u) else math.inf
    return -np.log1p(-np.asarray(u)) * (3600.0 / drops_per_hour)
