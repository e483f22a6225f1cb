"""``chatconn import``: a file of production timings into an observed run file.

::

    chatconn import FILE [--format csv|jsonl|har] --out RUN.jsonl|DIR/
                    [--map COLUMN=FIELD ...] [--skip-bad] [--policy NAME [--set ...]]
                    [--name TEXT] [--url-match REGEX] [--force] [--json]

Wire it with ``add_import_parser(subparsers)``; ``run_import(args)`` returns the report
and ``print_import(report, out)`` writes it for people.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

import numpy as np

from ..argtypes import add_policy_args, policy_label
from .fields import FIELDS

__all__ = ["add_import_parser", "print_import", "run_import"]


def add_import_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``import`` command to an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "import",
        help="production timings (CSV, JSON Lines, HAR) into an observed run file",
        description="Turn observed connection timings into a run file (kind 'observed') "
        "that runs, report and calibrate read. Fields: " + ", ".join(FIELDS) + ", label:NAME.",
    )
    p.add_argument("source", metavar="FILE")
    p.add_argument("--format", choices=("csv", "jsonl", "har"), help="default: from the suffix")
    p.add_argument("--out", required=True, metavar="RUN.jsonl|DIR/", help="the run file to write")
    p.add_argument(
        "--map",
        dest="mapping",
        action="append",
        default=[],
        metavar="COLUMN=FIELD",
        help="read COLUMN as FIELD, e.g. --map latency_ms=duration_ms --map os=label:os",
    )
    p.add_argument("--skip-bad", action="store_true", help="leave bad rows out and count them")
    add_policy_args(p, base="the policy your clients ran", change="a field of that policy")
    p.add_argument("--name", help="what to call these users (default: the file's name)")
    p.add_argument("--url-match", help="HAR: only attempts whose URL matches this regex")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    return p


def run_import(args: argparse.Namespace, policy: Any) -> dict[str, Any]:
    """Import the file the parsed arguments name; return the JSON-ready report."""
    from . import import_timings

    path, observed = import_timings(
        args.source,
        args.out,
        policy=policy,
        policy_name=policy_label(args.policy, args.assignments, policy),
        name=args.name,
        force=args.force,
        format=args.format,
        mapping=args.mapping,
        skip_bad=args.skip_bad,
        url_match=args.url_match,
    )
    from ..outcomes import SessionOutcomes

    summary = SessionOutcomes(
        policy=policy,
        target=args.name or path.stem,
        seed=0,
        profile_names=("observed",),
        connected=observed.connected,
        ended_at=observed.ended_at,
        attempts=observed.attempts,
        strategy=observed.strategy,
        last_error=observed.last_error,
        profile=np.zeros(observed.sessions, dtype=np.int8),
        kind="observed",
    ).summary()
    summary.pop("elapsed_s", None)
    summary.pop("sessions_per_s", None)
    return {
        "run_file": str(path),
        **observed.describe(),
        "segments": {k: sorted(set(v)) for k, v in observed.segments.items()},
        **summary,
    }


def print_import(report: dict[str, Any], out: TextIO) -> None:
    """The import's report for people: what was read, assumed and written."""
    w = out.write
    t = report["time_to_connect_s"]
    w(
        f"{report['source']} ({report['format']}): {report['sessions']} sessions from "
        f"{report['rows']} rows -> {report['run_file']}\n"
    )
    if report["skipped"]:
        w(f"  skipped {report['skipped']} bad rows:\n")
        for problem in report["problems"]:
            w(f"    {problem}\n")
    w(f"  success rate      {report['success_rate']:.2%}\n")
    p50, p95 = t["p50"], t["p95"]
    if p50 is not None:
        w(f"  time to connect   p50 {p50:.3f} s  p95 {p95:.3f} s\n")
    if report["segments"]:
        for label, values in report["segments"].items():
            w(f"  segment {label}: {', '.join(values)}\n")
    if report["ignored_columns"]:
        w(f"  ignored columns   {', '.join(report['ignored_columns'])}\n")
    if not report["attempts_known"]:
        w("  no attempts column: every session counted as one attempt\n")
    if not report["transport_known"]:
        w("  no transport column: connected sessions counted as direct WebSocket\n")
    if report["unrecognised_errors"]:
        w(
            f"  {report['unrecognised_errors']} failures without a recognised error: counted "
            "as timeouts\n"
        )
