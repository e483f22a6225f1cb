"""Sessions that last: drop detection by heartbeat, reconnects through the policy, the
breaker across connects, and the storm under the same rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chatconn.core.breaker import BreakerConfig
from chatconn.core.errors import ConfigError
from chatconn.core.lifetime import HeartbeatConfig, detection_delay, drop_gap
from chatconn.core.presets import policy_preset
from chatconn.core.profiles import NetworkProfile, profile_preset
from chatconn.lifetime import simulate_lifetime
from chatconn.live import manager as manager_module
from chatconn.storm import storm

SEED = policy_preset("seed")


def test_heartbeat_defaults_are_stream_chats_and_the_manager_uses_the_same_class():
    hb = HeartbeatConfig()
    assert (hb.interval_s, hb.timeout_s, hb.worst_detection_s) == (25.0, 10.0, 35.0)
    assert manager_module.HeartbeatConfig is HeartbeatConfig
    with pytest.raises(ConfigError, match="interval_s"):
        HeartbeatConfig(interval_s=0)
    with pytest.raises(ConfigError, match="timeout_s"):
        HeartbeatConfig(timeout_s=math.nan)


def test_detection_delay_is_uniform_between_timeout_and_interval_plus_timeout():
    hb = HeartbeatConfig(interval_s=20.0, timeout_s=5.0)
    assert detection_delay(hb, 0.0) == 5.0 and detection_delay(hb, 0.5) == 15.0
    u = np.random.default_rng(1).random(20_000)
    d = detection_delay(hb, u)
    assert d.min() >= 5.0 and d.max() < 25.0


def test_drop_gaps_are_exponential_at_the_rate():
    u = np.random.default_rng(2).random(40_000)
    gaps = drop_gap(6.0, u)  # mean 600 s
    se = gaps.std() / math.sqrt(gaps.size)
    assert abs(gaps.mean() - 600.0) < 4.5 * se
    assert drop_gap(0.0, 0.3) == math.inf


def test_lifetime_counts_drops_at_the_profiles_rate_and_detects_them_by_heartbeat():
    profile = profile_preset("broadband").with_changes(drops_per_hour=3.0)
    result = simulate_lifetime(SEED, profile, 4_000, seed=3)
    summary = result.summary()
    # Drops arrive while connected: the rate times the connected share of the hour.
    connected_share = 1.0 - result.disconnected_s.mean() / 3600.0
    expected = 3.0 * connected_share
    se = math.sqrt(3.0 / result.sessions)  # Poisson
    assert abs(summary["drops_per_hour"] - expected) < 4.5 * se
    d = summary["detection_s"]
    assert 10.0 <= d["p50"] <= 35.0 and d["max"] <= 35.0
    se_d = result.detection_s.std() / math.sqrt(result.detection_s.size)
    assert abs(d["mean"] - 22.5) < 4.5 * se_d  # timeout + interval / 2
    # Every drop here reconnects (broadband), but for one the hour may end before.
    unfinished = result.drops - result.reconnects
    assert ((unfinished == 0) | (unfinished == 1)).all()
    assert summary["failed_connects_per_hour"] == 0.0


def test_a_faster_heartbeat_shortens_the_time_disconnected():
    profile = profile_preset("4g").with_changes(drops_per_hour=4.0)
    slow = simulate_lifetime(SEED, profile, 3_000, seed=4).summary()
    fast = simulate_lifetime(
        SEED, profile, 3_000, seed=4, heartbeat=HeartbeatConfig(interval_s=5.0, timeout_s=2.0)
    ).summary()
    assert fast["detection_s"]["max"] <= 7.0
    assert fast["disconnected_s_per_hour"]["mean"] < 0.5 * slow["disconnected_s_per_hour"]["mean"]


def test_diagnostics_cut_the_time_disconnected_behind_a_firewall():
    firewall = profile_preset("corporate-firewall").with_changes(drops_per_hour=2.0)
    plain = simulate_lifetime(SEED, firewall, 2_000, seed=5).summary()
    probed = simulate_lifetime(
        SEED.with_changes(diagnostics=True), firewall, 2_000, seed=5
    ).summary()
    # Each reconnect costs ~204 s without probing, ~5.4 s with.
    assert (
        probed["disconnected_s_per_hour"]["mean"] < 0.3 * plain["disconnected_s_per_hour"]["mean"]
    )


def test_a_server_that_stays_down_keeps_the_session_disconnected_and_the_breaker_paces_it():
    down = profile_preset("server-down").with_changes(drops_per_hour=60.0)
    breaker = BreakerConfig(failure_threshold=2, cooldown_s=60.0)
    result = simulate_lifetime(SEED, down, 200, seed=6, breaker=breaker)
    assert (result.reconnects == 0).all() and (result.drops == 1).all()
    # After the first drop (detected 10-35 s later) every connect fails (the kept token,
    # six refused attempts and five waits of +/-40 %: 4.6-11 s) and the next one waits a
    # cool-down: one failed connect per 64.6-71 s.
    disconnected = result.disconnected_s
    most = np.floor((disconnected - 10.0) / 64.6) + 1
    least = np.floor((disconnected - 35.0) / 71.0)
    assert (result.failed_connects <= most).all() and (result.failed_connects >= least).all()


def test_lifetime_rejects_bad_arguments():
    with pytest.raises(ConfigError, match="hours"):
        simulate_lifetime(SEED, profile_preset("fiber"), 10, hours=0)
    with pytest.raises(ConfigError, match="sessions"):
        simulate_lifetime(SEED, profile_preset("fiber"), 0)
    with pytest.raises(ConfigError, match="drops_per_hour"):
        NetworkProfile("x", drops_per_hour=-1)


def test_storm_with_a_heartbeat_starts_each_client_when_its_heartbeat_notices():
    hb = HeartbeatConfig()
    result = storm(SEED, 2_000, 0.0, 10_000, seed=7, heartbeat=hb)
    assert np.nanmin(result.connect_time) >= hb.timeout_s
    assert np.nanmax(result.connect_time) <= hb.worst_detection_s + 1.0
    at_once = storm(SEED, 2_000, 0.0, 10_000, seed=7)
    assert np.nanmax(at_once.connect_time) < 1.0


def test_lifetime_command(capsys):
    import json

    from chatconn.cli import main

    argv = ["lifetime", "--profile", "corporate-firewall", "--sessions", "500", "--json"]
    assert main(argv) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main([*argv, "--set", "diagnostics=true"]) == 0
    probed = json.loads(capsys.readouterr().out)
    assert plain["heartbeat"] == {"interval_s": 25.0, "timeout_s": 10.0}
    assert probed["disconnected_s_per_hour"]["mean"] < plain["disconnected_s_per_hour"]["mean"]
    assert main([*argv[:-1], "--heartbeat-interval-s", "5"]) == 0
    assert "heartbeat 5 s + 10 s" in capsys.readouterr().out
    assert main(["lifetime", "--hours", "0"]) == 2
    assert "--hours" in capsys.readouterr().err
