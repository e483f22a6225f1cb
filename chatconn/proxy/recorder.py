"""An observing chaos proxy: :class:`~chatconn.lab.chaos.ChaosProxy` in front of any TCP
server, with every connection written to an observed run file as it ends.

The proxy is protocol-agnostic: bytes are forwarded as they come, with the profile's
latency, bandwidth and faults. It reads an HTTP request head when the client sends one
(WebSocket upgrades, SSE, plain requests: the upgrade-blocking rules and the session tag
need it); anything else is treated as a request without a tag. It expects the client to
speak first, as HTTP, WebSocket and TLS clients do: a server-first protocol (SMTP, MySQL)
reaches its upstream only once the client has sent a byte.

Crash safety: each connection is one line written with one ``write`` when it ends
(:class:`~chatconn.runs.writer.RunWriter`), so a killed proxy loses only the connections
still open; a stopped one (Ctrl-C, SIGTERM, :meth:`ObservingProxy.close`) closes them and
writes them, then the end mark.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Callable
from typing import Any

from ..core.errors import ConfigError
from ..core.profiles import NetworkProfile, load_target, target_to_dict
from ..lab.chaos import ChaosProxy
from ..lab.faults import ConnectionRecord
from ..observe import ObservedConnection
from ..runs.format import FORMAT, VERSION, environment, now_iso
from ..runs.writer import RunWriter

__all__ = ["ObservingProxy", "check_listen_host", "observed_header", "parse_address"]


def parse_address(text: str, what: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) into (host, port); ConfigError otherwise."""
    host, sep, port = str(text).rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(what, text, "expected HOST:PORT, e.g. 127.0.0.1:8000")
    return host, int(port)


def check_listen_host(host: str, *, allow_remote: bool) -> str:
    """The address to listen on: loopback unless ``allow_remote`` (then anything)."""
    if host == "localhost":
        host = "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError("listen", host, "expected an IP address, e.g. 127.0.0.1") from None
    if not address.is_loopback and not allow_remote:
        raise ConfigError(
            "listen",
            host,
            "not a loopback address: anyone who can reach it could use the proxy; "
            "pass --allow-remote (allow_remote=True) to listen there",
        )
    return host


def _profile(value: NetworkProfile | str) -> NetworkProfile:
    if isinstance(value, NetworkProfile):
        return value
    text = str(value)
    if text.endswith(".json") and os.path.exists(text):
        import json

        with open(text, encoding="utf-8") as f:
            return NetworkProfile.from_dict(json.load(f))
    found = load_target(text)
    if not isinstance(found, NetworkProfile):
        raise ConfigError("profile", text, "the proxy takes a profile, not a population")
    return found


def observed_header(
    profile: NetworkProfile,
    *,
    upstream: tuple[str, int],
    listen: tuple[str, int],
    seed: int,
    time_scale: float,
    policy: Any = None,
    policy_name: str | None = None,
) -> dict[str, Any]:
    """The header line of an observed run (see :mod:`chatconn.runs.format`)."""
    return {
        "type": "run",
        "format": FORMAT,
        "version": VERSION,
        "kind": "observed",
        "policy": policy.to_dict() if policy is not None else None,
        "policy_name": policy_name,
        "target": target_to_dict(profile),
        "target_name": profile.name,
        "seed": int(seed),
        "sessions": 0,
        "time_scale": float(time_scale),
        "target_url": f"tcp://{upstream[0]}:{upstream[1]}",
        "started_at": now_iso(),
        **environment(),
        "extra": {"listen": f"{listen[0]}:{listen[1]}", "upstream": f"{upstream[0]}:{upstream[1]}"},
    }


class ObservingProxy:
    """A chaos proxy on ``listen`` in front of ``upstream`` applying ``profile`` (a
    :class:`NetworkProfile`, a preset name or a ``.json`` profile file), recording every
    connection to ``record`` (a file, a directory, a :class:`RunWriter` or None).

    ``on_connection`` is called with each :class:`~chatconn.observe.ObservedConnection`
    as it ends (the CLI prints them). Switch the profile with :meth:`set_profile` (recorded
    as a ``profile`` line), reset every open connection with :meth:`drop_all`. Use as
    ``async with``; not thread-safe (call it from its event loop).
    """

    def __init__(
        self,
        upstream: tuple[str, int] | str,
        profile: NetworkProfile | str = "fiber",
        *,
        listen: tuple[str, int] | str = ("127.0.0.1", 0),
        allow_remote: bool = False,
        record: str | os.PathLike[str] | RunWriter | None = None,
        force: bool = False,
        seed: int = 0,
        time_scale: float = 1.0,
        on_connection: Callable[[ObservedConnection], Any] | None = None,
    ) -> None:
        if isinstance(upstream, str):
            upstream = parse_address(upstream, "upstream")
        self.upstream = upstream
        host, port = parse_address(listen, "listen") if isinstance(listen, str) else listen
        self.listen_host = check_listen_host(host, allow_remote=allow_remote)
        self.profile = _profile(profile)
        self.seed = seed
        self.on_connection = on_connection
        if record is not None and not isinstance(record, RunWriter):
            record = RunWriter(record, force=force)
        self.writer = record
        self.proxy = ChaosProxy(
            self.upstream[1],
            self.profile,
            role="ws0",
            rng=seed,
            time_scale=time_scale,
            host=self.listen_host,
            port=port,
            upstream_host=self.upstream[0],
            on_close=self._closed,
        )
        self.proxy.log_unreachable = False  # each such connection is recorded as unreachable
        self.connections = 0
        self._t0 = 0.0
        self._wall0 = 0.0
        self._profiles: list[tuple[float, str]] = []
        self.closed = False

    async def start(self) -> ObservingProxy:
        await self.proxy.start()
        self._t0 = self.proxy._loop.time()
        self._wall0 = time.perf_counter()
        self._profiles = [(self._t0, self.profile.name)]
        if self.writer is not None:
            self.writer.write(
                observed_header(
                    self.profile,
                    upstream=self.upstream,
                    listen=self.address,
                    seed=self.seed,
                    time_scale=self.proxy.time_scale,
                )
            )
        return self

    async def close(self) -> None:
        """Stop listening, close every connection (each recorded), write the end mark."""
        if self.closed:
            return
        self.closed = True
        await self.proxy.close()
        if self.writer is not None:
            if self.writer.lines:
                self.writer.write(
                    {
                        "type": "end",
                        "connections": self.connections,
                        "wall_s": time.perf_counter() - self._wall0,
                        "finished_at": now_iso(),
                    }
                )
            self.writer.close()

    async def __aenter__(self) -> ObservingProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def address(self) -> tuple[str, int]:
        return (self.listen_host, self.proxy.port)

    @property
    def path(self) -> str | None:
        return str(self.writer.path) if self.writer is not None and self.writer.path else None

    def elapsed(self) -> float:
        """Seconds since the proxy started (the run's clock)."""
        return self.proxy._loop.time() - self._t0

    def set_profile(self, profile: NetworkProfile | str) -> NetworkProfile:
        """Apply a profile to new connections from now on; recorded in the run file."""
        found = _profile(profile)
        self.proxy.set_profile(found, reset_epoch=True)  # its outages count from now
        self.profile = found
        now = self.proxy._loop.time()
        self._profiles.append((now, found.name))
        if self.writer is not None and not self.writer.closed:
            self.writer.write(
                {"type": "profile", "at_s": now - self._t0, "profile": target_to_dict(found)}
            )
        return found

    def drop_all(self) -> int:
        """Reset every open connection (as a server restart would); returns how many."""
        return self.proxy.drop_all()

    def _profile_at(self, t: float) -> str:
        name = self._profiles[0][1] if self._profiles else self.profile.name
        for at, candidate in self._profiles:
            if at <= t:
                name = candidate
        return name

    def _closed(self, record: ConnectionRecord) -> None:
        self.connections += 1
        seen = observed_connection(record, self._t0, self._profile_at(record.accepted_at))
        if self.writer is not None and not self.writer.closed:
            self.writer.write(seen.to_dict())
        if self.on_connection is not None:
            self.on_connection(seen)


def observed_connection(record: ConnectionRecord, t0: float, profile: str) -> ObservedConnection:
    """A chaos proxy's connection record as an observation (times from ``t0``)."""
    return ObservedConnection(
        id=record.id,
        peer=record.peer,
        port=record.peer_port,
        at_s=max(0.0, record.accepted_at - t0),
        tag=record.session_tag,
        head_s=record.head_s,
        first_byte_s=record.first_byte_s,
        closed_s=record.closed_s,
        closed_by=record.closed_by,
        upgrade=record.upgrade,
        target=record.target,
        tls=record.tls,
        status=record.status,
        bytes_up=record.bytes_up,
        bytes_down=record.bytes_down,
        fault=record.fault.value,
        cause=record.cause,
        upstream_error=record.upstream_error,
        rtt_s=record.rtt_s,
        penalty_s=record.penalty_s,
        profile=profile,
        content_type=record.content_type,
    )
