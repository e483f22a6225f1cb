"""argparse value types shared by every ``chatconn`` command (one message style)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "add_policy_args",
    "bounded_int",
    "non_negative_float",
    "policy_label",
    "port",
    "positive_float",
    "positive_int",
    "seed",
]


def _int(text: str, what: str = "a whole number") -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def bounded_int(limit: int) -> Callable[[str], int]:
    """A positive whole number of at most ``limit``."""

    def parse(text: str) -> int:
        value = positive_int(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"expected at most {limit:,}, got {value:,}")
        return value

    return parse


def seed(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def time_scale(text: str) -> float | str:
    """``auto`` (chosen from this machine's measured harness floor) or a number > 0."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return positive_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected auto or a number > 0, got {text!r}") from None


def port(text: str) -> int:
    """A port P for a service that also uses P+1..P+3."""
    value = _int(text, "a port number")
    if not 1 <= value <= 65532:
        raise argparse.ArgumentTypeError(f"expected a port in 1-65532 (uses P..P+3), got {value}")
    return value


def add_policy_args(
    parser: argparse.ArgumentParser, *, base: str = "a preset", change: str = "a policy field"
) -> None:
    """``--policy NAME`` and repeatable ``--set FIELD=VALUE`` (read by
    :func:`chatconn.cli.policy_from_args`), for every command that takes a policy."""
    from .core.presets import POLICY_PRESETS

    parser.add_argument("--policy", default="seed", help=f"{base}: " + ", ".join(POLICY_PRESETS))
    parser.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help=f"change {change}, e.g. --set jitter=0.2 (repeatable)",
    )


def policy_label(name: str, assignments: Sequence[str], policy: Any) -> str:
    """What a report calls the policy of ``--policy NAME --set ...``: the preset's name
    while no ``--set`` changed it, else the preset it now equals, else "NAME (modified)"."""
    if not assignments:
        return name
    from .core.presets import policy_preset_name_of

    return policy_preset_name_of(policy) or f"{name} (modified)"
