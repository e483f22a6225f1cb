"""chatconn's own client speaking Stream Chat's protocol (what ``stream-chat`` 9.53.0 sends).

Give the manager a :class:`StreamEndpoint` instead of an :class:`Endpoint` and it measures a
Stream Chat deployment (or the lab's :class:`~chatconn.lab.stream_server.StreamLabServer`)
with the user's API key and token::

    endpoint = StreamEndpoint.from_base_url("https://chat.example.com", api_key="k", user_id="u")
    async with ConnectionManager(endpoint, Secret(token), policy=policy_preset("stream-chat")):
        ...

One attempt, in the manager's phases::

    direct_websocket / extended_timeout
      tcp, handshake   WS /connect?json={"user_id", ...}&api_key&authorization&stream-auth-type
      auth             the first message: health.check with connection_id (an {"error"} is
                       AuthRejected when its StatusCode is 401/403, else ProtocolViolation)
      sync             POST /channels/messaging/{channel}/query (watch), as channel.watch()
    long_polling       GET /longpoll?json=... -> {"event": health.check} (tcp, handshake, auth),
                       the same channel query (sync), then polls GET /longpoll?connection_id

Stream has no alternative ports and no SSE: :meth:`StreamEndpoint.unusable` names
``multiple_ports`` and ``sse_fallback``, and the manager drops those rungs from the ladder.
The token travels in the WebSocket URL's query and in REST ``Authorization`` headers, as the
SDK sends it; no message, log, repr or error names it (URLs are shown without their query).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl as ssl_module
from typing import Any
from urllib.parse import urlencode

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from ..core.errors import ConfigError
from ..core.strategies import Strategy
from ..endpoint import StreamEndpoint, redact_url
from .errors import AuthRejected, ConnectionReset, LiveError, ProtocolViolation, status_error
from .http_transport import _new_client, _Tracer, transport_error
from .queued_session import ClosingSession, QueuedSession
from .session import PhaseClock
from .ws_transport import drop, handshake

__all__ = ["StreamSession", "open_stream_session"]

_POLL_S = 30.0  # connection_fallback.ts: a poll's timeout (the server answers within 20 s)


def _api_error(body: Any, where: str) -> LiveError:
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else (body if isinstance(body, dict) else {})
    status = error.get("StatusCode")
    if status in (401, 403):
        return AuthRejected(f"{where}: the server rejected the API key or token ({status})")
    code = str(error.get("code", ""))[:20]
    return ProtocolViolation(f"{where}: the server answered with an error (code {code!r})")


class StreamSession(QueuedSession, ClosingSession):
    """A connected Stream session (WebSocket or long polling) with the manager's interface:
    ``send``, ``receive`` (``message.new`` events as ``{"type": "message", ...}``), ``ping``
    (a health.check round trip), ``close``, ``abort``."""

    def __init__(
        self,
        endpoint: StreamEndpoint,
        token: str,
        strategy: Strategy,
        client: httpx.AsyncClient,
        owns_client: bool,
    ) -> None:
        self.endpoint = endpoint
        self.strategy = strategy
        self.url = redact_url(endpoint.http_url)
        self.session_id = ""
        self.history: list[dict[str, Any]] = []
        self.sync_bytes = 0
        self._token = token
        self._client = client
        self._owns_client = owns_client
        self._ws: ClientConnection | None = None
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._health: asyncio.Queue[None] = asyncio.Queue()
        self._error: LiveError | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def __repr__(self) -> str:  # never the token
        state = "closed" if self._closed else "open"
        return (
            f"StreamSession(strategy={self.strategy.value!r}, session_id={self.session_id!r}, "
            f"url={self.url!r}, {state})"
        )

    # -- requests ------------------------------------------------------------------------
    async def _rest(
        self, method: str, path: str, *, params: dict[str, str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        where = self.url + path
        query = {"api_key": self.endpoint.api_key, "user_id": self.endpoint.user_id}
        if self.session_id:
            query["connection_id"] = self.session_id
        query.update(params or {})
        headers = {"Authorization": self._token, "stream-auth-type": "jwt"}
        url = httpx.URL(self.endpoint.http(path)).copy_merge_params(query)
        try:
            response = await self._client.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_error(exc, where) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not 200 <= response.status_code < 300:
            if isinstance(body, dict) and response.status_code < 500:
                raise _api_error(body, where)
            raise status_error(response.status_code, where)
        if not isinstance(body, dict):
            raise ProtocolViolation(f"{where}: not a JSON object")
        return body

    async def _sync(self, phases: PhaseClock) -> None:
        path = f"/channels/messaging/{self.endpoint.channel}/query"
        body = await self._rest("POST", path, json={"state": True, "watch": True})
        self.history = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        self.sync_bytes = len(json.dumps(body))
        phases.mark("sync")

    def _deliver(self, event: Any) -> None:
        if not isinstance(event, dict):
            return
        if event.get("type") == "health.check":
            self._health.put_nowait(None)
        elif event.get("type") == "message.new" and isinstance(event.get("message"), dict):
            message = event["message"]
            user = message.get("user") if isinstance(message.get("user"), dict) else {}
            self._queue.put_nowait(
                {"type": "message", "from": user.get("id"), "text": message.get("text", "")}
            )

    # -- background readers ----------------------------------------------------------------
    async def _read_ws(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                with contextlib.suppress(ValueError):
                    self._deliver(json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            self._fail(ConnectionReset(f"{self.url}: the connection is closed"))

    async def _poll(self) -> None:
        try:
            while True:
                body = await self._rest("GET", "/longpoll", timeout=_POLL_S)
                for event in body.get("events") or []:
                    self._deliver(event)
        except LiveError as exc:
            self._fail(exc)

    # -- the Session interface -------------------------------------------------------------
    async def send(self, text: str) -> None:
        if self._error is not None:
            raise self._fresh_error()
        path = f"/channels/messaging/{self.endpoint.channel}/message"
        await self._rest("POST", path, json={"message": {"text": str(text)}})

    async def ping(self) -> None:
        """A health check answered: over the WebSocket as the SDK sends it every 25 s; on
        long polling, a light REST call (the fallback has no ping of its own)."""
        if self._error is not None:
            raise self._fresh_error()
        if self._ws is None:
            await self._rest("GET", "/hi")
            return
        while not self._health.empty():
            self._health.get_nowait()
        try:
            await self._ws.send(
                json.dumps([{"type": "health.check", "client_id": self.session_id}])
            )
        except ConnectionClosed as exc:
            raise ConnectionReset(f"{self.url}: the connection closed during a ping") from exc
        await self._health.get()

    async def _close(self, *, graceful: bool) -> None:
        if self._closed:
            return
        self._closed = True
        self._fail(ConnectionReset(f"{self.url}: the session was closed"))
        try:
            if self._ws is not None:
                if graceful:
                    with contextlib.suppress(Exception):
                        await self._ws.close()
                await drop(self._ws)
            elif graceful and self.session_id and self.strategy is Strategy.LONG_POLLING:
                with contextlib.suppress(Exception):
                    await self._rest("GET", "/longpoll", params={"close": "true"}, timeout=2.0)
        finally:
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task
            if self._owns_client:
                await self._client.aclose()


async def _open_websocket(
    session: StreamSession, endpoint: StreamEndpoint, token: str, phases: PhaseClock, ssl: Any
) -> None:
    query = urlencode(
        {
            "json": endpoint.connect_json(),
            "api_key": endpoint.api_key,
            "authorization": token,
            "stream-auth-type": "jwt",
            "X-Stream-Client": "chatconn",
        }
    )
    url = f"{endpoint.primary}?{query}"
    # Stream's keep-alive is its health.check events: no WebSocket pings.
    ws, where = await handshake(url, phases, ssl=ssl, ping_interval=None)
    session._ws = ws
    try:
        raw = await ws.recv()
    except ConnectionClosed as exc:
        raise ConnectionReset(f"{where}: the connection closed before health.check") from exc
    try:
        first = json.loads(raw)
    except ValueError:
        raise ProtocolViolation(f"{where}: the first message is not JSON") from None
    if isinstance(first, dict) and "error" in first:
        raise _api_error(first, where)
    if not isinstance(first, dict) or first.get("type") != "health.check":
        raise ProtocolViolation(f"{where}: expected a health.check event first")
    if not isinstance(first.get("connection_id"), str) or not first["connection_id"]:
        raise ProtocolViolation(f"{where}: the health.check carries no connection_id")
    session.session_id = first["connection_id"]
    phases.mark("auth")


async def open_stream_session(
    strategy: Strategy,
    endpoint: StreamEndpoint,
    token: str,
    phases: PhaseClock,
    *,
    ssl: ssl_module.SSLContext | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> StreamSession:
    """Connect, authenticate and sync one Stream session of ``strategy`` (module doc)."""
    if strategy in (Strategy.MULTIPLE_PORTS, Strategy.SSE_FALLBACK):
        raise ConfigError("strategy", strategy.value, endpoint.unusable()[strategy])
    client = http_client or _new_client(ssl, endpoint.http_url)
    session = StreamSession(endpoint, token, strategy, client, http_client is None)
    try:
        if strategy is Strategy.LONG_POLLING:
            tracer = _Tracer(phases, getattr(phases, "marks", None))
            body = await session._rest(
                "GET",
                "/longpoll",
                params={"json": endpoint.connect_json()},
                extensions={"trace": tracer},
            )
            event = body.get("event")
            if not isinstance(event, dict) or not isinstance(event.get("connection_id"), str):
                raise ProtocolViolation(f"{session.url}/longpoll: no connection_id in the answer")
            session.session_id = event["connection_id"]
            phases.mark("auth")
            await session._sync(phases)
            session._task = asyncio.get_running_loop().create_task(session._poll())
        else:
            await _open_websocket(session, endpoint, token, phases, ssl)
            await session._sync(phases)
            session._task = asyncio.get_running_loop().create_task(session._read_ws())
    except BaseException:
        await session.abort()
        raise
    return session
