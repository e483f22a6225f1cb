"""What every transport gives the manager: a connected :class:`Session`, one interface.

Transports (:mod:`chatconn.live.transports`) implement :func:`open_session` for each
strategy. The manager wraps each call in one deadline (``asyncio.timeout``) that covers
TCP connect, handshake, auth and sync; a transport itself never waits forever.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..core.strategies import Strategy

__all__ = ["PhaseClock", "Session"]


@dataclass(slots=True)
class PhaseClock:
    """Records when each phase of one attempt completed, in seconds since its start.

    Transports call :meth:`mark` with "tcp", "handshake", "auth", "sync" as they pass them.
    """

    clock: Callable[[], float] = time.perf_counter
    listener: Callable[[str], None] | None = None
    started: float = field(default=0.0)
    marks: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def mark(self, phase: str) -> None:
        """Record that ``phase`` is done; tells the listener (the manager's phase events)."""
        self.marks[phase] = self.clock() - self.started
        if self.listener is not None:
            self.listener(phase)

    def elapsed(self) -> float:
        return self.clock() - self.started


@runtime_checkable
class Session(Protocol):
    """A connected chat session, whatever carries it."""

    strategy: Strategy
    session_id: str
    url: str

    async def send(self, text: str) -> None:
        """Send a chat message."""

    async def receive(self) -> dict[str, Any]:
        """The next chat message ({"type": "message", "from", "text"}); raises
        :class:`~chatconn.live.errors.ConnectionReset` when the connection is gone."""

    async def ping(self) -> None:
        """One heartbeat round trip (ping -> pong); raises when the peer is gone."""

    async def close(self) -> None:
        """Release every socket and task; idempotent."""
