"""The harness floor, the automatic time scale and the live-vs-simulated verdict (issue 11).

Pure parts are checked against first principles; the live parts run against the real lab,
and the agreement tests run on an idle machine and beside two CPU-burning processes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import run
from hypothesis import given, settings
from hypothesis import strategies as st

from chatconn.agreement import INCONCLUSIVE_SHARE, compare, quantile_interval
from chatconn.core.errors import ConfigError
from chatconn.core.harness import (
    DEFAULT_TOLERANCE,
    MAX_AUTO_SCALE,
    HarnessFloor,
    choose_time_scale,
    makespan_s,
)
from chatconn.core.presets import policy_preset
from chatconn.core.profiles import FaultMode, NetworkProfile, profile_preset
from chatconn.core.strategies import Strategy
from chatconn.endpoint import Endpoint
from chatconn.lab.faults import FaultKind, SessionDraws, decide
from chatconn.lab.server import LabServer
from chatconn.live.harness import floor_strategies, measure_floor
from chatconn.live.manager import ASSUMED_FLOOR, PROBE_FLOOR_FACTOR, ConnectionManager
from chatconn.live.run import run_live
from chatconn.runs import load_run
from chatconn.wire import FLOOR_TAG_PREFIX


# ----------------------------------------------------------------------- HarnessFloor
def test_floor_summarises_samples_and_costs_timers_per_earlier_attempt() -> None:
    floor = HarnessFloor.from_samples(
        {"direct_websocket": [0.001, 0.002, 0.003], "long_polling": [0.010]}, [0.0005] * 9
    )
    assert floor.probes == 4 and floor.lag_samples == 9
    assert floor.connect_p50_s == pytest.approx(np.quantile([0.001, 0.002, 0.003, 0.010], 0.5))
    assert floor.by_strategy == {"direct_websocket": 0.002, "long_polling": 0.010}
    # attempt 3: the connect's overhead plus two late timers (timeout, wait) per earlier one
    assert floor.cost_s(3) == pytest.approx(floor.connect_p50_s + 4 * 0.0005)
    assert floor.bound_s(0.5) == pytest.approx(floor.connect_p90_s / 0.5)
    assert HarnessFloor.from_dict(floor.to_dict()) == floor


def test_floor_merges_to_the_pessimistic_side_and_rejects_bad_values() -> None:
    a = HarnessFloor(0.002, 0.004, 5, 0.001, 0.002, 10, {"direct_websocket": 0.002})
    b = HarnessFloor(0.003, 0.003, 2, 0.0005, 0.004, 4, {"direct_websocket": 0.003})
    m = a.merged(b)
    assert (m.connect_p50_s, m.connect_p90_s, m.probes) == (0.003, 0.004, 7)
    assert (m.loop_lag_p50_s, m.loop_lag_p90_s, m.lag_samples) == (0.001, 0.004, 14)
    assert m.by_strategy == {"direct_websocket": 0.003}
    with pytest.raises(ConfigError, match="connect_p90_s"):
        HarnessFloor(connect_p90_s=-1.0)
    with pytest.raises(ConfigError, match="probes"):
        HarnessFloor(probes=1.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="colour"):
        HarnessFloor.from_dict({"colour": 1})
    assert not HarnessFloor().measured and HarnessFloor().describe() == "not measured"


def test_makespan_fills_slots_in_order() -> None:
    assert makespan_s([1.0, 1.0, 1.0, 1.0], 2) == 2.0
    assert makespan_s([3.0, 1.0, 1.0, 1.0], 2) == 3.0
    assert makespan_s([math.inf, 2.0], 1) == 2.0  # a session that never ends costs nothing
    assert makespan_s([], 5) == 0.0


# ------------------------------------------------------------------ choose_time_scale
FLOOR = HarnessFloor(connect_p50_s=0.005, connect_p90_s=0.02)


def test_auto_scale_slows_down_fast_profiles_until_the_harness_is_within_tolerance() -> None:
    choice = choose_time_scale(FLOOR, reference_s=0.2, makespan_at_1_s=1.0)
    assert choice.scale == pytest.approx(0.02 / (DEFAULT_TOLERANCE * 0.2))  # 2x slow motion
    assert choice.share <= DEFAULT_TOLERANCE and not choice.warning
    assert choice.bound_s == pytest.approx(0.02 / choice.scale)


def test_auto_scale_compresses_slow_profiles_to_the_wall_budget_only() -> None:
    choice = choose_time_scale(FLOOR, reference_s=200.0, makespan_at_1_s=600.0)
    assert choice.scale == pytest.approx(60.0 / 600.0)  # 60 s: no stronger than needed
    assert choice.predicted_wall_s == pytest.approx(60.0)
    real = choose_time_scale(FLOOR, reference_s=5.0, makespan_at_1_s=30.0)
    assert real.scale == 1.0 and "real time" in real.reason


def test_auto_scale_is_capped_and_says_the_distortion_it_could_not_avoid() -> None:
    choice = choose_time_scale(HarnessFloor(0.5, 1.0), reference_s=0.2, makespan_at_1_s=1.0)
    assert choice.scale == MAX_AUTO_SCALE and choice.share == pytest.approx(0.5)
    assert "50%" in choice.warning and "slowest allowed" in choice.reason


def test_a_manual_scale_that_distorts_gets_a_warning_saying_how_much() -> None:
    choice = choose_time_scale(FLOOR, reference_s=0.2, makespan_at_1_s=1.0, manual=0.05)
    assert choice.mode == "manual" and choice.scale == 0.05
    assert choice.bound_s == pytest.approx(0.4) and "200%" in choice.warning
    assert not choose_time_scale(FLOOR, reference_s=0.2, makespan_at_1_s=1, manual=3).warning


@settings(max_examples=200, deadline=None)
@given(
    p90=st.floats(1e-4, 0.2),
    reference=st.floats(0.05, 500.0),
    makespan=st.floats(0.1, 1e5),
)
def test_an_uncapped_auto_scale_keeps_the_harness_within_tolerance(p90, reference, makespan):
    choice = choose_time_scale(
        HarnessFloor(p90 / 2, p90), reference_s=reference, makespan_at_1_s=makespan
    )
    if choice.scale < MAX_AUTO_SCALE:
        assert choice.share <= DEFAULT_TOLERANCE * (1 + 1e-9)


# ---------------------------------------------------------------------- agreement
def _lognormal(rng: np.random.Generator, n: int, shift: float = 0.0) -> np.ndarray:
    return 0.1 + 4 * rng.lognormal(math.log(0.03), 0.5, n) + shift


def test_samples_of_one_distribution_agree_except_at_the_test_level() -> None:
    """300 live runs of 100 sessions against one 20,000-session twin: each percentile and
    the success test is at 1 %, so at most a few percent may be called different; allow
    that rate plus three binomial standard deviations."""
    rng = np.random.default_rng(11)
    twin = _lognormal(rng, 20_000)
    trials = 300
    off = sum(not compare(_lognormal(rng, 100), twin).agrees for _ in range(trials))
    limit = 0.03 + 3 * math.sqrt(0.03 * 0.97 / trials)
    assert off / trials <= limit


def test_a_shift_beyond_sampling_is_slower_unless_the_harness_bound_covers_it() -> None:
    rng = np.random.default_rng(3)
    twin = _lognormal(rng, 20_000)
    live = _lognormal(rng, 200, shift=0.05)  # +50 ms: ~20 % of the median
    verdict = compare(live, twin)
    assert verdict.verdict == "slower" and "slower by" in verdict.headline
    assert "0.05" in verdict.headline or "0.04" in verdict.headline
    assert compare(live, twin, bound_s=0.04).agrees  # sampling covers the rest
    faster = compare(_lognormal(rng, 200, shift=-0.05), twin, bound_s=0.04)
    assert faster.verdict == "faster"  # the harness can only add time


def test_success_rates_empty_samples_and_wide_bounds_get_their_own_verdicts() -> None:
    rng = np.random.default_rng(4)
    twin = _lognormal(rng, 20_000)
    failing = _lognormal(rng, 100)
    failing[:30] = np.nan
    assert compare(failing, twin).verdict == "success differs"
    assert compare(np.full(10, np.nan), np.full(10, np.nan)).verdict == "no data"
    wide = compare(_lognormal(rng, 100), twin, bound_s=0.25 * np.median(twin))
    assert wide.verdict == "inconclusive" and "too much to tell" in wide.headline
    assert INCONCLUSIVE_SHARE < 0.25
    with pytest.raises(ConfigError, match="bound_s"):
        compare(twin, twin, bound_s=-1.0)


def test_percentile_intervals_cover_at_their_level_and_open_when_too_few() -> None:
    rng = np.random.default_rng(5)
    trials, misses = 2000, 0
    for _ in range(trials):
        low, high = quantile_interval(np.sort(rng.random(40)), 0.5, 0.01)
        misses += not low <= 0.5 <= high
    assert misses / trials <= 0.01 + 3 * math.sqrt(0.01 * 0.99 / trials)
    low, high = quantile_interval(np.sort(rng.random(10)), 0.9, 0.01)
    assert high == math.inf and low < 0.9  # 10 values cannot bound a p90 from above


# ------------------------------------------------------------------ lab floor probes
def test_floor_probes_meet_the_median_rtt_and_nothing_else_and_draw_nothing() -> None:
    hostile = NetworkProfile(
        "hostile", rtt_median_s=0.07, rtt_sigma=1.0, loss=0.5, stall_probability=1.0,
        ws_blocked_share=1.0, ws_block_mode=FaultMode.HANG, blocked_ports=frozenset({0}),
        blocked_ports_share=1.0, port_block_mode=FaultMode.REFUSE,
    )  # fmt: skip
    draws = SessionDraws(1)
    before = draws.rng.bit_generator.state
    decision = decide(
        hostile, role=0, upgrade=True, session_tag=f"{FLOOR_TAG_PREFIX}-1", draws=draws
    )
    assert decision.kind is FaultKind.NONE and decision.rtt_s == 0.07
    assert decision.penalty_s == 0.0 and draws.rng.bit_generator.state == before
    other = decide(hostile, role=0, upgrade=True, session_tag="s1", draws=draws)
    assert other.kind is not FaultKind.NONE  # an ordinary session meets the profile


def test_floor_strategies_are_one_per_transport() -> None:
    assert floor_strategies(policy_preset("seed").ladder) == (
        Strategy.DIRECT_WEBSOCKET, Strategy.LONG_POLLING, Strategy.SSE_FALLBACK,
    )  # fmt: skip
    assert floor_strategies(policy_preset("websockets").ladder) == (Strategy.DIRECT_WEBSOCKET,)


def test_measure_floor_through_the_lab_and_nothing_through_an_outage() -> None:
    async def scenario(profile: NetworkProfile):
        async with LabServer(profile, time_scale=0.1) as lab:
            return await measure_floor(
                lab.endpoint, lab.token, profile, 0.1,
                strategies=floor_strategies(policy_preset("seed").ladder), probes=3,
            )  # fmt: skip

    floor = run(scenario(profile_preset("corporate-firewall")))  # probes pass the proxy
    assert floor.probes == 9 and set(floor.by_strategy) == {
        "direct_websocket", "long_polling", "sse_fallback",
    }  # fmt: skip
    assert 0.0 <= floor.connect_p50_s < 1.0 and floor.lag_samples > 0
    down = run(scenario(profile_preset("server-down")))
    assert down.probes == 0 and down.lag_samples > 0


def test_diagnostics_probes_get_at_least_the_floor_whatever_the_scale() -> None:
    endpoint = LabServer("broadband").endpoint if False else None

    endpoint = Endpoint(("ws://127.0.0.1:9/ws",), "http://127.0.0.1:9")
    assert ConnectionManager(endpoint, "t", time_scale=1.0).probe_timeout_s == 5.0
    tiny = ConnectionManager(endpoint, "t", time_scale=0.01)
    assert tiny.probe_timeout_s == PROBE_FLOOR_FACTOR * ASSUMED_FLOOR.connect_p90_s
    measured = ConnectionManager(endpoint, "t", time_scale=0.01, harness=HarnessFloor(0.05, 0.2))
    assert measured.probe_timeout_s == pytest.approx(PROBE_FLOOR_FACTOR * 0.2)
    with pytest.raises(ConfigError, match="harness"):
        ConnectionManager(endpoint, "t", harness=0.2)  # type: ignore[arg-type]


# ------------------------------------------------------------------- run_live, auto
def test_an_automatic_run_records_its_floor_scale_and_bound(tmp_path) -> None:
    out = tmp_path / "auto.jsonl"
    live = run(run_live(policy_preset("seed"), 20, seed=1, lab_profile=profile_preset("4g"),
                        out=out), 90)  # fmt: skip
    plan = live.plan
    assert plan is not None and plan.choice.mode == "auto"
    assert live.time_scale == plan.scale and live.harness.probes > plan.floor.probes
    assert live.bound_s == pytest.approx(live.harness.bound_s(plan.scale, plan.attempts))
    summary = live.summary()
    assert summary["vs_simulation"]["verdict"] == live.agreement().verdict
    assert summary["time_scale_choice"]["reason"] == plan.choice.reason
    loaded = load_run(out)
    assert loaded.header.harness == plan.floor and loaded.header.scale_choice["mode"] == "auto"
    assert loaded.harness == live.harness and loaded.bound_s == pytest.approx(live.bound_s)
    assert loaded.header.bound_attempts == plan.attempts  # one bound, live and read back


def test_a_lab_you_started_is_switched_to_the_chosen_scale() -> None:
    async def scenario():
        async with LabServer(profile_preset("broadband"), time_scale=0.05) as lab:
            live = await run_live(policy_preset("seed"), 5, lab=lab)
            return live, lab.time_scale, lab.hub.time_scale

    live, lab_scale, hub_scale = run(scenario(), 90)
    assert lab_scale == hub_scale == live.plan.scale == live.time_scale
    assert live.header["extra"]["server"] == "lab (started by the caller)"

    async def given():  # a scale given by number: the lab plays it too, not its own
        async with LabServer(profile_preset("broadband"), time_scale=0.05) as lab:
            live = await run_live(policy_preset("seed"), 3, lab=lab, time_scale=0.5)
            return live, lab.time_scale

    live, lab_scale = run(given(), 90)
    assert live.time_scale == lab_scale == 0.5 and live.plan.choice.mode == "manual"


@pytest.mark.parametrize(("profile", "sessions"), [("broadband", 100), ("3g", 60)])
def test_automatic_runs_agree_with_the_simulation_on_a_busy_machine(
    busy_machine, profile: str, sessions: int
) -> None:
    """Beside two CPU-burning processes, ``run_live`` with the automatic scale lands within
    sampling error and its recorded bound of ``simulate``: the verdict at the 0.1 % level
    (three comparisons, so a false alarm in about 1 run in 300)."""
    live = run(
        run_live(policy_preset("seed"), sessions, concurrency=20, seed=1,
                 lab_profile=profile_preset(profile)),
        150,
    )  # fmt: skip
    verdict = compare(live, live.plan.twin, bound_s=live.bound_s, alpha=0.001)
    assert verdict.agrees, f"{verdict.headline}; {verdict.details}; {live.harness.describe()}"


def test_quiet_heap_freezes_the_existing_heap_for_a_run_and_nested_runs() -> None:
    import gc

    from chatconn.live.harness import quiet_heap

    assert gc.get_freeze_count() == 0
    with quiet_heap():
        frozen = gc.get_freeze_count()
        assert frozen > 1000  # the test session's objects: out of every collection's walk
        with quiet_heap():  # a second run at the same time keeps it frozen
            pass
        assert gc.get_freeze_count() >= frozen
    assert gc.get_freeze_count() == 0
