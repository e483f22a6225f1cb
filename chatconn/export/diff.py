"""What an exported client really does against what was asked, per retry (pure).

Every export computes the policy its target library will *really* follow — the
*realized* policy: socket.io's factor fixed at 2 and its cap after jitter, SignalR's fixed
timeout, ... — and :func:`diff_schedules` compares chatconn's schedule of that policy with
the schedule of the policy asked for, attempt by attempt: the strategy, the connect
timeout, and the wait before it (minimum, median, maximum over ``samples`` draws of
:func:`chatconn.core.schedule.draw_waits`, the one schedule formula). Differences under
:data:`TOLERANCE_S` are equal; the rest are listed, never hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.policy import RetryPolicy
from ..core.schedule import draw_waits, nominal_timeouts, spans_backoff

__all__ = [
    "DEFAULT_SAMPLES",
    "TOLERANCE_S",
    "AttemptWindow",
    "ScheduleDiff",
    "diff_schedules",
    "windows",
]

#: Draws per policy for the wait windows (the same seed for both sides).
DEFAULT_SAMPLES = 20_000
#: Differences below this are equal (socket.io and SignalR count whole milliseconds).
TOLERANCE_S = 0.0015


@dataclass(frozen=True, slots=True)
class AttemptWindow:
    """Attempt ``index`` (0-based) of a schedule: its strategy, connect timeout, and the
    wait before it (0 for the first attempt) as minimum, median and maximum seconds."""

    index: int
    strategy: str
    timeout_s: float
    wait_min_s: float
    wait_p50_s: float
    wait_max_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "strategy": self.strategy,
            "timeout_s": self.timeout_s,
            "wait_min_s": self.wait_min_s,
            "wait_p50_s": self.wait_p50_s,
            "wait_max_s": self.wait_max_s,
        }


def windows(
    policy: RetryPolicy, *, samples: int = DEFAULT_SAMPLES, seed: int = 0
) -> tuple[AttemptWindow, ...]:
    """Every attempt of ``policy``'s schedule (what ``chatconn schedule`` prints)."""
    waits = draw_waits(policy, np.random.default_rng(seed), samples)
    timeouts = nominal_timeouts(policy)
    out = []
    for k in range(policy.max_attempts):
        drawn = spans_backoff(policy, np.full(samples, timeouts[k]), waits[:, k])
        before = np.zeros(samples) if k == 0 else waits[:, k - 1]
        out.append(
            AttemptWindow(
                index=k,
                strategy=policy.strategy_for(k).value,
                timeout_s=float(np.median(drawn)),
                wait_min_s=float(before.min()),
                wait_p50_s=float(np.median(before)),
                wait_max_s=float(before.max()),
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ScheduleDiff:
    """Asked against realized, attempt by attempt (None: that side has no such attempt).

    ``rows`` hold both windows and the differences (realized minus asked) for each
    attempt; ``exact`` is True when every attempt matches within :data:`TOLERANCE_S` and
    the deadlines agree; :meth:`lines` says what differs in words.
    """

    asked: tuple[AttemptWindow, ...]
    realized: tuple[AttemptWindow, ...]
    asked_deadline: float | None
    realized_deadline: float | None

    @property
    def rows(self) -> list[dict[str, Any]]:
        out = []
        for k in range(max(len(self.asked), len(self.realized))):
            a = self.asked[k] if k < len(self.asked) else None
            r = self.realized[k] if k < len(self.realized) else None
            row: dict[str, Any] = {
                "attempt": k,
                "asked": a.to_dict() if a else None,
                "realized": r.to_dict() if r else None,
            }
            if a and r:
                row["delta"] = {
                    name: getattr(r, name) - getattr(a, name)
                    for name in ("timeout_s", "wait_min_s", "wait_p50_s", "wait_max_s")
                }
                row["same"] = a.strategy == r.strategy and all(
                    abs(v) < TOLERANCE_S for v in row["delta"].values()
                )
            else:
                row["delta"], row["same"] = None, False
            out.append(row)
        return out

    @property
    def exact(self) -> bool:
        return self.asked_deadline == self.realized_deadline and all(r["same"] for r in self.rows)

    def lines(self) -> list[str]:
        """What differs, one line per attempt that differs (empty when exact)."""
        out = []
        if self.asked_deadline != self.realized_deadline:
            out.append(
                f"deadline: asked {_s(self.asked_deadline)}, exported {_s(self.realized_deadline)}"
            )
        for row in self.rows:
            if row["same"]:
                continue
            k, a, r = row["attempt"], row["asked"], row["realized"]
            what = f"attempt {k + 1}" + ("" if k == 0 else f" (retry {k})")
            if r is None:
                out.append(f"{what}: asked, but the export stops before it")
                continue
            if a is None:
                out.append(f"{what}: not asked, but the export makes it")
                continue
            parts = []
            if a["strategy"] != r["strategy"]:
                parts.append(f"strategy {r['strategy']} instead of {a['strategy']}")
            d = row["delta"]
            if abs(d["timeout_s"]) >= TOLERANCE_S:
                parts.append(
                    f"timeout {r['timeout_s']:.3f} s instead of {a['timeout_s']:.3f} s "
                    f"({d['timeout_s']:+.3f})"
                )
            if k and any(
                abs(d[n]) >= TOLERANCE_S for n in ("wait_min_s", "wait_p50_s", "wait_max_s")
            ):
                parts.append(
                    f"wait {_window(r)} instead of {_window(a)} (median {d['wait_p50_s']:+.3f} s)"
                )
            out.append(f"{what}: " + "; ".join(parts))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "exact": self.exact,
            "asked_deadline_s": self.asked_deadline,
            "realized_deadline_s": self.realized_deadline,
            "attempts": self.rows,
            "differences": self.lines(),
        }


def _s(value: float | None) -> str:
    return "none" if value is None else f"{value:g} s"


def _window(w: dict[str, Any]) -> str:
    if abs(w["wait_max_s"] - w["wait_min_s"]) < TOLERANCE_S:
        return f"{w['wait_p50_s']:.3f} s"
    return f"{w['wait_min_s']:.3f}–{w['wait_max_s']:.3f} s"


def diff_schedules(
    asked: RetryPolicy, realized: RetryPolicy, *, samples: int = DEFAULT_SAMPLES, seed: int = 0
) -> ScheduleDiff:
    """Compare the schedules of two policies attempt by attempt (same draws for both)."""
    return ScheduleDiff(
        asked=windows(asked, samples=samples, seed=seed),
        realized=windows(realized, samples=samples, seed=seed),
        asked_deadline=asked.deadline,
        realized_deadline=realized.deadline,
    )
