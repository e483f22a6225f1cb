"""Toasts: transient notifications for connection events, which dismiss themselves.

::

    toasts = Toasts("ru")
    toasts.bind(manager)              # strategy change, quality dropping, degraded, failed,
                                      # connection lost, back online
    toasts.show("toast.reconnected")  # or any message key by hand

What deserves a toast is decided by :class:`~chatconn.widgets.status.ConnectionStatus`
(the same reading of the events as the status indicator); the texts come from
:mod:`chatconn.messages`.
"""

from __future__ import annotations

import asyncio
import html
import itertools
from collections.abc import Callable
from typing import Any

import ipywidgets as W

from ..live.events import ConnectionEvent
from ..messages import DEFAULT_LANGUAGE
from ..messages import say as _say
from ..plotdata import QUALITY_COLOURS
from .status import ConnectionStatus, Notice, _Bindable

__all__ = ["DEFAULT_TOAST_S", "Toasts"]

#: Seconds a toast stays up unless told otherwise.
DEFAULT_TOAST_S = 4.0
_TOAST_COLOURS = {
    "toast.strategy_changed": "#3566c8",
    "toast.quality_dropped": QUALITY_COLOURS["poor"],
    "toast.degraded": QUALITY_COLOURS["poor"],
    "toast.connection_lost": QUALITY_COLOURS["poor"],
    "toast.failed": QUALITY_COLOURS["critical"],
    "toast.reconnected": QUALITY_COLOURS["excellent"],
}


class Toasts(_Bindable):
    """Transient notifications for connection events; each dismisses itself.

    ``call_later(delay_s, callback)`` schedules the dismissal (default: the running asyncio
    loop's ``call_later``; without a running loop a toast stays until ``max_visible`` newer
    ones push it out). Inject one in tests to dismiss on demand.
    """

    def __init__(
        self,
        language: str = DEFAULT_LANGUAGE,
        *,
        duration_s: float = DEFAULT_TOAST_S,
        max_visible: int = 3,
        call_later: Callable[[float, Callable[[], None]], Any] | None = None,
    ) -> None:
        super().__init__(language)
        self.duration_s = duration_s
        self.max_visible = max_visible
        self._call_later = call_later
        self.status = ConnectionStatus()
        self._ids = itertools.count(1)
        self._shown: dict[int, tuple[Notice, W.HTML, Any]] = {}
        self.widget = W.VBox(layout=W.Layout(width="460px"))
        self.widget.add_class("chatconn-toasts")

    def _ipython_display_(self) -> None:  # pragma: no cover - needs a front end
        from IPython.display import display

        display(self.widget)

    def _reset(self, manager: Any) -> None:
        self.status = ConnectionStatus(time_scale=manager.time_scale, state=manager.state)

    def handle(self, event: ConnectionEvent) -> None:
        for notice in self.status.apply(event):
            self.show(notice)

    def show(self, notice: Notice | str, **values: Any) -> int:
        """Show a toast (a :class:`Notice` or a message key); returns its id."""
        if isinstance(notice, str):
            notice = Notice(notice, values)
        toast_id = next(self._ids)
        box = W.HTML()
        handle = self._schedule(self.duration_s, lambda: self.dismiss(toast_id))
        self._shown[toast_id] = (notice, box, handle)
        while len(self._shown) > self.max_visible:
            self.dismiss(next(iter(self._shown)))
        self._render()
        return toast_id

    def _schedule(self, delay: float, callback: Callable[[], None]) -> Any:
        if self._call_later is not None:
            return self._call_later(delay, callback)
        try:
            return asyncio.get_running_loop().call_later(delay, callback)
        except RuntimeError:  # no running loop: stays until pushed out
            return None

    def dismiss(self, toast_id: int) -> None:
        entry = self._shown.pop(toast_id, None)
        if entry is None:
            return
        _, box, handle = entry
        if handle is not None and hasattr(handle, "cancel"):
            handle.cancel()
        self._render()
        box.close()  # one widget per toast: release its comm

    def clear(self) -> None:
        for toast_id in list(self._shown):
            self.dismiss(toast_id)

    @property
    def visible(self) -> list[str]:
        """The texts of the toasts on screen, oldest first."""
        return [_say(n.key, self._language, **n.values) for n, _, _ in self._shown.values()]

    def _render(self) -> None:
        children = []
        for notice, box, _ in self._shown.values():
            colour = _TOAST_COLOURS.get(notice.key, "#4575b4")
            text = html.escape(_say(notice.key, self._language, **notice.values))
            box.value = (
                f'<div style="border-left:4px solid {colour};background:#f7f7f7;'
                f'padding:6px 10px;margin:2px 0">{text}</div>'
            )
            children.append(box)
        self.widget.children = children
