"""Does a live run agree with its simulated twin? A verdict people can read.

Use :func:`compare` wherever live and simulated times meet (the overlay's subtitle, notebook
02, ``chatconn run``'s summary, the report's findings). It compares medians, 90th
percentiles and success rates side by side, and decides from the sample sizes and the
run's recorded *distortion bound* (:meth:`chatconn.core.harness.HarnessFloor.bound_s`:
profile seconds the local harness can add to a connect), never from a fixed threshold:

- each percentile gets a distribution-free confidence interval from order statistics
  (exact binomial ranks around ``q·n``, two-sided at level ``alpha``), so 40 live sessions get
  a wide interval and 20,000 simulated ones a narrow one;
- live *agrees* at a percentile when its interval, minus the twin's, reaches into
  ``[0, bound_s]``: what sampling and the harness (which can only add time) can explain;
- success rates are compared by a two-sided two-proportion z-test at ``alpha``;
- a run whose bound exceeds 20 % of the simulated median (:data:`INCONCLUSIVE_SHARE`) is
  "inconclusive" rather than "agrees": anything would agree with a bound that wide.

The KS distance is kept as a detail (:attr:`Agreement.ks`), not as the headline: with
hundreds of sessions it flags differences of a few milliseconds that nobody would act on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from .core.errors import ConfigError
from .core.harness import DEFAULT_TOLERANCE

__all__ = [
    "DEFAULT_ALPHA",
    "INCONCLUSIVE_SHARE",
    "Agreement",
    "PercentileCheck",
    "compare",
    "ks_sorted",
    "proportions_differ",
]

#: A bound wider than this share of the simulated median makes the verdict "inconclusive":
#: four times the 5 % an automatic time scale aims for (chatconn's choice).
INCONCLUSIVE_SHARE = 4 * DEFAULT_TOLERANCE
#: Significance level of every comparison (two-sided; each percentile interval too).
DEFAULT_ALPHA = 0.01


def proportions_differ(p1: float, n1: int, p2: float, n2: int, alpha: float = 0.01) -> bool:
    """Whether success shares ``p1`` of ``n1`` and ``p2`` of ``n2`` sessions differ at level
    ``alpha`` (two-sided two-proportion z-test, pooled). Use it before calling a live run's
    success rate different from its twin's: 38/40 against 95 % is not a difference."""
    _check_alpha(alpha)
    if n1 < 1 or n2 < 1:
        return False
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return False  # both all-or-nothing alike
    z = abs(p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return bool(z > NormalDist().inv_cdf(1 - alpha / 2))


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ConfigError("alpha", alpha, "expected a significance level in (0, 1)")


def _binomial_cdf(n: int, q: float) -> np.ndarray:
    """P(Bin(n, q) <= k) for k = 0..n (log-space pmf, stable for large n)."""
    k = np.arange(n + 1)
    log_pmf = (
        np.array([math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in k])
        + k * math.log(q)
        + (n - k) * math.log1p(-q)
    )
    return np.cumsum(np.exp(log_pmf - log_pmf.max())) / np.exp(log_pmf - log_pmf.max()).sum()


def quantile_interval(sorted_values: np.ndarray, q: float, alpha: float) -> tuple[float, float]:
    """A distribution-free interval for the ``q``-quantile of the population a sorted sample
    came from, two-sided at level ``alpha``: order statistics at exact binomial ranks (the
    normal approximation above 5,000 values). Too few values to bound a side: that side is
    infinite (10 values cannot put an upper bound on a 90th percentile)."""
    n = sorted_values.size
    if n > 5000:
        z = NormalDist().inv_cdf(1 - alpha / 2)
        spread = z * math.sqrt(n * q * (1 - q))
        low, high = math.floor(n * q - spread), math.ceil(n * q + spread) + 1
    else:
        cdf = _binomial_cdf(n, q)
        # 1-based ranks: x_(l) <= quantile with P >= 1 - alpha/2 when P(Bin <= l-1) <= alpha/2
        low = int(np.searchsorted(cdf, alpha / 2, side="right"))
        high = int(np.searchsorted(cdf, 1 - alpha / 2, side="left")) + 1
    lower = float(sorted_values[low - 1]) if low >= 1 else -math.inf
    upper = float(sorted_values[high - 1]) if high <= n else math.inf
    return lower, upper


@dataclass(frozen=True, slots=True)
class PercentileCheck:
    """One percentile, live against simulated: values, intervals and the verdict there.

    ``difference_s`` is live minus simulated; ``verdict`` "agrees", "slower" (beyond what
    sampling and the harness explain) or "faster" (the harness cannot make live faster)."""

    q: float
    live_s: float
    twin_s: float
    live_interval: tuple[float, float]
    twin_interval: tuple[float, float]
    difference_s: float
    verdict: str

    @property
    def name(self) -> str:
        return f"p{round(self.q * 100)}"


@dataclass(frozen=True, slots=True)
class Agreement:
    """The verdict of :func:`compare`: ``verdict`` is "agrees", "slower", "faster",
    "success differs", "inconclusive" or "no data"; ``headline`` says it in a sentence;
    ``details`` gives the medians, 90th percentiles and success rates side by side."""

    verdict: str
    headline: str
    details: str
    percentiles: tuple[PercentileCheck, ...]
    live_success: float
    twin_success: float
    live_sessions: int
    twin_sessions: int
    success_differs: bool
    bound_s: float
    ks: float
    alpha: float

    @property
    def agrees(self) -> bool:
        return self.verdict == "agrees"

    @property
    def worst(self) -> PercentileCheck | None:
        """The percentile furthest off among those that do not agree (None: all agree)."""
        return _worst(self.percentiles)

    @property
    def label(self) -> str:
        """The verdict in a few words, for a table cell or a legend: "agrees", "slower by
        0.3 s at p50", "faster by 0.1 s at p90", "inconclusive", "success differs" or
        "no data"."""
        worst = self.worst
        if self.verdict in ("slower", "faster") and worst is not None:
            return f"{self.verdict} by {_seconds(abs(worst.difference_s))} at {worst.name}"
        return self.verdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "label": self.label,
            "headline": self.headline,
            "details": self.details,
            "live_success": self.live_success,
            "twin_success": self.twin_success,
            "live_sessions": self.live_sessions,
            "twin_sessions": self.twin_sessions,
            "bound_s": self.bound_s,
            "ks": self.ks,
            **{f"live_{c.name}_s": c.live_s for c in self.percentiles},
            **{f"twin_{c.name}_s": c.twin_s for c in self.percentiles},
        }


def _times(value: Any) -> np.ndarray:
    """Time to connect per session (NaN/inf = failed) from a result or an array."""
    times = getattr(value, "time_to_connect", value)
    return np.asarray(times, dtype=float).ravel()


def ks_sorted(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sample KS distance ``sup |F_x - F_y|`` of two *sorted* samples; 1.0 when exactly
    one is empty, 0.0 when both are (nothing to tell apart). The one KS of the package:
    :func:`chatconn.plotdata.ks_distance` and the calibration's objective use it."""
    if not x.size or not y.size:
        return float(x.size != y.size)
    grid = np.concatenate((x, y))
    fx = np.searchsorted(x, grid, side="right") / x.size
    fy = np.searchsorted(y, grid, side="right") / y.size
    return float(np.max(np.abs(fx - fy)))


def _worst(checks: tuple[PercentileCheck, ...] | list[PercentileCheck]) -> PercentileCheck | None:
    off = [c for c in checks if c.verdict != "agrees"]
    return max(off, key=lambda c: abs(c.difference_s)) if off else None


def _seconds(value: float) -> str:
    return f"{value:.3g} s" if value < 100 else f"{value:.0f} s"


def compare(
    live: Any,
    twin: Any,
    *,
    bound_s: float = 0.0,
    alpha: float = DEFAULT_ALPHA,
    quantiles: tuple[float, ...] = (0.5, 0.9),
) -> Agreement:
    """Live against simulated (each a :class:`~chatconn.simulate.SessionOutcomes`, a run,
    or an array of times to connect with NaN for failed sessions); see the module doc.
    ``bound_s``: profile seconds the harness can add to a live connect (0: none known);
    a bound above :data:`INCONCLUSIVE_SHARE` of the simulated median makes agreement
    "inconclusive"."""
    _check_alpha(alpha)
    if isinstance(bound_s, bool) or not isinstance(bound_s, int | float) or not bound_s >= 0:
        raise ConfigError("bound_s", bound_s, "expected profile seconds >= 0")
    live = getattr(live, "result", live)
    twin = getattr(twin, "result", twin)
    lt, tt = _times(live), _times(twin)
    lok, tok = np.sort(lt[np.isfinite(lt)]), np.sort(tt[np.isfinite(tt)])
    n_live, n_twin = lt.size, tt.size
    p_live = lok.size / n_live if n_live else 0.0
    p_twin = tok.size / n_twin if n_twin else 0.0
    differs = proportions_differ(p_live, n_live, p_twin, n_twin, alpha)
    success = f"success {p_live:.0%} live vs {p_twin:.0%} simulated"
    if lok.size == 0 or tok.size == 0:
        verdict = "success differs" if differs else "no data"
        headline = (
            f"no session connected live or in the simulation to compare times ({success})"
            if not differs
            else f"success differs: {success} (two-proportion test at {alpha:.0%})"
        )
        return Agreement(
            verdict, headline, success, (), p_live, p_twin, n_live, n_twin, differs,
            float(bound_s), math.nan, alpha,
        )  # fmt: skip
    checks = []
    for q in quantiles:
        lv, tv = float(np.quantile(lok, q)), float(np.quantile(tok, q))
        li, ti = quantile_interval(lok, q, alpha), quantile_interval(tok, q, alpha)
        low, high = li[0] - ti[1], li[1] - ti[0]
        if low > bound_s:
            verdict = "slower"
        elif high < 0:
            verdict = "faster"
        else:
            verdict = "agrees"
        checks.append(PercentileCheck(q, lv, tv, li, ti, lv - tv, verdict))
    side_by_side = ", ".join(
        f"{c.name} {_seconds(c.live_s)} live vs {_seconds(c.twin_s)}" for c in checks
    )
    details = f"{side_by_side}; {success}; {lok.size} vs {tok.size:,} connected sessions"
    harness = f"the harness adds at most {_seconds(bound_s)}" if bound_s > 0 else ""
    worst = _worst(checks)
    if differs:
        verdict = "success differs"
        headline = f"success differs: {success} (two-proportion test at {alpha:.0%})"
    elif worst is not None:
        verdict = worst.verdict
        word = "slower" if verdict == "slower" else "faster"
        reach = harness or "no harness cost was recorded"
        headline = (
            f"live is {word} by {_seconds(abs(worst.difference_s))} at {worst.name} — more than "
            f"sampling ({lok.size} sessions) and the harness can explain ({reach})"
        )
    elif bound_s > INCONCLUSIVE_SHARE * checks[0].twin_s:
        verdict = "inconclusive"
        headline = (
            f"inconclusive: the harness can add up to {_seconds(bound_s)} "
            f"({bound_s / checks[0].twin_s:.1%} of the simulated median, above "
            f"{INCONCLUSIVE_SHARE:.0%}), too much to tell agreement from distortion; a larger "
            "time scale or a quieter machine narrows it"
        )
    else:
        verdict = "agrees"
        headline = "agrees within sampling error" + (f" ({harness})" if harness else "")
    return Agreement(
        verdict, headline, details, tuple(checks), p_live, p_twin, n_live, n_twin, differs,
        float(bound_s), ks_sorted(lok, tok), alpha,
    )  # fmt: skip
