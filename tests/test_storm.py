"""Reconnect storms: rules from chatconn.storm's module docstring."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from chatconn.core.errors import ConfigError
from chatconn.core.presets import policy_preset, policy_preset_names
from chatconn.storm import DEFAULT_ATTEMPT_S, StormResult, storm

CASES = [
    ("seed", 5_000, 20.0, 300),
    ("aws-decorrelated", 8_000, 30.0, 500),
    ("socketio", 8_000, 30.0, 500),
    ("grpc", 4_000, 10.0, 250),
    ("websockets", 3_000, 5.0, 400),
    ("signalr", 2_000, 30.0, 150),
    ("aws-standard", 2_000, 3.0, 400),
]


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def case(request) -> tuple[StormResult, float, int]:
    name, clients, outage, capacity = request.param
    return storm(policy_preset(name), clients, outage, capacity, seed=7), outage, capacity


def accept_times(result: StormResult) -> np.ndarray:
    """When each client's accepted attempt arrived (it connects attempt_s later)."""
    return result.connect_time - result.attempt_s


def test_every_client_reconnects_when_the_server_has_capacity(case):
    result, _, _ = case
    assert not np.isnan(result.connect_time).any()
    assert (result.attempts >= 1).all()
    assert result.accepted_per_s.sum() == result.clients
    assert result.reconnected_all_s == pytest.approx(result.connect_time.max())


def test_no_capacity_window_accepts_more_than_capacity(case):
    # Outages here are whole seconds, so the per-second series lines up with the windows
    # [outage_s + j, outage_s + j + 1).
    result, outage, capacity = case
    assert result.accepted_per_s.max() <= capacity
    windows = np.floor(accept_times(result) - outage + 1e-9).astype(int)
    assert np.bincount(windows).max() <= capacity


def test_nothing_is_accepted_before_the_outage_ends(case):
    result, outage, _ = case
    assert result.accepted_per_s[: int(outage)].sum() == 0
    assert accept_times(result).min() >= outage - 1e-9
    assert result.connect_time.min() >= outage + result.attempt_s - 1e-9


def test_peak_is_at_least_the_accepted_count_of_any_window(case):
    result, _, capacity = case
    assert result.peak_per_s >= result.accepted_per_s.max()
    # More clients than capacity all arrive after the outage, so some window is saturated.
    assert result.accepted_per_s.max() == min(capacity, result.clients)


def test_refused_counts_equal_the_series_totals(case):
    result, _, _ = case
    assert result.refused == int(result.refused_per_s.sum())
    assert result.refused == result.refused_during_outage + result.refused_over_capacity
    assert result.accepted_per_s.shape == result.refused_per_s.shape
    data = result.to_dict()
    assert data["refused"] == sum(row["refused"] for row in data["series"])
    assert sum(row["accepted"] for row in data["series"]) == result.clients


def test_refused_during_outage_counts_attempts_before_it_ends(case):
    result, outage, _ = case
    refused_before = int(result.refused_per_s[: int(outage)].sum())
    assert result.refused_during_outage == refused_before
    assert result.refused_during_outage >= result.clients  # everyone's attempt 0 at t = 0


def test_attempts_add_up(case):
    result, _, _ = case
    # Each client made (attempts - 1) refused attempts and one accepted.
    assert int((result.attempts - 1).sum()) == result.refused


def test_99_percent_are_back_no_later_than_all(case):
    result, _, _ = case
    assert result.reconnected_99_s is not None
    assert result.reconnected_99_s <= result.reconnected_all_s
    back_by_99 = np.mean(result.connect_time <= result.reconnected_99_s)
    assert back_by_99 >= 0.99
    assert result.reconnected_99_s in set(result.connect_time.tolist())


def test_beyond_policy_counts_clients_past_max_attempts(case):
    result, _, _ = case
    policy = result.policy
    assert policy.deadline is None
    assert result.beyond_policy == int((result.attempts > policy.max_attempts).sum())


def test_to_dict_is_strict_json_and_complete(case):
    result, _, capacity = case
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    for key in ("peak_per_s", "reconnected_99_s", "reconnected_all_s", "refused", "series"):
        assert key in data
    assert data["peak_over_capacity"] == pytest.approx(result.peak_per_s / capacity)
    assert [row["t_s"] for row in data["series"]] == list(range(len(data["series"])))


def test_capacity_respected_when_the_outage_is_not_a_whole_second():
    result = storm(policy_preset("seed"), 6_000, 7.5, 400, seed=3, attempt_s=0.0625)
    windows = np.floor(accept_times(result) - 7.5 + 1e-9).astype(int)
    assert windows.min() >= 0
    assert np.bincount(windows).max() <= 400
    assert not np.isnan(result.connect_time).any()


def test_no_outage_and_ample_capacity_accepts_everyone_at_once():
    result = storm(policy_preset("seed"), 1_000, 0.0, 1_000, seed=1)
    assert (result.attempts == 1).all()
    np.testing.assert_allclose(result.connect_time, DEFAULT_ATTEMPT_S)
    assert result.refused == 0
    assert result.beyond_policy == 0
    assert result.peak_per_s == 1_000


def test_first_come_first_served_within_a_window():
    # signalr has no jitter: every client arrives at the same instants; with capacity c,
    # exactly c clients get through in each window where the herd arrives.
    result = storm(policy_preset("signalr"), 1_000, 30.0, 100, seed=0)
    counts = result.accepted_per_s[result.accepted_per_s > 0]
    assert (counts == 100).all()
    assert counts.size == 10


# --------------------------------------------------------------------------- policies


def test_socketio_cap_after_jitter_gives_a_larger_peak_than_decorrelated_jitter():
    socketio = storm(policy_preset("socketio"), 20_000, 30.0, 1_000, seed=1)
    decorrelated = storm(policy_preset("aws-decorrelated"), 20_000, 30.0, 1_000, seed=1)
    assert socketio.peak_per_s > decorrelated.peak_per_s


def test_socketio_herd_stays_bunched_after_a_long_outage():
    # Beyond the ramp every socket.io client waits exactly max_delay = 5 s: after a long
    # outage all clients have reached the cap, so the refused attempts fall into phases
    # repeating every 5 s + attempt_s, never spreading out.
    policy = policy_preset("socketio")
    assert policy.cap_after_jitter
    result = storm(policy, 5_000, 120.0, 100, seed=2)
    decorrelated = storm(policy_preset("aws-decorrelated"), 5_000, 120.0, 100, seed=2)
    assert result.peak_per_s > 2 * decorrelated.peak_per_s


def test_signalr_without_jitter_sends_every_client_in_the_same_window():
    policy = policy_preset("signalr")
    result = storm(policy, 2_000, 30.0, 150, seed=4)
    assert result.peak_per_s == 2_000


def test_signalr_timeline_follows_its_delay_table():
    # Delays 0, 2, 10, 30 s counted from each failure (attempt_s = 0.05 s): attempts at
    # 0, 0.05, 2.1, 12.15 are refused by a 30 s outage, attempt 5 arrives at 42.2 s.
    clients, capacity = 1_000, 100
    result = storm(policy_preset("signalr"), clients, 30.0, capacity, seed=0)
    assert result.refused_during_outage == 4 * clients
    first = result.attempts == 5
    assert int(first.sum()) == capacity
    np.testing.assert_allclose(result.connect_time[first], 42.2 + 0.05)
    # Everyone else needed more attempts than signalr's 5.
    assert result.beyond_policy == clients - capacity
    assert result.beyond_policy == int(
        (result.attempts > policy_preset("signalr").max_attempts).sum()
    )


def test_beyond_policy_is_zero_when_everyone_gets_back_within_the_policy():
    result = storm(policy_preset("websockets"), 500, 1.0, 1_000, seed=5)
    assert (result.attempts <= policy_preset("websockets").max_attempts).all()
    assert result.beyond_policy == 0


def test_beyond_policy_counts_deadline_violations():
    policy = policy_preset("seed").with_changes(deadline=20.0, max_attempts=1000)
    result = storm(policy, 3_000, 25.0, 1_000, seed=5)
    # Nobody can be back before the 25 s outage ends: all are past a 20 s deadline.
    assert result.beyond_policy == 3_000


@pytest.mark.parametrize("name", policy_preset_names())
def test_every_preset_storm_completes(name):
    result = storm(policy_preset(name), 1_000, 10.0, 200, seed=3)
    assert result.reconnected_all_s is not None
    assert result.accepted_per_s.max() <= 200


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"clients": 0}, "clients"),
        ({"clients": -5}, "clients"),
        ({"clients": 10.0}, "clients"),
        ({"clients": True}, "clients"),
        ({"capacity_per_s": 0}, "capacity_per_s"),
        ({"capacity_per_s": 2.5}, "capacity_per_s"),
        ({"outage_s": -1.0}, "outage_s"),
        ({"outage_s": math.nan}, "outage_s"),
        ({"outage_s": math.inf}, "outage_s"),
        ({"seed": -1}, "seed"),
        ({"attempt_s": 0.0}, "attempt_s"),
    ],
)
def test_invalid_arguments_raise_config_error(kwargs, field):
    args = {"clients": 100, "outage_s": 5.0, "capacity_per_s": 10, "seed": 0} | kwargs
    attempt_s = args.pop("attempt_s", DEFAULT_ATTEMPT_S)
    with pytest.raises(ConfigError) as info:
        storm(policy_preset("seed"), **args, attempt_s=attempt_s)
    assert info.value.field == field
    assert field in str(info.value)


def test_policy_must_be_a_retry_policy():
    with pytest.raises(ConfigError):
        storm("seed", 100, 5.0, 10)  # type: ignore[arg-type]


def test_same_seed_gives_identical_results():
    a = storm(policy_preset("seed"), 5_000, 15.0, 300, seed=11)
    b = storm(policy_preset("seed"), 5_000, 15.0, 300, seed=11)
    np.testing.assert_array_equal(a.connect_time, b.connect_time)
    np.testing.assert_array_equal(a.attempts, b.attempts)
    np.testing.assert_array_equal(a.accepted_per_s, b.accepted_per_s)
    np.testing.assert_array_equal(a.refused_per_s, b.refused_per_s)
    assert a.peak_per_s == b.peak_per_s
    assert a.reconnected_99_s == b.reconnected_99_s
    assert a.beyond_policy == b.beyond_policy


def test_different_seeds_give_different_results_with_jitter():
    a = storm(policy_preset("seed"), 5_000, 15.0, 300, seed=11)
    b = storm(policy_preset("seed"), 5_000, 15.0, 300, seed=12)
    assert not np.array_equal(a.connect_time, b.connect_time)
