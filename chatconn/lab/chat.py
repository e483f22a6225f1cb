"""The lab's chat service behind the chaos proxies: one hub, three transports.

:class:`ChatHub` implements :mod:`chatconn.wire` for WebSocket (``ws_handler``, for
``websockets.asyncio.server.serve``) and for long polling and SSE (``http_app()``, a Starlette
application). Every session, whatever carries it, is a peer of the same hub: a message sent
on any transport is broadcast to every session (the sender included) and kept in a short
history that the initial sync returns.

Server times come from the current profile: ``auth_s`` before answering auth, ``sync_s``
before answering sync (both multiplied by ``time_scale``); the sync payload is
``sync_bytes`` of incompressible text. Test switches: ``garbage`` (auth answered with
non-JSON), ``fail_token(n)`` (the next n ``POST /token`` answer 503), ``hang_token(True)``.

Additions the protocol leaves open: HTTP JSON bodies carry a ``"type"`` like every other
message ("connected", "sync", "messages", "pong", "token", "error"); ``GET /lp/ping``
answers for any live session of the hub (SSE sessions use it as their heartbeat); an
unknown or expired session id is 404 (the client reads it as a lost connection); a
long-polling session that has not polled for ``LP_IDLE_S`` seconds is dropped.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import itertools
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse

from .. import wire as P
from ..core.profiles import NetworkProfile

__all__ = ["AUTH_WAIT_S", "LP_IDLE_S", "MAX_POLL_S", "SSE_KEEPALIVE_S", "ChatHub"]

log = logging.getLogger(__name__)

#: A WebSocket that has not sent its auth message after this many seconds is closed.
AUTH_WAIT_S = 30.0
#: A long-polling session that has not polled for this long is dropped.
LP_IDLE_S = 60.0
#: Longest hold of one long poll, whatever the client asks.
MAX_POLL_S = 60.0
#: SSE keep-alive comment period.
SSE_KEEPALIVE_S = 15.0
GARBAGE = "<html>502 Bad Gateway</html> this is not the chat protocol"
_HISTORY = 50
_OUTBOX = 1000


class _Peer:
    """One chat session of any transport: an outbox the transport drains."""

    def __init__(self, session_id: str, kind: str, now: float) -> None:
        self.id = session_id
        self.kind = kind
        self.outbox: deque[dict[str, Any]] = deque(maxlen=_OUTBOX)
        self.event = asyncio.Event()
        self.closed = False
        self.last_seen = now
        self.polling = 0

    def push(self, message: dict[str, Any]) -> None:
        self.outbox.append(message)
        self.event.set()

    def drain(self) -> list[dict[str, Any]]:
        items = list(self.outbox)
        self.outbox.clear()
        if not self.closed:
            self.event.clear()
        return items

    async def wait(self, timeout: float | None) -> None:
        """Until something is queued or the peer is closed (or ``timeout`` passes)."""
        if self.outbox or self.closed:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.event.wait()

    def close(self) -> None:
        self.closed = True
        self.event.set()


class ChatHub:
    """Sessions, broadcast and history; the WebSocket handler and the HTTP application."""

    def __init__(
        self,
        profile: NetworkProfile,
        *,
        token: str,
        time_scale: float = 1.0,
        seed: int = 0,
        token_expires_in: float = 3600.0,
    ) -> None:
        self.profile = profile
        self._token = token
        self.time_scale = time_scale
        self.token_expires_in = token_expires_in
        self.garbage = False
        self.peers: dict[str, _Peer] = {}
        self.history: deque[dict[str, Any]] = deque(maxlen=_HISTORY)
        self._ids = itertools.count(1)
        self._seed = seed
        self._payloads: dict[int, str] = {}
        self._token_failures = 0
        self._token_hang = False
        self._token_released = asyncio.Event()
        self._closing = False
        self._janitor: asyncio.Task[None] | None = None
        self.counts: dict[str, int] = {
            "auth_ok": 0,
            "auth_failed": 0,
            "messages": 0,
            "token_requests": 0,
        }

    def __repr__(self) -> str:  # never show the token
        return f"ChatHub(profile={self.profile.name!r}, sessions={len(self.peers)})"

    # -- life cycle ----------------------------------------------------------------------
    def start(self) -> None:
        self._janitor = asyncio.get_running_loop().create_task(self._expire_idle())

    async def close(self) -> None:
        self._closing = True
        self._token_released.set()
        for peer in list(self.peers.values()):
            peer.close()
        self.peers.clear()
        if self._janitor is not None:
            self._janitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._janitor

    async def _expire_idle(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(5.0)
            now = loop.time()
            for peer in list(self.peers.values()):
                idle = now - peer.last_seen > LP_IDLE_S
                if peer.kind == "long_polling" and not peer.polling and idle:
                    self.remove(peer)

    # -- switches ------------------------------------------------------------------------
    def fail_token(self, n: int) -> None:
        """The next ``n`` ``POST /token`` answer 503."""
        self._token_failures = max(0, int(n))

    def hang_token(self, on: bool = True) -> None:
        """While on, ``POST /token`` never answers (released when switched off)."""
        self._token_hang = bool(on)
        if on:
            self._token_released.clear()
        else:
            self._token_released.set()

    # -- sessions ------------------------------------------------------------------------
    def add(self, kind: str) -> _Peer:
        peer = _Peer(f"s{next(self._ids)}", kind, asyncio.get_running_loop().time())
        self.peers[peer.id] = peer
        return peer

    def remove(self, peer: _Peer) -> None:
        peer.close()
        if self.peers.get(peer.id) is peer:
            del self.peers[peer.id]

    def broadcast(self, sender: str, text: str) -> None:
        message = {"type": "message", "from": sender, "text": text}
        self.counts["messages"] += 1
        self.history.append(message)
        for peer in self.peers.values():
            peer.push(message)

    def rotate_token(self, token: str) -> None:
        """Accept ``token`` from now on (and serve it from ``POST /token``); the old one is
        rejected, as after a key rotation or a revoked session."""
        self._token = token

    def token_ok(self, token: Any) -> bool:
        ok = isinstance(token, str) and hmac.compare_digest(
            token.encode("utf-8", "replace"), self._token.encode()
        )
        self.counts["auth_ok" if ok else "auth_failed"] += 1
        log.debug("auth %s", "accepted" if ok else "refused: not the lab's token")
        return ok

    def sync_reply(self) -> dict[str, Any]:
        return {"type": "sync", "payload": self._payload(), "messages": list(self.history)}

    def _payload(self) -> str:
        """``sync_bytes`` of ASCII that does not compress (so bandwidth pacing is honest)."""
        size = self.profile.sync_bytes
        if size not in self._payloads:
            rng = np.random.default_rng(self._seed)
            raw = rng.integers(0, 256, size=(size * 3) // 4 + 3, dtype=np.uint8).tobytes()
            self._payloads[size] = base64.b64encode(raw).decode()[:size]
        return self._payloads[size]

    async def _server_time(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds * self.time_scale)

    # -- WebSocket -----------------------------------------------------------------------
    def process_request(
        self, connection: ServerConnection, request: WsRequest
    ) -> WsResponse | None:
        path = urlsplit(request.path).path
        if path not in (P.WS_PATH, P.PROBE_PATH):
            return connection.respond(404, "Not Found\n")
        return None

    async def ws_handler(self, ws: ServerConnection) -> None:
        path = urlsplit(ws.request.path).path if ws.request else P.WS_PATH
        try:
            if path == P.PROBE_PATH:
                await ws.send(P.encode({"type": "probe"}))
                await ws.close()
                return
            await self._ws_chat(ws)
        except ConnectionClosed:
            pass

    async def _ws_chat(self, ws: ServerConnection) -> None:
        try:
            async with asyncio.timeout(AUTH_WAIT_S):
                raw = await ws.recv()
        except TimeoutError:
            await ws.close(1008, "auth expected")
            return
        try:
            message = P.decode(raw, expect="auth")
        except P.ProtocolError:
            await ws.send(P.encode({"type": "error", "code": "protocol"}))
            await ws.close(1002, "auth expected")
            return
        await self._server_time(self.profile.auth_s)
        if self.garbage:
            await ws.send(GARBAGE)
            await ws.close(1011, "garbage mode")
            return
        if not self.token_ok(message.get("token")):
            await ws.send(P.encode({"type": "error", "code": "auth_failed"}))
            await ws.close(P.AUTH_FAILED_CLOSE_CODE, "auth failed")
            return
        peer = self.add("websocket")
        sender = asyncio.get_running_loop().create_task(self._ws_sender(ws, peer))
        try:
            await ws.send(P.encode({"type": "connected", "session": peer.id}))
            async for raw in ws:
                try:
                    message = P.decode(raw)
                except P.ProtocolError:
                    peer.push({"type": "error", "code": "protocol"})
                    continue
                kind = message["type"]
                if kind == "sync":
                    await self._server_time(self.profile.sync_s)
                    peer.push(self.sync_reply())
                elif kind == "message":
                    self.broadcast(peer.id, str(message.get("text", "")))
                elif kind == "ping":
                    peer.push({"type": "pong", "id": message.get("id")})
                else:
                    peer.push({"type": "error", "code": "unknown_type"})
        finally:
            self.remove(peer)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await sender

    @staticmethod
    async def _ws_sender(ws: ServerConnection, peer: _Peer) -> None:
        while not peer.closed:
            await peer.wait(None)
            for message in peer.drain():
                await ws.send(P.encode(message))

    # -- HTTP ----------------------------------------------------------------------------
    def http_app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(P.TOKEN_PATH, self._token_endpoint, methods=["POST"]),
                Route(P.LATENCY_PATH, self._latency, methods=["GET", "HEAD"]),
                Route(P.LP_CONNECT, self._lp_connect, methods=["POST"]),
                Route(P.LP_SYNC, self._session_route(self._sync), methods=["POST"]),
                Route(P.LP_POLL, self._session_route(self._lp_poll), methods=["GET"]),
                Route(P.LP_SEND, self._session_route(self._send), methods=["POST"]),
                Route(P.LP_PING, self._session_route(self._ping), methods=["GET"]),
                Route(P.SSE_PATH, self._sse, methods=["GET"]),
                Route(P.SSE_SYNC, self._session_route(self._sync), methods=["POST"]),
                Route(P.SSE_SEND, self._session_route(self._send), methods=["POST"]),
            ]
        )

    def _bearer(self, request: Request) -> str | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None

    @staticmethod
    def _error(status: int, code: str) -> JSONResponse:
        return JSONResponse({"type": "error", "code": code}, status_code=status)

    async def _token_endpoint(self, request: Request) -> Response:
        self.counts["token_requests"] += 1
        if self._token_hang and not self._closing:
            await self._token_released.wait()
        if self._token_failures > 0:
            self._token_failures -= 1
            return self._error(503, "unavailable")
        log.debug("token served (expires in %g s)", self.token_expires_in)
        return JSONResponse(
            {"type": "token", "token": self._token, "expires_in": self.token_expires_in}
        )

    async def _latency(self, request: Request) -> Response:
        return Response(status_code=204)

    async def _authenticate(self, request: Request, kind: str) -> _Peer | Response:
        await self._server_time(self.profile.auth_s)
        if self.garbage:
            return PlainTextResponse(GARBAGE)
        if not self.token_ok(self._bearer(request)):
            return self._error(401, "auth_failed")
        return self.add(kind)

    async def _lp_connect(self, request: Request) -> Response:
        peer = await self._authenticate(request, "long_polling")
        if isinstance(peer, Response):
            return peer
        return JSONResponse({"type": "connected", "session": peer.id})

    def _session_route(self, handler: Callable[[Request, _Peer], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            peer = self.peers.get(request.query_params.get("session", ""))
            if peer is None:
                return self._error(404, "unknown_session")
            peer.last_seen = asyncio.get_running_loop().time()
            return await handler(request, peer)

        return endpoint

    async def _sync(self, request: Request, peer: _Peer) -> Response:
        await self._server_time(self.profile.sync_s)
        return JSONResponse(self.sync_reply())

    async def _lp_poll(self, request: Request, peer: _Peer) -> Response:
        try:
            timeout = min(max(float(request.query_params.get("timeout", "25")), 0.0), MAX_POLL_S)
        except ValueError:
            return self._error(400, "bad_timeout")
        peer.polling += 1
        try:
            await peer.wait(timeout)
        finally:
            peer.polling -= 1
            peer.last_seen = asyncio.get_running_loop().time()
        if peer.closed:
            return self._error(404, "unknown_session")
        return JSONResponse({"type": "messages", "messages": peer.drain()})

    async def _send(self, request: Request, peer: _Peer) -> Response:
        try:
            body = await request.json()
            text = body["text"]
        except (ValueError, KeyError, TypeError):
            return self._error(400, "bad_message")
        self.broadcast(peer.id, str(text))
        return Response(status_code=204)

    async def _ping(self, request: Request, peer: _Peer) -> Response:
        return JSONResponse({"type": "pong"})

    async def _sse(self, request: Request) -> Response:
        peer = await self._authenticate(request, "sse")
        if isinstance(peer, Response):
            if peer.status_code == 200:  # garbage mode: an event stream of garbage
                return StreamingResponse(
                    _one(f"event: connected\ndata: {GARBAGE}\n\n"),
                    media_type="text/event-stream",
                )
            return peer
        return StreamingResponse(
            self._sse_events(peer),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )

    async def _sse_events(self, peer: _Peer) -> AsyncIterator[str]:
        try:
            yield _event("connected", {"type": "connected", "session": peer.id})
            while not peer.closed and not self._closing:
                await peer.wait(SSE_KEEPALIVE_S)
                messages = peer.drain()
                for message in messages:
                    yield _event("message", message)
                if not messages and not peer.closed:
                    yield ": keep-alive\n\n"
        finally:
            self.remove(peer)


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _one(text: str) -> AsyncIterator[str]:
    yield text
