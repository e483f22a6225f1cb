"""The lab's fault vocabulary and the model's rules for one connection, without I/O.

:func:`decide` applies :mod:`chatconn.core.model`'s rules, in its order of precedence, to
one connection of a :class:`~chatconn.lab.chaos.ChaosProxy`: stall, reset, WebSocket
blocking proxy, blocked port (outages are applied by the proxy itself, before reading any
request). :class:`SessionDraws` holds the seeded generator and the conditions of tagged
sessions; :class:`Fault` is a per-connection override for deterministic tests.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

import numpy as np

from ..core.errors import ConfigError
from ..core.model import _penalty, draw_conditions, syn_loss_probability
from ..core.profiles import FaultMode, NetworkProfile
from ..wire import FLOOR_TAG_PREFIX

__all__ = [
    "PORT_BLOCK",
    "UPGRADE_KINDS",
    "WS_BLOCK",
    "ConnectionRecord",
    "Decision",
    "Fault",
    "FaultKind",
    "SessionDraws",
    "as_fault",
    "decide",
    "role_index",
]

_MAX_TAGS = 100_000


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


UPGRADE_KINDS = frozenset({FaultKind.UPGRADE_HANG, FaultKind.UPGRADE_RESET, FaultKind.UPGRADE_403})
WS_BLOCK = {
    FaultMode.HANG: FaultKind.UPGRADE_HANG,
    FaultMode.RESET: FaultKind.UPGRADE_RESET,
    FaultMode.FORBIDDEN: FaultKind.UPGRADE_403,
}
PORT_BLOCK = {FaultMode.HANG: FaultKind.STALL, FaultMode.REFUSE: FaultKind.REFUSE}


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


def as_fault(value: Fault | FaultKind | str) -> Fault:
    return value if isinstance(value, Fault) else Fault(FaultKind(value))


@dataclass(slots=True)
class ConnectionRecord:
    """What happened to one connection (for tests and diagnostics).

    ``started_s`` is seconds since the proxy's epoch; ``rtt_s`` and ``penalty_s`` are
    the injected values (after ``time_scale``); ``cause`` names the rule that chose
    ``fault``: "scheduled", "stall", "reset", "ws_proxy", "port", "outage" or "".
    ``tls`` is true when the client opened with a TLS ClientHello (forwarded unread: no
    session tag, no upgrade, no target).

    What an observer needs (``chatconn proxy``, :mod:`chatconn.observe`): ``peer`` and
    ``peer_port`` (the client's address), ``accepted_at`` (event-loop time of the accept),
    then seconds after it: ``head_s`` (the request head was read and the fate decided),
    ``first_byte_s`` (the first server byte *delivered to the client*, after the injected
    delay) and ``closed_s``; ``closed_by`` ("client", "upstream" or "proxy": who ended it
    first), ``bytes_up`` (received from the client), ``bytes_down`` (delivered to it),
    ``status`` (the HTTP status line of the upstream's answer, if it sent one) and
    ``upstream_error`` (why the upstream could not be reached). ``target`` is the request
    path without its query (queries carry tokens).
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
    tls: bool = False
    peer: str = ""
    peer_port: int = 0
    accepted_at: float = 0.0
    head_s: float | None = None
    first_byte_s: float | None = None
    closed_s: float | None = None
    closed_by: str = ""
    bytes_up: int = 0
    bytes_down: int = 0
    status: int | None = None
    upstream_error: str = ""
    content_type: str = ""


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


@dataclass(frozen=True, slots=True)
class Decision:
    """The fate of one connection, before ``time_scale``."""

    kind: FaultKind
    cause: str  # "scheduled", "stall", "reset", "ws_proxy", "port" or "" (none)
    rtt_s: float
    penalty_s: float


def decide(
    profile: NetworkProfile,
    *,
    role: int | None,
    upgrade: bool,
    session_tag: str | None,
    draws: SessionDraws,
    scheduled: Fault | None = None,
) -> Decision:
    """The model's rules for one connection (outages aside: they need no request).

    ``role`` is the port role (0 primary, 1-2 alternatives, None for HTTP); ``upgrade``
    whether the request asks for a WebSocket upgrade. Draws, in the model's order: the
    session's conditions (once per tag), then ``u_loss`` if ``loss > 0``, then
    ``u_fault`` if stalls or resets are possible. A later rule overrides an earlier one.
    A scheduled fault replaces every rule (and its ``rtt_s`` the drawn RTT). A floor probe
    (tag starting with :data:`FLOOR_TAG_PREFIX`) passes at the median RTT, drawing nothing.
    """
    if scheduled is None and session_tag is not None and session_tag.startswith(FLOOR_TAG_PREFIX):
        return Decision(FaultKind.NONE, "", profile.rtt_median_s, 0.0)
    rtt, behind_proxy, ports_blocked = draws.conditions(profile, session_tag)
    kind, cause, penalty = FaultKind.NONE, "", 0.0
    if scheduled is not None:
        kind, cause = scheduled.kind, "scheduled"
        if scheduled.rtt_s is not None:
            rtt = float(scheduled.rtt_s)
    else:
        if profile.loss > 0:
            q = syn_loss_probability(profile)
            u_loss = draws.uniform()
            if u_loss < q:
                penalty = float(_penalty(np.array([u_loss]), q)[0])
        p_stall, p_reset = profile.stall_probability, profile.reset_probability
        if p_stall + p_reset > 0:
            u_fault = draws.uniform()
            if u_fault < p_stall:
                kind, cause = FaultKind.STALL, "stall"
            elif u_fault < p_stall + p_reset:
                kind, cause = FaultKind.RESET, "reset"
        if upgrade and profile.ws_blocked_share > 0 and behind_proxy:
            kind, cause = WS_BLOCK[profile.ws_block_mode], "ws_proxy"
        if (
            role is not None
            and role in profile.blocked_ports
            and profile.blocked_ports_share > 0
            and ports_blocked
        ):
            kind, cause = PORT_BLOCK[profile.port_block_mode], "port"
    if kind in UPGRADE_KINDS and not upgrade:
        kind = FaultKind.NONE  # plain HTTP passes a WebSocket-blocking proxy
    return Decision(kind, cause if kind is not FaultKind.NONE else "", rtt, penalty)


def role_index(role: str | int | None) -> int | None:
    """Port role as the profile counts it: "ws0" -> 0, ... ; "http" or None -> None."""
    if role is None or role == "http":
        return None
    if isinstance(role, int):
        return role
    if isinstance(role, str) and role.startswith("ws") and role[2:].isdigit():
        return int(role[2:])
    raise ConfigError("role", role, 'expected "ws0", "ws1", "ws2", "http" or a port role 0-2')
