"""argparse value types and policy arguments shared by every ``chatconn`` command (one message
style): the command modules (:mod:`chatconn.cli`, :mod:`chatconn.tune.cli`, ...) import them
from here, never from each other."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from typing import Any

from .core.errors import ChatconnError, ConfigError
from .core.policy import RetryPolicy
from .core.presets import policy_preset

__all__ = [
    "UsageError",
    "add_policy_args",
    "bounded_int",
    "non_negative_float",
    "parse_assignment",
    "policy_from_args",
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
    :func:`policy_from_args`), for every command that takes a policy."""
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


class UsageError(ChatconnError):
    """Bad command-line input; printed as one line, exit code 2."""


_FLOAT_FIELDS = {
    "base_timeout",
    "max_timeout",
    "timeout_growth",
    "extended_timeout",
    "initial_delay",
    "multiplier",
    "max_delay",
    "jitter",
}
_OPTIONAL_FLOAT_FIELDS = {"first_delay", "deadline"}
_BOOL_FIELDS = {"timeout_spans_backoff", "cap_after_jitter", "retries_forever"}
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _number(field: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(field, text, "expected a number") from None


def parse_assignment(text: str) -> tuple[str, Any]:
    """``FIELD=VALUE`` from ``--set`` into a policy field name and a typed value."""
    name, sep, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    if not sep or not name:
        raise UsageError(
            f"chatconn: error: --set {text!r}: expected FIELD=VALUE, e.g. --set jitter=0.2"
        )
    if name not in RetryPolicy.field_names():
        raise UsageError(
            f"chatconn: error: --set {text!r}: unknown policy field {name!r}; known: "
            + ", ".join(RetryPolicy.field_names())
        )
    lowered = raw.lower()
    if name in _FLOAT_FIELDS:
        return name, _number(name, raw)
    if name in _OPTIONAL_FLOAT_FIELDS:
        return name, None if lowered in {"none", "null", ""} else _number(name, raw)
    if name == "max_attempts":
        try:
            return name, int(raw)
        except ValueError:
            raise ConfigError(name, raw, "expected a whole number >= 1") from None
    if name in _BOOL_FIELDS:
        if lowered in _TRUE | _FALSE:
            return name, lowered in _TRUE
        raise ConfigError(name, raw, "expected true or false")
    if name == "delays":
        if lowered in {"none", "null", ""}:
            return name, None
        return name, tuple(_number(name, part) for part in raw.split(","))
    if name == "ladder":
        return name, tuple(part.strip() for part in raw.split(",") if part.strip())
    return name, raw  # enums: validated by RetryPolicy


def policy_from_args(name: str, assignments: Sequence[str]) -> RetryPolicy:
    """A preset with ``--set`` changes applied together (validated as one policy)."""
    policy = policy_preset(name)
    changes = dict(parse_assignment(a) for a in assignments)
    return policy.with_changes(**changes) if changes else policy
