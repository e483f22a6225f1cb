"""Per-session outcomes of a run, simulated, live or observed: :class:`SessionOutcomes`.

The one result type the simulator returns, a live run and an observed run carry, and the
plots, reports, calibration and run files read. It imports only :mod:`chatconn.core`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .core.errors import ConfigError
from .core.policy import RetryPolicy
from .core.profiles import Population
from .core.quality import DEFAULT_THRESHOLDS, QualityThresholds, quality_counts
from .core.strategies import Strategy
from .orderstats import masked_chunks, masked_percentiles

__all__ = ["KINDS", "PERCENTILES", "SessionOutcomes"]

#: The percentiles of time to connect that :meth:`SessionOutcomes.summary` reports.
PERCENTILES = (50, 90, 95, 99)
#: Where outcomes come from: the simulator, live sessions, real clients observed.
KINDS = ("simulated", "live", "observed")


@dataclass(frozen=True, slots=True, eq=False)
class SessionOutcomes:
    """Per-session outcomes of one run, in session order, plus what produced them: a
    simulation (:func:`chatconn.simulate.simulate`, ``kind="simulated"``), a live run
    (:attr:`chatconn.live.LiveRun.result`, ``kind="live"``) or real clients observed through
    the proxy or imported from production timings (``kind="observed"``).
    Plots, reports, calibration and run files take any of them.

    ``ended_at`` is when a session connected or gave up (``time_to_connect`` is the same
    with NaN where it gave up); ``strategy`` is the :attr:`Strategy.code` that connected (-1 if
    none); ``last_error`` the :class:`ErrorCategory` of the last failed attempt (0 if none
    failed); ``profile`` indexes ``profile_names``. ``population`` is what was simulated
    (None when unknown, e.g. a live run against a real server): run files record it so a
    simulation can be replayed exactly.
    """

    #: None for observed clients whose policy is not known (a proxy's recording).
    policy: RetryPolicy | None
    target: str
    seed: int
    profile_names: tuple[str, ...]
    connected: np.ndarray
    ended_at: np.ndarray
    attempts: np.ndarray
    strategy: np.ndarray
    last_error: np.ndarray
    profile: np.ndarray
    elapsed_s: float = 0.0
    random_draws: dict[str, int] = field(default_factory=dict)
    population: Population | None = None
    #: "simulated", or "live" for the per-session results of a live run (never saved as a
    #: simulation: :func:`chatconn.runs.save_run` refuses).
    kind: str = "simulated"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError("kind", self.kind, "expected one of " + ", ".join(KINDS))

    def known_policy(self) -> RetryPolicy:
        """The policy that produced these outcomes; a ConfigError when it is not known
        (observed clients whose policy the recording does not say)."""
        if self.policy is None:
            raise ConfigError(
                "policy",
                None,
                f"the {self.kind} outcomes of {self.target} do not say which policy produced "
                "them: pass the policy (e.g. the preset `chatconn observe` says it behaves like)",
            )
        return self.policy

    @property
    def sessions(self) -> int:
        return int(self.connected.size)

    @property
    def time_to_connect(self) -> np.ndarray:
        """Seconds to connected per session, NaN where it did not connect (a new array)."""
        return np.where(self.connected, self.ended_at, np.nan)

    @property
    def still_trying(self) -> np.ndarray:
        """Sessions not connected after all ``max_attempts`` of a policy that
        ``retries_forever``: the library would keep going; the simulation stops following
        it there. Every other session that did not connect gave up (:attr:`gave_up`); an
        observed run (no known policy) has none still trying."""
        if self.policy is None or not self.policy.retries_forever:
            return np.zeros(self.sessions, dtype=bool)
        still: np.ndarray = ~self.connected & (self.attempts >= self.policy.max_attempts)
        return still

    @property
    def gave_up(self) -> np.ndarray:
        """Sessions that stopped by their policy's end (attempts or deadline)."""
        stopped: np.ndarray = ~self.connected & ~self.still_trying
        return stopped

    def summary(self, thresholds: QualityThresholds = DEFAULT_THRESHOLDS) -> dict[str, Any]:
        """The figures stakeholders ask for, JSON-ready (NaN-free: None when undefined)."""
        n = self.sessions
        ok = int(np.count_nonzero(self.connected))
        # Chunk by chunk (orderstats): no copy of every connected time, which at 10^7
        # sessions would nearly double the result's memory.
        quality = dict.fromkeys(quality_counts(np.empty(0), thresholds), 0)
        total = 0.0
        for times in masked_chunks(self.ended_at, self.connected):
            for label, count in quality_counts(times, thresholds).items():
                quality[label] += count
            total += float(times.sum())
        quality["critical"] += n - ok  # sessions that gave up or are still trying
        ttc: dict[str, float | None]
        if ok:
            qs = masked_percentiles(self.ended_at, self.connected, PERCENTILES, ok)
            ttc = {f"p{p}": q for p, q in zip(PERCENTILES, qs, strict=True)}
            ttc["mean"] = total / ok
        else:
            ttc = dict.fromkeys([*(f"p{p}" for p in PERCENTILES), "mean"])
        codes = [  # int8 compares: no int64 copy, as bincount would make
            np.count_nonzero((self.strategy == code) & self.connected)
            for code in range(len(Strategy))
        ]
        still_trying = int(np.count_nonzero(self.still_trying))
        return {
            "sessions": n,
            "success_rate": ok / n if n else None,
            "gave_up": n - ok - still_trying,
            "still_trying": still_trying,
            "time_to_connect_s": ttc,
            "attempts_mean": float(self.attempts.mean()) if n else None,
            "quality": quality,
            "strategy_share": {s.value: (int(codes[s.code]) / ok if ok else 0.0) for s in Strategy},
            "elapsed_s": self.elapsed_s,
            "sessions_per_s": n / self.elapsed_s if self.elapsed_s > 0 else None,
        }


def deprecated_simulation_result(module: str) -> type[SessionOutcomes]:
    """:class:`SessionOutcomes` under its old name ``SimulationResult``, with a
    DeprecationWarning (the module ``__getattr__`` of :mod:`chatconn` and
    :mod:`chatconn.simulate`)."""
    warnings.warn(
        f"{module}.SimulationResult is deprecated: it is chatconn.SessionOutcomes (simulated, "
        "live or observed outcomes, see its kind); import SessionOutcomes instead",
        DeprecationWarning,
        stacklevel=3,
    )
    return SessionOutcomes
