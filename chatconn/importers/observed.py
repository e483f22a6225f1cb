"""Rows of timings into observed sessions: checked values, per-session arrays, segments.

Pure: :func:`sessions_from_rows` takes ``(line, mapping)`` rows and a column
:class:`~chatconn.importers.fields.ColumnMapping` and returns :class:`ObservedSessions`. A bad
row raises :class:`~chatconn.importers.errors.TimingsFileError` naming the file and line,
or with ``skip_bad`` is counted (the first few problems are kept to show the user).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.strategies import ErrorCategory, Strategy
from .errors import TimingsFileError
from .fields import (
    DURATION_FIELDS,
    MAX_SEGMENT_VALUES,
    ColumnMapping,
    parse_attempts,
    parse_bool,
    parse_duration,
    parse_error,
    parse_label,
    parse_started_at,
    parse_transport,
)

__all__ = ["MAX_SHOWN_PROBLEMS", "ObservedSessions", "sessions_from_rows"]

#: How many skipped rows' problems an import keeps to show (all are counted).
MAX_SHOWN_PROBLEMS = 10


@dataclass(frozen=True, slots=True, eq=False)
class ObservedSessions:
    """Sessions read from a file of timings, ready to be written as an observed run.

    Arrays are per session, in file order: ``ended_at`` seconds (to connected, or to
    giving up), ``strategy`` a :attr:`Strategy.code` (-1: failed), ``last_error`` an
    :class:`ErrorCategory` value, ``started`` Unix seconds (NaN: unknown). ``segments``
    maps each label to its values per session. The counters say what was assumed:
    ``attempts_known`` False means every session was counted as one attempt;
    ``transport_known`` False that connected sessions were counted as direct WebSocket;
    ``unrecognised_errors`` failures whose error text matched no rule (counted as
    timeouts); ``skipped`` rows left out with ``skip_bad`` (``problems``: the first few).
    """

    source: str
    format: str
    connected: np.ndarray
    ended_at: np.ndarray
    attempts: np.ndarray
    strategy: np.ndarray
    last_error: np.ndarray
    started: np.ndarray
    segments: dict[str, list[str]] = field(default_factory=dict)
    mapping: dict[str, str] = field(default_factory=dict)
    ignored_columns: tuple[str, ...] = ()
    rows: int = 0
    skipped: int = 0
    problems: tuple[str, ...] = ()
    attempts_known: bool = False
    transport_known: bool = False
    unrecognised_errors: int = 0

    @property
    def sessions(self) -> int:
        return int(self.connected.size)

    def describe(self) -> dict[str, Any]:
        """What the import read and assumed, JSON-ready (goes into the run's header)."""
        return {
            "source": self.source,
            "format": self.format,
            "rows": self.rows,
            "sessions": self.sessions,
            "skipped": self.skipped,
            "problems": list(self.problems),
            "mapping": dict(self.mapping),
            "ignored_columns": list(self.ignored_columns),
            "attempts_known": self.attempts_known,
            "transport_known": self.transport_known,
            "unrecognised_errors": self.unrecognised_errors,
        }


def sessions_from_rows(
    rows: Iterable[tuple[int, dict[str, Any]]],
    mapping: ColumnMapping,
    *,
    path: str | Path,
    format: str,
    header: Iterable[str] = (),
    skip_bad: bool = False,
) -> ObservedSessions:
    """Check and convert every row (see :mod:`chatconn.importers.fields` for the values)."""
    cols = mapping.columns
    duration_field = next(f for f in DURATION_FIELDS if f in cols)
    connected, ended, attempts, strategy, errors, started = [], [], [], [], [], []
    labels: dict[str, list[str]] = {name: [] for name in mapping.labels}
    problems: list[str] = []
    skipped = unrecognised = read = 0
    for line, row in rows:
        read += 1
        try:
            values = _row(row, cols, duration_field, mapping.labels)
        except ValueError as exc:
            if not skip_bad:
                raise TimingsFileError(
                    path, f"{exc} (--skip-bad leaves such rows out)", line
                ) from None
            skipped += 1
            if len(problems) < MAX_SHOWN_PROBLEMS:
                problems.append(f"line {line}: {exc}")
            continue
        ok, seconds, tries, via, category, known, start, row_labels = values
        unrecognised += not known
        connected.append(ok)
        ended.append(seconds)
        attempts.append(tries)
        strategy.append(via)
        errors.append(category)
        started.append(start)
        for name, value in row_labels.items():
            labels[name].append(value)
    if not connected:
        why = f"all {read} rows were bad" if read else "no rows of timings"
        raise TimingsFileError(path, f"nothing to import: {why}")
    for name, texts in labels.items():
        distinct = len(set(texts))
        if distinct > MAX_SEGMENT_VALUES:
            raise TimingsFileError(
                path,
                f"label {name!r} ({mapping.labels[name]}) has {distinct} different values, more "
                f"than {MAX_SEGMENT_VALUES}: an identifier is not a segment; leave it unmapped",
            )
    used = mapping.used()
    return ObservedSessions(
        source=Path(path).name,
        format=format,
        connected=np.array(connected, dtype=bool),
        ended_at=np.array(ended, dtype=float),
        attempts=np.array(attempts, dtype=np.int16),
        strategy=np.array(strategy, dtype=np.int8),
        last_error=np.array(errors, dtype=np.int8),
        started=np.array([math.nan if s is None else s for s in started], dtype=float),
        segments=labels,
        mapping={
            **{f: c for f, c in cols.items()},
            **{f"label:{k}": c for k, c in mapping.labels.items()},
        },
        ignored_columns=tuple(c for c in header if c not in used),
        rows=read,
        skipped=skipped,
        problems=tuple(problems),
        attempts_known="attempts" in cols,
        transport_known="transport" in cols,
        unrecognised_errors=unrecognised,
    )


def _row(
    row: dict[str, Any], cols: dict[str, str], duration_field: str, label_cols: dict[str, str]
) -> tuple[bool, float, int, int, int, bool, float | None, dict[str, str]]:
    ok = parse_bool(row.get(cols["connected"]))
    seconds = parse_duration(row.get(cols[duration_field]), duration_field)
    tries = 1
    if "attempts" in cols and str(row.get(cols["attempts"], "")).strip():
        tries = parse_attempts(row[cols["attempts"]])
    via = -1
    if ok:
        via = Strategy.DIRECT_WEBSOCKET.code
        if "transport" in cols and str(row.get(cols["transport"], "")).strip():
            via = parse_transport(row[cols["transport"]]).code
    category, known = ErrorCategory.NONE, True
    if "error" in cols:
        category, known = parse_error(row.get(cols["error"]))
    if not ok and category is ErrorCategory.NONE:  # a failure with no error text
        category, known = ErrorCategory.TIMEOUT, False
    start = parse_started_at(row.get(cols["started_at"])) if "started_at" in cols else None
    labels = {name: parse_label(row.get(column), name) for name, column in label_cols.items()}
    return ok, seconds, tries, via, int(category), known, start, labels
