"""Python ``websockets`` (17.4): the library's own backoff settings, or a reconnect loop.

``websockets/client.py`` (17.4) reads its reconnect backoff from the environment when it
is imported — ``WEBSOCKETS_BACKOFF_INITIAL_DELAY`` (5), ``_MIN_DELAY`` (3.1),
``_MAX_DELAY`` (90), ``_FACTOR`` (1.618) — and ``backoff()`` yields ``random() · initial``,
then ``min_delay · factor^k`` while below ``max_delay``, then ``max_delay`` forever;
``connect(open_timeout=...)`` bounds each attempt. A policy of exactly that shape (a
fully jittered first wait, no other jitter, one timeout, no table, no deadline) is exported
as those settings. Any other policy is exported as a small reconnect loop around
``websockets.asyncio.client.connect`` that follows chatconn's schedule exactly: each
attempt's ``open_timeout``, the jittered waits, the deadline, and websockets' own
``process_exception`` to tell retryable errors from fatal ones.
"""

from __future__ import annotations

from ..core.policy import JitterMode, RetryPolicy
from ..core.schedule import jitter_mode_for, nominal_timeouts, nominal_waits
from .base import Export, make_export, ws_ladder, ws_only_note

__all__ = ["export", "library_settings_fit"]


def library_settings_fit(policy: RetryPolicy) -> bool:
    """True when websockets' own backoff can follow ``policy`` (see the module doc)."""
    return (
        policy.first_delay is not None
        and policy.first_delay_jitter is JitterMode.FULL
        and (policy.jitter_mode is JitterMode.NONE or policy.jitter == 0)
        and policy.delays is None
        and policy.deadline is None
        and not policy.cap_after_jitter
        and len(set(nominal_timeouts(policy).tolist())) == 1
    )


def export(policy: RetryPolicy) -> Export:
    notes = ws_only_note(policy, "websockets")
    realized = policy.with_changes(ladder=ws_ladder(policy))
    if library_settings_fit(policy):
        return _settings(policy, realized, notes)
    return _loop(policy, realized, notes)


def _settings(policy: RetryPolicy, realized: RetryPolicy, notes: list[str]) -> Export:
    env = {
        "WEBSOCKETS_BACKOFF_INITIAL_DELAY": repr(policy.first_delay),
        "WEBSOCKETS_BACKOFF_MIN_DELAY": repr(policy.initial_delay),
        "WEBSOCKETS_BACKOFF_MAX_DELAY": repr(policy.max_delay),
        "WEBSOCKETS_BACKOFF_FACTOR": repr(policy.multiplier),
    }
    open_timeout = float(nominal_timeouts(policy)[0])
    notes = [
        *notes,
        f"attempts: websockets' `async for websocket in connect(...)` retries forever; the "
        f"asked {policy.max_attempts} attempts are yours to count",
    ]
    text = (
        "# websockets reconnect settings (chatconn export): set them in the environment\n"
        "# before Python imports websockets (it reads them once, in websockets/client.py)\n"
        + "".join(f"export {k}={v}\n" for k, v in env.items())
        + f"# then: async for websocket in connect(uri, open_timeout={open_timeout!r}): ...\n"
    )
    config = {"environment": env, "open_timeout": open_timeout}
    return make_export("websockets", text, config, policy, realized, notes, language="shell")


def _loop(policy: RetryPolicy, realized: RetryPolicy, notes: list[str]) -> Export:
    retries = policy.max_attempts - 1
    timeouts = [float(t) for t in nominal_timeouts(policy)]
    nominal = [float(w) for w in nominal_waits(policy)[:retries]]
    modes = [jitter_mode_for(policy, k).value for k in range(retries)]
    text = f'''"""A reconnect loop for websockets following a chatconn policy (chatconn export)."""

import asyncio
import math
import random as _random

from websockets.asyncio.client import connect, process_exception

TIMEOUTS = {timeouts!r}  # open_timeout of each attempt, s
NOMINAL = {nominal!r}  # nominal wait before each retry, s
JITTER_MODES = {modes!r}
JITTER = {policy.jitter!r}
INITIAL = {policy.initial_delay!r}
MAX_DELAY = {policy.max_delay!r}
CAP_AFTER_JITTER = {policy.cap_after_jitter!r}
DEADLINE = {policy.deadline!r}  # total budget of the connect, s (None: none)


def wait_before(retry, u, previous):
    """The wait before retry `retry` (0 = the first), from a uniform draw `u` in [0, 1)."""
    d, mode = NOMINAL[retry], JITTER_MODES[retry]
    if mode == "proportional":
        wait = d * (1 + JITTER * (2 * u - 1))
    elif mode == "full":
        wait = u * d
    elif mode == "equal":
        wait = d / 2 + u * (d / 2)
    elif mode == "decorrelated":
        wait = min(MAX_DELAY, INITIAL + u * (3 * previous - INITIAL))
    elif mode == "backo2":
        ms = d * 1000
        deviation = math.floor(u * JITTER * ms)
        ms = ms - deviation if math.floor(u * 10) % 2 == 0 else ms + deviation
        if CAP_AFTER_JITTER:
            ms = min(ms, MAX_DELAY * 1000)
        return math.floor(ms) / 1000
    else:
        wait = d
    return min(wait, MAX_DELAY) if CAP_AFTER_JITTER else wait


async def connect_with_retries(uri, *, sleep=asyncio.sleep, random=_random.random, **kwargs):
    """Open a websockets connection to `uri`, retrying by the policy; raise the last error."""
    clock = asyncio.get_running_loop().time
    start, previous, error = clock(), INITIAL, None
    for attempt, timeout in enumerate(TIMEOUTS):
        if DEADLINE is not None:
            timeout = min(timeout, DEADLINE - (clock() - start))
        try:
            return await connect(uri, open_timeout=timeout, **kwargs)
        except Exception as exc:
            if process_exception(exc) is not None:
                raise  # fatal for websockets too (e.g. HTTP 403, a bad URI)
            error = exc
        if attempt + 1 == len(TIMEOUTS):
            break
        wait = wait_before(attempt, random(), previous)
        previous = wait
        if DEADLINE is not None and clock() - start + wait >= DEADLINE:
            break
        await sleep(wait)
    raise ConnectionError(f"gave up after {{attempt + 1}} attempts: {{error!r}}") from error
'''
    config = {"timeouts_s": timeouts, "nominal_waits_s": nominal, "jitter_modes": modes}
    return make_export("websockets", text, config, policy, realized, notes, language="python")
