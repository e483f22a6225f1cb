"""Live runs: N sessions connecting concurrently, summarised like a simulation.

Use :func:`run_live` (or ``chatconn run``) to measure a policy for real: against the lab
server under a profile (``lab_profile=...``) or against a real server (``endpoint=...``).
Each session is a :class:`ConnectionManager` with its own seeded generator; the summary is
the simulator's (:meth:`SimulationResult.summary`), with times in *profile time*
(measured wall time divided by ``time_scale``) so it compares with ``chatconn simulate``.
Per-attempt records keep the wall times and the scale. With ``out`` (a
:class:`chatconn.runs.RunWriter` or a path), the run is recorded as it happens: each
attempt's line when the attempt ends, each session's outcome when it ends (see
:mod:`chatconn.runs.format`).
"""

from __future__ import annotations

import asyncio
import math
import os
import ssl as ssl_module
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.errors import ConfigError
from ..core.policy import RetryPolicy
from ..core.presets import policy_preset_name_of
from ..core.profiles import NetworkProfile, as_population, target_from_dict
from ..core.strategies import Strategy
from ..runs.format import end_line, now_iso, run_header, session_line
from ..runs.writer import RunWriter
from ..simulate import SimulationResult
from .errors import LiveError
from .events import AttemptFinished
from .manager import ConnectionManager
from .records import AttemptRecord
from .session import Endpoint, redact_url
from .tls import client_tls, default_tls
from .tokens import HttpTokenProvider, Secret, TokenProvider

__all__ = ["LiveRun", "run_live"]

MAX_LIVE_SESSIONS = 100_000


@dataclass(frozen=True, slots=True, eq=False)
class LiveRun:
    """A finished live run: per-session results, every attempt record, and the setup.

    ``header`` is the run file header describing it (policy, profile, seed, scale,
    versions, redacted target URL): :func:`chatconn.runs.save_run` writes it as is.
    """

    result: SimulationResult
    records: tuple[AttemptRecord, ...]
    errors: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    header: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        out = self.result.summary()
        counts = {s.value: 0 for s in Strategy}
        for code in self.result.strategy[self.result.connected]:
            counts[Strategy.from_code(int(code)).value] += 1
        out["strategy_counts"] = counts
        out["failure_kinds"] = dict(self.errors)
        out["wall_s"] = self.wall_s
        return out


def _check_count(name: str, value: Any, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise ConfigError(name, value, f"expected a whole number in [1, {limit}]")
    return value


async def run_live(
    policy: RetryPolicy,
    sessions: int,
    *,
    concurrency: int = 50,
    seed: int = 0,
    time_scale: float = 1.0,
    lab_profile: NetworkProfile | None = None,
    endpoint: Endpoint | None = None,
    token: TokenProvider | str | Secret | None = None,
    ca_file: str | None = None,
    profile: NetworkProfile | None = None,
    out: RunWriter | str | os.PathLike[str] | None = None,
    policy_name: str | None = None,
    metadata: dict[str, Any] | None = None,
    on_session: Callable[[int, ConnectionManager], Any] | None = None,
) -> LiveRun:
    """Connect ``sessions`` times, at most ``concurrency`` at once; see the module doc.

    Exactly one of ``lab_profile`` (start an in-process lab server with that profile and
    the same ``time_scale``) and ``endpoint`` (a real server; pass ``token``) is required.
    With ``out`` (a RunWriter, or a path opened without overwriting), records the run as
    it happens; ``policy_name`` (default: the preset the policy equals, else "custom") and
    ``metadata`` (under ``extra``) go into its header and :attr:`LiveRun.header`.
    ``ca_file`` trusts a private CA for wss/https (verification is always on).
    ``profile``, with ``endpoint``: the conditions that endpoint plays — a lab server you
    started yourself — recorded in the header so the run has a simulated twin and a replay.
    """
    sessions = _check_count("sessions", sessions, MAX_LIVE_SESSIONS)
    concurrency = _check_count("concurrency", concurrency, 10_000)
    if (lab_profile is None) == (endpoint is None):
        raise ConfigError("target", None, "give exactly one of lab_profile and endpoint")
    if profile is not None and not isinstance(profile, NetworkProfile):
        raise ConfigError("profile", profile, "expected the NetworkProfile the endpoint plays")
    if profile is not None and lab_profile is not None:
        raise ConfigError("profile", profile.name, "give it with endpoint=, not with lab_profile=")
    if isinstance(time_scale, bool) or not isinstance(time_scale, int | float):
        raise ConfigError("time_scale", time_scale, "expected a number > 0")
    if not math.isfinite(time_scale) or time_scale <= 0:
        raise ConfigError("time_scale", time_scale, "expected a finite number > 0")
    policy_name = policy_name or policy_preset_name_of(policy) or "custom"
    if lab_profile is not None:
        from ..lab.server import LabServer  # the lab is optional for real-server runs

        async with LabServer(lab_profile, time_scale=time_scale, seed=seed) as lab:
            provider = HttpTokenProvider(lab.endpoint.http_url)
            header = run_header(
                "live", policy=policy, target=lab_profile, seed=seed, sessions=sessions,
                time_scale=time_scale, policy_name=policy_name,
                target_url=redact_url(lab.endpoint.primary),
                extra={"concurrency": concurrency, "server": "lab", **(metadata or {})},
            )  # fmt: skip
            return await _run(
                policy, sessions, concurrency, seed, time_scale, lab.endpoint, provider,
                header, out, on_session, None,
            )  # fmt: skip
    if token is None:
        raise ConfigError("token", None, "a real server needs a token (or a token provider)")
    tls = client_tls(None, ca_file)
    header = run_header(
        "live", policy=policy, target=profile, seed=seed, sessions=sessions,
        time_scale=time_scale, policy_name=policy_name, target_url=redact_url(endpoint.primary),
        extra={
            "concurrency": concurrency,
            "server": "real" if profile is None else "lab (started by the caller)",
            **(metadata or {}),
        },
    )  # fmt: skip
    return await _run(
        policy, sessions, concurrency, seed, time_scale, endpoint, token,
        header, out, on_session, tls,
    )  # fmt: skip


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
) -> LiveRun:
    connected = np.zeros(sessions, dtype=bool)
    ended = np.zeros(sessions)
    attempts = np.zeros(sessions, dtype=np.int16)
    strategy = np.full(sessions, -1, dtype=np.int8)
    last_error = np.zeros(sessions, dtype=np.int8)
    records: list[AttemptRecord] = []
    errors: dict[str, int] = {}
    gate = asyncio.Semaphore(concurrency)
    tls = tls or default_tls()  # one CA bundle load for every session
    target = header["target_name"]
    header["started_at"] = now_iso()
    writer = out if isinstance(out, RunWriter) or out is None else RunWriter(out)
    if writer is not None:
        writer.write(header)

    write_failures: list[Exception] = []

    def record_attempt(event: Any) -> None:
        if isinstance(event, AttemptFinished) and event.record is not None:
            try:
                writer.write({"type": "attempt", **event.record.to_dict()})
            except Exception as exc:  # the event bus would swallow it: re-raised below
                write_failures.append(exc)

    async def one(i: int) -> None:
        async with gate:
            manager = ConnectionManager(
                endpoint,
                token,
                policy=policy,
                rng=np.random.default_rng([seed, i]),
                time_scale=time_scale,
                session_tag=f"s{i}",
                ssl=tls,
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
    try:
        try:  # a failure (say, the disk is full) stops every session, not only its own
            async with asyncio.TaskGroup() as group:
                for i in range(sessions):
                    group.create_task(one(i))
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
        wall = time.perf_counter() - began
        if writer is not None:
            writer.write(end_line(sessions, wall, errors))
    finally:
        if writer is not None and writer is not out:  # opened here from a path
            writer.close()
    population = (
        None if header["target"] is None else as_population(target_from_dict(header["target"]))
    )
    result = SimulationResult(
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
    return LiveRun(result=result, records=tuple(records), errors=errors, wall_s=wall, header=header)
