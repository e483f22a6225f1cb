"""A parameter grid over RetryPolicy fields, applied to a base policy.

Use :class:`ParameterGrid` to say which policies a sweep tries::

    grid = ParameterGrid({"initial_delay": [0.5, 1, 2], "jitter": [0, 0.2, 0.5]})
    points = grid.points(policy_preset("seed"))     # 9 GridPoints, last field varying fastest

Two kinds of bad input are told apart:

- a **bad value** — one no policy could have (``jitter=1.5``, ``initial_delay=-1``, an unknown
  ``jitter_mode``), an unknown field, an empty or repeated value, or a grid larger than its
  ``limit`` — raises :class:`~chatconn.core.errors.ConfigError` naming the field when the grid
  is built;
- a **clash** — values fine alone that RetryPolicy rejects together or with the base
  (``max_delay=0.5`` with ``initial_delay=2``) — is kept as a :class:`GridPoint` with
  ``policy=None`` and the validation message as its ``reason``, so a sweep reports it instead
  of silently dropping it.

A value is checked alone by building a policy in which its partner fields agree with it
(``max_timeout`` = ``base_timeout``, ``max_delay`` = ``initial_delay``, no ``delays`` table):
the only way it can then fail is by being wrong in itself.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..core.errors import ConfigError, UnknownNameError
from ..core.policy import RetryPolicy

__all__ = ["DEFAULT_GRID_LIMIT", "GridPoint", "ParameterGrid", "format_value"]

#: Policies a grid may hold unless told otherwise: each costs a simulation and a storm.
DEFAULT_GRID_LIMIT = 1_000

# Fields whose validity depends on another field: set the partner so the pair agrees.
_PARTNERS = {
    "base_timeout": ("max_timeout",),
    "max_timeout": ("base_timeout",),
    "initial_delay": ("max_delay",),
    "max_delay": ("initial_delay",),
}


def format_value(value: Any) -> str:
    """A field value for labels: ``0.5``, ``2``, ``full``, ``0,2,10``, ``none``."""
    if value is None:
        return "none"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return ",".join(format_value(v) for v in value)
    return str(value)


def _plain(value: Any) -> Any:
    """JSON-ready: enums as their values, tuples as lists."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _checked_value(field: str, value: Any) -> Any:
    """``value`` as RetryPolicy stores it, or ConfigError(field, ...) if no policy could have it."""
    if isinstance(value, list):
        value = tuple(value)
    context: dict[str, Any] = {"delays": None, "first_delay": None}
    for partner in _PARTNERS.get(field, ()):
        context[partner] = value
    if field == "delays":
        context["max_attempts"] = 1  # any non-empty table allows one attempt
    context[field] = value
    try:
        policy = RetryPolicy(**context)
    except UnknownNameError as exc:
        raise UnknownNameError(field, value, exc.known) from None
    except ConfigError as exc:
        raise ConfigError(field, value, exc.allowed) from None
    except TypeError as exc:  # e.g. an unhashable or non-iterable value for a table
        raise ConfigError(field, value, f"not a value for this field ({exc})") from None
    return getattr(policy, field)


@dataclass(frozen=True, slots=True)
class GridPoint:
    """One combination of a grid: its position, the fields it changes, and the policy it
    makes — or ``policy=None`` and the ``reason`` RetryPolicy gave for rejecting it."""

    index: int
    changes: tuple[tuple[str, Any], ...]
    policy: RetryPolicy | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.policy is not None

    @property
    def label(self) -> str:
        """The varied values, ``initial_delay=0.5, jitter=0.2`` (``base`` when none)."""
        return ", ".join(f"{k}={format_value(v)}" for k, v in self.changes) or "base"

    @property
    def name(self) -> str:
        """``#3 (initial_delay=0.5, jitter=0.2)``: how explanations refer to this policy."""
        return f"#{self.index} ({self.label})"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "label": self.label,
            "changes": {k: _plain(v) for k, v in self.changes},
        }
        if self.reason is not None:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True, slots=True)
class ParameterGrid:
    """Values to try per RetryPolicy field; the grid is every combination of them.

    ``axes`` maps field names to non-empty sequences of distinct values (a mapping is kept in
    its order; combinations vary the last field fastest). Values are stored as RetryPolicy
    stores them (``1`` becomes ``1.0``, ``"full"`` becomes ``JitterMode.FULL``), so ``1`` and
    ``1.0`` count as a repeat. ``limit`` caps the number of combinations
    (:data:`DEFAULT_GRID_LIMIT`). No axes at all is the base policy alone.
    """

    axes: tuple[tuple[str, tuple[Any, ...]], ...]
    limit: int = DEFAULT_GRID_LIMIT

    def __init__(
        self,
        axes: Mapping[str, Iterable[Any]] | Iterable[tuple[str, Iterable[Any]]] = (),
        limit: int = DEFAULT_GRID_LIMIT,
    ) -> None:
        items = list(axes.items()) if isinstance(axes, Mapping) else list(axes)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigError("limit", limit, "expected a whole number >= 1")
        known = RetryPolicy.field_names()
        checked: list[tuple[str, tuple[Any, ...]]] = []
        for item in items:
            if not (isinstance(item, tuple) and len(item) == 2):
                raise ConfigError("grid", item, "expected (field, values) pairs or a mapping")
            field, raw = item
            if field not in known:
                raise UnknownNameError("policy field", field, known)
            if any(field == done for done, _ in checked):
                raise ConfigError(field, raw, "this field is varied twice")
            if isinstance(raw, str | bytes) or not isinstance(raw, Iterable):
                raise ConfigError(field, raw, "expected a list of values to try")
            values: list[Any] = []
            for value in raw:
                value = _checked_value(field, value)
                if value in values:
                    raise ConfigError(field, value, "this value is listed twice")
                values.append(value)
            if not values:
                raise ConfigError(field, [], "expected at least one value to try")
            checked.append((field, tuple(values)))
        size = math.prod(len(v) for _, v in checked)
        if size > limit:
            sizes = " × ".join(f"{len(v)} {f}" for f, v in checked)
            raise ConfigError(
                "grid",
                size,
                f"{sizes} = {size:,} policies, over the limit of {limit:,}; "
                "vary fewer fields or values (or raise the limit)",
            )
        object.__setattr__(self, "axes", tuple(checked))
        object.__setattr__(self, "limit", limit)

    @property
    def fields(self) -> tuple[str, ...]:
        """The varied fields, in order."""
        return tuple(f for f, _ in self.axes)

    @property
    def size(self) -> int:
        """The number of combinations."""
        return math.prod(len(v) for _, v in self.axes)

    def __len__(self) -> int:
        return self.size

    def combinations(self) -> tuple[tuple[tuple[str, Any], ...], ...]:
        """Every combination as ``((field, value), ...)``, the last field varying fastest."""
        names = self.fields
        return tuple(
            tuple(zip(names, values, strict=True))
            for values in itertools.product(*(v for _, v in self.axes))
        )

    def points(self, base: RetryPolicy) -> tuple[GridPoint, ...]:
        """Every combination applied to ``base``: a policy each, or the reason it has none."""
        if not isinstance(base, RetryPolicy):
            raise ConfigError("base", base, "expected a RetryPolicy")
        out = []
        for index, changes in enumerate(self.combinations()):
            try:
                policy, reason = base.with_changes(**dict(changes)), None
            except ConfigError as exc:
                policy, reason = None, str(exc)
            out.append(GridPoint(index, changes, policy, reason))
        return tuple(out)

    def to_dict(self) -> dict[str, list[Any]]:
        return {field: [_plain(v) for v in values] for field, values in self.axes}
