"""Where a chat server listens: :class:`Endpoint` (the lab's protocol, or any server that
speaks it) and :class:`StreamEndpoint` (a Stream Chat deployment), with the URL helpers that
keep credentials out of logs and records.

Value types shared by the live transports (:mod:`chatconn.live`), the lab servers that hand
out their endpoints (:mod:`chatconn.lab`) and the command line; they import only
:mod:`chatconn.core`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .core.errors import ConfigError
from .core.strategies import Strategy

__all__ = ["DEFAULT_CHANNEL", "Endpoint", "StreamEndpoint", "join_url", "redact_url"]

#: The channel an attempt watches to sync (``messaging:<this>``).
DEFAULT_CHANNEL = "chatconn"


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


@dataclass(frozen=True, slots=True, repr=False)
class StreamEndpoint(Endpoint):
    """A Stream Chat deployment: its base URL (``http_url``), WebSocket ``/connect`` URL,
    API key and the user to connect as. Build it with :meth:`from_base_url`."""

    api_key: str = ""
    user_id: str = "chatconn"
    channel: str = DEFAULT_CHANNEL
    #: The protocol it speaks (an :class:`Endpoint` speaks :mod:`chatconn.wire`).
    protocol = "stream"

    def __post_init__(self) -> None:
        Endpoint.__post_init__(self)
        for name in ("api_key", "user_id", "channel"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ConfigError(name, value, "expected a non-empty string")

    @classmethod
    def from_base_url(
        cls, base_url: str, *, api_key: str, user_id: str = "chatconn", channel: str = "chatconn"
    ) -> StreamEndpoint:
        """From what ``client.setBaseURL`` takes: ``http(s)://host[:port]``."""
        parts = urlsplit(base_url if isinstance(base_url, str) else "")
        if parts.scheme not in ("http", "https"):
            raise ConfigError("url", redact_url(str(base_url)), "expected an http(s):// base URL")
        ws = ("wss" if parts.scheme == "https" else "ws") + base_url[len(parts.scheme) :]
        ws = ws.split("?", 1)[0].rstrip("/") + "/connect"
        return cls((ws,), base_url, api_key=api_key, user_id=user_id, channel=channel)

    def __repr__(self) -> str:
        return (
            f"StreamEndpoint({redact_url(self.http_url)!r}, api_key={self.api_key!r}, "
            f"user_id={self.user_id!r})"
        )

    def unusable(self) -> dict[Strategy, str]:
        why = "Stream Chat's API has no alternative WebSocket ports and no SSE"
        return {Strategy.MULTIPLE_PORTS: why, Strategy.SSE_FALLBACK: why}

    def connect_json(self) -> str:
        """The ``json`` parameter the SDK sends (``client.ts`` ``_buildWSPayload``)."""
        return json.dumps(
            {"user_id": self.user_id, "user_details": {"id": self.user_id}},
            separators=(",", ":"),
        )
