"""Adapting a policy to what diagnostics measured (pure).

Use :func:`adapt_policy` after a latency probe and a WebSocket capability check:

- the base timeout grows to ``RTT_TIMEOUT_FACTOR`` round trips when that is longer (a
  far-away user needs more than a nearby one), never past ``max_timeout``;
- when WebSocket is blocked but HTTP works (a proxy), WebSocket rungs are dropped from the
  ladder so the connect goes straight to long polling / SSE instead of hanging first.

And :func:`drop_rungs` before any attempt: rungs the endpoint cannot serve (e.g.
``multiple_ports`` without alternative URLs) leave the ladder, so a connect never stops
mid-way on a strategy it could not have tried.
"""

from __future__ import annotations

from collections.abc import Collection

from .errors import ConfigError
from .policy import RetryPolicy
from .strategies import Strategy

__all__ = ["RTT_TIMEOUT_FACTOR", "adapt_policy", "drop_rungs"]

#: A connect needs about 4 round trips; 20 leaves room for loss and a slow server.
RTT_TIMEOUT_FACTOR = 20.0


def adapt_policy(
    policy: RetryPolicy, *, rtt_s: float | None, websocket_blocked: bool
) -> RetryPolicy:
    """The policy adjusted to a measured RTT and WebSocket availability."""
    changes: dict[str, object] = {}
    if rtt_s is not None and rtt_s > 0:
        wanted = min(RTT_TIMEOUT_FACTOR * rtt_s, policy.max_timeout)
        if wanted > policy.base_timeout:
            changes["base_timeout"] = wanted
    if websocket_blocked:
        http_only = tuple(s for s in policy.ladder if not s.uses_websocket)
        if http_only and http_only != policy.ladder:
            changes["ladder"] = http_only
    return policy.with_changes(**changes) if changes else policy


def drop_rungs(
    policy: RetryPolicy, unusable: Collection[Strategy], why: str = "cannot be used here"
) -> tuple[RetryPolicy, tuple[Strategy, ...]]:
    """The policy without the ladder rungs in ``unusable``, and the strategies dropped.

    Later rungs move up, as :func:`adapt_policy` does for a blocked WebSocket. When no rung
    is left, :class:`ConfigError` names the ladder and ``why``.
    """
    dropped = tuple(dict.fromkeys(s for s in policy.ladder if s in unusable))
    if not dropped:
        return policy, ()
    kept = tuple(s for s in policy.ladder if s not in unusable)
    if not kept:
        names = ",".join(s.value for s in policy.ladder)
        raise ConfigError("ladder", names, f"no rung of it can be used: {why}")
    return policy.with_changes(ladder=kept), dropped
