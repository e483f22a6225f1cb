"""Connection states, phases and the frozen events the manager emits.

Every transition and every attempt becomes an event; subscribe with a callback
(:meth:`EventBus.subscribe`) or iterate (``async for event in bus.stream()``). Events carry
no secrets: no token, no credentials in URLs.

States (what the user sees)::

    idle -> connecting -> connected -> reconnecting -> connected ...
                       \\-> degraded (connected through a fallback, or a warning)
                       \\-> failed (gave up; an explanation says why and what to try)
    any  -> closed

Phases of one connect: initializing -> diagnostics -> connecting -> authenticating ->
syncing -> connected.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from ..core.errors import ConfigError
from ..core.quality import Quality
from ..core.strategies import ErrorCategory, Strategy
from ..records import AttemptRecord

__all__ = [
    "HISTORY_LIMIT",
    "AttemptFinished",
    "AttemptStarted",
    "ConnectionEvent",
    "ConnectionState",
    "DiagnosticsDone",
    "EventBus",
    "Phase",
    "PhaseChanged",
    "StateChanged",
    "TokenReady",
    "Waiting",
    "WarningEvent",
]


class ConnectionState(StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    DEGRADED = "degraded"
    FAILED = "failed"
    CLOSED = "closed"


class Phase(StrEnum):
    INITIALIZING = "initializing"
    DIAGNOSTICS = "diagnostics"
    CONNECTING = "connecting"
    AUTHENTICATING = "authenticating"
    SYNCING = "syncing"
    CONNECTED = "connected"


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """Base of every event: ``elapsed_s`` since the connect began (wall seconds)."""

    elapsed_s: float

    @property
    def kind(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        out = {"kind": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, StrEnum | Quality):
                value = value.value
            elif hasattr(value, "to_dict"):  # an attempt record
                value = value.to_dict()
            out[f.name] = value
        return out


@dataclass(frozen=True, slots=True)
class StateChanged(ConnectionEvent):
    state: ConnectionState
    previous: ConnectionState
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PhaseChanged(ConnectionEvent):
    phase: Phase
    attempt: int | None = None


@dataclass(frozen=True, slots=True)
class AttemptStarted(ConnectionEvent):
    attempt: int  # 0-based
    attempts: int  # max_attempts of the policy: "attempt k+1 of N"
    strategy: Strategy
    timeout_s: float
    wait_before_s: float
    #: When the connect ends at the latest from here, in profile seconds since it began
    #: (:func:`chatconn.core.progress.planned_end`): the denominator of percent progress.
    planned_end_s: float | None = None


@dataclass(frozen=True, slots=True)
class AttemptFinished(ConnectionEvent):
    attempt: int
    attempts: int
    strategy: Strategy
    timeout_s: float
    duration_s: float
    connected: bool
    error_category: ErrorCategory
    quality: Quality | None  # of the time to connect, when this attempt connected
    message: str = ""
    #: The attempt's full record (redacted), for writers of run files.
    record: AttemptRecord | None = None


@dataclass(frozen=True, slots=True)
class Waiting(ConnectionEvent):
    next_attempt: int
    seconds: float
    #: As :attr:`AttemptStarted.planned_end_s`, for the attempt after the wait.
    planned_end_s: float | None = None


@dataclass(frozen=True, slots=True)
class TokenReady(ConnectionEvent):
    """The connect has its token (never shown): reused from an earlier connect, or fetched.

    ``reason``: ``"first"``, ``"reused"``, ``"expired"`` or ``"rejected"``
    (:class:`~chatconn.live.token_cache.TokenGrant`); ``fetches``: the provider's fetches
    made for this connect so far (0 when the token was reused; 2 after a rejected reused
    token was replaced).
    """

    reused: bool
    reason: str
    fetches: int


@dataclass(frozen=True, slots=True)
class DiagnosticsDone(ConnectionEvent):
    latency_s: float | None
    http_ok: bool
    websocket_ok: bool
    summary: str


@dataclass(frozen=True, slots=True)
class WarningEvent(ConnectionEvent):
    code: str
    message: str


_END = object()
#: Events an EventBus keeps in :attr:`EventBus.history` (the latest; older ones drop off).
HISTORY_LIMIT = 1000
_log = logging.getLogger(__name__)


class EventBus:
    """Fan-out of events to callbacks and async iterators.

    A failing callback is isolated — the connection goes on — and logged (with its
    traceback, at ERROR on the ``chatconn.live.events`` logger) and counted in
    :attr:`callback_errors`. :attr:`history` keeps the latest ``history_limit`` events, so a
    manager that reconnects for days does not grow without bound.
    """

    def __init__(self, history_limit: int = HISTORY_LIMIT) -> None:
        if isinstance(history_limit, bool) or not isinstance(history_limit, int):
            raise ConfigError("history_limit", history_limit, "expected a whole number >= 0")
        if history_limit < 0:
            raise ConfigError("history_limit", history_limit, "expected a whole number >= 0")
        # A tuple replaced on (un)subscribe: emit iterates it without copying, and a callback
        # that (un)subscribes during an emit changes the next emit, not this one.
        self._callbacks: tuple[Callable[[ConnectionEvent], Any], ...] = ()
        self._queues: list[asyncio.Queue[Any]] = []
        self.history: deque[ConnectionEvent] = deque(maxlen=history_limit)
        self.callback_errors = 0

    def subscribe(self, callback: Callable[[ConnectionEvent], Any]) -> Callable[[], None]:
        """Call ``callback(event)`` for every event; returns a function that unsubscribes."""
        self._callbacks = (*self._callbacks, callback)

        def unsubscribe() -> None:
            callbacks = list(self._callbacks)
            if callback in callbacks:
                callbacks.remove(callback)
                self._callbacks = tuple(callbacks)

        return unsubscribe

    def emit(self, event: ConnectionEvent) -> None:
        self.history.append(event)
        for callback in self._callbacks:
            try:
                callback(event)
            except Exception:  # a subscriber's bug must not break the connection
                self.callback_errors += 1
                _log.exception("event subscriber %r failed on a %s event", callback, event.kind)
        if self._queues:
            for queue in self._queues:
                queue.put_nowait(event)

    async def stream(self) -> AsyncIterator[ConnectionEvent]:
        """Every event from now on, until :meth:`close`."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._queues.append(queue)
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                yield item
        finally:
            self._queues.remove(queue)

    def close(self) -> None:
        for queue in self._queues:
            queue.put_nowait(_END)
