"""socket.io-client ``Manager`` options (socket.io-client 4.8.4, ``build/esm/manager.js``).

Options exported: ``reconnection``, ``reconnectionAttempts`` (retries after the first
connect), ``reconnectionDelay`` and ``reconnectionDelayMax`` (ms), ``randomizationFactor``,
``timeout`` (ms, every attempt), ``transports``. What socket.io cannot change (read in its
``contrib/backo2.js``): the factor is 2; the jitter is ``±floor(rand · factor · ms)`` with
one random number for sign and size; the cap ``reconnectionDelayMax`` applies *after*
the jitter (clients at the cap wait exactly the cap); one timeout for every attempt; no
total deadline. The realized policy is chatconn's ``socketio`` preset with the exported
numbers, so the diff shows the rest.
"""

from __future__ import annotations

import json

from ..core.policy import JitterMode, RetryPolicy
from ..core.strategies import Strategy
from .base import Export, first_wait, make_export, ms, timeout_note

__all__ = ["export"]

#: socket.io-client's randomizationFactor default (used when the asked jitter has no ± form).
DEFAULT_RANDOMIZATION = 0.5


def export(policy: RetryPolicy) -> Export:
    notes: list[str] = []
    delay_ms = max(1, ms(first_wait(policy)))
    cap_s = max(policy.delays) if policy.delays is not None else policy.max_delay
    cap_ms = max(delay_ms, ms(cap_s))
    mode = policy.jitter_mode
    if mode in (JitterMode.PROPORTIONAL, JitterMode.BACKO2):
        factor = policy.jitter
    elif mode is JitterMode.NONE:
        factor = 0.0
    else:
        factor = DEFAULT_RANDOMIZATION
        notes.append(
            f"jitter: socket.io has only ± jitter around the nominal wait; {mode.value} jitter "
            f"is exported as randomizationFactor {factor}"
        )
    if mode is JitterMode.PROPORTIONAL and factor > 0:
        notes.append(
            "jitter: socket.io's ± jitter takes its sign and size from one random number "
            "(backo2): the same range as proportional jitter, another distribution"
        )
    if not policy.cap_after_jitter and factor > 0:
        notes.append(
            f"cap: socket.io caps after the jitter: clients that reach it all wait exactly "
            f"{cap_ms} ms (lockstep; chatconn storm shows what it costs)"
        )
    if policy.delays is not None:
        notes.append("delays: socket.io cannot follow a table of waits; exported as a backoff")
    if policy.multiplier != 2 and policy.delays is None:
        notes.append(f"multiplier: socket.io's factor is fixed at 2 (asked {policy.multiplier:g})")
    timeout_s = policy.base_timeout
    notes += timeout_note(policy, "socket.io", timeout_s)
    if policy.deadline is not None:
        notes.append(
            f"deadline: socket.io has no total budget (asked {policy.deadline:g} s); stop it "
            "yourself, e.g. manager.reconnection(false) after a timer"
        )
    polling = any(s in (Strategy.LONG_POLLING, Strategy.SSE_FALLBACK) for s in policy.ladder)
    transports = ["websocket", "polling"] if polling else ["websocket"]
    if polling:
        notes.append(
            "ladder: socket.io tries polling when the WebSocket fails within the same attempt "
            "(tryAllTransports), not as a separate rung; other rungs are not exported"
        )
    elif set(policy.ladder) - {Strategy.DIRECT_WEBSOCKET}:
        notes.append("ladder: only direct WebSocket attempts are exported")
    retries = policy.max_attempts - 1
    config = {
        "reconnection": retries > 0,
        "reconnectionAttempts": retries,
        "reconnectionDelay": delay_ms,
        "reconnectionDelayMax": cap_ms,
        "randomizationFactor": factor,
        "timeout": ms(timeout_s),
        "transports": transports,
    }
    if polling:
        config["tryAllTransports"] = True
    realized = RetryPolicy(
        base_timeout=ms(timeout_s) / 1000,
        max_timeout=ms(timeout_s) / 1000,
        timeout_growth=1.0,
        extended_timeout=ms(timeout_s) / 1000,
        max_attempts=policy.max_attempts,
        initial_delay=delay_ms / 1000,
        multiplier=2.0,
        max_delay=cap_ms / 1000,
        jitter=factor,
        jitter_mode=JitterMode.BACKO2,
        cap_after_jitter=True,
        ladder=(Strategy.DIRECT_WEBSOCKET,),
    )
    text = json.dumps(config, indent=2) + "\n"
    return make_export("socketio", text, config, policy, realized, notes)
