"""An asyncio TCP chaos proxy: a :class:`NetworkProfile` applied to real sockets.

One :class:`ChaosProxy` listens in front of one upstream port and applies, to every TCP
connection it accepts, the rules of the simulator's attempt model
(:mod:`chatconn.core.model`), in the model's order of precedence (a later rule overrides an
earlier one)::

    success   RTT/2 each way, order kept (a forwarding queue per direction, never a sleep
              that blocks reading); the first client->server chunk is held one extra RTT
              (the TCP handshake, which completes locally in no time) plus the SYN-loss
              penalty 2**n - 1 s; server->client bytes paced at ``bandwidth_kbps``
    stall     u < stall_probability                -> accept, read and discard, never answer
    reset     next reset_probability of u          -> RST (SO_LINGER 0) 2 RTT after accept
    proxy     an ``Upgrade: websocket`` request from a session behind a blocking proxy
                                                   -> ws_block_mode: hang, RST at 2 RTT, or
                                                      "HTTP/1.1 403 Forbidden" at 2 RTT
    port      this port's role is blocked for the session -> port_block_mode: hang or refuse
    outage    the connection starts inside an outage window -> refuse or hang

"Refuse" is a real ``ECONNREFUSED`` when *every* new connection must be refused (an outage
in refuse mode, or this port blocked in refuse mode for every session): the listening socket
then stops listening (it stays bound, so the port is kept) until the window ends. When only
some connections are refused (a share of sessions, or :attr:`Fault.REFUSE` from
:meth:`ChaosProxy.schedule`), the proxy accepts and resets at once: the client then sees
``ConnectionResetError``, not ``ConnectionRefusedError`` (user space cannot refuse one SYN
and accept the next). Neither form charges the model's 1 RTT for a refusal.

When an outage window begins, connections already open are reset (refuse mode) or go
silent (hang mode): the server went away. Outside the model, :meth:`ChaosProxy.drop_all`
resets every open connection at once (a server restart).

Per connection the draws follow the model: the session's conditions (RTT, behind a
WebSocket-blocking proxy, ports blocked) with :func:`chatconn.core.model.draw_conditions`,
then ``u_loss`` (if ``loss > 0``) and ``u_fault`` (if stalls or resets are possible), from
the seeded generator of a :class:`SessionDraws`. A client that sends
``X-Chatconn-Session: <id>`` gets its conditions drawn once per id and profile, and reused
on every port that shares the :class:`SessionDraws` (the lab server shares one across its
four proxies); without the header every connection is a new session.

``time_scale`` multiplies every injected time: RTT, SYN penalties, bandwidth time and the
outage windows. The proxy expects a client-first protocol (HTTP, WebSocket): it decides a
connection's fate when the request head has arrived (parsed with h11; anything that is not
HTTP, e.g. TLS, is treated as a plain request without a session tag).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
import struct
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

import h11
import numpy as np

from ..core.errors import ConfigError
from ..core.model import _penalty, draw_conditions, syn_loss_probability
from ..core.profiles import FaultMode, NetworkProfile, Outage

__all__ = [
    "DEFAULT_BACKLOG",
    "SESSION_HEADER",
    "ChaosProxy",
    "ConnectionRecord",
    "Fault",
    "FaultKind",
    "SessionDraws",
]

log = logging.getLogger(__name__)

#: Listen backlog of every lab socket: asyncio's default (100) drops bursts of connects.
DEFAULT_BACKLOG = 2048
#: Header a client sends so that its connections share one session's conditions.
SESSION_HEADER = "x-chatconn-session"

_HIGH_WATER = 1 << 20  # bytes queued in one direction before its source pauses
_LOW_WATER = 1 << 18
_READ_LIMIT = 1 << 16
_MAX_TAGS = 100_000
_TOLERANCE = 0.0005  # deliver chunks due within 0.5 ms in the same pass


class FaultKind(StrEnum):
    """What the proxy does with one connection."""

    NONE = "none"  # forwarded with the connection's latency
    STALL = "stall"  # accepted, read and discarded, never answered
    RESET = "reset"  # reset (RST) 2 RTT after accept
    REFUSE = "refuse"  # reset at once (or not listening at all, see the module doc)
    UPGRADE_HANG = "upgrade_hang"  # a WebSocket upgrade hangs; plain HTTP passes
    UPGRADE_RESET = "upgrade_reset"  # a WebSocket upgrade is reset at 2 RTT
    UPGRADE_403 = "upgrade_403"  # a WebSocket upgrade is answered 403 at 2 RTT

    def __str__(self) -> str:
        return self.value


_UPGRADE_KINDS = frozenset({FaultKind.UPGRADE_HANG, FaultKind.UPGRADE_RESET, FaultKind.UPGRADE_403})
_WS_BLOCK = {
    FaultMode.HANG: FaultKind.UPGRADE_HANG,
    FaultMode.RESET: FaultKind.UPGRADE_RESET,
    FaultMode.FORBIDDEN: FaultKind.UPGRADE_403,
}
_PORT_BLOCK = {FaultMode.HANG: FaultKind.STALL, FaultMode.REFUSE: FaultKind.REFUSE}


@dataclass(frozen=True, slots=True)
class Fault:
    """A per-connection override for :meth:`ChaosProxy.schedule`.

    ``kind`` replaces the profile's random draws for that connection (no stall, reset,
    proxy, port or outage rule applies); ``rtt_s``, when given, replaces the drawn RTT
    (before ``time_scale``). ``Fault.STALL``, ``Fault.RESET``, ... are the plain kinds.
    """

    kind: FaultKind = FaultKind.NONE
    rtt_s: float | None = None

    NONE: ClassVar[Fault]
    STALL: ClassVar[Fault]
    RESET: ClassVar[Fault]
    REFUSE: ClassVar[Fault]
    UPGRADE_HANG: ClassVar[Fault]
    UPGRADE_RESET: ClassVar[Fault]
    UPGRADE_403: ClassVar[Fault]

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", FaultKind(self.kind))
        except ValueError:
            raise ConfigError(
                "fault.kind", self.kind, "expected one of " + ", ".join(k.value for k in FaultKind)
            ) from None
        if self.rtt_s is not None and (
            isinstance(self.rtt_s, bool)
            or not isinstance(self.rtt_s, int | float)
            or not (0.0 <= self.rtt_s <= 60.0)
        ):
            raise ConfigError("fault.rtt_s", self.rtt_s, "expected a number in [0, 60] or None")


for _kind in FaultKind:
    setattr(Fault, _kind.name, Fault(_kind))


def _as_fault(value: Fault | FaultKind | str) -> Fault:
    return value if isinstance(value, Fault) else Fault(FaultKind(value))


@dataclass(slots=True)
class ConnectionRecord:
    """What happened to one connection (for tests and diagnostics).

    ``started_s`` is seconds since the proxy's epoch; ``rtt_s`` and ``penalty_s`` are
    the injected values (after ``time_scale``); ``cause`` names the rule that chose
    ``fault``: "scheduled", "stall", "reset", "ws_proxy", "port", "outage" or "".
    """

    id: int
    role: str
    started_s: float
    rtt_s: float = 0.0
    penalty_s: float = 0.0
    fault: FaultKind = FaultKind.NONE
    cause: str = ""
    session_tag: str | None = None
    upgrade: bool = False
    target: str = ""


class SessionDraws:
    """The seeded random draws of one lab: session conditions (cached per session tag and
    profile) and per-connection uniforms. Share one between the proxies of a server so a
    tagged session meets the same conditions on every port."""

    def __init__(self, rng: np.random.Generator | int | None = 0) -> None:
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self._by_tag: OrderedDict[tuple[NetworkProfile, str], tuple[float, bool, bool]] = (
            OrderedDict()
        )

    def conditions(self, profile: NetworkProfile, tag: str | None) -> tuple[float, bool, bool]:
        """(rtt, behind_ws_proxy, ports_blocked) of a session, drawn as the model does."""
        key = (profile, tag) if tag is not None else None
        if key is not None and key in self._by_tag:
            self._by_tag.move_to_end(key)
            return self._by_tag[key]
        drawn = draw_conditions(profile, self.rng)
        value = (float(drawn.rtt[0]), bool(drawn.behind_ws_proxy), bool(drawn.ports_blocked))
        if key is not None:
            self._by_tag[key] = value
            if len(self._by_tag) > _MAX_TAGS:
                self._by_tag.popitem(last=False)
        return value

    def uniform(self) -> float:
        return float(self.rng.random())

    def forget(self) -> None:
        self._by_tag.clear()


def _role_index(role: str | int | None) -> int | None:
    """Port role as the profile counts it: "ws0" -> 0, ... ; "http" or None -> None."""
    if role is None or role == "http":
        return None
    if isinstance(role, int):
        return role
    if isinstance(role, str) and role.startswith("ws") and role[2:].isdigit():
        return int(role[2:])
    raise ConfigError("role", role, 'expected "ws0", "ws1", "ws2", "http" or a port role 0-2')


def _rst(transport: asyncio.BaseTransport | None) -> None:
    """Close with SO_LINGER 0, so the peer sees a reset."""
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


_EOF = object()


class _Pipe:
    """One direction of a connection: chunks queued with their delivery time, written in
    order by one timer; optional bandwidth pacing."""

    def __init__(self, conn: _Connection, delay: float, rate: float | None) -> None:
        self.conn = conn
        self.loop = conn.loop
        self.delay = delay
        self.rate = rate  # bytes per second after time_scale, or None
        self.queue: deque[tuple[float, Any]] = deque()
        self.queued = 0
        self.link_free = 0.0
        self.last = 0.0
        self.dst: asyncio.Transport | None = None
        self.src: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.eof_sent = False
        self.dst_paused = False
        self.src_paused = False

    def feed(self, data: bytes | object, arrived: float, extra: float = 0.0) -> None:
        if data is not _EOF and self.rate is not None:
            assert isinstance(data, bytes)
            self.link_free = max(arrived, self.link_free) + len(data) / self.rate
            arrived = self.link_free
        due = max(arrived + self.delay + extra, self.last)
        self.last = due
        self.queue.append((due, data))
        if data is not _EOF:
            self.queued += len(data)  # type: ignore[arg-type]
        self._arm()
        self._flow()

    def attach(self, dst: asyncio.Transport) -> None:
        self.dst = dst
        self._arm()

    def _arm(self) -> None:
        if self.timer is None and self.dst is not None and self.queue:
            self.timer = self.loop.call_at(self.queue[0][0], self.flush)

    def flush(self) -> None:
        self.timer = None
        dst = self.dst
        if dst is None or dst.is_closing():
            return
        horizon = self.loop.time() + _TOLERANCE
        while self.queue and self.queue[0][0] <= horizon:
            _, data = self.queue.popleft()
            if data is _EOF:
                self.eof_sent = True
                try:
                    if dst.can_write_eof():
                        dst.write_eof()
                except OSError:  # the peer is already gone
                    self.conn.close(reset=False)
                    return
                self.conn.pipe_done(self)
                return
            self.queued -= len(data)
            dst.write(data)
        self._arm()
        self._flow()

    def _flow(self) -> None:
        src = self.src
        if src is None or src.is_closing():
            return
        want_pause = self.dst_paused or self.queued > _HIGH_WATER
        if want_pause and not self.src_paused:
            src.pause_reading()
            self.src_paused = True
        elif self.src_paused and not self.dst_paused and self.queued < _LOW_WATER:
            src.resume_reading()
            self.src_paused = False

    def set_dst_paused(self, paused: bool) -> None:
        self.dst_paused = paused
        self._flow()

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.queue.clear()


class _ClientSide(asyncio.Protocol):
    def __init__(self, conn: _Connection) -> None:
        self.conn = conn

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.conn.state == self.conn.CLOSED:  # closed while the transport was being made
            transport.abort()
            return
        self.conn.client = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.conn.client_data(data)

    def eof_received(self) -> bool:
        self.conn.client_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.conn.client_lost(exc)

    def pause_writing(self) -> None:
        if self.conn.s2c is not None:
            self.conn.s2c.set_dst_paused(True)

    def resume_writing(self) -> None:
        if self.conn.s2c is not None:
            self.conn.s2c.set_dst_paused(False)


class _UpstreamSide(asyncio.Protocol):
    def __init__(self, conn: _Connection) -> None:
        self.conn = conn

    def data_received(self, data: bytes) -> None:
        self.conn.upstream_data(data)

    def eof_received(self) -> bool:
        self.conn.upstream_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.conn.upstream_lost(exc)

    def pause_writing(self) -> None:
        if self.conn.c2s is not None:
            self.conn.c2s.set_dst_paused(True)

    def resume_writing(self) -> None:
        if self.conn.c2s is not None:
            self.conn.c2s.set_dst_paused(False)


class _Connection:
    """One accepted connection: HEAD (reading the request head) -> FORWARD | DISCARD."""

    HEAD, FORWARD, DISCARD, CLOSED = "head", "forward", "discard", "closed"

    def __init__(self, proxy: ChaosProxy, record: ConnectionRecord, fault: Fault | None) -> None:
        self.proxy = proxy
        self.loop = proxy._loop
        self.record = record
        self.profile = proxy.profile
        self.scheduled = fault
        self.state = self.HEAD
        self.accepted = self.loop.time()
        self.client: asyncio.Transport | None = None
        self.upstream: asyncio.Transport | None = None
        self.head: list[tuple[float, bytes]] = []
        self.parser = h11.Connection(h11.SERVER)
        self.c2s: _Pipe | None = None
        self.s2c: _Pipe | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.connect_task: asyncio.Task[None] | None = None
        self.upstream_gone = False
        self.raw_sock: socket.socket | None = None

    # -- client side -------------------------------------------------------------------
    def client_data(self, data: bytes) -> None:
        if self.state == self.FORWARD:
            assert self.c2s is not None
            self.c2s.feed(data, self.loop.time())
        elif self.state == self.HEAD:
            self.head.append((self.loop.time(), data))
            request = self._parse(data)
            if request is not None:
                self._decide(request if isinstance(request, h11.Request) else None)

    def _parse(self, data: bytes) -> h11.Request | bool | None:
        """The request once its head is complete; False when this is not HTTP."""
        try:
            self.parser.receive_data(data)
            event = self.parser.next_event()
        except h11.RemoteProtocolError:
            return False
        if isinstance(event, h11.Request):
            return event
        return None if event is h11.NEED_DATA else False

    def client_eof(self) -> None:
        if self.state == self.HEAD:
            self._decide(None)
        if self.state == self.FORWARD:
            assert self.c2s is not None
            self.c2s.feed(_EOF, self.loop.time())
        elif self.state == self.DISCARD and self.timer is None:
            # The client gave up on a connection that never answers: close our side too
            # (a pending reset or 403 still fires at its time).
            self._teardown(abort_upstream=True)

    def client_lost(self, exc: Exception | None) -> None:
        self._teardown(abort_upstream=True)

    # -- decisions ---------------------------------------------------------------------
    def _decide(self, request: h11.Request | None) -> None:
        proxy, record, profile = self.proxy, self.record, self.profile
        tag, upgrade = None, False
        if request is not None:
            record.target = request.target.decode("latin-1")[:200]
            headers = {k.lower(): v for k, v in request.headers}
            raw_tag = headers.get(SESSION_HEADER.encode())
            if raw_tag:
                tag = raw_tag.decode("latin-1")[:200]
            upgrade = b"websocket" in headers.get(b"upgrade", b"").lower()
        record.session_tag, record.upgrade = tag, upgrade
        rtt, behind_proxy, ports_blocked = proxy.draws.conditions(profile, tag)
        fault = self.scheduled
        kind, cause, penalty = FaultKind.NONE, "", 0.0
        if fault is not None:
            kind, cause = fault.kind, "scheduled"
            if fault.rtt_s is not None:
                rtt = float(fault.rtt_s)
        else:
            if profile.loss > 0:
                q = syn_loss_probability(profile)
                u_loss = proxy.draws.uniform()
                if u_loss < q:
                    penalty = float(_penalty(np.array([u_loss]), q)[0])
            p_stall, p_reset = profile.stall_probability, profile.reset_probability
            if p_stall + p_reset > 0:
                u_fault = proxy.draws.uniform()
                if u_fault < p_stall:
                    kind, cause = FaultKind.STALL, "stall"
                elif u_fault < p_stall + p_reset:
                    kind, cause = FaultKind.RESET, "reset"
            if upgrade and profile.ws_blocked_share > 0 and behind_proxy:
                kind, cause = _WS_BLOCK[profile.ws_block_mode], "ws_proxy"
            if (
                proxy.role_index is not None
                and proxy.role_index in profile.blocked_ports
                and profile.blocked_ports_share > 0
                and ports_blocked
            ):
                kind, cause = _PORT_BLOCK[profile.port_block_mode], "port"
        if kind in _UPGRADE_KINDS and not upgrade:
            kind = FaultKind.NONE  # plain HTTP passes a WebSocket-blocking proxy
        scale = proxy.time_scale
        record.rtt_s, record.penalty_s = rtt * scale, penalty * scale
        proxy._count(record, kind, cause if kind is not FaultKind.NONE else "")
        self._apply(kind, rtt * scale, penalty * scale)

    def _apply(self, kind: FaultKind, rtt: float, penalty: float) -> None:
        if kind is FaultKind.NONE:
            self._forward(rtt, penalty)
            return
        self.state = self.DISCARD
        self.head.clear()
        at = self.accepted + 2 * rtt
        if kind is FaultKind.REFUSE:
            self._reset()
        elif kind in (FaultKind.RESET, FaultKind.UPGRADE_RESET):
            self.timer = self.loop.call_at(at, self._reset)
        elif kind is FaultKind.UPGRADE_403:
            self.timer = self.loop.call_at(at, self._forbidden)
        # STALL, UPGRADE_HANG: discard whatever comes, never answer

    def _forward(self, rtt: float, penalty: float) -> None:
        self.state = self.FORWARD
        rate = None
        if self.profile.bandwidth_kbps is not None:
            rate = self.profile.bandwidth_kbps * 1000.0 / 8.0 / self.proxy.time_scale
        self.c2s = _Pipe(self, rtt / 2, None)
        self.s2c = _Pipe(self, rtt / 2, rate)
        self.c2s.src = self.client
        self.s2c.dst = self.client
        for i, (arrived, data) in enumerate(self.head):
            self.c2s.feed(data, arrived, rtt + penalty if i == 0 else 0.0)
        self.head.clear()
        self.connect_task = self.loop.create_task(self._connect_upstream())
        self.proxy._tasks.add(self.connect_task)
        self.connect_task.add_done_callback(self.proxy._tasks.discard)

    async def _connect_upstream(self) -> None:
        proxy = self.proxy
        try:
            transport, _ = await self.loop.create_connection(
                lambda: _UpstreamSide(self), proxy.upstream_host, proxy.upstream_port
            )
        except OSError as exc:
            log.warning("chaos proxy %s: upstream unreachable: %s", proxy.role, exc)
            self._reset()
            return
        if self.state != self.FORWARD:
            transport.abort()
            return
        self.upstream = transport  # type: ignore[assignment]
        assert self.c2s is not None and self.s2c is not None
        self.s2c.src = self.upstream
        self.c2s.attach(self.upstream)  # type: ignore[arg-type]

    def _reset(self) -> None:
        self.timer = None
        _rst(self.client)
        self._teardown(abort_upstream=True)

    def _forbidden(self) -> None:
        self.timer = None
        client = self.client
        if client is None or client.is_closing():
            return
        try:
            body = b"Forbidden: WebSocket upgrades are blocked by policy\n"
            out = self.parser.send(
                h11.Response(
                    status_code=403,
                    reason=b"Forbidden",
                    headers=[
                        ("content-type", "text/plain"),
                        ("content-length", str(len(body))),
                        ("connection", "close"),
                    ],
                )
            )
            out = (out or b"") + (self.parser.send(h11.Data(data=body)) or b"")
            out += self.parser.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError:  # the request was not complete: reset instead
            self._reset()
            return
        client.write(out)
        client.close()

    # -- upstream side -----------------------------------------------------------------
    def upstream_data(self, data: bytes) -> None:
        if self.state == self.FORWARD and self.s2c is not None:
            self.s2c.feed(data, self.loop.time())

    def upstream_eof(self) -> None:
        if self.state == self.FORWARD and self.s2c is not None:
            self.s2c.feed(_EOF, self.loop.time())

    def upstream_lost(self, exc: Exception | None) -> None:
        self.upstream_gone = True
        if self.state != self.FORWARD:
            return
        if exc is not None:  # the server reset: so does the client, at once
            _rst(self.client)
            self._teardown(abort_upstream=False)
        elif self.s2c is not None and not self.s2c.eof_sent and not self._eof_queued(self.s2c):
            self.s2c.feed(_EOF, self.loop.time())

    @staticmethod
    def _eof_queued(pipe: _Pipe) -> bool:
        return bool(pipe.queue) and pipe.queue[-1][1] is _EOF

    def pipe_done(self, pipe: _Pipe) -> None:
        """A direction delivered its EOF; close once the connection is over."""
        if pipe is self.s2c:
            c2s_done = self.c2s is not None and self.c2s.eof_sent
            if self.upstream_gone or c2s_done:
                if self.client is not None:
                    self.client.close()
                if self.upstream is not None:
                    self.upstream.close()
        elif pipe is self.c2s and self.s2c is not None and self.s2c.eof_sent:
            if self.upstream is not None:
                self.upstream.close()
            if self.client is not None:
                self.client.close()

    # -- outages and shutdown ----------------------------------------------------------
    def blackhole(self) -> None:
        """Go silent: the upstream is dropped, the client is read and never answered."""
        if self.state == self.CLOSED:
            return
        self.state = self.DISCARD
        for pipe in (self.c2s, self.s2c):
            if pipe is not None:
                pipe.cancel()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.upstream is not None:
            self.upstream.abort()
        if self.connect_task is not None:
            self.connect_task.cancel()

    def _teardown(self, *, abort_upstream: bool) -> None:
        if self.state == self.CLOSED:
            return
        self.state = self.CLOSED
        for pipe in (self.c2s, self.s2c):
            if pipe is not None:
                pipe.cancel()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.connect_task is not None:
            self.connect_task.cancel()
        if abort_upstream and self.upstream is not None:
            self.upstream.abort()
        if self.client is not None and not self.client.is_closing():
            self.client.abort()
        elif self.client is None and self.raw_sock is not None:
            self.raw_sock.close()
        self.proxy._active.discard(self)

    def close(self, *, reset: bool) -> None:
        if reset:
            _rst(self.client)
        self._teardown(abort_upstream=True)


class ChaosProxy:
    """A TCP proxy in front of ``upstream_port`` applying ``profile`` (see the module doc).

    ``role`` is the port's role for port blocking: "ws0" (primary WebSocket port),
    "ws1"/"ws2" (alternatives) or "http" (never blocked). ``rng`` is a seeded
    ``numpy.random.Generator``, a seed, or a shared :class:`SessionDraws`. Use as
    ``async with ChaosProxy(...) as proxy:`` or ``await proxy.start()`` / ``await
    proxy.close()``. Not thread-safe: call it from its event loop.
    """

    def __init__(
        self,
        upstream_port: int,
        profile: NetworkProfile,
        *,
        role: str | int | None = "ws0",
        rng: np.random.Generator | SessionDraws | int | None = 0,
        time_scale: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        upstream_host: str = "127.0.0.1",
        backlog: int = DEFAULT_BACKLOG,
        max_records: int = 10_000,
    ) -> None:
        if not isinstance(profile, NetworkProfile):
            raise ConfigError("profile", profile, "expected a NetworkProfile")
        if (
            isinstance(time_scale, bool)
            or not isinstance(time_scale, int | float)
            or not (0 < time_scale < 1e6)
            or not math.isfinite(time_scale)
        ):
            raise ConfigError("time_scale", time_scale, "expected a number > 0")
        self.role = role if isinstance(role, str) else ("http" if role is None else f"ws{role}")
        self.role_index = _role_index(role)
        self.profile = profile
        self.draws = rng if isinstance(rng, SessionDraws) else SessionDraws(rng)
        self.time_scale = float(time_scale)
        self.host = host
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.backlog = backlog
        self._requested_port = port
        self._loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self._lsock: socket.socket | None = None
        self._listening = False
        self._boundary: asyncio.TimerHandle | None = None
        self._outage: Outage | None = None
        self._epoch = 0.0
        self._schedule: deque[Fault] = deque()
        self._active: set[_Connection] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._counts: Counter[str] = Counter()
        self._next_id = 0
        self.records: deque[ConnectionRecord] = deque(maxlen=max_records)
        self.closed = False

    # -- life cycle ----------------------------------------------------------------------
    async def start(self) -> ChaosProxy:
        self._loop = asyncio.get_running_loop()
        self._lsock = _bind(self.host, self._requested_port)
        self._epoch = self._loop.time()
        self._update()
        return self

    async def close(self) -> None:
        """Stop listening and close every connection; idempotent."""
        if self.closed:
            return
        self.closed = True
        if self._boundary is not None:
            self._boundary.cancel()
        if self._lsock is not None:
            if self._listening:
                self._loop.remove_reader(self._lsock.fileno())
            self._listening = False
            self._lsock.close()
        for conn in list(self._active):
            conn.close(reset=False)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0)  # let aborted transports run connection_lost

    async def __aenter__(self) -> ChaosProxy:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def port(self) -> int:
        if self._lsock is None:
            raise RuntimeError("the proxy is not started")
        return self._lsock.getsockname()[1]

    @property
    def listening(self) -> bool:
        """False while every new connection is refused by the kernel (see the module doc)."""
        return self._listening

    # -- control -------------------------------------------------------------------------
    def set_profile(self, profile: NetworkProfile, *, reset_epoch: bool = False) -> None:
        """Apply ``profile`` to new connections from now on (open ones keep their RTT)."""
        if not isinstance(profile, NetworkProfile):
            raise ConfigError("profile", profile, "expected a NetworkProfile")
        self.profile = profile
        if reset_epoch:
            self._epoch = self._loop.time()
            self._outage = None
        self._update()

    def reset_epoch(self) -> None:
        """Count outage windows from now."""
        self.set_profile(self.profile, reset_epoch=True)

    def schedule(self, faults: Iterable[Fault | FaultKind | str]) -> None:
        """Queue per-connection overrides for the next connections, in order."""
        self._schedule.extend(_as_fault(f) for f in faults)
        self._update()

    def clear_schedule(self) -> None:
        self._schedule.clear()
        self._update()

    @property
    def pending_faults(self) -> tuple[Fault, ...]:
        return tuple(self._schedule)

    def drop_all(self) -> int:
        """Reset every open connection (a server restart); returns how many."""
        conns = list(self._active)
        for conn in conns:
            conn.close(reset=True)
        return len(conns)

    def stats(self) -> dict[str, Any]:
        """Counts: connections accepted, open now, and faults applied by kind and cause."""
        faults = {k.value: self._counts[f"fault:{k.value}"] for k in FaultKind}
        causes = {
            key.split(":", 1)[1]: n for key, n in self._counts.items() if key.startswith("cause:")
        }
        return {
            "role": self.role,
            "connections": self._counts["connections"],
            "refused_at_accept": self._counts["refused_at_accept"],
            "active": len(self._active),
            "listening": self._listening,
            "faults": faults,
            "causes": causes,
        }

    # -- internals -----------------------------------------------------------------------
    def _count(self, record: ConnectionRecord, kind: FaultKind, cause: str) -> None:
        record.fault, record.cause = kind, cause
        self._counts[f"fault:{kind.value}"] += 1
        if cause:
            self._counts[f"cause:{cause}"] += 1

    def _active_outage(self, now: float) -> Outage | None:
        t = now - self._epoch
        for outage in self.profile.outages:
            if outage.start_s * self.time_scale <= t < outage.end_s * self.time_scale:
                return outage
        return None

    def _refuses_everything(self, outage: Outage | None) -> bool:
        if self._schedule:
            return False
        if outage is not None:
            return outage.mode is FaultMode.REFUSE
        p = self.profile
        return (
            self.role_index is not None
            and self.role_index in p.blocked_ports
            and p.blocked_ports_share >= 1.0
            and p.port_block_mode is FaultMode.REFUSE
        )

    def _update(self) -> None:
        """Apply the current outage state and arm a timer for the next window boundary."""
        if self.closed or self._loop is None:
            return
        if self._boundary is not None:
            self._boundary.cancel()
            self._boundary = None
        now = self._loop.time()
        outage = self._active_outage(now)
        if outage is not None and outage is not self._outage:
            for conn in list(self._active):  # the server went away
                if outage.mode is FaultMode.REFUSE:
                    conn.close(reset=True)
                else:
                    conn.blackhole()
        self._outage = outage
        self._set_listening(not self._refuses_everything(outage))
        t = now - self._epoch
        edges = [
            edge * self.time_scale
            for o in self.profile.outages
            for edge in (o.start_s, o.end_s)
            if math.isfinite(edge) and edge * self.time_scale > t
        ]
        if edges:
            self._boundary = self._loop.call_at(self._epoch + min(edges), self._update)

    def _set_listening(self, listen: bool) -> None:
        if listen == self._listening or self._lsock is None:
            return
        self._listening = listen
        fd = self._lsock.fileno()
        if listen:
            self._lsock.listen(self.backlog)
            self._loop.add_reader(fd, self._on_acceptable)
        else:
            # Stop accepting, then stop listening: the port stays bound and new connects
            # are refused by the kernel (ECONNREFUSED) until listen() is called again.
            self._loop.remove_reader(fd)
            with contextlib.suppress(OSError):
                self._lsock.shutdown(socket.SHUT_RDWR)

    def _resume_accepting(self) -> None:
        if self._listening and not self.closed and self._lsock is not None:
            self._loop.add_reader(self._lsock.fileno(), self._on_acceptable)

    def _on_acceptable(self) -> None:
        lsock = self._lsock
        assert lsock is not None
        for _ in range(self.backlog):
            try:
                sock, _ = lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # EMFILE and friends: pause a little, as asyncio does
                log.warning("chaos proxy %s: accept failed: %s", self.role, exc)
                self._loop.remove_reader(lsock.fileno())
                self._loop.call_later(0.1, self._resume_accepting)
                return
            sock.setblocking(False)
            try:
                self._accepted(sock)
            except Exception:  # one bad connection must not stop the proxy
                log.exception("chaos proxy %s: connection setup failed", self.role)
                sock.close()

    def _accepted(self, sock: socket.socket) -> None:
        now = self._loop.time()
        self._next_id += 1
        self._counts["connections"] += 1
        record = ConnectionRecord(self._next_id, self.role, now - self._epoch)
        self.records.append(record)
        fault = self._schedule.popleft() if self._schedule else None
        if fault is not None and not self._schedule:
            self._update()  # the schedule ran out: the profile may refuse everything again
        outage = self._active_outage(now) if fault is None else None
        refuse = (fault is None and outage is not None and outage.mode is FaultMode.REFUSE) or (
            fault is not None and fault.kind is FaultKind.REFUSE
        )
        if refuse:  # reset at once, before reading anything
            self._count(record, FaultKind.REFUSE, "scheduled" if fault else "outage")
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            return
        conn = _Connection(self, record, fault)
        conn.raw_sock = sock
        if fault is None and outage is not None:  # an outage in hang mode
            self._count(record, FaultKind.STALL, "outage")
            conn.state = conn.DISCARD
        elif fault is not None and fault.kind is FaultKind.STALL:
            self._count(record, FaultKind.STALL, "scheduled")
            conn.state = conn.DISCARD
        self._active.add(conn)
        task = self._loop.create_task(self._wrap(conn, sock))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _wrap(self, conn: _Connection, sock: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(lambda: _ClientSide(conn), sock)
        except OSError:
            conn.close(reset=False)


def _bind(host: str, port: int) -> socket.socket:
    """A bound, not yet listening TCP socket whose port stays reserved across shutdown().

    Linux releases an automatically chosen port when a listening socket is shut down; a
    port given explicitly to bind() is kept. So an ephemeral port is found first, then
    bound explicitly (both sockets with SO_REUSEADDR, neither listening).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if port == 0:
            finder = socket.socket(family, socket.SOCK_STREAM)
            try:
                finder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                finder.bind((host, 0))
                port = finder.getsockname()[1]
                sock.bind((host, port))
            finally:
                finder.close()
        else:
            sock.bind((host, port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
