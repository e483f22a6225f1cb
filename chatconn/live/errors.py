"""Errors of live connections, each with the :class:`ErrorCategory` records and events use.

::

    ChatconnError
     └── LiveError                      category
          ├── AttemptError              one attempt failed; the manager may retry
          │    ├── AttemptTimeout       TIMEOUT       nothing (or not enough) before the deadline
          │    ├── ConnectionRefused    REFUSED       the port refused the connection
          │    ├── ConnectionReset      RESET         reset or closed mid-handshake
          │    ├── UpgradeRejected      UPGRADE_REJECTED  a proxy answered the upgrade with an error
          │    └── ServerUnavailable    REFUSED       HTTP 5xx from the server
          ├── AuthRejected              (fatal)       the server refused the token
          ├── CertificateRejected       (fatal)       the server's TLS certificate did not verify
          ├── TokenUnavailable          TOKEN (fatal) the token provider failed after its retries
          ├── ProtocolViolation         (fatal)       the server spoke something else (garbage)
          ├── CircuitOpen               (fatal)       the breaker is open: not trying now
          └── ConnectFailed             (final)       every attempt failed; carries the records

Messages never contain tokens.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import ChatconnError
from ..core.strategies import ErrorCategory

__all__ = [
    "AttemptError",
    "AttemptTimeout",
    "AuthRejected",
    "CertificateRejected",
    "CircuitOpen",
    "ConnectFailed",
    "ConnectionRefused",
    "ConnectionReset",
    "LiveError",
    "ProtocolViolation",
    "ServerUnavailable",
    "TokenUnavailable",
    "UpgradeRejected",
    "status_error",
]


class LiveError(ChatconnError):
    """Base of every live-connection error."""

    category: ErrorCategory = ErrorCategory.NONE
    retryable: bool = False


class AttemptError(LiveError):
    """One attempt failed in a way worth retrying."""

    retryable = True


class AttemptTimeout(AttemptError):
    category = ErrorCategory.TIMEOUT


class ConnectionRefused(AttemptError):
    category = ErrorCategory.REFUSED


class ConnectionReset(AttemptError):
    category = ErrorCategory.RESET


class UpgradeRejected(AttemptError):
    category = ErrorCategory.UPGRADE_REJECTED


class ServerUnavailable(AttemptError):
    category = ErrorCategory.REFUSED


class AuthRejected(LiveError):
    """The server rejected the token: retrying with the same token cannot help."""


class CertificateRejected(LiveError):
    """The server's TLS certificate did not verify (unknown CA, wrong host name, expired):
    retrying, or another transport to the same server, cannot help. A server with a private
    CA needs ``ca_file=`` or ``ssl=`` on the manager."""


class TokenUnavailable(LiveError):
    """The token provider failed after its own retries (or took longer than the connect's
    budget): no attempt was made. Run records count it as ``last_error`` "token"."""

    category = ErrorCategory.TOKEN


class ProtocolViolation(LiveError):
    """The server answered with something that is not the chat protocol."""


class CircuitOpen(LiveError):
    """The circuit breaker is open; ``retry_after_s`` says when it will try again."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ConnectFailed(LiveError):
    """Every attempt failed or the deadline passed. ``explanation`` is for people."""

    def __init__(self, message: str, *, explanation: str, records: tuple[Any, ...]) -> None:
        super().__init__(message)
        self.explanation = explanation
        self.records = records


def status_error(
    status: int, where: str, *, what: str = "the request", session_url: bool = False
) -> LiveError:
    """A non-success HTTP answer as a live error, for every transport alike.

    401 -> AuthRejected (fatal); 404 on a session URL -> ConnectionReset (the server forgot
    the session); 5xx -> ServerUnavailable; other 4xx -> UpgradeRejected (a proxy in the
    way; a 404 says the URL may be wrong); anything else -> ProtocolViolation. ``what``
    names the request in the message.
    """
    if status == 401:
        return AuthRejected(f"{where}: the server rejected the token (HTTP 401)")
    if status == 404 and session_url:
        return ConnectionReset(f"{where}: the server no longer knows this session (HTTP 404)")
    if status >= 500:
        return ServerUnavailable(f"{where}: the server is unavailable (HTTP {status})")
    if status == 404:  # no such path: more often a wrong base URL than a proxy
        return UpgradeRejected(
            f"{where}: {what} was answered HTTP 404: nothing there (is the HTTP base URL right?)"
        )
    if 400 <= status < 500:
        return UpgradeRejected(f"{where}: {what} was answered HTTP {status}")
    return ProtocolViolation(f"{where}: unexpected HTTP {status} to {what}")
