"""HAR files (saved from Chromium's or Firefox's network panel) into observed sessions.

HAR 1.2: ``log.entries[]`` with ``startedDateTime``, ``time`` and ``timings`` {blocked,
dns, connect, ssl, send, wait, receive} in ms (-1: not applicable; ``ssl`` is included in
``connect``). Which entries are connection *attempts*::

    WebSocket    _resourceType "websocket" (Chromium), a ws:/wss: URL, an
                 "Upgrade: websocket" request header, or an HTTP 101 response
    SSE          a text/event-stream response (or request Accept), _resourceType eventsource
    long poll    a URL matching POLL_URL (engine.io's transport=polling, .../longpoll, /poll)

Other entries (pages, scripts, API calls) are not attempts and are only counted. An
attempt succeeded when a WebSocket got 101, or an HTTP attempt a 2xx/3xx, with no
``_error``; it is *usable* ``blocked + dns + connect + send + wait`` ms after its start
(the response headers: the 101, or the first poll's answer). A failed attempt lasted
``time`` ms; its error category comes from ``_error`` (``net::ERR_CONNECTION_REFUSED``
...) or the status (401 token, 403 upgrade rejected).

Sessions: in start order, attempts join the current session until one succeeds; the
session's time to connect runs from its first attempt's start to that success being
usable. Polls after a long-polling success continue that session; any other attempt
after a success starts a new session (a reconnect). A session still failing when the file
ends counts as failed at the end of its last attempt. URLs are never stored (stream-chat
and others put tokens in the query).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..core.strategies import ErrorCategory, Strategy
from .errors import TimingsFileError
from .fields import parse_error
from .observed import MAX_SHOWN_PROBLEMS, ObservedSessions

__all__ = ["POLL_URL", "sessions_from_har"]

#: URLs of long-polling requests (engine.io, stream-chat's ``/longpoll``, generic ``/poll``).
POLL_URL = re.compile(r"transport=polling|long-?poll|/poll(?:[/?#]|$)", re.IGNORECASE)
_USABLE = ("blocked", "dns", "connect", "send", "wait")


@dataclass(frozen=True, slots=True)
class _Attempt:
    start: float  # Unix seconds
    usable_s: float  # from start to usable (success) or to failure
    ok: bool
    strategy: Strategy
    error: ErrorCategory
    known: bool


def _headers(message: dict[str, Any]) -> dict[str, str]:
    out = {}
    for h in message.get("headers") or ():
        if isinstance(h, dict) and isinstance(h.get("name"), str):
            out[h["name"].lower()] = str(h.get("value", "")).lower()
    return out


def _kind(entry: dict[str, Any]) -> Strategy | None:
    request = entry.get("request") or {}
    response = entry.get("response") or {}
    url = str(request.get("url", ""))
    resource = str(entry.get("_resourceType", "")).lower()
    req_headers = _headers(request)
    if (
        resource == "websocket"
        or url.lower().startswith(("ws:", "wss:"))
        or req_headers.get("upgrade") == "websocket"
        or response.get("status") == 101
    ):
        return Strategy.DIRECT_WEBSOCKET
    mime = str((response.get("content") or {}).get("mimeType", "")).lower()
    if (
        resource == "eventsource"
        or mime.startswith("text/event-stream")
        or "text/event-stream" in req_headers.get("accept", "")
    ):
        return Strategy.SSE_FALLBACK
    if POLL_URL.search(url):
        return Strategy.LONG_POLLING
    return None


def _ms(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return -1.0
    return float(value)


def _attempt(entry: dict[str, Any], strategy: Strategy) -> _Attempt:
    started = entry.get("startedDateTime")
    if not isinstance(started, str):
        raise ValueError("no startedDateTime")
    try:
        start = datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ValueError(f"startedDateTime {started!r} is not ISO 8601") from None
    timings = entry.get("timings")
    if not isinstance(timings, dict):
        raise ValueError("no timings")
    parts = [_ms(timings.get(name)) for name in _USABLE]
    usable = sum(p for p in parts if p > 0)
    total = _ms(entry.get("time"))
    status = (entry.get("response") or {}).get("status")
    error_text = str(entry.get("_error") or "").strip()
    if strategy.uses_websocket:
        ok = status == 101 and not error_text
    else:
        ok = isinstance(status, int) and 200 <= status < 400 and not error_text
    if ok:
        return _Attempt(start, usable / 1000.0, True, strategy, ErrorCategory.NONE, True)
    if status == 401:
        error_text = error_text or "401"
    elif status == 403:
        error_text = error_text or "403"
    elif isinstance(status, int) and status >= 500:
        error_text = error_text or "refused"
    category, known = parse_error(error_text)
    if category is ErrorCategory.NONE:
        category, known = ErrorCategory.TIMEOUT, False
    lasted = total if total >= 0 else usable
    return _Attempt(start, lasted / 1000.0, False, strategy, category, known)


def sessions_from_har(
    path: str | Path, *, skip_bad: bool = False, url_match: str | None = None
) -> ObservedSessions:
    """The connection sessions in a HAR file (see the module doc for the rules).

    ``url_match``: a regular expression; only entries whose URL matches are considered
    (your chat server's host, when the page talks to several).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise TimingsFileError(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TimingsFileError(path, f"cannot read it: {exc}") from None
    except json.JSONDecodeError as exc:
        raise TimingsFileError(path, f"not a HAR file: not JSON ({exc})", exc.lineno) from None
    entries = data.get("log", {}).get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise TimingsFileError(path, "not a HAR file: no log.entries list")
    wanted = re.compile(url_match) if url_match else None
    attempts: list[_Attempt] = []
    problems: list[str] = []
    skipped = considered = 0
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        strategy = _kind(entry)
        if strategy is None:
            continue
        if wanted and not wanted.search(str((entry.get("request") or {}).get("url", ""))):
            continue
        considered += 1
        try:
            attempts.append(_attempt(entry, strategy))
        except ValueError as exc:
            if not skip_bad:
                raise TimingsFileError(
                    path, f"log.entries[{i}]: {exc} (--skip-bad leaves such entries out)"
                ) from None
            skipped += 1
            if len(problems) < MAX_SHOWN_PROBLEMS:
                problems.append(f"log.entries[{i}]: {exc}")
    if not attempts:
        raise TimingsFileError(
            path,
            f"no connection attempts among its {len(entries)} entries (WebSocket, SSE or "
            "long-polling requests; see chatconn.importers.har)",
        )
    attempts.sort(key=lambda a: a.start)
    sessions: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for a in attempts:
        if current is not None and current["ok"]:
            if a.strategy is Strategy.LONG_POLLING and current["via"] is Strategy.LONG_POLLING:
                continue  # the next poll of a connected long-polling session
            current = None
        if current is None:
            current = {"start": a.start, "tries": 0, "ok": False, "end": a.start, "via": None}
            current |= {"error": ErrorCategory.NONE, "unknown": 0}
            sessions.append(current)
        current["tries"] += 1
        current["end"] = a.start + a.usable_s
        if a.ok:
            current["ok"], current["via"] = True, a.strategy
        else:
            current["error"] = a.error
            current["unknown"] += not a.known
    return ObservedSessions(
        source=path.name,
        format="har",
        connected=np.array([s["ok"] for s in sessions], dtype=bool),
        ended_at=np.array([max(0.0, s["end"] - s["start"]) for s in sessions], dtype=float),
        attempts=np.array([s["tries"] for s in sessions], dtype=np.int16),
        strategy=np.array([s["via"].code if s["ok"] else -1 for s in sessions], dtype=np.int8),
        last_error=np.array([int(s["error"]) for s in sessions], dtype=np.int8),
        started=np.array([s["start"] for s in sessions], dtype=float),
        rows=considered,
        skipped=skipped,
        problems=tuple(problems),
        attempts_known=True,
        transport_known=True,
        unrecognised_errors=sum(s["unknown"] for s in sessions),
    )
