"""``chatconn export``: a policy as configuration or code for a real client.

::

    chatconn export --policy NAME [--set FIELD=VALUE ...] --format FORMAT [--json]

Without ``--json`` it prints the configuration or code on stdout (ready to redirect into
a file) and, on stderr, what the client will do differently from the policy, per retry.
With ``--json``: one document with the text, the options, both policies and the diff.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from ..argtypes import add_policy_args, policy_label

__all__ = ["add_export_parser", "print_export", "run_export"]


def add_export_parser(subparsers: Any) -> argparse.ArgumentParser:
    from . import export_formats

    p = subparsers.add_parser(
        "export",
        help="the policy as configuration or code for a real client, and what differs",
    )
    add_policy_args(p)
    p.add_argument("--format", required=True, choices=export_formats())
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    return p


def run_export(args: argparse.Namespace, policy: Any) -> dict[str, Any]:
    from . import export_policy

    out = export_policy(policy, args.format)
    return {"policy": policy_label(args.policy, args.assignments, policy), **out.to_dict()}


def differences(report: dict[str, Any]) -> list[str]:
    """What the export's client does unlike the asked policy, in words."""
    return [*report["diff"]["differences"], *report["notes"]]


def print_export(report: dict[str, Any], out: TextIO, err: TextIO | None = None) -> None:
    """The text on ``out``; the differences on ``err`` (stderr), so ``> file`` keeps only
    the configuration."""
    err = sys.stderr if err is None else err
    out.write(report["text"])
    lines = differences(report)
    if not lines:
        err.write(f"chatconn: {report['format']} follows {report['policy']} exactly\n")
        return
    err.write(f"chatconn: {report['format']} differs from {report['policy']}:\n")
    for line in lines:
        err.write(f"  - {line}\n")
