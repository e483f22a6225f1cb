"""Tokens: fetched with their own retries, and never shown anywhere.

A :class:`Secret` hides its value from ``repr``/``str``/f-strings/logging; only
:meth:`Secret.reveal` gives it, and only the transports call it, to put the token on the
wire. Token providers are async callables returning a :class:`Secret` (or a string).

Which provider to use:

- :class:`StaticToken` — a token known in advance (what a string becomes);
- :class:`HttpTokenProvider` — ``POST {http_url}/token``, the lab's (and many apps') way;
- :class:`RetryingTokenProvider` — any async function of yours that fetches a token, with
  the same retries as ``HttpTokenProvider``. :class:`~chatconn.live.ConnectionManager`
  wraps every plain async callable it is given in one, as the seed app wraps any fetch
  function.

Each is a :class:`TokenSource`: the manager calls :meth:`TokenSource.fetch` with its
``time_scale``, so per-request timeouts and retry waits shrink with the scale like every
other number of the policy. A failure ends in :class:`TokenUnavailable` whose message names
the last problem (an HTTP status, an exception's type, "an empty token"), never the token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ..core import token_fetch as _model
from ..core.errors import ConfigError
from ..endpoint import join_url, redact_url
from ..wire import TOKEN_PATH
from .errors import TokenUnavailable
from .tls import default_tls

__all__ = [
    "DEFAULT_TOKEN_BACKOFF_S",
    "DEFAULT_TOKEN_RETRIES",
    "DEFAULT_TOKEN_TIMEOUT_S",
    "HttpTokenProvider",
    "RetryingTokenProvider",
    "Secret",
    "StaticToken",
    "TokenProvider",
    "TokenSource",
]

# The numbers the simulator's token model uses too (one source: chatconn.core.token_fetch).
DEFAULT_TOKEN_RETRIES = _model.DEFAULT_TOKEN_RETRIES
DEFAULT_TOKEN_TIMEOUT_S = _model.DEFAULT_TOKEN_TIMEOUT_S
DEFAULT_TOKEN_BACKOFF_S = _model.DEFAULT_TOKEN_BACKOFF_S


class Secret:
    """A string that never prints itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ConfigError("token", "<hidden>", "expected a non-empty string")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self):  # no pickling a secret into a record by accident
        raise TypeError("a Secret cannot be pickled")


#: What a manager accepts as a token provider: any async callable giving a token.
TokenProvider = Callable[[], Awaitable[Any]]


class TokenSource:
    """Base of chatconn's providers: :meth:`fetch` takes the manager's time scale.

    Subclass it for a provider that handles its own retries (the manager then calls it as
    is); a plain async function is wrapped in a :class:`RetryingTokenProvider` instead.
    """

    __slots__ = ()

    async def fetch(self, time_scale: float = 1.0) -> Secret:
        """The token; every wait and timeout of the fetch multiplied by ``time_scale``."""
        raise NotImplementedError

    async def __call__(self) -> Secret:
        return await self.fetch()


@dataclass(frozen=True, slots=True)
class StaticToken(TokenSource):
    """A token known in advance."""

    secret: Secret

    def __init__(self, token: str | Secret) -> None:
        object.__setattr__(self, "secret", token if isinstance(token, Secret) else Secret(token))

    async def fetch(self, time_scale: float = 1.0) -> Secret:
        return self.secret


class _Problem(Exception):
    """One failed fetch, described without the token; ``retryable`` False stops retrying."""

    def __init__(self, problem: str, *, retryable: bool = True) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retryable = retryable


def _check_retry_args(retries: Any, timeout_s: Any, backoff_s: Any) -> None:
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigError("retries", retries, "expected a whole number >= 0")
    for name, value in (("timeout_s", timeout_s), ("backoff_s", backoff_s)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise ConfigError(name, value, "expected a number of seconds >= 0")
    if timeout_s == 0:
        raise ConfigError("timeout_s", timeout_s, "expected a number of seconds > 0")


class RetryingTokenProvider(TokenSource):
    """An async token fetch function with ``retries`` retries of its own.

    ``fetch_token()`` returns the token (a string or a :class:`Secret`). Each call has
    ``timeout_s``; retries wait ``backoff_s``, doubling (both times the manager's time
    scale). An exception, an empty token or no answer in time is retried; after the last
    try, :class:`TokenUnavailable` names the last problem (an exception by its type only:
    its message might quote the token).
    """

    def __init__(
        self,
        fetch_token: Callable[[], Awaitable[Any]] | None = None,
        *,
        retries: int = DEFAULT_TOKEN_RETRIES,
        timeout_s: float = DEFAULT_TOKEN_TIMEOUT_S,
        backoff_s: float = DEFAULT_TOKEN_BACKOFF_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        overridden = type(self).fetch is not RetryingTokenProvider.fetch
        if not callable(fetch_token) and not (fetch_token is None and overridden):
            raise ConfigError("token", "<hidden>", "expected an async function giving a token")
        _check_retry_args(retries, timeout_s, backoff_s)
        self._fetch_token = fetch_token
        self.retries = retries
        self.timeout_s = float(timeout_s)
        self.backoff_s = float(backoff_s)
        self._sleep = sleep
        #: Calls of the fetch function (or HTTP requests) made so far, every fetch counted.
        self.requests = 0

    @property
    def source(self) -> str:
        """What the token comes from, as error messages name it."""
        name = getattr(self._fetch_token, "__qualname__", None) or type(self._fetch_token).__name__
        return f"the token provider {name}"

    def __repr__(self) -> str:
        return f"RetryingTokenProvider({self.source!r}, retries={self.retries})"

    async def fetch(self, time_scale: float = 1.0) -> Secret:
        fetch_token = self._fetch_token
        if fetch_token is None:  # pragma: no cover - the constructor allows it for overrides
            raise ConfigError("token", "<hidden>", "no token function: a subclass overrides fetch")
        return await self._retrying(fetch_token, time_scale)

    async def _retrying(self, once: Callable[[], Awaitable[Any]], time_scale: float) -> Secret:
        problem = "no attempt made"
        made = 0
        timeout = self.timeout_s * time_scale
        for attempt in range(self.retries + 1):
            if attempt:
                await self._sleep(self.backoff_s * 2 ** (attempt - 1) * time_scale)
            self.requests += 1
            made += 1
            try:
                async with asyncio.timeout(timeout):
                    value = await once()
            except TimeoutError:
                problem = f"no answer within {timeout:g} s"
                continue
            except _Problem as exc:
                problem = exc.problem
                if not exc.retryable:
                    break
                continue
            except Exception as exc:  # any failure of the user's function
                problem = f"it raised {type(exc).__name__}"
                continue
            if isinstance(value, Secret):
                return value
            if isinstance(value, str) and value:
                return Secret(value)
            problem = (
                "it returned an empty token"
                if value == "" or value is None
                else f"it returned a {type(value).__name__}, not a token"
            )
        raise TokenUnavailable(
            f"could not get a token from {self.source} after {made} request(s): {problem}"
        )


class HttpTokenProvider(RetryingTokenProvider):
    """POST ``{http_url}/token`` -> ``{"token": ...}``, with ``retries`` retries of its own.

    Each request has ``timeout_s``; retries wait ``backoff_s``, doubling (both times the
    manager's time scale). A 4xx answer other than 429 is not retried: the request itself is
    wrong. Failures end in :class:`TokenUnavailable` whose message names the last problem,
    never the token.
    """

    def __init__(
        self,
        http_url: str,
        *,
        retries: int = DEFAULT_TOKEN_RETRIES,
        timeout_s: float = DEFAULT_TOKEN_TIMEOUT_S,
        backoff_s: float = DEFAULT_TOKEN_BACKOFF_S,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(retries=retries, timeout_s=timeout_s, backoff_s=backoff_s, sleep=sleep)
        self._url = join_url(http_url, TOKEN_PATH)
        #: The ``expires_in`` (seconds) of the last token fetched, when the answer had one:
        #: how long :class:`~chatconn.live.token_cache.TokenCache` may reuse it.
        self.expires_in: float | None = None
        #: Where the token comes from, without credentials or query.
        self.url = redact_url(self._url)
        self._client = client

    @property
    def source(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"HttpTokenProvider({self.url!r}, retries={self.retries})"

    async def fetch(self, time_scale: float = 1.0) -> Secret:
        shared = self._client
        if shared is not None:
            return await self._retrying(lambda: self._post(shared), time_scale)
        async with httpx.AsyncClient(timeout=None, verify=default_tls()) as client:
            return await self._retrying(lambda: self._post(client), time_scale)

    async def _post(self, client: httpx.AsyncClient) -> Secret:
        try:
            response = await client.post(self._url)
        except httpx.HTTPError as exc:
            raise _Problem(type(exc).__name__) from None
        status = response.status_code
        if status != 200:
            # A 4xx other than 429: the request itself is wrong, retrying cannot help.
            raise _Problem(f"HTTP {status}", retryable=not (400 <= status < 500 and status != 429))
        try:
            answer = response.json()
            token = Secret(answer["token"])
        except (ValueError, KeyError, TypeError, ConfigError):
            raise _Problem("the answer had no token") from None
        lifetime = answer.get("expires_in")
        ok = isinstance(lifetime, int | float) and not isinstance(lifetime, bool)
        self.expires_in = float(lifetime) if ok and lifetime >= 0 else None
        return token
