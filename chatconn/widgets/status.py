"""The connection as a user sees it: a status indicator in three variants.

:class:`ConnectionStatus` is the pure part: it folds the manager's events
(:mod:`chatconn.live.events`) into what to show — state, phase, attempt k of N, strategy,
quality so far — and returns the notices worth a toast. :class:`StatusIndicator` and
:class:`~chatconn.widgets.toasts.Toasts` only render it with :mod:`chatconn.messages`, in
English or Russian::

    status = StatusIndicator("panel", language="ru", on_retry=...)
    status.bind(manager)               # or status.handle(event) for each event
    status.language = "en"             # re-renders at once

Times shown are in *profile time* (wall seconds / the manager's ``time_scale``), the unit
of the policy's numbers and of the quality classes.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as W

from ..core.errors import ConfigError
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

    def apply(self, event: ConnectionEvent) -> list[Notice]:
        """Take one event into account; return the notices it deserves (maybe none)."""
        notices: list[Notice] = []
        self.elapsed_s = event.elapsed_s / self.time_scale
        still_trying = True  # the time spent so far sets the quality colour
        if isinstance(event, StateChanged):
            self.state, self.reason = event.state, event.reason
            if event.state in _TRYING:
                self.attempt = self.strategy = self.last_error = self.waiting_s = None
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
        if still_trying and self.state in _TRYING:
            so_far = classify(self.elapsed_s)
            if self.quality is not None and so_far > self.quality:
                notices.append(Notice("toast.quality_dropped", {"quality": so_far}))
            self.quality = so_far if self.quality is None else max(self.quality, so_far)
        return notices

    def _attempt(self, event: AttemptStarted | AttemptFinished) -> None:
        self.attempt, self.attempts, self.strategy = event.attempt, event.attempts, event.strategy

    @property
    def colour(self) -> str:
        if self.state is ConnectionState.DEGRADED:  # connected, limited: amber, never red
            return DEGRADED_COLOUR
        if self.state in STATE_COLOURS or self.quality is None:
            return STATE_COLOURS.get(self.state, STATE_COLOURS[ConnectionState.IDLE])
        return QUALITY_COLOURS[self.quality.label]


def _pill(text: str, colour: str) -> str:
    return (
        f'<span style="background:{colour};color:white;border-radius:999px;'
        f'padding:2px 10px;font-weight:600;white-space:nowrap">● {html.escape(text)}</span>'
    )


class _Bindable:
    """Shared by the indicator and the toasts: language, and subscribing to a manager."""

    def __init__(self, language: str) -> None:
        self._language = check_language(language)
        self._unsubscribe: Callable[[], None] | None = None
        self.manager: Any = None

    @property
    def language(self) -> str:
        return self._language

    @language.setter
    def language(self, value: str) -> None:
        self._language = check_language(value)
        self._render()

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

    def _render(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class StatusIndicator(_Bindable):
    """State, phase, "attempt k of N" with a progress bar, strategy and a quality colour.

    ``variant``: ``"badge"`` (a coloured pill), ``"inline"`` (pill, one line of text and a
    progress bar) or ``"panel"`` (a diagnostic panel with a Retry button). ``on_retry`` is
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
    ) -> None:
        if variant not in VARIANTS:
            raise ConfigError("variant", variant, "expected one of " + ", ".join(VARIANTS))
        super().__init__(language)
        self.variant = variant
        self.status = ConnectionStatus()
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
        self._render()

    def handle(self, event: ConnectionEvent) -> None:
        """Show one event (what :meth:`bind` calls for every event of the manager)."""
        self.status.apply(event)
        self._render()

    def retry(self) -> None:
        if self.on_retry is not None:
            self.on_retry(self)
        elif self.manager is not None:
            self.manager.retry()

    def texts(self) -> dict[str, str]:
        """What the indicator shows, as plain strings in the current language."""
        s, lang = self.status, self._language
        out = {"state": message(f"state.{s.state.value}", lang), "phase": "", "attempt": ""}
        out |= {"strategy": "", "quality": "", "detail": ""}
        if s.phase is not None:
            out["phase"] = message(f"phase.{s.phase.value}", lang)
        if s.attempt is not None and s.attempts is not None:
            out["attempt"] = message("attempt", lang, k=s.attempt + 1, n=s.attempts)
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
        self.badge.value = _pill(t["state"], s.colour)
        self.progress.max = max(s.attempts or 1, 1)
        self.progress.value = 0 if s.attempt is None else s.attempt + 1
        self.progress.bar_style = {
            ConnectionState.CONNECTED: "success",
            ConnectionState.DEGRADED: "warning",
            ConnectionState.FAILED: "danger",
        }.get(s.state, "info")
        self.retry_button.description = message("ui.retry", lang)
        self.retry_button.disabled = s.state is ConnectionState.CLOSED
        parts = [t[k] for k in ("phase", "attempt", "strategy", "quality") if t[k]]
        self.line.value = html.escape(" · ".join(parts))
        if self.variant == "panel":
            self.title.value = f"<b>{html.escape(message('ui.title', lang))}</b>&nbsp;"
            rows = [("ui.phase", "phase"), ("ui.attempt", "attempt")]
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
            self.details.value = f"<table>{cells}</table>{detail}"
