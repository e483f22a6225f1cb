"""Live runs: N sessions connecting concurrently, summarised like a simulation.

Use :func:`run_live` (or ``chatconn run``) to measure a policy for real: against the lab
server under a profile (``lab_profile=...``) or against a real server (``endpoint=...``).
Each session is a :class:`ConnectionManager` with its own seeded generator; the summary is
the simulator's (:meth:`SessionOutcomes.summary`), with times in *profile time*
(measured wall time divided by ``time_scale``) so it compares with ``chatconn simulate``.
Per-attempt records keep the wall times and the scale.

Against a lab, the time scale is chosen for you by default (``time_scale="auto"``): the
run first measures this machine's harness floor (:mod:`chatconn.live.harness`: floor
probes through the lab and event-loop lag), then takes the strongest compression that keeps
the harness's cost within 5 % of the profile's median time to connect
(:func:`chatconn.core.harness.choose_time_scale`). Sessions start at least one measured
connect-overhead apart (so the harness does not queue behind itself), probes keep
sampling the floor during the run, and the run reports its *distortion bound* — profile
seconds the harness can add to a connect — and the verdict of its comparison with the
simulated twin (:func:`chatconn.agreement.compare`). With ``out`` (a
:class:`chatconn.runs.RunWriter` or a path), the run is recorded as it happens: each
attempt's line when the attempt ends, each session's outcome when it ends (see
:mod:`chatconn.runs.format`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import ssl as ssl_module
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from ..agreement import Agreement, compare
from ..core.adapt import drop_rungs
from ..core.diagnostics import harness_connects
from ..core.errors import ConfigError
from ..core.harness import DEFAULT_WALL_BUDGET_S, SOURCE_BACKEND, HarnessFloor
from ..core.model import success_duration
from ..core.policy import RetryPolicy
from ..core.presets import policy_preset_name_of
from ..core.profiles import NetworkProfile, TokenEndpoint, as_population, target_from_dict
from ..core.strategies import Strategy
from ..endpoint import Endpoint, redact_url
from ..limits import raise_open_files_limit
from ..outcomes import SessionOutcomes
from ..records import AttemptRecord
from ..runs.format import end_line, now_iso, run_header, session_line
from ..runs.writer import RunWriter
from .errors import LiveError
from .events import AttemptFinished
from .gate import DEFAULT_LIMIT, ConnectGate
from .harness import (
    FloorSampler,
    RunPlan,
    floor_strategies,
    measure_lab_floor,
    plan_run,
    quiet_heap,
)
from .manager import ConnectionManager
from .tls import client_tls, default_tls
from .tokens import HttpTokenProvider, Secret, TokenProvider

__all__ = ["LiveRun", "check_time_scale", "prepare_lab", "probe_scale", "run_live"]

MAX_LIVE_SESSIONS = 100_000


@dataclass(frozen=True, slots=True, eq=False)
class LiveRun:
    """A finished live run: per-session results, every attempt record, and the setup.

    ``header`` is the run file header describing it (policy, profile, seed, scale,
    versions, redacted target URL): :func:`chatconn.runs.save_run` writes it as is.

    ``plan`` (lab runs): the time scale chosen and why, the harness floor measured before
    the run, and the simulated twin; ``harness``: that floor merged with the one sampled
    during the run (None for a real server); ``bound_s``: profile seconds the harness can
    add to a connect; :meth:`agreement`: the verdict against the twin.
    """

    result: SessionOutcomes
    records: tuple[AttemptRecord, ...]
    errors: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    header: dict[str, Any] = field(default_factory=dict)
    plan: RunPlan | None = None
    harness: HarnessFloor | None = None

    @property
    def time_scale(self) -> float:
        return float(self.header.get("time_scale", 1.0))

    @property
    def bound_s(self) -> float:
        if self.harness is None:
            return 0.0
        attempts = self.plan.attempts if self.plan is not None else 1.0
        connects = harness_connects(self.result.policy)
        return self.harness.bound_s(self.time_scale, attempts, connects)

    def agreement(self, twin: SessionOutcomes | None = None) -> Agreement | None:
        """Live against ``twin`` (default: the planned twin), allowing for the harness."""
        twin = twin if twin is not None else (self.plan.twin if self.plan else None)
        return None if twin is None else compare(self.result, twin, bound_s=self.bound_s)

    def summary(self) -> dict[str, Any]:
        out = self.result.summary()
        counts = {s.value: 0 for s in Strategy}
        for code in self.result.strategy[self.result.connected]:
            counts[Strategy.from_code(int(code)).value] += 1
        out["strategy_counts"] = counts
        out["failure_kinds"] = dict(self.errors)
        out["wall_s"] = self.wall_s
        out["time_scale"] = self.time_scale
        if self.plan is not None:
            out["time_scale_choice"] = self.plan.choice.to_dict()
        if self.harness is not None:
            out["harness"] = {**self.harness.to_dict(), "distortion_bound_s": self.bound_s}
        agreement = self.agreement()
        if agreement is not None:
            out["vs_simulation"] = agreement.to_dict()
        return out


def _check_count(name: str, value: Any, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise ConfigError(name, value, f"expected a whole number in [1, {limit}]")
    return value


def check_time_scale(value: Any) -> float | None:
    """A time scale: a finite number > 0, or "auto" (returned as None)."""
    if value == "auto":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError("time_scale", value, 'expected "auto" or a number > 0')
    if not math.isfinite(value) or value <= 0:
        raise ConfigError("time_scale", value, 'expected "auto" or a finite number > 0')
    return float(value)


#: Floor probes per transport before a run (one at a time; ~30 ms each at the probe scale).
FLOOR_PROBES = 6
#: Wall seconds a floor probe aims to take before the run (sets the probing scale).
_PROBE_WALL_S = 0.03


def probe_scale(policy: RetryPolicy, profile: NetworkProfile) -> float:
    """The scale floor probes run at before an automatic run: a probe of the ladder's first
    rung then takes about 30 ms, within [0.01, 1]."""
    nominal = float(success_duration(profile, policy.ladder[0], profile.rtt_median_s))
    return float(min(1.0, max(0.01, _PROBE_WALL_S / nominal)))


async def prepare_lab(
    lab: Any,
    policy: RetryPolicy,
    sessions: int,
    concurrency: int,
    *,
    time_scale: float | None,
    seed: int = 0,
    wall_budget_s: float = DEFAULT_WALL_BUDGET_S,
) -> RunPlan:
    """Measure the harness floor through a running :class:`~chatconn.lab.LabServer` (on
    this loop), plan the run (``time_scale`` None: choose the scale) and switch the lab to
    the run's scale. ``run_live`` calls it; the notebook's live view too."""
    profile = lab.profile
    floor = await measure_lab_floor(
        lab, profile, lab.time_scale, strategies=floor_strategies(policy.ladder),
        probes=FLOOR_PROBES,
    )  # fmt: skip
    plan = plan_run(
        policy, profile, sessions, concurrency, floor, manual=time_scale, seed=seed,
        wall_budget_s=wall_budget_s,
    )  # fmt: skip
    lab.set_time_scale(plan.scale)  # the scale chosen or given; outages count from now
    return plan


async def run_live(
    policy: RetryPolicy,
    sessions: int,
    *,
    concurrency: int = 50,
    seed: int = 0,
    time_scale: float | str = "auto",
    lab_profile: NetworkProfile | None = None,
    lab: Any = None,
    endpoint: Endpoint | None = None,
    token: TokenProvider | str | Secret | None = None,
    ca_file: str | None = None,
    profile: NetworkProfile | None = None,
    out: RunWriter | str | os.PathLike[str] | None = None,
    policy_name: str | None = None,
    metadata: dict[str, Any] | None = None,
    on_session: Callable[[int, ConnectionManager], Any] | None = None,
    wall_budget_s: float = DEFAULT_WALL_BUDGET_S,
    on_plan: Callable[[RunPlan], Any] | None = None,
    protocol: str = "chatconn",
    lab_process: bool = False,
) -> LiveRun:
    """Connect ``sessions`` times, at most ``concurrency`` at once; see the module doc.

    ``protocol="stream"`` with ``lab_profile``: the in-process lab speaks Stream Chat's API
    (:func:`chatconn.live.stream_run.run_stream_lab`); a real Stream deployment is an
    ``endpoint`` that is a :class:`~chatconn.endpoint.StreamEndpoint`.

    Exactly one target: ``lab_profile`` (start an in-process lab server playing it),
    ``lab`` (a :class:`~chatconn.lab.LabServer` you started, running on this loop; its
    profile is recorded and, with ``time_scale="auto"``, its scale is set) or ``endpoint``
    (a real server; pass ``token``). ``time_scale``: "auto" (the default; 1 for a real
    server) or a number, which gets a warning in :attr:`LiveRun.plan` when it lets the
    harness distort the times by more than 5 %; ``wall_budget_s``: what an automatic
    scale aims to finish in. With ``out`` (a RunWriter, or a path opened without
    overwriting), records the run as it happens; ``policy_name`` (default: the preset the
    policy equals, else "custom") and ``metadata`` (under ``extra``) go into its header and
    :attr:`LiveRun.header`. ``on_plan`` (lab runs) is called with the :class:`RunPlan`
    once the scale is chosen, before the first session (a view shows the scale and why
    while the run goes on). ``ca_file`` trusts a private CA for wss/https (verification is
    always on). ``profile``, with ``endpoint``: the conditions that endpoint plays — a lab
    server you started yourself at that ``time_scale`` — recorded in the header so the run
    has a simulated twin and a replay. ``lab_process`` (with ``lab_profile``): start the lab
    in a child process (:class:`~chatconn.lab.process.LabProcess`) rather than on this
    loop — its CPU then runs beside the clients' (``chatconn run --lab`` does).
    """
    if protocol == "stream" and lab_profile is not None:
        from .stream_run import run_stream_lab

        return await run_stream_lab(
            policy, sessions, lab_profile, concurrency=concurrency, seed=seed,
            time_scale=time_scale, out=out, policy_name=policy_name, metadata=metadata,
            on_session=on_session,
        )  # fmt: skip
    if protocol not in ("chatconn", "stream"):
        raise ConfigError("protocol", protocol, "expected 'chatconn' or 'stream'")
    sessions = _check_count("sessions", sessions, MAX_LIVE_SESSIONS)
    concurrency = _check_count("concurrency", concurrency, 10_000)
    if sum(target is not None for target in (lab_profile, lab, endpoint)) != 1:
        raise ConfigError("target", None, "give exactly one of lab_profile, lab and endpoint")
    if profile is not None and not isinstance(profile, NetworkProfile):
        raise ConfigError("profile", profile, "expected the NetworkProfile the endpoint plays")
    if profile is not None and endpoint is None:
        raise ConfigError("profile", profile.name, "give it with endpoint=, not with a lab")
    manual = check_time_scale(time_scale)
    policy_name = policy_name or policy_preset_name_of(policy) or "custom"
    if endpoint is not None and token is None:
        raise ConfigError("token", None, "a real server needs a token (or a token provider)")
    if endpoint is not None and manual is None and profile is not None:
        raise ConfigError(
            "time_scale", "auto", "a lab you started plays at its own scale: pass lab= to "
            "let the run choose it, or that scale as a number",
        )  # fmt: skip
    with quiet_heap():  # no full GC pass of this process's whole heap inside the timings
        if lab_profile is not None:
            from ..lab.server import LabServer  # the lab is optional for real-server runs

            start_scale = manual if manual is not None else probe_scale(policy, lab_profile)
            if lab_process:
                from ..lab.process import LabProcess

                own: Any = LabProcess(lab_profile, time_scale=start_scale, seed=seed)
            else:
                own = LabServer(lab_profile, time_scale=start_scale, seed=seed)
            async with own:
                return await _run_lab(
                    own, policy, sessions, concurrency, seed, manual, wall_budget_s, out,
                    policy_name, metadata, on_session, "lab", on_plan=on_plan,
                )  # fmt: skip
        if lab is not None:
            return await _run_lab(
                lab, policy, sessions, concurrency, seed, manual, wall_budget_s, out,
                policy_name, metadata, on_session, "lab (started by the caller)", on_plan=on_plan,
            )  # fmt: skip
        assert endpoint is not None and token is not None  # exactly one target, checked above
        scale = 1.0 if manual is None else manual
        tls = client_tls(None, ca_file)
        header = run_header(
            "live", policy=policy, target=profile, seed=seed, sessions=sessions,
            time_scale=scale, policy_name=policy_name, target_url=redact_url(endpoint.primary),
            extra={
                "concurrency": concurrency,
                "server": "real" if profile is None else "lab (started by the caller)",
                **(metadata or {}),
            },
        )  # fmt: skip
        return await _run(
            policy, sessions, concurrency, seed, scale, endpoint, token, header, out, on_session,
            tls, None, None,
        )  # fmt: skip


async def _run_lab(
    lab: Any,
    policy: RetryPolicy,
    sessions: int,
    concurrency: int,
    seed: int,
    manual: float | None,
    wall_budget_s: float,
    out: RunWriter | str | os.PathLike[str] | None,
    policy_name: str,
    metadata: dict[str, Any] | None,
    on_session: Callable[[int, ConnectionManager], Any] | None,
    server: str,
    *,
    on_plan: Callable[[RunPlan], Any] | None = None,
) -> LiveRun:
    plan = await prepare_lab(
        lab, policy, sessions, concurrency, time_scale=manual, seed=seed,
        wall_budget_s=wall_budget_s,
    )  # fmt: skip
    if on_plan is not None:
        on_plan(plan)
    header = run_header(
        "live", policy=policy, target=lab.profile, seed=seed, sessions=sessions,
        time_scale=plan.scale, policy_name=policy_name,
        target_url=redact_url(lab.endpoint.primary),
        harness={
            "floor": plan.floor.to_dict(),
            "time_scale": plan.choice.to_dict(),
            "attempts": plan.attempts,  # the attempt the bound is counted at
            **_floor_note(plan.floor),
        },
        extra={"concurrency": concurrency, "server": server, **(metadata or {})},
    )  # fmt: skip
    profile_free = plan.floor.source == SOURCE_BACKEND  # the profile let no probe through
    sampler = FloorSampler(
        lab.backend_endpoint if profile_free else lab.endpoint, lab.token, lab.profile,
        plan.scale, strategies=floor_strategies(policy.ladder), profile_free=profile_free,
    )  # fmt: skip
    # One keep-alive client for every session's token: a client and a TCP connect per
    # session would be CPU spent beside other sessions' attempts (harness, not network).
    async with httpx.AsyncClient(verify=default_tls(), timeout=None) as client:
        provider: TokenProvider | str = HttpTokenProvider(lab.endpoint.http_url, client=client)
        if lab.profile.token_endpoint is TokenEndpoint.STATIC:  # the profile's token setting
            provider = lab.token
        return await _run(
            policy, sessions, concurrency, seed, plan.scale, lab.endpoint, provider, header,
            out, on_session, None, plan, sampler,
        )  # fmt: skip


def _floor_note(floor: HarnessFloor) -> dict[str, str]:
    """The run header's word on a floor not measured through the profile (none when it was)."""
    if floor.source != SOURCE_BACKEND:
        return {}
    return {
        "floor_note": "the profile let no floor probe through the lab's proxies (an outage); "
        "the floor was probed on the same lab's backend ports, without the proxies' relaying"
    }


def _admission(plan: RunPlan | None) -> ConnectGate | None:
    """The attempts' admission for a lab run (:mod:`chatconn.live.gate`): a window of
    attempts in flight wide enough for twice what the harness can start (one per measured
    connect overhead) during the profile's median connect at the run's scale, and at least
    :data:`DEFAULT_LIMIT`. None for a real server: its clients are not the lab's to pace."""
    if plan is None:
        return None
    pace = max(plan.floor.connect_p50_s, 1e-4)
    reference = plan.choice.reference_s if math.isfinite(plan.choice.reference_s) else 0.0
    return ConnectGate(max(DEFAULT_LIMIT, math.ceil(2.0 * reference * plan.scale / pace)))


async def _run(
    policy: RetryPolicy,
    sessions: int,
    concurrency: int,
    seed: int,
    time_scale: float,
    endpoint: Endpoint,
    token: TokenProvider | str | Secret,
    header: dict[str, Any],
    out: RunWriter | str | os.PathLike[str] | None,
    on_session: Callable[[int, ConnectionManager], Any] | None,
    tls: ssl_module.SSLContext | None,
    plan: RunPlan | None,
    sampler: FloorSampler | None,
) -> LiveRun:
    unusable = endpoint.unusable()  # no rung left: an error before the run file is touched
    drop_rungs(policy, unusable, "; ".join(unusable.values()))
    connected = np.zeros(sessions, dtype=bool)
    ended = np.zeros(sessions)
    attempts = np.zeros(sessions, dtype=np.int16)
    strategy = np.full(sessions, -1, dtype=np.int8)
    last_error = np.zeros(sessions, dtype=np.int8)
    records: list[AttemptRecord] = []
    errors: dict[str, int] = {}
    gate = asyncio.Semaphore(concurrency)
    raise_open_files_limit()  # a socket per session (more behind a lab on this loop)
    admission = _admission(plan)
    tls = tls or default_tls()  # one CA bundle load for every session
    target = header["target_name"]
    header["started_at"] = now_iso()
    writer = out if isinstance(out, RunWriter) or out is None else RunWriter(out)
    if writer is not None:
        writer.write(header)
    # Sessions start at least one connect overhead apart: started together, their CPU
    # work would queue on this loop and read as network time.
    pace = plan.floor.connect_p50_s if plan is not None else 0.0
    loop = asyncio.get_running_loop()
    next_start = loop.time()

    write_failures: list[Exception] = []

    def record_attempt(event: Any) -> None:
        if writer is not None and isinstance(event, AttemptFinished) and event.record is not None:
            try:
                writer.write({"type": "attempt", **event.record.to_dict()})
            except Exception as exc:  # the event bus would swallow it: re-raised below
                write_failures.append(exc)

    async def one(i: int) -> None:
        nonlocal next_start
        async with gate:
            if pace > 0:
                now = loop.time()
                start_at, next_start = max(now, next_start), max(now, next_start) + pace
                if start_at > now:
                    await asyncio.sleep(start_at - now)
            manager = ConnectionManager(
                endpoint,
                token,
                policy=policy,
                rng=np.random.default_rng([seed, i]),
                time_scale=time_scale,
                session_tag=f"s{i}",
                ssl=tls,
                harness=plan.floor if plan is not None else None,
                gate=admission,
            )
            if writer is not None:
                manager.subscribe(record_attempt)
            if on_session is not None:
                on_session(i, manager)
            began = time.perf_counter()
            try:
                session = await manager.connect()
                connected[i] = True
                strategy[i] = session.strategy.code
            except LiveError as exc:
                kind = type(exc).__name__
                errors[kind] = errors.get(kind, 0) + 1
                last_error[i] = exc.category  # TOKEN when no attempt could start
            finally:
                # Time from the first attempt, as the simulator counts it (the token fetch
                # before it is not part of the policy's schedule).
                spent = manager.attempts_elapsed_s
                if spent is None:
                    spent = time.perf_counter() - began
                ended[i] = spent / time_scale
                await manager.close()
            attempts[i] = len(manager.records)
            failed = [r for r in manager.records if not r.connected]
            if failed and failed[-1].error_category:
                last_error[i] = failed[-1].error_category
            records.extend(manager.records)
            if write_failures:
                raise write_failures[0]
            if writer is not None:
                writer.write(
                    session_line(i, connected[i], ended[i], attempts[i], strategy[i], last_error[i])
                )

    began = time.perf_counter()
    harness: HarnessFloor | None = None
    try:
        try:  # a failure (say, the disk is full) stops every session, not only its own
            async with contextlib.AsyncExitStack() as stack:
                if sampler is not None:
                    await stack.enter_async_context(sampler)
                async with asyncio.TaskGroup() as group:
                    for i in range(sessions):
                        group.create_task(one(i))
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
        wall = time.perf_counter() - began
        during = sampler.floor() if sampler is not None else None
        if plan is not None:
            harness = plan.floor.merged(during) if during is not None else plan.floor
        if writer is not None:
            during_dict = {"during": during.to_dict()} if during is not None else None
            writer.write(end_line(sessions, wall, errors, harness=during_dict))
    finally:
        if writer is not None and writer is not out:  # opened here from a path
            writer.close()
    population = (
        None if header["target"] is None else as_population(target_from_dict(header["target"]))
    )
    result = SessionOutcomes(
        policy=policy,
        target=target,
        seed=seed,
        profile_names=(target,),
        connected=connected,
        ended_at=ended,
        attempts=attempts,
        strategy=strategy,
        last_error=last_error,
        profile=np.zeros(sessions, dtype=np.int8),
        elapsed_s=wall,
        population=population,
        kind="live",
    )
    return LiveRun(
        result=result, records=tuple(records), errors=errors, wall_s=wall, header=header,
        plan=plan, harness=harness,
    )  # fmt: skip
