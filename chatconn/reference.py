"""The scalar reference simulator: one session at a time, through the live planner.

Use it to check :func:`chatconn.simulate.simulate` (tests compare their distributions)
and as the benchmark's baseline. Each session draws its schedule with
:meth:`Schedule.draw` — exactly what the live manager does — and is driven by the same
:class:`ConnectPlanner`, with the attempt model standing in for the network. It is
slow by design (a plain Python loop); its streams differ from the vectorised simulator's,
so the two agree in distribution, not draw for draw.

Each session first fetches its token (:func:`chatconn.core.token_fetch.token_fetch`; its
time counts against the deadline, not in ``ended_at``). With ``policy.diagnostics.enabled``
each session then runs the probe model
(:func:`chatconn.core.diagnostics.diagnose`) and adapts its policy with the live
manager's own decision (:func:`chatconn.core.adapt.adapt_to_diagnosis`), redrawing its
schedule as the manager does; its first attempt starts when the probes end.
"""

from __future__ import annotations

import time

import numpy as np

from .core.adapt import adapt_to_diagnosis
from .core.diagnostics import diagnose
from .core.model import attempt_outcome, draw_conditions
from .core.planner import AttemptPlan, ConnectPlanner, GiveUp
from .core.policy import RetryPolicy
from .core.profiles import NetworkProfile
from .core.schedule import Schedule
from .core.strategies import ErrorCategory
from .core.token_fetch import TokenSettings, token_fetch
from .outcomes import SessionOutcomes
from .simulate import _check_seed, _check_sessions

__all__ = ["simulate_reference"]


def simulate_reference(
    policy: RetryPolicy, profile: NetworkProfile, sessions: int, seed: int = 0
) -> SessionOutcomes:
    """Simulate ``sessions`` connects one by one; same result type as ``simulate``."""
    sessions = _check_sessions(sessions)
    rng = np.random.default_rng(_check_seed(seed))
    began = time.perf_counter()
    connected = np.zeros(sessions, dtype=bool)
    ended = np.zeros(sessions)
    attempts = np.zeros(sessions, dtype=np.int16)
    strategy = np.full(sessions, -1, dtype=np.int8)
    last_error = np.zeros(sessions, dtype=np.int8)
    needs_loss = profile.loss > 0
    needs_fault = profile.stall_probability + profile.reset_probability > 0
    for i in range(sessions):
        schedule = Schedule.draw(policy, rng)
        conditions = draw_conditions(profile, rng)
        token = token_fetch(TokenSettings(), profile, conditions)
        fetched = float(token.ended[0])  # ended_at counts from here, the deadline from 0
        if not token.ok[0]:
            ended[i] = fetched
            last_error[i] = ErrorCategory.TOKEN
            continue
        first = fetched
        if policy.diagnostics.enabled:
            found = diagnose(
                policy.diagnostics, profile, conditions, lambda: rng.random(1), fetched
            )
            first = fetched + float(found.cost[0])
            latency = float(found.latency[0])
            adapted, _ = adapt_to_diagnosis(
                policy,
                latency_s=None if np.isnan(latency) else latency,
                http_ok=bool(found.http_ok[0]),
                websocket_ok=bool(found.websocket_ok[0]),
            )
            if adapted is not policy:
                schedule = Schedule.draw(adapted, rng)
        planner = ConnectPlanner(schedule)
        step: AttemptPlan | GiveUp = planner.first(first)
        if isinstance(step, GiveUp):  # the token and the probes took the whole deadline
            ended[i] = first - fetched
            last_error[i] = ErrorCategory.DEADLINE
        while isinstance(step, AttemptPlan):
            outcome = attempt_outcome(
                profile,
                step.strategy,
                step.start,
                step.timeout,
                conditions,
                rng.random(1) if needs_loss else None,
                rng.random(1) if needs_fault else None,
            )
            end = step.start + float(outcome.duration[0])
            attempts[i] = step.index + 1
            ended[i] = end - fetched
            if outcome.connected[0]:
                connected[i] = True
                strategy[i] = step.strategy.code
                break
            last_error[i] = outcome.error[0]
            step = planner.after_failure(step, end)
    return SessionOutcomes(
        policy=policy,
        target=profile.name,
        seed=seed,
        profile_names=(profile.name,),
        connected=connected,
        ended_at=ended,
        attempts=attempts,
        strategy=strategy,
        last_error=last_error,
        profile=np.zeros(sessions, dtype=np.int8),
        elapsed_s=time.perf_counter() - began,
    )
