"""The lab's small chat protocol, shared by the lab server and the live transports.

Every transport reaches "connected" in the same phases, so the simulator's model
(:data:`chatconn.core.model.ROUND_TRIPS`) can count their round trips::

    WebSocket (primary port "/ws", or an alternative port, same path)
      tcp        TCP connect (the chaos proxy charges one RTT for it)
      handshake  HTTP Upgrade -> 101                                     1 RTT
      auth       -> {"type": "auth", "token": T}
                 <- {"type": "connected", "session": S}  (after auth_s)  1 RTT
                 <- {"type": "error", "code": "auth_failed"}, close 4001
      sync       -> {"type": "sync"}
                 <- {"type": "sync", "payload": "...", "messages": [...]}  (after sync_s)  1 RTT
      chat       -> {"type": "message", "text": t}   <- {"type": "message", "from": S, "text": t}
      heartbeat  -> {"type": "ping", "id": n}         <- {"type": "pong", "id": n}

    Long polling (HTTP port)
      tcp+auth   POST /lp/connect, Authorization: Bearer T -> 200 {"session": S} | 401   2 RTT
      sync       POST /lp/sync?session=S (same keep-alive connection)
                 -> {"payload", "messages"}                                  1 RTT
      receive    GET /lp/poll?session=S&timeout=N -> {"messages": [...]} (held up to N s)
      send       POST /lp/send?session=S  {"text": t} -> 204
      heartbeat  GET /lp/ping?session=S -> {"type": "pong"}

    SSE (HTTP port)
      tcp+auth   GET /sse, Authorization: Bearer T -> 200 text/event-stream | 401
                 first event: "connected" {"session": S}                    2 RTT
      sync       POST /sse/sync?session=S (a second connection) -> {"payload", "messages"}  2 RTT
      receive    events "message" {"from": S, "text": t}; comments as keep-alives
      send       POST /sse/send?session=S {"text": t} -> 204

    Other HTTP endpoints
      POST /token            -> {"token": T, "expires_in": s}  (can fail N times, or hang)
      GET  /latency          -> 204, for latency probes
      WS   /probe (WS ports) -> accepts the upgrade, sends {"type": "probe"}, closes: the
                              WebSocket capability probe

All messages are JSON objects with a "type". Bad tokens are rejected at auth: close code
4001 on WebSocket, HTTP 401 elsewhere. Anything else unexpected is a protocol error.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "AUTH_FAILED_CLOSE_CODE",
    "FLOOR_TAG_PREFIX",
    "LATENCY_PATH",
    "LP_CONNECT",
    "LP_PING",
    "LP_POLL",
    "LP_SEND",
    "LP_SYNC",
    "PROBE_PATH",
    "SESSION_HEADER",
    "SESSION_QUERY",
    "SSE_PATH",
    "SSE_SEND",
    "SSE_SYNC",
    "TOKEN_PATH",
    "WS_PATH",
    "ProtocolError",
    "decode",
    "encode",
]

WS_PATH = "/ws"
PROBE_PATH = "/probe"
TOKEN_PATH = "/token"
LATENCY_PATH = "/latency"
LP_CONNECT = "/lp/connect"
LP_SYNC = "/lp/sync"
LP_POLL = "/lp/poll"
LP_SEND = "/lp/send"
LP_PING = "/lp/ping"
SSE_PATH = "/sse"
SSE_SYNC = "/sse/sync"
SSE_SEND = "/sse/send"
AUTH_FAILED_CLOSE_CODE = 4001
#: Header a client sends so that its connections share one session's conditions (any case:
#: HTTP header names are case-insensitive; the live transports send it like this).
SESSION_HEADER = "x-chatconn-session"
#: The same tag as a query parameter, for clients that cannot set headers (a browser's
#: WebSocket and EventSource, socket.io-client's ``query``); the header wins when both are sent.
SESSION_QUERY = "chatconn_client"
#: Session tags starting with this are the harness's floor probes
#: (:func:`chatconn.live.harness.measure_floor`): the lab's proxy gives them the profile's
#: median RTT and nothing else (no draws, loss, stall, reset, proxy or port rule), so their
#: duration is known from the model and what they take beyond it is the harness's own cost.
FLOOR_TAG_PREFIX = "chatconn-floor"


class ProtocolError(ValueError):
    """A peer sent something that is not this protocol."""


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def decode(text: str | bytes, expect: str | None = None) -> dict[str, Any]:
    """Parse one message; with ``expect``, also check its type (error messages pass)."""
    try:
        message = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not JSON: {str(text)[:80]!r}") from exc
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError(f"not a protocol message: {str(text)[:80]!r}")
    if expect is not None and message["type"] not in (expect, "error"):
        raise ProtocolError(f"expected {expect!r}, got {message['type']!r}")
    return message
