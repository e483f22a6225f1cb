"""What an imported row may say, and how each value is read (pure, no I/O).

A row of production timings is a mapping of column names to text (CSV) or JSON values
(JSON Lines). Columns are matched to chatconn's *fields* by name, or by ``--map
COLUMN=FIELD``::

    field            required  value                                   becomes
    duration_s       one of    seconds (a number)                      time to connect, or to
    duration_ms        these   milliseconds (a number)                 giving up if it failed
    connected        yes       true/false, 1/0, yes/no, ok/failed ...  connected
    started_at       no        ISO 8601, or Unix time in s or ms       start (seconds after
                                                                       the first row's)
    transport        no        websocket, long_polling, sse, ...       the strategy that
    (alias strategy)                                                   connected
    attempts         no        a whole number >= 1                     attempts (default 1)
    error            no        text: timeout, refused, reset, 403 ...  last error category
    region           no        text                                    a segment label
    client_version   no        text                                    a segment label
    network_type     no        text                                    a segment label
    label:NAME       no        text                                    a segment label NAME

Units are never guessed: a duration column is ``duration_s`` or ``duration_ms`` (map yours
onto one). Columns that match no field are listed in the import's summary as ignored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..core.errors import ConfigError
from ..core.strategies import ErrorCategory, Strategy

__all__ = [
    "DURATION_FIELDS",
    "FIELDS",
    "LABEL_FIELDS",
    "ColumnMapping",
    "parse_attempts",
    "parse_bool",
    "parse_duration",
    "parse_error",
    "parse_mapping",
    "parse_started_at",
    "parse_transport",
]

DURATION_FIELDS = {"duration_s": 1.0, "duration_ms": 1e-3}
#: Labels known by name; any other label is mapped as ``label:NAME``.
LABEL_FIELDS = ("region", "client_version", "network_type")
FIELDS = (
    *DURATION_FIELDS,
    "connected",
    "started_at",
    "transport",
    "strategy",
    "attempts",
    "error",
    *LABEL_FIELDS,
)
LABEL_PREFIX = "label:"
#: Longest label value kept (longer values are an error: probably not a label at all).
MAX_LABEL_CHARS = 200
#: More distinct values than this in one label column is an error (ids are not segments).
MAX_SEGMENT_VALUES = 1000

_TRUE = {"true", "1", "yes", "y", "ok", "connected", "success", "succeeded", "t"}
_FALSE = {"false", "0", "no", "n", "failed", "failure", "error", "f", "gave_up", "timeout"}

_TRANSPORTS = {
    "websocket": Strategy.DIRECT_WEBSOCKET,
    "websockets": Strategy.DIRECT_WEBSOCKET,
    "ws": Strategy.DIRECT_WEBSOCKET,
    "wss": Strategy.DIRECT_WEBSOCKET,
    "long_polling": Strategy.LONG_POLLING,
    "long-polling": Strategy.LONG_POLLING,
    "longpolling": Strategy.LONG_POLLING,
    "longpoll": Strategy.LONG_POLLING,
    "polling": Strategy.LONG_POLLING,
    "xhr-polling": Strategy.LONG_POLLING,
    "sse": Strategy.SSE_FALLBACK,
    "eventsource": Strategy.SSE_FALLBACK,
    "server-sent-events": Strategy.SSE_FALLBACK,
    **{s.value: s for s in Strategy},
}

# Free-text errors to categories: first match wins (checked in this order).
_ERROR_RULES: tuple[tuple[re.Pattern[str], ErrorCategory], ...] = (
    (re.compile(r"token|auth|401|unauthori[sz]ed"), ErrorCategory.TOKEN),
    (re.compile(r"upgrade|403|forbidden|proxy"), ErrorCategory.UPGRADE_REJECTED),
    (re.compile(r"refus|econnrefused|unreachable"), ErrorCategory.REFUSED),
    (re.compile(r"reset|econnreset|aborted|closed"), ErrorCategory.RESET),
    (re.compile(r"deadline|budget|gave.?up"), ErrorCategory.DEADLINE),
    (re.compile(r"time.?out|timed.?out|etimedout"), ErrorCategory.TIMEOUT),
)


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Which column feeds which field: ``columns[field] = column name``.

    Build it with :func:`parse_mapping`; ``labels`` maps label names to columns.
    """

    columns: dict[str, str]
    labels: dict[str, str]

    def used(self) -> set[str]:
        return set(self.columns.values()) | set(self.labels.values())


def parse_mapping(
    header: Iterable[str], assignments: Iterable[str] | Mapping[str, str] = ()
) -> ColumnMapping:
    """Match columns to fields: explicit ``COLUMN=FIELD`` first, then same-named columns.

    Raises :class:`ConfigError` for a malformed assignment, an unknown field, a column
    that is not in the file, two columns for one field, or no duration / connected column.
    """
    header = list(header)
    pairs: list[tuple[str, str]] = []
    if isinstance(assignments, Mapping):
        pairs = list(assignments.items())
    else:
        for text in assignments:
            column, sep, target = str(text).partition("=")
            if not sep or not column.strip() or not target.strip():
                raise ConfigError("--map", text, "expected COLUMN=FIELD, e.g. latency=duration_ms")
            pairs.append((column.strip(), target.strip()))
    columns: dict[str, str] = {}
    labels: dict[str, str] = {}
    for column, target in pairs:
        if column not in header:
            raise ConfigError("--map", f"{column}={target}", f"no column {column!r} in the file")
        if target.startswith(LABEL_PREFIX):
            name = target[len(LABEL_PREFIX) :].strip()
            if not name:
                raise ConfigError("--map", f"{column}={target}", "expected label:NAME")
            labels[name] = column
            continue
        if target not in FIELDS:
            raise ConfigError(
                "--map",
                f"{column}={target}",
                "FIELD must be label:NAME or one of " + ", ".join(FIELDS),
            )
        if target in LABEL_FIELDS:
            labels[target] = column
        else:
            columns[target] = column
    mapped = set(columns.values()) | set(labels.values())
    for name in header:  # columns named like a field, unless mapped elsewhere
        if name in mapped or name not in FIELDS:
            continue
        if name in LABEL_FIELDS:
            labels.setdefault(name, name)
        else:
            columns.setdefault(name, name)
    if "strategy" in columns:
        if "transport" in columns:
            raise ConfigError(
                "transport", columns["strategy"], "give transport or strategy, not both"
            )
        columns["transport"] = columns.pop("strategy")
    durations = [f for f in DURATION_FIELDS if f in columns]
    if not durations:
        raise ConfigError(
            "duration",
            ", ".join(header) or "(no columns)",
            "no duration column: name one duration_s or duration_ms, or map yours with "
            "--map COLUMN=duration_s (or duration_ms)",
        )
    if len(durations) > 1:
        raise ConfigError("duration", durations, "give one duration column, in s or in ms")
    if "connected" not in columns:
        raise ConfigError(
            "connected",
            ", ".join(header),
            "no connected column: add one (true/false) or map yours with --map COLUMN=connected",
        )
    return ColumnMapping(columns=columns, labels=labels)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"connected {value!r} is not true/false (or 1/0, yes/no, ok/failed)")


def parse_duration(value: Any, field: str) -> float:
    """Seconds from a ``duration_s`` or ``duration_ms`` value (>= 0, finite)."""
    if isinstance(value, bool):
        raise ValueError(f"{field} {value!r} is not a number")
    try:
        number = float(value if isinstance(value, int | float) else _text(value))
    except ValueError:
        raise ValueError(f"{field} {value!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{field} {value!r} must be a finite number >= 0")
    return number * DURATION_FIELDS[field]


def parse_attempts(value: Any) -> int:
    text = _text(value)
    try:
        number = float(value) if isinstance(value, int | float) else float(text)
    except ValueError:
        raise ValueError(f"attempts {value!r} is not a whole number") from None
    if isinstance(value, bool) or not number.is_integer() or not 1 <= number <= 32_000:
        raise ValueError(f"attempts {value!r} must be a whole number in [1, 32000]")
    return int(number)


def parse_transport(value: Any) -> Strategy:
    text = _text(value).lower()
    try:
        return _TRANSPORTS[text]
    except KeyError:
        known = ", ".join(
            sorted({"websocket", "long_polling", "sse", *(s.value for s in Strategy)})
        )
        raise ValueError(f"transport {value!r} is not one of {known}") from None


def parse_error(value: Any) -> tuple[ErrorCategory, bool]:
    """The category of an error text, and whether a rule recognised it (unrecognised
    failures count as timeouts, and the import says how many there were)."""
    text = _text(value).lower()
    if not text:
        return ErrorCategory.NONE, True
    for name in ErrorCategory:  # the categories' own names first
        if text == name.name.lower():
            return name, True
    for pattern, category in _ERROR_RULES:
        if pattern.search(text):
            return category, True
    return ErrorCategory.TIMEOUT, False


def parse_started_at(value: Any) -> float | None:
    """Unix seconds from ISO 8601 (no zone: UTC) or a Unix time in s (or ms, > 1e11)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"started_at {value!r} is not a time")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = _text(value)
        try:
            number = float(text)
        except ValueError:
            try:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(
                    f"started_at {value!r} is neither ISO 8601 nor a Unix time"
                ) from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.timestamp()
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"started_at {value!r} is not a Unix time")
    return number / 1000.0 if number > 1e11 else number


def parse_label(value: Any, name: str) -> str:
    text = _text(value)
    if len(text) > MAX_LABEL_CHARS:
        raise ValueError(f"label {name} is {len(text)} characters long (at most {MAX_LABEL_CHARS})")
    return text or "(none)"
