"""Stakeholder reports: recorded runs as one self-contained HTML file.

::

    from chatconn.report import write_report
    write_report(["data/runs"], "report.html")      # or: chatconn report data/runs --out ...

The file embeds plotly.js once and fetches nothing when opened, so it can be mailed or
opened offline. Findings are written in plain language (:mod:`chatconn.report.findings`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from ..core.errors import RunFileError
from ..core.quality import DEFAULT_THRESHOLDS, QualityThresholds
from ..runs.analysis import compare_runs, simulated_twins
from ..runs.load import load_runs
from ..runs.run import Run
from .document import render_report
from .findings import Finding, findings
from .observed import observed_sections

__all__ = ["Finding", "build_report", "findings", "write_report"]


def build_report(
    runs: Sequence[Run],
    *,
    title: str = "Connection report",
    thresholds: QualityThresholds = DEFAULT_THRESHOLDS,
) -> tuple[str, list[Finding]]:
    """The report's HTML and its findings, for runs already loaded."""
    if not runs:
        raise RunFileError("(none)", "no runs to report on")
    twins = simulated_twins(runs)  # once: a replayed twin is simulated (and warned of) once
    rows = compare_runs(runs, thresholds, twins=twins)
    found = findings(rows, thresholds)
    observed = observed_sections(runs, thresholds)  # production timings, if any were imported
    html = render_report(
        runs, rows, found, twins, title=title, thresholds=thresholds, extra_sections=observed
    )
    return html, found


def write_report(
    sources: Sequence[str | os.PathLike[str] | Run],
    out: str | os.PathLike[str],
    *,
    force: bool = False,
    title: str = "Connection report",
    thresholds: QualityThresholds = DEFAULT_THRESHOLDS,
) -> tuple[Path, list[Finding]]:
    """Load runs (files, directories or Run objects), write the report to ``out``; never
    replaces a file unless ``force``. Returns the path and the findings."""
    out = Path(out)
    if out.is_dir():
        raise RunFileError(out, "is a directory; give the report's file name")
    if out.exists() and not force:
        raise RunFileError(out, "the file exists; pass --force (force=True) to replace it")
    if isinstance(sources, str | os.PathLike | Run):
        sources = [sources]  # one file, directory or run
    paths = [s for s in sources if not isinstance(s, Run)]
    runs = [s for s in sources if isinstance(s, Run)] + (load_runs(paths) if paths else [])
    document, found = build_report(runs, title=title, thresholds=thresholds)
    partial = out.with_name(out.name + ".partial")
    try:  # written whole, then renamed: a crash never leaves half a report under `out`
        out.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(document, encoding="utf-8")
        os.replace(partial, out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise RunFileError(out, f"cannot write it: {exc.strerror or exc}") from None
    return out, found
