"""Monte Carlo over many connect sessions: a policy against a profile or a population.

Use :func:`simulate` to answer "with this policy, how long do our users wait to connect,
and how many never do?". It runs the policy's schedule (:mod:`chatconn.core.schedule`)
through the attempt model (:mod:`chatconn.core.model`) for every session, vectorised over
sessions: at attempt k only the sessions still trying draw random numbers ("survivors"),
chunk by chunk so memory stays bounded. Results are exactly reproducible: the same seed
gives identical arrays whatever ``chunk_sessions`` (see :mod:`chatconn.streams`).
:func:`chatconn.reference.simulate_reference` is the same model driven session by
session through the live manager's planner; tests hold the two equal in distribution.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np

from .core.diagnostics import adapted_base_timeout, adapted_timeouts, diagnose, skipped_ladder
from .core.errors import ConfigError
from .core.model import SessionConditions, attempt_outcome, syn_loss_probability
from .core.policy import JitterMode, RetryPolicy
from .core.profiles import NetworkProfile, Population, as_population
from .core.schedule import (
    attempt_timeout,
    jitter_mode_for,
    jittered_wait,
    next_start,
    nominal_timeouts,
    nominal_waits,
    spans_backoff,
    within_deadline,
)
from .core.strategies import ErrorCategory
from .core.token_fetch import TokenSettings, needs_token_model, token_fetch
from .outcomes import SessionOutcomes, deprecated_simulation_result
from .streams import BLOCK_SESSIONS, BlockStreams, Scratch

log = logging.getLogger(__name__)  # chatconn.simulate: one DEBUG line per simulation

__all__ = ["DEFAULT_CHUNK_SESSIONS", "SessionOutcomes", "simulate"]


def __getattr__(name: str) -> Any:
    """``SimulationResult``: the old name of :class:`SessionOutcomes`, deprecated."""
    if name == "SimulationResult":
        return deprecated_simulation_result(__name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Sessions simulated at once: 2**18 keeps every per-session array at 2 MB or less.
DEFAULT_CHUNK_SESSIONS = 4 * BLOCK_SESSIONS
MAX_SESSIONS = 10**8  # results take 14 bytes per session


def _check_sessions(sessions: Any) -> int:
    if isinstance(sessions, bool) or not isinstance(sessions, int | np.integer):
        raise ConfigError("sessions", sessions, f"expected a whole number in [1, {MAX_SESSIONS}]")
    if not 1 <= sessions <= MAX_SESSIONS:
        raise ConfigError("sessions", sessions, f"expected a whole number in [1, {MAX_SESSIONS}]")
    return int(sessions)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError("seed", seed, "expected a whole number >= 0")
    return int(seed)


def simulate(
    policy: RetryPolicy,
    target: NetworkProfile | Population,
    sessions: int,
    seed: int = 0,
    *,
    chunk_sessions: int = DEFAULT_CHUNK_SESSIONS,
) -> SessionOutcomes:
    """Simulate ``sessions`` connects of ``policy`` under a profile or population.

    A population's sessions are split between its profiles by share (largest remainder,
    in component order), each component with its own random streams. ``chunk_sessions``
    bounds memory (about 60 bytes per session of a chunk) and must be a multiple of
    :data:`~chatconn.streams.BLOCK_SESSIONS`; it never changes the result.
    """
    if not isinstance(policy, RetryPolicy):
        raise ConfigError("policy", policy, "expected a RetryPolicy")
    sessions = _check_sessions(sessions)
    seed = _check_seed(seed)
    if (
        isinstance(chunk_sessions, bool)
        or not isinstance(chunk_sessions, int)
        or chunk_sessions <= 0
        or chunk_sessions % BLOCK_SESSIONS
    ):
        raise ConfigError(
            "chunk_sessions", chunk_sessions, f"expected a positive multiple of {BLOCK_SESSIONS}"
        )
    population = as_population(target)
    began = time.perf_counter()
    out = _Arrays(sessions)
    draws = {"uniform": 0, "lognormal": 0}
    scratch = Scratch(min(chunk_sessions, sessions))
    offset = 0
    for component, (profile, count) in enumerate(
        zip(population.profiles, population.split(sessions), strict=True)
    ):
        for first in range(0, count, chunk_sessions):
            n = min(chunk_sessions, count - first)
            streams = BlockStreams(seed, component, first, n, scratch)
            lo = offset + first
            if policy.diagnostics.enabled or needs_token_model(policy, profile):
                _simulate_prephased_chunk(policy, profile, streams, out.view(lo, lo + n))
            else:
                _simulate_chunk(policy, profile, streams, out.view(lo, lo + n))
            out.profile[lo : lo + n] = component
            draws["uniform"] += streams.draws
            draws["lognormal"] += n if profile.rtt_sigma > 0 else 0
        offset += count
    elapsed = time.perf_counter() - began
    log.debug("simulated %d sessions on %s (seed %d) in %.3fs", sessions, population.name,
              seed, elapsed)  # fmt: skip
    arrays = out.fields()
    return SessionOutcomes(
        policy=policy,
        target=population.name,
        seed=seed,
        profile_names=tuple(p.name for p in population.profiles),
        elapsed_s=elapsed,
        random_draws=draws,
        population=population,
        connected=arrays["connected"],
        ended_at=arrays["ended_at"],
        attempts=arrays["attempts"],
        strategy=arrays["strategy"],
        last_error=arrays["last_error"],
        profile=arrays["profile"],
    )


class _Arrays:
    """The result arrays, filled chunk by chunk."""

    def __init__(self, n: int) -> None:
        self.connected = np.zeros(n, dtype=bool)
        self.ended_at = np.zeros(n)
        self.attempts = np.zeros(n, dtype=np.int16)
        self.strategy = np.full(n, -1, dtype=np.int8)
        self.last_error = np.zeros(n, dtype=np.int8)
        self.profile = np.zeros(n, dtype=np.int8)

    def view(self, lo: int, hi: int) -> _Arrays:
        view = object.__new__(_Arrays)
        for name, array in vars(self).items():
            setattr(view, name, array[lo:hi])
        return view

    def fields(self) -> dict[str, np.ndarray]:
        return dict(vars(self))


def _draw_conditions(profile: NetworkProfile, streams: BlockStreams, n: int) -> SessionConditions:
    """Per-session conditions for a chunk: the array twin of ``model.draw_conditions``."""
    if profile.rtt_sigma > 0:
        rtt = streams.lognormal(math.log(profile.rtt_median_s), profile.rtt_sigma)
    else:
        rtt = np.full(n, profile.rtt_median_s)
    proxy: bool | np.ndarray = profile.ws_blocked_share >= 1.0
    if 0.0 < profile.ws_blocked_share < 1.0:
        proxy = streams.random() < profile.ws_blocked_share
    ports: bool | np.ndarray = profile.blocked_ports_share >= 1.0
    if 0.0 < profile.blocked_ports_share < 1.0:
        ports = streams.random() < profile.blocked_ports_share
    return SessionConditions(rtt, proxy, ports)


#: Rare events (probability at most this) are drawn sparsely: how many, then which
#: (:meth:`BlockStreams.below`); likelier ones get one uniform per session, which is then
#: cheaper. chatconn's own threshold.
SPARSE_BELOW = 0.05


def _draws(streams: BlockStreams, p: float, alive: np.ndarray | None) -> Any:
    """The uniforms a rule of probability ``p`` needs for the sessions ``alive``."""
    return streams.below(p, alive) if p <= SPARSE_BELOW else streams.random(alive)


# ---- pre-phase (issue 14): token fetch and diagnostics, chatconn.core.token_fetch/diagnostics
def _simulate_prephased_chunk(
    policy: RetryPolicy, profile: NetworkProfile, streams: BlockStreams, out: _Arrays
) -> None:
    """A chunk whose sessions fetch a token and (if on) run the diagnostics first, as the
    live manager does.

    The token fetch (:func:`~chatconn.core.token_fetch.token_fetch`) ends a session with
    ``ErrorCategory.TOKEN`` when it fails; its time counts against the deadline but not in
    ``ended_at``, which counts from the diagnostics (or the first attempt), as a live run
    measures it. Each session then pays :func:`~chatconn.core.diagnostics.diagnose`'s cost
    and runs the policy adapted to what its probes found: the firewall-suspected sessions
    without the skipped rungs, every session with its base timeout grown to
    ``rtt_factor`` x its measured RTT when that is longer.
    """
    n = out.connected.size
    settings = policy.diagnostics
    conditions = _draw_conditions(profile, streams, n)
    token = token_fetch(TokenSettings(), profile, conditions)
    began = token.ended  # the diagnostics (or the first attempt) start here
    firewall = np.zeros(n, dtype=bool)
    base: float | np.ndarray = policy.base_timeout
    first = began
    if settings.enabled:
        diagnosis = diagnose(settings, profile, conditions, lambda: streams.random(), began)
        firewall = diagnosis.firewall & token.ok
        base = adapted_base_timeout(
            policy.base_timeout, policy.max_timeout, settings.rtt_factor, diagnosis.latency
        )
        first = began + diagnosis.cost
    no_token = ~token.ok
    out.ended_at[no_token] = token.ended[no_token]  # a live run counts the fetch here
    out.last_error[no_token] = ErrorCategory.TOKEN
    late = ~within_deadline(policy, first) & token.ok  # the probes took the whole deadline
    out.ended_at[late] = (first - began)[late]
    out.last_error[late] = ErrorCategory.DEADLINE
    kept = skipped_ladder(policy.ladder, settings)
    for suspected in (False, True):
        runs = (firewall == suspected) & token.ok & ~late
        adapted = policy.with_changes(ladder=kept) if suspected and kept else policy
        if runs.all() and not (isinstance(base, np.ndarray) and np.any(base > policy.base_timeout)):
            _simulate_chunk(adapted, profile, streams, out, conditions=conditions, start=first)
            out.ended_at -= began  # every session, on whole arrays (the common case)
            return
        group = np.flatnonzero(runs)
        if group.size == 0:
            continue
        per_session = None
        if isinstance(base, np.ndarray) and np.any(base[group] > policy.base_timeout):
            per_session = np.empty((n, policy.max_attempts))
            per_session[group] = adapted_timeouts(adapted, base[group])
        _simulate_chunk(
            adapted, profile, streams, out,
            conditions=conditions, group=group, start=first[group],
            per_session_timeouts=per_session,
        )  # fmt: skip
        out.ended_at[group] -= began[group]


# ---- end of the pre-phase ---------------------------------------------------------------


def _simulate_chunk(
    policy: RetryPolicy,
    profile: NetworkProfile,
    streams: BlockStreams,
    out: _Arrays,
    *,
    conditions: SessionConditions | None = None,
    group: np.ndarray | None = None,
    start: Any = 0.0,  # a float or one per session in group (Any: see previous below)
    per_session_timeouts: np.ndarray | None = None,
) -> None:
    """Run every session of a chunk to connected or given up, filling ``out`` in place.

    Attempt 0 involves every session and works on whole arrays; later attempts work on
    the sorted positions of the sessions still trying (few, on most profiles). The
    diagnostics pre-phase passes the chunk's ``conditions``, a ``group`` of sorted
    positions to run (the others are left alone), their first attempts' ``start`` and
    optionally a (chunk sessions, attempts) table of adapted timeouts.
    """
    n = out.connected.size
    if conditions is None:
        conditions = _draw_conditions(profile, streams, n)
    needs_loss = profile.loss > 0
    needs_fault = profile.stall_probability + profile.reset_probability > 0
    q_loss = syn_loss_probability(profile)
    p_fault = profile.stall_probability + profile.reset_probability
    decorrelated = JitterMode.DECORRELATED in (policy.jitter_mode, jitter_mode_for(policy, 0))
    timeouts = nominal_timeouts(policy)
    nominal = nominal_waits(policy)
    last = policy.max_attempts - 1

    alive: np.ndarray | None = group  # None = every session of the chunk (attempt 0)
    # Any: the schedule's functions broadcast a float against arrays, which their
    # float-or-array type variable cannot say. previous is a float, or one value per session
    # when decorrelated jitter chains the waits (start, likewise: the first attempts' start,
    # then one value per surviving session).
    previous: Any = policy.initial_delay
    if decorrelated:
        previous = np.full(n, policy.initial_delay)
    for k in range(policy.max_attempts):
        strategy = policy.strategy_for(k)
        here = conditions if alive is None else conditions.take(alive)
        wait_after = None
        timeout: float | np.ndarray = timeouts[k]
        if per_session_timeouts is not None:
            timeout = per_session_timeouts[slice(None) if alive is None else alive, k]
        if policy.timeout_spans_backoff:
            # gRPC knows the next backoff deadline before the attempt starts.
            prev = previous if alive is None or not decorrelated else previous[alive]
            wait_after = jittered_wait(policy, k, nominal[k], streams.random(alive), prev)
            timeout = spans_backoff(policy, timeout, wait_after)
        timeout = attempt_timeout(policy, start, timeout)
        outcome = attempt_outcome(
            profile,
            strategy,
            start,
            timeout,
            here,
            _draws(streams, q_loss, alive) if needs_loss else None,
            _draws(streams, p_fault, alive) if needs_fault else None,
            out.ended_at if alive is None else None,  # attempt 0: straight into the result
        )
        end = outcome.duration
        if alive is not None or isinstance(start, np.ndarray):  # else attempt 0 starts at 0
            end += start
        failed = np.flatnonzero(outcome.error)  # a failed attempt has an error category
        if alive is None:
            out.connected[:] = outcome.connected
            out.attempts[:] = 1
            out.strategy[:] = strategy.code
            out.strategy[failed] = -1
            lost = failed
        else:
            won = alive[outcome.connected]
            out.connected[won] = True
            out.ended_at[alive] = end
            out.attempts[alive] = k + 1
            out.strategy[won] = strategy.code
            lost = alive[failed]
        out.last_error[lost] = outcome.error[failed]
        if k == last or lost.size == 0:
            return
        if wait_after is None:
            prev = previous[lost] if decorrelated else previous
            wait = jittered_wait(policy, k, nominal[k], streams.random(lost), prev)
        else:
            wait = wait_after[failed]
        prev_start = start[failed] if isinstance(start, np.ndarray) else start
        begin = next_start(policy, prev_start, end[failed], wait)
        if policy.deadline is not None:
            keep = within_deadline(policy, begin)
            lost, begin, wait = lost[keep], begin[keep], wait[keep]
        alive, start = lost, begin
        if decorrelated:
            previous[alive] = wait
