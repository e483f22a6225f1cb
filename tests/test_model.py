"""The attempt model: rules from chatconn.core.model's module docstring, case by case."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chatconn.core.model import (
    MAX_SYN_RETRIES,
    SessionConditions,
    attempt_outcome,
    draw_conditions,
    syn_loss_probability,
)
from chatconn.core.profiles import FaultMode, NetworkProfile, Outage, profile_preset
from chatconn.core.strategies import ErrorCategory, Strategy

WEBSOCKET = [s for s in Strategy if s.uses_websocket]
HTTP = [s for s in Strategy if not s.uses_websocket]
RTT = np.array([0.01, 0.05, 0.1, 0.3])
LONG = 1000.0  # a timeout nothing below reaches


def conditions(rtt=RTT, proxy=False, ports=False) -> SessionConditions:
    return SessionConditions(np.array(rtt, dtype=float), proxy, ports)


def run(profile, strategy, cond, *, start=0.0, timeout=LONG, u_loss=None, u_fault=None):
    n = cond.rtt.size
    if u_loss is not None:
        u_loss = np.broadcast_to(np.asarray(u_loss, dtype=float), (n,)).copy()
    if u_fault is not None:
        u_fault = np.broadcast_to(np.asarray(u_fault, dtype=float), (n,)).copy()
    return attempt_outcome(profile, strategy, start, timeout, cond, u_loss, u_fault)


def test_strategy_split_is_three_websocket_and_two_http():
    assert set(WEBSOCKET) == {
        Strategy.DIRECT_WEBSOCKET,
        Strategy.EXTENDED_TIMEOUT,
        Strategy.MULTIPLE_PORTS,
    }
    assert set(HTTP) == {Strategy.LONG_POLLING, Strategy.SSE_FALLBACK}


# --------------------------------------------------------------------------- success


# Round trips to "connected" per strategy, as chatconn/wire.py spends them:
# WebSocket TCP + upgrade + auth + sync; long polling TCP + connect/auth + sync on the same
# connection; SSE TCP + stream/auth + a second connection (TCP) + sync.
PROTOCOL_ROUND_TRIPS = {
    Strategy.DIRECT_WEBSOCKET: 4,
    Strategy.EXTENDED_TIMEOUT: 4,
    Strategy.MULTIPLE_PORTS: 4,
    Strategy.LONG_POLLING: 3,
    Strategy.SSE_FALLBACK: 4,
}


@pytest.mark.parametrize("strategy", list(Strategy))
def test_success_takes_the_protocols_round_trips_plus_auth_sync_and_transfer(strategy):
    # 10_000 bytes at 800 kbit/s: 80_000 bits / 800_000 bit/s = 0.1 s.
    profile = NetworkProfile(
        "p", rtt_sigma=0.0, auth_s=0.2, sync_s=0.3, sync_bytes=10_000, bandwidth_kbps=800
    )
    outcome = run(profile, strategy, conditions())
    assert outcome.connected.all()
    assert (outcome.error == ErrorCategory.NONE).all()
    rounds = PROTOCOL_ROUND_TRIPS[strategy]
    np.testing.assert_allclose(outcome.duration, rounds * RTT + 0.2 + 0.3 + 0.1, rtol=1e-12)


def test_success_without_bandwidth_limit_has_no_transfer_time():
    profile = NetworkProfile("p", rtt_sigma=0.0, auth_s=0.0, sync_s=0.0, bandwidth_kbps=None)
    outcome = run(profile, Strategy.LONG_POLLING, conditions())
    np.testing.assert_allclose(outcome.duration, 3 * RTT, rtol=1e-12)


def test_random_draws_above_every_probability_change_nothing():
    base = NetworkProfile("p", rtt_sigma=0.0, auth_s=0.1, sync_s=0.1)
    noisy = base.with_changes(loss=0.1, stall_probability=0.2, reset_probability=0.3)
    q = syn_loss_probability(noisy)
    quiet = run(base, Strategy.DIRECT_WEBSOCKET, conditions())
    # u_loss >= q: no SYN lost; u_fault >= stall + reset: no fault.
    lucky = run(noisy, Strategy.DIRECT_WEBSOCKET, conditions(), u_loss=q + 1e-9, u_fault=0.5)
    assert lucky.connected.all()
    np.testing.assert_array_equal(lucky.duration, quiet.duration)


def test_inputs_are_not_modified():
    profile = NetworkProfile("p", rtt_sigma=0.0, loss=0.2, stall_probability=0.1)
    cond = conditions()
    rtt_before = cond.rtt.copy()
    u = np.array([0.0, 0.01, 0.5, 0.9])
    u_before = u.copy()
    attempt_outcome(profile, Strategy.DIRECT_WEBSOCKET, 0.0, 10.0, cond, u, u)
    np.testing.assert_array_equal(cond.rtt, rtt_before)
    np.testing.assert_array_equal(u, u_before)


# --------------------------------------------------------------------------- proxies


@pytest.mark.parametrize("strategy", WEBSOCKET)
def test_corporate_firewall_fails_websocket_strategies_with_timeout(strategy):
    profile = profile_preset("corporate-firewall")
    cond = draw_conditions(profile, np.random.default_rng(1))
    outcome = run(profile, strategy, cond, timeout=15.0, u_loss=0.999, u_fault=0.999)
    assert not outcome.connected.any()
    assert (outcome.error == ErrorCategory.TIMEOUT).all()  # the proxy hangs the upgrade
    assert (outcome.duration == 15.0).all()


@pytest.mark.parametrize("strategy", HTTP)
def test_corporate_firewall_lets_http_strategies_connect(strategy):
    profile = profile_preset("corporate-firewall")
    for seed in range(5):
        cond = draw_conditions(profile, np.random.default_rng(seed))
        outcome = run(profile, strategy, cond, timeout=15.0, u_loss=0.999, u_fault=0.999)
        assert outcome.connected.all()
        rounds = PROTOCOL_ROUND_TRIPS[strategy]
        expected = rounds * cond.rtt + profile.auth_s + profile.sync_s + profile.transfer_s
        np.testing.assert_allclose(outcome.duration, expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("mode", "error"),
    [("reset", ErrorCategory.RESET), ("forbidden", ErrorCategory.UPGRADE_REJECTED)],
)
def test_ws_block_mode_fails_after_two_round_trips(mode, error):
    profile = NetworkProfile("p", rtt_sigma=0.0, ws_blocked_share=1.0, ws_block_mode=mode)
    for strategy in WEBSOCKET:
        outcome = run(profile, strategy, conditions(proxy=True))
        assert not outcome.connected.any()
        assert (outcome.error == error).all()
        np.testing.assert_allclose(outcome.duration, 2 * RTT, rtol=1e-12)
    for strategy in HTTP:
        assert run(profile, strategy, conditions(proxy=True)).connected.all()


def test_ws_proxy_only_affects_sessions_behind_it():
    profile = NetworkProfile("p", rtt_sigma=0.0, ws_blocked_share=0.5, ws_block_mode="forbidden")
    behind = np.array([True, False, True, False])
    outcome = run(profile, Strategy.DIRECT_WEBSOCKET, conditions(proxy=behind))
    np.testing.assert_array_equal(outcome.connected, ~behind)
    assert (outcome.error[behind] == ErrorCategory.UPGRADE_REJECTED).all()


# --------------------------------------------------------------------------- ports


def test_blocked_alternative_ports_fail_only_multiple_ports():
    profile = NetworkProfile(
        "p", rtt_sigma=0.0, blocked_ports={1, 2}, blocked_ports_share=1.0, port_block_mode="hang"
    )
    cond = conditions(ports=True)
    for strategy in Strategy:
        outcome = run(profile, strategy, cond, timeout=9.0)
        if strategy is Strategy.MULTIPLE_PORTS:
            assert (outcome.error == ErrorCategory.TIMEOUT).all()
            assert (outcome.duration == 9.0).all()
        else:
            assert outcome.connected.all(), strategy


def test_one_open_alternative_port_is_enough_for_multiple_ports():
    profile = NetworkProfile("p", rtt_sigma=0.0, blocked_ports={1}, blocked_ports_share=1.0)
    assert run(profile, Strategy.MULTIPLE_PORTS, conditions(ports=True)).connected.all()


def test_blocked_primary_port_refuses_primary_websocket_strategies_after_one_rtt():
    profile = NetworkProfile(
        "p", rtt_sigma=0.0, blocked_ports={0}, blocked_ports_share=1.0, port_block_mode="refuse"
    )
    cond = conditions(ports=True)
    for strategy in (Strategy.DIRECT_WEBSOCKET, Strategy.EXTENDED_TIMEOUT):
        outcome = run(profile, strategy, cond)
        assert (outcome.error == ErrorCategory.REFUSED).all()
        np.testing.assert_allclose(outcome.duration, RTT, rtol=1e-12)
    for strategy in (Strategy.MULTIPLE_PORTS, *HTTP):
        assert run(profile, strategy, cond).connected.all(), strategy


def test_port_rules_apply_only_to_sessions_whose_ports_are_blocked():
    profile = NetworkProfile(
        "p", rtt_sigma=0.0, blocked_ports={0}, blocked_ports_share=0.5, port_block_mode="refuse"
    )
    blocked = np.array([False, True, True, False])
    outcome = run(profile, Strategy.DIRECT_WEBSOCKET, conditions(ports=blocked))
    np.testing.assert_array_equal(outcome.connected, ~blocked)


# --------------------------------------------------------------------------- server states


@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("start", [0.0, 42.0, 1e7])
def test_server_down_refuses_after_one_rtt(strategy, start):
    outcome = run(profile_preset("server-down"), strategy, conditions(), start=start)
    assert not outcome.connected.any()
    assert (outcome.error == ErrorCategory.REFUSED).all()
    np.testing.assert_allclose(outcome.duration, RTT, rtol=1e-12)


@pytest.mark.parametrize("strategy", list(Strategy))
def test_blackhole_times_out_at_exactly_the_timeout(strategy):
    timeouts = np.array([1.0, 15.0, 21.0, 120.0])
    outcome = run(profile_preset("blackhole"), strategy, conditions(), timeout=timeouts)
    assert not outcome.connected.any()
    assert (outcome.error == ErrorCategory.TIMEOUT).all()
    np.testing.assert_array_equal(outcome.duration, timeouts)


def test_stall_times_out_and_reset_follows_in_the_next_band():
    profile = NetworkProfile("p", rtt_sigma=0.0, stall_probability=0.3, reset_probability=0.2)
    u_fault = np.array([0.0, 0.29, 0.3, 0.49, 0.5, 0.99])
    rtt = np.full(u_fault.size, 0.1)
    outcome = run(profile, Strategy.LONG_POLLING, conditions(rtt), timeout=7.0, u_fault=u_fault)
    stall, reset, ok = ErrorCategory.TIMEOUT, ErrorCategory.RESET, ErrorCategory.NONE
    assert outcome.error.tolist() == [stall, stall, reset, reset, ok, ok]
    np.testing.assert_allclose(outcome.duration[:2], 7.0)  # a stall waits out the timeout
    np.testing.assert_allclose(outcome.duration[2:4], 0.2)  # a reset comes after 2 RTT
    assert outcome.connected.tolist() == [False, False, False, False, True, True]


def test_every_attempt_stalls_when_stall_probability_is_one():
    profile = NetworkProfile("p", rtt_sigma=0.0, stall_probability=1.0)
    u_fault = np.linspace(0.0, 0.999999, 50)
    outcome = run(
        profile, Strategy.DIRECT_WEBSOCKET, conditions(np.full(50, 0.05)), u_fault=u_fault
    )
    assert (outcome.error == ErrorCategory.TIMEOUT).all()


# --------------------------------------------------------------------------- outages


@pytest.mark.parametrize(
    ("mode", "error"), [("refuse", ErrorCategory.REFUSED), ("hang", ErrorCategory.TIMEOUT)]
)
def test_outage_applies_only_to_attempts_starting_inside_the_window(mode, error):
    profile = NetworkProfile("p", rtt_sigma=0.0, outages=(Outage(10.0, 20.0, mode),))
    starts = np.array([0.0, 9.99, 10.0, 15.0, 19.999, 20.0, 30.0])
    inside = (starts >= 10.0) & (starts < 20.0)
    rtt = np.full(starts.size, 0.5)  # attempts starting at 9.99 run into the window: still ok
    outcome = run(profile, Strategy.DIRECT_WEBSOCKET, conditions(rtt), start=starts, timeout=5.0)
    np.testing.assert_array_equal(outcome.connected, ~inside)
    assert (outcome.error[inside] == error).all()
    expected_failure = 0.5 if mode == "refuse" else 5.0
    np.testing.assert_allclose(outcome.duration[inside], expected_failure)


@pytest.mark.parametrize(("start", "inside"), [(4.999, False), (5.0, True), (8.0, False)])
def test_outage_with_a_scalar_start(start, inside):
    profile = NetworkProfile("p", rtt_sigma=0.0, outages=(Outage(5.0, 8.0),))
    outcome = run(profile, Strategy.SSE_FALLBACK, conditions(), start=start)
    assert (outcome.connected != inside).all()


def test_several_outages_each_apply_to_their_own_window():
    profile = NetworkProfile(
        "p", rtt_sigma=0.0, outages=(Outage(0.0, 1.0), Outage(5.0, 6.0, FaultMode.HANG))
    )
    starts = np.array([0.5, 3.0, 5.5, 7.0])
    outcome = run(profile, Strategy.LONG_POLLING, conditions(), start=starts, timeout=4.0)
    assert outcome.error.tolist() == [
        ErrorCategory.REFUSED,
        ErrorCategory.NONE,
        ErrorCategory.TIMEOUT,
        ErrorCategory.NONE,
    ]


def test_later_rules_override_earlier_ones():
    # Stall (u_fault = 0) < proxy (forbidden) < outage (refuse): the outage wins inside
    # its window, the proxy outside it.
    profile = NetworkProfile(
        "p",
        rtt_sigma=0.0,
        stall_probability=0.5,
        ws_blocked_share=1.0,
        ws_block_mode="forbidden",
        outages=(Outage(100.0, 200.0),),
    )
    starts = np.array([0.0, 150.0, 0.0, 150.0])
    outcome = run(
        profile,
        Strategy.DIRECT_WEBSOCKET,
        conditions(proxy=True),
        start=starts,
        u_fault=np.zeros(4),
    )
    assert outcome.error.tolist() == [
        ErrorCategory.UPGRADE_REJECTED,
        ErrorCategory.REFUSED,
        ErrorCategory.UPGRADE_REJECTED,
        ErrorCategory.REFUSED,
    ]


# --------------------------------------------------------------------------- timeouts


def test_anything_slower_than_the_timeout_is_a_timeout_at_the_timeout():
    profile = NetworkProfile("p", rtt_sigma=0.0, auth_s=0.0, sync_s=0.0)
    rtt = np.array([0.5, 1.0, 2.0, 5.0])  # 4 RTT: 2, 4, 8, 20 s
    outcome = run(profile, Strategy.DIRECT_WEBSOCKET, conditions(rtt), timeout=6.0)
    assert outcome.connected.tolist() == [True, True, False, False]
    np.testing.assert_allclose(outcome.duration, [2.0, 4.0, 6.0, 6.0])
    assert outcome.error.tolist() == [0, 0, ErrorCategory.TIMEOUT, ErrorCategory.TIMEOUT]


def test_ending_exactly_at_the_timeout_is_not_late():
    profile = NetworkProfile("p", rtt_sigma=0.0, auth_s=0.0, sync_s=0.0)
    outcome = run(profile, Strategy.LONG_POLLING, conditions([1.0]), timeout=4.0)
    assert outcome.connected.all()


def test_a_failure_slower_than_the_timeout_becomes_a_timeout():
    # Refused after 1 RTT = 3 s, but the attempt gives up after 2 s.
    outcome = run(
        profile_preset("server-down"), Strategy.LONG_POLLING, conditions([3.0]), timeout=2.0
    )
    assert outcome.error.tolist() == [ErrorCategory.TIMEOUT]
    assert outcome.duration.tolist() == [2.0]


def test_per_session_timeouts():
    profile = NetworkProfile("p", rtt_sigma=0.0, auth_s=0.0, sync_s=0.0)
    timeouts = np.array([0.1, 0.5, 1.0, 2.0])
    outcome = run(profile, Strategy.DIRECT_WEBSOCKET, conditions(np.full(4, 0.2)), timeout=timeouts)
    # Each needs 0.8 s.
    assert outcome.connected.tolist() == [False, False, True, True]
    np.testing.assert_allclose(outcome.duration, [0.1, 0.5, 0.8, 0.8])


# --------------------------------------------------------------------------- SYN loss


def test_syn_loss_probability_is_either_of_two_packets():
    profile = NetworkProfile("p", loss=0.1)
    assert syn_loss_probability(profile) == pytest.approx(1 - 0.9 * 0.9)
    assert syn_loss_probability(NetworkProfile("p", loss=0.0)) == 0.0


def test_syn_loss_penalty_is_two_to_the_n_minus_one_seconds():
    profile = NetworkProfile("p", rtt_sigma=0.0, loss=0.1, auth_s=0.0, sync_s=0.0)
    q = syn_loss_probability(profile)
    # n losses when q**(n+1) <= u < q**n: pick u = q**(n + 0.5), inside that band.
    ns = np.arange(0, MAX_SYN_RETRIES + 3)
    u = q ** (ns + 0.5)
    rtt = np.full(ns.size, 0.05)
    outcome = run(profile, Strategy.DIRECT_WEBSOCKET, conditions(rtt), u_loss=u)
    expected_n = np.minimum(ns, 6)  # Linux tcp_syn_retries: at most 6 retransmissions
    penalty = outcome.duration - 4 * 0.05
    np.testing.assert_allclose(penalty, 2.0**expected_n - 1.0, atol=1e-9)
    np.testing.assert_allclose(penalty[1:5], [1.0, 3.0, 7.0, 15.0], atol=1e-9)
    assert MAX_SYN_RETRIES == 6
    assert outcome.connected.all()


def test_syn_loss_penalty_can_push_an_attempt_past_its_timeout():
    profile = NetworkProfile("p", rtt_sigma=0.0, loss=0.1, auth_s=0.0, sync_s=0.0)
    q = syn_loss_probability(profile)
    u = np.array([q**1.5, q**2.5, q**3.5])  # 1, 2, 3 losses: +1, +3, +7 s
    outcome = run(
        profile, Strategy.DIRECT_WEBSOCKET, conditions(np.full(3, 0.05)), u_loss=u, timeout=5.0
    )
    assert outcome.connected.tolist() == [True, True, False]
    np.testing.assert_allclose(outcome.duration, [1.2, 3.2, 5.0])


def test_syn_loss_counts_follow_a_geometric_law():
    profile = NetworkProfile("p", rtt_sigma=0.0, loss=0.2, auth_s=0.0, sync_s=0.0)
    q = syn_loss_probability(profile)
    n = 400_000
    u = np.random.default_rng(7).random(n)
    outcome = run(profile, Strategy.DIRECT_WEBSOCKET, conditions(np.full(n, 0.01)), u_loss=u)
    penalty = outcome.duration - 0.04
    for j in range(1, 4):
        observed = np.mean(penalty >= 2.0**j - 1.0 - 1e-9)
        expected = q**j  # P(n >= j)
        assert observed == pytest.approx(expected, abs=5 * math.sqrt(expected / n))


# --------------------------------------------------------------------------- conditions


def test_draw_conditions_follows_shares_of_zero_and_one():
    rng = np.random.default_rng(3)
    firewall = draw_conditions(profile_preset("corporate-firewall"), rng)
    assert firewall.behind_ws_proxy is True
    assert firewall.ports_blocked is True
    plain = draw_conditions(profile_preset("fiber"), rng)
    assert plain.behind_ws_proxy is False
    assert plain.ports_blocked is False
    assert plain.rtt.shape == (1,)
    assert plain.rtt[0] > 0


def test_draw_conditions_without_spread_uses_the_median_rtt():
    cond = draw_conditions(
        NetworkProfile("p", rtt_median_s=0.123, rtt_sigma=0.0), np.random.default_rng(0)
    )
    assert cond.rtt.tolist() == [0.123]


def test_draw_conditions_proxy_share_is_respected_in_frequency():
    profile = NetworkProfile("p", ws_blocked_share=0.3, blocked_ports_share=0.6, blocked_ports={0})
    rng = np.random.default_rng(11)
    draws = [draw_conditions(profile, rng) for _ in range(4000)]
    proxy = np.mean([d.behind_ws_proxy for d in draws])
    ports = np.mean([d.ports_blocked for d in draws])
    assert proxy == pytest.approx(0.3, abs=5 * math.sqrt(0.3 * 0.7 / 4000))
    assert ports == pytest.approx(0.6, abs=5 * math.sqrt(0.6 * 0.4 / 4000))


def test_rtt_is_lognormal_with_the_profile_median():
    profile = NetworkProfile("p", rtt_median_s=0.2, rtt_sigma=0.5)
    rng = np.random.default_rng(5)
    rtt = np.array([draw_conditions(profile, rng).rtt[0] for _ in range(4000)])
    logs = np.log(rtt)
    assert np.median(rtt) == pytest.approx(0.2, rel=0.05)
    assert logs.std() == pytest.approx(0.5, rel=0.05)


def test_session_conditions_take_selects_sessions():
    cond = SessionConditions(np.array([1.0, 2.0, 3.0]), np.array([True, False, True]), False)
    picked = cond.take(np.array([0, 2]))
    assert picked.rtt.tolist() == [1.0, 3.0]
    assert picked.behind_ws_proxy.tolist() == [True, True]
    assert picked.ports_blocked is False
