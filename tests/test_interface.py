"""Issue 16's interface fixes, driven from Python: slider readouts, debounced dragging, the
ladder's Enter, "Connected, limited" in amber, and a run's status as one aggregate."""

from __future__ import annotations

import pytest

from chatconn.live.events import ConnectionState as S
from chatconn.widgets import PolicyPanel
from chatconn.widgets.panel import SLIDERS, readout_format
from chatconn.widgets.run_status import RunStatus, RunTally
from chatconn.widgets.status import DEGRADED_COLOUR


@pytest.mark.parametrize(
    ("step", "fmt", "value", "shown"),
    [(0.001, ".3f", 1.4, "1.400"), (0.5, ".1f", 15.0, "15.0"), (0.05, ".2f", 0.4, "0.40")],
)
def test_a_readout_shows_the_sliders_real_step(step, fmt, value, shown) -> None:
    assert readout_format(step) == fmt
    assert format(value, fmt) == shown


def test_every_slider_reads_out_its_step_and_sends_on_release() -> None:
    panel = PolicyPanel("seed")
    for spec in SLIDERS:
        slider = panel.sliders[spec.field]
        assert slider.continuous_update is False, spec.field  # dragging: one value, on release
        if spec.kind != "int":
            assert slider.readout_format == readout_format(spec.step), spec.field
    assert panel.sliders["multiplier"].readout_format == ".3f"


def test_enter_in_add_rung_appends_a_rung_and_clears_the_box() -> None:
    panel = PolicyPanel("seed")
    seen = []
    panel.observe(lambda state: seen.append(state.policy.ladder))
    before = list(panel.ladder.value)
    panel.add_rung.value = "sse_fallback"  # what Enter sends (continuous_update=False)
    assert panel.ladder.value == [*before, "sse_fallback"]
    assert panel.add_rung.value == ""
    assert seen and seen[-1][-1].value == "sse_fallback"
    assert panel.add_rung.continuous_update is False and panel.add_rung.ensure_option


def test_a_run_tally_is_one_state_for_the_whole_run() -> None:
    tally = RunTally()
    assert tally.state is S.IDLE
    tally.begin(3)
    tally.ended(0, S.CONNECTED)
    assert tally.state is S.CONNECTING  # while it runs, whatever the sessions did
    tally.ended(0, S.FAILED)  # a session's first outcome counts
    tally.ended(1, S.CONNECTED)
    tally.ended(2, S.CONNECTED)
    tally.finish()
    assert tally.state is S.CONNECTED
    tally.begin(3)
    for i, state in enumerate((S.CONNECTED, S.DEGRADED, S.FAILED)):
        tally.ended(i, state)
    tally.finish()
    assert tally.state is S.DEGRADED and tally.colour == DEGRADED_COLOUR
    tally.begin(2)
    tally.ended(0, S.FAILED)
    tally.ended(1, S.FAILED)
    tally.finish()
    assert tally.state is S.FAILED


def test_the_run_status_changes_its_pill_twice_per_run_in_either_language() -> None:
    status = RunStatus()
    pills = []

    def pill() -> None:
        text = status.texts()["state"]
        if not pills or pills[-1] != text:
            pills.append(text)

    status.begin(20)
    pill()
    for i in range(20):
        status.ended(i, S.DEGRADED if i == 3 else S.CONNECTED)
        pill()
    status.finish()
    pill()
    assert pills == ["Connecting…", "Connected, limited"]
    assert status.texts()["counts"] == "20 of 20 done: 19 ok, 1 limited, 0 failed"
    assert DEGRADED_COLOUR in status.widget.value
    status.language = "ru"
    assert status.texts()["state"] == "Подключено, с ограничениями"
    assert "завершено 20 из 20" in status.widget.value
