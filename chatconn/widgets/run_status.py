"""The status of a whole live run, not of whichever session spoke last.

A run of 20 sessions emits hundreds of events; a badge that follows each session in turn
changed 94 times in one run and said nothing a person could read. :class:`RunTally` (pure)
counts how sessions ended; :class:`RunStatus` shows one pill for the run — "Connecting…"
while it runs, then "Connected" (all of them), "Connected, limited" (some needed a fallback
or some failed: amber) or "Can't connect" (none) — and one line of counts::

    Connecting…   7 of 20 done: 6 ok, 1 limited, 0 failed

Used by :class:`~chatconn.widgets.live_view.LiveView`; state names come from
:mod:`chatconn.messages` (English or Russian).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import ipywidgets as W

from ..live.events import ConnectionState
from ..messages import DEFAULT_LANGUAGE, check_language, message
from ..plotdata import QUALITY_COLOURS
from .status import DEGRADED_COLOUR, Translated

__all__ = ["RunStatus", "RunTally"]

_COUNTS = {
    "en": "{done} of {total} done: {ok} ok, {limited} limited, {failed} failed",
    "ru": "завершено {done} из {total}: успешно {ok}, с ограничениями {limited}, неудачно {failed}",
}
_RUNNING_COLOUR = "#4c78a8"
_IDLE_COLOUR = "#7f7f7f"


@dataclass(slots=True)
class RunTally:
    """How the sessions of one run ended so far (pure: fed by the live view)."""

    total: int = 0
    running: bool = False
    outcomes: dict[int, ConnectionState] = field(default_factory=dict)

    def begin(self, total: int) -> None:
        self.total, self.running, self.outcomes = total, True, {}

    def ended(self, session: int, state: ConnectionState) -> None:
        """Session ``session`` reached ``state`` (connected, degraded or failed) first."""
        self.outcomes.setdefault(session, state)

    def finish(self) -> None:
        self.running = False

    def count(self, state: ConnectionState) -> int:
        return sum(1 for s in self.outcomes.values() if s is state)

    @property
    def state(self) -> ConnectionState:
        """CONNECTING while running; then CONNECTED if every session connected fully,
        FAILED if none connected, DEGRADED otherwise; IDLE before the first run."""
        if self.running:
            return ConnectionState.CONNECTING
        if not self.outcomes:
            return ConnectionState.IDLE
        failed = self.count(ConnectionState.FAILED)
        if failed == len(self.outcomes):
            return ConnectionState.FAILED
        if self.count(ConnectionState.CONNECTED) == self.total:
            return ConnectionState.CONNECTED
        return ConnectionState.DEGRADED

    @property
    def colour(self) -> str:
        return {
            ConnectionState.CONNECTING: _RUNNING_COLOUR,
            ConnectionState.CONNECTED: QUALITY_COLOURS["excellent"],
            ConnectionState.DEGRADED: DEGRADED_COLOUR,
            ConnectionState.FAILED: QUALITY_COLOURS["critical"],
        }.get(self.state, _IDLE_COLOUR)


class RunStatus(Translated):
    """One pill and one line of counts for a live run (DOM class ``chatconn-status``)."""

    def __init__(self, language: str = DEFAULT_LANGUAGE) -> None:
        self._language = check_language(language)
        self.tally = RunTally()
        self.widget = W.HTML()
        self.widget.add_class("chatconn-status")
        self.widget.add_class("chatconn-run-status")
        self._render()

    def begin(self, total: int) -> None:
        self.tally.begin(total)
        self._render()

    def ended(self, session: int, state: ConnectionState) -> None:
        before = len(self.tally.outcomes)
        self.tally.ended(session, state)
        if len(self.tally.outcomes) != before:
            self._render()

    def finish(self) -> None:
        self.tally.finish()
        self._render()

    def texts(self) -> dict[str, str]:
        t, lang = self.tally, self._language
        counts = ""
        if t.total:
            counts = _COUNTS[lang].format(
                done=len(t.outcomes),
                total=t.total,
                ok=t.count(ConnectionState.CONNECTED),
                limited=t.count(ConnectionState.DEGRADED),
                failed=t.count(ConnectionState.FAILED),
            )
        return {"state": message(f"state.{t.state.value}", lang), "counts": counts}

    def _render(self) -> None:
        t = self.texts()
        pill = (
            f'<span style="background:{self.tally.colour};color:white;border-radius:999px;'
            f'padding:2px 10px;font-weight:600;white-space:nowrap">● '
            f"{html.escape(t['state'])}</span>"
        )
        counts = f" <span>{html.escape(t['counts'])}</span>" if t["counts"] else ""
        self.widget.value = pill + counts
