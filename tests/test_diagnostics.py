"""Diagnostics as part of the policy: settings, the probe model, the simulator's pre-phase,
the live manager deciding with the same core functions, and live agreeing with simulated."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import run
from test_simulate import assert_identical, ks_critical_001, ks_distance

from chatconn.cli import main, policy_from_args
from chatconn.core.adapt import adapt_to_diagnosis
from chatconn.core.diagnostics import (
    DEFAULT_PROBE_TIMEOUT_S,
    DEFAULT_PROBES,
    DEFAULT_RTT_FACTOR,
    DEFAULT_WS_PROBE_TIMEOUT_S,
    DiagnosticsSettings,
    adapted_timeouts,
    diagnose,
    latency_estimate,
    parse_diagnostics,
)
from chatconn.core.errors import ConfigError, UnknownNameError
from chatconn.core.model import SessionConditions
from chatconn.core.policy import RetryPolicy
from chatconn.core.presets import policy_preset
from chatconn.core.profiles import FaultMode, NetworkProfile, profile_preset
from chatconn.core.schedule import nominal_timeouts
from chatconn.core.strategies import ErrorCategory, Strategy
from chatconn.lab.server import LabServer
from chatconn.live import manager as manager_module
from chatconn.live.manager import ConnectionManager
from chatconn.live.run import run_live
from chatconn.reference import simulate_reference
from chatconn.simulate import simulate
from chatconn.streams import BLOCK_SESSIONS

SEED_DIAG = policy_preset("seed").with_changes(diagnostics=True)
#: A firewall profile with nothing random but the RTT: probe costs are exact.
CLEAN_FIREWALL = profile_preset("corporate-firewall").with_changes(
    name="clean-firewall", loss=0.0, stall_probability=0.0
)


# ------------------------------------------------------------------------------ settings
def test_defaults_are_the_numbers_the_live_manager_used():
    s = DiagnosticsSettings()
    assert not s.enabled
    assert (s.probes, s.probe_timeout_s, s.ws_probe_timeout_s, s.rtt_factor) == (3, 5.0, 5.0, 20.0)
    assert manager_module.DIAGNOSTICS_TIMEOUT_S == DEFAULT_PROBE_TIMEOUT_S
    assert DEFAULT_WS_PROBE_TIMEOUT_S == DEFAULT_PROBE_TIMEOUT_S and DEFAULT_PROBES == 3
    assert DEFAULT_RTT_FACTOR == 20.0
    assert all(s.uses_websocket for s in DiagnosticsSettings().skip_on_firewall)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"probes": 0}, "diagnostics.probes"),
        ({"probes": 2.5}, "diagnostics.probes"),
        ({"probe_timeout_s": 0}, "diagnostics.probe_timeout_s"),
        ({"ws_probe_timeout_s": math.inf}, "diagnostics.ws_probe_timeout_s"),
        ({"rtt_factor": -1}, "diagnostics.rtt_factor"),
        ({"enabled": "yes"}, "diagnostics.enabled"),
    ],
)
def test_bad_settings_name_the_field(changes, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        DiagnosticsSettings(**changes)


def test_unknown_rung_in_skip_list_is_an_error():
    with pytest.raises(UnknownNameError):
        DiagnosticsSettings(skip_on_firewall=("websocket",))


def test_policy_takes_true_false_text_and_mappings_and_round_trips():
    assert RetryPolicy(diagnostics=True).diagnostics.enabled
    assert not RetryPolicy(diagnostics=False).diagnostics.enabled
    text = RetryPolicy(diagnostics="probes:5;ws_probe_timeout_s:2").diagnostics
    assert text.enabled and text.probes == 5 and text.ws_probe_timeout_s == 2.0
    policy = RetryPolicy(diagnostics={"enabled": True, "skip_on_firewall": ["direct_websocket"]})
    assert policy.diagnostics.skip_on_firewall == (Strategy.DIRECT_WEBSOCKET,)
    assert RetryPolicy.from_dict(policy.to_dict()) == policy
    assert policy != RetryPolicy()  # the setting takes part in equality (and caching)
    with pytest.raises(ConfigError, match="diagnostics"):
        RetryPolicy(diagnostics=3)
    with pytest.raises(UnknownNameError):
        parse_diagnostics("retries:3")


def test_cli_set_diagnostics(capsys):
    assert policy_from_args("seed", ["diagnostics=true"]).diagnostics.enabled
    assert policy_from_args("seed", ["diagnostics=probes:1"]).diagnostics.probes == 1
    assert main(["simulate", "--policy", "seed", "--set", "diagnostics=maybe", "--json"]) == 2
    assert "diagnostics" in capsys.readouterr().err


# ------------------------------------------------------------------------ the probe model
def _conditions(rtt, proxy=False, ports=False):
    return SessionConditions(np.asarray(rtt, dtype=float), proxy, ports)


def test_probe_costs_in_round_trips_and_the_proxy_hang_costs_the_timeout():
    rtt = np.array([0.02, 0.05, 0.2])
    s = DiagnosticsSettings(enabled=True)
    open_net = CLEAN_FIREWALL.with_changes(ws_blocked_share=0.0, blocked_ports_share=0.0)
    found = diagnose(s, open_net, _conditions(rtt), lambda: None)
    # TCP + 3 GETs, then TCP + upgrade.
    np.testing.assert_allclose(found.cost, (1 + 3) * rtt + 2 * rtt)
    assert found.http_ok.all() and found.websocket_ok.all() and not found.firewall.any()
    np.testing.assert_allclose(found.latency, rtt)

    hang = diagnose(s, CLEAN_FIREWALL, _conditions(rtt, proxy=True, ports=True), lambda: None)
    np.testing.assert_allclose(hang.cost, 4 * rtt + s.ws_probe_timeout_s)
    assert hang.firewall.all()
    assert (hang.websocket_ok == False).all()  # noqa: E712


@pytest.mark.parametrize("mode", [FaultMode.RESET, FaultMode.FORBIDDEN])
def test_a_proxy_that_resets_or_answers_403_fails_fast(mode):
    profile = CLEAN_FIREWALL.with_changes(ws_block_mode=mode)
    rtt = np.array([0.04, 0.1])
    found = diagnose(DiagnosticsSettings(), profile, _conditions(rtt, proxy=True), lambda: None)
    np.testing.assert_allclose(found.cost, 4 * rtt + 2 * rtt)
    assert found.firewall.all()


def test_stalls_fool_the_heuristic_false_positives_at_the_expected_rate():
    p = 0.2
    profile = NetworkProfile("stally", rtt_median_s=0.03, rtt_sigma=0.0, stall_probability=p)
    n = 40_000
    rng = np.random.default_rng(5)
    found = diagnose(
        DiagnosticsSettings(), profile, _conditions(np.full(n, 0.03)), lambda: rng.random(n)
    )
    expected = (1 - p) * p  # the HTTP probes pass, the WebSocket probe stalls
    se = math.sqrt(expected * (1 - expected) / n)
    assert abs(found.firewall.mean() - expected) < 4.5 * se
    # A stalled HTTP probe costs its whole bound and gives no latency.
    stalled = ~found.http_ok
    assert abs(stalled.mean() - p) < 4.5 * math.sqrt(p * (1 - p) / n)
    assert np.isnan(found.latency[stalled]).all()
    assert (found.cost[stalled] >= DiagnosticsSettings().probe_timeout_s).all()


def test_latency_estimate_is_the_median_of_the_requests():
    assert latency_estimate(0.1, 3) == pytest.approx(0.1)
    assert latency_estimate(0.1, 1, penalty=1.0) == pytest.approx(1.2)
    assert latency_estimate(0.1, 2) == pytest.approx(0.15)


def test_adapted_timeouts_rows_equal_the_scalar_policy():
    policy = policy_preset("seed")
    base = np.array([15.0, 22.0, 90.0])
    table = adapted_timeouts(policy, base)
    for row, b in zip(table, base, strict=True):
        np.testing.assert_array_equal(row, nominal_timeouts(policy.with_changes(base_timeout=b)))


def test_the_live_decision_skips_websocket_and_grows_the_timeout():
    policy = SEED_DIAG
    adapted, firewall = adapt_to_diagnosis(policy, latency_s=1.0, http_ok=True, websocket_ok=False)
    assert firewall
    assert adapted.ladder == (Strategy.LONG_POLLING, Strategy.SSE_FALLBACK)
    assert adapted.base_timeout == 20.0  # 20 x 1 s
    same, firewall = adapt_to_diagnosis(policy, latency_s=0.03, http_ok=True, websocket_ok=True)
    assert same is policy and not firewall
    # An HTTP failure is no firewall, and a partial latency is not used.
    same, firewall = adapt_to_diagnosis(policy, latency_s=2.0, http_ok=False, websocket_ok=False)
    assert same is policy and not firewall


# ---------------------------------------------------------------------------- the simulator
def test_acceptance_corporate_firewall_p99_under_30_s_with_diagnostics():
    firewall = profile_preset("corporate-firewall")
    plain = simulate(policy_preset("seed"), firewall, 20_000, seed=1).summary()
    probed = simulate(SEED_DIAG, firewall, 20_000, seed=1).summary()
    assert plain["time_to_connect_s"]["p99"] > 150  # the schedule alone: ~204 s
    assert probed["time_to_connect_s"]["p99"] < 30
    assert probed["success_rate"] >= 0.99
    assert probed["strategy_share"]["long_polling"] > 0.99


def test_acceptance_probing_costs_little_on_global_users():
    from chatconn.core.profiles import population_preset

    users = population_preset("global-users")
    plain = simulate(policy_preset("seed"), users, 50_000, seed=2).summary()
    probed = simulate(SEED_DIAG, users, 50_000, seed=2).summary()
    cost = probed["time_to_connect_s"]["p50"] - plain["time_to_connect_s"]["p50"]
    assert 0 < cost < 1


def test_diagnosed_simulation_is_independent_of_chunking():
    profile = profile_preset("flaky-wifi").with_changes(ws_blocked_share=0.3)
    a = simulate(SEED_DIAG, profile, 3 * BLOCK_SESSIONS + 17, seed=4)
    b = simulate(SEED_DIAG, profile, 3 * BLOCK_SESSIONS + 17, seed=4, chunk_sessions=BLOCK_SESSIONS)
    assert_identical(a, b)


def test_probes_that_take_the_deadline_give_up_before_any_attempt():
    policy = SEED_DIAG.with_changes(deadline=4.0)
    result = simulate(policy, CLEAN_FIREWALL, 2_000, seed=3)  # the WebSocket probe takes 5 s
    assert not result.connected.any() and (result.attempts == 0).all()
    assert (result.last_error == ErrorCategory.DEADLINE).all()
    assert (result.ended_at > 4.0).all()


MIXED = NetworkProfile(
    "mixed",
    rtt_median_s=0.5,
    rtt_sigma=0.8,
    loss=0.02,
    stall_probability=0.05,
    reset_probability=0.02,
    ws_blocked_share=0.4,
    ws_block_mode=FaultMode.HANG,
)


def test_vectorised_diagnostics_match_the_scalar_reference_in_distribution():
    fast = simulate(SEED_DIAG, MIXED, 40_000, seed=11)
    slow = simulate_reference(SEED_DIAG, MIXED, 2_500, seed=12)
    assert ks_distance(fast.ended_at, slow.ended_at) < ks_critical_001(fast.sessions, slow.sessions)
    for code in (Strategy.DIRECT_WEBSOCKET.code, Strategy.LONG_POLLING.code):
        a, b = (fast.strategy == code).mean(), (slow.strategy == code).mean()
        pooled = (a * fast.sessions + b * slow.sessions) / (fast.sessions + slow.sessions)
        se = math.sqrt(pooled * (1 - pooled) * (1 / fast.sessions + 1 / slow.sessions))
        assert abs(a - b) <= 4.5 * se


# ----------------------------------------------------------------------------------- live
def test_the_manager_probes_when_the_policy_says_so_and_counts_the_probes():
    async def scenario():
        async with LabServer(CLEAN_FIREWALL, time_scale=0.02) as lab:
            manager = ConnectionManager(lab.endpoint, lab.token, policy=SEED_DIAG, time_scale=0.02)
            async with manager:
                session = await manager.connect()
                return manager.report, session.strategy, manager.records, manager

    report, strategy, records, manager = run(scenario())
    assert manager.diagnostics and report.firewall_suspected
    assert strategy is Strategy.LONG_POLLING and len(records) == 1
    # The span the simulator models starts with the probes (the WebSocket probe's 5 s).
    assert manager.attempts_elapsed_s / 0.02 > DEFAULT_WS_PROBE_TIMEOUT_S


def test_acceptance_live_lab_agrees_with_the_simulated_p90_at_20_sessions():
    """`chatconn run --lab --set diagnostics=true --profile corporate-firewall` at the
    automatic scale lands within +/-50 % of the simulated p90."""
    firewall = profile_preset("corporate-firewall")
    live = run(run_live(SEED_DIAG, 20, seed=1, lab_profile=firewall), 120)
    twin = simulate(SEED_DIAG, firewall, 20_000, seed=1)
    live_p90 = float(np.percentile(live.result.time_to_connect[live.result.connected], 90))
    sim_p90 = float(np.percentile(twin.time_to_connect[twin.connected], 90))
    assert live.result.connected.all()
    assert 0.5 * sim_p90 <= live_p90 <= 1.5 * sim_p90, (live_p90, sim_p90)


# --------------------------------------------------------------------------- the panel
def test_the_policy_panel_toggles_diagnostics_and_sets_a_deadline():
    from chatconn.widgets.panel import PolicyPanel

    panel = PolicyPanel("seed", target="corporate-firewall")
    seen = []
    panel.observe(lambda state: seen.append(state.policy))
    assert not panel.diagnostics.value and panel.deadline.value == 0.0
    panel.diagnostics.value = True
    assert panel.policy.diagnostics.enabled and seen[-1].diagnostics.enabled
    assert panel.policy.diagnostics.probes == DEFAULT_PROBES  # the numbers are kept
    panel.deadline.value = 60.0
    assert panel.policy.deadline == 60.0
    panel.deadline.value = 0.0
    assert panel.policy.deadline is None
    panel.set_policy(SEED_DIAG.with_changes(deadline=90.0))
    assert panel.diagnostics.value and panel.deadline.value == 90.0


# --------------------------------------------------------------------------- the report
def test_the_report_states_what_probing_costs_where_nothing_is_blocked(tmp_path):
    from chatconn.report.findings import findings
    from chatconn.runs import compare_runs, load_run, save_run

    users = profile_preset("broadband")
    paths = []
    for name, policy in (("seed", policy_preset("seed")), ("seed-diagnostics", SEED_DIAG)):
        result = simulate(policy, users, 5_000, seed=1)
        paths.append(save_run(result, tmp_path / f"{name}.jsonl", policy_name=name))
    rows = compare_runs([load_run(p) for p in paths])
    assert [r["diagnostics"] for r in rows] == [False, True]
    assert rows[0]["policy_without_diagnostics"] == rows[1]["policy_without_diagnostics"]
    said = [f.text for f in findings(rows) if "probing the network first" in f.text]
    assert len(said) == 1
    cost = rows[1]["p50_s"] - rows[0]["p50_s"]
    assert 0 < cost < 1 and "costs" in said[0] and "at the median" in said[0]
    assert said[0].startswith("On broadband (simulated)")


def test_the_presets_table_shows_the_diagnostics_settings(capsys):
    assert main(["presets"]) == 0
    text = capsys.readouterr().out
    assert "diagnostics:  on in none; seed's settings: probes 3, probe_timeout_s 5.0" in text
    assert main(["presets", "--json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["policies"]["seed"]["diagnostics"] == DiagnosticsSettings().to_dict()


def test_when_every_session_suspects_a_firewall_every_session_skips_websocket():
    result = simulate(SEED_DIAG, CLEAN_FIREWALL, 3_000, seed=9)  # no loss, no stalls
    assert (result.strategy == Strategy.LONG_POLLING.code).all() and (result.attempts == 1).all()
    expected = 4 * 0.04 + DEFAULT_WS_PROBE_TIMEOUT_S  # the probes at the median RTT
    assert np.median(result.ended_at) == pytest.approx(expected + 0.35, abs=0.2)


def test_tune_varies_diagnostics_as_an_axis():
    from chatconn.tune.cli import parse_vary
    from chatconn.tune.grid import ParameterGrid as Grid

    name, values = parse_vary("diagnostics=false,true")
    assert name == "diagnostics"
    points = Grid({name: values}).points(policy_preset("seed"))
    assert [p.policy.diagnostics.enabled for p in points] == [False, True]
    assert [p.label for p in points] == ["diagnostics=false", "diagnostics=true"]
