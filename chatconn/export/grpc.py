"""gRPC: channel arguments for connection backoff, and a service config retry policy.

Connection backoff (grpc/grpc ``doc/connection-backoff.md``): INITIAL_BACKOFF,
MAX_BACKOFF and MIN_CONNECT_TIMEOUT are settable — in C-core and the languages built on
it as the channel arguments ``grpc.initial_reconnect_backoff_ms``,
``grpc.max_reconnect_backoff_ms`` and ``grpc.min_reconnect_backoff_ms`` (the last plays
MIN_CONNECT_TIMEOUT there; check your implementation) — while MULTIPLIER 1.6 and JITTER
0.2 are fixed, waits count from each attempt's start and an attempt may run until the next
backoff deadline. The realized policy is chatconn's ``grpc`` preset (the C-core, which
jitters the first backoff too, ``src/core/util/backoff.cc``) with the exported numbers.
The JSON also carries a service config ``retryPolicy`` (gRFC A6: call retries,
full jitter ``random(0, min(initial · multiplier^(n-1), max))``, at most 5 attempts) with
the asked backoff, for RPCs that fail with UNAVAILABLE.
"""

from __future__ import annotations

import json

from ..core.policy import JitterMode, RetryPolicy, WaitAnchor
from ..core.strategies import Strategy
from .base import Export, first_wait, make_export, ms, timeout_note, ws_only_note

__all__ = ["export"]

MULTIPLIER = 1.6
JITTER = 0.2
#: gRFC A6: maxAttempts above 5 are treated as 5.
MAX_CALL_ATTEMPTS = 5


def _duration(seconds: float) -> str:
    return f"{round(seconds, 3):g}s"


def export(policy: RetryPolicy) -> Export:
    notes = ws_only_note(policy, "gRPC")
    initial = first_wait(policy)
    if initial < 0.001:
        notes.append(f"backoff: gRPC's initial backoff is at least 1 ms (asked {initial:g} s)")
        initial = 0.001
    cap = max(policy.delays) if policy.delays is not None else policy.max_delay
    min_connect = policy.base_timeout
    notes += timeout_note(policy, "gRPC", min_connect)
    if (
        policy.multiplier != MULTIPLIER
        or policy.jitter_mode is not JitterMode.PROPORTIONAL
        or policy.jitter != JITTER
    ):
        notes.append(
            f"backoff: gRPC's connection backoff multiplier ({MULTIPLIER}) and jitter "
            f"(±{JITTER:.0%}) are fixed"
        )
    notes.append(
        f"attempts: gRPC reconnects forever; the asked {policy.max_attempts} attempts are yours to "
        "count (e.g. a deadline on the first RPC with wait_for_ready)"
    )
    if policy.deadline is not None:
        notes.append(f"deadline: give your first call a {policy.deadline:g} s deadline")
    channel_args = {
        "grpc.initial_reconnect_backoff_ms": ms(initial),
        "grpc.max_reconnect_backoff_ms": ms(max(cap, initial)),
        "grpc.min_reconnect_backoff_ms": ms(min_connect),
    }
    service_config = {
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": min(policy.max_attempts, MAX_CALL_ATTEMPTS),
                    "initialBackoff": _duration(policy.initial_delay),
                    "maxBackoff": _duration(policy.max_delay),
                    "backoffMultiplier": policy.multiplier,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
    config = {"channel_args": channel_args, "service_config": service_config}
    seconds = {k: v / 1000 for k, v in channel_args.items()}
    realized = RetryPolicy(
        base_timeout=seconds["grpc.min_reconnect_backoff_ms"],
        max_timeout=seconds["grpc.min_reconnect_backoff_ms"],
        timeout_growth=1.0,
        extended_timeout=seconds["grpc.min_reconnect_backoff_ms"],
        timeout_spans_backoff=True,
        max_attempts=policy.max_attempts,
        # The C-core jitters the first backoff too (src/core/util/backoff.cc; the spec
        # does not): initial, initial * 1.6, ... capped, each x U(0.8, 1.2).
        initial_delay=seconds["grpc.initial_reconnect_backoff_ms"],
        multiplier=MULTIPLIER,
        max_delay=seconds["grpc.max_reconnect_backoff_ms"],
        jitter=JITTER,
        jitter_mode=JitterMode.PROPORTIONAL,
        wait_from=WaitAnchor.START,
        ladder=(Strategy.DIRECT_WEBSOCKET,),
        retries_forever=True,
    )
    return make_export("grpc", json.dumps(config, indent=2) + "\n", config, policy, realized, notes)
