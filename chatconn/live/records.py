"""Per-attempt records: what happened in each attempt, for tables, plots and run files."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..core.strategies import ErrorCategory, Strategy

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

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["strategy"] = self.strategy.value
        out["error_category"] = self.error_category.name.lower()
        return out
