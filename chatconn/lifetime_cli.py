"""``chatconn lifetime``: sessions that last, from the command line.

::

    chatconn lifetime --policy seed [--set diagnostics=true] --profile corporate-firewall \\
        [--sessions N] [--hours H] [--heartbeat-interval-s 25] [--heartbeat-timeout-s 10] \\
        [--seed S] [--json]

Prints :meth:`chatconn.lifetime.LifetimeResult.summary`: time disconnected per hour, the
drop-detection delay, drops, reconnects and failed connects per hour.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from .argtypes import add_policy_args, policy_label, positive_int, seed

__all__ = ["add_lifetime_parser", "print_lifetime", "run_lifetime"]


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def add_lifetime_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``lifetime`` command to an ``argparse`` subparsers object."""
    from .core.lifetime import DEFAULT_HEARTBEAT_INTERVAL_S, DEFAULT_HEARTBEAT_TIMEOUT_S

    p = subparsers.add_parser(
        "lifetime",
        help="sessions that last: drops, heartbeat detection, reconnects per hour",
    )
    add_policy_args(p)
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.add_argument("--profile", default="global-users", help="a profile or population name")
    p.add_argument("--sessions", type=positive_int, default=10_000)
    p.add_argument("--hours", type=_positive_float, default=1.0)
    p.add_argument(
        "--heartbeat-interval-s", type=_positive_float, default=DEFAULT_HEARTBEAT_INTERVAL_S
    )
    p.add_argument(
        "--heartbeat-timeout-s", type=_positive_float, default=DEFAULT_HEARTBEAT_TIMEOUT_S
    )
    return p


def run_lifetime(args: argparse.Namespace, policy: Any) -> dict[str, Any]:
    """The report of ``chatconn lifetime``."""
    from .core.lifetime import HeartbeatConfig
    from .core.profiles import load_target
    from .lifetime import simulate_lifetime

    heartbeat = HeartbeatConfig(args.heartbeat_interval_s, args.heartbeat_timeout_s)
    result = simulate_lifetime(
        policy, load_target(args.profile), args.sessions, hours=args.hours,
        heartbeat=heartbeat, seed=args.seed,
    )  # fmt: skip
    label = policy_label(args.policy, args.assignments, policy)
    return {"policy": label, "profile": args.profile, "seed": args.seed, **result.summary()}


def print_lifetime(report: dict[str, Any], stream: TextIO) -> None:
    out = stream.write
    d = report["disconnected_s_per_hour"]
    hb = report["heartbeat"]
    out(
        f"{report['policy']} on {report['profile']}: {report['sessions']} sessions of "
        f"{report['hours']:g} h, heartbeat {hb['interval_s']:g} s + {hb['timeout_s']:g} s\n"
    )
    out(
        f"  disconnected per hour  mean {d['mean']:.1f} s  p50 {d['p50']:.1f} s  "
        f"p90 {d['p90']:.1f} s  p99 {d['p99']:.1f} s\n"
    )
    det = report["detection_s"]
    if det is not None:
        out(f"  drop noticed after     p50 {det['p50']:.1f} s  p90 {det['p90']:.1f} s\n")
    out(
        f"  per hour               drops {report['drops_per_hour']:.2f}  reconnects "
        f"{report['reconnects_per_hour']:.2f}  failed connects "
        f"{report['failed_connects_per_hour']:.2f}\n"
    )
