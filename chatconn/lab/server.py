"""The lab server: a real chat server on loopback with a NetworkProfile in front of it.

::

    client ──> chaos proxy "ws0"  ──> websockets backend   /ws, /probe   (primary port)
           ──> chaos proxy "ws1"  ──> websockets backend   /ws, /probe   (alternative)
           ──> chaos proxy "ws2"  ──> websockets backend   /ws, /probe   (alternative)
           ──> chaos proxy "http" ──> starlette + uvicorn  /lp/*, /sse*, /token, /latency

The backends speak :mod:`chatconn.wire` (see :mod:`chatconn.lab.chat`); each proxy
(:mod:`chatconn.lab.chaos`) applies the profile to real sockets with the simulator's rules.
The four proxies share one seeded :class:`~chatconn.lab.chaos.SessionDraws`, so a client
that tags its session (``X-Chatconn-Session``) meets the same conditions on every port.

::

    async with LabServer(profile_preset("3g"), time_scale=0.1, seed=1) as lab:
        session = await open_session(Strategy.DIRECT_WEBSOCKET, lab.endpoint, lab.token, ...)
        lab.set_profile(profile_preset("corporate-firewall"))     # at run time
        lab.schedule("ws0", [Fault.STALL, Fault.RESET])           # the next two connections

Backends always listen on 127.0.0.1 (ephemeral ports); the proxies listen on ``host``
(127.0.0.1 unless told otherwise), on ``port``, ``port + 1``, ``port + 2``, ``port + 3``
(ws0, ws1, ws2, http) when ``port`` is given, else on ephemeral ports.

TLS: with ``tls=`` (a server-side :class:`ssl.SSLContext` holding the certificate and key)
every backend serves TLS and :attr:`LabServer.endpoint` gives ``wss://`` and ``https://``
URLs. For the default host (127.0.0.1, or 0.0.0.0) the URLs name ``localhost``, so a
certificate for "localhost" passes the client's hostname check; another ``host`` is used
as given. The chaos proxies stay TCP proxies and forward the encrypted bytes: timing,
stalls, resets, refusals, outages and blocked ports apply as usual, but the proxy cannot
see inside TLS, so WebSocket-upgrade blocking (the profile's ``ws_blocked_share`` and the
``UPGRADE_*`` faults) never fires and ``X-Chatconn-Session`` is not seen (every TLS
connection draws its own conditions) — like a real proxy that tunnels TLS without
inspecting it. Test upgrade blocking with plain ``ws://``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import uvicorn
from websockets.asyncio.server import Server as WsServer
from websockets.asyncio.server import serve

from .. import wire as P
from ..core.errors import ConfigError
from ..core.profiles import NetworkProfile, profile_preset
from ..endpoint import Endpoint
from .chaos import DEFAULT_BACKLOG, ChaosProxy, Fault, FaultKind, SessionDraws
from .chat import ChatHub
from .uvicorn_runner import UvicornRunner

__all__ = ["DEFAULT_TOKEN", "ROLES", "LabServer"]

#: The lab's accepted token unless another is given.
DEFAULT_TOKEN = "lab-token"
#: Port roles, in the order of the proxies' ports.
ROLES = ("ws0", "ws1", "ws2", "http")
# websockets logs every frame at DEBUG, auth frames (tokens) included: not below INFO.
_ws_logger = logging.getLogger("chatconn.lab.websocket")
_ws_logger.setLevel(logging.INFO)


def _backend_socket() -> socket.socket:
    # IPPROTO_TCP given explicitly: asyncio sets TCP_NODELAY only on sockets whose proto
    # says TCP, and accepted sockets inherit it. Without it, a response written in two
    # parts (headers, body) waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def as_profile(profile: NetworkProfile | str) -> NetworkProfile:
    """A profile, or the preset of that name."""
    if isinstance(profile, NetworkProfile):
        return profile
    if isinstance(profile, str):
        return profile_preset(profile)
    raise ConfigError("profile", profile, "expected a NetworkProfile or a profile name")


class LabServer:
    """The lab: chat backends on four ports, a chaos proxy in front of each.

    An async context manager (or ``await start()`` / ``await close()``); control methods
    must be called from the server's event loop (see
    :class:`~chatconn.lab.thread.LabServerThread` for other threads).
    """

    def __init__(
        self,
        profile: NetworkProfile | str,
        *,
        time_scale: float = 1.0,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = DEFAULT_TOKEN,
        backlog: int = DEFAULT_BACKLOG,
        token_expires_in: float = 3600.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._profile = as_profile(profile)
        if tls is not None and not isinstance(tls, ssl.SSLContext):
            raise ConfigError("tls", tls, "expected a server-side ssl.SSLContext or None")
        if not isinstance(port, int) or isinstance(port, bool) or not (0 <= port <= 65532):
            raise ConfigError("port", port, "expected 0 (any) or a port in 1-65532")
        if not isinstance(token, str) or not token:
            raise ConfigError("token", "<hidden>", "expected a non-empty string")
        self.time_scale = float(time_scale)
        self.seed = seed
        self.host = host
        self.port = port
        self.backlog = backlog
        self._token = token
        #: The server-side TLS context of every backend, or None for plain ws:// and http://.
        self.tls = tls
        self.draws = SessionDraws(seed)
        self.hub = ChatHub(
            self._profile,
            token=token,
            time_scale=self.time_scale,
            seed=seed,
            token_expires_in=token_expires_in,
        )
        self.proxies: dict[str, ChaosProxy] = {}
        self._ws_servers: list[WsServer] = []
        self._backend_ports: dict[str, int] = {}
        self._uvicorn: UvicornRunner | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self.started = False

    def __repr__(self) -> str:  # never shows the token
        state = "running" if self.started else "stopped"
        return f"LabServer(profile={self._profile.name!r}, {state}, urls={self.urls!r})"

    # -- life cycle ----------------------------------------------------------------------
    async def start(self) -> LabServer:
        if self.started:
            return self
        stack = contextlib.AsyncExitStack()
        try:
            self.hub.start()
            for role in ROLES[:3]:
                sock = _backend_socket()
                self._backend_ports[role] = sock.getsockname()[1]
                server = await serve(
                    self.hub.ws_handler,
                    sock=sock,
                    ssl=self.tls,
                    backlog=self.backlog,
                    compression=None,
                    process_request=self.hub.process_request,
                    close_timeout=1.0,
                    max_size=1 << 20,
                    logger=_ws_logger,
                )
                self._ws_servers.append(server)
                stack.push_async_callback(self._close_ws, server)
            await self._start_http(stack)
            # Closed after the proxies and before the backends: wakes held polls and streams.
            stack.push_async_callback(self.hub.close)
            for i, role in enumerate(ROLES):
                proxy = ChaosProxy(
                    self._backend_ports[role],
                    self._profile,
                    role=role,
                    rng=self.draws,
                    time_scale=self.time_scale,
                    host=self.host,
                    port=self.port + i if self.port else 0,
                    backlog=self.backlog,
                )
                await proxy.start()
                self.proxies[role] = proxy
                stack.push_async_callback(proxy.close)
        except BaseException:
            await stack.aclose()
            await self.hub.close()
            raise
        self._stack = stack
        self.started = True
        return self

    async def _start_http(self, stack: contextlib.AsyncExitStack) -> None:
        sock = _backend_socket()
        self._backend_ports["http"] = sock.getsockname()[1]
        config = uvicorn.Config(
            self.hub.http_app(),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            backlog=self.backlog,
            timeout_graceful_shutdown=1,
        )
        if self.tls is not None:
            # uvicorn builds its context from files in load(); the lab has a context, so
            # load first and then set it (serve() does not load a loaded config again).
            config.load()
            config.ssl = self.tls
        runner = self._uvicorn = UvicornRunner(config)
        stack.push_async_callback(runner.stop)
        await runner.start(sock, "the lab's HTTP server")

    @staticmethod
    async def _close_ws(server: WsServer) -> None:
        server.close()
        await server.wait_closed()

    async def close(self) -> None:
        """Close proxies, then backends; idempotent."""
        stack, self._stack = self._stack, None
        self.started = False
        if stack is not None:
            await stack.aclose()

    async def __aenter__(self) -> LabServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- addresses -----------------------------------------------------------------------
    @property
    def token(self) -> str:
        """The token the lab accepts (also served by ``POST /token``)."""
        return self._token

    def _url_host(self) -> str:
        if self.host in ("0.0.0.0", "", "127.0.0.1"):
            # A certificate names a host: "localhost" is what a test certificate names.
            return "localhost" if self.tls is not None else "127.0.0.1"
        return self.host

    def _base(self, scheme: str, port: int, host: str | None = None) -> str:
        host = host or self._url_host()
        host = f"[{host}]" if ":" in host else host
        if self.tls is not None:
            scheme += "s"
        return f"{scheme}://{host}:{port}"

    @property
    def endpoint(self) -> Endpoint:
        """Where clients connect: the proxies' URLs (``wss://``/``https://`` with ``tls``)."""
        self._require_started()
        ws = tuple(self._base("ws", self.proxies[r].port) + P.WS_PATH for r in ROLES[:3])
        return Endpoint(ws, self._base("http", self.proxies["http"].port))

    @property
    def backend_endpoint(self) -> Endpoint:
        """The backends without any chaos (loopback baselines, debugging)."""
        self._require_started()
        host = "localhost" if self.tls is not None else "127.0.0.1"
        ports = self._backend_ports
        ws = tuple(self._base("ws", ports[r], host) + P.WS_PATH for r in ROLES[:3])
        return Endpoint(ws, self._base("http", ports["http"], host))

    @property
    def urls(self) -> dict[str, Any]:
        """The public URLs, for printing."""
        if not self.started:
            return {}
        endpoint = self.endpoint
        http = endpoint.http_url
        return {
            "websocket": endpoint.primary,
            "websocket_alternatives": list(endpoint.alternatives),
            "probe": endpoint.primary.removesuffix(P.WS_PATH) + P.PROBE_PATH,
            "http": http,
            "long_polling": http + P.LP_CONNECT,
            "sse": http + P.SSE_PATH,
            "token_endpoint": http + P.TOKEN_PATH,
            "latency": http + P.LATENCY_PATH,
        }

    def _require_started(self) -> None:
        if not self.started:
            raise RuntimeError("the lab server is not started (use 'async with' or start())")

    # -- control -------------------------------------------------------------------------
    @property
    def profile(self) -> NetworkProfile:
        return self._profile

    def set_profile(self, profile: NetworkProfile | str, *, reset_epoch: bool = False) -> None:
        """Switch every proxy and the server times to ``profile`` (new connections)."""
        profile = as_profile(profile)
        self._profile = profile
        self.hub.profile = profile
        for proxy in self.proxies.values():
            proxy.set_profile(profile, reset_epoch=reset_epoch)

    def reset_epoch(self) -> None:
        """Count the profile's outage windows from now."""
        for proxy in self.proxies.values():
            proxy.reset_epoch()

    def set_time_scale(self, time_scale: float) -> None:
        """Play the profile at ``time_scale`` from now on (new connections; server times at
        once) and count its outage windows from now. ``run_live`` uses it to switch from
        the scale its harness probes ran at to the scale it chose."""
        self._require_started()
        for proxy in self.proxies.values():
            proxy.set_time_scale(time_scale)
        self.time_scale = self.hub.time_scale = next(iter(self.proxies.values())).time_scale

    def schedule(self, role: str, faults: Iterable[Fault | FaultKind | str]) -> None:
        """Per-connection overrides for the next connections to port ``role``, in order."""
        if role not in ROLES:
            raise ConfigError("role", role, "expected one of " + ", ".join(ROLES))
        self._require_started()
        self.proxies[role].schedule(faults)

    def clear_schedules(self) -> None:
        for proxy in self.proxies.values():
            proxy.clear_schedule()

    def rotate_token(self, token: str) -> None:
        """From now on accept only ``token`` (also what ``POST /token`` serves): clients
        holding the old one are rejected at their next auth."""
        if not isinstance(token, str) or not token:
            raise ConfigError("token", "<hidden>", "expected a non-empty string")
        self._token = token
        self.hub.rotate_token(token)

    def fail_token(self, n: int) -> None:
        """The next ``n`` ``POST /token`` answer 503."""
        self.hub.fail_token(n)

    def hang_token(self, on: bool = True) -> None:
        """``POST /token`` hangs while on."""
        self.hub.hang_token(on)

    @property
    def garbage(self) -> bool:
        """When true, auth is answered with non-JSON text (a server that speaks garbage)."""
        return self.hub.garbage

    @garbage.setter
    def garbage(self, on: bool) -> None:
        self.hub.garbage = bool(on)

    def drop_connections(self) -> int:
        """Reset every open client connection on every port (a server restart)."""
        return sum(proxy.drop_all() for proxy in self.proxies.values())

    def stats(self) -> dict[str, Any]:
        """Per-port proxy counts and the hub's counts."""
        return {
            "profile": self._profile.name,
            "sessions": len(self.hub.peers),
            "hub": dict(self.hub.counts),
            "ports": {role: proxy.stats() for role, proxy in self.proxies.items()},
        }
