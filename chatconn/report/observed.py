"""The report's section for observed runs (production timings brought in by ``chatconn
import``): what was read, quality classes, time to connect by segment, a profile
calibrated to the sessions, and the simulated twin of the current policy on that profile.

Pure HTML strings from loaded runs (figures are plain ``go.Figure`` s, embedded like the
rest of the report). Calibration runs without bootstrap refits here (``bootstrap=0``), so a
report with an observed run costs about a second more per run.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from ..core.quality import DEFAULT_THRESHOLDS, QualityThresholds
from ..core.strategies import Strategy
from ..plots import plot_calibration, plot_compare, plot_quality
from ..runs.run import Run
from ..runs.segments import by_segment, segment_rows

__all__ = ["MAX_SEGMENT_VALUES_SHOWN", "observed_sections"]

#: A label with more values than this gets a table but no figure (too many curves to read).
MAX_SEGMENT_VALUES_SHOWN = 8
_CONFIG = {"displaylogo": False, "responsive": True}


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _s(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _figure(fig: go.Figure, div_id: str) -> str:
    div = fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=_CONFIG)
    return f'<div class="figure">{div}</div>'


def _source(run: Run) -> str:
    info = run.header.extra.get("import") or {}
    said = [
        f"{run.sessions:,} sessions from {_e(info.get('source', run.path.name))} "
        f"({_e(info.get('format', '?'))}, {info.get('rows', run.sessions):,} rows"
        + (f", {info['skipped']:,} bad rows left out" if info.get("skipped") else "")
        + f"); the clients ran the {_e(run.header.policy_name or 'custom')} policy."
    ]
    if info and not info.get("attempts_known", True):
        said.append("The data has no attempts column: every session counts as one attempt.")
    if info and not info.get("transport_known", True):
        said.append("The data has no transport column: connected sessions count as WebSocket.")
    if info.get("unrecognised_errors"):
        said.append(
            f"{info['unrecognised_errors']:,} failures had no recognised error and count as "
            "timeouts."
        )
    return f'<p class="meta">{" ".join(said)}</p>'


def _segment_table(rows: Sequence[dict[str, Any]]) -> str:
    head = (
        "<tr><th>segment</th><th>value</th><th>sessions</th><th>success</th><th>p50</th>"
        "<th>p95</th></tr>"
    )
    body = "".join(
        f"<tr><td>{_e(r['label'])}</td><td>{_e(r['value'])}</td><td>{r['sessions']:,}</td>"
        f"<td>{r['success_rate']:.1%}</td><td>{_s(r['p50_s'])}</td><td>{_s(r['p95_s'])}</td></tr>"
        for r in rows
    )
    return f"<table>{head}{body}</table>"


def _calibrated(run: Run, seed: int) -> tuple[Any, str]:
    from ..calibrate import calibrate

    try:
        fit = calibrate(run, base="broadband", seed=seed, bootstrap=0)
    except ValueError as exc:  # nothing connected, ...: said, not fatal to the report
        return None, f"No profile could be fitted: {exc}"
    return fit, fit.description


def observed_sections(
    runs: Sequence[Run], thresholds: QualityThresholds = DEFAULT_THRESHOLDS, *, seed: int = 0
) -> list[str]:
    """HTML parts for every observed run among ``runs`` (none: an empty list)."""
    parts: list[str] = []
    for i, run in enumerate(r for r in runs if r.kind == "observed"):
        numbers = iter(range(1, 1000))

        def figure(fig: go.Figure, i: int = i, numbers=numbers) -> str:
            return _figure(fig, f"observed-{i}-{next(numbers)}")

        parts.append(f"<h2>Observed: {_e(run.header.target_name)}</h2>")
        parts.append(_source(run))
        parts.append(
            figure(plot_quality(run, thresholds, title=f"Connection quality · {run.label}"))
        )
        for label in run.segments:
            rows = segment_rows(run, label, thresholds)
            parts.append(f"<h3>Time to connect by {_e(label)}</h3>")
            parts.append(_segment_table(rows))
            if 1 < len(rows) <= MAX_SEGMENT_VALUES_SHOWN:
                named = {f"{k} ({v.sessions:,})": v for k, v in by_segment(run, label).items()}
                title = f"Time to connect by {label} · {run.header.target_name}"
                parts.append(figure(plot_compare(named, thresholds, title=title)))
        fit, description = _calibrated(run, seed)
        parts.append("<h3>A network profile calibrated to these sessions</h3>")
        parts.append(f"<p>{_e(description)}</p>")
        if fit is not None:
            parts.append(figure(plot_calibration(fit, title=f"Calibration · {run.label}")))
            twin = {
                "observed": run.result,
                f"{run.header.policy_name or 'custom'} simulated on the fitted profile": (
                    fit.simulated
                ),
            }
            title = "Observed vs the simulated twin of the current policy"
            parts.append(figure(plot_compare(twin, thresholds, title=title)))
            via = fit.simulated.summary(thresholds)["strategy_share"]
            fallback = sum(v for k, v in via.items() if k != Strategy.DIRECT_WEBSOCKET.value)
            parts.append(
                f'<p class="meta">On the fitted profile {fit.profile.name!s} the policy connects '
                f"{fit.fitted_success_rate:.1%} of simulated users (observed "
                f"{fit.observed_success_rate:.1%}); {fallback:.1%} of those connect through a "
                "fallback. Use it as the profile of your users: chatconn tune --profile takes "
                "a profile saved from Python (fit.profile).</p>"
            )
    return parts
