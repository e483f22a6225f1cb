"""Working with loaded runs: replay, pair live runs with simulated twins, compare, tabulate.

Use :func:`replay` to re-run a recorded simulation (identical arrays, same seed) or to
simulate a live run's twin; :func:`twin_of` to find the recorded twin among loaded runs;
:func:`compare_runs` for one row per run (the report's table); :func:`sessions_frame` and
:func:`attempts_frame` for pandas.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..agreement import compare, proportions_differ
from ..core.errors import ConfigError, RunFileWarning
from ..core.quality import DEFAULT_THRESHOLDS, QualityThresholds
from ..core.strategies import ErrorCategory, Strategy
from ..outcomes import SessionOutcomes
from ..simulate import simulate
from .format import environment
from .run import Run

__all__ = [
    "REPLAYED_TWIN_SESSIONS",
    "attempts_frame",
    "compare_runs",
    "ks_critical",
    "proportions_differ",
    "replay",
    "sessions_frame",
    "simulated_twin",
    "simulated_twins",
    "twin_of",
]


def replay(run: Run, sessions: int | None = None) -> SessionOutcomes:
    """Simulate ``run``'s policy and profile with its seed: for a simulated run with the
    recorded session count, arrays identical to the file's. ``sessions`` changes the count
    (a live run's twin is more useful large). Warns when the run was recorded by another
    chatconn version (the model may have changed)."""
    h = run.header
    if h.target is None and h.kind == "observed":
        raise ConfigError(
            "run",
            str(run.path),
            "it was observed in production: there is no profile to replay; fit one with "
            "chatconn calibrate and simulate the policy on it",
        )
    if h.target is None:
        raise ConfigError(
            "run", str(run.path), "it ran against a real server: there is no profile to replay"
        )
    if h.policy is None:
        raise ConfigError(
            "run", str(run.path), "it does not record the client's policy: there is none to replay"
        )
    recorded = h.versions.get("chatconn")
    current = environment()["versions"]["chatconn"]
    if recorded != current:
        warnings.warn(
            f"{run.path}: recorded with chatconn {recorded}, replayed with {current}; "
            "results differ if the model changed",
            RunFileWarning,
            stacklevel=2,
        )
    return simulate(h.policy, h.target, h.sessions if sessions is None else sessions, h.seed)


def twin_of(run: Run, runs: Sequence[Run]) -> Run | None:
    """The simulated run among ``runs`` with ``run``'s policy, conditions and seed."""
    for other in runs:
        if (
            other is not run
            and other.kind == "simulated"
            and other.header.policy == run.header.policy
            and other.header.target == run.header.target
            and other.header.seed == run.header.seed
        ):
            return other
    return None


def ks_critical(n: int, m: int, alpha: float = 0.01) -> float:
    """Two-sample KS critical distance at level ``alpha`` (asymptotic): above it, two samples
    of sizes n and m are unlikely to come from one distribution."""
    if not 0 < alpha < 1:
        raise ConfigError("alpha", alpha, "expected a significance level in (0, 1)")
    if n < 1 or m < 1:
        return math.nan
    c = math.sqrt(-0.5 * math.log(alpha / 2))
    return c * math.sqrt((n + m) / (n * m))


def _share(counts: dict[str, int], total: int) -> dict[str, float]:
    return {k: (v / total if total else 0.0) for k, v in counts.items()}


#: Sessions of the twin simulated for a live run that has no recorded twin.
REPLAYED_TWIN_SESSIONS = 20_000


def simulated_twin(run: Run, runs: Sequence[Run]) -> tuple[SessionOutcomes, str] | None:
    """A live run's simulated twin and where it comes from: the recorded twin among
    ``runs``, else a replay of :data:`REPLAYED_TWIN_SESSIONS` sessions; None for a
    simulated run or a run against a real server (no profile)."""
    if run.kind != "live" or run.header.target is None:
        return None
    twin = twin_of(run, runs)
    if twin is not None:
        return twin.result, twin.path.name
    replayed = replay(run, sessions=REPLAYED_TWIN_SESSIONS)
    return replayed, f"replayed ({REPLAYED_TWIN_SESSIONS:,} sessions)"


def simulated_twins(runs: Sequence[Run]) -> dict[int, tuple[SessionOutcomes, str]]:
    """:func:`simulated_twin` of every live run, by position in ``runs`` (computed once for
    a report's table and its figures)."""
    return {i: t for i, run in enumerate(runs) if (t := simulated_twin(run, runs)) is not None}


def compare_runs(
    runs: Sequence[Run],
    thresholds: QualityThresholds = DEFAULT_THRESHOLDS,
    *,
    twins: dict[int, tuple[SessionOutcomes, str]] | None = None,
) -> list[dict[str, Any]]:
    """One row per run: policy, profile, success, p50/p95, attempts (per session, and per
    session that gave up: ``failed_attempts_mean``, None when none did), quality mix, and
    for live runs how they compare with their simulated twin (recorded, else replayed).

    The comparison is :func:`chatconn.agreement.compare` allowing the run's distortion
    bound (``bound_s``: :attr:`Run.bound_s`, 0 for runs recorded before chatconn measured
    its harness, ``harness_measured`` False): ``verdict`` ("agrees", "slower", ...),
    ``vs_model`` (the verdict in a few words: "slower by 0.3 s at p50"),
    ``verdict_headline`` and ``verdict_details`` (medians, 90th percentiles and success
    rates side by side). ``ks_to_twin`` (the KS distance between connected times) and
    ``ks_critical`` are details, None when either side has no connected session."""
    twins = simulated_twins(runs) if twins is None else twins
    rows = []
    for i, run in enumerate(runs):
        s = run.result.summary(thresholds)
        ttc = s["time_to_connect_s"]
        policy = run.result.policy
        row = {
            "label": run.label,
            "file": run.path.name,
            "kind": run.kind,
            "policy": run.header.policy_name or "custom",
            # diagnostics on, and the policy otherwise: pairs runs that differ only in probing
            "diagnostics": policy is not None and policy.diagnostics.enabled,
            "policy_without_diagnostics": _without_diagnostics(policy),
            "profile": run.header.target_name,
            "seed": run.header.seed,
            "time_scale": run.header.time_scale,
            "sessions": s["sessions"],
            "complete": run.complete,
            "success_rate": s["success_rate"],
            "p50_s": ttc["p50"],
            "p95_s": ttc["p95"],
            "attempts_mean": s["attempts_mean"],
            "failed_attempts_mean": _mean_or_none(run.result.attempts[~run.result.connected]),
            "quality": _share(s["quality"], s["sessions"]),
            "strategy_share": s["strategy_share"],
            "harness_measured": run.harness is not None,
            "bound_s": run.bound_s if run.kind == "live" else None,
            "twin": None,
            "twin_success_rate": None,
            "twin_sessions": None,
            "twin_p50_s": None,
            "verdict": None,
            "vs_model": None,
            "verdict_headline": None,
            "verdict_details": None,
            "ks_to_twin": None,
            "ks_critical": None,
        }
        if i in twins:
            simulated, row["twin"] = twins[i]
            twin_summary = simulated.summary(thresholds)
            row["twin_success_rate"] = twin_summary["success_rate"]
            row["twin_sessions"] = twin_summary["sessions"]
            row["twin_p50_s"] = twin_summary["time_to_connect_s"]["p50"]
            agreement = compare(run, simulated, bound_s=row["bound_s"])
            row["verdict"], row["vs_model"] = agreement.verdict, agreement.label
            row["verdict_headline"] = agreement.headline
            row["verdict_details"] = agreement.details
            ok_live = int(run.result.connected.sum())
            ok_sim = int(simulated.connected.sum())
            if ok_live and ok_sim:  # KS compares the times of those who connected
                row["ks_to_twin"] = agreement.ks
                row["ks_critical"] = ks_critical(ok_live, ok_sim)
        rows.append(row)
    return rows


def _without_diagnostics(policy: Any) -> str | None:
    """The policy with diagnostics off, as text: equal for two runs that differ only there
    (None for an observed run, which has no policy)."""
    if policy is None:
        return None
    off = policy.with_changes(diagnostics=replace(policy.diagnostics, enabled=False))
    return repr(off)


def _mean_or_none(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def sessions_frame(runs: Run | Sequence[Run]):
    """A pandas DataFrame, one row per session of every run: ``run`` (label), ``file``,
    ``kind``, ``policy``, ``profile``, ``session``, ``connected``, ``time_to_connect_s``
    (NaN if it gave up), ``ended_at_s``, ``attempts``, ``strategy``, ``last_error``, and for
    observed runs ``segment_LABEL`` per label (region, client_version, ...)."""
    import pandas as pd  # only for those who ask for frames

    runs = [runs] if isinstance(runs, Run) else list(runs)
    names = np.array([s.value for s in Strategy] + [None], dtype=object)  # -1 -> None
    errors = np.array([c.name.lower() for c in ErrorCategory], dtype=object)
    frames = []
    for run in runs:
        r = run.result
        frames.append(
            pd.DataFrame(
                {
                    "run": run.label,
                    "file": run.path.name,
                    "kind": run.kind,
                    "policy": run.header.policy_name or "custom",
                    "profile": np.array(r.profile_names, dtype=object)[r.profile],
                    "session": np.arange(r.sessions),
                    "connected": r.connected,
                    "time_to_connect_s": r.time_to_connect,
                    "ended_at_s": r.ended_at,
                    "attempts": r.attempts.astype(np.int64),
                    "strategy": names[r.strategy],
                    "last_error": errors[r.last_error],
                    # observed runs: one column per label (region, client_version, ...)
                    **{f"segment_{label}": values for label, values in run.segments.items()},
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def attempts_frame(runs: Run | Sequence[Run]):
    """A pandas DataFrame, one row per live attempt (wall seconds, as recorded), with the
    run's label and file; empty for simulated runs."""
    import pandas as pd

    runs = [runs] if isinstance(runs, Run) else list(runs)
    rows = [
        {"run": run.label, "file": run.path.name, **record.to_dict()}
        for run in runs
        for record in run.records
    ]
    return pd.DataFrame(rows)
