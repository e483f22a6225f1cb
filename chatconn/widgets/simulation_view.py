"""SimulationView: the panel's policy simulated over many sessions, redrawn in place.

::

    panel = PolicyPanel("seed")
    view = SimulationView(panel, sessions=100_000)
    display(panel.widget, view.widget)     # move a slider: the figures follow
    view.last_update_ms, view.timings      # what the last change cost

Every valid change of the panel runs :func:`~chatconn.simulate.simulate`, computes the
charts' infos (:mod:`chatconn.plotdata`) and refreshes three ``go.FigureWidget`` s in place
with :func:`chatconn.plots.update_figure`: the same widgets and trace objects get new data
in one ``batch_update`` each, so the notebook gets no new output and no flicker.
"""

from __future__ import annotations

import html
import time
from typing import Any

import ipywidgets as W
import plotly.graph_objects as go

from ..outcomes import SessionOutcomes
from ..plotdata import backoff_info, quality_info, ttc_info
from ..plots import backoff_figure, quality_figure, ttc_figure, update_figure
from ..simulate import simulate
from .panel import PanelState, PolicyPanel

__all__ = ["SimulationView"]

#: Schedules drawn for the backoff chart (its quartiles are stable well before this).
BACKOFF_SAMPLES = 5_000


class SimulationView:
    """Time to connect (ECDF + histogram, quality bands), quality classes and the backoff
    schedule of the panel's current policy and target, re-simulated on every change."""

    def __init__(
        self,
        panel: PolicyPanel,
        *,
        sessions: int = 100_000,
        backoff_samples: int = BACKOFF_SAMPLES,
    ) -> None:
        self.panel = panel
        self.sessions = sessions
        self.backoff_samples = backoff_samples
        self.result: SessionOutcomes | None = None
        #: Milliseconds the last :meth:`update` took (simulation, infos and figure updates).
        self.last_update_ms: float | None = None
        #: The same, split: ``simulate``, ``infos`` and ``figures`` (ms).
        self.timings: dict[str, float] = {}
        self.summary = W.HTML()
        self.ttc: go.FigureWidget | None = None
        self.quality: go.FigureWidget | None = None
        self.backoff: go.FigureWidget | None = None
        self._backoff_key: tuple[Any, ...] | None = None
        self.update()
        self.widget = W.VBox([self.summary, self.ttc, self.quality, self.backoff])
        self._unsubscribe = panel.observe(self.update)

    def _ipython_display_(self) -> None:  # pragma: no cover - needs a front end
        from IPython.display import display

        display(self.widget)

    def update(self, state: PanelState | None = None) -> float:
        """Simulate the panel's state (or ``state``) and refresh the figures; returns ms."""
        state = state if state is not None else self.panel.state
        began = time.perf_counter()
        result = simulate(state.policy, state.target_value, self.sessions, seed=state.seed)
        simulated = time.perf_counter()
        ttc, quality = ttc_info(result), quality_info(result)
        backoff = None
        key = (state.policy, state.seed)  # the schedule does not depend on the target
        if key != self._backoff_key:
            backoff = backoff_info(state.policy, samples=self.backoff_samples, seed=state.seed)
            self._backoff_key = key
        infos = time.perf_counter()
        ttc_title = (
            f"Time to connect · {state.target} · base timeout {state.policy.base_timeout:g} s"
        )
        if self.ttc is None:
            if backoff is None:  # pragma: no cover - the first update has no key yet: drawn
                backoff = backoff_info(state.policy, samples=self.backoff_samples, seed=state.seed)
            self.ttc = go.FigureWidget(ttc_figure(ttc, title=ttc_title))
            self.quality = go.FigureWidget(quality_figure(quality))
            self.backoff = go.FigureWidget(backoff_figure(backoff))
        else:
            update_figure(self.ttc, ttc, title=ttc_title)
            update_figure(self.quality, quality)
            if backoff is not None:
                update_figure(self.backoff, backoff)
        done = time.perf_counter()
        self.result = result
        self.timings = {
            "simulate": (simulated - began) * 1000,
            "infos": (infos - simulated) * 1000,
            "figures": (done - infos) * 1000,
        }
        self.last_update_ms = (done - began) * 1000
        parts = ", ".join(f"{name} {ms:.0f} ms" for name, ms in self.timings.items())
        self.summary.value = html.escape(
            f"{self.sessions:,} simulated sessions on {state.target} (seed {state.seed}): "
            f"updated in {self.last_update_ms:.0f} ms ({parts})"
        )
        return self.last_update_ms

    def close(self) -> None:
        """Stop following the panel."""
        self._unsubscribe()
