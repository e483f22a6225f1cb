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
6. whether each live run agrees with its simulated twin, in the words of
   :func:`chatconn.agreement.compare` (the row's ``verdict`` and ``verdict_headline``, from
   :func:`chatconn.runs.compare_runs`): medians and 90th percentiles compared with
   intervals from the sample sizes, allowing the run's recorded distortion bound (what this
   machine's harness could add), and success rates by a two-proportion test. Agreeing runs
   are listed together; a run slower or faster than sampling and its harness explain is a
   warning quoting the headline with the figures side by side (and, for a run recorded
   before chatconn measured its harness, says so: nothing of the gap could be put down to
   the harness); different success rates are a warning; an inconclusive run (its harness
   could add more than 5 % of the median) a note.

7. per profile, what probing first costs or buys: two runs of the same kind whose policies
   differ only in ``diagnostics`` are compared at the median and the 95th percentile
   ("probing first costs 0.28 s at the median where nothing is blocked", or saves).

Rules 3–5 skip a simulated run that is the twin of a live run in the same report: the live
run speaks for that policy and profile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core.quality import DEFAULT_THRESHOLDS, QualityThresholds, classify

__all__ = ["Finding", "findings"]

#: Below this success rate a run is called out (share of sessions connected).
SUCCESS_FLOOR = 0.99
#: Above this share of sessions connected through a fallback, the fallback is called out.
FALLBACK_SHARE = 0.10
#: Above this mean number of attempts per user, the server load is called out.
ATTEMPTS_CEILING = 2.0
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
            out.extend(_run_findings(row, thresholds))
    out.extend(_agreement(rows))
    out.extend(_diagnostics_tradeoff(rows))
    # Warnings first: what a stakeholder must not miss leads the list.
    return sorted(out, key=lambda f: f.level != "warning")


def _diagnostics_tradeoff(rows: Sequence[dict[str, Any]]) -> list[Finding]:
    """Rule 7: pairs of runs (same profile, kind and policy but for ``diagnostics``)."""
    out = []
    for on in rows:
        if not on.get("diagnostics") or on["p50_s"] is None:
            continue
        for off in rows:
            same = (
                not off.get("diagnostics")
                and off["profile"] == on["profile"]
                and off["kind"] == on["kind"]
                and off.get("policy_without_diagnostics") == on.get("policy_without_diagnostics")
                and off["p50_s"] is not None
            )
            if not same:
                continue
            d50 = on["p50_s"] - off["p50_s"]
            d95 = (on["p95_s"] or 0.0) - (off["p95_s"] or 0.0)
            verb = "costs" if d50 >= 0 else "saves"
            text = (
                f"On {on['profile']} ({on['kind']}), probing the network first "
                f"({on['policy']} vs {off['policy']}) {verb} {_s(abs(d50))} at the median "
                f"({_s(off['p50_s'])} → {_s(on['p50_s'])}) and "
                f"{'adds' if d95 >= 0 else 'saves'} {_s(abs(d95))} at the 95th percentile "
                f"({_s(off['p95_s'])} → {_s(on['p95_s'])}); success "
                f"{_pct(off['success_rate'])} → {_pct(on['success_rate'])}."
            )
            level = "note" if d50 >= 0 else "good"
            out.append(Finding(level, text))
    return out


def _best_per_profile(rows: Sequence[dict[str, Any]], thresholds: QualityThresholds) -> list:
    out = []
    profiles = dict.fromkeys(row["profile"] for row in rows)
    for profile in profiles:
        mine = [r for r in rows if r["profile"] == profile]
        present = {r["kind"] for r in mine}  # what users saw first, then what was modelled
        kind = next(k for k in ("live", "observed", "simulated") if k in present)
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


def _run_findings(
    row: dict[str, Any], thresholds: QualityThresholds = DEFAULT_THRESHOLDS
) -> list[Finding]:
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
        critical = thresholds.edges[-1]
        if row["p50_s"] is not None and row["p50_s"] >= critical:
            # Everyone behind the proxy waiting minutes is the headline, not a footnote.
            text = (
                f"{label}: {fallback:.0%} of connected users waited {_s(row['p50_s'])} at the "
                f"median before a fallback ({names}) got them through — far past the "
                f"{critical:g} s where a connect counts as critical, spent on attempts that "
                "could not succeed. A shorter first timeout or an earlier fallback would "
                "shorten that wait."
            )
            out.append(Finding("warning", text))
        else:
            out.append(
                Finding(
                    "note",
                    f"{label}: {fallback:.0%} of connected users got through only by a "
                    f"fallback ({names}); they waited {_s(row['p50_s'])} at the median, mostly "
                    "for the attempts that failed first. A shorter first timeout or an earlier "
                    "fallback would shorten that wait.",
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


def _agreement(rows: Sequence[dict[str, Any]]) -> list[Finding]:
    out = []
    agreeing: list[str] = []
    for row in rows:
        verdict, headline = row.get("verdict"), row.get("verdict_headline")
        if row["kind"] != "live" or verdict in (None, "no data"):
            continue
        label, details = row["label"], row.get("verdict_details") or ""
        if verdict == "agrees":
            bound = row.get("bound_s") or 0.0
            harness = f", harness up to {_s(bound)}" if bound > 0 else ""
            medians = f"p50 {_s(row['p50_s'])} live vs {_s(row['twin_p50_s'])}"
            agreeing.append(f"{label} ({medians}{harness})")
        elif verdict == "success differs":
            out.append(
                Finding(
                    "warning",
                    f"{label}: {headline}. The lab and the model disagree on who gets through.",
                )
            )
        elif verdict == "inconclusive":
            out.append(Finding("note", f"{label}: {headline}. Side by side: {details}."))
        else:  # slower or faster than sampling and the harness explain
            out.append(
                Finding("warning", f"{label}: {headline}. Side by side: {details}. {_why(row)}")
            )
    if agreeing:
        runs = "this live run agrees" if len(agreeing) == 1 else "these live runs agree"
        out.insert(
            0,
            Finding(
                "good",
                f"{runs.capitalize()} with {'its' if len(agreeing) == 1 else 'their'} "
                "simulations within sampling error, allowing what this machine's harness "
                f"could add: {'; '.join(agreeing)}. No sign, at these sample sizes, that real "
                "connects differ from the model on these profiles.",
            ),
        )
    return out


def _why(row: dict[str, Any]) -> str:
    """What to do about a live run that is slower or faster than its simulation."""
    if row.get("harness_measured"):
        return "Check its timeline before relying on simulated figures for this profile."
    scale = row.get("time_scale") or 1.0
    magnified = (
        f" (at time scale ×{scale:g} each millisecond of the harness's own cost reads as "
        f"{1 / scale:.0f} ms)"
        if scale < 1
        else ""
    )
    return (
        "It was recorded before chatconn measured its own harness, so none of the gap can "
        f"be put down to it{magnified}; record it again with the automatic time scale "
        "(chatconn run --lab) before relying on either side."
    )
