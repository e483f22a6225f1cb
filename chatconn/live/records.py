"""Per-attempt records: what happened in each attempt, for tables, plots and run files."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..core.strategies import ErrorCategory, Strategy
from .errors import LiveError
from .session import PhaseClock, _redact

__all__ = ["AttemptRecord"]


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
        phases: PhaseClock,
        error: LiveError | None,
        time_scale: float,
    ) -> AttemptRecord:
        """The record of a finished attempt from its phase clock and its error (if any);
        the URL loses credentials and query."""
        marks = phases.marks
        return cls(
            session=session,
            attempt=attempt,
            strategy=strategy,
            url=_redact(url),
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
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["strategy"] = self.strategy.value
        out["error_category"] = self.error_category.name.lower()
        return out
