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

from .diagnostics import (
    DEFAULT_RTT_FACTOR,
    DiagnosticsSettings,
    adapted_base_timeout,
    conclude,
    skipped_ladder,
)
from .errors import ConfigError
from .policy import RetryPolicy
from .strategies import Strategy

__all__ = ["RTT_TIMEOUT_FACTOR", "adapt_policy", "adapt_to_diagnosis", "drop_rungs"]

#: A connect needs about 4 round trips; 20 leaves room for loss and a slow server.
RTT_TIMEOUT_FACTOR = DEFAULT_RTT_FACTOR


def adapt_policy(
    policy: RetryPolicy,
    *,
    rtt_s: float | None,
    websocket_blocked: bool,
    settings: DiagnosticsSettings | None = None,
) -> RetryPolicy:
    """The policy adjusted to a measured RTT and WebSocket availability.

    ``settings`` (default: the policy's own ``diagnostics``) gives the RTT factor and the
    rungs a blocked WebSocket skips. The simulator applies the same two functions
    (:func:`~chatconn.core.diagnostics.adapted_base_timeout`,
    :func:`~chatconn.core.diagnostics.skipped_ladder`) to whole arrays of sessions.
    """
    settings = settings if settings is not None else policy.diagnostics
    changes: dict[str, object] = {}
    if rtt_s is not None and rtt_s > 0:
        base = float(
            adapted_base_timeout(
                policy.base_timeout, policy.max_timeout, settings.rtt_factor, rtt_s
            )
        )
        if base > policy.base_timeout:
            changes["base_timeout"] = base
    if websocket_blocked:
        kept = skipped_ladder(policy.ladder, settings)
        if kept is not None and kept != policy.ladder:
            changes["ladder"] = kept
    return policy.with_changes(**changes) if changes else policy


def adapt_to_diagnosis(
    policy: RetryPolicy, *, latency_s: float | None, http_ok: bool, websocket_ok: bool
) -> tuple[RetryPolicy, bool]:
    """What the live manager does after its probes, as the simulator does per session:
    the firewall verdict (:func:`~chatconn.core.diagnostics.conclude`) and the adapted
    policy. The latency counts only when the HTTP probes all answered."""
    firewall = bool(conclude(http_ok, websocket_ok))
    rtt = latency_s if http_ok else None
    return adapt_policy(policy, rtt_s=rtt, websocket_blocked=firewall), firewall


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
