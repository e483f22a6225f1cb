"""Observed runs split by their labels: per segment, the sessions as a result of their own.

An observed run (:mod:`chatconn.importers`) carries labels per session — region, client
version, network type, ... — in :attr:`Run.segments`. :func:`by_segment` gives one
:class:`~chatconn.simulate.SessionOutcomes` per value of a label, so every plot and
summary that takes a result takes a segment; :func:`segment_rows` tabulates them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..core.errors import UnknownNameError
from ..core.quality import DEFAULT_THRESHOLDS, QualityThresholds
from ..outcomes import SessionOutcomes
from .run import Run

__all__ = ["by_segment", "segment_rows"]

_ARRAYS = ("connected", "ended_at", "attempts", "strategy", "last_error", "profile")


def by_segment(run: Run, label: str) -> dict[str, SessionOutcomes]:
    """``{value: the sessions with that value}``, largest segment first."""
    if label not in run.segments:
        raise UnknownNameError("segment label", label, tuple(run.segments))
    values = run.segments[label]
    names, counts = np.unique(values, return_counts=True)
    out = {}
    for name in names[np.argsort(-counts, kind="stable")]:
        mask = values == name
        arrays = {a: getattr(run.result, a)[mask] for a in _ARRAYS}
        out[str(name)] = replace(run.result, target=f"{label}={name}", **arrays)
    return out


def segment_rows(
    run: Run, label: str, thresholds: QualityThresholds = DEFAULT_THRESHOLDS
) -> list[dict[str, Any]]:
    """One row per value of ``label``: sessions, success rate, p50/p95 time to connect."""
    rows = []
    for name, result in by_segment(run, label).items():
        s = result.summary(thresholds)
        rows.append(
            {
                "label": label,
                "value": name,
                "sessions": s["sessions"],
                "success_rate": s["success_rate"],
                "p50_s": s["time_to_connect_s"]["p50"],
                "p95_s": s["time_to_connect_s"]["p95"],
                "quality": s["quality"],
            }
        )
    return rows
