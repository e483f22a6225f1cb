"""Per-attempt records: what happened in each attempt, for tables, plots and run files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol

from .core.strategies import ErrorCategory, Strategy
from .endpoint import redact_url

__all__ = ["AttemptRecord"]


class PhaseMarks(Protocol):
    """What :meth:`AttemptRecord.of_attempt` reads of an attempt's phase clock
    (:class:`chatconn.live.session.PhaseClock`)."""

    @property
    def marks(self) -> Mapping[str, float]: ...

    def elapsed(self) -> float: ...


class CategorisedError(Protocol):
    """What :meth:`AttemptRecord.of_attempt` reads of an attempt's error
    (:class:`chatconn.live.errors.LiveError`): its category and its message (``str``)."""

    @property
    def category(self) -> ErrorCategory: ...


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One attempt. Times are wall seconds; ``*_s`` phase marks are since the attempt start
    (None if the phase was not reached). ``started_s`` is since the connect began."""

    session: str
    attempt: int
    strategy: Strategy
    url: str  # without credentials or query
    timeout_s: float
    wait_before_s: float
    started_s: float
    duration_s: float
    connected: bool
    error_category: ErrorCategory
    error: str
    tcp_s: float | None = None
    handshake_s: float | None = None
    auth_s: float | None = None
    sync_s: float | None = None
    time_scale: float = 1.0
    #: Token fetches this connect made up to this attempt (0: a token reused from an earlier
    #: connect); None in records written before chatconn counted them.
    token_fetches: int | None = None

    @classmethod
    def of_attempt(
        cls,
        *,
        session: str,
        attempt: int,
        strategy: Strategy,
        url: str,
        timeout_s: float,
        wait_before_s: float,
        started_s: float,
        phases: PhaseMarks,
        error: CategorisedError | None,
        time_scale: float,
        token_fetches: int | None = None,
    ) -> AttemptRecord:
        """The record of a finished attempt from its phase clock and its error (if any);
        the URL loses credentials and query."""
        marks = phases.marks
        return cls(
            session=session,
            attempt=attempt,
            strategy=strategy,
            url=redact_url(url),
            timeout_s=timeout_s,
            wait_before_s=wait_before_s,
            started_s=started_s,
            duration_s=phases.elapsed(),
            connected=error is None,
            error_category=error.category if error is not None else ErrorCategory.NONE,
            error=str(error) if error is not None else "",
            tcp_s=marks.get("tcp"),
            handshake_s=marks.get("handshake"),
            auth_s=marks.get("auth"),
            sync_s=marks.get("sync"),
            time_scale=time_scale,
            token_fetches=token_fetches,
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["strategy"] = self.strategy.value
        out["error_category"] = self.error_category.name.lower()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AttemptRecord:
        """The inverse of :meth:`to_dict`; raises ValueError naming a missing, unknown or
        mistyped field (run files: :mod:`chatconn.runs`)."""
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"unknown attempt field {unknown[0]!r}")
        missing = [n for n in _REQUIRED if n not in data]
        if missing:
            raise ValueError(f"missing attempt field {missing[0]!r}")
        values = dict(data)
        try:
            values["strategy"] = Strategy(values["strategy"])
        except ValueError:
            raise ValueError(f"unknown strategy {values['strategy']!r}") from None
        category = values["error_category"]
        if not isinstance(category, str) or category.upper() not in ErrorCategory.__members__:
            raise ValueError(f"unknown error_category {category!r}")
        values["error_category"] = ErrorCategory[category.upper()]
        for name in _TEXT:
            if not isinstance(values[name], str):
                raise ValueError(f"{name} must be text, got {values[name]!r}")
        if isinstance(values["attempt"], bool) or not isinstance(values["attempt"], int):
            raise ValueError(f"attempt must be a whole number, got {values['attempt']!r}")
        fetches = values.get("token_fetches")
        if fetches is not None and (
            isinstance(fetches, bool) or not isinstance(fetches, int) or fetches < 0
        ):
            raise ValueError(f"token_fetches must be a whole number >= 0, got {fetches!r}")
        if not isinstance(values["connected"], bool):
            raise ValueError(f"connected must be true or false, got {values['connected']!r}")
        for name in _SECONDS:
            value = values.get(name)
            if value is None and name in _OPTIONAL:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
            values[name] = float(value)
        return cls(**values)


_TEXT = ("session", "url", "error")
_OPTIONAL = ("tcp_s", "handshake_s", "auth_s", "sync_s")
_SECONDS = ("timeout_s", "wait_before_s", "started_s", "duration_s", *_OPTIONAL, "time_scale")
_REQUIRED = (
    "session", "attempt", "strategy", "url", "timeout_s", "wait_before_s", "started_s",
    "duration_s", "connected", "error_category", "error",
)  # fmt: skip
