"""The result of an export: the text to ship, its options, and what the client will do.

Every target module (:mod:`~chatconn.export.socketio`, ...) has one function
``export(policy) -> Export``. ``text`` is what ``chatconn export`` prints (JSON options or
code); ``config`` the options as data; ``realized`` the policy the target library will
really follow with them, in chatconn's terms, so that ``diff`` (:func:`diff_schedules`)
says per retry what differs from the policy asked for; ``notes`` say what the schedule
cannot show (a ladder the library cannot climb, a deadline it cannot keep, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.policy import JitterMode, RetryPolicy
from ..core.schedule import nominal_waits
from ..core.strategies import Strategy
from .diff import ScheduleDiff, diff_schedules

__all__ = ["Export", "make_export", "ms", "nominal_retry_waits"]


@dataclass(frozen=True, slots=True)
class Export:
    """An exported policy (see the module doc)."""

    format: str
    text: str
    config: dict[str, Any]
    asked: RetryPolicy
    realized: RetryPolicy
    diff: ScheduleDiff
    notes: tuple[str, ...] = field(default=())
    language: str = "json"

    @property
    def exact(self) -> bool:
        """True when the target does exactly what was asked (schedule and notes)."""
        return self.diff.exact and not self.notes

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "language": self.language,
            "exact": self.exact,
            "config": self.config,
            "text": self.text,
            "asked": self.asked.to_dict(),
            "realized": self.realized.to_dict(),
            "diff": self.diff.to_dict(),
            "notes": list(self.notes),
        }


def make_export(
    format: str,
    text: str,
    config: dict[str, Any],
    asked: RetryPolicy,
    realized: RetryPolicy,
    notes: list[str] | tuple[str, ...] = (),
    language: str = "json",
) -> Export:
    return Export(
        format=format,
        text=text,
        config=config,
        asked=asked,
        realized=realized,
        diff=diff_schedules(asked, realized),
        notes=tuple(notes),
        language=language,
    )


def ms(seconds: float) -> int:
    """Whole milliseconds, as JavaScript clients take them."""
    return round(seconds * 1000.0)


def nominal_retry_waits(policy: RetryPolicy) -> list[float]:
    """The nominal wait before each retry (max_attempts - 1 of them), seconds."""
    return [float(w) for w in nominal_waits(policy)[: policy.max_attempts - 1]]


def first_wait(policy: RetryPolicy) -> float:
    """The nominal wait before retry 1."""
    if policy.delays is not None:
        return policy.delays[0]
    if policy.first_delay is not None:
        return policy.first_delay
    return policy.initial_delay


def ws_only_note(policy: RetryPolicy, library: str) -> list[str]:
    """A note when the asked ladder has rungs the library cannot climb."""
    rungs = sorted({s.value for s in policy.ladder} - {"direct_websocket", "extended_timeout"})
    if not rungs:
        return []
    return [
        f"ladder: {library} retries one connection; the rungs {', '.join(rungs)} of the asked "
        "ladder are not exported (every attempt is a direct WebSocket)"
    ]


def ws_ladder(policy: RetryPolicy) -> tuple[Strategy, ...]:
    """The asked ladder as a WebSocket-only client climbs it: an extended-timeout rung is
    a direct WebSocket with a longer timeout (kept), every other rung a direct WebSocket."""
    keep = (Strategy.DIRECT_WEBSOCKET, Strategy.EXTENDED_TIMEOUT)
    return tuple(s if s in keep else Strategy.DIRECT_WEBSOCKET for s in policy.ladder)


def timeout_note(policy: RetryPolicy, library: str, fixed: float) -> list[str]:
    fixed_timeouts = policy.timeout_growth == 1 or policy.base_timeout == policy.max_timeout
    if fixed_timeouts and Strategy.EXTENDED_TIMEOUT not in policy.ladder:
        return []
    return [
        f"timeouts: {library} has one connect timeout ({fixed:g} s) for every attempt; the asked "
        "timeouts grow (the diff gives each attempt's)"
    ]


def is_jittered(policy: RetryPolicy) -> bool:
    """True when any retry's wait is random."""
    from ..core.schedule import jitter_mode_for

    for k in range(policy.max_attempts - 1):
        mode = jitter_mode_for(policy, k)
        if mode is JitterMode.NONE:
            continue
        if mode in (JitterMode.PROPORTIONAL, JitterMode.BACKO2) and policy.jitter == 0:
            continue
        return True
    return False
