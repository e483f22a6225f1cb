"""stream-chat (9.53.0): SDK options and a seed-style connection manager around it.

What the SDK lets you set (read in ``src/client.ts``, ``src/connection.ts``,
``src/utils.ts`` of stream-chat 9.53.0): the option ``enableWSFallback`` (long polling
after a failed WebSocket, ``connection_fallback.ts``) and the client's public fields
``defaultWSTimeout`` (15,000 ms) and ``defaultWSTimeoutWithFallback`` (6,000 ms), the
time ``connectUser`` waits for a healthy WebSocket. Its waits are not settable: within
that time ``StableWSConnection`` retries by itself after ``retryInterval(failures)``
(U[min(max(250, 2000(n-1)), 25000), min(500 + 2000n, 25000)) ms), and after a drop it
reconnects by the same function, not by your policy.

So the export is those options plus a small TypeScript wrapper, ``connectWithPolicy``:
attempts, their timeouts, the waits between them (:mod:`chatconn.export.jscode`), the
deadline and the ladder of chatconn's policy around ``client.connectUser``. Ladder rungs
map to what the SDK can do: WebSocket rungs (direct, extended timeout; alternative ports
become the direct WebSocket), long polling (and SSE, which the SDK lacks) become
``enableWSFallback`` with a short WebSocket try (:data:`WS_PROBE_MS`) before it.
"""

from __future__ import annotations

import json

from ..core.policy import RetryPolicy
from ..core.schedule import nominal_timeouts
from ..core.strategies import Strategy
from .base import Export, make_export, ms
from .jscode import wait_function

__all__ = ["WS_PROBE_MS", "export"]

#: stream-chat's own ``defaultWSTimeoutWithFallback``: the WebSocket try before long polling.
WS_PROBE_MS = 6_000
_RUNG = {
    Strategy.DIRECT_WEBSOCKET: ("websocket", Strategy.DIRECT_WEBSOCKET),
    Strategy.EXTENDED_TIMEOUT: ("websocket", Strategy.EXTENDED_TIMEOUT),
    Strategy.MULTIPLE_PORTS: ("websocket", Strategy.DIRECT_WEBSOCKET),
    Strategy.LONG_POLLING: ("longpoll", Strategy.LONG_POLLING),
    Strategy.SSE_FALLBACK: ("longpoll", Strategy.LONG_POLLING),
}


def export(policy: RetryPolicy) -> Export:
    notes = [
        "connectUser can resolve without a connection (stream-chat 9.53.0: the long-poll "
        "fallback's connect() returns nothing while a previous one is still connecting); the "
        "wrapper counts only a result with a connection id or the user as connected",
        "inside each attempt the SDK retries the WebSocket itself after retryInterval(n) "
        "(0.25–2.5 s, then 2–4.5 s, … up to 25 s) until the attempt's timeout; after a drop "
        "it reconnects by retryInterval, not by this policy",
    ]
    if Strategy.MULTIPLE_PORTS in policy.ladder:
        notes.append("ladder: multiple_ports becomes the direct WebSocket (one URL in the SDK)")
    if Strategy.SSE_FALLBACK in policy.ladder:
        notes.append("ladder: sse_fallback becomes long polling (the SDK has no SSE)")
    rungs = [_RUNG[policy.strategy_for(k)] for k in range(policy.max_attempts)]
    timeouts = [ms(t) for t in nominal_timeouts(policy)]
    fallback = any(r[0] == "longpoll" for r in rungs)
    sdk_options = {"enableWSFallback": fallback}
    client_fields = {"defaultWSTimeout": timeouts[0], "defaultWSTimeoutWithFallback": WS_PROBE_MS}
    config = {
        "sdk_options": sdk_options,
        "client_fields": client_fields,
        "manager": {
            "timeouts_ms": timeouts,
            "ladder": [r[0] for r in rungs],
            "max_attempts": policy.max_attempts,
            "initial_delay_ms": ms(policy.initial_delay),
            "multiplier": policy.multiplier,
            "max_delay_ms": ms(policy.max_delay),
            "jitter": policy.jitter,
            "jitter_mode": policy.jitter_mode.value,
            "deadline_ms": None if policy.deadline is None else ms(policy.deadline),
        },
    }
    realized_ladder = tuple(r[1] for r in rungs)
    realized = policy.with_changes(ladder=realized_ladder)
    text = _wrapper(policy, sdk_options, timeouts, [r[0] for r in rungs])
    return make_export("stream-chat", text, config, policy, realized, notes, language="typescript")


def _wrapper(policy: RetryPolicy, sdk_options: dict, timeouts: list[int], ladder: list[str]) -> str:
    return (
        "// stream-chat 9.53 connection manager (chatconn export)\n"
        'import { StreamChat } from "stream-chat";\n\n'
        f"/** Pass to StreamChat.getInstance(apiKey, SDK_OPTIONS). */\n"
        f"export const SDK_OPTIONS = {json.dumps(sdk_options)};\n\n"
        + wait_function(policy)
        + f"""const TIMEOUTS_MS: number[] = {json.dumps(timeouts)};
const LADDER: string[] = {json.dumps(ladder)};
const WS_PROBE_MS = {WS_PROBE_MS};

export interface AttemptInfo {{
  attempt: number;
  rung: string;
  timeoutMs: number;
  waitMs: number;
}}

export interface ConnectOptions {{
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  onAttempt?: (info: AttemptInfo) => void;
}}

/** connectUser by the policy: each attempt bounded by its timeout, the waits between
 * attempts jittered as chatconn's schedule, long polling on the rungs that ask for it. */
export async function connectWithPolicy(
  client: StreamChat,
  user: any,
  token: any,
  options: ConnectOptions = {{}},
): Promise<any> {{
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const start = now();
  let previous = INITIAL_MS;
  let waitMs = 0;
  let lastError: unknown = new Error("no attempt made");
  for (let attempt = 0; attempt < TIMEOUTS_MS.length; attempt++) {{
    let timeoutMs = TIMEOUTS_MS[attempt];
    if (DEADLINE_MS !== null) timeoutMs = Math.min(timeoutMs, DEADLINE_MS - (now() - start));
    const rung = LADDER[attempt];
    client.options.enableWSFallback = rung === "longpoll";
    client.defaultWSTimeout = timeoutMs;
    client.defaultWSTimeoutWithFallback = Math.min(WS_PROBE_MS, timeoutMs);
    options.onAttempt?.({{ attempt, rung, timeoutMs, waitMs }});
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {{
      const opened: any = await Promise.race([
        client.connectUser(user, token),
        new Promise<never>((_, reject) => {{
          timer = setTimeout(
            () => reject(new Error(`attempt ${{attempt + 1}} timed out after ${{timeoutMs}} ms`)),
            timeoutMs,
          );
        }}),
      ]);
      // connectUser resolves undefined when the long-poll fallback is "already
      // connecting" (connection_fallback.ts): only a connection id or the user counts.
      if (!opened || !(opened.connection_id || opened.me)) {{
        throw new Error(`attempt ${{attempt + 1}}: connectUser resolved without a connection`);
      }}
      return opened;
    }} catch (error) {{
      lastError = error;
      await client.disconnectUser().catch(() => undefined);
    }} finally {{
      clearTimeout(timer);
    }}
    if (attempt + 1 === TIMEOUTS_MS.length) break;
    waitMs = chatconnWait(attempt, random, previous);
    previous = waitMs;
    if (DEADLINE_MS !== null && now() - start + waitMs >= DEADLINE_MS) break;
    await sleep(waitMs);
  }}
  throw lastError;
}}
"""
    )
