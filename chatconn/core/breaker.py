"""A circuit breaker: stop hammering a server that keeps failing, probe it after a cool-down.

Pure: the caller passes the current time (any monotonic seconds) into every call, so
tests drive it with a fake clock. States, as in Polly and resilience4j::

    CLOSED     calls allowed; `failure_threshold` consecutive failures -> OPEN
    OPEN       calls refused until `cooldown_s` has passed -> HALF_OPEN
    HALF_OPEN  one trial call allowed; success -> CLOSED, failure -> OPEN again

Defaults: 5 consecutive failed connects open the breaker for 30 s (chatconn's choice for
a chat client: one whole failed connect of the seed policy is 6 attempts, so the breaker
opens only after repeated whole-connect failures when ``record`` is called per connect).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from .errors import ConfigError

__all__ = [
    "DEFAULT_COOLDOWN_S",
    "DEFAULT_FAILURE_THRESHOLD",
    "BreakerConfig",
    "BreakerState",
    "CircuitBreaker",
]

DEFAULT_FAILURE_THRESHOLD = 5
DEFAULT_COOLDOWN_S = 30.0


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """``failure_threshold`` consecutive failures open it for ``cooldown_s`` seconds."""

    failure_threshold: int = DEFAULT_FAILURE_THRESHOLD
    cooldown_s: float = DEFAULT_COOLDOWN_S

    def __post_init__(self) -> None:
        n = self.failure_threshold
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError("failure_threshold", n, "expected a whole number >= 1")
        c = self.cooldown_s
        if isinstance(c, bool) or not isinstance(c, int | float) or not math.isfinite(c) or c <= 0:
            raise ConfigError("cooldown_s", c, "expected a finite number of seconds > 0")
        object.__setattr__(self, "cooldown_s", float(c))


@dataclass(slots=True)
class CircuitBreaker:
    """Decides whether a call may go ahead; told every outcome. Time is passed in."""

    config: BreakerConfig = field(default_factory=BreakerConfig)
    _state: BreakerState = BreakerState.CLOSED
    _failures: int = 0
    _opened_at: float = 0.0
    _trial_in_flight: bool = False

    def state(self, now: float) -> BreakerState:
        """The state at ``now`` (OPEN turns HALF_OPEN once the cool-down has passed)."""
        if self._state is BreakerState.OPEN and now - self._opened_at >= self.config.cooldown_s:
            self._state = BreakerState.HALF_OPEN
            self._trial_in_flight = False
        return self._state

    def allow(self, now: float) -> bool:
        """True if a call may start now; in HALF_OPEN only one trial at a time."""
        state = self.state(now)
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def retry_after(self, now: float) -> float:
        """Seconds until a call would be allowed (0 when it would be now)."""
        if self.state(now) is BreakerState.OPEN:
            return self._opened_at + self.config.cooldown_s - now
        return 0.0

    def record_success(self, now: float) -> None:
        self.state(now)
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._trial_in_flight = False

    def record_failure(self, now: float) -> None:
        state = self.state(now)
        self._failures += 1
        if state is BreakerState.HALF_OPEN or self._failures >= self.config.failure_threshold:
            self._state = BreakerState.OPEN
            self._opened_at = now
            self._trial_in_flight = False

    def abandon(self) -> None:
        """The allowed call ended without an outcome (cancelled): free the half-open trial."""
        self._trial_in_flight = False

    def reset(self) -> None:
        """Forget every failure (the network is back)."""
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._trial_in_flight = False
