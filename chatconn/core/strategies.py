"""Connection strategies and the states they end in.

A *strategy* is how one attempt reaches the server. The seed application's ladder tries
them in this order, each a fallback for the one before::

    direct_websocket   WebSocket on the primary port, the policy's growing timeout
    extended_timeout   the same WebSocket with ``extended_timeout`` (far-away users)
    multiple_ports     WebSocket on the alternative ports at once; the first to open wins
    long_polling       HTTP long polling on the HTTP port (works through upgrade-blocking proxies)
    sse_fallback       Server-Sent Events to receive, HTTP POST to send
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from .errors import UnknownNameError

__all__ = ["ErrorCategory", "Strategy", "parse_strategy"]


class Strategy(StrEnum):
    """How one attempt connects. The value is the name used in configs, CLI and records."""

    DIRECT_WEBSOCKET = "direct_websocket"
    EXTENDED_TIMEOUT = "extended_timeout"
    MULTIPLE_PORTS = "multiple_ports"
    LONG_POLLING = "long_polling"
    SSE_FALLBACK = "sse_fallback"

    @property
    def uses_websocket(self) -> bool:
        """True when the strategy needs an HTTP Upgrade to WebSocket (a proxy may block it)."""
        return self in _WEBSOCKET_STRATEGIES

    @property
    def code(self) -> int:
        """A small integer for numpy arrays: the strategy's position in this enum."""
        return _CODES[self]

    @classmethod
    def from_code(cls, code: int) -> Strategy:
        return _BY_CODE[code]

    def __str__(self) -> str:
        return self.value


_WEBSOCKET_STRATEGIES = frozenset(
    {Strategy.DIRECT_WEBSOCKET, Strategy.EXTENDED_TIMEOUT, Strategy.MULTIPLE_PORTS}
)
_BY_CODE = tuple(Strategy)
_CODES = {s: i for i, s in enumerate(_BY_CODE)}


def parse_strategy(value: str | Strategy) -> Strategy:
    """Return the :class:`Strategy` named ``value``; raise UnknownNameError otherwise."""
    if isinstance(value, Strategy):
        return value
    try:
        return Strategy(str(value).strip())
    except ValueError:
        raise UnknownNameError("strategy", value, [s.value for s in Strategy]) from None


class ErrorCategory(IntEnum):
    """Why an attempt failed, as the simulator models it and the live manager reports it.

    ``NONE`` marks a success. Integer values are stable: they are stored in arrays and records.
    """

    NONE = 0
    TIMEOUT = 1  # nothing (or not enough) came back before the attempt's timeout
    REFUSED = 2  # the port refused the connection (server down, port closed)
    RESET = 3  # the connection was reset mid-handshake
    UPGRADE_REJECTED = 4  # a proxy answered the WebSocket upgrade with an HTTP error (403)
    DEADLINE = 5  # the total budget ended before the attempt could finish
    TOKEN = 6  # no login token: the session failed before its first attempt (live only)
