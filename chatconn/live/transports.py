"""Open a chat session with one strategy: the transports behind the manager.

::

    session = await open_session(Strategy.LONG_POLLING, endpoint, token, PhaseClock())
    await session.send("hello"); message = await session.receive(); await session.close()

==================  ==============================================  =====================
strategy            transport                                       round trips (lab)
==================  ==============================================  =====================
direct_websocket    websockets on ``endpoint.primary``              4 (tcp, upgrade, auth,
extended_timeout    the same (the manager gives it a longer timeout)   sync)
multiple_ports      websockets on every ``endpoint.alternatives``   4 (the fastest port)
                    at once; the first through auth+sync wins, the
                    others are cancelled and closed
long_polling        httpx: POST /lp/connect, POST /lp/sync, then a  3
                    background GET /lp/poll loop
sse_fallback        httpx-sse: GET /sse; httpx POST /sse/sync on a  4
                    second connection; POSTs to send
==================  ==============================================  =====================

Every transport marks ``phases`` with "tcp", "handshake", "auth" and "sync" as it passes
them (for ``multiple_ports``, the first port to reach each phase), and raises
:mod:`chatconn.live.errors` (see :mod:`.ws_transport` and :mod:`.http_transport` for the
mapping). Nothing here bounds the attempt in time: the manager wraps ``open_session`` in
``asyncio.timeout``; cancelling it closes whatever was opened. A session's ``close()`` is
idempotent and leaves no task or socket behind. Tokens appear in no message, log or repr.
"""

from __future__ import annotations

import asyncio
import ssl as ssl_module

import httpx

from ..core.errors import ConfigError
from ..core.strategies import Strategy, parse_strategy
from ..endpoint import Endpoint, StreamEndpoint
from .errors import ConnectionReset, LiveError
from .http_transport import LongPollingSession, SseSession, open_long_polling, open_sse
from .session import PhaseClock, Session
from .ws_transport import PhaseMarks, WebSocketSession, open_websocket

__all__ = [
    "LongPollingSession",
    "SseSession",
    "WebSocketSession",
    "open_session",
]


async def open_session(
    strategy: Strategy | str,
    endpoint: Endpoint,
    token: str,
    phases: PhaseClock,
    *,
    session_tag: str | None = None,
    ssl: ssl_module.SSLContext | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> Session:
    """Connect, authenticate and sync one session of ``strategy`` (see the module doc).

    ``session_tag`` is sent as ``X-Chatconn-Session`` (the lab draws a tagged session's
    conditions once); ``ssl`` is used for wss:// and https://; ``http_client`` is used
    (not closed) by the HTTP strategies instead of a client of their own.
    """
    strategy = parse_strategy(strategy)
    if not isinstance(token, str):
        raise ConfigError("token", "<hidden>", "expected a string")
    if isinstance(endpoint, StreamEndpoint):  # Stream's API
        from .stream_transport import open_stream_session

        return await open_stream_session(
            strategy, endpoint, token, phases, ssl=ssl, http_client=http_client
        )
    if strategy in (Strategy.DIRECT_WEBSOCKET, Strategy.EXTENDED_TIMEOUT):
        return await open_websocket(
            endpoint.primary, token, phases, strategy=strategy, session_tag=session_tag, ssl=ssl
        )
    if strategy is Strategy.MULTIPLE_PORTS:
        return await _open_first(endpoint, token, phases, session_tag=session_tag, ssl=ssl)
    opener = open_long_polling if strategy is Strategy.LONG_POLLING else open_sse
    return await opener(
        endpoint.http_url,
        token,
        phases,
        session_tag=session_tag,
        ssl=ssl,
        http_client=http_client,
    )


class _FirstMarks:
    """Marks each phase once: when the first of several concurrent legs reaches it."""

    def __init__(self, phases: PhaseMarks) -> None:
        self._phases = phases
        self._seen: set[str] = set()

    def mark(self, phase: str) -> None:
        if phase not in self._seen:
            self._seen.add(phase)
            self._phases.mark(phase)


async def _open_first(
    endpoint: Endpoint,
    token: str,
    phases: PhaseMarks,
    *,
    session_tag: str | None,
    ssl: ssl_module.SSLContext | None,
) -> WebSocketSession:
    """WebSocket on every alternative URL at once; keep the first through auth and sync.

    A fatal error (AuthRejected, ProtocolViolation) ends the attempt at once; otherwise it
    fails when every leg has failed, with the last leg's error.
    """
    urls = endpoint.alternatives
    if not urls:
        raise ConfigError(
            "endpoint.ws_urls", len(endpoint.ws_urls), "multiple_ports needs alternative URLs"
        )
    marks = _FirstMarks(phases)
    loop = asyncio.get_running_loop()
    legs = [
        loop.create_task(
            open_websocket(
                url,
                token,
                marks,
                strategy=Strategy.MULTIPLE_PORTS,
                session_tag=session_tag,
                ssl=ssl,
            )
        )
        for url in urls
    ]
    winner: WebSocketSession | None = None
    try:
        pending = set(legs)
        last_error: BaseException | None = None
        while pending and winner is None:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for leg in legs:  # in URL order when several finish together
                if leg not in done:
                    continue
                error = leg.exception()
                if error is None:
                    winner = winner or leg.result()
                elif isinstance(error, LiveError) and not error.retryable:
                    raise error
                else:
                    last_error = error
        if winner is None:  # every leg failed (there is at least one: urls is not empty)
            raise last_error or ConnectionReset("every alternative port failed")
        return winner
    finally:
        for leg in legs:
            leg.cancel()
        results = await asyncio.gather(*legs, return_exceptions=True)
        for result in results:
            if isinstance(result, WebSocketSession) and result is not winner:
                await result.abort()  # no closing handshake: the winner is not kept waiting
