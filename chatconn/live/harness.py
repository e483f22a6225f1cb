"""Measure what the live harness itself adds to a connect on this machine.

Use :func:`measure_floor` before a live run against a chatconn lab (``run_live`` does, for
``time_scale="auto"``) and :class:`FloorSampler` during it. A *floor probe* is a real
connect through the lab's chaos proxies whose session tag starts with
:data:`~chatconn.wire.FLOOR_TAG_PREFIX`: the proxy gives it the profile's median RTT
and nothing else, so the model knows exactly how long it should take
(:func:`chatconn.core.model.success_duration` × the time scale); what it takes beyond that
is the harness's cost — client, proxy and server CPU on a shared machine, scheduling, and
timers firing late. :class:`LoopLag` measures the last part alone: how late a short sleep
wakes up. The summary is a :class:`~chatconn.core.harness.HarnessFloor`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import itertools
import math
import ssl as ssl_module
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from ..core.diagnostics import harness_connects
from ..core.harness import (
    DEFAULT_TOLERANCE,
    DEFAULT_WALL_BUDGET_S,
    SOURCE_BACKEND,
    SOURCE_LAB,
    HarnessFloor,
    ScaleChoice,
    choose_time_scale,
    makespan_s,
)
from ..core.model import success_duration
from ..core.policy import RetryPolicy
from ..core.profiles import NetworkProfile
from ..core.strategies import Strategy
from ..endpoint import Endpoint
from ..outcomes import SessionOutcomes
from ..simulate import simulate
from ..wire import FLOOR_TAG_PREFIX
from .errors import LiveError
from .session import PhaseClock
from .tls import default_tls
from .transports import open_session

__all__ = [
    "MAX_FAILED_PROBES",
    "PLANNING_MARGIN",
    "PROBE_PATIENCE",
    "PROBE_SLACK_S",
    "TWIN_SESSIONS",
    "FloorSampler",
    "LoopLag",
    "RunPlan",
    "floor_strategies",
    "measure_floor",
    "measure_lab_floor",
    "plan_run",
    "probe_nominal_s",
    "probe_once",
    "probe_timeout_s",
    "quiet_heap",
]

#: A probe that takes longer than this many times its nominal duration (plus
#: :data:`PROBE_SLACK_S`) is abandoned and not counted: it met an outage, not the harness.
PROBE_PATIENCE = 10.0
#: Wall seconds a floor probe may take beyond :data:`PROBE_PATIENCE` times its nominal
#: duration (room for a busy machine: a full GC pass alone was measured at 205 ms).
PROBE_SLACK_S = 1.0
#: A floor measurement stops probing a path after this many failed probes (after the
#: first, when none has got through yet): where nothing answers (an outage — blackhole,
#: server-down) every probe would wait out its whole :func:`probe_timeout_s`, and 6
#: probes x 3 transports of a blackhole cost 22 s before a run (measured, issue 14).
MAX_FAILED_PROBES = 2
_TAGS = itertools.count(1)


def floor_strategies(ladder: Iterable[Strategy]) -> tuple[Strategy, ...]:
    """The transports a ladder uses, one strategy each (WebSocket rungs share one)."""
    seen: dict[str, Strategy] = {}
    for strategy in ladder:
        kind = "ws" if strategy.uses_websocket else strategy.value
        seen.setdefault(kind, Strategy.DIRECT_WEBSOCKET if kind == "ws" else strategy)
    return tuple(seen.values())


def probe_nominal_s(
    profile: NetworkProfile, strategy: Strategy, time_scale: float, *, profile_free: bool = False
) -> float:
    """Wall seconds a floor probe should take by the model: the profile's median RTT and
    nothing else through the lab's proxies; ``profile_free`` (to the lab's backends
    directly, :data:`~chatconn.core.harness.SOURCE_BACKEND`): only the server's auth and
    sync time (no RTT, no bandwidth pacing — the proxies inject those)."""
    if profile_free:
        return (profile.auth_s + profile.sync_s) * time_scale
    return float(success_duration(profile, strategy, profile.rtt_median_s)) * time_scale


def probe_timeout_s(nominal_s: float) -> float:
    """How long a floor probe of ``nominal_s`` may take before it is abandoned (and not
    counted: it met an outage, not the harness): :data:`PROBE_PATIENCE` times its nominal
    duration plus :data:`PROBE_SLACK_S`."""
    return nominal_s * PROBE_PATIENCE + PROBE_SLACK_S


async def probe_once(
    endpoint: Endpoint,
    token: str,
    profile: NetworkProfile,
    strategy: Strategy,
    time_scale: float,
    *,
    ssl: ssl_module.SSLContext | None = None,
    http_client: httpx.AsyncClient | None = None,
    profile_free: bool = False,
) -> float | None:
    """One floor probe: wall seconds beyond the model's duration, or None if it failed or
    took longer than :func:`probe_timeout_s` (``profile_free``: ``endpoint`` is the lab's
    backend, see :func:`probe_nominal_s`)."""
    nominal = probe_nominal_s(profile, strategy, time_scale, profile_free=profile_free)
    phases = PhaseClock()
    tag = f"{FLOOR_TAG_PREFIX}-{next(_TAGS)}"
    try:
        async with asyncio.timeout(probe_timeout_s(nominal)):
            session = await open_session(
                strategy, endpoint, token, phases, session_tag=tag, ssl=ssl,
                http_client=http_client,
            )  # fmt: skip
    except (TimeoutError, LiveError, OSError):
        return None
    took = phases.elapsed()
    with contextlib.suppress(Exception):
        await session.close()
    return took - nominal


class LoopLag:
    """How late this event loop's timers fire: sleeps ``interval_s`` again and again and
    records the overshoot. ``async with LoopLag() as lag: ...`` then ``lag.samples``."""

    def __init__(self, interval_s: float = 0.01, max_samples: int = 20_000) -> None:
        self.interval_s = interval_s
        self.max_samples = max_samples
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        began = time.perf_counter()
        await asyncio.sleep(self.interval_s)
        self.samples.append(max(0.0, time.perf_counter() - began - self.interval_s))

    async def _run(self) -> None:
        while len(self.samples) < self.max_samples:
            await self._sample()

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            if not self.samples and (not exc_info or exc_info[0] is None):
                # A window shorter than one interval (every probe refused at once) still
                # says how late this loop's timers fire: one sample, taken now.
                await self._sample()


async def measure_floor(
    endpoint: Endpoint,
    token: str,
    profile: NetworkProfile,
    time_scale: float,
    *,
    strategies: Iterable[Strategy] = (Strategy.DIRECT_WEBSOCKET,),
    probes: int = 6,
    ssl: ssl_module.SSLContext | None = None,
    profile_free: bool = False,
    source: str = SOURCE_LAB,
) -> HarnessFloor:
    """The harness floor on this machine now: ``probes`` floor probes per strategy, one at
    a time, through a lab playing ``profile`` at ``time_scale``, with event-loop lag
    sampled meanwhile. Failed probes are left out (an outage), and probing stops after
    :data:`MAX_FAILED_PROBES` failures (after the first when none got through), so a path
    where nothing answers costs at most that many :func:`probe_timeout_s`. All failing
    gives a floor of 0 probes, which callers treat as unmeasured (see
    :func:`measure_lab_floor` for the fallback). ``profile_free``: ``endpoint`` is the
    lab's backend (:func:`probe_nominal_s`); ``source`` is recorded in the floor."""
    overheads: dict[str, list[float]] = {}
    strategies = tuple(strategies)
    failed = 0
    async with (
        httpx.AsyncClient(verify=ssl or default_tls(), timeout=None) as client,
        LoopLag() as lag,
    ):
        for strategy in itertools.islice(itertools.cycle(strategies), probes * len(strategies)):
            extra = await probe_once(
                endpoint, token, profile, strategy, time_scale, ssl=ssl, http_client=client,
                profile_free=profile_free,
            )  # fmt: skip
            if extra is not None:
                overheads.setdefault(strategy.value, []).append(extra)
                continue
            failed += 1
            if failed >= (MAX_FAILED_PROBES if overheads else 1):
                break  # nothing answers here: waiting out every probe would cost minutes
    return HarnessFloor.from_samples(overheads, lag.samples, source)


async def measure_lab_floor(
    lab: Any,
    profile: NetworkProfile,
    time_scale: float,
    *,
    strategies: Iterable[Strategy] = (Strategy.DIRECT_WEBSOCKET,),
    probes: int = 6,
    ssl: ssl_module.SSLContext | None = None,
) -> HarnessFloor:
    """The harness floor of a lab run: :func:`measure_floor` through the lab's proxies
    (source :data:`~chatconn.core.harness.SOURCE_LAB`) and, when the profile lets no probe
    through (an outage: a blackhole hangs them, a server that is down refuses them),
    through the same lab's profile-free backend ports instead (source
    :data:`~chatconn.core.harness.SOURCE_BACKEND`: client and server cost without the
    proxies' relaying — which the sessions of such a profile do not get either, since it
    forwards nothing). The profile path then costs at most one :func:`probe_timeout_s`.
    ``lab``: a :class:`~chatconn.lab.LabServer` (or a process/thread handle with
    ``endpoint``, ``backend_endpoint`` and ``token``)."""
    strategies = tuple(strategies)
    floor = await measure_floor(
        lab.endpoint, lab.token, profile, time_scale, strategies=strategies, probes=probes,
        ssl=ssl, source=SOURCE_LAB,
    )  # fmt: skip
    backend = getattr(lab, "backend_endpoint", None)
    if floor.probes or backend is None:
        return floor
    fallback = await measure_floor(
        backend, lab.token, profile, time_scale, strategies=strategies, probes=probes,
        ssl=ssl, profile_free=True, source=SOURCE_BACKEND,
    )  # fmt: skip
    return dataclasses.replace(floor.merged(fallback), source=fallback.source)


class FloorSampler:
    """Floor probes and loop lag sampled *during* a live run, in the background.

    Every ``every_s`` wall seconds (at least) one probe of each strategy in turn runs
    beside the sessions, so the probes meet the same contention the sessions do.
    ``profile_free``: ``endpoint`` is the lab's backend (the path the floor before the run
    was measured on, when the profile let no probe through: :func:`measure_lab_floor`).
    ``async with FloorSampler(...) as sampler: ...`` then :meth:`floor`.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        token: str,
        profile: NetworkProfile,
        time_scale: float,
        *,
        strategies: Iterable[Strategy] = (Strategy.DIRECT_WEBSOCKET,),
        every_s: float = 0.25,
        ssl: ssl_module.SSLContext | None = None,
        profile_free: bool = False,
    ) -> None:
        self._args = (endpoint, token, profile)
        self._profile_free = profile_free
        self._scale = time_scale
        self._strategies = tuple(strategies) or (Strategy.DIRECT_WEBSOCKET,)
        self._every = every_s
        self._ssl = ssl
        self._overheads: dict[str, list[float]] = {}
        self._lag = LoopLag()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async with httpx.AsyncClient(verify=self._ssl or default_tls(), timeout=None) as client:
            for strategy in itertools.cycle(self._strategies):
                began = time.perf_counter()
                extra = await probe_once(
                    *self._args, strategy, self._scale, ssl=self._ssl, http_client=client,
                    profile_free=self._profile_free,
                )  # fmt: skip
                if extra is not None and math.isfinite(extra):
                    self._overheads.setdefault(strategy.value, []).append(extra)
                await asyncio.sleep(max(0.0, self._every - (time.perf_counter() - began)))

    def floor(self) -> HarnessFloor:
        source = SOURCE_BACKEND if self._profile_free else SOURCE_LAB
        return HarnessFloor.from_samples(self._overheads, self._lag.samples, source)

    async def __aenter__(self) -> FloorSampler:
        await self._lag.__aenter__()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._lag.__aexit__(*exc_info)


#: Sessions of the simulated twin a live run is planned with and compared to.
TWIN_SESSIONS = 20_000
#: An automatic scale aims at this fraction of the tolerance: the floor measured before a
#: run, one probe at a time, understates the floor during it, when the run's own sessions
#: contend for the loop (measured here beside two busy processes: 1.5-4x at p90).
PLANNING_MARGIN = 2.0


@dataclass(frozen=True, slots=True, eq=False)
class RunPlan:
    """How a live run against a lab will run: its time scale (``choice``), the harness
    floor it was chosen from, the simulated twin it is compared to, and the attempt a
    connect typically ends at (``attempts``, the 90th percentile among connected twin
    sessions: the bound covers the timers of the attempts before it)."""

    choice: ScaleChoice
    floor: HarnessFloor
    twin: SessionOutcomes
    attempts: float
    #: Connections whose overhead counts in full (1, or 3 with diagnostics' two probes).
    connects: float = 1.0

    @property
    def scale(self) -> float:
        return self.choice.scale


def plan_run(
    policy: RetryPolicy,
    profile: NetworkProfile,
    sessions: int,
    concurrency: int,
    floor: HarnessFloor,
    *,
    manual: float | None = None,
    seed: int = 0,
    wall_budget_s: float = DEFAULT_WALL_BUDGET_S,
) -> RunPlan:
    """Simulate the run's twin and choose its time scale from ``floor`` (see
    :func:`chatconn.core.harness.choose_time_scale`), aiming at the tolerance divided by
    :data:`PLANNING_MARGIN`; ``manual``: keep that scale and only say what it costs (its
    warning against the full tolerance)."""
    twin = simulate(policy, profile, sessions=max(TWIN_SESSIONS, sessions), seed=seed)
    ok = twin.connected
    times = twin.time_to_connect[ok]
    reference = float(np.median(times)) if times.size else float(np.median(twin.ended_at))
    attempts = float(np.quantile(twin.attempts[ok], 0.9)) if ok.any() else policy.max_attempts
    makespan = makespan_s(twin.ended_at[:sessions], concurrency)
    tolerance = DEFAULT_TOLERANCE if manual is not None else DEFAULT_TOLERANCE / PLANNING_MARGIN
    connects = harness_connects(policy)
    choice = choose_time_scale(
        floor, reference_s=reference, makespan_at_1_s=makespan, attempts=attempts,
        connects=connects, manual=manual, wall_budget_s=wall_budget_s, tolerance=tolerance,
    )  # fmt: skip
    return RunPlan(choice, floor, twin, attempts, connects)


_frozen = 0


@contextlib.contextmanager
def quiet_heap() -> Iterator[None]:
    """Keep the garbage collector's full collections off a live run's timings.

    A full (generation 2) collection walks every object of the process, and a notebook
    kernel or a long test session holds hundreds of thousands: measured here, one took
    205 ms beside two busy processes — a stall that reads as network time in the tail of a
    run. On entry: one full collection (before any timing), then ``gc.freeze()`` moves every
    existing object out of the collector's sight, so collections during the run walk only
    what the run creates. On exit (of the last of nested runs) ``gc.unfreeze()``.
    """
    global _frozen
    if _frozen == 0:
        gc.collect()
        gc.freeze()
    _frozen += 1
    try:
        yield
    finally:
        _frozen -= 1
        if _frozen == 0:
            gc.unfreeze()
