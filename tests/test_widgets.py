"""The widgets driven from Python, no browser: panel, simulation, status, toasts, live view."""

from __future__ import annotations

import asyncio
import html
import re
import string
import threading

import numpy as np
import pytest
from helpers import heading

pytest.importorskip("ipywidgets")
pytest.importorskip("anywidget")  # plotly 7's FigureWidget is an anywidget

from chatconn import ConfigError, JitterMode, RetryPolicy, Strategy, policy_preset
from chatconn.core.harness import HarnessFloor, choose_time_scale
from chatconn.core.profiles import population_preset, profile_preset
from chatconn.core.quality import Quality
from chatconn.core.strategies import ErrorCategory
from chatconn.lab.thread import LabServerThread
from chatconn.live.events import (
    AttemptFinished,
    AttemptStarted,
    ConnectionState,
    EventBus,
    Phase,
    PhaseChanged,
    StateChanged,
    Waiting,
)
from chatconn.messages import LANGUAGES, MESSAGES, Text, message, plural_form
from chatconn.plotdata import overlay_info
from chatconn.runs import load_run
from chatconn.widgets import (
    LiveView,
    PolicyPanel,
    SimulationView,
    StatusIndicator,
    Toasts,
    lab_profile_for,
)
from chatconn.widgets.live_view import scale_html

S = ConnectionState


# --------------------------------------------------------------------------- the panel
def test_sliders_and_pickers_change_the_policy_and_notify():
    panel = PolicyPanel()
    assert panel.policy == RetryPolicy()
    seen = []
    panel.observe(seen.append)
    panel.sliders["base_timeout"].value = 20.0
    panel.sliders["multiplier"].value = 2.0
    panel.sliders["max_attempts"].value = 4
    panel.jitter_mode.value = "full"
    assert panel.policy.base_timeout == 20.0
    assert panel.policy.multiplier == 2.0
    assert panel.policy.max_attempts == 4
    assert panel.policy.jitter_mode is JitterMode.FULL
    assert len(seen) == 4 and seen[-1].policy is panel.policy
    panel.target.value = "3g"
    panel.seed.value = 7
    assert (seen[-1].target, seen[-1].seed) == ("3g", 7)
    assert seen[-1].target_value == profile_preset("3g")


def test_an_invalid_combination_shows_inline_and_keeps_the_last_valid_policy():
    panel = PolicyPanel()
    seen = []
    panel.observe(seen.append)
    panel.sliders["max_timeout"].value = 10.0  # below base_timeout (15 s)
    assert "max_timeout=10.0 is invalid: must be >= base_timeout (15.0)" in panel.error
    assert "max_timeout" in panel.message.value and "Traceback" not in panel.message.value
    assert panel.policy == RetryPolicy() and seen == []
    panel.sliders["max_timeout"].value = 60.0
    assert panel.error == "" and panel.message.value == ""
    assert panel.policy.max_timeout == 60.0 and len(seen) == 1


def test_the_preset_picker_loads_every_field_of_the_preset():
    panel = PolicyPanel()
    panel.preset.value = "grpc"
    grpc = policy_preset("grpc")
    assert panel.policy == grpc  # wait_from, first_delay ... come with it
    assert panel.sliders["max_delay"].value == pytest.approx(120.0)
    assert panel.jitter_mode.value == "proportional"
    assert panel.ladder.value == ["direct_websocket"]
    panel.sliders["jitter"].value = 0.5  # a tweak keeps the preset's other fields
    assert panel.preset.value == ""  # "custom"
    assert panel.policy == grpc.with_changes(jitter=0.5)
    signalr = PolicyPanel("signalr")  # a delays table allows at most 5 attempts
    signalr.sliders["max_attempts"].value = 6
    assert "a table of 4 delays allows at most 5 attempts" in signalr.error
    wide = PolicyPanel(RetryPolicy(max_attempts=50, max_delay=500.0))  # past slider bounds
    assert wide.policy.max_attempts == 50 and wide.policy.max_delay == 500.0


def test_the_ladder_editor_sets_strategies_and_their_order():
    panel = PolicyPanel()
    panel.ladder.value = ["long_polling", "direct_websocket", "sse_fallback"]
    assert panel.policy.ladder == (
        Strategy.LONG_POLLING,
        Strategy.DIRECT_WEBSOCKET,
        Strategy.SSE_FALLBACK,
    )
    panel.ladder.value = []
    assert "ladder" in panel.error and panel.policy.ladder[0] is Strategy.LONG_POLLING


# --------------------------------------------------------------------------- simulation
def test_the_simulation_view_updates_its_figures_in_place():
    panel = PolicyPanel("seed", target="global-users")
    view = SimulationView(panel, sessions=20_000)
    figures = (view.ttc, view.quality, view.backoff)
    traces = [fig.data[0] for fig in figures]
    before_ttc = np.array(view.ttc.data[0].x)
    before_wait = np.array(view.backoff.data[0].median)
    first = view.result
    panel.sliders["initial_delay"].value = 5.0
    assert (view.ttc, view.quality, view.backoff) == figures  # the same widgets
    assert [fig.data[0] for fig in figures] == traces  # the same trace objects ...
    assert all(a is b for a, b in zip((f.data[0] for f in figures), traces, strict=True))
    assert view.result is not first and view.result.policy.initial_delay == 5.0
    assert not np.array_equal(np.array(view.ttc.data[0].x), before_ttc)  # ... new data
    assert not np.array_equal(np.array(view.backoff.data[0].median), before_wait)
    assert isinstance(view.last_update_ms, float) and view.last_update_ms > 0
    assert set(view.timings) == {"simulate", "infos", "figures"}
    assert view.update() == view.last_update_ms  # callable directly too
    view.close()


# --------------------------------------------------------------------------- messages
def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_message_table_is_complete_in_both_languages():
    assert set(LANGUAGES) == set(MESSAGES) == {"en", "ru"}
    keys = set(MESSAGES["en"])
    for language in LANGUAGES:
        assert set(MESSAGES[language]) == keys, language
        for key in keys:
            assert _placeholders(MESSAGES[language][key]) == _placeholders(MESSAGES["en"][key])
    needed = {f"state.{s.value}" for s in ConnectionState} | {f"phase.{p.value}" for p in Phase}
    needed |= {f"strategy.{s.value}" for s in Strategy} | {f"quality.{q.label}" for q in Quality}
    needed |= {f"error.{e.name.lower()}" for e in ErrorCategory}
    assert needed <= keys
    assert message("attempt", "ru", k=2, n=6) == "Попытка 2 из 6"
    with pytest.raises(ConfigError, match="language"):
        message("attempt", "de", k=1, n=1)


# --------------------------------------------------------------------------- status
def _scripted_connect() -> list:
    """A real connect as the manager reports it: a WebSocket attempt times out, the wait,
    then long polling connects at 2.5 s (profile time, ``time_scale`` 1)."""
    return [
        StateChanged(0.0, S.CONNECTING, S.IDLE, "connect() called"),
        PhaseChanged(0.001, Phase.INITIALIZING),
        AttemptStarted(0.01, 0, 6, Strategy.DIRECT_WEBSOCKET, 15.0, 0.0),
        PhaseChanged(0.01, Phase.CONNECTING, 0),
        AttemptFinished(
            0.8, 0, 6, Strategy.DIRECT_WEBSOCKET, 0.79, 0.79, False, ErrorCategory.TIMEOUT, None
        ),
        Waiting(0.8, 1, 1.0),
        AttemptStarted(1.8, 1, 6, Strategy.LONG_POLLING, 21.0, 1.0),
        PhaseChanged(1.85, Phase.CONNECTING, 1),
        PhaseChanged(2.2, Phase.AUTHENTICATING, 1),
        AttemptFinished(
            2.5, 1, 6, Strategy.LONG_POLLING, 21.0, 0.7, True, ErrorCategory.NONE, Quality.GOOD
        ),
        PhaseChanged(2.5, Phase.CONNECTED),
        StateChanged(2.5, S.DEGRADED, S.CONNECTING, "connected with long_polling"),
    ]


def test_the_status_indicator_follows_a_scripted_connect_in_both_languages():
    events = _scripted_connect()
    en, ru = StatusIndicator("inline"), StatusIndicator("panel", language="ru")
    for event in events[:6]:  # the first attempt failed; waiting
        en.handle(event)
        ru.handle(event)
    assert en.texts()["state"] == "Connecting…" and ru.texts()["state"] == "Подключение…"
    assert en.texts()["attempt"] == "Attempt 1 of 6"
    assert en.texts()["detail"] == "Next try in 1.0 s"
    assert ru.texts()["detail"] == "Следующая попытка через 1.0 с"
    for event in events[6:9]:  # long polling, signing in
        en.handle(event)
        ru.handle(event)
    assert en.texts()["phase"] == "Signing in" and ru.texts()["phase"] == "Вход"
    assert en.texts()["attempt"] == "Attempt 2 of 6" and ru.texts()["attempt"] == "Попытка 2 из 6"
    assert en.texts()["strategy"] == "Long polling (plain HTTP)"
    assert en.progress.value == 2 and en.progress.max == 6
    assert "Attempt 2 of 6" in en.line.value
    for event in events[9:]:
        en.handle(event)
        ru.handle(event)
    assert en.texts()["state"] == "Connected, limited"
    assert ru.texts()["state"] == "Подключено, с ограничениями"
    assert en.texts()["quality"] == "Good" and ru.texts()["quality"] == "Хорошо"
    assert "Long polling" in en.texts()["detail"]
    # "Connected, limited" is amber, not the quality colour (red after a long wait)
    from chatconn.widgets.status import DEGRADED_COLOUR

    assert DEGRADED_COLOUR in en.badge.value and "Connected, limited" in en.badge.value
    assert en.progress.bar_style == "warning"
    assert "Вход" not in ru.details.value and "Хорошо" in ru.details.value


def test_switching_language_at_run_time_re_renders():
    indicator = StatusIndicator("panel")
    for event in _scripted_connect():
        indicator.handle(event)
    assert "Connected, limited" in indicator.badge.value
    assert indicator.retry_button.description == "Retry"
    indicator.language = "ru"
    assert "Подключено, с ограничениями" in indicator.badge.value
    assert indicator.retry_button.description == "Повторить"
    assert "Попытка 2 из 6" in indicator.details.value
    with pytest.raises(ConfigError):
        indicator.language = "fr"
    assert indicator.language == "ru"


class _FakeManager:
    """What bind() needs of a ConnectionManager: subscribe, time_scale, state."""

    def __init__(self, time_scale: float) -> None:
        self.bus = EventBus()
        self.time_scale = time_scale
        self.state = S.IDLE
        self.retries = 0

    def subscribe(self, callback):
        return self.bus.subscribe(callback)

    def retry(self):
        self.retries += 1


def test_bind_subscribes_in_profile_time_and_retry_calls_back():
    manager = _FakeManager(time_scale=0.5)
    indicator = StatusIndicator("panel")
    indicator.bind(manager)
    manager.bus.emit(StateChanged(0.0, S.CONNECTING, S.IDLE))
    manager.bus.emit(Waiting(0.2, 1, 0.5))  # 0.5 wall seconds = 1 s of profile time
    assert indicator.texts()["detail"] == "Next try in 1.0 s"
    indicator.retry_button.click()  # no callback: the manager's retry (tested live)
    assert manager.retries == 1
    indicator.unbind()
    manager.bus.emit(StateChanged(0.3, S.FAILED, S.CONNECTING))
    assert indicator.texts()["state"] == "Connecting…"
    clicked = []
    StatusIndicator("panel", on_retry=clicked.append).retry_button.click()
    assert len(clicked) == 1
    with pytest.raises(ConfigError, match="variant"):
        StatusIndicator("banner")


def test_toasts_appear_for_connection_events_and_dismiss_themselves():
    scheduled = []
    toasts = Toasts(call_later=lambda delay, callback: scheduled.append((delay, callback)))
    events = _scripted_connect()
    events.insert(8, Waiting(2.1, 2, 0.1))  # 2.1 s spent: no longer "excellent"
    for event in events:
        toasts.handle(event)
    assert toasts.visible == [
        "Trying another way to connect: Long polling (plain HTTP).",
        "Connecting is taking longer than usual (Good).",
        "Connected through Long polling (plain HTTP). Some features may be slower.",
    ]
    assert len(toasts.widget.children) == 3
    toasts.language = "ru"
    assert toasts.visible[0] == "Пробуем другой способ подключения: Длинные опросы (обычный HTTP)."
    assert all(delay == toasts.duration_s for delay, _ in scheduled)
    for _, dismiss in scheduled:  # the scheduler fires: every toast goes away
        dismiss()
    assert toasts.visible == [] and toasts.widget.children == ()


def test_toasts_for_failure_loss_and_reconnect_and_the_visible_limit():
    toasts = Toasts(max_visible=2, call_later=lambda delay, callback: None)
    for event in (
        StateChanged(0.0, S.CONNECTING, S.IDLE),
        StateChanged(0.1, S.CONNECTED, S.CONNECTING),
        StateChanged(5.0, S.RECONNECTING, S.CONNECTED),
        StateChanged(5.2, S.CONNECTED, S.RECONNECTING),
        StateChanged(9.0, S.FAILED, S.CONNECTING),
    ):
        toasts.handle(event)
    assert toasts.visible == [
        "Back online.",
        "Can't connect right now. Check the network, then retry.",
    ]


# --------------------------------------------------------------------------- live
def test_a_population_is_played_by_its_largest_profile():
    profile, population = lab_profile_for(population_preset("global-users"))
    assert (profile.name, population) == ("broadband", "global-users")
    assert lab_profile_for(profile_preset("3g")) == (profile_preset("3g"), None)


@pytest.fixture(scope="module")
def lab():
    with LabServerThread("fiber", time_scale=0.05) as server:
        yield server


def test_live_view_runs_sessions_and_fills_the_figures(lab, tmp_path):
    panel = PolicyPanel("seed", target="fiber", seed=1)
    view = LiveView(panel, sessions=5, lab=lab, simulated_sessions=2_000, save_dir=tmp_path)
    timeline = view.timeline
    assert view.save_button.disabled  # nothing to save yet
    live = asyncio.run(view.run())
    assert live is not None and live.result.sessions == 5 and view.last_run is live
    assert view.timeline is timeline
    bars = sum(len(trace.y or ()) for trace in view.timeline.data)
    assert bars == len(live.records) >= 5
    assert len(view.overlay.data[1].x) > 0  # the live curve ...
    assert len(view.overlay.data[0].x) > 0  # ... over the simulated one
    assert sum(view.quality.data[0].customdata) == 5
    assert view.progress.value == 5 and not view.running
    assert view.status.texts()["state"] == "Connected"  # not run_live's close() after it
    # The view shows the run's aggregate, not whichever session spoke last.
    assert view.run_status.texts() == {
        "state": "Connected",
        "counts": "5 of 5 done: 5 ok, 0 limited, 0 failed",
    }
    assert view.run_status.widget in view.widget.children
    assert view.status.widget not in view.widget.children
    assert "5 of 5 sessions connected" in view.note.value
    # "Save run": a run file with the profile the lab played, so it has a twin and a replay.
    assert not view.save_button.disabled
    view.save_button.click()
    (saved,) = tmp_path.glob("*.jsonl")
    assert f"Saved to {saved}" in view.note.value and view.save_button.disabled
    run = load_run(saved)
    assert run.kind == "live" and run.header.target == profile_preset("fiber")
    assert np.array_equal(run.result.ended_at, live.result.ended_at)
    assert len(run.records) == len(live.records) and run.header.policy_name == "seed"
    view.language = "ru"
    assert view.run_button.description == "Запустить"
    assert view.status.texts()["state"] == "Подключено"


def test_cancel_mid_run_stops_cleanly(lab):
    panel = PolicyPanel("seed", target="corporate-firewall")  # WebSocket hangs: a long run

    async def main():
        view = LiveView(panel, sessions=5, lab=lab, simulated_sessions=2_000)
        task = view.start()  # what the "Run live" button does
        for _ in range(200):
            if view.status.manager is not None:
                break
            await asyncio.sleep(0.01)
        assert view.running and not view.cancel_button.disabled
        view.cancel_button.click()
        result = await task
        managers = list(view._managers.values())
        return view, result, managers, asyncio.all_tasks() - {asyncio.current_task()}

    view, result, managers, pending = asyncio.run(main())
    assert result is None and view.last_run is None
    assert pending == set()
    assert managers and all(m.state is S.CLOSED for m in managers)
    assert not any(t.name == "chatconn-live-clients" for t in threading.enumerate())
    assert "Cancelled after" in view.note.value
    assert lab.running  # a lab it was given is not its to stop


def test_every_preset_value_lies_on_its_sliders_step_grid():
    # The browser snaps a slider to min + k * step and syncs that back to the kernel: a
    # preset value off the grid would silently change the policy once displayed.
    from chatconn.core.presets import policy_preset, policy_preset_names
    from chatconn.widgets.panel import SLIDERS

    for name in policy_preset_names():
        policy = policy_preset(name)
        for spec in SLIDERS:
            value = getattr(policy, spec.field)
            steps = (value - spec.low) / spec.step
            assert spec.low <= value <= spec.high, (name, spec.field, value)
            assert abs(steps - round(steps)) < 1e-6, (name, spec.field, value)


def test_live_view_never_blocks_the_kernel_loop_to_simulate_or_to_wait(lab, monkeypatch):
    from chatconn.widgets import live_view

    on_loop: list[str] = []

    def loop_running_here() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    real_simulate = live_view.simulate

    def simulate(*args, **kwargs):
        if loop_running_here():
            on_loop.append("simulate")
        return real_simulate(*args, **kwargs)

    class Worker(threading.Thread):
        def join(self, timeout=None):
            if self.name == "chatconn-live-clients" and loop_running_here():
                on_loop.append("join")
            return super().join(timeout)

    monkeypatch.setattr(live_view, "simulate", simulate)
    monkeypatch.setattr(live_view.threading, "Thread", Worker)
    view = LiveView(PolicyPanel("seed", target="fiber"), sessions=2, lab=lab)
    assert view.simulated_sessions == 20_000  # the default: ~0.1 s of numpy
    live = asyncio.run(view.run())
    assert live is not None and live.result.sessions == 2
    assert on_loop == []  # neither ran on the kernel's event loop


# ------------------------------------------------------------ issue 12: plurals, explanations
def test_counts_take_their_languages_plural_form():
    # Russian one / few / many (CLDR), nominative forms: 1 попытка, 2 попытки, 5 попыток.
    nominative = ("попытка", "попытки", "попыток")
    words = {n: nominative[plural_form("ru", n)] for n in (1, 2, 4, 5, 11, 12, 14, 21, 22, 25, 111)}
    assert words == {
        1: "попытка", 2: "попытки", 4: "попытки", 5: "попыток", 11: "попыток", 12: "попыток",
        14: "попыток", 21: "попытка", 22: "попытки", 25: "попыток", 111: "попыток",
    }  # fmt: skip
    assert [plural_form("en", n) for n in (0, 1, 2, 21)] == [1, 0, 1, 1]
    failed = {n: message("detail.failed", "ru", attempts=n, error="x") for n in (1, 2, 5, 21)}
    assert failed == {  # after «после», the genitive: 1 попытки, 2 попыток, 5 попыток
        1: "Сдались после 1 попытки (x).",
        2: "Сдались после 2 попыток (x).",
        5: "Сдались после 5 попыток (x).",
        21: "Сдались после 21 попытки (x).",
    }
    assert message("detail.failed", "en", attempts=1, error="x") == "Gave up after 1 attempt (x)."
    assert message("detail.failed", "en", attempts=3, error="x") == "Gave up after 3 attempts (x)."
    assert message("ui.finished", "en", connected=1, total=1) == "1 of 1 session connected."
    assert message("ui.finished", "ru", connected=5, total=21) == "Подключено: 5 из 21 сессии."


def test_every_plural_in_the_table_gives_each_form_its_language_needs():
    forms = {"en": 2, "ru": 3}
    for language, table in MESSAGES.items():
        for key, text in table.items():
            for _, _, spec, _ in string.Formatter().parse(text):
                if spec and "|" in spec:
                    assert len(spec.split("|")) == forms[language], (language, key, spec)


def test_the_russian_panel_shows_the_managers_explanation():
    refused = Text("explain.refused")
    events = [
        StateChanged(0.0, S.CONNECTING, S.IDLE, "connect() called"),
        AttemptStarted(0.01, 0, 1, Strategy.DIRECT_WEBSOCKET, 15.0, 0.0),
        AttemptFinished(
            0.02, 0, 1, Strategy.DIRECT_WEBSOCKET, 15.0, 0.01, False, ErrorCategory.REFUSED, None
        ),
        StateChanged(0.02, S.FAILED, S.CONNECTING, refused),
    ]
    en, ru = StatusIndicator("panel"), StatusIndicator("panel", language="ru")
    for event in events:
        en.handle(event)
        ru.handle(event)
    assert "The server refused every connection" in en.details.value
    assert "Сервер отклонил все подключения" in ru.details.value
    assert "Сдались после 1 попытки" in ru.details.value
    assert "Gave up after 1 attempt (" in en.details.value
    assert ru.texts()["explanation"] == refused.say("ru") != str(refused)
    en.language = "ru"  # re-rendered in the new language
    assert "Сервер отклонил все подключения" in en.details.value


def test_a_failure_before_any_attempt_is_explained_not_counted():
    token = Text("explain.token", detail="HTTP 503")
    ru = StatusIndicator("panel", language="ru")
    ru.handle(StateChanged(0.0, S.CONNECTING, S.IDLE, "connect() called"))
    ru.handle(StateChanged(0.1, S.FAILED, S.CONNECTING, token))
    assert ru.texts()["detail"] == ""  # no "gave up after 1 attempt": none was made
    assert "Не удалось получить токен для входа (HTTP 503)" in ru.details.value


def _plain(widget_html: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", widget_html))


def test_live_view_chooses_the_scale_says_why_and_gives_the_verdict(lab):
    panel = PolicyPanel("seed", target="fiber", seed=1)
    view = LiveView(panel, sessions=5, lab=lab, simulated_sessions=2_000)
    assert view.time_scale == "auto"
    live = asyncio.run(view.run())
    plan = view.plan
    assert live is not None and plan is live.plan and plan.choice.mode == "auto"
    assert live.time_scale == plan.scale == lab.lab.time_scale  # the lab plays the choice
    # Times in profile time at the chosen scale, as run_live reports them.
    np.testing.assert_allclose(sorted(view._times.values()), np.sort(live.result.ended_at))
    said = _plain(view.scale_note.value)
    assert f"Time scale {plan.scale:g}, chosen automatically ({plan.choice.reason})" in said
    assert live.harness.describe() in said and f"up to {live.bound_s:.3g} s" in said
    assert ("⚠" in said) == bool(plan.choice.warning)
    # The overlay: the verdict of this run against the simulation, and the harness band.
    info = overlay_info(live, view._simulated)
    assert info.bound_s == live.bound_s > 0
    title = heading(view.overlay)
    assert info.agreement.headline[1:] in title and info.agreement.details in title
    assert f"scale {plan.scale:g}" in title
    np.testing.assert_array_equal(view.overlay.data[2].x, info.band_x)


def test_a_given_scale_that_distorts_the_times_gets_a_warning_in_the_view(lab):
    panel = PolicyPanel("seed", target="fiber", seed=1)
    view = LiveView(panel, sessions=3, lab=lab, simulated_sessions=2_000, time_scale=0.01)
    live = asyncio.run(view.run())
    assert live is not None and view.plan.choice.mode == "manual"
    assert live.time_scale == lab.lab.time_scale == 0.01  # set on the lab it was given
    # Fiber connects in ~tens of ms: the harness's milliseconds x 100 are far above 5 %.
    warning = view.plan.choice.warning
    assert warning and f"time scale {0.01:g} lets this machine's harness add" in warning
    assert '<span style="color:#b2182b">' in view.scale_note.value
    assert warning in _plain(view.scale_note.value)


def test_scale_html_says_the_scale_and_adds_a_warning_only_when_there_is_one():
    floor = HarnessFloor(0.002, 0.003, 12, 0.0005, 0.001, 200)
    auto = choose_time_scale(floor, reference_s=0.23, makespan_at_1_s=5.0)
    text = scale_html(auto, floor, 0.004)
    assert text.startswith(f"Time scale {auto.scale:g}, chosen automatically (")
    assert floor.describe() in text and "up to 0.004 s to a connect" in text
    assert "color:#b2182b" not in text
    manual = choose_time_scale(floor, reference_s=0.23, makespan_at_1_s=5.0, manual=0.01)
    assert manual.warning and html.escape(manual.warning) in scale_html(manual, floor, 0.3)
    assert "Time scale 0.01, as given." in scale_html(manual, floor, 0.3)
