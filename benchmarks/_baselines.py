"""Baselines for bench_simulate.py: the simulator's model for one profile, one session at
a time, as a user would write it without chatconn — a plain Python loop, and tenacity
driving each session's retries.

Both follow :mod:`chatconn.core.model` and :mod:`chatconn.core.schedule` for a profile
without WebSocket blocking, blocked ports or outages (``broadband``): per session one
lognormal RTT; per attempt one uniform for SYN loss (penalty ``2**n - 1`` s) and one for a
stall or reset; a success takes ``ROUND_TRIPS x RTT + auth + sync + transfer``; a reset
fails after 2 RTT, a stall or anything slower than the timeout at the timeout; the wait
after a failure is the policy's jittered wait from the same formula (one uniform), and the
next attempt starts by :func:`~chatconn.core.schedule.next_start`. Python's ``random``
draws them (a Mersenne Twister, not numpy's streams): the same model, not the same
numbers, so :func:`check_same_model` compares success rates and medians with the
simulator's within sampling error.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from chatconn.core.model import MAX_SYN_RETRIES, ROUND_TRIPS, syn_loss_probability
from chatconn.core.policy import RetryPolicy
from chatconn.core.profiles import NetworkProfile
from chatconn.core.schedule import jittered_wait, next_start, nominal_timeouts, nominal_waits


class _Model:
    """The per-attempt constants of one policy and profile, as plain floats."""

    def __init__(self, policy: RetryPolicy, profile: NetworkProfile) -> None:
        if profile.ws_blocked_share or profile.blocked_ports_share or profile.outages:
            raise ValueError("the baselines cover profiles without blocking or outages")
        if policy.deadline is not None or policy.timeout_spans_backoff:
            raise ValueError("the baselines cover policies without deadline or spanning")
        self.policy, self.profile = policy, profile
        self.mu, self.sigma = math.log(profile.rtt_median_s), profile.rtt_sigma
        self.extra = profile.auth_s + profile.sync_s + profile.transfer_s
        self.trips = [ROUND_TRIPS[policy.strategy_for(k)] for k in range(policy.max_attempts)]
        self.timeouts = [float(t) for t in nominal_timeouts(policy)]
        self.nominal = [float(w) for w in nominal_waits(policy)]
        self.q = syn_loss_probability(profile)
        self.log_q = math.log(self.q) if 0 < self.q < 1 else 0.0
        self.stall, self.reset = profile.stall_probability, profile.reset_probability

    def attempt(self, k: int, rtt: float, rand: Callable[[], float]) -> tuple[bool, float]:
        """(connected, seconds) of attempt ``k`` for a session at ``rtt``."""
        duration = rtt * self.trips[k] + self.extra
        u = rand()
        if u < self.q:
            losses = min(math.floor(math.log(max(u, 1e-300)) / self.log_q), MAX_SYN_RETRIES)
            duration += 2.0**losses - 1.0
        u = rand()
        if u < self.stall:
            return False, self.timeouts[k]
        if u < self.stall + self.reset:
            duration = 2.0 * rtt
            return False, min(duration, self.timeouts[k])
        if duration > self.timeouts[k]:
            return False, self.timeouts[k]
        return True, duration

    def wait(self, k: int, rand: Callable[[], float], previous: float) -> float:
        return float(jittered_wait(self.policy, k, self.nominal[k], rand(), previous))


def plain_loop(policy: RetryPolicy, profile: NetworkProfile, sessions: int, seed: int) -> list:
    """Seconds to connected per session (None: gave up), one session after another."""
    model = _Model(policy, profile)
    rng = random.Random(seed)
    rand, lognormvariate = rng.random, rng.lognormvariate
    last = policy.max_attempts - 1
    out: list[float | None] = []
    for _ in range(sessions):
        rtt = lognormvariate(model.mu, model.sigma)
        start, previous, result = 0.0, policy.initial_delay, None
        for k in range(policy.max_attempts):
            ok, took = model.attempt(k, rtt, rand)
            if ok:
                result = start + took
                break
            if k == last:
                break
            previous = model.wait(k, rand, previous)
            start = float(next_start(policy, start, start + took, previous))
        out.append(result)
    return out


def tenacity_loop(policy: RetryPolicy, profile: NetworkProfile, sessions: int, seed: int) -> list:
    """The same sessions with tenacity driving each one's retries: ``stop_after_attempt``,
    a wait strategy returning the policy's jittered wait, and a ``sleep`` that advances a
    virtual clock instead of sleeping (tenacity's injectable sleep, as its tests do)."""
    import tenacity

    model = _Model(policy, profile)
    rng = random.Random(seed)
    rand = rng.random
    out: list[float | None] = []

    class Failed(Exception):
        pass

    for _ in range(sessions):
        rtt = rng.lognormvariate(model.mu, model.sigma)
        clock = {"start": 0.0, "end": 0.0, "previous": policy.initial_delay, "k": 0}

        def wait(state: tenacity.RetryCallState, clock=clock) -> float:
            k = state.attempt_number - 1
            clock["previous"] = model.wait(k, rand, clock["previous"])
            return clock["previous"]

        def sleep(seconds: float, clock=clock) -> None:
            clock["start"] = float(next_start(policy, clock["start"], clock["end"], seconds))

        def attempt(clock=clock, rtt=rtt) -> float:
            k = clock["k"]
            clock["k"] = k + 1
            ok, took = model.attempt(k, rtt, rand)
            clock["end"] = clock["start"] + took
            if not ok:
                raise Failed
            return clock["end"]

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(policy.max_attempts),
            wait=wait,
            sleep=sleep,
            retry=tenacity.retry_if_exception_type(Failed),
            reraise=True,
        )
        try:
            out.append(retrying(attempt))
        except Failed:
            out.append(None)
    return out


def summary(times: list) -> tuple[float, float]:
    """(success rate, median time to connect) of a baseline's output."""
    ok = sorted(t for t in times if t is not None)
    return len(ok) / len(times), ok[len(ok) // 2] if ok else math.nan


def check_same_model(times: list, rate: float, median: float) -> bool:
    """The baseline's success rate within 4 standard errors of ``rate`` and its median
    within 4 standard errors of ``median`` (the simulator's, over many more sessions): the
    median's standard error in log space is sqrt(pi/2) * sd(log t) / sqrt(n)."""
    n = len(times)
    got_rate, got_median = summary(times)
    se = math.sqrt(max(rate * (1 - rate), 1e-12) / n)
    logs = [math.log(t) for t in times if t is not None and t > 0]
    if len(logs) < 2 or not math.isfinite(got_median):
        return False
    mean = sum(logs) / len(logs)
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))
    log_se = math.sqrt(math.pi / 2) * sd / math.sqrt(len(logs))
    return (
        abs(got_rate - rate) <= 4 * se + 1.0 / n
        and abs(math.log(got_median / median)) <= 4 * log_se + 1e-3
    )
