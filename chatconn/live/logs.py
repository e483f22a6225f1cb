"""The connection manager's diagnostic log: every event as a line on ``chatconn.live.manager``.

:class:`EventLogger` subscribes to a manager's events (the manager attaches one itself)
and writes each as one line prefixed with the manager's session tag; the manager calls
:func:`log_breaker` and :func:`log_heartbeat` for what has no event. Turn it on with
:func:`chatconn.logs.enable_logging` or ``chatconn -vv``.

==================================================  =========
what                                                level
==================================================  =========
state change, phase, token reused/fetched, wait,    DEBUG
attempt started, attempt connected, strategy
switch, diagnostics, breaker and heartbeat
transitions
a failure: an attempt failed, the connect failed,   WARNING
a lost connection (reconnecting), a heartbeat
missed, the manager's warning events
==================================================  =========

Nothing here can print a token: events carry none (:mod:`chatconn.live.events`), the
messages are built from their fields, and URLs in records are redacted.
"""

from __future__ import annotations

import logging

from ..core.breaker import BreakerState
from ..core.strategies import Strategy
from .events import (
    AttemptFinished,
    AttemptStarted,
    ConnectionEvent,
    ConnectionState,
    DiagnosticsDone,
    PhaseChanged,
    StateChanged,
    TokenReady,
    Waiting,
    WarningEvent,
)

__all__ = ["LOGGER_NAME", "EventLogger", "log_breaker", "log_heartbeat"]

LOGGER_NAME = "chatconn.live.manager"
log = logging.getLogger(LOGGER_NAME)

#: States whose StateChanged is a failure a user notices.
_BAD_STATES = (ConnectionState.FAILED, ConnectionState.RECONNECTING)


class EventLogger:
    """Writes a manager's events to ``chatconn.live.manager`` (see the module's table)."""

    __slots__ = ("_strategy", "tag")

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self._strategy: Strategy | None = None

    def __call__(self, event: ConnectionEvent) -> None:
        if not log.isEnabledFor(logging.DEBUG):  # the common case: logging off, no record
            if not isinstance(event, _MAYBE_LOUD):  # built: ~0.2 us per event
                return
            if isinstance(event, StateChanged) and event.state not in _BAD_STATES:
                return
            if isinstance(event, AttemptFinished) and event.connected:
                return
            if not log.isEnabledFor(logging.WARNING):
                return
        tag = self.tag
        t = event.elapsed_s
        if isinstance(event, StateChanged):
            level = logging.WARNING if event.state in _BAD_STATES else logging.DEBUG
            log.log(level, "[%s] %.3fs state %s -> %s: %s", tag, t, event.previous.value,
                    event.state.value, event.reason)  # fmt: skip
            if event.state in (ConnectionState.CONNECTING, ConnectionState.RECONNECTING):
                self._strategy = None
        elif isinstance(event, PhaseChanged):
            at = "" if event.attempt is None else f" (attempt {event.attempt + 1})"
            log.debug("[%s] %.3fs phase %s%s", tag, t, event.phase.value, at)
        elif isinstance(event, TokenReady):
            how = "reused" if event.reused else f"fetched ({event.reason})"
            log.debug("[%s] %.3fs token %s; fetches this connect: %d", tag, t, how,
                      event.fetches)  # fmt: skip
        elif isinstance(event, Waiting):
            log.debug("[%s] %.3fs wait %.3fs before attempt %d", tag, t, event.seconds,
                      event.next_attempt + 1)  # fmt: skip
        elif isinstance(event, AttemptStarted):
            if self._strategy is not None and self._strategy is not event.strategy:
                log.debug("[%s] %.3fs strategy switch %s -> %s", tag, t, self._strategy.value,
                          event.strategy.value)  # fmt: skip
            self._strategy = event.strategy
            log.debug("[%s] %.3fs attempt %d/%d %s started, timeout %gs", tag, t,
                      event.attempt + 1, event.attempts, event.strategy.value,
                      event.timeout_s)  # fmt: skip
        elif isinstance(event, AttemptFinished):
            if event.connected:
                log.debug("[%s] %.3fs attempt %d/%d %s connected in %.3fs", tag, t,
                          event.attempt + 1, event.attempts, event.strategy.value,
                          event.duration_s)  # fmt: skip
            else:
                log.warning("[%s] %.3fs attempt %d/%d %s failed after %.3fs: %s (%s)", tag, t,
                         event.attempt + 1, event.attempts, event.strategy.value,
                         event.duration_s, event.error_category.name.lower(),
                         event.message)  # fmt: skip
        elif isinstance(event, DiagnosticsDone):
            log.debug("[%s] %.3fs diagnostics: %s", tag, t, event.summary)
        elif isinstance(event, WarningEvent):
            log.warning("[%s] %.3fs %s: %s", tag, t, event.code, event.message)


#: The only events that can log above DEBUG: a warning, a failed attempt, a bad state.
_MAYBE_LOUD = (WarningEvent, StateChanged, AttemptFinished)


def log_breaker(tag: str, before: BreakerState, after: BreakerState, why: str) -> None:
    """A circuit breaker transition (DEBUG), if there was one."""
    if before is not after:
        log.debug("[%s] breaker %s -> %s: %s", tag, before.value, after.value, why)


def log_heartbeat(tag: str, what: str, *args: object, level: int = logging.DEBUG) -> None:
    """A heartbeat transition: started, pong, stopped (DEBUG unless told)."""
    log.log(level, "[%s] heartbeat " + what, tag, *args)
