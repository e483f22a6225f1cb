"""The token fetch before a connect, as settings and as a pure model.

Every connect starts by getting a login token: the live manager asks its token provider
(:class:`chatconn.live.tokens.HttpTokenProvider`: ``POST {http_url}/token``, the lab's and
many apps' way), with retries of its own. That step follows the network like an attempt:
on a down server it fails in a few round trips and backoffs, on a blackhole only after
every request timed out. :func:`token_fetch` is what it costs, for many sessions at once,
in profile time; the simulator runs it before the diagnostics and the first attempt, and
the live manager's provider uses the same :class:`TokenSettings` numbers.

A profile whose ``token_endpoint`` is ``static`` (a token known in advance) skips the
fetch. Otherwise the model, request by request (one HTTP connection on the HTTP port)::

    request r      starts after the previous one failed plus backoff_s * 2**(r-1)
    success        2 RTT for the first request (TCP + POST); the fetch ends
    failure        the profile's outages, as an attempt (refuse: 1 RTT; hang: timeout_s)
    given up       after 1 + retries requests: the session fails with ErrorCategory.TOKEN

Random stalls, resets and SYN losses of the token requests are not drawn (they would only
delay the first attempt: the token's time is not part of the time to connect, which counts
from the diagnostics or the first attempt, as the live run measures it). The time does
count against the policy's deadline, as in the live manager.

Defaults are the live provider's (``chatconn/live/tokens.py``: ``DEFAULT_TOKEN_RETRIES = 3``,
``DEFAULT_TOKEN_TIMEOUT_S = 5.0``, ``DEFAULT_TOKEN_BACKOFF_S = 0.2``), bounded as a whole by
the manager's ``TOKEN_BUDGET_S = 30`` s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConfigError
from .model import SessionConditions, attempt_outcome
from .profiles import NetworkProfile, TokenEndpoint
from .strategies import Strategy

__all__ = [
    "DEFAULT_TOKEN_BACKOFF_S",
    "DEFAULT_TOKEN_BUDGET_S",
    "DEFAULT_TOKEN_RETRIES",
    "DEFAULT_TOKEN_TIMEOUT_S",
    "TOKEN_ROUND_TRIPS",
    "TokenFetch",
    "TokenSettings",
    "token_fetch",
]

DEFAULT_TOKEN_RETRIES = 3
DEFAULT_TOKEN_TIMEOUT_S = 5.0
DEFAULT_TOKEN_BACKOFF_S = 0.2
#: The manager's bound of the whole fetch (``TOKEN_BUDGET_S``).
DEFAULT_TOKEN_BUDGET_S = 30.0
#: A token request on a new connection: TCP, then the POST.
TOKEN_ROUND_TRIPS = 2.0


@dataclass(frozen=True, slots=True)
class TokenSettings:
    """How the token is fetched: ``retries`` retries, ``timeout_s`` per request, waits of
    ``backoff_s`` doubling, the whole fetch bounded by ``budget_s``."""

    retries: int = DEFAULT_TOKEN_RETRIES
    timeout_s: float = DEFAULT_TOKEN_TIMEOUT_S
    backoff_s: float = DEFAULT_TOKEN_BACKOFF_S
    budget_s: float = DEFAULT_TOKEN_BUDGET_S

    def __post_init__(self) -> None:
        n = self.retries
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 100:
            raise ConfigError("token.retries", n, "expected a whole number in [0, 100]")
        for name, low_open in (("timeout_s", True), ("backoff_s", False), ("budget_s", True)):
            value = getattr(self, name)
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            ok = ok and math.isfinite(value) and (value > 0 if low_open else value >= 0)
            if not ok:
                bound = "> 0" if low_open else ">= 0"
                raise ConfigError(f"token.{name}", value, f"expected a number of seconds {bound}")
            object.__setattr__(self, name, float(value))

    def waits(self) -> tuple[float, ...]:
        """The wait before each retry (``backoff_s * 2**(r-1)``), as the live provider."""
        return tuple(self.backoff_s * 2 ** (r - 1) for r in range(1, self.retries + 1))


@dataclass(frozen=True, slots=True)
class TokenFetch:
    """Per session: whether a token came (``ok``) and when the fetch ended (``ended``)."""

    ok: np.ndarray
    ended: np.ndarray


def token_fetch(
    settings: TokenSettings,
    profile: NetworkProfile,
    conditions: SessionConditions,
    start: float | np.ndarray = 0.0,
) -> TokenFetch:
    """The token fetch of the sessions in ``conditions`` starting at ``start`` (profile s)."""
    rtt = conditions.rtt
    n = rtt.size
    t = np.zeros(n) + start
    if profile.token_endpoint is TokenEndpoint.STATIC:
        return TokenFetch(ok=np.ones(n, dtype=bool), ended=t)
    success = TOKEN_ROUND_TRIPS * rtt
    if not profile.outages and (n == 0 or success.max() <= settings.timeout_s):
        return TokenFetch(ok=np.ones(n, dtype=bool), ended=t + success)  # the loop's result
    ok = np.zeros(n, dtype=bool)
    began = t.copy()
    waits = settings.waits()
    trying = np.arange(n)
    for r in range(settings.retries + 1):
        if r:
            t[trying] += waits[r - 1]
        here = conditions.take(trying)
        left = began[trying] + settings.budget_s - t[trying]
        timeout = np.minimum(settings.timeout_s, np.maximum(left, 0.0))
        outcome = attempt_outcome(
            profile, Strategy.LONG_POLLING, t[trying], timeout, here, None, None,
            success=TOKEN_ROUND_TRIPS * here.rtt,
        )  # fmt: skip
        t[trying] += outcome.duration
        ok[trying[outcome.connected]] = True
        trying = trying[~outcome.connected]
        trying = trying[t[trying] < began[trying] + settings.budget_s]
        if not trying.size:
            break
    return TokenFetch(ok=ok, ended=t)


def needs_token_model(policy: Any, profile: NetworkProfile) -> bool:
    """True when the token fetch can change a session's outcome: the token comes from the
    server and the profile has outage windows (the only thing that fails the modelled
    fetch) or the policy has a deadline (the fetch's time counts against it). Otherwise it
    takes no time or always succeeds in 2 RTT, and the attempts are the same with or
    without it: the simulator may skip it."""
    if profile.token_endpoint is TokenEndpoint.STATIC:
        return False
    return bool(profile.outages) or policy.deadline is not None
