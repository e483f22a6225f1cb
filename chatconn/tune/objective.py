"""What "best" means for a recommendation: one goal and some limits, in a small text form.

Use :func:`parse_objective` on text a person wrote (the CLI's ``--objective``), or build an
:class:`Objective` in code. The text form::

    min p95_s; peak_over_capacity <= 2; success_rate >= 99%

    objective   := part (";" part)*          one goal; constraints in any number, any order
    part        := goal | constraint         blank parts are ignored
    goal        := ("min" | "max") METRIC    (also: minimise/minimize, maximise/maximize)
    constraint  := METRIC ("<=" | ">=") NUMBER ["%"]

``METRIC`` is a name from :data:`~chatconn.tune.metrics.METRICS` (``p50_s``, ``p95_s``,
``success_rate``, ``attempts_mean``, ``peak_per_s``, ``peak_over_capacity``,
``reconnected_99_s``, ``storm_back_share``, ``lockstep_share``, ``in_step_share``).
``NUMBER`` is a plain decimal
(``2``, ``0.99``, ``1e3``); a trailing ``%`` divides it by 100 and is allowed for shares only
(``success_rate >= 99.5%``); a share's bound must lie in [0, 1] (``99`` is refused: did you
mean ``99%``?). Only
``<=`` and ``>=`` compare: with simulated scores, "below" and "at most" are the same limit.
Errors are :class:`~chatconn.core.errors.ConfigError` s quoting the bad part.

``str(objective)`` gives the canonical text back, and parsing it gives an equal objective.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..core.errors import ConfigError
from .metrics import METRICS

__all__ = ["DEFAULT_OBJECTIVE", "Constraint", "Goal", "Objective", "parse_objective"]


class Goal(StrEnum):
    """Whether the objective's metric is minimised or maximised."""

    MIN = "min"
    MAX = "max"

    def __str__(self) -> str:
        return self.value


_OPS = ("<=", ">=")
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|=>|=<|==|<|>|=)\s*(.*?)\s*$")
_GOAL = re.compile(r"^\s*(min|max|minimi[sz]e|maximi[sz]e)\s+(\S+)\s*$", re.IGNORECASE)


def _known_metric(name: Any, part: str) -> str:
    if name not in METRICS:
        raise ConfigError(
            "objective", part, f"unknown metric {name!r}; expected one of " + ", ".join(METRICS)
        )
    return name


@dataclass(frozen=True, slots=True)
class Constraint:
    """A limit on one metric: ``metric <= bound`` or ``metric >= bound``."""

    metric: str
    op: str
    bound: float

    def __post_init__(self) -> None:
        _known_metric(self.metric, f"{self.metric} {self.op} {self.bound}")
        if self.op not in _OPS:
            raise ConfigError("op", self.op, "expected <= or >=")
        bound = self.bound
        if isinstance(bound, bool) or not isinstance(bound, int | float):
            raise ConfigError("bound", bound, "expected a finite number")
        if not math.isfinite(bound):
            raise ConfigError("bound", bound, "expected a finite number")
        object.__setattr__(self, "bound", float(bound))

    def holds(self, value: float | None) -> bool:
        """True when ``value`` meets the limit (an undefined value never does)."""
        if value is None or math.isnan(value):
            return False
        return value <= self.bound if self.op == "<=" else value >= self.bound

    def shortfall(self, value: float | None) -> float:
        """How far ``value`` misses the limit, relative to the bound: 0 when met, inf when
        undefined. Used to find the policy that comes closest when none meets them all."""
        if value is None or math.isnan(value):
            return math.inf
        miss = value - self.bound if self.op == "<=" else self.bound - value
        return max(0.0, miss) / max(abs(self.bound), 1e-12)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound:g}"


@dataclass(frozen=True, slots=True)
class Objective:
    """Minimise or maximise one metric over the policies that meet every constraint."""

    metric: str
    goal: Goal = Goal.MIN
    constraints: tuple[Constraint, ...] = ()

    def __post_init__(self) -> None:
        _known_metric(self.metric, f"{self.goal} {self.metric}")
        try:
            object.__setattr__(self, "goal", Goal(str(self.goal).lower()))
        except ValueError:
            raise ConfigError("goal", self.goal, "expected min or max") from None
        constraints = tuple(self.constraints)
        for c in constraints:
            if not isinstance(c, Constraint):
                raise ConfigError("constraints", c, "expected Constraint entries")
        object.__setattr__(self, "constraints", constraints)

    @classmethod
    def parse(cls, text: str) -> Objective:
        """The objective written as ``text`` (syntax in the module docstring)."""
        return parse_objective(text)

    def key(self, value: float | None) -> float:
        """A sort key: lower is better for this goal; undefined values sort last."""
        if value is None or math.isnan(value):
            return math.inf
        return value if self.goal is Goal.MIN else -value

    def __str__(self) -> str:
        return "; ".join([f"{self.goal} {self.metric}", *(str(c) for c in self.constraints)])


def _bound(metric: str, raw: str, part: str) -> float:
    text = raw.strip()
    percent = text.endswith("%")
    if percent:
        text = text[:-1].strip()
        if METRICS[metric].unit != "share":
            raise ConfigError("objective", part, f"'%' is for shares only, and {metric} is not one")
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(
            "objective", part, f"expected a number after the operator, got {raw!r}"
        ) from None
    if not math.isfinite(value):
        raise ConfigError("objective", part, "expected a finite number")
    value = value / 100 if percent else value
    if METRICS[metric].unit == "share" and not 0.0 <= value <= 1.0:
        hint = f" (did you mean {text}%?)" if not percent and 1 < value <= 100 else ""
        raise ConfigError("objective", part, f"a share's bound lies in [0, 1] or 0-100%{hint}")
    return value


def parse_objective(text: str) -> Objective:
    """Parse ``"min p95_s; peak_over_capacity <= 2; success_rate >= 99%"`` into an Objective."""
    if not isinstance(text, str):
        raise ConfigError("objective", text, "expected text such as 'min p95_s; ...'")
    goal: tuple[Goal, str] | None = None
    constraints: list[Constraint] = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        if m := _GOAL.match(part):
            if goal is not None:
                raise ConfigError(
                    "objective", part, f"a second goal; there is one already ({goal[0]} {goal[1]})"
                )
            word = m.group(1).lower()
            goal = (Goal.MIN if word.startswith("min") else Goal.MAX, _known_metric(m[2], part))
            continue
        m = _CONSTRAINT.match(part)
        if m is None:
            raise ConfigError(
                "objective",
                part,
                "expected 'min METRIC', 'max METRIC' or 'METRIC <= NUMBER' / 'METRIC >= NUMBER'",
            )
        name, op, raw = m.groups()
        _known_metric(name, part)
        if op not in _OPS:
            raise ConfigError("objective", part, f"operator {op!r}: use <= or >=")
        constraints.append(Constraint(name, op, _bound(name, raw, part)))
    if goal is None:
        raise ConfigError(
            "objective", text, "no goal: add 'min METRIC' or 'max METRIC', e.g. 'min p95_s'"
        )
    return Objective(goal[1], goal[0], tuple(constraints))


#: What :func:`~chatconn.tune.recommend.recommend` optimises unless told otherwise: the
#: fastest p95 time to connect that keeps the post-outage peak within twice the capacity.
DEFAULT_OBJECTIVE = Objective("p95_s", Goal.MIN, (Constraint("peak_over_capacity", "<=", 2.0),))
