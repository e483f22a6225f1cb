"""A small, deterministic Nelder–Mead minimiser (numpy only; scipy is not a dependency).

Use :func:`nelder_mead` for a few parameters and an objective that is cheap but not smooth
— here a distance between observed and simulated sessions under common random numbers,
which moves in small steps as a parameter crosses the draws. It stops when the simplex has
shrunk to ``xtol`` times its initial steps or after ``max_evals`` evaluations, and records
every point it evaluated, so a caller can look at the near-optimal ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_MAX_EVALS", "DEFAULT_XTOL", "SearchResult", "nelder_mead"]

DEFAULT_MAX_EVALS = 160
#: Stop once every vertex is within this share of its initial step from the best one.
DEFAULT_XTOL = 0.01

# Standard coefficients: reflection, expansion, contraction, shrink.
_ALPHA, _GAMMA, _RHO, _SIGMA = 1.0, 2.0, 0.5, 0.5


@dataclass(frozen=True, slots=True, eq=False)
class SearchResult:
    """The best point, its value, and every point evaluated (``points`` (m, d), ``values`` (m,))."""

    x: np.ndarray
    value: float
    evaluations: int
    points: np.ndarray
    values: np.ndarray


def nelder_mead(
    objective: Callable[[np.ndarray], float],
    x0: np.ndarray,
    steps: np.ndarray,
    *,
    max_evals: int = DEFAULT_MAX_EVALS,
    xtol: float = DEFAULT_XTOL,
) -> SearchResult:
    """Minimise ``objective`` from ``x0``; the initial simplex adds ``steps[i]`` to coordinate i."""
    x0 = np.asarray(x0, dtype=float)
    steps = np.asarray(steps, dtype=float)
    d = x0.size
    points: list[np.ndarray] = []
    values: list[float] = []

    def f(x: np.ndarray) -> float:
        value = float(objective(x))
        points.append(x.copy())
        values.append(value)
        return value

    simplex = np.vstack([x0, x0 + np.diag(steps)])
    fs = np.array([f(v) for v in simplex])
    while len(values) < max_evals:
        order = np.argsort(fs, kind="stable")
        simplex, fs = simplex[order], fs[order]
        if np.all(np.abs(simplex[1:] - simplex[0]) <= xtol * np.abs(steps)):
            break
        centroid = simplex[:d].mean(axis=0)
        worst = simplex[d]
        reflected = centroid + _ALPHA * (centroid - worst)
        fr = f(reflected)
        if fr < fs[0]:
            expanded = centroid + _GAMMA * (reflected - centroid)
            fe = f(expanded)
            simplex[d], fs[d] = (expanded, fe) if fe < fr else (reflected, fr)
        elif fr < fs[d - 1]:
            simplex[d], fs[d] = reflected, fr
        else:
            outside = fr < fs[d]
            target = reflected if outside else worst
            contracted = centroid + _RHO * (target - centroid)
            fc = f(contracted)
            if fc < min(fr, fs[d]):
                simplex[d], fs[d] = contracted, fc
            else:
                simplex[1:] = simplex[0] + _SIGMA * (simplex[1:] - simplex[0])
                fs[1:] = [f(v) for v in simplex[1:]]
    best = int(np.argmin(fs))
    return SearchResult(
        x=simplex[best].copy(),
        value=float(fs[best]),
        evaluations=len(values),
        points=np.array(points),
        values=np.array(values),
    )
