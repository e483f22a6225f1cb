"""Network profiles: the conditions a session meets, for the simulator and the lab alike.

A :class:`NetworkProfile` is used twice with the same names: the simulator's model
(:mod:`chatconn.core.model`) turns it into attempt outcomes, and the lab server's chaos
proxy applies it to real sockets. "corporate-firewall" in a simulation and in a live run
are the same object, so their results can be overlaid.

Ports are named by role: WebSocket port 0 is the primary one (``direct_websocket``,
``extended_timeout``), ports 1 and 2 are the alternatives (``multiple_ports``); long
polling and SSE go to the HTTP port, which port rules never block.

A :class:`Population` is a weighted mix of profiles ("45 % broadband, 25 % 4G, ..."),
because stakeholders ask what share of *their users* connect within 2 s.

The preset numbers are modelling assumptions chosen to be typical of each access type
(order of magnitude of published RTT/loss figures), not measurements; calibrate a
profile against your own records when the answer matters. The same goes for
``drops_per_hour`` (chatconn's assumptions: wired links rarely drop a long-lived
connection, mobile and crowded Wi-Fi a few times an hour, a corporate proxy cuts
long-lived connections now and then).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from enum import Enum, StrEnum
from typing import Any

from .errors import ConfigError, UnknownNameError

__all__ = [
    "ALTERNATIVE_PORTS",
    "FaultMode",
    "NetworkProfile",
    "Outage",
    "Population",
    "TokenEndpoint",
    "load_target",
    "population_names",
    "population_preset",
    "profile_names",
    "profile_preset",
    "target_from_dict",
    "target_to_dict",
]

#: WebSocket ports by role: 0 is primary, these are the alternatives of ``multiple_ports``.
ALTERNATIVE_PORTS = (1, 2)


class FaultMode(StrEnum):
    """How a blocked or failing path behaves, as a client sees it."""

    HANG = "hang"  # accepted or dropped, never answered: the attempt times out
    RESET = "reset"  # connection reset mid-handshake, after about 2 RTT
    REFUSE = "refuse"  # connection refused, after about 1 RTT
    FORBIDDEN = "forbidden"  # the upgrade is answered with HTTP 403, after about 2 RTT

    def __str__(self) -> str:
        return self.value


class TokenEndpoint(StrEnum):
    """Where a session's login token comes from (:mod:`chatconn.core.token_fetch`)."""

    SERVER = "server"  # POST /token on the server's HTTP port, through the same network
    STATIC = "static"  # known in advance: no fetch

    def __str__(self) -> str:
        return self.value


def _mode(name: str, value: Any, allowed: tuple[FaultMode, ...]) -> FaultMode:
    try:
        mode = value if isinstance(value, FaultMode) else FaultMode(str(value))
    except ValueError:
        mode = None
    if mode not in allowed:
        raise UnknownNameError(name, value, [m.value for m in allowed])
    return mode


def _number(name: str, value: Any, low: float, high: float, *, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(
            name, value, f"expected a number in {'(' if low_open else '['}{low}, {high}]"
        )
    number = float(value)
    ok = math.isfinite(number) and (number > low if low_open else number >= low) and number <= high
    if not ok:
        raise ConfigError(
            name, number, f"expected a number in {'(' if low_open else '['}{low}, {high}]"
        )
    return number


@dataclass(frozen=True, slots=True)
class Outage:
    """The server is unreachable for attempts starting in [start_s, end_s) (end may be inf)."""

    start_s: float
    end_s: float
    mode: FaultMode = FaultMode.REFUSE

    def __post_init__(self) -> None:
        start = _number("outage.start_s", self.start_s, 0.0, 1e12)
        if isinstance(self.end_s, bool) or not isinstance(self.end_s, int | float):
            raise ConfigError("outage.end_s", self.end_s, "expected a number > start_s (or inf)")
        if math.isnan(self.end_s) or self.end_s <= start:
            raise ConfigError("outage.end_s", self.end_s, f"expected a number > start_s ({start})")
        object.__setattr__(self, "start_s", start)
        object.__setattr__(self, "end_s", float(self.end_s))
        object.__setattr__(
            self, "mode", _mode("outage.mode", self.mode, (FaultMode.REFUSE, FaultMode.HANG))
        )


@dataclass(frozen=True, slots=True)
class NetworkProfile:
    """The conditions one class of sessions meets. Validated on construction; immutable.

    ``rtt_median_s``/``rtt_sigma``: each session's round-trip time is lognormal with this
    median and shape. ``loss``: per-packet loss; a lost SYN or SYN-ACK costs TCP's
    retransmission timeouts (1 s, then 2 s more, 4 s more, ...). ``stall_probability``:
    an attempt is accepted and never answered. ``reset_probability``: an attempt is reset
    mid-handshake. ``ws_blocked_share``: share of sessions behind a proxy that blocks
    WebSocket upgrades (``ws_block_mode`` hang, reset or forbidden); plain HTTP passes.
    ``blocked_ports``/``blocked_ports_share``/``port_block_mode``: WebSocket ports (by
    role, see module doc) that a share of sessions cannot reach (drop = hang, or refuse).
    ``auth_s``/``sync_s``: server time to check the token and to prepare the initial
    sync, ``sync_bytes`` its size, ``bandwidth_kbps`` the downlink (None = unlimited).
    ``outages``: windows in which the server is down. ``token_endpoint``: where the
    login token comes from — ``server`` (its HTTP port, through this network: outages fail
    the fetch, as in the lab) or ``static`` (known in advance, as with a token string).
    ``drops_per_hour``: how often a connected session silently loses its connection
    (:mod:`chatconn.core.lifetime`).
    """

    name: str
    description: str = ""
    rtt_median_s: float = 0.03
    rtt_sigma: float = 0.5
    loss: float = 0.0
    stall_probability: float = 0.0
    reset_probability: float = 0.0
    ws_blocked_share: float = 0.0
    ws_block_mode: FaultMode = FaultMode.HANG
    blocked_ports: frozenset[int] = field(default_factory=frozenset)
    blocked_ports_share: float = 0.0
    port_block_mode: FaultMode = FaultMode.HANG
    auth_s: float = 0.05
    sync_s: float = 0.05
    sync_bytes: int = 16_384
    bandwidth_kbps: float | None = None
    outages: tuple[Outage, ...] = ()
    token_endpoint: TokenEndpoint = TokenEndpoint.SERVER
    drops_per_hour: float = 0.0

    def __post_init__(self) -> None:
        put = object.__setattr__
        try:
            put(self, "token_endpoint", TokenEndpoint(str(self.token_endpoint)))
        except ValueError:
            raise UnknownNameError(
                "token_endpoint", self.token_endpoint, [t.value for t in TokenEndpoint]
            ) from None
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError("name", self.name, "expected a non-empty string")
        put(
            self,
            "rtt_median_s",
            _number("rtt_median_s", self.rtt_median_s, 0.0, 60.0, low_open=True),
        )
        put(self, "rtt_sigma", _number("rtt_sigma", self.rtt_sigma, 0.0, 3.0))
        put(self, "loss", _number("loss", self.loss, 0.0, 0.9))
        for name in (
            "stall_probability",
            "reset_probability",
            "ws_blocked_share",
            "blocked_ports_share",
        ):
            put(self, name, _number(name, getattr(self, name), 0.0, 1.0))
        if self.stall_probability + self.reset_probability > 1.0:
            raise ConfigError(
                "reset_probability",
                self.reset_probability,
                "stall_probability + reset_probability must be <= 1 "
                f"(stall_probability is {self.stall_probability})",
            )
        put(
            self,
            "ws_block_mode",
            _mode(
                "ws_block_mode",
                self.ws_block_mode,
                (FaultMode.HANG, FaultMode.RESET, FaultMode.FORBIDDEN),
            ),
        )
        put(
            self,
            "port_block_mode",
            _mode("port_block_mode", self.port_block_mode, (FaultMode.HANG, FaultMode.REFUSE)),
        )
        ports = frozenset(self.blocked_ports)
        if not ports <= {0, *ALTERNATIVE_PORTS}:
            raise ConfigError("blocked_ports", sorted(ports), "expected port roles among 0, 1, 2")
        put(self, "blocked_ports", ports)
        for name in ("auth_s", "sync_s"):
            put(self, name, _number(name, getattr(self, name), 0.0, 600.0))
        put(self, "drops_per_hour", _number("drops_per_hour", self.drops_per_hour, 0.0, 3600.0))
        if (
            isinstance(self.sync_bytes, bool)
            or not isinstance(self.sync_bytes, int)
            or self.sync_bytes < 0
        ):
            raise ConfigError("sync_bytes", self.sync_bytes, "expected a whole number >= 0")
        if self.bandwidth_kbps is not None:
            put(
                self,
                "bandwidth_kbps",
                _number("bandwidth_kbps", self.bandwidth_kbps, 0.0, 1e9, low_open=True),
            )
        outages = tuple(o if isinstance(o, Outage) else Outage(*o) for o in self.outages)
        put(self, "outages", tuple(sorted(outages, key=lambda o: o.start_s)))

    @property
    def transfer_s(self) -> float:
        """Time to receive the initial sync payload at ``bandwidth_kbps``."""
        if self.bandwidth_kbps is None:
            return 0.0
        return self.sync_bytes * 8 / (self.bandwidth_kbps * 1000.0)

    def with_changes(self, **changes: Any) -> NetworkProfile:
        names = [f.name for f in fields(self)]
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise UnknownNameError("profile field", unknown[0], names)
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkProfile:
        """The inverse of :meth:`to_dict` (validated); unknown keys are an error."""
        if not isinstance(data, dict):
            raise ConfigError("profile", data, "expected a mapping of profile fields")
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise UnknownNameError("profile field", unknown[0], names)
        values = dict(data)
        if "blocked_ports" in values:
            values["blocked_ports"] = frozenset(values["blocked_ports"])
        if "outages" in values:
            outages = []
            for o in values["outages"]:
                if not isinstance(o, dict):
                    raise ConfigError("outages", o, "expected {start_s, end_s, mode} mappings")
                start: Any = o.get("start_s")  # Outage validates both
                end: Any = o.get("end_s")
                outages.append(
                    Outage(
                        start,
                        math.inf if end == "inf" else end,
                        o.get("mode", FaultMode.REFUSE),
                    )
                )
            values["outages"] = tuple(outages)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Enum):
                value = value.value
            elif isinstance(value, frozenset):
                value = sorted(value)
            elif f.name == "outages":
                value = [
                    {
                        "start_s": o.start_s,
                        "end_s": o.end_s if math.isfinite(o.end_s) else "inf",
                        "mode": o.mode.value,
                    }
                    for o in value
                ]
            out[f.name] = value
        return out


@dataclass(frozen=True, slots=True)
class Population:
    """A weighted mix of profiles; weights are normalised to shares on construction."""

    name: str
    components: tuple[tuple[NetworkProfile, float], ...]
    description: str = ""

    def __post_init__(self) -> None:
        parts = tuple(self.components)
        if not parts:
            raise ConfigError("components", parts, "expected at least one (profile, weight)")
        for profile, weight in parts:
            if not isinstance(profile, NetworkProfile):
                raise ConfigError("components", profile, "expected NetworkProfile entries")
            _number(f"weight of {profile.name}", weight, 0.0, 1e12, low_open=True)
        total = sum(float(w) for _, w in parts)
        if math.isclose(total, 1.0, rel_tol=0.0, abs_tol=1e-12):
            total = 1.0  # already shares (e.g. read back from a run file): keep them exact
        object.__setattr__(self, "components", tuple((p, float(w) / total) for p, w in parts))

    @property
    def profiles(self) -> tuple[NetworkProfile, ...]:
        return tuple(p for p, _ in self.components)

    @property
    def shares(self) -> tuple[float, ...]:
        return tuple(w for _, w in self.components)

    def split(self, sessions: int) -> tuple[int, ...]:
        """Sessions per component, proportional to the shares (largest remainder)."""
        exact = [share * sessions for share in self.shares]
        counts = [math.floor(x) for x in exact]
        by_remainder = sorted(range(len(exact)), key=lambda i: exact[i] - counts[i], reverse=True)
        for i in by_remainder[: sessions - sum(counts)]:
            counts[i] += 1
        return tuple(counts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "components": [{"profile": p.name, "share": w} for p, w in self.components],
        }


_INF = math.inf

_PROFILES: dict[str, NetworkProfile] = {
    p.name: p
    for p in (
        NetworkProfile(
            "fiber", "Fibre to the home, nearby region.",
            rtt_median_s=0.010, rtt_sigma=0.3, loss=0.0005, stall_probability=0.001,
            drops_per_hour=0.05,
        ),
        NetworkProfile(
            "broadband", "Cable/DSL in the server's region.",
            rtt_median_s=0.030, rtt_sigma=0.5, loss=0.005, stall_probability=0.005,
            reset_probability=0.002, bandwidth_kbps=20_000, drops_per_hour=0.1,
        ),
        NetworkProfile(
            "4g", "LTE mobile, good signal.",
            rtt_median_s=0.070, rtt_sigma=0.6, loss=0.01, stall_probability=0.01,
            reset_probability=0.005, bandwidth_kbps=10_000, drops_per_hour=1.0,
        ),
        NetworkProfile(
            "3g", "3G/HSPA mobile or weak LTE.",
            rtt_median_s=0.250, rtt_sigma=0.6, loss=0.03, stall_probability=0.03,
            reset_probability=0.01, bandwidth_kbps=500, drops_per_hour=2.0,
        ),
        NetworkProfile(
            "satellite", "Geostationary satellite link.",
            rtt_median_s=0.650, rtt_sigma=0.25, loss=0.02, stall_probability=0.02,
            reset_probability=0.005, bandwidth_kbps=2_000, drops_per_hour=0.5,
        ),
        NetworkProfile(
            "intercontinental", "Good access network, server on another continent.",
            rtt_median_s=0.280, rtt_sigma=0.4, loss=0.01, stall_probability=0.01,
            reset_probability=0.002, bandwidth_kbps=10_000, drops_per_hour=0.2,
        ),
        NetworkProfile(
            "flaky-wifi", "Crowded public Wi-Fi: loss, stalls and resets.",
            rtt_median_s=0.040, rtt_sigma=1.0, loss=0.08, stall_probability=0.10,
            reset_probability=0.05, bandwidth_kbps=2_000, drops_per_hour=4.0,
        ),
        NetworkProfile(
            "corporate-firewall",
            "Every session behind a proxy that hangs WebSocket upgrades and drops non-standard "
            "ports; plain HTTP (long polling, SSE) works.",
            rtt_median_s=0.040, rtt_sigma=0.4, loss=0.002, stall_probability=0.002,
            ws_blocked_share=1.0, ws_block_mode=FaultMode.HANG,
            blocked_ports=frozenset(ALTERNATIVE_PORTS), blocked_ports_share=1.0,
            port_block_mode=FaultMode.HANG, bandwidth_kbps=20_000, drops_per_hour=0.5,
        ),
        NetworkProfile(
            "server-down", "The server is down: every attempt is refused at once.",
            rtt_median_s=0.030, rtt_sigma=0.5, outages=(Outage(0.0, _INF, FaultMode.REFUSE),),
        ),
        NetworkProfile(
            "blackhole", "Every attempt, on any port, hangs (a SYN blackhole).",
            rtt_median_s=0.030, rtt_sigma=0.5, outages=(Outage(0.0, _INF, FaultMode.HANG),),
        ),
    )
}  # fmt: skip

_POPULATIONS: dict[str, Population] = {
    "global-users": Population(
        "global-users",
        (
            (_PROFILES["broadband"], 45),
            (_PROFILES["4g"], 25),
            (_PROFILES["fiber"], 10),
            (_PROFILES["intercontinental"], 8),
            (_PROFILES["3g"], 5),
            (_PROFILES["flaky-wifi"], 4),
            (_PROFILES["corporate-firewall"], 2),
            (_PROFILES["satellite"], 1),
        ),
        "A worldwide consumer audience (shares assumed, adjust to your analytics).",
    ),
    "mobile-users": Population(
        "mobile-users",
        ((_PROFILES["4g"], 60), (_PROFILES["3g"], 25), (_PROFILES["flaky-wifi"], 15)),
        "A mobile-first audience.",
    ),
}


def profile_names() -> tuple[str, ...]:
    return tuple(_PROFILES)


def population_names() -> tuple[str, ...]:
    return tuple(_POPULATIONS)


def profile_preset(name: str) -> NetworkProfile:
    """The profile called ``name``; raises UnknownNameError listing the known names."""
    try:
        return _PROFILES[name]
    except KeyError:
        raise UnknownNameError("profile", name, profile_names()) from None


def population_preset(name: str) -> Population:
    try:
        return _POPULATIONS[name]
    except KeyError:
        raise UnknownNameError("population", name, population_names()) from None


def load_target(name: str) -> NetworkProfile | Population:
    """A profile or a population by name (profiles first); lists both on a miss."""
    if name in _PROFILES:
        return _PROFILES[name]
    if name in _POPULATIONS:
        return _POPULATIONS[name]
    raise UnknownNameError("profile", name, (*profile_names(), *population_names()))


def target_to_dict(target: NetworkProfile | Population) -> dict[str, Any]:
    """A profile or population in full (every profile field), for run files and replays."""
    if isinstance(target, NetworkProfile):
        return {"kind": "profile", **target.to_dict()}
    if isinstance(target, Population):
        return {
            "kind": "population",
            "name": target.name,
            "description": target.description,
            "components": [{"profile": p.to_dict(), "share": w} for p, w in target.components],
        }
    raise ConfigError("profile", target, "expected a NetworkProfile or a Population")


def target_from_dict(data: dict[str, Any]) -> NetworkProfile | Population:
    """The inverse of :func:`target_to_dict`: replays use exactly the recorded conditions."""
    if not isinstance(data, dict):
        raise ConfigError("profile", data, "expected a mapping with 'kind'")
    values = dict(data)
    kind = values.pop("kind", None)
    if kind == "profile":
        return NetworkProfile.from_dict(values)
    if kind == "population":
        components = values.get("components")
        if not isinstance(components, list):
            raise ConfigError("components", components, "expected a list of {profile, share}")
        parts = []
        for c in components:
            if not isinstance(c, dict) or set(c) != {"profile", "share"}:
                raise ConfigError("components", c, "expected {profile, share} mappings")
            parts.append((NetworkProfile.from_dict(c["profile"]), c["share"]))
        return Population(values.get("name", ""), tuple(parts), values.get("description", ""))
    raise ConfigError("profile.kind", kind, "expected 'profile' or 'population'")


def as_population(target: NetworkProfile | Population) -> Population:
    """A profile as a one-component population; a population unchanged."""
    if isinstance(target, Population):
        return target
    if isinstance(target, NetworkProfile):
        return Population(target.name, ((target, 1.0),), target.description)
    raise ConfigError("profile", target, "expected a NetworkProfile or a Population")
