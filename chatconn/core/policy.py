"""RetryPolicy: one frozen, validated value object describing how a client (re)connects.

Use it whenever you need to talk about a retry policy: the simulator draws millions of
sessions from it, the live manager draws one, plots and reports describe it. The numbers
themselves are turned into attempt timeouts and waits in exactly one place,
:mod:`chatconn.core.schedule`.

Field by field (defaults are the ``seed`` preset, the policy of the chat app chatconn
was built to fix)::

    field                 default  meaning
    base_timeout          15 s     connect timeout of attempt 0
    timeout_growth        1.4      attempt k gets min(base_timeout * growth**k, max_timeout)
    max_timeout           90 s     cap of that growth
    extended_timeout      120 s    the timeout of every ``extended_timeout`` rung
    timeout_spans_backoff False    gRPC: an attempt may run until the next backoff deadline
    max_attempts          6        attempts in all, the first one included
    initial_delay         1 s      nominal wait before retry 1
    multiplier            1.4      retry k waits min(initial_delay * multiplier**(k-1), max_delay)
    delay_step            0 s      added to each nominal wait after the multiplication: the wait
                                   before retry k+1 is wait(k) * multiplier + delay_step
                                   (multiplier 1 and a step = linear growth, stream-chat)
    max_delay             30 s     the cap of the nominal wait (applied *before* jitter)
    delays                None     an explicit table of nominal waits instead (SignalR)
    first_delay           None     a special wait before retry 1 (websockets, gRPC); the
                                   exponential sequence then starts at retry 2
    first_delay_jitter    none     how that first wait is jittered
    jitter                0.4      the jitter factor used by ``proportional`` and ``backo2``
    jitter_mode           proportional
    window                0 s      width of the ``window`` jitter mode (stream-chat: 2.5 s)
    window_floor          0 s      lowest low end of that window (stream-chat: 0.25 s)
    cap_after_jitter      False    cap the jittered wait instead of the nominal (Socket.IO)
    wait_from             failure  waits count from the previous failure, or from its start (gRPC)
    deadline              None     total budget of the connect, first attempt included
    retries_forever       False    the library never gives up (gRPC, websockets, Socket.IO):
                                   ``max_attempts`` only bounds how far one simulated connect
                                   is followed; in a storm such clients keep retrying at
                                   their last wait. False: a client that has made
                                   ``max_attempts`` attempts (or hits ``deadline``) gives up
                                   and stays down (SignalR, botocore, the seed app)
    ladder                direct_websocket x2, extended_timeout, multiple_ports,
                          long_polling, sse_fallback   (the last rung repeats)
    diagnostics           off      probe the network first and adapt (a
                                   :class:`~chatconn.core.diagnostics.DiagnosticsSettings`;
                                   ``True``/``False`` or a mapping are accepted)

Why the cap applies before the jitter by default: if the cap is applied after, every
client that reached it waits exactly ``max_delay`` and the herd retries in lockstep
(Socket.IO does this; its preset sets ``cap_after_jitter=True`` to reproduce it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from enum import Enum, StrEnum
from typing import Any

from .diagnostics import DiagnosticsSettings
from .errors import ConfigError, UnknownNameError
from .strategies import Strategy, parse_strategy

__all__ = [
    "DEFAULT_BASE_TIMEOUT",
    "DEFAULT_DELAYS",
    "DEFAULT_EXTENDED_TIMEOUT",
    "DEFAULT_INITIAL_DELAY",
    "DEFAULT_JITTER",
    "DEFAULT_LADDER",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_DELAY",
    "DEFAULT_MAX_TIMEOUT",
    "DEFAULT_MULTIPLIER",
    "DEFAULT_TIMEOUT_GROWTH",
    "JitterMode",
    "RetryPolicy",
    "WaitAnchor",
]

# The seed application's numbers (see chatconn.core.presets.seed).
DEFAULT_BASE_TIMEOUT = 15.0
DEFAULT_MAX_TIMEOUT = 90.0
DEFAULT_EXTENDED_TIMEOUT = 120.0
DEFAULT_TIMEOUT_GROWTH = 1.4
DEFAULT_MAX_ATTEMPTS = 6
DEFAULT_INITIAL_DELAY = 1.0
DEFAULT_MULTIPLIER = 1.4
DEFAULT_MAX_DELAY = 30.0
DEFAULT_JITTER = 0.4
DEFAULT_DELAYS = None
DEFAULT_LADDER = (
    Strategy.DIRECT_WEBSOCKET,
    Strategy.DIRECT_WEBSOCKET,
    Strategy.EXTENDED_TIMEOUT,
    Strategy.MULTIPLE_PORTS,
    Strategy.LONG_POLLING,
    Strategy.SSE_FALLBACK,
)

#: Upper bound on max_attempts: arrays are (sessions, attempts); beyond this use a deadline.
MAX_ATTEMPTS_LIMIT = 1000


class JitterMode(StrEnum):
    """How a nominal wait ``d`` becomes a random wait (``u`` is uniform on [0, 1)).

    ==============  =============================================  ============================
    mode            wait                                           source
    ==============  =============================================  ============================
    none            d                                              SignalR, Phoenix
    proportional    d * (1 + jitter * (2u - 1))                    seed app, gRPC
    full            u * d                                          AWS "full jitter", botocore
    equal           d/2 + u * d/2                                  AWS "equal jitter"
    decorrelated    min(max_delay, initial + u * (3*prev - initial))  AWS "decorrelated jitter"
    backo2          d -/+ floor(u * jitter * d ms), sign from u    socket.io-client's backo2
    window          lo + u * (hi - lo), whole ms, where             stream-chat's retryInterval
                    lo = min(max(window_floor, d - window), cap),
                    hi = min(d, cap), cap = max_delay
    ==============  =============================================  ============================

    ``window`` caps both ends of the window separately (so a capped window is still uniform,
    not a point mass at the cap): it works on the uncapped nominal whatever
    ``cap_after_jitter`` says, and its low end never passes its high end. Like ``backo2`` it
    works in whole milliseconds (``Math.floor``), so a wait drawn by chatconn and one drawn
    by the SDK from the same uniform are equal.
    """

    NONE = "none"
    PROPORTIONAL = "proportional"
    FULL = "full"
    EQUAL = "equal"
    DECORRELATED = "decorrelated"
    BACKO2 = "backo2"
    WINDOW = "window"

    def __str__(self) -> str:
        return self.value


class WaitAnchor(StrEnum):
    """What a wait counts from: the previous attempt's failure, or its start (gRPC)."""

    FAILURE = "failure"
    START = "start"

    def __str__(self) -> str:
        return self.value


def _parse_enum(enum: type[Enum], field_name: str, value: Any) -> Any:
    if isinstance(value, enum):
        return value
    try:
        return enum(str(value).strip())
    except ValueError:
        raise UnknownNameError(field_name, value, [m.value for m in enum]) from None


def _positive_finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(name, value, "expected a number of seconds")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ConfigError(name, number, "expected a finite number > 0")
    return number


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a client connects and retries. Validated on construction; immutable.

    >>> RetryPolicy(base_timeout=5, max_attempts=3).with_changes(jitter=0.2).jitter
    0.2

    Invalid values raise :class:`~chatconn.core.errors.ConfigError` (a ``ValueError``)
    naming the field, the value and the allowed range.
    """

    base_timeout: float = DEFAULT_BASE_TIMEOUT
    max_timeout: float = DEFAULT_MAX_TIMEOUT
    timeout_growth: float = DEFAULT_TIMEOUT_GROWTH
    extended_timeout: float = DEFAULT_EXTENDED_TIMEOUT
    timeout_spans_backoff: bool = False
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    initial_delay: float = DEFAULT_INITIAL_DELAY
    multiplier: float = DEFAULT_MULTIPLIER
    delay_step: float = 0.0
    max_delay: float = DEFAULT_MAX_DELAY
    delays: tuple[float, ...] | None = DEFAULT_DELAYS
    first_delay: float | None = None
    first_delay_jitter: JitterMode = JitterMode.NONE
    jitter: float = DEFAULT_JITTER
    jitter_mode: JitterMode = JitterMode.PROPORTIONAL
    window: float = 0.0
    window_floor: float = 0.0
    cap_after_jitter: bool = False
    wait_from: WaitAnchor = WaitAnchor.FAILURE
    deadline: float | None = None
    ladder: tuple[Strategy, ...] = field(default=DEFAULT_LADDER)
    retries_forever: bool = False
    diagnostics: DiagnosticsSettings = field(default=DiagnosticsSettings())

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "diagnostics", DiagnosticsSettings.coerce(self.diagnostics))
        for name in ("base_timeout", "max_timeout", "extended_timeout", "initial_delay"):
            put(self, name, _positive_finite(name, getattr(self, name)))
        put(self, "max_delay", _positive_finite("max_delay", self.max_delay))
        if self.max_timeout < self.base_timeout:
            raise ConfigError(
                "max_timeout", self.max_timeout, f"must be >= base_timeout ({self.base_timeout})"
            )
        if self.max_delay < self.initial_delay:
            raise ConfigError(
                "max_delay", self.max_delay, f"must be >= initial_delay ({self.initial_delay})"
            )
        for name in ("multiplier", "timeout_growth"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(name, value, "expected a number >= 1")
            if not math.isfinite(value) or value < 1:
                raise ConfigError(name, value, "expected a finite number >= 1")
            put(self, name, float(value))
        jitter = self.jitter
        if isinstance(jitter, bool) or not isinstance(jitter, int | float):
            raise ConfigError("jitter", jitter, "expected a number in [0, 1]")
        if not (0.0 <= jitter <= 1.0):  # also rejects NaN
            raise ConfigError("jitter", jitter, "expected a number in [0, 1]")
        put(self, "jitter", float(jitter))
        attempts = self.max_attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int):
            raise ConfigError("max_attempts", attempts, "expected a whole number >= 1")
        if not (1 <= attempts <= MAX_ATTEMPTS_LIMIT):
            raise ConfigError(
                "max_attempts", attempts, f"expected a whole number in [1, {MAX_ATTEMPTS_LIMIT}]"
            )
        put(self, "jitter_mode", _parse_enum(JitterMode, "jitter_mode", self.jitter_mode))
        put(
            self,
            "first_delay_jitter",
            _parse_enum(JitterMode, "first_delay_jitter", self.first_delay_jitter),
        )
        put(self, "wait_from", _parse_enum(WaitAnchor, "wait_from", self.wait_from))
        for name in ("delay_step", "window", "window_floor"):
            put(self, name, _non_negative(name, getattr(self, name)))
        self._validate_window()
        for name in ("timeout_spans_backoff", "cap_after_jitter", "retries_forever"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(name, getattr(self, name), "expected true or false")
        if self.first_delay is not None:
            put(self, "first_delay", _non_negative("first_delay", self.first_delay))
        if self.deadline is not None:
            put(self, "deadline", _positive_finite("deadline", self.deadline))
        if self.delays is not None:
            put(self, "delays", self._validated_delays(self.delays))
            if self.first_delay is not None:
                raise ConfigError(
                    "first_delay", self.first_delay, "must be None when a delays table is given"
                )
        put(self, "ladder", self._validated_ladder(self.ladder))

    def _validate_window(self) -> None:
        uses_window = JitterMode.WINDOW in (self.jitter_mode, self.first_delay_jitter)
        if not uses_window and (self.window or self.window_floor):
            name = "window" if self.window else "window_floor"
            raise ConfigError(
                name, getattr(self, name), "is only used by jitter_mode='window' (set it to 0)"
            )

    def _validated_delays(self, delays: Iterable[Any]) -> tuple[float, ...]:
        if isinstance(delays, str | bytes):
            raise ConfigError("delays", delays, "expected a sequence of seconds")
        table = tuple(_non_negative("delays", d) for d in delays)
        if not table:
            raise ConfigError("delays", table, "expected at least one wait (or None)")
        if self.max_attempts - 1 > len(table):
            raise ConfigError(
                "max_attempts",
                self.max_attempts,
                f"a table of {len(table)} delays allows at most {len(table) + 1} attempts",
            )
        return table

    @staticmethod
    def _validated_ladder(ladder: Iterable[Any]) -> tuple[Strategy, ...]:
        if isinstance(ladder, str):
            ladder = [part for part in ladder.split(",") if part.strip()]
        rungs = tuple(parse_strategy(s) for s in ladder)
        if not rungs:
            raise ConfigError("ladder", rungs, "expected at least one strategy")
        return rungs

    # ----------------------------------------------------------------- helpers
    def strategy_for(self, attempt: int) -> Strategy:
        """The strategy of attempt ``attempt`` (0-based); the last rung repeats."""
        if attempt < 0:
            raise ConfigError("attempt", attempt, "expected an index >= 0")
        return self.ladder[min(attempt, len(self.ladder) - 1)]

    @property
    def strategies(self) -> tuple[Strategy, ...]:
        """The strategy of every attempt, ``max_attempts`` long."""
        return tuple(self.strategy_for(k) for k in range(self.max_attempts))

    def with_changes(self, **changes: Any) -> RetryPolicy:
        """A copy with some fields changed, validated like a new policy."""
        unknown = sorted(set(changes) - set(self.field_names()))
        if unknown:
            raise UnknownNameError("policy field", unknown[0], self.field_names())
        return replace(self, **changes)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values: enums as their names, tuples as lists."""
        out: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if name == "diagnostics":
                value = self.diagnostics.to_dict()
            elif isinstance(value, Enum):
                value = value.value
            elif isinstance(value, tuple):
                value = [v.value if isinstance(v, Enum) else v for v in value]
            out[name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetryPolicy:
        """The inverse of :meth:`to_dict`; unknown keys are an error."""
        unknown = sorted(set(data) - set(cls.field_names()))
        if unknown:
            raise UnknownNameError("policy field", unknown[0], cls.field_names())
        values = dict(data)
        if values.get("delays") is not None:
            values["delays"] = tuple(values["delays"])
        if "ladder" in values:
            values["ladder"] = tuple(values["ladder"])
        return cls(**values)


def _non_negative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(name, value, "expected a number of seconds >= 0")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ConfigError(name, number, "expected a finite number >= 0")
    return number
