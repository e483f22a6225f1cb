"""tenacity (9.x) ``retry`` arguments: ``stop`` and ``wait`` as chatconn's schedule.

Read in tenacity 9.2.1 ``wait.py`` and ``stop.py``: ``wait_exponential(multiplier, max,
exp_base)`` waits ``min(multiplier · exp_base^(n-1), max)`` after attempt n;
``wait_random_exponential`` draws ``uniform(0, that)``; waits add with ``+``;
``wait_chain`` uses its n-th strategy after attempt n (the last repeats);
``stop_after_attempt(n)``; ``stop_before_delay(d)`` stops when the next attempt would start
at or after d seconds — chatconn's deadline. So proportional (``d(1-j) + U(0, 2jd)``), full,
equal and no jitter are exact, and so are a table of waits and a special first wait
(``wait_chain``). Not expressible: decorrelated jitter and socket.io's backo2 (exported as
proportional, with a note), a cap after the jitter. tenacity has no connect timeout: the
export lists each attempt's timeout for your code to apply (shown in its usage comment).
"""

from __future__ import annotations

from ..core.policy import JitterMode, RetryPolicy
from ..core.schedule import jitter_mode_for, nominal_timeouts
from .base import Export, make_export, nominal_retry_waits, ws_ladder, ws_only_note

__all__ = ["export"]


def _g(x: float) -> str:
    return repr(round(float(x), 9))


def _one(d: float, mode: JitterMode, j: float) -> str:
    """tenacity code for one wait of nominal ``d`` with the given jitter."""
    if mode is JitterMode.NONE or (mode is JitterMode.PROPORTIONAL and j == 0):
        return f"wait_fixed({_g(d)})"
    if mode is JitterMode.FULL:
        return f"wait_random(0, {_g(d)})"
    if mode is JitterMode.EQUAL:
        return f"wait_random({_g(d / 2)}, {_g(d)})"
    return f"wait_random({_g(d * (1 - j))}, {_g(d * (1 + j))})"


def _expo(policy: RetryPolicy, mode: JitterMode) -> str:
    i, m, cap, j = policy.initial_delay, policy.multiplier, policy.max_delay, policy.jitter
    if mode is JitterMode.NONE or (mode is JitterMode.PROPORTIONAL and j == 0):
        return f"wait_exponential(multiplier={_g(i)}, exp_base={_g(m)}, max={_g(cap)})"
    if mode is JitterMode.FULL:
        return f"wait_random_exponential(multiplier={_g(i)}, exp_base={_g(m)}, max={_g(cap)})"
    if mode is JitterMode.EQUAL:
        j = 0.5
    fixed = (
        f"wait_exponential(multiplier={_g(i * (1 - j))}, exp_base={_g(m)}, max={_g(cap * (1 - j))})"
    )
    rand = (
        f"wait_random_exponential(multiplier={_g(2 * j * i)}, exp_base={_g(m)}, "
        f"max={_g(2 * j * cap)})"
    )
    if mode is JitterMode.EQUAL:
        rand = (
            f"wait_random_exponential(multiplier={_g(i / 2)}, exp_base={_g(m)}, max={_g(cap / 2)})"
        )
    return f"{fixed} + {rand}" if j < 1 else rand


def export(policy: RetryPolicy) -> Export:
    notes: list[str] = ws_only_note(policy, "tenacity")
    realized = policy
    mode = policy.jitter_mode
    if mode in (JitterMode.DECORRELATED, JitterMode.BACKO2):
        notes.append(
            f"jitter: tenacity has no {mode.value} jitter; exported as proportional "
            f"±{policy.jitter:g}"
        )
        realized = realized.with_changes(
            jitter_mode=JitterMode.PROPORTIONAL, cap_after_jitter=False
        )
    elif policy.cap_after_jitter and policy.jitter > 0:
        notes.append(
            "cap: tenacity caps the nominal wait; the asked cap after the jitter is not exported"
        )
        realized = realized.with_changes(cap_after_jitter=False)
    retries = policy.max_attempts - 1
    if policy.delays is None and policy.first_delay is None:
        wait = _expo(realized, realized.jitter_mode)
    else:  # a table or a special first wait: one strategy per retry, the last repeating
        nominal = nominal_retry_waits(realized)
        parts = [
            _one(d, jitter_mode_for(realized, k), realized.jitter) for k, d in enumerate(nominal)
        ]
        wait = "wait_chain(" + ", ".join(parts or ["wait_fixed(0)"]) + ")"
    stop = f"stop_after_attempt({policy.max_attempts})"
    if policy.deadline is not None:
        stop += f" | stop_before_delay({_g(policy.deadline)})"
    timeouts = [float(t) for t in nominal_timeouts(policy)]
    names = sorted(
        {
            "retry",
            "Retrying",
            "stop_after_attempt",
            "stop_before_delay",
            "wait_chain",
            "wait_exponential",
            "wait_fixed",
            "wait_random",
            "wait_random_exponential",
        }
    )
    used = [n for n in names if n in wait or n in stop or n in ("retry", "Retrying")]
    text = (
        f"# tenacity retry arguments (chatconn export), {retries} retries\n"
        f"from tenacity import {', '.join(used)}\n\n"
        "RETRY_ARGS = dict(\n"
        f"    stop={stop},\n"
        f"    wait={wait},\n"
        "    reraise=True,\n"
        ")\n"
        "# connect timeout of each attempt, seconds (tenacity has none: apply it yourself)\n"
        f"ATTEMPT_TIMEOUTS = {[round(t, 6) for t in timeouts]}\n\n"
        "# Use it:  @retry(**RETRY_ARGS)  on the function that connects, or, to apply\n"
        "# each attempt's timeout:\n"
        "# for attempt in Retrying(**RETRY_ARGS):            # or AsyncRetrying\n"
        "#     with attempt:\n"
        "#         n = attempt.retry_state.attempt_number\n"
        "#         connect(timeout=ATTEMPT_TIMEOUTS[n - 1])\n"
    )
    config = {"stop": stop, "wait": wait, "reraise": True, "attempt_timeouts_s": timeouts}
    realized = realized.with_changes(ladder=ws_ladder(policy))
    return make_export("tenacity", text, config, policy, realized, notes, language="python")
