"""Shared test helpers: the summary contract of issue 2 and small live-test utilities."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from chatconn.core.policy import RetryPolicy
from chatconn.core.strategies import Strategy

#: Keys of `chatconn simulate --json` (and `chatconn run --json`), as issue 2 specifies.
SUMMARY_KEYS = frozenset(
    {
        "sessions",
        "success_rate",
        "gave_up",
        "still_trying",
        "time_to_connect_s",
        "attempts_mean",
        "quality",
        "strategy_share",
        "elapsed_s",
        "sessions_per_s",
    }
)


def run(coro: Any, limit_s: float = 60.0) -> Any:
    """Run ``coro`` on a fresh loop; a hung test fails after ``limit_s`` instead of hanging."""
    return asyncio.run(asyncio.wait_for(coro, limit_s))


def one_shot(strategy: Strategy, timeout: float) -> RetryPolicy:
    """A policy of exactly one attempt with ``strategy`` and ``timeout``."""
    return RetryPolicy(
        ladder=(strategy,),
        max_attempts=1,
        base_timeout=timeout,
        max_timeout=timeout,
        extended_timeout=timeout,
    )


def default_sigint() -> None:
    """``preexec_fn`` for a child that must stop on Ctrl-C (SIGINT) however the suite was
    started: a shell starting it in the background without job control makes SIGINT ignored,
    and an ignored signal is inherited across exec, so ``chatconn serve`` would never see it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def heading(fig: Any) -> str:
    """A figure's title and subtitle as one line of text (``<br>`` as spaces)."""
    title = fig.layout.title
    parts = [title.text or "", (title.subtitle.text if title.subtitle else None) or ""]
    return " ".join(p.replace("<br>", " ") for p in parts if p)
