"""Plain-language explanations of how a connect went, with a next step (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from ..core.strategies import ErrorCategory, Strategy
from .errors import (
    AuthRejected,
    CertificateRejected,
    CircuitOpen,
    LiveError,
    ProtocolViolation,
    TokenUnavailable,
)
from .records import AttemptRecord

__all__ = ["explain_degraded", "explain_error", "explain_failure"]


def explain_failure(records: Sequence[AttemptRecord], firewall_suspected: bool = False) -> str:
    """Why every attempt failed, and what the user can do about it."""
    if not records:
        return "No attempt could be made within the time allowed. Try again later."
    errors = {r.error_category for r in records}
    ws = [r for r in records if r.strategy.uses_websocket]
    http = [r for r in records if not r.strategy.uses_websocket]
    if firewall_suspected or (
        ws and all(r.error_category is ErrorCategory.UPGRADE_REJECTED for r in ws) and not http
    ):
        return (
            "WebSocket seems blocked by a proxy or firewall. Allow WebSocket for this site, "
            "or use a policy whose ladder includes long polling or SSE."
        )
    if errors == {ErrorCategory.REFUSED}:
        return (
            "The server refused every connection: it is probably down or restarting. "
            "Check the server status; reconnecting later should work."
        )
    if errors == {ErrorCategory.TIMEOUT}:
        return (
            "The server never answered in time: the network may be very slow, or a firewall "
            "silently drops the connection. Try another network or a longer timeout."
        )
    if ws and http and all(r.error_category is not ErrorCategory.TIMEOUT for r in http):
        return (
            "Neither WebSocket nor the HTTP fallbacks could connect; the server may be "
            "overloaded. Reconnecting later should work."
        )
    kinds = ", ".join(sorted(e.name.lower() for e in errors if e is not ErrorCategory.NONE))
    return f"Every attempt failed ({kinds}). Check the network, then try again."


def explain_degraded(strategy: Strategy, records: Sequence[AttemptRecord]) -> str:
    """Why the session runs on a fallback transport."""
    ws_failed = any(r.strategy.uses_websocket and not r.connected for r in records)
    if not strategy.uses_websocket and ws_failed:
        return (
            f"WebSocket seems blocked; connected with {strategy.value.replace('_', ' ')}, "
            "which works but adds latency to messages."
        )
    if strategy is Strategy.MULTIPLE_PORTS:
        return "The main port seems blocked; connected on an alternative port."
    return f"Connected with the fallback {strategy.value.replace('_', ' ')}."


def explain_error(error: LiveError) -> str:
    """A fatal error (one that retrying cannot fix) in plain language, with a next step."""
    if isinstance(error, AuthRejected):
        return "The server rejected the login token. Sign in again; retrying cannot help."
    if isinstance(error, CertificateRejected):
        return (
            "The server's TLS certificate could not be verified, so nothing was sent to it. "
            "If the server uses a private certificate authority, pass its CA file (ca_file=) "
            "or an ssl.SSLContext (ssl=); otherwise check the URL's host name and the "
            "certificate's validity. Retrying cannot help."
        )
    if isinstance(error, TokenUnavailable):
        return f"Could not get a login token ({error}). Check the sign-in service, then retry."
    if isinstance(error, ProtocolViolation):
        return (
            "The server answered with something that is not the chat protocol. "
            "Check the server URL."
        )
    if isinstance(error, CircuitOpen):
        return str(error)
    return str(error)
