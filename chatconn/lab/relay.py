"""One proxied connection: read the request head, decide its fate, then forward it with
the connection's delays or fail it as decided (the I/O half of the chaos proxy).

A connection that opens with a TLS ClientHello has no readable head: its fate is decided
at once as for a request without session tag or upgrade, and its bytes are forwarded
encrypted (so WebSocket-upgrade blocking cannot apply to ``wss://``).

Each direction is a :class:`Pipe`: chunks are queued with their delivery time and written
in order by one timer, so reading never waits behind a delay; server->client chunks are
also paced at the profile's bandwidth. Flow control pauses a source when its pipe holds
more than ``_HIGH_WATER`` bytes or its destination's buffer is full.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections import deque
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import h11

from ..wire import SESSION_HEADER, SESSION_QUERY
from .faults import ConnectionRecord, Fault, FaultKind, decide
from .wsframes import CloseWatch

if TYPE_CHECKING:
    from .chaos import ChaosProxy

__all__ = ["ClientSide", "Connection", "Pipe", "UpstreamSide", "rst"]

log = logging.getLogger("chatconn.lab.chaos")

_HIGH_WATER = 1 << 20  # bytes queued in one direction before its source pauses
_LOW_WATER = 1 << 18
_TOLERANCE = 0.0005  # deliver chunks due within 0.5 ms in the same pass
_TLS_HANDSHAKE = 0x16  # first byte of a TLS record carrying a handshake (the ClientHello)


def rst(transport: asyncio.Transport | None) -> None:
    """Close with SO_LINGER 0, so the peer sees a reset."""
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


_EOF = object()


class Pipe:
    """One direction of a connection: chunks queued with their delivery time, written in
    order by one timer; optional bandwidth pacing."""

    def __init__(self, conn: Connection, delay: float, rate: float | None) -> None:
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
            if self is self.conn.s2c and data is not _EOF:
                self.conn.delivered(len(data))
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


class ClientSide(asyncio.Protocol):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not isinstance(transport, asyncio.Transport):  # pragma: no cover - a stream server's
            raise TypeError(f"expected a stream transport, got {type(transport).__name__}")
        if self.conn.state == self.conn.CLOSED:  # closed while the transport was being made
            transport.abort()
            return
        self.conn.client = transport

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


class UpstreamSide(asyncio.Protocol):
    def __init__(self, conn: Connection) -> None:
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


class Connection:
    """One accepted connection: HEAD (reading the request head) -> FORWARD | DISCARD."""

    HEAD, FORWARD, DISCARD, CLOSED = "head", "forward", "discard", "closed"

    def __init__(self, proxy: ChaosProxy, record: ConnectionRecord, fault: Fault | None) -> None:
        self.proxy = proxy
        self.loop = proxy._loop
        self.record = record
        self.profile = proxy.profile
        self.scheduled = fault
        self.state = self.HEAD
        self.accepted = record.accepted_at or self.loop.time()
        self.client: asyncio.Transport | None = None
        self.upstream: asyncio.Transport | None = None
        self.head: list[tuple[float, bytes]] = []
        self.parser = h11.Connection(h11.SERVER)
        self.c2s: Pipe | None = None
        self.s2c: Pipe | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.connect_task: asyncio.Task[None] | None = None
        self.upstream_gone = False
        self.status_read = False
        self.ws_up: CloseWatch | None = None  # WebSocket close frames, once upgraded
        self.ws_down: CloseWatch | None = None
        self.raw_sock: socket.socket | None = None

    # -- client side -------------------------------------------------------------------
    def client_data(self, data: bytes) -> None:
        self.record.bytes_up += len(data)
        if self.ws_up is not None and self.ws_up.feed(data):
            self._ended_by("client")  # the client's WebSocket close frame
        if self.state == self.FORWARD:
            assert self.c2s is not None
            self.c2s.feed(data, self.loop.time())
        elif self.state == self.HEAD:
            first = not self.head
            self.head.append((self.loop.time(), data))
            if first and data[0] == _TLS_HANDSHAKE:
                # TLS (no HTTP request starts with 0x16): nothing to read in there. Decide
                # now, without a request; the bytes are forwarded as they are.
                self.record.tls = True
                self._decide(None)
                return
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
        self._ended_by("client")
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
        self._ended_by("client")
        self._teardown(abort_upstream=True)

    # -- decisions ---------------------------------------------------------------------
    def _decide(self, request: h11.Request | None) -> None:
        proxy, record = self.proxy, self.record
        record.head_s = self.loop.time() - self.accepted
        tag, upgrade = None, False
        if request is not None:
            target = urlsplit(request.target.decode("latin-1"))
            record.target = target.path[:200]  # never the query: it may carry a token
            headers = {k.lower(): v for k, v in request.headers}
            raw_tag = headers.get(SESSION_HEADER.encode())
            if raw_tag:
                tag = raw_tag.decode("latin-1")[:200]
            elif SESSION_QUERY in target.query:
                tag = (parse_qs(target.query).get(SESSION_QUERY) or [""])[0][:200] or None
            upgrade = b"websocket" in headers.get(b"upgrade", b"").lower()
        record.session_tag, record.upgrade = tag, upgrade
        decision = decide(
            self.profile,
            role=proxy.role_index,
            upgrade=upgrade,
            session_tag=tag,
            draws=proxy.draws,
            scheduled=self.scheduled,
        )
        scale = proxy.time_scale
        rtt, penalty = decision.rtt_s * scale, decision.penalty_s * scale
        record.rtt_s, record.penalty_s = rtt, penalty
        proxy._count(record, decision.kind, decision.cause)
        self._apply(decision.kind, rtt, penalty)

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
        self.c2s = Pipe(self, rtt / 2, None)
        self.s2c = Pipe(self, rtt / 2, rate)
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
                lambda: UpstreamSide(self), proxy.upstream_host, proxy.upstream_port
            )
        except OSError as exc:
            if proxy.log_unreachable:
                log.warning("chaos proxy %s: upstream unreachable: %s", proxy.role, exc)
            self.record.upstream_error = exc.strerror or type(exc).__name__
            self._ended_by("upstream")
            self._reset()
            return
        if self.state != self.FORWARD:
            transport.abort()
            return
        self.upstream = transport
        assert self.c2s is not None and self.s2c is not None
        self.s2c.src = self.upstream
        self.c2s.attach(self.upstream)

    def _reset(self) -> None:
        self.timer = None
        self._ended_by("proxy")
        rst(self.client)
        self._teardown(abort_upstream=True)

    def _forbidden(self) -> None:
        self.timer = None
        self._ended_by("proxy")
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
        if self.record.status is None and not self.status_read:
            self.status_read = True
            self.record.status, self.record.content_type = _http_status(data)
            if self.record.upgrade and self.record.status == 101:
                self.ws_up, self.ws_down = CloseWatch(), CloseWatch(skip_head=True)
        if self.ws_down is not None and self.ws_down.feed(data):
            self._ended_by("upstream")  # the server's WebSocket close frame
        if self.state == self.FORWARD and self.s2c is not None:
            self.s2c.feed(data, self.loop.time())

    def upstream_eof(self) -> None:
        self._ended_by("upstream")
        if self.state == self.FORWARD and self.s2c is not None:
            self.s2c.feed(_EOF, self.loop.time())

    def upstream_lost(self, exc: Exception | None) -> None:
        self.upstream_gone = True
        self._ended_by("upstream")
        if self.state != self.FORWARD:
            return
        if exc is not None:  # the server reset: so does the client, at once
            rst(self.client)
            self._teardown(abort_upstream=False)
        elif self.s2c is not None and not self.s2c.eof_sent and not self._eof_queued(self.s2c):
            self.s2c.feed(_EOF, self.loop.time())

    @staticmethod
    def _eof_queued(pipe: Pipe) -> bool:
        return bool(pipe.queue) and pipe.queue[-1][1] is _EOF

    def pipe_done(self, pipe: Pipe) -> None:
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

    def delivered(self, size: int) -> None:
        """``size`` server bytes were written to the client (after their delay)."""
        record = self.record
        if record.first_byte_s is None:
            record.first_byte_s = self.loop.time() - self.accepted
        record.bytes_down += size

    def _ended_by(self, who: str) -> None:
        if not self.record.closed_by:
            self.record.closed_by = who

    def _teardown(self, *, abort_upstream: bool) -> None:
        if self.state == self.CLOSED:
            return
        self.state = self.CLOSED
        self.record.closed_s = self.loop.time() - self.accepted
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
        self.proxy._finished(self.record)

    def close(self, *, reset: bool) -> None:
        self._ended_by("proxy")
        if reset:
            rst(self.client)
        self._teardown(abort_upstream=True)


def _http_status(data: bytes) -> tuple[int | None, str]:
    """The status code of an HTTP/1.x status line at the start of ``data`` and the response's
    content type when the first chunk holds it; (None, "") when it is not HTTP."""
    if not data.startswith(b"HTTP/1."):
        return None, ""
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    parts = head[0].split(b" ", 2)
    if len(parts) < 2 or not parts[1].isdigit() or len(parts[1]) != 3:
        return None, ""
    content_type = ""
    for line in head[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-type":
            content_type = value.strip().decode("latin-1")[:100]
    return int(parts[1]), content_type
