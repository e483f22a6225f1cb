"""The lab speaking Stream Chat's protocol: one Stream-like host behind a chaos proxy.

::

    client ──> chaos proxy (role "ws0") ──> starlette + uvicorn (websockets sans-I/O)
               the profile's rules          /connect (WebSocket), REST, /longpoll

Stream serves its WebSocket and its REST API on one host, and the SDK derives one from the
other (``setBaseURL``), so this lab has one port, not the four of
:class:`~chatconn.lab.server.LabServer`. The proxy is the lab's :class:`ChaosProxy` with
the primary WebSocket role: upgrade blocking (corporate-firewall) hangs ``/connect`` while
REST and ``/longpoll`` pass, outages and stalls apply to both. The protocol itself is
:mod:`chatconn.lab.stream`.

::

    async with StreamLabServer("fiber", port=0) as lab:
        lab.base_url               # client.setBaseURL(lab.base_url) in the SDK
        await lab.kill()           # the server dies: open connections reset, new ones refused
        await lab.start()          # ... and comes back on the same port

Binds 127.0.0.1 unless ``host`` says otherwise. The lab's API key is public (like Stream's
keys); the token it accepts besides the SDK's development tokens is never shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from typing import Any

import uvicorn

from ..core.errors import ConfigError
from ..core.profiles import NetworkProfile
from ..endpoint import StreamEndpoint
from .chaos import DEFAULT_BACKLOG, ChaosProxy, SessionDraws
from .server import _backend_socket, as_profile
from .stream import DEFAULT_API_KEY, StreamHub, dev_token
from .uvicorn_runner import UvicornRunner

__all__ = ["StreamLabServer"]

_JANITOR_S = 5.0


class StreamLabServer:
    """The Stream-protocol lab. Same profile, time scale, seed and host arguments as
    :class:`~chatconn.lab.server.LabServer`; ``port`` is its single port (0: any)."""

    protocol = "stream"

    def __init__(
        self,
        profile: NetworkProfile | str,
        *,
        time_scale: float = 1.0,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        token: str | None = None,
        backlog: int = DEFAULT_BACKLOG,
        tls: ssl.SSLContext | None = None,
        **hub_options: Any,
    ) -> None:
        self._profile = as_profile(profile)
        if not isinstance(port, int) or isinstance(port, bool) or not (0 <= port <= 65535):
            raise ConfigError("port", port, "expected 0 (any) or a port in 1-65535")
        if not isinstance(api_key, str) or not api_key:
            raise ConfigError("api_key", api_key, "expected a non-empty string")
        if tls is not None:
            raise ConfigError("tls", "<context>", "the Stream lab serves plain ws:// and http://")
        self.time_scale = float(time_scale)
        self.seed = seed
        self.host = host
        self.port = port
        self.backlog = backlog
        self.api_key = api_key
        self.draws = SessionDraws(seed)
        self.hub = StreamHub(
            self._profile, api_key=api_key, token=token, time_scale=self.time_scale, **hub_options
        )
        self.proxy: ChaosProxy | None = None
        self._uvicorn: UvicornRunner | None = None
        self._janitor: asyncio.Task[None] | None = None
        self.started = False
        #: How many times the server was started (a restart after :meth:`kill` adds one).
        self.generation = 0
        #: ``time.time()`` when the port last started listening, and when :meth:`kill` last
        #: reset the open connections (None before): the outage a client saw.
        self.listening_since: float | None = None
        self.killed_at: float | None = None

    def __repr__(self) -> str:  # never shows a token
        state = "running" if self.started else "stopped"
        return f"StreamLabServer(profile={self._profile.name!r}, {state}, url={self._url()!r})"

    # -- life cycle ----------------------------------------------------------------------
    async def start(self) -> StreamLabServer:
        """Start (or, after :meth:`kill`, restart on the same port)."""
        if self.started:
            return self
        sock = _backend_socket()
        config = uvicorn.Config(
            self.hub.app(),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="websockets-sansio",
            ws_ping_interval=None,  # Stream's keep-alive is its health.check events
            http="h11",
            backlog=self.backlog,
            timeout_graceful_shutdown=1,
        )
        runner = self._uvicorn = UvicornRunner(config)
        try:
            await runner.start(sock, "the Stream lab's HTTP server")
            proxy = ChaosProxy(
                sock.getsockname()[1],
                self._profile,
                role="ws0",
                rng=self.draws,
                time_scale=self.time_scale,
                host=self.host,
                port=self.port,
                backlog=self.backlog,
            )
            await proxy.start()
            self.listening_since = time.time()
        except BaseException:
            await self._stop_http()
            sock.close()
            raise
        self.proxy = proxy
        self.port = proxy.port  # a restart comes back on the same port
        self.hub._closing = False
        self._janitor = asyncio.get_running_loop().create_task(self._expire_idle())
        self.started = True
        self.generation += 1
        return self

    async def _expire_idle(self) -> None:
        while True:
            await asyncio.sleep(_JANITOR_S)
            self.hub.expire_idle()

    async def _stop_http(self) -> None:
        runner, self._uvicorn = self._uvicorn, None
        if runner is not None:
            await runner.stop()

    async def kill(self) -> int:
        """The server dies at once: every open connection is reset and the port stops
        listening (new connections are refused) until :meth:`start`. Returns how many
        connections were reset."""
        if not self.started:
            return 0
        self.started = False
        dropped = 0
        if self._janitor is not None:
            self._janitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._janitor
            self._janitor = None
        if self.proxy is not None:
            dropped = self.proxy.drop_all()  # RST to every client ...
            self.killed_at = time.time()
            await self.proxy.close()  # ... and the port stops listening before any await
            self.proxy = None
        await self.hub.close()
        await self._stop_http()
        return dropped

    close = kill

    async def __aenter__(self) -> StreamLabServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- addresses -----------------------------------------------------------------------
    def _url(self) -> str | None:
        if not self.port:
            return None
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What ``client.setBaseURL`` takes (the WebSocket is the same with ``ws://``)."""
        url = self._url()
        if url is None:
            raise RuntimeError("the Stream lab is not started (use 'async with' or start())")
        return url

    @property
    def endpoint(self) -> StreamEndpoint:
        """For chatconn's own manager: this lab as a Stream deployment (user ``chatconn``,
        whose development token :attr:`token` is)."""
        return StreamEndpoint.from_base_url(self.base_url, api_key=self.api_key)

    @property
    def token(self) -> str:
        """The development token of the endpoint's user (the lab's own token is never shown)."""
        return dev_token(self.endpoint.user_id)

    @property
    def urls(self) -> dict[str, Any]:
        if not self.started:
            return {}
        base = self.base_url
        return {
            "base_url": base,
            "websocket": base.replace("http", "ws", 1) + "/connect",
            "long_polling": base + "/longpoll",
            "api_key": self.api_key,
        }

    # -- control -------------------------------------------------------------------------
    @property
    def profile(self) -> NetworkProfile:
        return self._profile

    def set_profile(self, profile: NetworkProfile | str, *, reset_epoch: bool = False) -> None:
        """Switch the proxy and the server times to ``profile`` (new connections)."""
        profile = as_profile(profile)
        self._profile = self.hub.profile = profile
        if self.proxy is not None:
            self.proxy.set_profile(profile, reset_epoch=reset_epoch)

    def reset_epoch(self) -> None:
        if self.proxy is not None:
            self.proxy.reset_epoch()

    def set_time_scale(self, time_scale: float) -> None:
        if self.proxy is not None:
            self.proxy.set_time_scale(time_scale)
            self.time_scale = self.hub.time_scale = self.proxy.time_scale

    def drop_connections(self) -> int:
        """Reset every open client connection (the server restarts, the port stays open)."""
        return 0 if self.proxy is None else self.proxy.drop_all()

    def stats(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "profile": self._profile.name,
            "generation": self.generation,
            "connections": len(self.hub.connections),
            "hub": dict(self.hub.counts),
            "ports": {} if self.proxy is None else {"ws0": self.proxy.stats()},
        }
