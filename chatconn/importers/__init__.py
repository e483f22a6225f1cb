"""Production timings in: CSV, JSON Lines and HAR files as *observed* run files.

::

    from chatconn.importers import import_timings
    path, observed = import_timings("prod.csv", "data/runs/mine/prod.jsonl",
                                    mapping=["latency_ms=duration_ms", "ok=connected"])
    # or: chatconn import prod.csv --out data/runs/mine/prod.jsonl --map latency_ms=duration_ms

The run file (kind ``"observed"``) is read by everything that reads runs — ``chatconn
runs``, ``report`` (with a section of its own), ``calibrate`` (a profile fitted to your
users), :func:`chatconn.runs.load_run` — and its labels (region, client version, network
type) become segments (:func:`chatconn.runs.segments.by_segment`).

Modules: :mod:`~chatconn.importers.fields` (what a column may say and how values are
read), :mod:`~chatconn.importers.tabular` (CSV and JSON Lines rows with line numbers),
:mod:`~chatconn.importers.har` (browser HAR files), :mod:`~chatconn.importers.observed`
(rows checked into per-session arrays), :mod:`~chatconn.importers.write` (the run file,
written whole or not at all).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..core.errors import ConfigError
from ..core.policy import RetryPolicy
from ..core.presets import policy_preset
from .errors import TimingsFileError
from .fields import FIELDS, parse_mapping
from .har import sessions_from_har
from .observed import ObservedSessions, sessions_from_rows
from .tabular import read_csv, read_jsonl
from .write import write_observed

__all__ = [
    "FIELDS",
    "FORMATS",
    "ObservedSessions",
    "TimingsFileError",
    "import_timings",
    "read_timings",
]

FORMATS = ("csv", "jsonl", "har")
_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".har": "har"}


def _format_of(path: Path, format: str | None) -> str:
    if format is not None:
        if format not in FORMATS:
            raise ConfigError("format", format, "expected one of " + ", ".join(FORMATS))
        return format
    try:
        return _SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise ConfigError(
            "format",
            path.suffix or "(no suffix)",
            "cannot tell the format from the file name; give --format csv, jsonl or har",
        ) from None


def read_timings(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    mapping: Iterable[str] | Mapping[str, str] = (),
    skip_bad: bool = False,
    url_match: str | None = None,
) -> ObservedSessions:
    """Read a file of timings into checked sessions (nothing written).

    ``format``: csv, jsonl or har (default: from the suffix). ``mapping``: ``COLUMN=FIELD``
    texts or a ``{column: field}`` dict (CSV/JSON Lines). ``skip_bad``: leave bad rows out
    and count them instead of stopping at the first. ``url_match`` (HAR): a regular
    expression the attempts' URLs must match.
    """
    path = Path(path)
    kind = _format_of(path, format)
    if kind == "har":
        if mapping:
            raise ConfigError("--map", list(mapping), "HAR files have no columns to map")
        return sessions_from_har(path, skip_bad=skip_bad, url_match=url_match)
    header, rows = (read_csv if kind == "csv" else read_jsonl)(path)
    try:
        columns = parse_mapping(header, mapping)
    except ConfigError as exc:
        raise TimingsFileError(path, str(exc)) from None
    return sessions_from_rows(
        rows, columns, path=path, format=kind, header=header, skip_bad=skip_bad
    )


def import_timings(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    policy: RetryPolicy | str = "seed",
    policy_name: str | None = None,
    name: str | None = None,
    force: bool = False,
    **read_options,
) -> tuple[Path, ObservedSessions]:
    """Read a file of timings and write it as an observed run file at ``out``.

    ``policy``: the policy your clients ran when the timings were taken (a preset name or a
    :class:`RetryPolicy`); it is what ``report`` simulates on the profile fitted to them.
    ``name``: what the run calls its population (default: the file's stem). Returns the
    run file's path and the sessions read. The file is complete or absent: see
    :mod:`chatconn.importers.write`.
    """
    if isinstance(policy, str):
        policy_name = policy_name or policy
        policy = policy_preset(policy)
    observed = read_timings(path, **read_options)
    written = write_observed(observed, out, policy, force=force, policy_name=policy_name, name=name)
    return written, observed
