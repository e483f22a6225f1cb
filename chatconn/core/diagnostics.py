"""The diagnostics phase before connecting, as settings and as a pure model.

The seed application enables ``enableNetworkDiagnostics``: before its first attempt it
measures latency, probes WebSocket capability and applies a corporate-firewall heuristic
("HTTP works but the WebSocket upgrade does not"), then adapts its timeouts and skips the
WebSocket rungs. :class:`DiagnosticsSettings` is that phase's configuration, carried by
:class:`~chatconn.core.policy.RetryPolicy` (``--set diagnostics=true``);
:func:`diagnose` is what the phase costs and concludes for many sessions at once, in
profile time. The live manager runs the real probes
(:func:`chatconn.live.diagnostics.run_diagnostics`) and decides with the same
:func:`conclude` and :func:`chatconn.core.adapt.adapt_policy`; the simulator adds
:attr:`DiagnosisOutcome.cost` before each session's first attempt and adapts its ladder
and timeouts per session.

The probes, as the lab protocol spends them (:mod:`chatconn.wire`)::

    HTTP latency   one connection: TCP (1 RTT), then ``probes`` GET /latency, 1 RTT each;
                   bounded as a whole by ``probe_timeout_s``. The measured latency is
                   the median of the requests (the first also pays TCP and SYN losses).
    WebSocket      TCP (1 RTT) + upgrade (1 RTT) to /probe on the primary port, bounded by
                   ``ws_probe_timeout_s``: behind a proxy that hangs upgrades it costs the
                   whole timeout; one that resets or answers 403 fails after 2 RTT.

Each probe connection meets the profile's rules exactly like an attempt
(:func:`chatconn.core.model.attempt_outcome`: SYN loss, stalls, resets, the proxy, blocked
ports, outages). So the heuristic has false positives: a stalled or reset WebSocket probe
on an open network also reads as "firewall", and the session then skips WebSocket.

Defaults (``DEFAULT_*``) are the numbers the live manager used before this module
(``chatconn/live/manager.py`` ``DIAGNOSTICS_TIMEOUT_S = 5.0``,
``chatconn/live/diagnostics.py`` ``run_diagnostics(samples=3)``,
``chatconn/core/adapt.py`` ``RTT_TIMEOUT_FACTOR = 20.0``): the seed report gives no numbers
for its probes, so these are chatconn's own (see ``/work/shared/DESIGN.md``, "What the
app's report says beyond its numbers").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

from .errors import ConfigError, UnknownNameError
from .model import SessionConditions, attempt_outcome
from .profiles import NetworkProfile
from .strategies import Strategy, parse_strategy

__all__ = [
    "DEFAULT_PROBES",
    "DEFAULT_PROBE_TIMEOUT_S",
    "DEFAULT_RTT_FACTOR",
    "DEFAULT_SKIP_ON_FIREWALL",
    "DEFAULT_WS_PROBE_TIMEOUT_S",
    "DiagnosisOutcome",
    "DiagnosticsSettings",
    "adapted_base_timeout",
    "adapted_timeouts",
    "conclude",
    "diagnose",
    "harness_connects",
    "latency_estimate",
    "parse_diagnostics",
    "skipped_ladder",
]

#: HTTP latency requests (``run_diagnostics(samples=3)``).
DEFAULT_PROBES = 3
#: Bound of the HTTP probes as a whole (the manager's ``DIAGNOSTICS_TIMEOUT_S``).
DEFAULT_PROBE_TIMEOUT_S = 5.0
#: Bound of the WebSocket probe (the same ``DIAGNOSTICS_TIMEOUT_S``).
DEFAULT_WS_PROBE_TIMEOUT_S = 5.0
#: The base timeout grows to this many measured RTTs (``RTT_TIMEOUT_FACTOR``: a connect
#: needs about 4 round trips, 20 leaves room for loss and a slow server).
DEFAULT_RTT_FACTOR = 20.0
#: Rungs a suspected firewall skips: the ones that need a WebSocket upgrade.
DEFAULT_SKIP_ON_FIREWALL = (
    Strategy.DIRECT_WEBSOCKET,
    Strategy.EXTENDED_TIMEOUT,
    Strategy.MULTIPLE_PORTS,
)
MAX_PROBES = 20
#: Round trips of the WebSocket probe: TCP and the upgrade (the probe message follows the 101).
WS_PROBE_ROUND_TRIPS = 2.0

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"diagnostics.{name}", value, "expected a number of seconds > 0")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0 or seconds > 600:
        raise ConfigError(
            f"diagnostics.{name}", seconds, "expected a number of seconds in (0, 600]"
        )
    return seconds


@dataclass(frozen=True, slots=True)
class DiagnosticsSettings:
    """Whether and how a connect probes the network first. Validated; immutable.

    ==================  =======  ====================================================
    field               default  meaning
    ==================  =======  ====================================================
    enabled             False    run the diagnostics phase before the first attempt
    probes              3        HTTP latency requests (the median is the RTT)
    probe_timeout_s     5 s      bound of the HTTP probes as a whole
    ws_probe_timeout_s  5 s      bound of the WebSocket capability probe
    rtt_factor          20       base timeout grows to rtt_factor x RTT (<= max_timeout)
    skip_on_firewall    WS rungs the rungs a suspected firewall drops from the ladder
    ==================  =======  ====================================================
    """

    enabled: bool = False
    probes: int = DEFAULT_PROBES
    probe_timeout_s: float = DEFAULT_PROBE_TIMEOUT_S
    ws_probe_timeout_s: float = DEFAULT_WS_PROBE_TIMEOUT_S
    rtt_factor: float = DEFAULT_RTT_FACTOR
    skip_on_firewall: tuple[Strategy, ...] = field(default=DEFAULT_SKIP_ON_FIREWALL)

    def __post_init__(self) -> None:
        put = object.__setattr__
        if not isinstance(self.enabled, bool):
            raise ConfigError("diagnostics.enabled", self.enabled, "expected true or false")
        n = self.probes
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_PROBES:
            raise ConfigError(
                "diagnostics.probes", n, f"expected a whole number in [1, {MAX_PROBES}]"
            )
        for name in ("probe_timeout_s", "ws_probe_timeout_s"):
            put(self, name, _seconds(name, getattr(self, name)))
        f = self.rtt_factor
        if isinstance(f, bool) or not isinstance(f, int | float) or not math.isfinite(f) or f < 0:
            raise ConfigError("diagnostics.rtt_factor", f, "expected a finite number >= 0 (0: off)")
        put(self, "rtt_factor", float(f))
        skip = self.skip_on_firewall
        if isinstance(skip, str):
            skip = [s for s in skip.split(",") if s.strip()]
        put(self, "skip_on_firewall", tuple(dict.fromkeys(parse_strategy(s) for s in skip)))

    def __str__(self) -> str:
        """The ``--set diagnostics=...`` text: ``true``/``false`` with the default numbers,
        else ``key:value;...`` pairs of what differs (read back by :func:`parse_diagnostics`)."""
        default = DiagnosticsSettings(enabled=self.enabled)
        if self == default:
            return "true" if self.enabled else "false"
        parts = [] if self.enabled else ["enabled:false"]
        for key, value in self.to_dict().items():
            if key != "enabled" and value != default.to_dict()[key]:
                text = ",".join(value) if isinstance(value, list) else f"{value:g}"
                parts.append(f"{key}:{text}")
        return ";".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "probes": self.probes,
            "probe_timeout_s": self.probe_timeout_s,
            "ws_probe_timeout_s": self.ws_probe_timeout_s,
            "rtt_factor": self.rtt_factor,
            "skip_on_firewall": [s.value for s in self.skip_on_firewall],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiagnosticsSettings:
        names = tuple(cls.__dataclass_fields__)
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise UnknownNameError("diagnostics field", unknown[0], names)
        values = dict(data)
        if "skip_on_firewall" in values:
            values["skip_on_firewall"] = tuple(values["skip_on_firewall"])
        return cls(**values)

    @classmethod
    def coerce(cls, value: Any) -> DiagnosticsSettings:
        """Settings from a bool (on/off with the defaults), a mapping, text or settings."""
        if isinstance(value, DiagnosticsSettings):
            return value
        if isinstance(value, bool):
            return cls(enabled=value)
        if isinstance(value, dict):
            return cls.from_dict(value)
        if isinstance(value, str):
            return parse_diagnostics(value)
        raise ConfigError("diagnostics", value, "expected true/false or diagnostics settings")


def parse_diagnostics(text: str) -> DiagnosticsSettings:
    """``true``/``false``, or ``key:value`` pairs separated by ``;`` (``enabled`` is implied)::

    diagnostics=true
    diagnostics=probes:5;ws_probe_timeout_s:2
    """
    raw = text.strip()
    if raw.lower() in _TRUE | _FALSE:
        return DiagnosticsSettings(enabled=raw.lower() in _TRUE)
    values: dict[str, Any] = {"enabled": True}
    for part in raw.split(";"):
        key, sep, value = part.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ConfigError(
                "diagnostics", text, "expected true, false or key:value;... e.g. probes:5"
            )
        if key not in DiagnosticsSettings.__dataclass_fields__:
            raise UnknownNameError(
                "diagnostics field", key, tuple(DiagnosticsSettings.__dataclass_fields__)
            )
        if key == "enabled":
            values[key] = value.lower() in _TRUE
        elif key == "probes":
            try:
                values[key] = int(value)
            except ValueError:
                raise ConfigError("diagnostics.probes", value, "expected a whole number") from None
        elif key == "skip_on_firewall":
            values[key] = tuple(s for s in value.split(",") if s.strip())
        else:
            try:
                values[key] = float(value)
            except ValueError:
                raise ConfigError(f"diagnostics.{key}", value, "expected a number") from None
    return DiagnosticsSettings(**values)


def latency_estimate(
    rtt: float | np.ndarray, probes: int, penalty: float | np.ndarray = 0.0
) -> float | np.ndarray:
    """The median of ``probes`` request times on one new connection: the first request also
    pays TCP's round trip and its SYN losses (``penalty``), the others one RTT each."""
    estimate: float | np.ndarray
    if probes >= 3:
        estimate = rtt + 0.0 * penalty
    elif probes == 2:
        estimate = 1.5 * rtt + penalty / 2.0
    else:
        estimate = 2.0 * rtt + penalty
    return estimate


@dataclass(frozen=True, slots=True)
class DiagnosisOutcome:
    """Per session: what the probes cost (profile seconds) and concluded.

    ``latency`` is the measured RTT (NaN where the HTTP probes failed), ``firewall``
    the heuristic's verdict (HTTP works, the WebSocket probe does not).
    """

    cost: np.ndarray
    http_ok: np.ndarray
    websocket_ok: np.ndarray
    latency: np.ndarray

    @property
    def firewall(self) -> np.ndarray:
        return conclude(self.http_ok, self.websocket_ok)


@overload
def conclude(http_ok: bool, websocket_ok: bool) -> bool: ...


@overload
def conclude(http_ok: np.ndarray, websocket_ok: np.ndarray) -> np.ndarray: ...


def conclude(http_ok: bool | np.ndarray, websocket_ok: bool | np.ndarray) -> bool | np.ndarray:
    """The corporate-firewall heuristic: HTTP works but the WebSocket upgrade does not
    (one session's bools, or arrays of them)."""
    if isinstance(http_ok, bool) and isinstance(websocket_ok, bool):
        return http_ok and not websocket_ok
    suspected: np.ndarray = np.logical_and(http_ok, np.logical_not(websocket_ok))
    return suspected


def _uniforms(
    profile: NetworkProfile, draw: Callable[[], np.ndarray], n: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    u_loss = draw() if profile.loss > 0 else None
    u_fault = draw() if profile.stall_probability + profile.reset_probability > 0 else None
    return u_loss, u_fault


def diagnose(
    settings: DiagnosticsSettings,
    profile: NetworkProfile,
    conditions: SessionConditions,
    draw: Callable[[], np.ndarray],
    start: float | np.ndarray = 0.0,
) -> DiagnosisOutcome:
    """The diagnostics phase for the sessions in ``conditions``, starting at ``start``.

    ``draw()`` returns one uniform per session (the simulator's block streams, or
    ``lambda: rng.random(n)``); it is called for the HTTP connection then the WebSocket
    one, for SYN loss (if the profile has loss) then faults (if it has stalls or resets).
    """
    n = conditions.rtt.size
    rtt = conditions.rtt
    # HTTP probes: one connection to the HTTP port (port rules never block it).
    u_loss, u_fault = _uniforms(profile, draw, n)
    http_success = (1.0 + settings.probes) * rtt
    http = attempt_outcome(
        profile, Strategy.LONG_POLLING, start, settings.probe_timeout_s, conditions,
        u_loss, u_fault, success=http_success,
    )  # fmt: skip
    penalty = http.duration - http_success if u_loss is not None else 0.0
    latency = np.where(http.connected, latency_estimate(rtt, settings.probes, penalty), np.nan)
    # WebSocket probe: the primary port, upgrade to /probe.
    ws_start = start + http.duration
    u_loss, u_fault = _uniforms(profile, draw, n)
    ws = attempt_outcome(
        profile, Strategy.DIRECT_WEBSOCKET, ws_start, settings.ws_probe_timeout_s, conditions,
        u_loss, u_fault, success=WS_PROBE_ROUND_TRIPS * rtt,
    )  # fmt: skip
    return DiagnosisOutcome(
        cost=http.duration + ws.duration,
        http_ok=http.connected,
        websocket_ok=ws.connected,
        latency=latency,
    )


def adapted_base_timeout(
    base_timeout: float,
    max_timeout: float,
    rtt_factor: float,
    latency: float | np.ndarray | None,
) -> float | np.ndarray:
    """The base timeout after a latency measurement: ``rtt_factor`` x RTT when that is
    longer, never past ``max_timeout``; unchanged where the latency is unknown (NaN/None)."""
    if latency is None:
        return base_timeout
    wanted = np.minimum(rtt_factor * np.nan_to_num(latency, nan=0.0), max_timeout)
    adapted: float | np.ndarray = np.maximum(base_timeout, wanted)
    return adapted


def skipped_ladder(
    ladder: Iterable[Strategy], settings: DiagnosticsSettings
) -> tuple[Strategy, ...] | None:
    """The ladder without the rungs a suspected firewall skips; None when nothing would be
    left (then the ladder stays as it is: the heuristic never leaves a connect without rungs)."""
    ladder = tuple(ladder)
    kept = tuple(s for s in ladder if s not in settings.skip_on_firewall)
    if not kept:
        return None
    return kept


#: Connections the diagnostics open (the HTTP probes' and the WebSocket probe's): a live
#: run's harness pays each one's overhead like an attempt's.
PROBE_CONNECTS = 2


def harness_connects(policy: Any) -> float:
    """Connections per connect whose harness overhead counts in full in a live run's
    distortion bound (:meth:`chatconn.core.harness.HarnessFloor.cost_s`): 1, plus
    :data:`PROBE_CONNECTS` with diagnostics on."""
    return 1.0 + (PROBE_CONNECTS if policy.diagnostics.enabled else 0.0)


def adapted_timeouts(policy: Any, base_timeout: np.ndarray) -> np.ndarray:
    """Nominal attempt timeouts, shape (sessions, attempts), for a per-session adapted base
    timeout: row i equals :func:`chatconn.core.schedule.nominal_timeouts` of
    ``policy.with_changes(base_timeout=base_timeout[i])``."""
    k = np.arange(policy.max_attempts, dtype=float)
    grown = np.minimum(
        np.asarray(base_timeout, dtype=float)[:, None] * np.power(policy.timeout_growth, k),
        policy.max_timeout,
    )
    extended = np.array([s is Strategy.EXTENDED_TIMEOUT for s in policy.strategies])
    timeouts: np.ndarray = np.where(extended, policy.extended_timeout, grown)
    return timeouts
