"""The HTML of a report: one file, plotly.js embedded once, nothing fetched when opened.

Layout: title and what was compared; findings in plain language; the summary table
(policy, profile, success rate, p50/p95 time to connect, attempts, quality mix, and the
verdict against the model: agrees, slower by X s, faster, inconclusive, success differs);
then per profile the time-to-connect distributions with quality mix of every run, and per
live run its overlay on the simulated twin (the verdict as its subtitle, the harness band
behind it), its quality classes and the timeline of its attempts. All text from run files
is HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from ..core.quality import DEFAULT_THRESHOLDS, QualityThresholds
from ..plotdata import QUALITY_COLOURS as _QUALITY_COLOURS
from ..plots import plot_compare, plot_live_vs_simulated, plot_quality, plot_timeline
from ..runs.run import Run
from .findings import Finding

__all__ = ["render_report"]

#: Sessions shown per timeline (the first ones of the run).
TIMELINE_SESSIONS = 30
_CONFIG = {"displaylogo": False, "responsive": True}

_CSS = """
body { font-family: "Liberation Sans", Arial, sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #1f2933; line-height: 1.45; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #d9e2ec; }
.meta { color: #52606d; font-size: 0.9rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.88rem; margin: 1rem 0; }
th, td { border-bottom: 1px solid #e4e7eb; padding: 0.35rem 0.5rem; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
th { background: #f5f7fa; }
ul.findings li { margin: 0.4rem 0; }
li.warning::marker { content: "⚠  "; color: #c2410c; }
li.note::marker { content: "•  "; color: #52606d; }
li.good::marker { content: "✓  "; color: #15803d; }
.mix { display: inline-flex; width: 120px; height: 0.8rem; vertical-align: middle; }
.mix span { display: block; height: 100%; }
.figure { margin: 1rem 0 2rem; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _s(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _mix(quality: dict[str, float]) -> str:
    parts = "".join(
        f'<span style="width:{share * 100:.1f}%;background:{_QUALITY_COLOURS[name]}" '
        f'title="{_e(name)} {share:.1%}"></span>'
        for name, share in quality.items()
        if share > 0
    )
    text = " / ".join(f"{quality[q]:.0%}" for q in _QUALITY_COLOURS)
    return f'<span class="mix">{parts}</span> {text}'


def _table(rows: Sequence[dict[str, Any]]) -> str:
    head = (
        "<tr><th>policy</th><th>profile</th><th>kind</th><th>sessions</th>"
        "<th>success</th><th>p50</th><th>p95</th><th>attempts</th>"
        "<th>quality E / G / P / C</th><th>vs model</th></tr>"
    )
    body = []
    order = {"observed": 0, "live": 1, "simulated": 2}
    for r in sorted(rows, key=lambda r: (r["profile"], r["policy"], order.get(r["kind"], 3))):
        agree, why = r.get("vs_model") or "—", ""
        if r.get("verdict_headline"):
            ks = "" if r.get("ks_to_twin") is None else f"; KS distance {r['ks_to_twin']:.3f}"
            why = f"{r['verdict_headline']}. {r['verdict_details']}{ks}"
        kind = r["kind"] + ("" if r["complete"] else ", interrupted")
        if r["kind"] == "live" and r["time_scale"] != 1:
            kind += f" ×{r['time_scale']:g}"
        body.append(
            "<tr>"
            f"<td>{_e(r['policy'])}</td><td>{_e(r['profile'])}</td><td>{_e(kind)}</td>"
            f"<td>{r['sessions']:,}</td><td>{_pct(r['success_rate'])}</td>"
            f"<td>{_s(r['p50_s'])}</td><td>{_s(r['p95_s'])}</td>"
            f"<td>{r['attempts_mean']:.2f}</td><td>{_mix(r['quality'])}</td>"
            f'<td title="{_e(why)}">{_e(agree)}</td>'
            "</tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


def _figure(fig: go.Figure, number: int) -> str:
    div = fig.to_html(
        full_html=False, include_plotlyjs=False, div_id=f"figure-{number}", config=_CONFIG
    )
    return f'<div class="figure">{div}</div>'


def _figures(
    runs: Sequence[Run], twins: dict[int, tuple[Any, str]], thresholds: QualityThresholds
) -> list[str]:
    parts: list[str] = []
    index = {id(run): i for i, run in enumerate(runs)}
    n = 0
    profiles = dict.fromkeys(run.header.target_name for run in runs)
    for profile in profiles:
        mine = [run for run in runs if run.header.target_name == profile]
        parts.append(f"<h2>{_e(profile)}</h2>")
        named = {}
        for run in mine:
            name = f"{run.header.policy_name or 'custom'} ({run.kind})"
            while name in named:
                name += "′"
            named[name] = run.result
        fig = plot_compare(named, thresholds, title=f"Time to connect on {profile}")
        parts.append(_figure(fig, n := n + 1))
        for run in mine:
            if run.kind == "observed" and run.observations:  # real clients via the proxy
                from ..plots.observe import plot_observed_timeline

                parts.append(
                    f"<h3>{_e(run.label)} <span class='meta'>{_e(run.path.name)}</span></h3>"
                )
                fig = plot_observed_timeline(
                    run,
                    max_clients=TIMELINE_SESSIONS,
                    title=f"Attempts of the first {TIMELINE_SESSIONS} clients · {run.label}",
                )
                parts.append(_figure(fig, n := n + 1))
            if run.kind != "live":
                continue
            parts.append(f"<h3>{_e(run.label)} <span class='meta'>{_e(run.path.name)}</span></h3>")
            if index[id(run)] in twins:
                simulated, _ = twins[index[id(run)]]
                fig = plot_live_vs_simulated(
                    run, simulated, thresholds, title=f"{run.label} vs its simulation"
                )
                parts.append(_figure(fig, n := n + 1))
            fig = plot_quality(run, thresholds, title=f"Connection quality · {run.label}")
            parts.append(_figure(fig, n := n + 1))
            if run.records:
                fig = plot_timeline(
                    run.records,
                    max_sessions=TIMELINE_SESSIONS,
                    title=f"Attempts of the first {TIMELINE_SESSIONS} sessions · {run.label}",
                )
                parts.append(_figure(fig, n := n + 1))
    return parts


def render_report(
    runs: Sequence[Run],
    rows: Sequence[dict[str, Any]],
    found: Sequence[Finding],
    twins: dict[int, tuple[Any, str]],
    *,
    title: str = "Connection report",
    thresholds: QualityThresholds = DEFAULT_THRESHOLDS,
    extra_sections: Sequence[str] = (),
) -> str:
    """The whole HTML document for ``runs`` (``rows`` from compare_runs, ``found`` from
    findings, ``twins`` from :func:`~chatconn.runs.analysis.simulated_twins`;
    ``extra_sections``: HTML parts placed after the figures, e.g. observed runs')."""
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    versions = sorted({str(r.header.versions.get("chatconn")) for r in runs})
    live = sum(r.kind == "live" for r in runs)
    observed = sum(r.kind == "observed" for r in runs)
    seen = f", {observed} observed in production" if observed else ""
    meta = (
        f"{len(runs)} runs ({live} live against the lab or a server{seen}, "
        f"{len(runs) - live - observed} simulated) · recorded with chatconn "
        f"{', '.join(versions)} · generated {made}"
    )
    items = "".join(f'<li class="{_e(f.level)}">{_e(f.text)}</li>' for f in found)
    bounds = thresholds
    how = (
        "Time to connect counts from the first attempt to a usable session (token, "
        "handshake and initial sync included). Quality classes: Excellent under "
        f"{bounds.excellent_below:g} s, Good under {bounds.good_below:g} s, Poor under "
        f"{bounds.poor_below:g} s, Critical above or never connected. Live runs against the lab "
        "are played at a time scale (×0.2: five times faster) and reported in real-world "
        "seconds. p50/p95 are over the users who connected; read them with the success rate. "
        "'vs model' is each live run's verdict against its simulated twin: medians and 90th "
        "percentiles compared within intervals from both sample sizes, allowing what this "
        "machine's own harness (client, chaos proxy and server sharing its CPU) could add at "
        "the run's time scale — the shaded band on the run's overlay; nothing for runs "
        "recorded before chatconn measured it — and success rates by a two-proportion test. "
        "Hover a verdict for the figures side by side."
    )
    files = "".join(
        f"<li>{_e(r.path.name)} — {_e(r.label)}, seed {r.header.seed}, "
        f"{r.sessions:,} sessions, started {_e(r.header.started_at)} on {_e(r.header.host)}</li>"
        for r in runs
    )
    body = "\n".join(
        [
            f"<h1>{_e(title)}</h1>",
            f'<p class="meta">{_e(meta)}</p>',
            "<h2>Findings</h2>",
            f'<ul class="findings">{items}</ul>',
            "<h2>Summary</h2>",
            _table(rows),
            f'<p class="meta">{_e(how)}</p>',
            *_figures(runs, twins, thresholds),
            *extra_sections,
            "<h2>Runs in this report</h2>",
            f'<ul class="meta">{files}</ul>',
        ]
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script>'
        f"</head><body>\n{body}\n</body></html>\n"
    )
