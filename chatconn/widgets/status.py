"""The connection as a user sees it: a status indicator in three variants.

:class:`ConnectionStatus` is the pure part: it folds the manager's events
(:mod:`chatconn.live.events`) into what to show — state, phase, attempt k of N with percent
progress (:mod:`chatconn.core.progress`: time spent against the schedule's worst case),
strategy, quality so far, whether a spinner turns, the tip for a degraded or failed
connection (:mod:`chatconn.tips`) — and returns the notices worth a toast.
:class:`StatusIndicator` and :class:`~chatconn.widgets.toasts.Toasts` only render it with
:mod:`chatconn.messages`, in English or Russian::

    status = StatusIndicator("panel", language="ru", on_retry=...)
    status.bind(manager)               # or status.handle(event) for each event
    status.language = "en"             # re-renders at once

Times shown are in *profile time* (wall seconds / the manager's ``time_scale``), the unit
of the policy's numbers and of the quality classes.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as W

from ..core.errors import ConfigError
from ..core.progress import progress_percent
from ..core.quality import Quality, classify
from ..core.strategies import ErrorCategory, Strategy
from ..live.events import (
    AttemptFinished,
    AttemptStarted,
    ConnectionEvent,
    ConnectionState,
    Phase,
    PhaseChanged,
    StateChanged,
    Waiting,
)
from ..messages import DEFAULT_LANGUAGE, Text, check_language, message
from ..messages import say as _say
from ..plotdata import QUALITY_COLOURS
from ..tips import TipBook, tip_key

__all__ = ["ConnectionStatus", "Notice", "StatusIndicator"]

VARIANTS = ("badge", "inline", "panel")

#: Badge colours: the plots' quality colours while connecting or connected, by state otherwise.
STATE_COLOURS = {
    ConnectionState.IDLE: "#7f7f7f",
    ConnectionState.CLOSED: "#7f7f7f",
    ConnectionState.FAILED: QUALITY_COLOURS["critical"],
}
#: "Connected, limited" (a fallback got through): amber whatever the time it took.
DEGRADED_COLOUR = "#e08214"
_TRYING = (ConnectionState.CONNECTING, ConnectionState.RECONNECTING)
#: How often a connecting indicator re-renders between events (wall seconds), so the
#: percent moves during a long attempt or wait (the spinner turns by CSS on its own).
TICK_S = 0.25
#: States whose StateChanged reason is the manager's plain-language explanation (a Text: it
#: is shown in the indicator's language).
_EXPLAINED = (ConnectionState.DEGRADED, ConnectionState.FAILED)


@dataclass(frozen=True, slots=True)
class Notice:
    """Something worth a toast: a message key and its raw values (localised when shown)."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ConnectionStatus:
    """What the user should see, folded from events by :meth:`apply` (no widgets, no I/O)."""

    time_scale: float = 1.0
    state: ConnectionState = ConnectionState.IDLE
    phase: Phase | None = None
    attempt: int | None = None  # 0-based index of the current (or last) attempt
    attempts: int | None = None  # the policy's max_attempts
    strategy: Strategy | None = None
    quality: Quality | None = None  # of the connect, or of the time spent so far
    elapsed_s: float = 0.0  # profile seconds since the connect began
    waiting_s: float | None = None  # profile seconds until the next attempt
    last_error: ErrorCategory | None = None
    reason: str = ""  # the manager's own explanation (a Text, sayable in any language)
    ever_connected: bool = False
    planned_end_s: float | None = None  # profile s: when the connect ends at the latest
    shown_percent: int = 0  # the highest percent shown during this connect

    def apply(self, event: ConnectionEvent) -> list[Notice]:
        """Take one event into account; return the notices it deserves (maybe none)."""
        notices: list[Notice] = []
        self.elapsed_s = event.elapsed_s / self.time_scale
        still_trying = True  # the time spent so far sets the quality colour
        if isinstance(event, StateChanged):
            self.state, self.reason = event.state, event.reason
            if event.state in _TRYING:
                self.attempt = self.strategy = self.last_error = self.waiting_s = None
                self.planned_end_s, self.shown_percent = None, 0
                self.phase, self.quality = None, Quality.EXCELLENT
                if event.state is ConnectionState.RECONNECTING:
                    notices.append(Notice("toast.connection_lost"))
            elif event.state is ConnectionState.CONNECTED:
                if self.ever_connected and event.previous is ConnectionState.RECONNECTING:
                    notices.append(Notice("toast.reconnected"))
                self.ever_connected = True
            elif event.state is ConnectionState.DEGRADED:
                self.ever_connected = True
                notices.append(Notice("toast.degraded", {"strategy": self.strategy}))
            elif event.state is ConnectionState.FAILED:
                notices.append(Notice("toast.failed"))
            self.waiting_s = None
            still_trying = False
        elif isinstance(event, PhaseChanged):
            self.phase = event.phase
            still_trying = event.phase is not Phase.CONNECTED
        elif isinstance(event, AttemptStarted):
            previous = self.strategy
            self._attempt(event)
            self.waiting_s = None
            if event.planned_end_s is not None:
                self.planned_end_s = event.planned_end_s
            if previous is not None and previous is not event.strategy:
                notices.append(Notice("toast.strategy_changed", {"strategy": event.strategy}))
        elif isinstance(event, AttemptFinished):
            self._attempt(event)
            if event.connected:
                self.quality, still_trying = event.quality, False
            else:
                self.last_error = event.error_category
        elif isinstance(event, Waiting):
            self.waiting_s = event.seconds / self.time_scale
            if event.planned_end_s is not None:
                self.planned_end_s = event.planned_end_s
        if still_trying and self.state in _TRYING:
            so_far = classify(self.elapsed_s)
            if self.quality is not None and so_far > self.quality:
                notices.append(Notice("toast.quality_dropped", {"quality": so_far}))
            self.quality = so_far if self.quality is None else max(self.quality, so_far)
        return notices

    def _attempt(self, event: AttemptStarted | AttemptFinished) -> None:
        self.attempt, self.attempts, self.strategy = event.attempt, event.attempts, event.strategy

    def advance(self, elapsed_s: float) -> None:
        """Time passes without an event (``elapsed_s``: wall seconds since the connect
        began, as events count them): the percent moves on; nothing else changes."""
        if self.state in _TRYING:
            self.elapsed_s = max(self.elapsed_s, elapsed_s / self.time_scale)

    @property
    def spinning(self) -> bool:
        """True while connecting or reconnecting: the spinner turns; it stops on connected,
        degraded, failed (and idle, closed)."""
        return self.state in _TRYING

    @property
    def percent(self) -> int | None:
        """Progress of the connect in whole percent (None before the first plan, and
        outside connecting / reconnecting / connected): elapsed against the planned worst
        case (:func:`chatconn.core.progress.progress_percent`), never lower than already
        shown in this connect; 100 once connected."""
        if self.state is ConnectionState.CONNECTED and self.attempt is not None:
            return 100
        if self.state not in _TRYING:
            return None
        percent = progress_percent(self.elapsed_s, self.planned_end_s)
        if percent is None:
            return None
        # Never back: with a deadline an early failure can make room for one more attempt
        # (the plan's end moves later); the bar then holds until time catches up.
        self.shown_percent = max(self.shown_percent, percent)
        return self.shown_percent

    @property
    def tip(self) -> str | None:
        """The key of the tip to show (:func:`chatconn.tips.tip_key`), or None."""
        return tip_key(self.state, self.last_error, self.strategy)

    @property
    def colour(self) -> str:
        if self.state is ConnectionState.DEGRADED:  # connected, limited: amber, never red
            return DEGRADED_COLOUR
        if self.state in STATE_COLOURS or self.quality is None:
            return STATE_COLOURS.get(self.state, STATE_COLOURS[ConnectionState.IDLE])
        return QUALITY_COLOURS[self.quality.label]


#: The spinner's keyframes (repeated in every pill that spins: each HTML widget renders on
#: its own, and a duplicate @keyframes rule is harmless); still for users who ask the
#: system for reduced motion.
_SPIN_STYLE = (
    "<style>@keyframes chatconn-spin{to{transform:rotate(360deg)}}"
    "@media (prefers-reduced-motion:reduce){.chatconn-spinner{animation:none!important}}"
    "</style>"
)
_SPINNER = (
    '<span class="chatconn-spinner" role="progressbar" aria-busy="true" '
    'style="display:inline-block;width:0.75em;height:0.75em;box-sizing:border-box;'
    "border:2px solid rgba(255,255,255,0.35);border-top-color:white;border-radius:50%;"
    'vertical-align:-0.1em;animation:chatconn-spin 0.8s linear infinite"></span>'
)


def _pill(text: str, colour: str, spinning: bool = False) -> str:
    """The badge: a coloured pill with a dot, or with a turning spinner while trying."""
    mark = _SPIN_STYLE + _SPINNER if spinning else "●"
    return (
        f'<span style="background:{colour};color:white;border-radius:999px;'
        f'padding:2px 10px;font-weight:600;white-space:nowrap">{mark} {html.escape(text)}</span>'
    )


class Translated:
    """A widget shown in a language: ``language`` (checked); setting it renders again."""

    _language: str

    def _render(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def language(self) -> str:
        return self._language

    @language.setter
    def language(self, value: str) -> None:
        self._language = check_language(value)
        self._render()


class _Bindable(Translated):
    """Shared by the indicator and the toasts: language, and subscribing to a manager."""

    def __init__(self, language: str) -> None:
        self._language = check_language(language)
        self._unsubscribe: Callable[[], None] | None = None
        self.manager: Any = None

    def bind(self, manager: Any) -> None:
        """Subscribe to ``manager``'s events (and stop following the previous manager).

        The manager must run on this thread's event loop; for one on another thread use
        :meth:`follow` and pass its events to :meth:`handle` on this thread.
        """
        self.follow(manager)
        self._unsubscribe = manager.subscribe(self.handle)

    def follow(self, manager: Any) -> None:
        """Start showing ``manager`` (its time scale and state) without subscribing."""
        self.unbind()
        self.manager = manager
        self._reset(manager)

    def unbind(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._unsubscribe = None

    def handle(self, event: ConnectionEvent) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _reset(self, manager: Any) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class StatusIndicator(_Bindable):
    """State, phase, "attempt k of N" with a progress bar, strategy and a quality colour.

    ``variant``: ``"badge"`` (a coloured pill), ``"inline"`` (pill, one line of text and a
    progress bar) or ``"panel"`` (a diagnostic panel with a Retry button). Every variant's
    pill carries a spinner while connecting or reconnecting, the attempt counter its percent
    ("Attempt 2 of 6 · 33%"), and inline and panel a tip when degraded or failed, from
    ``tips`` (a :class:`~chatconn.tips.TipBook`; texts of your own there). ``on_retry`` is
    called with the indicator when Retry is clicked; without it, Retry on a bound manager
    calls :meth:`ConnectionManager.retry`: the current wait is cut short, or after a
    failure a fresh connect starts.
    """

    def __init__(
        self,
        variant: str = "badge",
        language: str = DEFAULT_LANGUAGE,
        *,
        on_retry: Callable[[StatusIndicator], Any] | None = None,
        tips: TipBook | None = None,
    ) -> None:
        if variant not in VARIANTS:
            raise ConfigError("variant", variant, "expected one of " + ", ".join(VARIANTS))
        if tips is not None and not isinstance(tips, TipBook):
            raise ConfigError("tips", tips, "expected a chatconn.tips.TipBook or None")
        self.tips = tips if tips is not None else TipBook()
        super().__init__(language)
        self.variant = variant
        self.status = ConnectionStatus()
        self._ticker: asyncio.TimerHandle | None = None
        self._anchor: tuple[float, float] | None = None  # (event's elapsed_s, monotonic)
        self.on_retry = on_retry
        self.badge = W.HTML()
        self.line = W.HTML()
        self.progress = W.IntProgress(min=0, max=1, value=0, layout=W.Layout(width="160px"))
        self.details = W.HTML()
        self.retry_button = W.Button(icon="refresh")
        self.retry_button.on_click(lambda _button: self.retry())
        if variant == "badge":
            self.widget: W.Widget = self.badge
        elif variant == "inline":
            self.widget = W.HBox(
                [self.badge, self.line, self.progress], layout=W.Layout(align_items="center")
            )
        else:
            self.title = W.HTML()
            self.widget = W.VBox(
                [
                    W.HBox([self.title, self.badge], layout=W.Layout(align_items="center")),
                    self.details,
                    W.HBox([self.progress, self.retry_button]),
                ],
                layout=W.Layout(border="1px solid #ddd", padding="8px", width="460px"),
            )
        self.widget.add_class("chatconn-status")  # for browser tests and custom CSS
        self._render()

    def _ipython_display_(self) -> None:  # pragma: no cover - needs a front end
        from IPython.display import display

        display(self.widget)

    def _reset(self, manager: Any) -> None:
        self.status = ConnectionStatus(time_scale=manager.time_scale, state=manager.state)
        self._stop_ticking()
        self._render()

    def handle(self, event: ConnectionEvent) -> None:
        """Show one event (what :meth:`bind` calls for every event of the manager).

        While the connection is being made, the percent also moves between events: every
        :data:`TICK_S` the indicator re-renders with the time passed since the last event
        (on the event loop running this call; without one, only events move it)."""
        self.status.apply(event)
        self._anchor = (event.elapsed_s, time.monotonic())
        self._render()
        if self.status.spinning:
            self._start_ticking()
        else:
            self._stop_ticking()

    def unbind(self) -> None:
        super().unbind()
        self._stop_ticking()

    def _start_ticking(self) -> None:
        if self._ticker is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop here: events alone move the percent
            return
        self._ticker = loop.call_later(TICK_S, self._tick)

    def _stop_ticking(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    def _tick(self) -> None:
        self._ticker = None
        if not self.status.spinning or self._anchor is None:
            return
        at_event, then = self._anchor
        self.status.advance(at_event + time.monotonic() - then)
        self._render()
        if self.status.percent != 100:  # a spent plan: the next event ends the connect
            self._start_ticking()

    def retry(self) -> None:
        if self.on_retry is not None:
            self.on_retry(self)
        elif self.manager is not None:
            self.manager.retry()

    def texts(self) -> dict[str, str]:
        """What the indicator shows, as plain strings in the current language."""
        s, lang = self.status, self._language
        out = {"state": message(f"state.{s.state.value}", lang), "phase": "", "attempt": ""}
        out |= {"strategy": "", "quality": "", "detail": "", "progress": "", "tip": ""}
        if s.phase is not None:
            out["phase"] = message(f"phase.{s.phase.value}", lang)
        if s.attempt is not None and s.attempts is not None:
            out["attempt"] = message("attempt", lang, k=s.attempt + 1, n=s.attempts)
            percent = s.percent
            out["progress"] = (
                out["attempt"]
                if percent is None
                else message("progress", lang, k=s.attempt + 1, n=s.attempts, percent=percent)
            )
        key = s.tip
        if key is not None:
            out["tip"] = self.tips.text(key, lang)
        if s.strategy is not None:
            out["strategy"] = message(f"strategy.{s.strategy.value}", lang)
        if s.quality is not None and s.state not in STATE_COLOURS:
            out["quality"] = message(f"quality.{s.quality.label}", lang)
        if s.state is ConnectionState.FAILED and s.attempt is not None:  # else: no attempt
            error = s.last_error or ErrorCategory.TIMEOUT
            out["detail"] = _say("detail.failed", lang, attempts=s.attempt + 1, error=error)
        elif s.state is ConnectionState.DEGRADED:
            out["detail"] = _say("detail.degraded", lang, strategy=s.strategy)
        elif s.waiting_s is not None:
            out["detail"] = message("waiting", lang, seconds=f"{s.waiting_s:.1f}")
        elif s.state in _TRYING and s.last_error:
            out["detail"] = _say("detail.last_error", lang, error=s.last_error)
        out["explanation"] = self._explanation()
        return out

    def _explanation(self) -> str:
        """The manager's explanation of a failed or degraded connect, in the indicator's
        language (a plain-string reason, from elsewhere, only in English)."""
        s, lang = self.status, self._language
        if s.state not in _EXPLAINED or not s.reason:
            return ""
        if isinstance(s.reason, Text):
            return s.reason.say(lang)
        return s.reason if lang == "en" else ""

    def _render(self) -> None:
        t, s, lang = self.texts(), self.status, self._language
        self.badge.value = _pill(t["state"], s.colour, s.spinning)
        self.progress.max = max(s.attempts or 1, 1)
        self.progress.value = 0 if s.attempt is None else s.attempt + 1
        self.progress.bar_style = {
            ConnectionState.CONNECTED: "success",
            ConnectionState.DEGRADED: "warning",
            ConnectionState.FAILED: "danger",
        }.get(s.state, "info")
        self.retry_button.description = message("ui.retry", lang)
        self.retry_button.disabled = s.state is ConnectionState.CLOSED
        parts = [t[k] for k in ("phase", "progress", "strategy", "quality") if t[k]]
        self.line.value = html.escape(" · ".join(parts)) + (
            f"<div style='color:#555'>{html.escape(t['tip'])}</div>" if t["tip"] else ""
        )
        if self.variant == "panel":
            self.title.value = f"<b>{html.escape(message('ui.title', lang))}</b>&nbsp;"
            rows = [("ui.phase", "phase"), ("ui.attempt", "progress")]
            rows += [("ui.strategy", "strategy"), ("ui.quality", "quality")]
            cells = "".join(
                f"<tr><td style='color:#666;padding-right:12px'>"
                f"{html.escape(message(label, lang))}</td>"
                f"<td>{html.escape(t[key] or '—')}</td></tr>"
                for label, key in rows
            )
            detail = f"<div>{html.escape(t['detail'])}</div>" if t["detail"] else ""
            if t["explanation"]:  # the manager's own words
                detail += f"<div style='color:#666'>{html.escape(t['explanation'])}</div>"
            if t["tip"]:  # what still works, what to do
                detail += (
                    "<div class='chatconn-tip' style='border-left:3px solid #1f77b4;"
                    f"padding-left:6px;margin-top:4px'>{html.escape(t['tip'])}</div>"
                )
            self.details.value = f"<table>{cells}</table>{detail}"
