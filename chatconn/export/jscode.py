"""The one schedule formula written out in TypeScript, for exports that ship code.

:func:`wait_function` emits a function ``chatconnWait(retry, random, previousMs)`` whose
waits follow :func:`chatconn.core.schedule.jittered_wait` for the policy: the nominal
waits are a table computed by :func:`chatconn.core.schedule.nominal_waits` (so growth and
cap come from chatconn, not re-derived), and each jitter mode is the same expression. The
code is plain TypeScript that is also JavaScript once its type annotations are removed.
"""

from __future__ import annotations

import json

from ..core.policy import RetryPolicy
from ..core.schedule import jitter_mode_for, nominal_waits

__all__ = ["js_number", "wait_function"]


def js_number(value: float) -> str:
    """A float as a JavaScript literal (Python's repr round-trips; so does JS's parser)."""
    return repr(float(value)).replace("inf", "Infinity")


def wait_function(policy: RetryPolicy) -> str:
    """TypeScript: constants of the schedule and ``chatconnWait`` (milliseconds)."""
    retries = policy.max_attempts - 1
    nominal = [js_number(w * 1000.0) for w in nominal_waits(policy)[:retries]]
    modes = [jitter_mode_for(policy, k).value for k in range(retries)]
    deadline = "null" if policy.deadline is None else js_number(policy.deadline * 1000.0)
    return f"""// The schedule of this policy, from chatconn.core.schedule (nominal waits, jitter).
const NOMINAL_MS: number[] = [{", ".join(nominal)}];
const JITTER_MODES: string[] = {json.dumps(modes)};
const JITTER = {js_number(policy.jitter)};
const INITIAL_MS = {js_number(policy.initial_delay * 1000.0)};
const MAX_MS = {js_number(policy.max_delay * 1000.0)};
const CAP_AFTER_JITTER = {"true" if policy.cap_after_jitter else "false"};
const WINDOW_MS = {js_number(policy.window * 1000.0)};
const WINDOW_FLOOR_MS = {js_number(policy.window_floor * 1000.0)};
const DEADLINE_MS: number | null = {deadline};
const RETRIES = {retries};

/** The wait before retry `retry` (0 = the first retry), in ms; `previousMs` is the wait
 * before it (INITIAL_MS for the first), used by decorrelated jitter. */
function chatconnWait(retry: number, random: () => number, previousMs: number): number {{
  const d = NOMINAL_MS[retry];
  const u = random();
  let wait: number;
  switch (JITTER_MODES[retry]) {{
    case "proportional":
      wait = d * (1 + JITTER * (2 * u - 1));
      break;
    case "full":
      wait = u * d;
      break;
    case "equal":
      wait = d / 2 + u * (d / 2);
      break;
    case "decorrelated":
      wait = Math.min(MAX_MS, INITIAL_MS + u * (3 * previousMs - INITIAL_MS));
      break;
    case "backo2": {{
      const deviation = Math.floor(u * JITTER * d);
      wait = (Math.floor(u * 10) & 1) === 0 ? d - deviation : d + deviation;
      if (CAP_AFTER_JITTER) wait = Math.min(wait, MAX_MS);
      return Math.floor(wait);
    }}
    case "window": {{
      // stream-chat's retryInterval: both ends capped, whole milliseconds.
      const top = Math.min(d, MAX_MS);
      const high = Math.round(top);
      const low = Math.round(Math.min(Math.max(WINDOW_FLOOR_MS, d - WINDOW_MS), top));
      return Math.floor(u * (high - low) + low);
    }}
    default:
      wait = d;
  }}
  if (CAP_AFTER_JITTER) wait = Math.min(wait, MAX_MS);
  return wait;
}}
"""
