"""``chatconn tune``: sweep a grid of policies, print the Pareto front and a recommendation.

::

    chatconn tune --policy BASE [--set FIELD=VALUE ...] --vary FIELD=V1,V2,... [--vary ...]
                  [--profile NAME] [--sessions N] [--seed S]
                  [--clients N] [--outage-s S] [--capacity C] [--attempt-s S] [--within-s S]
                  [--objective TEXT] [--workers N] [--max-policies N] [--json]

``--vary`` lists the values to try for one field (repeatable; the grid is every combination).
Values are written as for ``--set``; for the list fields ``delays`` and ``ladder``, whose
values contain commas, alternatives are separated by ``|`` instead
(``--vary "delays=0,2,10|1,5,10"``). ``--objective`` takes the text form of
:mod:`chatconn.tune.objective`. ``--workers N`` scores on a pool of N processes (1: in this
process); by default a pool of one process per core when the sweep is large enough to pay
for starting it (:mod:`chatconn.tune.executor`: faster here than serial and than a local
dask cluster).

Wire it into a command line with ``add_tune_parser(subparsers)``; for the parsed arguments
of that command ``run_tune(args)`` returns the report and ``print_tune(report, out)`` writes
it as text.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Sequence
from typing import Any, TextIO

from ..argtypes import (
    add_policy_args,
    bounded_int,
    non_negative_float,
    parse_assignment,
    policy_from_args,
    policy_label,
    positive_float,
    positive_int,
    seed,
)
from ..core.errors import ConfigError, UnknownNameError
from ..core.policy import RetryPolicy
from ..core.profiles import load_target
from ..storm import DEFAULT_ATTEMPT_S
from .executor import default_workers, pooled
from .grid import DEFAULT_GRID_LIMIT, ParameterGrid
from .objective import DEFAULT_OBJECTIVE, parse_objective
from .recommend import recommend
from .score import DEFAULT_CAPACITY, DEFAULT_CLIENTS, DEFAULT_OUTAGE_S, DEFAULT_SESSIONS
from .sweep import sweep

__all__ = ["MAX_WORKERS", "add_tune_parser", "parse_vary", "print_tune", "run_tune"]

#: Upper bound of ``--workers``.
MAX_WORKERS = 64
#: Fields whose values are lists (comma-separated): ``--vary`` separates their values with |.
LIST_FIELDS = ("delays", "ladder")


def add_tune_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``tune`` command to an ``argparse`` subparsers object; returns its parser."""
    p = subparsers.add_parser(
        "tune",
        help="sweep a grid of policies: scores, Pareto front and a recommendation",
        description=(
            "Score every combination of --vary values applied to a base policy (simulation "
            "and reconnect storm, same seed for every policy), then recommend one for "
            "--objective."
        ),
    )
    add_policy_args(p, base="the base preset", change="a field of the base policy")
    p.add_argument(
        "--vary",
        action="append",
        required=True,
        metavar="FIELD=V1,V2,...",
        help="values to try for a field, e.g. --vary jitter=0,0.2,0.5 (repeatable; "
        "delays and ladder separate values with |)",
    )
    p.add_argument("--profile", default="global-users", help="a profile or population name")
    p.add_argument("--sessions", type=positive_int, default=DEFAULT_SESSIONS)
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--clients", type=positive_int, default=DEFAULT_CLIENTS)
    p.add_argument("--outage-s", type=non_negative_float, default=DEFAULT_OUTAGE_S)
    p.add_argument(
        "--capacity", type=positive_int, default=DEFAULT_CAPACITY, help="handshakes per second"
    )
    p.add_argument("--attempt-s", type=positive_float, default=DEFAULT_ATTEMPT_S)
    p.add_argument(
        "--within-s",
        type=positive_float,
        default=None,
        help="count a session as a success only if it connected within this many seconds",
    )
    p.add_argument(
        "--objective",
        default=str(DEFAULT_OBJECTIVE),
        help=f"e.g. 'min p95_s; peak_over_capacity <= 2; success_rate >= 99%%' "
        f"(default: {str(DEFAULT_OBJECTIVE).replace('%', '%%')})",
    )
    p.add_argument(
        "--workers",
        type=bounded_int(MAX_WORKERS),
        default=None,
        help="score on a pool of N processes; 1: in this process (default: one per core "
        "when policies x (sessions + clients) >= 10^6, else in this process)",
    )
    p.add_argument(
        "--max-policies",
        type=positive_int,
        default=DEFAULT_GRID_LIMIT,
        help="refuse grids with more combinations than this",
    )
    p.add_argument(
        "--export",
        metavar="FORMAT",
        help="ship it: end with the recommended policy exported for this client "
        "(socketio, signalr, stream-chat, websockets, tenacity, grpc, json)",
    )
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    return p


def parse_vary(text: str) -> tuple[str, list[Any]]:
    """``FIELD=V1,V2,...`` from ``--vary`` into a field name and its typed values.

    Raises ConfigError naming ``--vary`` (bad form, unknown field) or the field (bad value).
    """
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ConfigError("--vary", text, "expected FIELD=V1,V2,..., e.g. --vary jitter=0,0.2,0.5")
    if name not in RetryPolicy.field_names():
        raise UnknownNameError("--vary field", name, RetryPolicy.field_names())
    parts = [part.strip() for part in raw.split("|" if name in LIST_FIELDS else ",")]
    if any(not part for part in parts):
        sep = "|" if name in LIST_FIELDS else ","
        raise ConfigError("--vary", text, f"an empty value; separate {name} values with {sep}")
    return name, [parse_assignment(f"{name}={part}")[1] for part in parts]


def run_tune(args: argparse.Namespace) -> dict[str, Any]:
    """Run the sweep the parsed ``tune`` arguments describe; return the JSON-ready report."""
    base = policy_from_args(args.policy, args.assignments)
    axes: dict[str, list[Any]] = {}
    for text in args.vary:
        name, values = parse_vary(text)
        if name in axes:
            raise ConfigError("--vary", name, "this field is given twice; list every value once")
        axes[name] = values
    grid = ParameterGrid(axes, limit=args.max_policies)
    target = load_target(args.profile)
    objective = parse_objective(args.objective)  # fail before the sweep, not after it
    export_format = getattr(args, "export", None)
    if export_format is not None:
        from ..export import export_formats

        if export_format not in export_formats():
            raise UnknownNameError("--export", export_format, export_formats())
    options = {
        "sessions": args.sessions,
        "seed": args.seed,
        "clients": args.clients,
        "outage_s": args.outage_s,
        "capacity": args.capacity,
        "attempt_s": args.attempt_s,
        "within_s": args.within_s,
    }
    workers = args.workers
    if workers is None:  # what is faster here (chatconn.tune.executor)
        valid = sum(p.ok for p in grid.points(base))
        workers = default_workers(valid, args.sessions + args.clients)
    with pooled(workers) as pool:
        result = sweep(base, grid, target, executor=pool, **options)
    rec = recommend(result, objective)
    shipped = None
    if export_format is not None and rec.policy is not None:
        from ..export import export_policy

        shipped = export_policy(rec.policy, export_format).to_dict()
    return {
        "policy": policy_label(args.policy, args.assignments, base),
        "profile": args.profile,
        "seed": args.seed,
        "workers": workers if workers > 1 else 0,
        "objective": str(objective),
        **result.to_dict(),
        "recommendation": rec.to_dict(),
        **({"ship_it": shipped} if export_format is not None else {}),
    }


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _num(value: float | None, spec: str) -> str:
    """``value`` formatted by ``spec``; "-" right-aligned to the same width when undefined."""
    if value is None:
        width = spec.split(".")[0]
        return "-".rjust(int(width) if width.isdigit() else 1)
    return format(value, spec)


def _pct(share: float | None) -> float | None:
    return None if share is None else 100 * share


def print_tune(report: dict[str, Any], out: TextIO, *, width: int = 100) -> None:
    """The report of :func:`run_tune` as a table, the rejected combinations and the advice."""
    s = report["settings"]
    policies: Sequence[dict[str, Any]] = report["policies"]
    rec = report["recommendation"]
    chosen = rec["chosen"]["index"] if rec["chosen"] else None
    out.write(
        f"{report['policy']} on {report['profile']}: {_count(len(policies), 'policy', 'policies')} "
        "scored, "
        f"{len(report['rejected'])} rejected; {s['sessions']:,} sessions each, storm of "
        f"{s['clients']:,} clients after a {s['outage_s']:g} s outage at "
        f"{s['capacity_per_s']:,}/s; seed {s['seed']}\n"
    )
    label_width = min(48, max([len("policy"), *(len(p["label"]) for p in policies)]))
    out.write(
        f"{'#':>4}  {'policy':<{label_width}}  {'p95 s':>7}  {'success':>8}  "
        f"{'attempts':>8}  {'peak/cap':>8}  {'99% back s':>10}  {'back':>7}  {'lockstep':>13}\n"
    )
    for p in policies:
        sc = p["scores"]
        marks = ("front" if p["pareto"] else "") + (" <- chosen" if p["index"] == chosen else "")
        label = p["label"]
        if len(label) > label_width:
            label = label[: label_width - 1] + "…"
        row = (
            f"{p['index']:>4}  {label:<{label_width}}  {_num(sc['p95_s'], '7.3f')}  "
            f"{100 * sc['success_rate']:7.2f}%  {sc['attempts_mean']:8.3f}  "
            f"{sc['peak_over_capacity']:8.2f}  {_num(sc['reconnected_99_s'], '10.1f')}  "
            f"{100 * sc['storm_back_share']:6.1f}%  "
            f"{sc['lockstep']:>9} {_num(_pct(sc['lockstep_share']), '3.0f')}%  {marks}"
        )
        out.write(row.rstrip() + "\n")
    for r in report["rejected"]:
        out.write(f"rejected #{r['index']} ({r['label']}): {r['reason']}\n")
    out.write(f"\nobjective: {report['objective']}\n")
    out.write(textwrap.fill(rec["explanation"], width=width) + "\n")
    if "ship_it" in report:
        _print_ship_it(report["ship_it"], out)


def _print_ship_it(shipped: dict[str, Any] | None, out: TextIO) -> None:
    """The recommended policy as the client's configuration, and what that client changes."""
    if shipped is None:
        out.write("\nship it: no policy meets the objective, so nothing is exported\n")
        return
    out.write(f"\nship it ({shipped['format']}):\n{shipped['text']}")
    lines = [*shipped["diff"]["differences"], *shipped["notes"]]
    if not lines:
        out.write(f"{shipped['format']} follows the recommended policy exactly\n")
    for line in lines:
        out.write(f"  - {line}\n")
