"""HTTP transports: ``long_polling`` and ``sse_fallback`` (httpx, httpx-sse).

Round trips through the lab (each new TCP connection is charged one RTT by its proxy)::

    long polling  POST /lp/connect (new connection)           2 RTT   tcp, handshake, auth
                  POST /lp/sync    (same keep-alive connection) 1 RTT   sync
                  then GET /lp/poll in a background loop feeding receive()
    SSE           GET /sse (new connection), first event        2 RTT   tcp, handshake, auth
                  POST /sse/sync   (a second connection)        2 RTT   sync
                  then the event stream feeds receive(); sends are POSTs

"tcp" is marked when httpx's TCP connect completes and "handshake" when the first response
head arrives (httpx's ``trace`` extension). Requests carry no timeout of their own except
the long poll's read (``POLL_S + POLL_GRACE_S``): the manager bounds the attempt.

Failures: refused TCP connect -> ConnectionRefused; reset (during connect or after) or
EOF -> ConnectionReset; 401 -> AuthRejected; other 4xx -> UpgradeRejected (a proxy in the way);
5xx -> ServerUnavailable; 404 on a session URL -> ConnectionReset (the server forgot the
session); a TLS failure as :func:`~chatconn.live.tls.tls_error` says (a certificate that does
not verify -> CertificateRejected); anything that is not the protocol -> ProtocolViolation.
The token travels only in the ``Authorization`` header of the first request and is kept
nowhere. ``https://`` verifies certificates with the ``ssl`` context given, else
:func:`~chatconn.live.tls.default_tls`.

A client made here trusts no proxy environment variables (``trust_env=False``), as the
WebSocket transport connects its own sockets; pass ``http_client`` to decide otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as ssl_module
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, SSEError, aconnect_sse

from .. import wire as P
from ..core.strategies import Strategy
from ..endpoint import join_url, redact_url
from .errors import (
    AttemptTimeout,
    ConnectionRefused,
    ConnectionReset,
    LiveError,
    ProtocolViolation,
    status_error,
)
from .queued_session import QueuedSession
from .tls import default_tls, tls_error
from .ws_transport import PhaseMarks

__all__ = [
    "POLL_GRACE_S",
    "POLL_S",
    "HttpSession",
    "LongPollingSession",
    "SseSession",
    "open_long_polling",
    "open_sse",
]

#: How long the server may hold one long poll.
POLL_S = 25.0
#: Extra read time on a long poll before the connection counts as lost.
POLL_GRACE_S = 15.0

_NO_TIMEOUT = httpx.Timeout(None)
_SETTLE_TURNS = 3
_plain_context: ssl_module.SSLContext | None = None


def _plain_http_context() -> ssl_module.SSLContext:
    """For http:// clients: httpx wants a context, none is used. Without CA certificates it
    verifies nothing, so it fails closed if it ever were used (it costs no CA bundle load)."""
    global _plain_context
    if _plain_context is None:
        _plain_context = ssl_module.SSLContext(ssl_module.PROTOCOL_TLS_CLIENT)
    return _plain_context


def _new_client(ssl: ssl_module.SSLContext | None, base: str) -> httpx.AsyncClient:
    if ssl is None:
        ssl = default_tls() if base.startswith("https:") else _plain_http_context()
    return httpx.AsyncClient(verify=ssl, trust_env=False, timeout=_NO_TIMEOUT)


class _Tracer:
    """httpx ``trace`` extension: marks "tcp" and "handshake" on the first request."""

    def __init__(self, phases: PhaseMarks, marks: dict[str, float] | None) -> None:
        self.phases = phases
        self.done: set[str] = set(marks or ())

    def _mark(self, phase: str) -> None:
        if phase not in self.done:
            self.done.add(phase)
            self.phases.mark(phase)

    async def __call__(self, name: str, info: dict[str, Any]) -> None:
        if name == "connection.connect_tcp.complete":
            self._mark("tcp")
        elif name.endswith("receive_response_headers.complete"):
            self._mark("tcp")  # a reused keep-alive connection has no connect event
            self._mark("handshake")


def _causes(exc: BaseException) -> list[BaseException]:
    """The chain of causes under ``exc`` (httpcore and anyio wrap OS errors twice)."""
    chain: list[BaseException] = []
    current = exc.__cause__ or exc.__context__
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def transport_error(exc: httpx.HTTPError, where: str) -> LiveError:
    """An httpx error as a live error."""
    if isinstance(exc, httpx.TimeoutException):
        return AttemptTimeout(f"{where}: timed out ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError):
        causes = _causes(exc)
        tls = next((c for c in causes if isinstance(c, ssl_module.SSLError)), None)
        if tls is not None:
            return tls_error(tls, where)
        if any(isinstance(c, ConnectionResetError) for c in causes):
            # accepted and reset at once: a reset, as in ws_transport.tcp_connect
            return ConnectionReset(f"{where}: the connection was reset during connect")
        return ConnectionRefused(f"{where}: connection refused")
    if isinstance(exc, httpx.RemoteProtocolError) and "disconnected" not in str(exc).lower():
        return ProtocolViolation(f"{where}: not valid HTTP from the server")
    if isinstance(exc, httpx.TransportError):
        return ConnectionReset(f"{where}: the connection was lost ({type(exc).__name__})")
    return ProtocolViolation(f"{where}: {type(exc).__name__}")


def _decode(text: str, expect: str, where: str) -> dict[str, Any]:
    try:
        message = P.decode(text, expect=expect)
    except P.ProtocolError as exc:
        raise ProtocolViolation(f"{where}: {exc}") from exc
    if message["type"] == "error":
        raise ProtocolViolation(f"{where}: the server answered with an error")
    return message


class HttpSession(QueuedSession):
    """What long polling and SSE share: queue, send, ping, close."""

    send_path = ""

    def __init__(
        self,
        client: httpx.AsyncClient,
        own_client: bool,
        base: str,
        strategy: Strategy,
        headers: dict[str, str],
    ) -> None:
        self._client = client
        self._own_client = own_client
        self._base = base
        self._headers = headers  # the session tag only: never the token
        self.strategy = strategy
        self.session_id = ""
        self.url = redact_url(join_url(base, ""))
        self.history: list[dict[str, Any]] = []
        self.sync_bytes = 0
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._error: LiveError | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._close_done = asyncio.Event()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"{type(self).__name__}(strategy={self.strategy.value!r}, "
            f"session_id={self.session_id!r}, url={self.url!r}, {state})"
        )

    async def _call(
        self, method: str, path: str, *, session_url: bool = True, **kwargs: Any
    ) -> httpx.Response:
        where = self.url + path
        if session_url:
            kwargs.setdefault("params", {})["session"] = self.session_id
        headers = {**self._headers, **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", _NO_TIMEOUT)
        # The base URL's own query (a token, say) is kept: httpx's params= would replace it.
        url = httpx.URL(join_url(self._base, path)).copy_merge_params(kwargs.pop("params", {}))
        try:
            response = await self._client.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_error(exc, where) from exc
        if not 200 <= response.status_code < 300:
            raise status_error(response.status_code, where, session_url=session_url)
        return response

    async def _sync(self, path: str, phases: PhaseMarks) -> None:
        response = await self._call("POST", path)
        message = _decode(response.text, "sync", self.url + path)
        self.history = list(message.get("messages") or [])
        self.sync_bytes = len(str(message.get("payload", "")))
        phases.mark("sync")

    def _deliver(self, message: Any) -> None:
        if isinstance(message, dict) and message.get("type") == "message":
            self._queue.put_nowait(message)

    async def send(self, text: str) -> None:
        if self._error is not None:
            raise self._fresh_error()
        await self._call("POST", self.send_path, json={"text": str(text)})

    async def ping(self) -> None:
        if self._error is not None:
            raise self._fresh_error()
        response = await self._call("GET", P.LP_PING)
        _decode(response.text, "pong", self.url + P.LP_PING)

    async def close(self) -> None:
        """Stop the background loop and release the client (if ours); idempotent."""
        if self._closed:
            await self._close_done.wait()
            return
        self._closed = True
        try:
            self._fail(ConnectionReset(f"{self.url}: the session was closed"))
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task
        finally:
            if self._own_client:
                await self._client.aclose()
            # httpx's response generators, dropped mid-stream, are closed by asyncio's
            # finalizer tasks: let them run now so that nothing outlives close().
            for _ in range(_SETTLE_TURNS):
                await asyncio.sleep(0)
            self._close_done.set()


class LongPollingSession(HttpSession):
    send_path = P.LP_SEND

    def _start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        timeout = httpx.Timeout(None, read=POLL_S + POLL_GRACE_S)
        try:
            while True:
                response = await self._call(
                    "GET", P.LP_POLL, params={"timeout": POLL_S}, timeout=timeout
                )
                message = _decode(response.text, "messages", self.url + P.LP_POLL)
                for item in message.get("messages") or []:
                    self._deliver(item)
        except LiveError as exc:
            self._fail(exc)
        finally:
            self._fail(ConnectionReset(f"{self.url}: polling stopped"))


class SseSession(HttpSession):
    send_path = P.SSE_SEND

    async def _stream(self, token: str, connected: asyncio.Future[str], tracer: _Tracer) -> None:
        where = self.url + P.SSE_PATH
        error: LiveError = ConnectionReset(f"{where}: the event stream ended")
        try:
            headers = {**self._headers, "Authorization": f"Bearer {token}"}
            del token
            async with aconnect_sse(
                self._client,
                "GET",
                join_url(self._base, P.SSE_PATH),
                headers=headers,
                timeout=_NO_TIMEOUT,
                extensions={"trace": tracer},
            ) as source:
                headers.clear()
                status = source.response.status_code
                if status != 200:
                    raise status_error(status, where)
                # aclosing: the generator is closed here, not later by a finalizer task
                async with contextlib.aclosing(source.aiter_sse()) as events:
                    async for event in events:
                        self._on_event(event, connected, where)
        except LiveError as exc:
            error = exc
        except SSEError as exc:
            error = ProtocolViolation(f"{where}: not an event stream ({exc})")
        except httpx.HTTPError as exc:
            error = transport_error(exc, where)
        finally:
            if not connected.done():
                connected.set_exception(error)
            self._fail(error)

    def _on_event(self, event: ServerSentEvent, connected: asyncio.Future[str], where: str) -> None:
        if not connected.done():
            message = _decode(event.data, "connected", where)
            if event.event != "connected" or not isinstance(message.get("session"), str):
                raise ProtocolViolation(f"{where}: expected a 'connected' event")
            connected.set_result(message["session"])
        elif event.event == "message":
            self._deliver(_decode(event.data, "message", where))


def _tag_headers(session_tag: str | None) -> dict[str, str]:
    return {P.SESSION_HEADER: session_tag} if session_tag else {}


async def open_long_polling(
    base: str,
    token: str,
    phases: PhaseMarks,
    *,
    session_tag: str | None = None,
    ssl: ssl_module.SSLContext | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> LongPollingSession:
    """POST /lp/connect, POST /lp/sync, then poll in the background."""
    client = http_client or _new_client(ssl, base)
    session = LongPollingSession(
        client, http_client is None, base, Strategy.LONG_POLLING, _tag_headers(session_tag)
    )
    try:
        tracer = _Tracer(phases, getattr(phases, "marks", None))
        response = await session._call(
            "POST",
            P.LP_CONNECT,
            session_url=False,
            headers={"Authorization": f"Bearer {token}"},
            extensions={"trace": tracer},
        )
        message = _decode(response.text, "connected", session.url + P.LP_CONNECT)
        if not isinstance(message.get("session"), str):
            raise ProtocolViolation(f"{session.url}{P.LP_CONNECT}: no session in the answer")
        session.session_id = message["session"]
        phases.mark("auth")
        await session._sync(P.LP_SYNC, phases)
        session._start()
    except BaseException:
        await session.close()
        raise
    return session


async def open_sse(
    base: str,
    token: str,
    phases: PhaseMarks,
    *,
    session_tag: str | None = None,
    ssl: ssl_module.SSLContext | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> SseSession:
    """GET /sse until the "connected" event, then POST /sse/sync on a second connection."""
    client = http_client or _new_client(ssl, base)
    session = SseSession(
        client, http_client is None, base, Strategy.SSE_FALLBACK, _tag_headers(session_tag)
    )
    loop = asyncio.get_running_loop()
    connected: asyncio.Future[str] = loop.create_future()
    tracer = _Tracer(phases, getattr(phases, "marks", None))
    session._task = loop.create_task(session._stream(token, connected, tracer))
    del token
    try:
        session.session_id = await connected
        phases.mark("auth")
        await session._sync(P.SSE_SYNC, phases)
    except BaseException:
        await session.close()
        raise
    return session
