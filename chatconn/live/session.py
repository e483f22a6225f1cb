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
from urllib.parse import urlsplit, urlunsplit

from ..core.errors import ConfigError
from ..core.strategies import Strategy

__all__ = ["Endpoint", "PhaseClock", "Session", "join_url", "redact_url"]


@dataclass(frozen=True, slots=True, repr=False)
class Endpoint:
    """Where a chat server listens: WebSocket URLs (primary first, then alternatives) and
    the HTTP base URL for long polling, SSE, tokens and probes.

    ``ws://``/``wss://`` and ``http://``/``https://`` only; validated on construction.
    URLs may carry a ``?query`` (a token, say), and WebSocket URLs ``user:password@``:
    requests keep them (paths go in front of the query, :func:`join_url`) and the repr drops
    them. The HTTP URL takes no ``user:password@``: its requests carry the token in the
    ``Authorization`` header, which URL credentials would replace.
    """

    ws_urls: tuple[str, ...]
    http_url: str

    def __post_init__(self) -> None:
        urls = tuple(self.ws_urls)
        if not urls:
            raise ConfigError("ws_urls", urls, "expected at least the primary WebSocket URL")
        for url in urls:
            _check_url("ws_urls", url, ("ws", "wss"))
        _check_url("http_url", self.http_url, ("http", "https"))
        if "@" in urlsplit(self.http_url).netloc:
            raise ConfigError(
                "http_url",
                redact_url(self.http_url),
                "drop user:password@: HTTP requests carry the token in the Authorization "
                "header, which URL credentials would replace",
            )
        object.__setattr__(self, "ws_urls", urls)
        object.__setattr__(self, "http_url", join_url(self.http_url, ""))

    def __repr__(self) -> str:
        urls = tuple(redact_url(url) for url in self.ws_urls)
        return f"Endpoint({urls!r}, {redact_url(self.http_url)!r})"

    def http(self, path: str) -> str:
        """The URL of ``path`` (``/lp/connect``) on the HTTP base URL, its query kept."""
        return join_url(self.http_url, path)

    def unusable(self) -> dict[Strategy, str]:
        """Strategies this endpoint cannot serve, each with the reason (for warnings)."""
        if self.alternatives:
            return {}
        return {Strategy.MULTIPLE_PORTS: "multiple_ports needs alternative WebSocket URLs"}

    @property
    def primary(self) -> str:
        return self.ws_urls[0]

    @property
    def alternatives(self) -> tuple[str, ...]:
        return self.ws_urls[1:]


def _check_url(name: str, url: Any, schemes: tuple[str, ...]) -> None:
    if not isinstance(url, str):
        raise ConfigError(name, url, f"expected a {'/'.join(schemes)} URL")
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(
            name,
            redact_url(url),
            f"expected a {' or '.join(s + '://' for s in schemes)} URL with a host",
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(name, redact_url(url), "the port is not a number in 0-65535") from None


def redact_url(url: str) -> str:
    """A URL without user:password@ and without its query (which may carry tokens)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]  # drop user:password@
    return f"{parts.scheme}://{netloc}{parts.path}"


def join_url(base: str, path: str) -> str:
    """``path`` appended to the path of the base URL ``base``, keeping its credentials and
    query: ``join_url("http://u:p@h/api/?k=v", "/lp/connect")`` is
    ``"http://u:p@h/api/lp/connect?k=v"``. An empty ``path`` strips a trailing slash."""
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + path, parts.query, ""))


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
