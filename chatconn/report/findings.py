"""Plain-language findings about recorded runs, for people who will not read the charts.

Pure: works on the rows of :func:`chatconn.runs.compare_runs` (plain numbers), so each
rule is testable with hand-made rows. Rules, in the order findings are listed:

1. a run that was interrupted (fewer sessions than planned);
2. per profile, which policy connects 95 % of users soonest (live runs preferred, else
   simulations), and how much longer the others take;
3. a policy that leaves users unconnected (success below 99 %);
4. users reaching the server only through a fallback (long polling, SSE, alternative
   ports): how long that costs them;
5. many attempts per user (server load);
6. whether each live run agrees with its simulated twin: success rates, and the times of
   those who connected by a two-sample KS test at the 1 % level. A significant difference
   whose medians are within 5 % is reported as a small systematic offset (a live run at
   a small time scale magnifies each millisecond of real overhead by 1/scale), a larger
   one as a warning not to trust the model for that profile.

Rules 3–5 skip a simulated run that is the twin of a live run in the same report: the live
run speaks for that policy and profile. Success rates are compared by a two-proportion
z-test at the same 1 % level (:func:`chatconn.runs.analysis.proportions_differ`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core.quality import DEFAULT_THRESHOLDS, QualityThresholds, classify
from ..runs.analysis import proportions_differ

__all__ = ["Finding", "agreement", "findings", "median_offset"]

#: Below this success rate a run is called out (share of sessions connected).
SUCCESS_FLOOR = 0.99
#: Above this share of sessions connected through a fallback, the fallback is called out.
FALLBACK_SHARE = 0.10
#: Above this mean number of attempts per user, the server load is called out.
ATTEMPTS_CEILING = 2.0
#: Significance level of the live-vs-simulated comparisons (KS and success rates).
AGREEMENT_ALPHA = 0.01
#: A live median within this share of its twin's is a small offset, not a disagreement.
SMALL_OFFSET = 0.05
_DIRECT = "direct_websocket"


@dataclass(frozen=True, slots=True)
class Finding:
    """One sentence or two; ``level`` is "warning", "note" or "good"."""

    level: str
    text: str


def _s(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}" if value in (0, 1) else f"{value:.1%}"


def _attempts(mean: float | None) -> str:
    """'3.0 attempts', '1 attempt' (a mean of exactly one), or 'no attempt'."""
    if not mean:
        return "no attempt"  # a token that never came: no attempt could start
    return "1 attempt" if mean == 1 else f"{mean:.1f} attempts"


def findings(
    rows: Sequence[dict[str, Any]], thresholds: QualityThresholds = DEFAULT_THRESHOLDS
) -> list[Finding]:
    """Findings about the runs described by ``rows`` (see the module doc for the rules)."""
    out: list[Finding] = []
    for row in rows:
        if not row["complete"]:
            out.append(
                Finding(
                    "warning",
                    f"{row['label']} was interrupted: its file holds {row['sessions']} sessions "
                    "and no end mark. Its figures describe only those sessions.",
                )
            )
    out.extend(_best_per_profile(rows, thresholds))
    twins = {r["twin"] for r in rows if r["kind"] == "live" and r.get("twin")}
    for row in rows:
        if row["kind"] == "live" or row["file"] not in twins:
            out.extend(_run_findings(row))
    out.extend(_agreement(rows))
    return out


def _best_per_profile(rows: Sequence[dict[str, Any]], thresholds: QualityThresholds) -> list:
    out = []
    profiles = dict.fromkeys(row["profile"] for row in rows)
    for profile in profiles:
        mine = [r for r in rows if r["profile"] == profile]
        kind = "live" if any(r["kind"] == "live" for r in mine) else "simulated"
        mine = [r for r in mine if r["kind"] == kind and r["p95_s"] is not None]
        if not mine:
            continue
        # Among the policies that connect (nearly) everyone, the fastest p95; when none does,
        # the most successful (then the fastest).
        reliable = [r for r in mine if r["success_rate"] >= SUCCESS_FLOOR]
        if reliable:
            best = min(reliable, key=lambda r: r["p95_s"])
        else:
            best = min(mine, key=lambda r: (-r["success_rate"], r["p95_s"]))
        quality = classify(best["p95_s"], thresholds).label
        sizes = sorted({r["sessions"] for r in mine})
        each = f"{sizes[0]:,} sessions" + (" each" if len(mine) > 1 else "")
        if len(sizes) > 1:
            each = f"{sizes[0]:,}–{sizes[-1]:,} sessions"
        text = (
            f"On {profile} ({kind}, {each}), {best['policy']} connects "
            f"{_pct(best['success_rate'])} of users, 95 % of them within "
            f"{_s(best['p95_s'])} ({quality})"
        )
        others = [r for r in mine if r is not best]
        if others:
            text += "; " + ", ".join(
                f"{r['policy']} needs {_s(r['p95_s'])}"
                + (f" and connects {_pct(r['success_rate'])}" if r["success_rate"] < 1 else "")
                for r in sorted(others, key=lambda r: r["p95_s"])
            )
        out.append(Finding("good" if quality in ("excellent", "good") else "note", text + "."))
    return out


def _run_findings(row: dict[str, Any]) -> list[Finding]:
    out = []
    label, success = row["label"], row["success_rate"]
    if success is not None and success < SUCCESS_FLOOR:
        reached = [k for k, v in row["strategy_share"].items() if v > 0]
        gave_up = _attempts(row["failed_attempts_mean"])  # over those who gave up only
        if success == 0:
            text = (
                f"{label}: no user connected; every one gave up after {gave_up} on average. "
                "Its strategy ladder never got through on this network."
            )
        else:
            text = (
                f"{label}: only {_pct(success)} of users connected; the rest gave up after "
                f"{gave_up} on average. Those who connected used {', '.join(reached)}."
            )
        out.append(Finding("warning", text))
    fallback = 1.0 - row["strategy_share"].get(_DIRECT, 0.0)
    if success and fallback >= FALLBACK_SHARE:
        used = sorted(
            ((v, k) for k, v in row["strategy_share"].items() if k != _DIRECT and v >= 0.005),
            reverse=True,
        )
        names = " and ".join(f"{k.replace('_', ' ')} {v:.0%}" for v, k in used)
        out.append(
            Finding(
                "note",
                f"{label}: {fallback:.0%} of connected users got through only by a fallback "
                f"({names}); they waited {_s(row['p50_s'])} at the median, mostly for the "
                "attempts that failed first. A shorter first timeout or an earlier fallback "
                "would shorten that wait.",
            )
        )
    reliable = success is not None and success >= SUCCESS_FLOOR  # else said above
    if reliable and row["attempts_mean"] is not None and row["attempts_mean"] > ATTEMPTS_CEILING:
        out.append(
            Finding(
                "note",
                f"{label}: {row['attempts_mean']:.1f} attempts per user on average; each "
                "failed attempt is load on the server and battery on the phone.",
            )
        )
    return out


def median_offset(row: dict[str, Any]) -> float | None:
    """How much later (> 0) or sooner the live median is than its twin's, as a share."""
    live, twin = row.get("p50_s"), row.get("twin_p50_s")
    return (live - twin) / twin if live and twin else None


def agreement(row: dict[str, Any]) -> str | None:
    """ "agrees", "offset" (significant, medians within SMALL_OFFSET) or "differs" for a live
    run with a KS distance to its twin; None otherwise. The report's table uses it too."""
    ks, critical = row.get("ks_to_twin"), row.get("ks_critical")
    if ks is None or critical is None:
        return None
    if ks <= critical:
        return "agrees"
    offset = median_offset(row)
    return "offset" if offset is not None and abs(offset) <= SMALL_OFFSET else "differs"


def _agreement(rows: Sequence[dict[str, Any]]) -> list[Finding]:
    out = []
    agreeing: list[str] = []
    for row in rows:
        if row["kind"] != "live" or row.get("twin_success_rate") is None:
            continue
        label, success, twin_success = row["label"], row["success_rate"], row["twin_success_rate"]
        if proportions_differ(
            success, row["sessions"], twin_success, row["twin_sessions"], alpha=AGREEMENT_ALPHA
        ):
            out.append(
                Finding(
                    "warning",
                    f"{label}: {_pct(success)} connected live but {_pct(twin_success)} in its "
                    "simulation: the lab and the model disagree on who gets through.",
                )
            )
        ks, critical = row.get("ks_to_twin"), row.get("ks_critical")
        if ks is None or critical is None:
            continue
        if ks <= critical:
            agreeing.append(f"{label} ({ks:.2f} < {critical:.2f})")
            continue
        offset = median_offset(row)
        medians = f"medians {_s(row['p50_s'])} live vs {_s(row['twin_p50_s'])} simulated"
        if agreement(row) == "offset":
            scale = row.get("time_scale") or 1.0
            why = (
                f"; at time scale ×{scale:g} each millisecond of real overhead counts "
                f"{1 / scale:.0f}×"
                if scale < 1
                else ""
            )
            out.append(
                Finding(
                    "note",
                    f"{label} is consistently {abs(offset):.1%} "
                    f"{'slower' if offset > 0 else 'faster'} than its simulation ({medians}; "
                    f"KS distance {ks:.2f} above {critical:.2f}): a small, systematic cost the "
                    f"model does not have{why}. The model's figures hold to within that.",
                )
            )
        else:
            out.append(
                Finding(
                    "warning",
                    f"{label} differs from its simulation ({medians}; KS distance {ks:.2f}, "
                    f"above {critical:.2f}): the live times have a cost the model lacks (or the "
                    "reverse); check the timeline before relying on simulated figures.",
                )
            )
    if agreeing:
        runs = "this live run agrees" if len(agreeing) == 1 else "these live runs agree"
        out.insert(
            0,
            Finding(
                "good",
                f"{runs.capitalize()} with {'its' if len(agreeing) == 1 else 'their'} "
                "simulations (KS distance below the 1 % critical value for their sample "
                f"size): {', '.join(agreeing)}. No sign, at these sample sizes, that real "
                "connects differ from the model on these profiles.",
            ),
        )
    return out
