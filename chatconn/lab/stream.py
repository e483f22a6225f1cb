"""Stream Chat's protocol in the lab: enough of its API for the official JS SDK to connect.

Read from ``stream-chat`` 9.53.0 (``npm pack stream-chat@9.53.0``): ``src/client.ts``
(``setBaseURL``: the WebSocket base is the base URL with ``http`` -> ``ws``; every REST call
carries ``api_key``, ``user_id`` and ``connection_id`` as query parameters and the token in
``Authorization``), ``src/connection.ts`` (``StableWSConnection``) and
``src/connection_fallback.ts`` (``WSConnectionFallback``). One Starlette application serves
both, as Stream's edge does on one host::

    WS   /connect?json={"user_id", "user_details", ...}&api_key&authorization&stream-auth-type
         -> first message {"type": "health.check", "connection_id", "me", ...}; the client's
            [{"type": "health.check", "client_id"}] every 25 s is answered with a
            health.check, and the server sends its own every HEALTH_CHECK_S
    GET  /hi                                  the SDK's warm-up
    POST /channels/{type}/{id}/query          channel.watch() / query()
    POST /channels                            queryChannels (recoverState after a reconnect)
    POST /channels/{type}/{id}/message        sendMessage -> message.new to every watcher
    POST /sync                                events since a time (offline support)
    GET  /longpoll?json=...                   the fallback's connect -> {"event": health.check}
    GET  /longpoll?connection_id=...          a poll: held up to LONGPOLL_HOLD_S -> {"events"}
    GET  /longpoll?close=true&connection_id   the fallback's disconnect

Authentication: ``api_key`` must be the lab's key, and the token either the SDK's
``client.devToken(user_id)`` (an unsigned JWT whose payload names that user: the lab
behaves like an app with development tokens allowed) or the lab's own token. A refusal is
Stream's: on the WebSocket an ``{"error": {"code": 2 or 5, "StatusCode": 401}}`` message
and close code 1000 (the SDK then gives up rather than retrying), on REST a 401 JSON error.

Server times come from the profile like the lab's own protocol: ``auth_s`` before the
first health.check, ``sync_s`` before a channel query (times ``time_scale``). Counts of
what the SDK asked for are in :attr:`StreamHub.counts` (the tests read them).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..core.profiles import NetworkProfile

__all__ = [
    "DEFAULT_API_KEY",
    "HEALTH_CHECK_S",
    "LONGPOLL_HOLD_S",
    "StreamHub",
    "dev_token",
    "token_user",
]

#: The API key the lab accepts unless another is given (it is public, like Stream's keys).
DEFAULT_API_KEY = "chatconn-lab"
#: The server's own health.check period (the SDK pings every 25 s and reconnects after 35 s
#: of silence, ``connection.ts``).
HEALTH_CHECK_S = 30.0
#: How long a long poll is held without events ("API responds in 20s if there is no event",
#: ``connection_fallback.ts``).
LONGPOLL_HOLD_S = 20.0
#: A long-poll connection that has not polled for this long is dropped.
LONGPOLL_IDLE_S = 60.0
_HISTORY = 50
_DEV_HEADER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"  # signing.ts: {"alg": "HS256", "typ": "JWT"}
# Stream's error codes (``src/errors.ts`` APIErrorCodes): 2 AuthFailed, 4 InputError,
# 5 NotAllowed (bad api key), 16 DoesNotExist, 46 ConnectionIDNotFound (the fallback reconnects).
AUTH_FAILED, INPUT_ERROR, NOT_ALLOWED, DOES_NOT_EXIST, CONNECTION_ID_NOT_FOUND = 2, 4, 5, 16, 46


def dev_token(user_id: str) -> str:
    """The token ``client.devToken(user_id)`` makes (``src/signing.ts`` ``DevToken``): the
    fixed header ``{"alg":"HS256","typ":"JWT"}``, the payload ``{"user_id"}`` in standard
    base64 (padded, as the SDK's ``encodeBase64``) and the literal signature ``devtoken``."""
    payload = json.dumps({"user_id": user_id}, separators=(",", ":"), ensure_ascii=False)
    return f"{_DEV_HEADER}.{base64.b64encode(payload.encode()).decode()}.devtoken"


def token_user(token: str) -> str | None:
    """The ``user_id`` a JWT's payload names (not verified), or None if it is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    text = parts[1].rstrip("=").replace("+", "-").replace("/", "_")
    try:
        payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    user = payload.get("user_id") if isinstance(payload, dict) else None
    return user if isinstance(user, str) else None


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(eq=False)
class _Connection:
    """One client connection (a WebSocket or a long-poll connection) and its event outbox."""

    id: str
    user_id: str
    kind: str
    events: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    last_seen: float = field(default_factory=time.monotonic)
    closed: bool = False


class StreamHub:
    """Users, channels, connections; the Starlette application of the Stream protocol."""

    def __init__(
        self,
        profile: NetworkProfile,
        *,
        api_key: str = DEFAULT_API_KEY,
        token: str | None = None,
        time_scale: float = 1.0,
        health_check_s: float = HEALTH_CHECK_S,
        longpoll_hold_s: float = LONGPOLL_HOLD_S,
    ) -> None:
        self.profile = profile
        self.api_key = api_key
        self._token = token
        self.time_scale = time_scale
        self.health_check_s = health_check_s
        self.longpoll_hold_s = longpoll_hold_s
        self.connections: dict[str, _Connection] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, deque[dict[str, Any]]] = {}
        self.events: deque[dict[str, Any]] = deque(maxlen=_HISTORY)
        self._ids = itertools.count(1)
        self._closing = False
        self.counts: dict[str, int] = {}

    def __repr__(self) -> str:  # never shows a token
        return f"StreamHub(profile={self.profile.name!r}, connections={len(self.connections)})"

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    async def close(self) -> None:
        self._closing = True
        for conn in list(self.connections.values()):
            self._drop(conn)

    # -- auth ----------------------------------------------------------------------------
    def _auth_error(self, api_key: str | None, token: str | None, user_id: Any) -> dict | None:
        """Stream's error body when the key or token is wrong, else None."""
        if not isinstance(api_key, str) or not hmac.compare_digest(
            api_key.encode("utf-8", "replace"), self.api_key.encode()
        ):
            self._count("auth_failed")
            return _error(NOT_ALLOWED, "api_key not valid", 401)
        token = token or ""
        ok = isinstance(user_id, str) and bool(user_id) and token_user(token) == user_id
        if self._token is not None and hmac.compare_digest(
            token.encode("utf-8", "replace"), self._token.encode()
        ):
            ok = isinstance(user_id, str) and bool(user_id)
        if not ok:
            self._count("auth_failed")
            return _error(AUTH_FAILED, "token is not valid for this user", 401)
        return None

    def _me(self, user_id: str, details: Any) -> dict[str, Any]:
        extra = details if isinstance(details, dict) else {}
        now = _now_iso()
        return {
            **{k: v for k, v in extra.items() if isinstance(k, str)},
            "id": user_id,
            "role": "user",
            "created_at": now,
            "updated_at": now,
            "last_active": now,
            "banned": False,
            "online": True,
            "invisible": False,
            "devices": [],
            "mutes": [],
            "channel_mutes": [],
            "unread_count": 0,
            "total_unread_count": 0,
            "unread_channels": 0,
        }

    def _open(self, payload: dict[str, Any], kind: str) -> tuple[_Connection, dict[str, Any]]:
        user_id = payload["user_id"]
        conn = _Connection(f"lab-{next(self._ids)}", user_id, kind)
        self.connections[conn.id] = conn
        self._count(f"connect_{kind}")
        event = {
            "type": "health.check",
            "connection_id": conn.id,
            "cid": "*",
            "me": self._me(user_id, payload.get("user_details")),
            "created_at": _now_iso(),
        }
        return conn, event

    def _drop(self, conn: _Connection) -> None:
        conn.closed = True
        conn.events.put_nowait({"type": "connection.closed"})
        if self.connections.get(conn.id) is conn:
            del self.connections[conn.id]

    def _broadcast(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        for conn in self.connections.values():
            conn.events.put_nowait(event)

    async def _server_time(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds * self.time_scale)

    @staticmethod
    def _connect_payload(text: str | None) -> dict[str, Any] | None:
        try:
            payload = json.loads(text or "")
        except ValueError:
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("user_id"), str):
            return None
        return payload

    # -- WebSocket -----------------------------------------------------------------------
    async def _ws_connect(self, ws: WebSocket) -> None:
        params = ws.query_params
        await ws.accept()
        payload = self._connect_payload(params.get("json"))
        await self._server_time(self.profile.auth_s)
        if payload is None:
            self._count("bad_request")
            await ws.send_json(_ws_error(_error(INPUT_ERROR, "json with a user_id expected", 400)))
            await ws.close(1000)
            return
        error = self._auth_error(
            params.get("api_key"), params.get("authorization"), payload["user_id"]
        )
        if error is not None:
            await ws.send_json(_ws_error(error))
            await ws.close(1000)
            return
        conn, event = self._open(payload, "websocket")
        sender = asyncio.get_running_loop().create_task(self._ws_sender(ws, conn))
        beat = asyncio.get_running_loop().create_task(self._ws_heartbeat(conn))
        try:
            await ws.send_json(event)
            while True:
                raw = await ws.receive_text()
                conn.last_seen = time.monotonic()
                for message in _messages(raw):
                    if message.get("type") == "health.check":
                        self._count("health_check_from_client")
                        conn.events.put_nowait(self._health(conn))
        except (WebSocketDisconnect, RuntimeError, KeyError):  # KeyError: a binary frame
            pass
        finally:
            self._drop(conn)
            for task in (sender, beat):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    def _health(self, conn: _Connection) -> dict[str, Any]:
        return {
            "type": "health.check",
            "connection_id": conn.id,
            "cid": "*",
            "created_at": _now_iso(),
        }

    async def _ws_heartbeat(self, conn: _Connection) -> None:
        while not conn.closed:
            await asyncio.sleep(self.health_check_s)
            self._count("health_check_from_server")
            conn.events.put_nowait(self._health(conn))

    @staticmethod
    async def _ws_sender(ws: WebSocket, conn: _Connection) -> None:
        while True:
            event = await conn.events.get()
            if event.get("type") == "connection.closed":
                with contextlib.suppress(Exception):
                    await ws.close(1001)
                return
            await ws.send_json(event)

    # -- REST ----------------------------------------------------------------------------
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                WebSocketRoute("/connect", self._ws_connect),
                Route("/hi", self._hi, methods=["GET", "POST"]),
                Route("/channels", self._query_channels, methods=["POST"]),
                Route("/channels/{type}/{id}/query", self._query_channel, methods=["POST"]),
                Route("/channels/{type}/{id}/message", self._send_message, methods=["POST"]),
                Route("/sync", self._sync, methods=["POST"]),
                Route("/longpoll", self._longpoll, methods=["GET"]),
            ]
        )

    def _rest_auth(self, request: Request) -> JSONResponse | None:
        params = request.query_params
        error = self._auth_error(
            params.get("api_key"), request.headers.get("authorization"), params.get("user_id")
        )
        return None if error is None else JSONResponse(error, status_code=401)

    async def _hi(self, request: Request) -> Response:
        self._count("hi")
        return JSONResponse({"duration": "0.00ms"})

    async def _body(self, request: Request) -> dict[str, Any]:
        with contextlib.suppress(ValueError):
            body = await request.json()
            if isinstance(body, dict):
                return body
        return {}

    def _channel(self, kind: str, ident: str, creator: str | None) -> dict[str, Any]:
        cid = f"{kind}:{ident}"
        if cid not in self.channels:
            now = _now_iso()
            self.channels[cid] = {
                "id": ident,
                "type": kind,
                "cid": cid,
                "created_at": now,
                "updated_at": now,
                "created_by": {"id": creator or "lab"},
                "frozen": False,
                "disabled": False,
                "member_count": 0,
                "config": {"name": kind, "typing_events": True, "read_events": True},
            }
            self.messages[cid] = deque(maxlen=_HISTORY)
        return self.channels[cid]

    def _channel_state(self, cid: str) -> dict[str, Any]:
        return {
            "channel": self.channels[cid],
            "messages": list(self.messages[cid]),
            "pinned_messages": [],
            "members": [],
            "read": [],
            "watchers": [],
            "watcher_count": len(self.connections),
            "duration": "0.00ms",
        }

    async def _query_channel(self, request: Request) -> Response:
        if (denied := self._rest_auth(request)) is not None:
            return denied
        self._count("query_channel")
        await self._server_time(self.profile.sync_s)
        kind, ident = request.path_params["type"], request.path_params["id"]
        self._channel(kind, ident, request.query_params.get("user_id"))
        return JSONResponse(self._channel_state(f"{kind}:{ident}"))

    async def _query_channels(self, request: Request) -> Response:
        if (denied := self._rest_auth(request)) is not None:
            return denied
        self._count("query_channels")
        await self._server_time(self.profile.sync_s)
        body = await self._body(request)
        conditions = body.get("filter_conditions")
        cids = conditions.get("cid", {}) if isinstance(conditions, dict) else {}
        wanted = cids.get("$in") if isinstance(cids, dict) else [cids]
        wanted = [c for c in wanted if isinstance(c, str)] if isinstance(wanted, list) else None
        found = [c for c in (wanted or list(self.channels)) if c in self.channels]
        return JSONResponse(
            {"channels": [self._channel_state(c) for c in found], "duration": "0.00ms"}
        )

    async def _send_message(self, request: Request) -> Response:
        if (denied := self._rest_auth(request)) is not None:
            return denied
        self._count("send_message")
        kind, ident = request.path_params["type"], request.path_params["id"]
        cid = f"{kind}:{ident}"
        if cid not in self.channels:
            return JSONResponse(_error(DOES_NOT_EXIST, f"channel {cid} not found", 404), 404)
        body = await self._body(request)
        sent = body.get("message")
        given: dict[str, Any] = sent if isinstance(sent, dict) else {}
        user = request.query_params.get("user_id", "")
        now = _now_iso()
        message = {
            "id": str(given.get("id") or f"m{next(self._ids)}"),
            "text": str(given.get("text", "")),
            "type": "regular",
            "user": {"id": user},
            "cid": cid,
            "created_at": now,
            "updated_at": now,
            "attachments": [],
            "mentioned_users": [],
            "latest_reactions": [],
            "own_reactions": [],
            "reaction_counts": {},
            "reply_count": 0,
        }
        self.messages[cid].append(message)
        self._broadcast(
            {
                "type": "message.new",
                "cid": cid,
                "channel_type": kind,
                "channel_id": ident,
                "message": message,
                "user": {"id": user},
                "created_at": now,
            }
        )
        return JSONResponse({"message": message, "duration": "0.00ms"})

    async def _sync(self, request: Request) -> Response:
        if (denied := self._rest_auth(request)) is not None:
            return denied
        self._count("sync")
        body = await self._body(request)
        cids = set(body.get("channel_cids") or [])
        since = str(body.get("last_sync_at") or "")
        events = [e for e in self.events if e.get("cid") in cids and e["created_at"] > since]
        return JSONResponse({"events": events, "duration": "0.00ms"})

    async def _longpoll(self, request: Request) -> Response:
        params = request.query_params
        if params.get("close") in ("true", "1"):
            self._count("longpoll_close")
            conn = self.connections.get(params.get("connection_id", ""))
            if conn is not None:
                self._drop(conn)
            return JSONResponse({"duration": "0.00ms"})
        if (denied := self._rest_auth(request)) is not None:
            return denied
        conn_id = params.get("connection_id")
        if not conn_id:
            payload = self._connect_payload(params.get("json"))
            if payload is None or payload["user_id"] != params.get("user_id", payload["user_id"]):
                self._count("bad_request")
                return JSONResponse(_error(INPUT_ERROR, "json with a user_id expected", 400), 400)
            await self._server_time(self.profile.auth_s)
            _, event = self._open(payload, "longpoll")
            return JSONResponse({"event": event, "duration": "0.00ms"})
        conn = self.connections.get(conn_id)
        if conn is None or conn.kind != "longpoll":
            return JSONResponse(
                _error(CONNECTION_ID_NOT_FOUND, "connection_id not found", 400), 400
            )
        self._count("longpoll_poll")
        conn.last_seen = time.monotonic()
        events: list[dict[str, Any]] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.longpoll_hold_s):
                events.append(await conn.events.get())
        while not conn.events.empty():
            events.append(conn.events.get_nowait())
        conn.last_seen = time.monotonic()
        if conn.closed or self._closing:
            return JSONResponse(
                _error(CONNECTION_ID_NOT_FOUND, "connection_id not found", 400), 400
            )
        return JSONResponse({"events": events, "duration": "0.00ms"})

    def expire_idle(self) -> None:
        """Drop long-poll connections that stopped polling (called by the server's janitor)."""
        now = time.monotonic()
        for conn in list(self.connections.values()):
            if conn.kind == "longpoll" and now - conn.last_seen > LONGPOLL_IDLE_S:
                self._drop(conn)


def _error(code: int, message: str, status: int) -> dict[str, Any]:
    """Stream's REST error body (``APIErrorResponse``: code, message, StatusCode)."""
    return {"code": code, "message": message, "StatusCode": status, "duration": "0.00ms"}


def _ws_error(body: dict[str, Any]) -> dict[str, Any]:
    """The same error as the WebSocket's first message: ``{"error": {...}}``."""
    return {"error": body}


def _messages(raw: str) -> list[dict[str, Any]]:
    """The client's frames: the SDK sends a JSON array of events (``[{"type": ...}]``)."""
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    items = data if isinstance(data, list) else [data]
    return [m for m in items if isinstance(m, dict)]
