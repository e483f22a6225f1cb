"""LiveView: "Run live" — real sessions against the in-process lab, drawn as they happen.

::

    view = LiveView(panel, sessions=20)   # time_scale="auto": chosen for this machine
    display(view.widget)        # click "Run live"; or, in a cell: live = await view.run()
    view.cancel()               # what the Cancel button does
    view.close()                # stops the lab this view started

A run takes the panel's policy, target and seed, starts a
:class:`~chatconn.lab.thread.LabServerThread` playing the target (a population is a mix,
and the lab plays one profile: its largest component, said in the view), and connects
``sessions`` clients with :func:`~chatconn.live.run.run_live` against that lab
(``lab=``). By default the time scale is automatic: run_live measures this machine's
harness floor through the lab and picks the scale that keeps the harness's cost within 5 %
of the profile's median time to connect; the view says which scale, why, and what the
harness can add (a given scale that distorts more gets run_live's warning, in red), and
the overlay's subtitle gives the verdict against the simulation. Through run_live's
``on_session`` hook every manager's events reach the view: the status indicator and the
toasts follow the latest session, the progress bar counts finished sessions, and the
timeline, the live-vs-simulated overlay and the quality classes refresh in place (at most
every :data:`REFRESH_S` seconds, and once at the end from the finished run).

Where the clients run: :meth:`LiveView.run` is a coroutine on the kernel's loop (the button
schedules it there with ``create_task``), but the clients run on the lab's own loop and
thread (:meth:`LabServerThread.submit`). Redrawing three figures takes ~100 ms of Python:
on the clients' loop that would add ~100 ms to whichever connects were in flight — 2 s of
profile time at ``time_scale=0.05``; and clients on a third thread would wait for the GIL
behind the lab's thread at every hop (seconds of profile time per connect, measured). Events
cross back with ``call_soon_threadsafe``; Cancel cancels the run's task on the lab's loop,
and run_live closes every manager it opened. The kernel's loop never blocks: the simulated
twin is computed in a worker thread (``asyncio.to_thread``), and so is the wait for the
clients' thread to end; the clients' loop and task, which both threads read, are guarded by
a lock.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import html
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go

from ..core.errors import ConfigError
from ..core.harness import HarnessFloor, ScaleChoice, describe_scale
from ..core.profiles import NetworkProfile, Population
from ..lab.thread import LabServerThread
from ..live.events import AttemptFinished, ConnectionEvent, ConnectionState, StateChanged
from ..live.harness import RunPlan
from ..live.manager import ConnectionManager
from ..live.run import LiveRun, check_time_scale, probe_scale, run_live
from ..messages import DEFAULT_LANGUAGE, check_language, message
from ..outcomes import SessionOutcomes
from ..plotdata import overlay_info, quality_info, timeline_info
from ..plots import overlay_figure, quality_figure, timeline_figure, update_figure
from ..runs import save_run
from ..simulate import simulate
from ..workspace import my_runs_dir
from .panel import PanelState, PolicyPanel
from .run_status import RunStatus
from .status import StatusIndicator
from .toasts import Toasts

__all__ = ["LiveView", "lab_profile_for", "scale_html"]

#: Shortest interval between two redraws of the figures during a run (seconds). A redraw
#: holds the GIL for ~50 ms, and meanwhile the lab's loop (clients and proxies) wakes ~5 ms
#: late (the interpreter's switch interval): harness cost, which the run's floor sampling
#: records. Once a second keeps that to ~5 % of the run's wall time.
REFRESH_S = 1.0
#: Sessions simulated for the overlay's simulated curve.
SIMULATED_SESSIONS = 20_000
_OUTCOMES = (ConnectionState.CONNECTED, ConnectionState.DEGRADED, ConnectionState.FAILED)


def lab_profile_for(target: NetworkProfile | Population) -> tuple[NetworkProfile, str | None]:
    """The profile the lab plays for ``target``, and the population's name if it is one
    (then the profile is its largest component; ties go to the first)."""
    if isinstance(target, Population):
        largest = max(target.components, key=lambda component: component[1])[0]
        return largest, target.name
    if isinstance(target, NetworkProfile):
        return target, None
    raise ConfigError("target", target, "expected a NetworkProfile or a Population")


def scale_html(choice: ScaleChoice, floor: HarnessFloor, bound_s: float) -> str:
    """What the view says about a run's time scale, as HTML: :func:`describe_scale` (the
    scale and why, the harness floor, what it can add: the overlay's shaded band) and, for
    a given scale that distorts by more than the tolerance, its warning in red."""
    text = html.escape(describe_scale(choice, floor, bound_s))
    if choice.warning:
        text += f'<br><span style="color:#b2182b">⚠ {html.escape(choice.warning)}</span>'
    return text


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(name, value, "expected a whole number >= 1")
    return value


def _kernel_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # a widget callback outside a coroutine: ipykernel's loop
        return asyncio.get_event_loop()


class LiveView:
    """Run N real sessions of the panel's policy against the lab; see the module doc.

    ``time_scale``: "auto" (the default: chosen for this machine at every run, see
    :func:`~chatconn.live.run.run_live`) or a number, which the lab is set to at every run.
    ``lab``: a running or not yet started :class:`LabServerThread` to use; by default the
    view starts its own on the first run and :meth:`close` stops it. :attr:`plan` is the
    last run's plan (scale chosen, why, harness floor) as soon as it is made.
    """

    def __init__(
        self,
        panel: PolicyPanel,
        *,
        sessions: int = 20,
        concurrency: int = 20,
        time_scale: float | str = "auto",
        lab: LabServerThread | None = None,
        simulated_sessions: int = SIMULATED_SESSIONS,
        language: str = DEFAULT_LANGUAGE,
        save_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.panel = panel
        self.sessions = _count("sessions", sessions)
        self.concurrency = _count("concurrency", concurrency)
        self.simulated_sessions = _count("simulated_sessions", simulated_sessions)
        self._lab = lab
        self._owns_lab = lab is None
        self._manual_scale = check_time_scale(time_scale)  # None: automatic
        self.time_scale: float | str = self._manual_scale or "auto"
        #: The plan of the last run (scale, why, harness floor), set before its sessions.
        self.plan: RunPlan | None = None
        self._language = check_language(language)
        #: The first session of a run as its user sees it (not displayed by the view: the
        #: view shows :attr:`run_status`, the run's aggregate, which does not flicker).
        self.status = StatusIndicator("inline", language, on_retry=self._retry)
        self.run_status = RunStatus(language)
        self.toasts = Toasts(language)
        self.run_button = W.Button(button_style="primary", icon="play")
        self.cancel_button = W.Button(icon="stop", disabled=True)
        self.save_button = W.Button(icon="save", disabled=True)
        #: Where Save run writes; None: ``data/runs/mine`` under the working folder.
        self.save_dir = None if save_dir is None else Path(save_dir)
        self.run_button.on_click(lambda _button: self.start())
        self.cancel_button.on_click(lambda _button: self.cancel())
        self.save_button.on_click(lambda _button: self.save())
        self.progress = W.IntProgress(
            min=0, max=self.sessions, value=0, style={"description_width": "initial"}
        )
        self.note = W.HTML()
        #: The time scale of the run, why, and what the harness can add (warnings in red).
        self.scale_note = W.HTML()
        self.timeline = go.FigureWidget(
            timeline_figure(timeline_info([]), title="Live timeline of attempts")
        )
        self.overlay = go.FigureWidget(overlay_figure(overlay_info([], [])))
        self.quality = go.FigureWidget(quality_figure(quality_info([])))
        self.widget = W.VBox(
            [
                W.HBox([self.run_button, self.cancel_button, self.save_button, self.progress]),
                self.run_status.widget,
                self.note,
                self.scale_note,
                self.toasts.widget,
                self.timeline,
                self.overlay,
                self.quality,
            ]
        )
        #: The last finished run (None before the first, or after a cancelled one).
        self.last_run: LiveRun | None = None
        self.task: asyncio.Task[LiveRun | None] | None = None
        self._running = False
        self._cancel_requested = False
        # Set on the lab's thread, read on the kernel's: only under _client_lock.
        self._client_lock = threading.Lock()
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._client_task: asyncio.Task[Any] | None = None
        self._managers: dict[int, ConnectionManager] = {}
        self._times: dict[int, float] = {}
        self._following: ConnectionManager | None = None
        self._refresh_handle: asyncio.TimerHandle | None = None
        self._simulated: SessionOutcomes | None = None
        self._worker: threading.Thread | None = None
        self._run_title = self._title_head = ""
        self._render_labels()

    def _ipython_display_(self) -> None:  # pragma: no cover - needs a front end
        from IPython.display import display

        display(self.widget)

    # -- language --------------------------------------------------------------------
    @property
    def language(self) -> str:
        return self._language

    @language.setter
    def language(self, value: str) -> None:
        self._language = check_language(value)
        self.status.language = self.toasts.language = self.run_status.language = value
        self._render_labels()

    def _render_labels(self) -> None:
        self.run_button.description = message("ui.run_live", self._language)
        self.cancel_button.description = message("ui.cancel", self._language)
        self.save_button.description = message("ui.save_run", self._language)
        self.progress.description = message(
            "ui.sessions_done", self._language, done=self.progress.value, total=self.sessions
        )

    # -- running ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._running

    @property
    def lab(self) -> LabServerThread | None:
        return self._lab

    def start(self) -> asyncio.Task[LiveRun | None]:
        """Schedule :meth:`run` on the kernel's event loop (what "Run live" does)."""
        if self.task is not None and not self.task.done():
            return self.task
        self.task = _kernel_loop().create_task(self.run())
        self.task.add_done_callback(self._report)
        return self.task

    def save(self) -> Path:
        """Write the last run to :attr:`save_dir` as a run file named after it (what "Save
        run" does; never overwrites); returns its path and says it under the buttons."""
        if self.last_run is None:
            raise ConfigError("last_run", None, "run live first: there is no run to save")
        target = my_runs_dir() if self.save_dir is None else self.save_dir
        path = save_run(self.last_run, target)
        text = message("ui.saved", self._language, path=str(path))
        self.note.value += f"<br><code>{html.escape(text)}</code>"
        self.save_button.disabled = True  # saved once; the next run can be saved again
        return path

    def _report(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            self.note.value = (
                f'<span style="color:#b2182b">{html.escape(type(error).__name__)}: '
                f"{html.escape(str(error))}</span>"
            )

    def cancel(self) -> None:
        """Stop the run in progress: every manager closes, no task is left behind."""
        with self._client_lock:
            self._cancel_requested = True
            loop, task = self._client_loop, self._client_task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the worker's loop just closed
                loop.call_soon_threadsafe(task.cancel)

    async def run(self) -> LiveRun | None:
        """One live run with the panel's current state; None if it was cancelled."""
        if self._running:
            raise RuntimeError("a live run is in progress; cancel it or wait for it")
        ui = asyncio.get_running_loop()
        state = self.panel.state
        profile, population = lab_profile_for(state.target_value)
        self._running = True
        try:
            # Off the kernel's loop: it keeps serving the widgets meanwhile.
            simulated = await asyncio.to_thread(
                simulate, state.policy, profile, self.simulated_sessions, seed=state.seed
            )
            self._begin(profile, population, simulated)
            done: concurrent.futures.Future[LiveRun | None] = concurrent.futures.Future()
            worker = self._worker = threading.Thread(
                target=self._work,
                args=(state, profile, ui, done),
                name="chatconn-live-clients",
                daemon=True,
            )
            worker.start()
            try:
                live = await asyncio.wrap_future(done)
            except asyncio.CancelledError:  # run() itself was cancelled: stop the clients
                self.cancel()
                raise
        finally:
            self._running = False
            self.run_status.finish()
            self.run_button.disabled, self.cancel_button.disabled = False, True
            if self._refresh_handle is not None:
                self._refresh_handle.cancel()
                self._refresh_handle = None
        await asyncio.to_thread(worker.join, 10.0)  # it has set `done`: ending, not blocking
        if live is not None and live.plan is not None and live.harness is not None:
            self.scale_note.value = scale_html(live.plan.choice, live.harness, live.bound_s)
        self.last_run = live
        self.save_button.disabled = live is None
        self._refresh(live)
        lang, total = self._language, self.sessions
        if live is None:
            text = message("ui.cancelled", lang, done=len(self._times), total=total)
            self.progress.bar_style = "warning"
        else:
            connected = int(live.result.connected.sum())
            text = message("ui.finished", lang, connected=connected, total=total)
            self.progress.bar_style = "success" if connected == total else "warning"
        self.note.value = self._population_note(profile, population) + html.escape(text)
        return live

    def _begin(
        self, profile: NetworkProfile, population: str | None, simulated: SessionOutcomes
    ) -> None:
        self._cancel_requested = False
        self._managers, self._times, self._following = {}, {}, None
        self.run_status.begin(self.sessions)
        self.progress.max, self.progress.value, self.progress.bar_style = self.sessions, 0, "info"
        self._render_labels()
        self.run_button.disabled, self.cancel_button.disabled = True, False
        self.save_button.disabled = True
        self.note.value = self._population_note(profile, population)
        self.plan = None
        scale = "auto" if self._manual_scale is None else f"{self._manual_scale:g}"
        self._title_head = f"{profile.name} · {self.sessions} sessions"
        self._run_title = f"{self._title_head} · scale {scale}"
        self.scale_note.value = html.escape(
            "Measuring this machine's harness floor to choose the time scale…"
            if self._manual_scale is None
            else f"Time scale {scale}, as given; measuring what the harness adds…"
        )
        self._simulated = simulated
        self._refresh(None)

    def _population_note(self, profile: NetworkProfile, population: str | None) -> str:
        if population is None:
            return ""
        text = message(
            "ui.population_note", self._language, profile=profile.name, population=population
        )
        return f"<i>{html.escape(text)}</i><br>"

    # -- the worker thread -----------------------------------------------------------
    def _work(
        self,
        state: PanelState,
        profile: NetworkProfile,
        ui: asyncio.AbstractEventLoop,
        done: concurrent.futures.Future[LiveRun | None],
    ) -> None:
        try:
            # A given scale, or the one the harness probes run at before an automatic one.
            scale = self._manual_scale or probe_scale(state.policy, profile)
            if self._lab is None:
                self._lab = LabServerThread(profile, time_scale=scale, seed=state.seed)
            lab = self._lab
            if lab.running:
                lab.set_profile(profile, reset_epoch=True)
            else:
                lab.start()
                if lab.profile != profile:
                    lab.set_profile(profile, reset_epoch=True)
            lab.set_time_scale(scale)
            # The clients share the lab's loop and thread: timed against the lab without
            # waiting for the GIL behind a second busy thread.
            live = lab.submit(self._clients(state, ui, lab)).result()
        except BaseException as exc:  # reported to run() on the kernel's loop
            done.set_exception(exc)
        else:
            done.set_result(live)

    async def _clients(
        self, state: PanelState, ui: asyncio.AbstractEventLoop, lab: LabServerThread
    ) -> LiveRun | None:
        with self._client_lock:
            self._client_loop = asyncio.get_running_loop()
            self._client_task = asyncio.current_task()
            cancelled = self._cancel_requested

        def post(callback: Callable[..., Any], *args: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the kernel's loop is gone
                ui.call_soon_threadsafe(callback, *args)

        def on_session(i: int, manager: ConnectionManager) -> None:
            post(self._on_session, i, manager)
            manager.subscribe(lambda event: post(self._on_event, i, manager, event))

        try:
            if cancelled:
                return None
            return await run_live(
                state.policy,
                self.sessions,
                concurrency=self.concurrency,
                seed=state.seed,
                time_scale=self.time_scale,
                lab=lab.lab,  # on this loop: run_live measures the harness through it
                on_session=on_session,
                on_plan=lambda plan: post(self._on_plan, plan),
            )
        except asyncio.CancelledError:
            return None
        finally:
            with self._client_lock:
                self._client_loop = self._client_task = None

    def _retry(self, status: StatusIndicator) -> None:
        with self._client_lock:
            loop = self._client_loop
        manager = status.manager
        if loop is not None and manager is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(manager.retry)

    # -- on the kernel's loop --------------------------------------------------------
    def _on_plan(self, plan: RunPlan) -> None:
        self.plan = plan
        self._run_title = f"{self._title_head} · scale {plan.scale:g}"
        self.scale_note.value = scale_html(plan.choice, plan.floor, plan.choice.bound_s)
        self._refresh(None)

    def _on_session(self, i: int, manager: ConnectionManager) -> None:
        first = not self._managers
        self._managers[i] = manager
        if first:  # one session followed for the whole run: no switching between sessions
            self._following = manager
            self.status.follow(manager)
            self.toasts.follow(manager)

    def _on_event(self, i: int, manager: ConnectionManager, event: ConnectionEvent) -> None:
        if manager is self._following:
            self.status.handle(event)
            self.toasts.handle(event)
        if isinstance(event, StateChanged) and event.state in _OUTCOMES and i not in self._times:
            spent = manager.attempts_elapsed_s
            ok = event.state is not ConnectionState.FAILED and spent is not None
            self._times[i] = spent / manager.time_scale if ok and spent is not None else math.nan
            self.run_status.ended(i, event.state)
            self.progress.value = len(self._times)
            self._render_labels()
            if manager is self._following:
                self._following = None  # keep its outcome on show, not run_live's close()
        if isinstance(event, AttemptFinished | StateChanged) and self._refresh_handle is None:
            loop = asyncio.get_running_loop()
            self._refresh_handle = loop.call_later(REFRESH_S, self._refresh_during_run)

    def _refresh_during_run(self) -> None:
        self._refresh_handle = None
        if self._running:
            self._refresh(None)

    def _refresh(self, live: LiveRun | None) -> None:
        """Redraw the three figures from the sessions so far (or from the finished run)."""
        simulated = self._simulated
        records = [r for i in sorted(self._managers) for r in list(self._managers[i].records)]
        times: Any = live if live is not None else np.array(list(self._times.values()))
        sim: Any = simulated if simulated is not None else np.empty(0)
        # The finished run carries its own bound; until then, the one its plan predicts.
        bound = None if live is not None else (self.plan.choice.bound_s if self.plan else 0.0)
        title = self._run_title
        update_figure(
            self.timeline, timeline_info(records), title=f"Live timeline of attempts · {title}"
        )
        update_figure(
            self.overlay,
            overlay_info(times, sim, bound_s=bound),
            title=f"Live vs simulated · {title}",
        )
        update_figure(self.quality, quality_info(times), title=f"Live connection quality · {title}")

    def close(self) -> None:
        """Cancel a run in progress, wait for its clients to close, stop the lab this view
        started."""
        self.cancel()
        if self._worker is not None:
            self._worker.join(10.0)
        if self._owns_lab and self._lab is not None:
            self._lab.stop()
            self._lab = None
