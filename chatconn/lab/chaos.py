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
HTTP is treated as a plain request without a session tag). TLS is forwarded as it is: a
connection whose first byte opens a TLS handshake is decided at once, without a session
tag and without an upgrade (``ConnectionRecord.tls``), so the upgrade-blocking rules and
the ``UPGRADE_*`` faults need plain ``ws://`` (through TLS they let the connection pass).

The rules themselves are one pure function, :func:`chatconn.lab.faults.decide`; the
per-connection I/O (delay queues, pacing, resets, the 403) is :mod:`chatconn.lab.relay`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
import struct
from collections import Counter, deque
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..core.errors import ConfigError
from ..core.profiles import FaultMode, NetworkProfile, Outage
from ..wire import SESSION_HEADER
from .faults import (
    ConnectionRecord,
    Fault,
    FaultKind,
    SessionDraws,
    as_fault,
    role_index,
)
from .relay import ClientSide, Connection

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

#: Listen backlog of every lab socket: asyncio's default (100) drops bursts of connects,
#: and a burst larger than the backlog loses SYNs that come back 1, 3, 7 s later (a 5,000
#: session burst against 2,048 did). The kernel caps it at ``net.core.somaxconn`` (4,096 on
#: Linux >= 5.4), so asking for the most lets the kernel give what it can.
DEFAULT_BACKLOG = 65535


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
        on_close: Callable[[ConnectionRecord], None] | None = None,
    ) -> None:
        if not isinstance(profile, NetworkProfile):
            raise ConfigError("profile", profile, "expected a NetworkProfile")
        self.time_scale = _checked_scale(time_scale)
        self.role = role if isinstance(role, str) else ("http" if role is None else f"ws{role}")
        self.role_index = role_index(role)
        self.profile = profile
        self.draws = rng if isinstance(rng, SessionDraws) else SessionDraws(rng)
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
        self._active: set[Connection] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._counts: Counter[str] = Counter()
        self._next_id = 0
        self.records: deque[ConnectionRecord] = deque(maxlen=max_records)
        #: Called with each connection's record once it is over (``chatconn proxy`` writes
        #: it to a run file); an exception in it is logged, never raised into the proxy.
        self.on_close = on_close
        #: Log a warning when the upstream cannot be reached (in the lab: a bug); an
        #: observer recording it per connection turns this off.
        self.log_unreachable = True
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

    def set_time_scale(self, time_scale: float) -> None:
        """Scale injected times by ``time_scale`` for new connections from now on (open
        ones keep theirs) and count outage windows from now."""
        self.time_scale = _checked_scale(time_scale)
        self.reset_epoch()

    def schedule(self, faults: Iterable[Fault | FaultKind | str]) -> None:
        """Queue per-connection overrides for the next connections, in order."""
        self._schedule.extend(as_fault(f) for f in faults)
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
    def _finished(self, record: ConnectionRecord) -> None:
        if self.on_close is None:
            return
        try:
            self.on_close(record)
        except Exception:  # an observer must not break the proxy
            log.exception("chaos proxy %s: on_close failed", self.role)

    def _count(self, record: ConnectionRecord, kind: FaultKind, cause: str) -> None:
        record.fault, record.cause = kind, cause
        log.debug("chaos proxy %s: connection %d gets %s (%s)", self.role, record.id,
                  kind.value, cause or "profile")  # fmt: skip
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
        for _ in range(min(self.backlog, 4096)):  # then let other callbacks run
            try:
                sock, peer = lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # EMFILE and friends: pause a little, as asyncio does
                log.warning("chaos proxy %s: accept failed: %s", self.role, exc)
                self._loop.remove_reader(lsock.fileno())
                self._loop.call_later(0.1, self._resume_accepting)
                return
            sock.setblocking(False)
            try:
                self._accepted(sock, peer)
            except Exception:  # one bad connection must not stop the proxy
                log.exception("chaos proxy %s: connection setup failed", self.role)
                sock.close()

    def _accepted(self, sock: socket.socket, peer: Any = None) -> None:
        now = self._loop.time()
        self._next_id += 1
        self._counts["connections"] += 1
        record = ConnectionRecord(self._next_id, self.role, now - self._epoch, accepted_at=now)
        if isinstance(peer, tuple) and len(peer) >= 2:
            record.peer, record.peer_port = str(peer[0]), int(peer[1])
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
            record.closed_s, record.closed_by = 0.0, "proxy"
            self._finished(record)
            return
        conn = Connection(self, record, fault)
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

    async def _wrap(self, conn: Connection, sock: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(lambda: ClientSide(conn), sock)
        except OSError:
            conn.close(reset=False)


def _checked_scale(time_scale: Any) -> float:
    if (
        isinstance(time_scale, bool)
        or not isinstance(time_scale, int | float)
        or not (0 < time_scale < 1e6)
        or not math.isfinite(time_scale)
    ):
        raise ConfigError("time_scale", time_scale, "expected a number > 0")
    return float(time_scale)


def _bind(host: str, port: int) -> socket.socket:
    """A bound, not yet listening TCP socket whose port stays reserved across shutdown().

    Linux releases an automatically chosen port when a listening socket is shut down; a
    port given explicitly to bind() is kept. So an ephemeral port is found first, then
    bound explicitly (both sockets with SO_REUSEADDR, neither listening).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP so that asyncio sets TCP_NODELAY on accepted connections (see
    # chatconn.lab.server._backend_socket): the proxy must not add Nagle delays of its own.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
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
