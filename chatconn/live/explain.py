"""Plain-language explanations of how a connect went, with a next step (pure).

Each function returns a :class:`~chatconn.messages.Text`: the English sentence (a ``str``)
that also says itself in Russian (``text.say("ru")``). The words are in
:data:`chatconn.messages.MESSAGES` under ``explain.*``, next to every other message a user
reads, so both languages stay complete and in step.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.strategies import ErrorCategory, Strategy
from ..messages import Text
from ..records import AttemptRecord
from .errors import (
    AuthRejected,
    CertificateRejected,
    CircuitOpen,
    LiveError,
    ProtocolViolation,
    TokenUnavailable,
)

__all__ = ["explain_circuit_open", "explain_degraded", "explain_error", "explain_failure"]


def explain_failure(records: Sequence[AttemptRecord], firewall_suspected: bool = False) -> Text:
    """Why every attempt failed, and what the user can do about it."""
    if not records:
        return Text("explain.no_attempt")
    errors = {r.error_category for r in records}
    ws = [r for r in records if r.strategy.uses_websocket]
    http = [r for r in records if not r.strategy.uses_websocket]
    if firewall_suspected or (
        ws and all(r.error_category is ErrorCategory.UPGRADE_REJECTED for r in ws) and not http
    ):
        return Text("explain.websocket_blocked")
    if errors == {ErrorCategory.REFUSED}:
        return Text("explain.refused")
    if errors == {ErrorCategory.TIMEOUT}:
        return Text("explain.timeout")
    if ws and http and all(r.error_category is not ErrorCategory.TIMEOUT for r in http):
        return Text("explain.overloaded")
    kinds = tuple(sorted(e for e in errors if e is not ErrorCategory.NONE))
    return Text("explain.mixed", kinds=kinds)


def explain_degraded(strategy: Strategy, records: Sequence[AttemptRecord]) -> Text:
    """Why the session runs on a fallback transport."""
    ws_failed = any(r.strategy.uses_websocket and not r.connected for r in records)
    if not strategy.uses_websocket and ws_failed:
        return Text("explain.degraded_blocked", strategy=strategy)
    if strategy is Strategy.MULTIPLE_PORTS:
        return Text("explain.degraded_port")
    return Text("explain.degraded", strategy=strategy)


def explain_circuit_open(retry_after_s: float) -> Text:
    """The breaker is open: why nothing is tried, and for how long."""
    return Text("explain.circuit_open", seconds=f"{retry_after_s:.0f}")


def explain_error(error: LiveError) -> Text:
    """A fatal error (one that retrying cannot fix) in plain language, with a next step."""
    if isinstance(error, AuthRejected):
        return Text("explain.auth")
    if isinstance(error, CertificateRejected):
        return Text("explain.certificate")
    if isinstance(error, TokenUnavailable):
        return Text("explain.token", detail=str(error))
    if isinstance(error, ProtocolViolation):
        return Text("explain.protocol")
    if isinstance(error, CircuitOpen):
        return explain_circuit_open(error.retry_after_s)
    return Text("explain.other", detail=str(error))
