"""What the live sessions share: a queue of received messages that an error ends, and
``close``/``abort`` as the graceful and the abrupt way of one ``_close``."""

from __future__ import annotations

import asyncio
from typing import Any

from .errors import ConnectionReset, LiveError

__all__ = ["CLOSED", "ClosingSession", "QueuedSession"]

#: Put on a session's queue once it failed: every ``receive`` from then on raises.
CLOSED = object()


class QueuedSession:
    """``receive`` from ``_queue``; ``_fail`` records the first error and ends the queue.

    Subclasses set ``url``, ``_error`` (None) and ``_queue`` in their ``__init__``."""

    url: str
    _error: LiveError | None
    _queue: asyncio.Queue[Any]

    def _fail(self, error: LiveError) -> None:
        if self._error is None:
            self._error = error
            self._queue.put_nowait(CLOSED)

    def _fresh_error(self) -> LiveError:
        error = self._error or ConnectionReset(f"{self.url}: the session is closed")
        return type(error)(str(error))

    async def receive(self) -> dict[str, Any]:
        item = await self._queue.get()
        if item is CLOSED:
            self._queue.put_nowait(CLOSED)  # every later call raises too
            raise self._fresh_error()
        return item


class ClosingSession:
    """``close`` and ``abort`` for a session whose ``_close(graceful=...)`` does both."""

    async def _close(self, *, graceful: bool) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        """Closing handshake (bounded), then nothing is left; idempotent."""
        await self._close(graceful=True)

    async def abort(self) -> None:
        """Drop the connection without a closing handshake (no network wait); idempotent."""
        await self._close(graceful=False)
