"""Token reuse across reconnects: the seed app's "connection caching".

A :class:`TokenCache` keeps the token a :class:`~chatconn.live.tokens.TokenSource` gave (as
a :class:`~chatconn.live.tokens.Secret`) for every later connect of the same manager, until

- it **expires** — its lifetime is the ``expires_in`` of the provider's last answer
  (:class:`~chatconn.live.tokens.HttpTokenProvider` reads it from ``POST /token``, as the lab
  and many token services send it), else the ``exp`` claim of a JWT (Stream Chat's tokens
  are JWTs; read without verifying: the server verifies), else none: kept until rejected;
  it counts as expired :func:`refresh_margin` before its end, so a connect does not start
  with a token about to lapse;
- or the **server rejects** it (:class:`~chatconn.live.errors.AuthRejected`):
  :meth:`TokenCache.reject` drops it and the manager fetches a fresh one at once.

Lifetimes are wall seconds on the manager's clock (a server's fact: the time scale does not
shrink them). :attr:`TokenCache.fetches` counts the provider's fetches; the manager reports
each connect's in a :class:`~chatconn.live.events.TokenReady` event and in every attempt
record (``token_fetches``).
"""

from __future__ import annotations

import base64
import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .tokens import Secret, StaticToken, TokenSource

__all__ = [
    "MAX_REFRESH_MARGIN_S",
    "REFRESH_FRACTION",
    "TokenCache",
    "TokenGrant",
    "jwt_lifetime_s",
    "refresh_margin",
]

#: A token counts as expired this share of its lifetime before its end, at most
#: MAX_REFRESH_MARGIN_S (chatconn's choice: a 1 h token is refreshed 60 s early, a 10 s
#: token 1 s early).
REFRESH_FRACTION = 0.1
MAX_REFRESH_MARGIN_S = 60.0


def refresh_margin(lifetime_s: float) -> float:
    """How long before its end a token of ``lifetime_s`` is no longer reused."""
    return min(REFRESH_FRACTION * lifetime_s, MAX_REFRESH_MARGIN_S)


def jwt_lifetime_s(token: Secret, now_unix: float) -> float | None:
    """Seconds left before a JWT's ``exp`` claim at ``now_unix``; None if the token is not a
    JWT or has no ``exp``. The signature is not checked (the server does); nothing of the
    token is ever returned or raised."""
    parts = token.reveal().split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        exp = float(claims["exp"])
    except (ValueError, KeyError, TypeError, UnicodeError):
        return None
    return exp - now_unix if math.isfinite(exp) else None


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What :meth:`TokenCache.get` gave: the token, and whether it was fetched now.

    ``reason``: ``"first"`` (nothing cached), ``"reused"``, ``"expired"`` or ``"rejected"``
    (the cached one lapsed or the server refused it: fetched again).
    """

    token: Secret
    fetched: bool
    reason: str


class TokenCache:
    """The manager's token between connects; see the module docstring."""

    def __init__(
        self,
        provider: TokenSource,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.provider = provider
        self._clock = clock
        self._wall = wall_clock
        self._token: Secret | None = None
        self._expires_at = math.inf  # on self._clock
        self._dropped = "first"  # why nothing is cached
        #: Fetches made through this cache (every provider call, whatever its retries).
        self.fetches = 0

    def __repr__(self) -> str:
        held = "none" if self._token is None else "Secret('***')"
        return f"TokenCache(token={held}, fetches={self.fetches})"

    @property
    def can_refresh(self) -> bool:
        """False for a fixed token (a StaticToken): fetching again gives the same one."""
        return not isinstance(self.provider, StaticToken)

    @property
    def expires_in(self) -> float | None:
        """Seconds before the cached token stops being reused (None: none cached or no
        known expiry)."""
        if self._token is None or math.isinf(self._expires_at):
            return None
        return self._expires_at - self._clock()

    def cached(self) -> Secret | None:
        """The token to reuse now, or None (dropping it if it has expired)."""
        if self._token is not None and self._clock() >= self._expires_at:
            self._token, self._dropped = None, "expired"
        return self._token

    def reject(self) -> None:
        """The server refused the cached token: never reuse it."""
        if self._token is not None:
            self._token, self._dropped = None, "rejected"

    async def get(self, fetch: Callable[[], Awaitable[Secret]]) -> TokenGrant:
        """The cached token, or a fresh one from ``fetch()`` (the manager's bounded call of
        the provider, which raises when no token comes)."""
        token = self.cached()
        if token is not None:
            return TokenGrant(token, fetched=False, reason="reused")
        reason = self._dropped
        self.fetches += 1
        token = await fetch()
        now = self._clock()
        lifetime = getattr(self.provider, "expires_in", None)
        if not isinstance(lifetime, int | float) or isinstance(lifetime, bool):
            lifetime = jwt_lifetime_s(token, self._wall())
        if lifetime is None or not math.isfinite(lifetime):
            self._expires_at = math.inf
        else:
            self._expires_at = now + lifetime - refresh_margin(max(lifetime, 0.0))
        self._token = token
        return TokenGrant(token, fetched=True, reason=reason)
