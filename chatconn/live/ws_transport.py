"""WebSocket transport: ``direct_websocket``, ``extended_timeout`` and each leg of
``multiple_ports``.

One attempt, in the phases of :mod:`chatconn.wire` (4 round trips through the lab,
the first charged by its proxy for the TCP handshake)::

    tcp        socket connected with loop.sock_connect     phases.mark("tcp")
    handshake  HTTP Upgrade -> 101 (websockets)            phases.mark("handshake")
    auth       {"type": "auth"} -> {"type": "connected"}   phases.mark("auth")
    sync       {"type": "sync"} -> {"type": "sync"}        phases.mark("sync")

No timeout here: the manager bounds the whole attempt with ``asyncio.timeout``, and a
cancelled attempt closes its socket. Failures become :mod:`chatconn.live.errors`: a refused
TCP connect -> ConnectionRefused; a reset (during or after connect) or EOF during the
handshake -> ConnectionReset; an HTTP 4xx answer to the upgrade -> UpgradeRejected (401 ->
AuthRejected); 5xx -> ServerUnavailable; close 4001 or an ``auth_failed`` error ->
AuthRejected; anything that is not the protocol -> ProtocolViolation. ``wss://`` verifies
the server's certificate with the ``ssl`` context given, else
:func:`~chatconn.live.tls.default_tls`; TLS failures map as :func:`~chatconn.live.tls.tls_error`
says (a certificate that does not verify -> CertificateRejected).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import ssl as ssl_module
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
)

from ..core.strategies import Strategy
from ..endpoint import redact_url
from ..wire import AUTH_FAILED_CLOSE_CODE, SESSION_HEADER, ProtocolError, decode, encode
from .errors import (
    AttemptTimeout,
    AuthRejected,
    ConnectionRefused,
    ConnectionReset,
    LiveError,
    ProtocolViolation,
    status_error,
)
from .queued_session import CLOSED, ClosingSession, QueuedSession
from .tls import default_tls, tls_error

__all__ = [
    "CLOSE_TIMEOUT_S",
    "MAX_MESSAGE_BYTES",
    "PhaseMarks",
    "WebSocketSession",
    "handshake",
    "open_websocket",
    "tcp_connect",
]

#: Longest wait for the closing handshake before the socket is dropped.
CLOSE_TIMEOUT_S = 3.0
#: Largest message accepted from the server (the initial sync can be large).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

# websockets logs every frame at DEBUG, the auth frame (with its token) included: give it
# a logger of ours that never goes below INFO.
_ws_logger = logging.getLogger("chatconn.live.websocket")
_ws_logger.setLevel(logging.INFO)


class PhaseMarks(Protocol):
    """Something with ``mark(phase)``: a PhaseClock, or a wrapper around one."""

    def mark(self, phase: str) -> None: ...


def _is_ip(host: str) -> bool:
    # inet_pton, not ipaddress.ip_address: ~20x cheaper, once per attempt
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        return True
    return False


async def tcp_connect(host: str, port: int, where: str) -> socket.socket:
    """A connected non-blocking TCP socket, or ConnectionRefused / ConnectionReset /
    AttemptTimeout.

    A reset seen while connecting is a reset, not a refusal: it comes from a peer that
    accepted and reset at once (the lab's per-connection "refuse"), which a client may see
    during connect or just after it; either way the category is the same (RESET).
    """
    loop = asyncio.get_running_loop()
    if _is_ip(host):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        addresses: list[tuple[Any, ...]] = [(family, socket.SOCK_STREAM, 0, "", (host, port))]
    else:
        try:
            addresses = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ConnectionRefused(f"{where}: cannot resolve the host ({exc.strerror})") from exc
    error: OSError | None = None
    for family, kind, proto, _, address in addresses:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await loop.sock_connect(sock, address)
        except BaseException as exc:
            sock.close()
            if not isinstance(exc, OSError):
                raise
            error = exc
            continue
        return sock
    if isinstance(error, TimeoutError):
        raise AttemptTimeout(f"{where}: the TCP connect timed out") from error
    if isinstance(error, ConnectionResetError):
        raise ConnectionReset(f"{where}: the connection was reset during connect") from error
    reason = error.strerror if error is not None and error.strerror else "failed"
    raise ConnectionRefused(f"{where}: connection refused ({reason})") from error


def _handshake_error(exc: BaseException, where: str) -> LiveError:
    if isinstance(exc, InvalidStatus):
        return status_error(exc.response.status_code, where, what="the WebSocket upgrade")
    if isinstance(exc, InvalidMessage):  # EOF or reset before a valid response
        return ConnectionReset(f"{where}: the connection closed during the WebSocket handshake")
    if isinstance(exc, ssl_module.SSLError):
        return tls_error(exc, where)
    if isinstance(exc, OSError | EOFError):
        return ConnectionReset(f"{where}: the connection was reset during the handshake")
    if isinstance(exc, InvalidHandshake):
        return ProtocolViolation(f"{where}: not a valid WebSocket handshake ({exc})")
    return ProtocolViolation(f"{where}: the WebSocket handshake failed ({type(exc).__name__})")


def _closed_error(exc: ConnectionClosed, where: str, during: str) -> LiveError:
    code = exc.rcvd.code if exc.rcvd is not None else None
    if code == AUTH_FAILED_CLOSE_CODE:
        return AuthRejected(f"{where}: the server rejected the token (close code 4001)")
    detail = f"close code {code}" if code is not None else "no close frame"
    return ConnectionReset(f"{where}: the connection closed {during} ({detail})")


def _error_message(message: dict[str, Any], where: str) -> LiveError:
    code = str(message.get("code", ""))[:40]
    if code == "auth_failed":
        return AuthRejected(f"{where}: the server rejected the token")
    return ProtocolViolation(f"{where}: the server answered with an error ({code!r})")


async def drop(ws: ClientConnection) -> None:
    """Abort the connection and wait until websockets has let go of it (its keepalive task
    included), so that nothing is left behind. No network wait."""
    keepalive = ws.keepalive_task
    ws.transport.abort()
    with contextlib.suppress(Exception):
        await ws.wait_closed()
    if keepalive is not None:
        await asyncio.gather(keepalive, return_exceptions=True)


async def _recv(ws: ClientConnection, where: str, during: str) -> dict[str, Any]:
    try:
        raw = await ws.recv()
    except ConnectionClosed as exc:
        raise _closed_error(exc, where, during) from exc
    try:
        return decode(raw)
    except ProtocolError as exc:
        raise ProtocolViolation(f"{where}: {exc} {during}") from exc


async def handshake(
    url: str, phases: PhaseMarks, *, ssl: ssl_module.SSLContext | None, **options: Any
) -> tuple[ClientConnection, str]:
    """TCP connect and WebSocket handshake at ``url`` (phases ``tcp`` and ``handshake``), with
    the options every chatconn WebSocket shares; ``options`` add to them (headers, pings).
    Returns the connection and ``url`` redacted for messages. Used by both protocols' sessions.
    """
    where = redact_url(url)
    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    host = parts.hostname or ""
    sock = await tcp_connect(host, parts.port or (443 if secure else 80), where)
    phases.mark("tcp")
    try:
        ws = await ws_connect(
            url,
            sock=sock,
            open_timeout=None,
            proxy=None,
            ssl=(ssl or default_tls()) if secure else None,  # one context per process
            server_hostname=host if secure else None,
            compression=None,
            max_size=MAX_MESSAGE_BYTES,
            close_timeout=CLOSE_TIMEOUT_S,
            logger=_ws_logger,
            **options,
        )
    except asyncio.CancelledError:
        sock.close()
        raise
    except Exception as exc:
        sock.close()
        raise _handshake_error(exc, where) from exc
    phases.mark("handshake")
    return ws, where


async def open_websocket(
    url: str,
    token: str,
    phases: PhaseMarks,
    *,
    strategy: Strategy = Strategy.DIRECT_WEBSOCKET,
    session_tag: str | None = None,
    ssl: ssl_module.SSLContext | None = None,
) -> WebSocketSession:
    """Connect, authenticate and sync one WebSocket session at ``url``."""
    headers: Mapping[str, str] | None = {SESSION_HEADER: session_tag} if session_tag else None
    ws, where = await handshake(url, phases, ssl=ssl, additional_headers=headers)
    early: list[dict[str, Any]] = []
    try:
        try:
            await ws.send(encode({"type": "auth", "token": token}))
        except ConnectionClosed as exc:
            raise _closed_error(exc, where, "before auth") from exc
        message = await _recv(ws, where, "during auth")
        if message["type"] == "error":
            raise _error_message(message, where)
        if message["type"] != "connected" or not isinstance(message.get("session"), str):
            raise ProtocolViolation(f"{where}: expected 'connected', got {message['type']!r}")
        session_id = message["session"]
        phases.mark("auth")
        try:
            await ws.send(encode({"type": "sync"}))
        except ConnectionClosed as exc:
            raise _closed_error(exc, where, "before sync") from exc
        while True:
            message = await _recv(ws, where, "during sync")
            if message["type"] == "message":
                early.append(message)  # broadcast before the sync answer: keep it
            elif message["type"] == "sync":
                break
            elif message["type"] == "error":
                raise _error_message(message, where)
            else:
                raise ProtocolViolation(f"{where}: expected 'sync', got {message['type']!r}")
        phases.mark("sync")
    except BaseException:
        await drop(ws)
        raise
    return WebSocketSession(ws, strategy, session_id, where, message, early)


class WebSocketSession(QueuedSession, ClosingSession):
    """A connected WebSocket chat session (see :class:`chatconn.live.session.Session`).

    ``history`` holds the messages of the initial sync, ``sync_bytes`` its payload size.
    """

    def __init__(
        self,
        ws: ClientConnection,
        strategy: Strategy,
        session_id: str,
        url: str,
        sync: dict[str, Any],
        early: list[dict[str, Any]],
    ) -> None:
        self._ws = ws
        self.strategy = strategy
        self.session_id = session_id
        self.url = url
        self.history: list[dict[str, Any]] = list(sync.get("messages") or [])
        self.sync_bytes = len(str(sync.get("payload", "")))
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        for message in early:
            self._queue.put_nowait(message)
        self._pings: dict[int, asyncio.Future[None]] = {}
        self._ids = itertools.count(1)
        self._error: LiveError | None = None
        self._closed = False
        self._close_done = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"WebSocketSession(strategy={self.strategy.value!r}, "
            f"session_id={self.session_id!r}, url={self.url!r}, {state})"
        )

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                try:
                    message = decode(raw)
                except ProtocolError as exc:
                    self._fail(ProtocolViolation(f"{self.url}: {exc}"))
                    await self._ws.close(1002, "protocol error")
                    return
                kind = message["type"]
                if kind == "message":
                    self._queue.put_nowait(message)
                elif kind == "pong":
                    future = self._pings.pop(message.get("id"), None)  # type: ignore[arg-type]
                    if future is not None and not future.done():
                        future.set_result(None)
                # other types (errors about our own messages, newer ones) are not for the user
        except ConnectionClosed as exc:
            self._fail(_closed_error(exc, self.url, "during the session"))
        finally:
            self._fail(ConnectionReset(f"{self.url}: the connection is closed"))

    def _fail(self, error: LiveError) -> None:
        if self._error is not None:
            return
        self._error = error
        self._queue.put_nowait(CLOSED)
        for future in self._pings.values():
            if not future.done():
                future.set_exception(self._fresh_error())
        self._pings.clear()

    def _fresh_error(self) -> LiveError:
        error = self._error or ConnectionReset(f"{self.url}: the connection is closed")
        return type(error)(str(error))

    async def send(self, text: str) -> None:
        if self._error is not None:
            raise self._fresh_error()
        try:
            await self._ws.send(encode({"type": "message", "text": str(text)}))
        except ConnectionClosed as exc:
            raise _closed_error(exc, self.url, "while sending") from exc

    async def ping(self) -> None:
        if self._error is not None:
            raise self._fresh_error()
        ping_id = next(self._ids)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pings[ping_id] = future
        try:
            await self._ws.send(encode({"type": "ping", "id": ping_id}))
            await future
        except ConnectionClosed as exc:
            raise _closed_error(exc, self.url, "during a ping") from exc
        finally:
            self._pings.pop(ping_id, None)

    async def _close(self, *, graceful: bool) -> None:
        if self._closed:
            await self._close_done.wait()
            return
        self._closed = True
        try:
            self._fail(ConnectionReset(f"{self.url}: the session was closed"))
            if graceful:
                with contextlib.suppress(Exception):
                    await self._ws.close()
        finally:
            await drop(self._ws)
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._close_done.set()
