"""Fit a NetworkProfile to observed sessions of a known policy: :func:`calibrate`.

Use it when you have timings — a live run against your server, records of real clients
turned into a result, or a simulation you want to read back — and want the profile that
explains them, so that simulations of *other* policies under that profile answer "what
if we changed the policy?" for your users.

How: the observations (per session: connected, time, attempts, strategy, last error) are
reduced to the statistics of :mod:`chatconn.calibrate.observed`; each fitted parameter
starts from a closed-form estimate (:mod:`chatconn.calibrate.parameters`); then a
Nelder–Mead search (:mod:`chatconn.calibrate.search`) minimises the distance between the
observations and ``sim_sessions`` simulated sessions of the same policy. Every candidate
is simulated with the same ``seed`` (common random numbers), so the distance moves in
tiny steps rather than jumping with simulation noise. Everything not fitted comes from
``base`` — pick the profile closest to your users: its ``auth_s``, ``sync_s``,
``bandwidth_kbps``, ``loss`` and ``reset_probability`` shape the times too.

A rough uncertainty comes from ``bootstrap`` short refits on resampled observations
(the spread is the standard deviation of the refitted values; None without refits).
Precision, one standard deviation: with 2,000 observed sessions about 1 % on the RTT median,
0.01 on its sigma and on the shares, 0.005 on the stall probability; with 60 live sessions
the shares are known to about 0.06 (see ``tests/test_calibrate.py`` and the README).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import ConfigError
from ..core.policy import RetryPolicy
from ..core.profiles import NetworkProfile, profile_preset
from ..outcomes import SessionOutcomes
from ..simulate import _check_seed, simulate
from .observed import OutcomeStats, distance, observations, outcome_stats
from .parameters import (
    FIT_PARAMETERS,
    candidate_profile,
    decode,
    encode,
    fit_names,
    search_steps,
    starting_values,
)
from .search import DEFAULT_MAX_EVALS, nelder_mead

__all__ = [
    "DEFAULT_BASE_PROFILE",
    "DEFAULT_BOOTSTRAP",
    "DEFAULT_SIM_SESSIONS",
    "Calibration",
    "FittedParameter",
    "calibrate",
]

#: Where unfitted fields come from when no base profile is given.
DEFAULT_BASE_PROFILE = "broadband"
#: Simulated sessions per candidate profile (about 5 ms each on a laptop core).
DEFAULT_SIM_SESSIONS = 20_000
#: Short refits on resampled observations for the rough uncertainty (0: none).
DEFAULT_BOOTSTRAP = 5
#: Evaluations allowed to each bootstrap refit (it starts at the fit).
BOOTSTRAP_MAX_EVALS = 50
MAX_SIM_SESSIONS = 1_000_000

_LABELS = {
    "rtt_median_s": "RTT median",
    "rtt_sigma": "RTT spread (lognormal sigma)",
    "stall_probability": "stalled attempts",
    "ws_blocked_share": "sessions with WebSocket blocked",
}


@dataclass(frozen=True, slots=True)
class FittedParameter:
    """One fitted profile field: the fit, its closed-form start, the base's value and a
    rough standard deviation from bootstrap refits (None without them)."""

    name: str
    value: float
    start: float
    base: float
    spread: float | None

    @property
    def label(self) -> str:
        """What the field means, for people."""
        return _LABELS[self.name]

    def text(self) -> str:
        """The value (and spread) in the field's unit: '0.251 s ± 0.004', '3.1 % ± 0.4'."""
        return _format(self.name, self.value, self.spread)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "start": self.start,
            "base": self.base,
            "spread": self.spread,
        }


@dataclass(frozen=True, slots=True, eq=False)
class Calibration:
    """A fitted profile and how well it explains the observations.

    ``profile`` is ``base`` with the fitted fields; ``parameters`` one entry per fitted
    field (:data:`~chatconn.calibrate.parameters.FIT_PARAMETERS` order). ``observed`` are
    the observed sessions (those that made at least one attempt), ``simulated`` the fitted
    profile simulated with ``seed``. ``ks`` is the KS distance of their times to connect
    (connected sessions); ``terms`` every term of the fit's distance (see
    :mod:`chatconn.calibrate.observed`) and their ``total``. ``description`` says it in a
    few plain sentences.
    """

    profile: NetworkProfile
    base: NetworkProfile
    policy: RetryPolicy
    parameters: tuple[FittedParameter, ...]
    ks: float
    terms: dict[str, float]
    observed_sessions: int
    dropped_sessions: int
    observed_success_rate: float
    fitted_success_rate: float
    observed: SessionOutcomes
    simulated: SessionOutcomes
    evaluations: int
    bootstrap: int
    seed: int
    description: str

    @property
    def values(self) -> dict[str, float]:
        """Fitted values by field name."""
        return {p.name: p.value for p in self.parameters}

    def parameter(self, name: str) -> FittedParameter:
        """The fitted parameter called ``name``; ConfigError if it was not fitted."""
        for p in self.parameters:
            if p.name == name:
                return p
        raise ConfigError("parameter", name, "not fitted; fitted: " + ", ".join(self.values))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the fitted profile, the parameters and the figures of merit."""
        return {
            "profile": self.profile.to_dict(),
            "base": self.base.name,
            "parameters": [p.to_dict() for p in self.parameters],
            "ks": self.ks,
            "terms": dict(self.terms),
            "observed_sessions": self.observed_sessions,
            "dropped_sessions": self.dropped_sessions,
            "observed_success_rate": self.observed_success_rate,
            "fitted_success_rate": self.fitted_success_rate,
            "evaluations": self.evaluations,
            "bootstrap": self.bootstrap,
            "seed": self.seed,
            "description": self.description,
        }


def _whole(name: str, value: Any, low: int, high: int) -> int:
    whole = not isinstance(value, bool) and isinstance(value, int | np.integer)
    if not whole or not low <= value <= high:
        raise ConfigError(name, value, f"expected a whole number in [{low}, {high}]")
    return int(value)


def _base_profile(base: Any) -> NetworkProfile:
    if isinstance(base, str):
        return profile_preset(base)
    if not isinstance(base, NetworkProfile):
        raise ConfigError("base", base, "expected a NetworkProfile or a profile name")
    return base


def _sessions(observed: Any) -> int:
    result = getattr(observed, "result", observed)
    return int(np.asarray(getattr(result, "connected", ())).size)


def calibrate(
    observed: Any,
    policy: RetryPolicy | None = None,
    *,
    base: NetworkProfile | str = DEFAULT_BASE_PROFILE,
    fit: Iterable[str] | str | None = None,
    seed: int = 0,
    sim_sessions: int = DEFAULT_SIM_SESSIONS,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    max_evals: int = DEFAULT_MAX_EVALS,
) -> Calibration:
    """Fit ``fit`` (default: every parameter the policy can reveal, see
    :func:`~chatconn.calibrate.parameters.fit_names`) of a profile to ``observed``.

    ``observed``: a SessionOutcomes or a LiveRun (anything with ``.result``); ``policy``:
    the policy that produced it (default: the one it carries). ``seed`` drives every
    simulation and the bootstrap resampling. Bad input raises :class:`ConfigError` naming
    it: no session, nothing connected, wrong types, unknown parameter names.
    """
    obs = observations(observed, policy)
    policy = obs.known_policy()  # observations() checked it is there
    base = _base_profile(base)
    names = fit_names(fit, policy)
    seed = _check_seed(seed)
    sim_sessions = _whole("sim_sessions", sim_sessions, 1_000, MAX_SIM_SESSIONS)
    bootstrap = _whole("bootstrap", bootstrap, 0, 1_000)
    max_evals = _whole("max_evals", max_evals, len(names) + 1, 100_000)
    attempts = policy.max_attempts

    def simulated_stats(x: np.ndarray) -> OutcomeStats:
        profile = candidate_profile(base, decode(x, names, base), searching=True)
        return outcome_stats(simulate(policy, profile, sim_sessions, seed), attempts)

    cache: dict[bytes, OutcomeStats] = {}

    def objective_for(stats: OutcomeStats) -> Callable[[np.ndarray], float]:
        def objective(x: np.ndarray) -> float:
            key = x.tobytes()
            if key not in cache:
                cache[key] = simulated_stats(x)
            return distance(stats, cache[key])["total"]

        return objective

    observed_stats = outcome_stats(obs, attempts)
    start = starting_values(obs, base, names)
    steps = search_steps(start, names)
    x0 = encode(start, names)
    found = nelder_mead(objective_for(observed_stats), x0, steps, max_evals=max_evals)
    values = decode(found.x, names, base)
    evaluations = found.evaluations

    spreads: dict[str, float | None] = {n: None for n in names}
    if bootstrap:
        rng = np.random.default_rng([seed, 1])
        refits = []
        n = obs.sessions
        for _ in range(bootstrap):
            index = rng.integers(0, n, n)
            stats = outcome_stats(_take(obs, index), attempts)
            refit = nelder_mead(
                objective_for(stats), found.x, steps / 2, max_evals=BOOTSTRAP_MAX_EVALS
            )
            evaluations += refit.evaluations
            refits.append(decode(refit.x, names, base))
        if bootstrap >= 2:
            spreads = {n: float(np.std([r[n] for r in refits], ddof=1)) for n in names}

    profile = candidate_profile(base, values).with_changes(
        name=f"{base.name} (fitted)",
        description=f"{base.description} Fitted to {obs.sessions:,} observed sessions.".strip(),
    )
    simulated = simulate(policy, profile, sim_sessions, seed)
    terms = distance(observed_stats, outcome_stats(simulated, attempts))
    parameters = tuple(
        FittedParameter(n, values[n], start[n], float(getattr(base, n)), spreads[n]) for n in names
    )
    observed_rate = float(obs.connected.mean())
    fitted_rate = float(simulated.connected.mean())
    dropped = _sessions(observed) - obs.sessions
    return Calibration(
        profile=profile,
        base=base,
        policy=policy,
        parameters=parameters,
        ks=terms["ks_time"],
        terms=terms,
        observed_sessions=obs.sessions,
        dropped_sessions=dropped,
        observed_success_rate=observed_rate,
        fitted_success_rate=fitted_rate,
        observed=obs,
        simulated=simulated,
        evaluations=evaluations,
        bootstrap=bootstrap,
        seed=seed,
        description=_describe(
            obs.sessions, dropped, base, parameters, terms["ks_time"], observed_rate, fitted_rate
        ),
    )


def _take(result: SessionOutcomes, index: np.ndarray) -> SessionOutcomes:
    """The sessions of ``result`` at ``index`` (a bootstrap resample)."""
    return SessionOutcomes(
        policy=result.policy,
        target=result.target,
        seed=result.seed,
        profile_names=result.profile_names,
        connected=result.connected[index],
        ended_at=result.ended_at[index],
        attempts=result.attempts[index],
        strategy=result.strategy[index],
        last_error=result.last_error[index],
        profile=result.profile[index],
        kind=result.kind,
    )


def _format(name: str, value: float, spread: float | None) -> str:
    if name == "rtt_median_s":
        text = f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
        if spread is not None:
            text += f" ± {spread * 1000:.0f} ms" if value < 1 else f" ± {spread:.2f} s"
        return text
    if name == "rtt_sigma":
        return f"{value:.2f}" + ("" if spread is None else f" ± {spread:.2f}")
    text = f"{value:.1%}"
    return text if spread is None else f"{text} ± {spread * 100:.1f} pp"


def _describe(
    sessions: int,
    dropped: int,
    base: NetworkProfile,
    parameters: tuple[FittedParameter, ...],
    ks: float,
    observed_rate: float,
    fitted_rate: float,
) -> str:
    fitted = "; ".join(f"{p.label} {p.text()}" for p in parameters)
    others = [n for n in FIT_PARAMETERS if n not in {p.name for p in parameters}]
    lines = [
        f"Fitted to {sessions:,} observed sessions"
        + (f" ({dropped:,} without any attempt left out)" if dropped else "")
        + f": {fitted}.",
        f"Everything else is the '{base.name}' profile's"
        + (f" (including {', '.join(others)})." if others else "."),
        f"Simulated with the fitted profile, the time to connect is within KS {ks:.3f} of "
        f"the observations; {observed_rate:.1%} connected observed, {fitted_rate:.1%} "
        "simulated.",
    ]
    if not math.isfinite(ks) or ks > 0.1:
        lines.append(
            "A KS distance above 0.1 means the profile does not explain the times well: "
            "check the base profile's auth, sync and bandwidth, fit more parameters, or look "
            "for time the client stack itself adds (timers, CPU), which no profile models."
        )
    return " ".join(lines)
