"""Reconnect storms: rules from chatconn.storm's module docstring.

The capacity rules are checked on policies that retry forever (everyone eventually gets
back); giving up, the calendar queue against the rescan reference, and the draws have their
own sections below.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from chatconn.core.errors import ConfigError
from chatconn.core.presets import policy_preset, policy_preset_names
from chatconn.core.schedule import jittered_wait, nominal_waits
from chatconn.storm import (
    DEFAULT_ATTEMPT_S,
    MAX_CLIENTS,
    Group,
    Herd,
    StormResult,
    StormSettings,
    seed_key,
    storm,
    tags,
    uniform_draws,
    window_of,
)
from chatconn.storm_reference import storm_rescan

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
    policy = policy_preset(name).with_changes(retries_forever=True)
    return storm(policy, clients, outage, capacity, seed=7), outage, capacity


def accept_times(result: StormResult) -> np.ndarray:
    """When each client's accepted attempt arrived (it connects attempt_s later)."""
    return result.connect_time - result.attempt_s


def accept_windows(result: StormResult, outage: float) -> np.ndarray:
    """The capacity window of each accepted attempt. Subtracting attempt_s back loses a
    last bit: socket.io's whole-millisecond times sit exactly on window edges, so round."""
    return window_of(np.round(accept_times(result) - outage, 9), 0.0)


def test_every_client_reconnects_when_the_server_has_capacity(case):
    result, _, _ = case
    assert not np.isnan(result.connect_time).any()
    assert (result.attempts >= 1).all()
    assert result.accepted_per_s.sum() == result.clients
    assert result.reconnected_all_s == pytest.approx(result.connect_time.max())
    assert result.gave_up == result.still_down == 0
    assert result.back == result.clients
    assert np.isnan(result.gave_up_at).all()


def test_no_capacity_window_accepts_more_than_capacity(case):
    # Outages here are whole seconds, so the per-second series lines up with the windows
    # [outage_s + j, outage_s + j + 1).
    result, outage, capacity = case
    assert result.accepted_per_s.max() <= capacity
    windows = accept_windows(result, outage)
    assert windows.min() >= 0
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


def test_attempts_add_up_when_clients_give_up():
    result = storm(policy_preset("aws-decorrelated"), 4_000, 30.0, 200, seed=2)
    assert 0 < result.gave_up < result.clients
    assert int(result.attempts.sum()) == result.refused + result.back


def test_99_percent_are_back_no_later_than_all(case):
    result, _, _ = case
    assert result.reconnected_99_s is not None
    assert result.reconnected_99_s <= result.reconnected_all_s
    back_by_99 = np.mean(result.connect_time <= result.reconnected_99_s)
    assert back_by_99 >= 0.99
    assert result.reconnected_99_s in set(result.connect_time.tolist())


def test_to_dict_is_strict_json_and_complete(case):
    result, _, capacity = case
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    for key in (
        "peak_per_s",
        "reconnected_99_s",
        "reconnected_all_s",
        "refused",
        "series",
        "back",
        "back_share",
        "gave_up",
        "still_down",
        "retries_forever",
    ):
        assert key in data
    assert data["back"] + data["gave_up"] + data["still_down"] == data["clients"]
    assert data["peak_over_capacity"] == pytest.approx(result.peak_per_s / capacity)
    assert [row["t_s"] for row in data["series"]] == list(range(len(data["series"])))


def test_capacity_respected_when_the_outage_is_not_a_whole_second():
    policy = policy_preset("seed").with_changes(retries_forever=True)
    result = storm(policy, 6_000, 7.5, 400, seed=3, attempt_s=0.0625)
    windows = accept_windows(result, 7.5)
    assert windows.min() >= 0
    assert np.bincount(windows).max() <= 400
    assert not np.isnan(result.connect_time).any()


def test_no_outage_and_ample_capacity_accepts_everyone_at_once():
    result = storm(policy_preset("seed"), 1_000, 0.0, 1_000, seed=1)
    assert (result.attempts == 1).all()
    np.testing.assert_allclose(result.connect_time, DEFAULT_ATTEMPT_S)
    assert result.refused == 0
    assert result.gave_up == 0
    assert result.peak_per_s == 1_000


def test_first_come_first_served_within_a_window():
    # signalr has no jitter: every client arrives at the same instants; with capacity c,
    # exactly c clients get through in each window where the herd arrives.
    policy = policy_preset("signalr").with_changes(retries_forever=True)
    result = storm(policy, 1_000, 30.0, 100, seed=0)
    counts = result.accepted_per_s[result.accepted_per_s > 0]
    assert (counts == 100).all()
    assert counts.size == 10


# --------------------------------------------------------------------------- policies


def test_socketio_cap_after_jitter_gives_a_larger_peak_than_decorrelated_jitter():
    socketio = storm(policy_preset("socketio"), 20_000, 30.0, 1_000, seed=1)
    forever = policy_preset("aws-decorrelated").with_changes(retries_forever=True)
    decorrelated = storm(forever, 20_000, 30.0, 1_000, seed=1)
    assert socketio.peak_per_s > decorrelated.peak_per_s


def test_socketio_herd_stays_bunched_after_a_long_outage():
    # Beyond the ramp every socket.io client waits exactly max_delay = 5 s: after a long
    # outage all clients have reached the cap, so the refused attempts fall into phases
    # repeating every 5 s + attempt_s, never spreading out.
    policy = policy_preset("socketio")
    assert policy.cap_after_jitter
    result = storm(policy, 5_000, 120.0, 100, seed=2)
    forever = policy_preset("aws-decorrelated").with_changes(retries_forever=True)
    decorrelated = storm(forever, 5_000, 120.0, 100, seed=2)
    assert result.peak_per_s > 2 * decorrelated.peak_per_s


def test_signalr_without_jitter_sends_every_client_in_the_same_window():
    policy = policy_preset("signalr")
    result = storm(policy, 2_000, 30.0, 150, seed=4)
    assert result.peak_per_s == 2_000


def test_signalr_timeline_follows_its_delay_table_then_gives_up():
    # Delays 0, 2, 10, 30 s counted from each failure (attempt_s = 0.05 s): attempts at
    # 0, 0.05, 2.1, 12.15 are refused by a 30 s outage, attempt 5 arrives at 42.2 s. Only
    # `capacity` clients get in; DefaultReconnectPolicy then returns null: the other 900
    # stop at 42.25 s and stay down.
    clients, capacity = 1_000, 100
    result = storm(policy_preset("signalr"), clients, 30.0, capacity, seed=0)
    assert result.refused_during_outage == 4 * clients
    assert (result.attempts == 5).all()
    back = ~np.isnan(result.connect_time)
    assert int(back.sum()) == result.back == capacity
    np.testing.assert_allclose(result.connect_time[back], 42.2 + 0.05)
    assert result.gave_up == clients - capacity
    np.testing.assert_allclose(result.gave_up_at[~back], 42.2 + 0.05)
    assert np.isnan(result.gave_up_at[back]).all()
    assert result.still_down == 0
    assert result.reconnected_99_s is None and result.reconnected_all_s is None
    # Nobody comes back after giving up: nothing arrives after that window.
    assert result.accepted_per_s.size == result.refused_per_s.size == 43
    assert result.peak_per_s == clients


def test_signalr_retrying_forever_brings_everyone_back_at_30_s_steps():
    policy = policy_preset("signalr").with_changes(retries_forever=True)
    result = storm(policy, 1_000, 30.0, 100, seed=0)
    assert result.back == 1_000 and result.gave_up == 0
    assert result.reconnected_all_s is not None


def test_seed_clients_give_up_during_a_30_s_outage():
    # The seed app makes 6 attempts with waits of ~1, 1.4, 1.96, 2.74, 3.84 s (+/-40 %):
    # all six are spent within the outage, so nobody is there when the server returns.
    policy = policy_preset("seed")
    result = storm(policy, 2_000, 30.0, 500, seed=1)
    assert result.gave_up == 2_000 and result.back == 0
    assert (result.attempts == policy.max_attempts).all()
    assert result.refused_during_outage == 2_000 * policy.max_attempts
    assert result.refused_over_capacity == 0 and result.peak_per_s == 0
    assert np.nanmax(result.gave_up_at) < 30.0
    nominal = sum(1.4**i for i in range(5)) + 6 * DEFAULT_ATTEMPT_S
    assert abs(float(np.mean(result.gave_up_at)) - nominal) < 0.1  # jitter averages out


def test_seed_clients_that_outlast_a_short_outage_all_get_back():
    result = storm(policy_preset("seed"), 2_000, 5.0, 2_000, seed=1)
    assert result.gave_up == 0 and result.back == 2_000


@pytest.mark.parametrize("name", ["grpc", "grpc-spec", "websockets", "socketio"])
def test_presets_that_retry_forever_never_give_up(name):
    policy = policy_preset(name)
    assert policy.retries_forever
    result = storm(policy, 3_000, 600.0, 300, seed=6)
    assert result.gave_up == 0 and result.back == 3_000
    assert result.attempts.max() > policy.max_attempts  # kept going past the preset's ramp


@pytest.mark.parametrize("name", ["seed", "aws-standard", "aws-decorrelated", "signalr"])
def test_presets_that_give_up_never_exceed_their_attempts(name):
    policy = policy_preset(name)
    assert not policy.retries_forever
    result = storm(policy, 3_000, 30.0, 300, seed=6)
    assert result.attempts.max() <= policy.max_attempts
    gave_up = ~np.isnan(result.gave_up_at)
    assert int(gave_up.sum()) == result.gave_up > 0
    assert (result.attempts[gave_up] == policy.max_attempts).all()
    assert np.isnan(result.connect_time[gave_up]).all()


def test_deadline_ends_a_connect_even_for_a_policy_that_retries_forever():
    policy = policy_preset("seed").with_changes(deadline=20.0, retries_forever=True)
    result = storm(policy, 3_000, 25.0, 1_000, seed=5)
    # Nobody can be back before the 25 s outage ends: all stop before the 20 s deadline.
    assert result.gave_up == 3_000 and result.back == 0
    assert np.nanmax(result.gave_up_at) < 20.0 + DEFAULT_ATTEMPT_S


def test_clients_still_retrying_at_the_horizon_are_still_down():
    policy = policy_preset("seed").with_changes(retries_forever=True)
    result = storm(policy, 5_000, 10.0, 100, seed=1, horizon_s=60.0)
    assert result.still_down > 0 and result.gave_up == 0
    assert result.back + result.still_down == 5_000
    assert result.back == int(result.accepted_per_s.sum()) <= 50 * 100
    assert int(result.attempts.sum()) == result.refused + result.back


# --------------------------------------------------------------------------- the queue
RESCAN_CASES = [(name, forever) for name in policy_preset_names() for forever in (False, True)]


def assert_same_storm(a: StormResult, b: StormResult) -> None:
    for name in ("connect_time", "attempts", "gave_up_at", "accepted_per_s", "refused_per_s"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in (
        "peak_per_s",
        "reconnected_99_s",
        "reconnected_all_s",
        "refused_during_outage",
        "refused_over_capacity",
        "gave_up",
        "still_down",
    ):
        assert getattr(a, name) == getattr(b, name), name


@pytest.mark.parametrize(("name", "forever"), RESCAN_CASES)
def test_calendar_queue_equals_the_rescan_reference(name, forever):
    policy = policy_preset(name).with_changes(retries_forever=forever)
    a = storm(policy, 3_000, 30.0, 200, seed=3)
    b = storm_rescan(policy, 3_000, 30.0, 200, seed=3)
    assert_same_storm(a, b)


@pytest.mark.parametrize(
    ("policy", "kwargs"),
    [
        (policy_preset("seed").with_changes(retries_forever=True), {"attempt_s": 0.0625}),
        (policy_preset("socketio"), {"horizon_s": 80.0}),
        (policy_preset("grpc").with_changes(deadline=90.0), {}),
        (policy_preset("aws-decorrelated").with_changes(max_attempts=9), {}),
    ],
    ids=["fractional-outage", "horizon", "deadline", "decorrelated"],
)
def test_calendar_queue_equals_the_rescan_reference_in_corner_cases(policy, kwargs):
    a = storm(policy, 2_500, 7.3, 150, seed=9, **kwargs)
    b = storm_rescan(policy, 2_500, 7.3, 150, seed=9, **kwargs)
    assert_same_storm(a, b)


def test_draws_depend_on_client_and_attempt_not_on_order():
    key = seed_key(4)
    ids = np.arange(50_000)
    tag = tags(ids, 3)
    u = uniform_draws(key, tag)
    perm = np.random.default_rng(0).permutation(ids.size)
    np.testing.assert_array_equal(uniform_draws(key, tag[perm]), u[perm])
    assert not np.array_equal(uniform_draws(key, tags(ids, 4)), u)
    assert not np.array_equal(uniform_draws(seed_key(5), tag), u)
    # Uniform on [0, 1): mean and a coarse histogram within 5 standard errors.
    n = u.size
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 5 * math.sqrt(1 / 12 / n)
    counts = np.bincount((u * 10).astype(int), minlength=10)
    assert np.all(np.abs(counts - n / 10) < 5 * math.sqrt(n * 0.1 * 0.9))
    # Successive attempts of one client are uncorrelated.
    v = uniform_draws(key, tags(ids, 4))
    assert abs(np.corrcoef(u, v)[0, 1]) < 5 / math.sqrt(n)


def test_grpc_storm_spreads_the_first_retry_where_the_spec_synchronises_it():
    # Waits count from attempt starts. grpc-spec: attempt 1 at exactly 1 s, so with a 1 s
    # outage every client is back at 1 s + attempt_s. grpc (the C-core) jitters that first
    # wait to U(0.8, 1.2) s: those drawn below 1 s are refused and go again 1.6 s later.
    spec = storm(policy_preset("grpc-spec"), 2_000, 1.0, 10_000, seed=1)
    np.testing.assert_allclose(spec.connect_time, 1.0 + DEFAULT_ATTEMPT_S)
    core = storm(policy_preset("grpc"), 2_000, 1.0, 10_000, seed=1)
    second = core.attempts == 2
    first_retry = core.connect_time[second] - DEFAULT_ATTEMPT_S
    assert first_retry.min() >= 1.0 and first_retry.max() < 1.2
    assert np.unique(first_retry).size == first_retry.size  # spread, not synchronised
    share = second.mean()  # P(U(0.8, 1.2) >= 1) = 1/2
    assert abs(share - 0.5) < 5 * math.sqrt(0.25 / 2_000)
    assert (core.attempts[~second] == 3).all()


@pytest.mark.parametrize("name", policy_preset_names())
def test_every_preset_storm_completes(name):
    result = storm(policy_preset(name), 1_000, 10.0, 200, seed=3)
    assert result.back + result.gave_up + result.still_down == 1_000
    assert result.still_down == 0
    assert result.accepted_per_s.max() <= 200
    if result.gave_up == 0:
        assert result.reconnected_all_s is not None


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
        ({"clients": MAX_CLIENTS + 1}, "clients"),
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
    assert a.gave_up == b.gave_up


def test_different_seeds_give_different_results_with_jitter():
    a = storm(policy_preset("seed"), 5_000, 15.0, 300, seed=11)
    b = storm(policy_preset("seed"), 5_000, 15.0, 300, seed=12)
    assert not np.array_equal(a.connect_time, b.connect_time)


@pytest.mark.parametrize("name", policy_preset_names())
def test_the_storms_waits_are_the_schedules(name):
    # One source of truth: the storm's vectorised waits for clients at mixed attempts equal
    # chatconn.core.schedule.jittered_wait called attempt by attempt (the last wait repeating
    # past max_attempts, for clients that retry forever).
    policy = policy_preset(name)
    settings = StormSettings.checked(policy, 10, 0.0, 10, 0, DEFAULT_ATTEMPT_S, 100.0)
    herd = Herd(settings)
    k = np.arange(policy.max_attempts + 3)
    group = Group(np.zeros(k.size), tags(np.arange(k.size), k), np.linspace(1.0, 9.0, k.size))
    u = np.linspace(0.01, 0.99, k.size)
    got = herd._waits(group, u)
    nominal = nominal_waits(policy)
    for i, attempt in enumerate(k.tolist()):
        after = min(attempt, policy.max_attempts - 1)
        want = jittered_wait(policy, after, nominal[after], u[i], group.previous[i])
        assert got[i] == pytest.approx(float(want), rel=1e-12, abs=1e-12), (name, attempt)
