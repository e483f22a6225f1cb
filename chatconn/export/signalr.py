"""@microsoft/signalr (10.0.11) automatic reconnect: ``withAutomaticReconnect``.

A policy without jitter and without a deadline becomes the delays array
(``withAutomaticReconnect([0, 2000, 10000, 30000])``, read in
``src/HubConnectionBuilder.ts`` and ``src/DefaultReconnectPolicy.ts``: one delay per
retry, then stop). Otherwise an ``IRetryPolicy`` class in TypeScript whose
``nextRetryDelayInMilliseconds({previousRetryCount, elapsedMilliseconds})`` follows
chatconn's schedule exactly (:mod:`chatconn.export.jscode`) and returns null past the
deadline (``elapsedMilliseconds`` counts from the connection loss; chatconn's deadline
from the first attempt). What SignalR cannot change: one server timeout for every
attempt (``withServerTimeout``; no timeout growth), and its own transport fallback
(WebSockets → SSE → long polling inside each attempt) instead of a ladder of attempts.
SignalR reconnects a connection that was up; it does not retry a failed ``start()``.
"""

from __future__ import annotations

import json

from ..core.policy import JitterMode, RetryPolicy
from ..core.strategies import Strategy
from .base import Export, is_jittered, make_export, ms, nominal_retry_waits, timeout_note
from .jscode import wait_function

__all__ = ["CLASS_NAME", "export"]

CLASS_NAME = "ChatconnRetryPolicy"
#: SignalR's default keep-alive interval; the server timeout should be at least twice it.
KEEP_ALIVE_MS = 15_000


def export(policy: RetryPolicy) -> Export:
    notes: list[str] = []
    server_timeout_ms = ms(policy.base_timeout)
    keep_alive_ms = min(KEEP_ALIVE_MS, server_timeout_ms // 2)
    notes += timeout_note(policy, "SignalR", server_timeout_ms / 1000)
    rungs = sorted({s.value for s in policy.ladder} - {Strategy.DIRECT_WEBSOCKET.value})
    if rungs:
        notes.append(
            "ladder: SignalR falls back WebSockets → Server-Sent Events → long polling inside "
            f"every attempt by itself; the rungs {', '.join(rungs)} are not exported as attempts"
        )
    notes.append(
        "SignalR reconnects a connection that was up; a failed first start() is not retried "
        "(call start() again yourself, with the same waits)"
    )
    use_class = is_jittered(policy) or policy.deadline is not None
    realized = policy.with_changes(
        base_timeout=server_timeout_ms / 1000,
        max_timeout=server_timeout_ms / 1000,
        timeout_growth=1.0,
        extended_timeout=server_timeout_ms / 1000,
        ladder=(Strategy.DIRECT_WEBSOCKET,),
    )
    if use_class:
        code = _policy_class(policy)
        text = (
            code
            + "\n// Use it:\n// new signalR.HubConnectionBuilder().withUrl(url)\n"
            + f"//   .withAutomaticReconnect(new {CLASS_NAME}())\n"
            + f"//   .withServerTimeout({server_timeout_ms}).withKeepAliveInterval({keep_alive_ms})"
            + ".build();\n"
        )
        config = {
            "withAutomaticReconnect": f"new {CLASS_NAME}()",
            "withServerTimeout": server_timeout_ms,
            "withKeepAliveInterval": keep_alive_ms,
        }
        return make_export("signalr", text, config, policy, realized, notes, language="typescript")
    delays = [ms(w) for w in nominal_retry_waits(policy)]
    realized = realized.with_changes(
        delays=tuple(d / 1000 for d in delays) or (0.0,),
        first_delay=None,
        jitter_mode=JitterMode.NONE,
        jitter=0.0,
        cap_after_jitter=False,
    )
    config = {
        "withAutomaticReconnect": delays,
        "withServerTimeout": server_timeout_ms,
        "withKeepAliveInterval": keep_alive_ms,
    }
    text = (
        "// @microsoft/signalr (chatconn export)\n"
        "const connection = new signalR.HubConnectionBuilder()\n"
        "  .withUrl(url)\n"
        f"  .withAutomaticReconnect({json.dumps(delays)})\n"
        f"  .withServerTimeout({server_timeout_ms})\n"
        f"  .withKeepAliveInterval({keep_alive_ms})\n"
        "  .build();\n"
    )
    return make_export("signalr", text, config, policy, realized, notes, language="typescript")


def _policy_class(policy: RetryPolicy) -> str:
    return (
        'import { IRetryPolicy, RetryContext } from "@microsoft/signalr";\n\n'
        + wait_function(policy)
        + f"""
/** chatconn's retry policy for SignalR's automatic reconnect (chatconn export). */
export class {CLASS_NAME} implements IRetryPolicy {{
  private previousMs: number = INITIAL_MS;

  constructor(private readonly random: () => number = Math.random) {{}}

  nextRetryDelayInMilliseconds(retryContext: RetryContext): number | null {{
    const retry = retryContext.previousRetryCount;
    if (retry >= RETRIES) return null;
    if (retry === 0) this.previousMs = INITIAL_MS;
    const wait = chatconnWait(retry, this.random, this.previousMs);
    this.previousMs = wait;
    if (DEADLINE_MS !== null && retryContext.elapsedMilliseconds + wait >= DEADLINE_MS) {{
      return null;
    }}
    return wait;
  }}
}}
"""
    )
