"""What the live harness itself adds to a connect, and the time scale that keeps it small.

A live run against the lab replays a network profile at ``time_scale``: injected delays,
timeouts and waits all shrink by that factor, and measured times are divided by it to
read as *profile time*. The harness's own cost does not shrink — client, chaos proxy and
server share this machine's CPU, and every timer fires a little late — so a time scale
magnifies it: 5 ms of local cost at ``time_scale=0.05`` reads as 0.1 s of profile time.

This module is the pure half (no clock, no I/O): :class:`HarnessFloor` summarises what
:func:`chatconn.live.harness.measure_floor` measured on this machine (the *overhead* of a
connect over what the model says it should take, and event-loop lag), and
:func:`choose_time_scale` picks the scale of a run from it. chatconn compares live with
simulated like with like this way:

1. live durations are kept as measured (never corrected by an estimate);
2. the time scale is chosen so that the harness's cost, divided by the scale, stays within
   :data:`DEFAULT_TOLERANCE` (5 %) of the profile's median time to connect;
3. the residual is recorded with the run as a *distortion bound* (profile seconds the
   harness can add to a connect), and the live-vs-simulated verdict
   (:func:`chatconn.agreement.compare`) accepts a live run that is slower than its twin by
   at most that bound, beyond sampling error — the harness can only add time.

The cost of a connect that succeeds at attempt *k* (1-based) is modelled as the connect
overhead plus two event-loop lags per earlier attempt (its timeout and the wait after it
each fire one timer late): :meth:`HarnessFloor.cost_s`. These choices are chatconn's own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .errors import ConfigError

__all__ = [
    "DEFAULT_TOLERANCE",
    "DEFAULT_WALL_BUDGET_S",
    "MAX_AUTO_SCALE",
    "MIN_AUTO_SCALE",
    "SOURCE_BACKEND",
    "SOURCE_LAB",
    "HarnessFloor",
    "ScaleChoice",
    "choose_time_scale",
    "describe_scale",
    "makespan_s",
]

#: Largest share of the median time to connect that the harness may add (issue 11: 5 %).
DEFAULT_TOLERANCE = 0.05
#: Wall time an automatically scaled run aims to finish in (sessions, not set-up).
DEFAULT_WALL_BUDGET_S = 60.0
#: Bounds of an automatic scale: slow motion up to 10x for fast profiles on a busy machine
#: (broadband's 0.23 s connects then last 2.3 s), compression down to 1/1000 for profiles
#: measured in minutes.
MAX_AUTO_SCALE = 10.0
MIN_AUTO_SCALE = 0.001


#: :attr:`HarnessFloor.source` of probes through the lab's chaos proxies (the profile's path).
SOURCE_LAB = "lab"
#: :attr:`HarnessFloor.source` of probes to the lab's backends directly, past the proxies:
#: the fallback when the profile lets no probe through (an outage: server-down, blackhole).
SOURCE_BACKEND = "lab-backend"


def _merged_source(a: HarnessFloor, b: HarnessFloor) -> str:
    """The sources of two merged floors: those that measured any probe, in order."""
    named = [f.source for f in (a, b) if f.source and f.probes] or [
        f.source for f in (a, b) if f.source
    ]
    return "+".join(dict.fromkeys(named))


def _quantiles(samples: Iterable[float]) -> tuple[float, float, int]:
    values = np.asarray([float(s) for s in samples], dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 0.0, 0
    p50, p90 = np.quantile(values, [0.5, 0.9])
    return max(0.0, float(p50)), max(0.0, float(p90)), int(values.size)


@dataclass(frozen=True, slots=True)
class HarnessFloor:
    """This machine's harness cost, measured in wall seconds (see the module doc).

    ``connect_p50_s``/``connect_p90_s``: how much longer than the model a connect that
    meets nothing bad takes here (client + proxy + server CPU, scheduling, timers firing
    late), over ``probes`` probe connects; ``by_strategy`` the median per strategy.
    ``loop_lag_p50_s``/``loop_lag_p90_s``: how late a timer fires, over ``lag_samples``.
    ``source``: where the probes went — :data:`SOURCE_LAB` (through the lab's chaos
    proxies, under the profile), :data:`SOURCE_BACKEND` (the same lab's profile-free
    backend ports, when the profile let no probe through: the proxies' own relaying cost
    is then not in the figure) or "" (not said: set by hand, or an older record).
    Use :meth:`from_samples` to build one from raw measurements.
    """

    connect_p50_s: float = 0.0
    connect_p90_s: float = 0.0
    probes: int = 0
    loop_lag_p50_s: float = 0.0
    loop_lag_p90_s: float = 0.0
    lag_samples: int = 0
    by_strategy: Mapping[str, float] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.source, str):
            raise ConfigError("source", self.source, "expected a string naming the probes' path")
        for name in ("connect_p50_s", "connect_p90_s", "loop_lag_p50_s", "loop_lag_p90_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(name, value, "expected a number of seconds >= 0")
            if not math.isfinite(value) or value < 0:
                raise ConfigError(name, value, "expected a finite number of seconds >= 0")
        for name in ("probes", "lag_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(name, value, "expected a whole number >= 0")
        object.__setattr__(self, "by_strategy", dict(self.by_strategy))

    @classmethod
    def from_samples(
        cls,
        overheads: Mapping[str, Iterable[float]],
        lags: Iterable[float] = (),
        source: str = "",
    ) -> HarnessFloor:
        """Summarise probe overheads (wall seconds, per strategy) and loop lags."""
        every = [float(v) for values in overheads.values() for v in values]
        p50, p90, probes = _quantiles(every)
        lag50, lag90, lag_n = _quantiles(lags)
        by = {}
        for name, values in overheads.items():
            median, _, n = _quantiles(values)
            if n:
                by[name] = median
        return cls(p50, p90, probes, lag50, lag90, lag_n, by, source)

    @property
    def measured(self) -> bool:
        return self.probes > 0 or self.lag_samples > 0

    def cost_s(self, attempts: float = 1.0, *, high: bool = False, connects: float = 1.0) -> float:
        """Wall seconds the harness adds to a connect ending at attempt ``attempts``
        (typical: medians; ``high``: 90th percentiles). ``connects``: connections whose
        overhead counts in full — 1, plus the diagnostics probes' when they run
        (:func:`chatconn.core.diagnostics.harness_connects`)."""
        connect = self.connect_p90_s if high else self.connect_p50_s
        lag = self.loop_lag_p90_s if high else self.loop_lag_p50_s
        return connect * connects + 2.0 * max(0.0, attempts - 1.0) * lag

    def bound_s(self, time_scale: float, attempts: float = 1.0, connects: float = 1.0) -> float:
        """Profile seconds the harness can add to such a connect at ``time_scale``: the
        distortion bound a live-vs-simulated comparison allows."""
        return self.cost_s(attempts, high=True, connects=connects) / time_scale

    def merged(self, other: HarnessFloor) -> HarnessFloor:
        """The more pessimistic of two measurements, field by field (before and during a
        run: the bound a run reports covers both)."""
        by = dict(self.by_strategy)
        for name, value in other.by_strategy.items():
            by[name] = max(value, by.get(name, 0.0))
        return HarnessFloor(
            max(self.connect_p50_s, other.connect_p50_s),
            max(self.connect_p90_s, other.connect_p90_s),
            self.probes + other.probes,
            max(self.loop_lag_p50_s, other.loop_lag_p50_s),
            max(self.loop_lag_p90_s, other.loop_lag_p90_s),
            self.lag_samples + other.lag_samples,
            by,
            _merged_source(self, other),
        )

    def describe(self) -> str:
        """One line for people: "connect +2.1 ms (p90 3.0 ms, 12 probes), timers +0.6 ms"."""
        if not self.measured:
            return "not measured"
        return (
            f"connect +{self.connect_p50_s * 1e3:.1f} ms (p90 {self.connect_p90_s * 1e3:.1f} ms, "
            f"{self.probes} probes), timers +{self.loop_lag_p50_s * 1e3:.1f} ms "
            f"(p90 {self.loop_lag_p90_s * 1e3:.1f} ms)"
            + (" via the lab's backend (no proxy)" if SOURCE_BACKEND in self.source else "")
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "by_strategy": dict(self.by_strategy)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HarnessFloor:
        """Read :meth:`to_dict` back; raises ConfigError naming a bad field."""
        if not isinstance(data, Mapping):
            raise ConfigError("harness", data, "expected a mapping of harness floor fields")
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ConfigError("harness", sorted(unknown)[0], "is not a harness floor field")
        by = data.get("by_strategy", {})
        if not isinstance(by, Mapping) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in by.values()
        ):
            raise ConfigError("harness.by_strategy", by, "expected strategy -> seconds")
        return cls(**{**data, "by_strategy": {str(k): float(v) for k, v in by.items()}})


def makespan_s(durations: Iterable[float], concurrency: int) -> float:
    """How long ``durations`` (one per session) take with ``concurrency`` running at once,
    each starting as soon as a slot frees (in order). Infinite durations count as 0."""
    values = np.asarray(list(durations), dtype=float)
    values = np.where(np.isfinite(values), values, 0.0)
    if values.size == 0:
        return 0.0
    slots = np.zeros(max(1, min(int(concurrency), values.size)))
    for d in values:  # small N (live runs): a plain loop over a tiny array is enough
        i = int(np.argmin(slots))
        slots[i] += d
    return float(slots.max())


@dataclass(frozen=True, slots=True)
class ScaleChoice:
    """A run's time scale and why: ``mode`` "auto" or "manual"; ``bound_s`` profile seconds
    the harness can add to a connect at that scale, ``share`` of ``reference_s`` (the
    profile's median time to connect, or to give up when nobody connects);
    ``predicted_wall_s`` the sessions' predicted wall time; ``reason`` in plain words;
    ``warning`` non-empty when the distortion exceeds the tolerance."""

    scale: float
    mode: str
    bound_s: float
    share: float
    reference_s: float
    predicted_wall_s: float
    tolerance: float
    reason: str
    warning: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _share(bound: float, reference: float) -> float:
    return bound / reference if reference > 0 else math.inf


def _round_up(value: float, digits: int = 3) -> float:
    """``value`` rounded up to ``digits`` significant digits (0.012341 -> 0.0124)."""
    step = 10.0 ** (math.floor(math.log10(value)) - digits + 1)
    return float(f"{math.ceil(value / step - 1e-9) * step:.{digits}g}")


def choose_time_scale(
    floor: HarnessFloor,
    *,
    reference_s: float,
    makespan_at_1_s: float,
    attempts: float = 1.0,
    connects: float = 1.0,
    manual: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    wall_budget_s: float = DEFAULT_WALL_BUDGET_S,
    min_scale: float = MIN_AUTO_SCALE,
    max_scale: float = MAX_AUTO_SCALE,
) -> ScaleChoice:
    """The time scale of a live run (``manual`` None: chosen here), with its distortion.

    ``reference_s``: the profile's median time to connect in profile seconds (simulated);
    ``makespan_at_1_s``: the run's sessions' wall time at scale 1 (:func:`makespan_s` of
    simulated durations); ``attempts``: the typical attempt a connect ends at.

    Automatic: the strongest compression whose distortion (the harness's cost at its 90th
    percentile, divided by the scale) stays within ``tolerance`` of ``reference_s`` — but
    no stronger than needed to finish within ``wall_budget_s`` (scale 1 when it fits), in
    [``min_scale``, ``max_scale``]. When the two conflict, accuracy wins and the reason
    says how long the run will take. Manual: the scale given, with a warning saying how
    much it distorts when that is more than the tolerance.
    """
    if not 0 < tolerance < 1:
        raise ConfigError("tolerance", tolerance, "expected a share in (0, 1)")
    cost = floor.cost_s(attempts, high=True, connects=connects)
    if manual is not None:
        bound = cost / manual
        share = _share(bound, reference_s)
        warning = ""
        if share > tolerance:
            warning = (
                f"time scale {manual:g} lets this machine's harness add up to {bound:.3g} s to "
                f"each connect ({share:.0%} of the median {reference_s:.3g} s, above "
                f"{tolerance:.0%}): live times will read slower than the network makes them; "
                "use the automatic scale (--time-scale auto)"
            )
        return ScaleChoice(
            manual, "manual", bound, share, reference_s, makespan_at_1_s * manual, tolerance,
            "given", warning,
        )  # fmt: skip
    accurate = cost / (tolerance * reference_s) if reference_s > 0 else min_scale
    in_time = wall_budget_s / makespan_at_1_s if makespan_at_1_s > 0 else 1.0
    scale = max(accurate, min(1.0, in_time))
    scale = float(min(max_scale, max(min_scale, scale)))
    scale = _round_up(scale)  # a scale people can read and type again, never below
    bound = cost / scale
    share = _share(bound, reference_s)
    wall = makespan_at_1_s * scale
    if scale >= max_scale and share > tolerance:
        reason = f"slowest allowed ({max_scale:g}x slow motion); the harness still adds {share:.0%}"
    elif accurate > min(1.0, in_time):
        reason = (
            f"the strongest compression keeping the harness within {tolerance:.0%} of the "
            f"median; ~{wall:.0f} s of wall time"
        )
        if wall > wall_budget_s:
            reason += f" (over the {wall_budget_s:.0f} s aim: accuracy first)"
    elif in_time < 1.0:
        reason = f"compressed to finish in ~{wall:.0f} s; the harness adds {share:.1%}"
    else:
        reason = f"real time fits in ~{wall:.0f} s; the harness adds {share:.1%}"
    warning = ""
    if share > tolerance:
        warning = (
            f"even at time scale {scale:g} this machine's harness adds up to {bound:.3g} s "
            f"({share:.0%} of the median {reference_s:.3g} s)"
        )
    return ScaleChoice(scale, "auto", bound, share, reference_s, wall, tolerance, reason, warning)


def describe_scale(choice: ScaleChoice, floor: HarnessFloor, bound_s: float | None = None) -> str:
    """A live run's time scale in plain words, for a notebook or a view: the scale and why,
    this machine's harness floor and the profile seconds it can add to a connect
    (``bound_s``; default the choice's prediction — give a finished run's own bound, from
    the floor measured before and during it). :attr:`ScaleChoice.warning` is not included:
    show it apart, as a warning.

    "Time scale 0.034, chosen automatically (<reason>). This machine's harness: connect
    +2.1 ms (p90 3.0 ms, 12 probes), timers +0.6 ms (p90 1.1 ms); it can add up to 0.0118 s
    to a connect, 0.5% of the simulated median 2.35 s."
    """
    bound = choice.bound_s if bound_s is None else bound_s
    how = f"chosen automatically ({choice.reason})" if choice.mode == "auto" else "as given"
    share = _share(bound, choice.reference_s)
    return (
        f"Time scale {choice.scale:g}, {how}. This machine's harness: {floor.describe()}; "
        f"it can add up to {bound:.3g} s to a connect, "
        + (f"{share:.1%} of" if math.isfinite(share) else "more than")
        + f" the simulated median {choice.reference_s:.3g} s."
    )
