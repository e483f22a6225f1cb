"""Tokens: fetched with their own retries, and never shown anywhere.

A :class:`Secret` hides its value from ``repr``/``str``/f-strings/logging; only
:meth:`Secret.reveal` gives it, and only the transports call it, to put the token on the
wire. Token providers are async callables returning a :class:`Secret`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from ..core.errors import ConfigError
from ..lab.protocol import TOKEN_PATH
from .errors import TokenUnavailable
from .tls import default_tls

__all__ = [
    "DEFAULT_TOKEN_RETRIES",
    "HttpTokenProvider",
    "Secret",
    "StaticToken",
    "TokenProvider",
]

DEFAULT_TOKEN_RETRIES = 3
DEFAULT_TOKEN_TIMEOUT_S = 5.0
DEFAULT_TOKEN_BACKOFF_S = 0.2


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


TokenProvider = Callable[[], Awaitable[Secret]]


@dataclass(frozen=True, slots=True)
class StaticToken:
    """A token known in advance."""

    secret: Secret

    def __init__(self, token: str | Secret) -> None:
        object.__setattr__(self, "secret", token if isinstance(token, Secret) else Secret(token))

    async def __call__(self) -> Secret:
        return self.secret


class HttpTokenProvider:
    """POST ``{http_url}/token`` -> ``{"token": ...}``, with ``retries`` retries of its own.

    Each request has ``timeout_s``; retries wait ``backoff_s``, doubling. Failures end in
    :class:`TokenUnavailable` whose message names the last problem, never the token.
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
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError("retries", retries, "expected a whole number >= 0")
        self.url = http_url.rstrip("/") + TOKEN_PATH
        self.retries = retries
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self._client = client
        self._sleep = sleep
        self.requests = 0

    def __repr__(self) -> str:
        return f"HttpTokenProvider({self.url!r}, retries={self.retries})"

    async def __call__(self) -> Secret:
        problem = "no attempt made"
        client = self._client or httpx.AsyncClient(timeout=self.timeout_s, verify=default_tls())
        try:
            for attempt in range(self.retries + 1):
                if attempt:
                    await self._sleep(self.backoff_s * 2 ** (attempt - 1))
                self.requests += 1
                try:
                    async with asyncio.timeout(self.timeout_s):
                        response = await client.post(self.url)
                except TimeoutError:
                    problem = f"no answer within {self.timeout_s:g} s"
                    continue
                except httpx.HTTPError as exc:
                    problem = f"{type(exc).__name__}"
                    continue
                if response.status_code != 200:
                    problem = f"HTTP {response.status_code}"
                    if 400 <= response.status_code < 500 and response.status_code != 429:
                        break  # the request itself is wrong: retrying cannot help
                    continue
                try:
                    return Secret(response.json()["token"])
                except (ValueError, KeyError, TypeError, ConfigError):
                    problem = "the answer had no token"
        finally:
            if self._client is None:
                await client.aclose()
        raise TokenUnavailable(
            f"could not get a token from {self.url} after {self.requests} request(s): {problem}"
        )
