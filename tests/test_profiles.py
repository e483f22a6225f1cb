"""Network profiles and populations: validation, presets, splitting and lookup."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatconn.core.errors import ChatconnError, ConfigError, UnknownNameError
from chatconn.core.model import SessionConditions, attempt_outcome
from chatconn.core.profiles import (
    FaultMode,
    NetworkProfile,
    Outage,
    Population,
    load_target,
    population_names,
    population_preset,
    profile_names,
    profile_preset,
)
from chatconn.core.strategies import ErrorCategory, Strategy

REQUIRED_PROFILES = (
    "fiber",
    "broadband",
    "4g",
    "3g",
    "satellite",
    "intercontinental",
    "flaky-wifi",
    "corporate-firewall",
    "server-down",
    "blackhole",
)

# A bracketed numeric interval such as "[0.0, 1.0]" or "(0.0, 60.0]".
_RANGE = re.compile(r"[\[(]\s*-?[\d.e+-]+\s*,\s*-?[\d.e+-]+\s*[\])]")


def _assert_names_field_value_range(exc: ConfigError, field: str, value: float) -> None:
    message = str(exc)
    assert exc.field == field
    assert field in message
    assert repr(float(value)) in message
    assert _RANGE.search(message), message


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rtt_median_s", 0.0),
        ("rtt_median_s", -0.01),
        ("rtt_median_s", 1e6),
        ("rtt_median_s", math.nan),
        ("rtt_median_s", math.inf),
        ("rtt_sigma", -0.1),
        ("rtt_sigma", 100.0),
        ("rtt_sigma", math.nan),
        ("loss", -0.01),
        ("loss", 1.5),
        ("stall_probability", -0.1),
        ("stall_probability", 1.1),
        ("reset_probability", -0.1),
        ("reset_probability", 1.1),
        ("ws_blocked_share", -0.5),
        ("ws_blocked_share", 2.0),
        ("blocked_ports_share", -0.5),
        ("blocked_ports_share", 1.01),
        ("auth_s", -1.0),
        ("sync_s", -1.0),
    ],
)
def test_out_of_range_number_raises_config_error_naming_field_value_and_range(field, value):
    with pytest.raises(ConfigError) as info:
        NetworkProfile("p", **{field: value})
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, ChatconnError)
    _assert_names_field_value_range(info.value, field, value)


@pytest.mark.parametrize("field", ["rtt_median_s", "loss", "stall_probability", "auth_s"])
@pytest.mark.parametrize("value", ["0.1", None, True])
def test_non_numeric_values_raise_config_error(field, value):
    with pytest.raises(ConfigError) as info:
        NetworkProfile("p", **{field: value})
    assert info.value.field == field
    assert field in str(info.value)


def test_stall_plus_reset_above_one_raises_naming_both():
    with pytest.raises(ConfigError) as info:
        NetworkProfile("p", stall_probability=0.6, reset_probability=0.5)
    message = str(info.value)
    assert "stall_probability" in message
    assert "reset_probability" in message
    assert "1" in message


def test_stall_plus_reset_exactly_one_is_allowed():
    profile = NetworkProfile("p", stall_probability=0.5, reset_probability=0.5)
    assert profile.stall_probability + profile.reset_probability == 1.0


@pytest.mark.parametrize("name", ["", "   ", None, 3])
def test_empty_or_non_string_name_raises(name):
    with pytest.raises(ConfigError) as info:
        NetworkProfile(name)
    assert info.value.field == "name"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ws_block_mode", "explode"),
        ("ws_block_mode", "refuse"),  # a proxy blocking upgrades does not refuse the TCP port
        ("port_block_mode", "reset"),
        ("port_block_mode", "forbidden"),
        ("port_block_mode", "nonsense"),
    ],
)
def test_unknown_fault_mode_raises_unknown_name_error_listing_choices(field, value):
    with pytest.raises(UnknownNameError) as info:
        NetworkProfile("p", **{field: value})
    exc = info.value
    assert isinstance(exc, ConfigError)
    assert isinstance(exc, KeyError)
    assert field in str(exc)
    assert value in str(exc)
    assert exc.known  # the allowed modes are listed
    for known in exc.known:
        assert known in str(exc)
    assert value not in exc.known


def test_fault_modes_given_as_strings_become_enum_members():
    profile = NetworkProfile("p", ws_block_mode="forbidden", port_block_mode="refuse")
    assert profile.ws_block_mode is FaultMode.FORBIDDEN
    assert profile.port_block_mode is FaultMode.REFUSE


@pytest.mark.parametrize("ports", [{3}, {0, 5}, {-1}, {80}])
def test_unknown_blocked_port_roles_raise(ports):
    with pytest.raises(ConfigError) as info:
        NetworkProfile("p", blocked_ports=frozenset(ports), blocked_ports_share=1.0)
    assert info.value.field == "blocked_ports"
    assert "blocked_ports" in str(info.value)


def test_known_port_roles_are_accepted_as_frozenset():
    profile = NetworkProfile("p", blocked_ports={0, 1, 2}, blocked_ports_share=1.0)
    assert profile.blocked_ports == frozenset({0, 1, 2})
    assert isinstance(profile.blocked_ports, frozenset)


@pytest.mark.parametrize(("start", "end"), [(5.0, 5.0), (5.0, 4.0), (5.0, math.nan), (0.0, -1.0)])
def test_outage_end_not_after_start_raises(start, end):
    with pytest.raises(ConfigError) as info:
        Outage(start, end)
    assert info.value.field == "outage.end_s"
    assert "end_s" in str(info.value)


@pytest.mark.parametrize("start", [-1.0, math.nan, math.inf])
def test_outage_invalid_start_raises(start):
    with pytest.raises(ConfigError) as info:
        Outage(start, math.inf)
    assert info.value.field == "outage.start_s"


def test_outage_may_last_forever_and_rejects_non_server_modes():
    assert Outage(0.0, math.inf).end_s == math.inf
    with pytest.raises(UnknownNameError):
        Outage(0.0, 1.0, "forbidden")


def test_outages_given_as_tuples_are_validated_and_sorted_by_start():
    profile = NetworkProfile("p", outages=((50.0, 60.0), (10.0, 20.0, "hang")))
    assert [o.start_s for o in profile.outages] == [10.0, 50.0]
    assert all(isinstance(o, Outage) for o in profile.outages)
    assert profile.outages[0].mode is FaultMode.HANG
    with pytest.raises(ConfigError):
        NetworkProfile("p", outages=((10.0, 5.0),))


def test_profiles_are_immutable_and_with_changes_validates():
    profile = profile_preset("4g")
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.loss = 0.5  # type: ignore[misc]
    changed = profile.with_changes(loss=0.2)
    assert changed.loss == 0.2
    assert profile.loss != 0.2
    with pytest.raises(ConfigError):
        profile.with_changes(loss=2.0)
    with pytest.raises(UnknownNameError) as info:
        profile.with_changes(latency=1.0)
    assert "latency" in str(info.value)


def test_transfer_time_follows_bytes_and_bandwidth():
    # 10_000 bytes = 80_000 bits at 800 kbit/s = 0.1 s.
    profile = NetworkProfile("p", sync_bytes=10_000, bandwidth_kbps=800)
    assert profile.transfer_s == pytest.approx(0.1)
    assert NetworkProfile("p", bandwidth_kbps=None).transfer_s == 0.0


# --------------------------------------------------------------------------- presets


def test_every_required_profile_preset_exists():
    names = profile_names()
    for name in REQUIRED_PROFILES:
        assert name in names
        profile = profile_preset(name)
        assert isinstance(profile, NetworkProfile)
        assert profile.name == name
        assert profile.description


def test_unknown_profile_preset_lists_known_names():
    with pytest.raises(UnknownNameError) as info:
        profile_preset("moon-base")
    assert "moon-base" in str(info.value)
    for name in REQUIRED_PROFILES:
        assert name in str(info.value)


def _one_attempt(profile, strategy, *, start=0.0, timeout=1000.0, sessions=64, seed=0):
    """One attempt per session, with conditions drawn the way the profile says."""
    rng = np.random.default_rng(seed)
    rtt = rng.lognormal(math.log(profile.rtt_median_s), profile.rtt_sigma, sessions)
    proxy = rng.random(sessions) < profile.ws_blocked_share
    ports = rng.random(sessions) < profile.blocked_ports_share
    conditions = SessionConditions(rtt, proxy, ports)
    # Draws far above every loss/stall/reset probability: only structural rules act.
    high = np.full(sessions, 0.999)
    return rtt, attempt_outcome(profile, strategy, start, timeout, conditions, high, high)


def test_corporate_firewall_puts_every_session_behind_a_websocket_blocking_proxy():
    profile = profile_preset("corporate-firewall")
    assert profile.ws_blocked_share == 1.0
    assert not profile.outages
    for strategy in Strategy:
        _, outcome = _one_attempt(profile, strategy)
        if strategy.uses_websocket:
            assert not outcome.connected.any(), strategy
        else:
            assert outcome.connected.all(), strategy


def test_server_down_refuses_every_attempt_at_any_time():
    profile = profile_preset("server-down")
    for strategy in Strategy:
        for start in (0.0, 1.0, 3600.0, 1e9):
            rtt, outcome = _one_attempt(profile, strategy, start=start)
            assert not outcome.connected.any()
            assert (outcome.error == ErrorCategory.REFUSED).all()
            assert outcome.duration == pytest.approx(rtt)  # refused after about 1 RTT


def test_blackhole_hangs_every_attempt_until_its_timeout():
    profile = profile_preset("blackhole")
    for strategy in Strategy:
        for start in (0.0, 17.0, 1e9):
            _, outcome = _one_attempt(profile, strategy, start=start, timeout=12.5)
            assert not outcome.connected.any()
            assert (outcome.error == ErrorCategory.TIMEOUT).all()
            assert (outcome.duration == 12.5).all()


@pytest.mark.parametrize(
    "name",
    ["fiber", "broadband", "4g", "3g", "satellite", "intercontinental", "flaky-wifi"],
)
def test_ordinary_access_profiles_connect_when_no_random_fault_hits(name):
    profile = profile_preset(name)
    for strategy in Strategy:
        _, outcome = _one_attempt(profile, strategy)
        assert outcome.connected.all(), (name, strategy)


def test_presets_are_ordered_by_latency_as_their_descriptions_suggest():
    rtt = {name: profile_preset(name).rtt_median_s for name in REQUIRED_PROFILES}
    assert rtt["fiber"] < rtt["broadband"] < rtt["4g"] < rtt["3g"] < rtt["satellite"]
    assert rtt["intercontinental"] > rtt["broadband"]


# --------------------------------------------------------------------------- populations


def test_population_normalises_weights_to_shares():
    a, b, c = (profile_preset(n) for n in ("fiber", "3g", "4g"))
    population = Population("mix", ((a, 5), (b, 3), (c, 2)))
    assert population.shares == pytest.approx((0.5, 0.3, 0.2))
    assert sum(population.shares) == pytest.approx(1.0)
    assert population.profiles == (a, b, c)


@pytest.mark.parametrize("name", ["global-users", "mobile-users"])
def test_preset_populations_have_shares_summing_to_one(name):
    population = population_preset(name)
    assert name in population_names()
    assert sum(population.shares) == pytest.approx(1.0)
    assert all(share > 0 for share in population.shares)


@pytest.mark.parametrize("weight", [0, -1, math.nan, math.inf, "1"])
def test_population_rejects_invalid_weights(weight):
    with pytest.raises(ConfigError):
        Population("mix", ((profile_preset("fiber"), 1), (profile_preset("3g"), weight)))


def test_population_rejects_empty_and_non_profile_components():
    with pytest.raises(ConfigError):
        Population("mix", ())
    with pytest.raises(ConfigError):
        Population("mix", (("fiber", 1.0),))


def test_split_gives_leftover_sessions_by_largest_remainder():
    a, b, c = (profile_preset(n) for n in ("fiber", "3g", "4g"))
    # Shares 0.5 / 0.3 / 0.2 of 7 sessions: 3.5, 2.1, 1.4 -> floors 3, 2, 1 (6);
    # the one leftover goes to the largest remainder (0.5).
    assert Population("mix", ((a, 5), (b, 3), (c, 2))).split(7) == (4, 2, 1)
    # Equal remainders: the leftover goes to components in order.
    assert Population("mix", ((a, 1), (b, 1), (c, 1))).split(10) == (4, 3, 3)
    assert Population("mix", ((a, 1), (b, 1), (c, 1))).split(11) == (4, 4, 3)
    assert Population("mix", ((a, 1), (b, 1))).split(0) == (0, 0)


@settings(max_examples=200, deadline=None)
@given(
    weights=st.lists(st.floats(0.001, 1000.0), min_size=1, max_size=8),
    sessions=st.integers(0, 10**7),
)
def test_split_sums_to_sessions_and_is_proportional(weights, sessions):
    profiles = [NetworkProfile(f"p{i}") for i in range(len(weights))]
    population = Population("mix", tuple(zip(profiles, weights, strict=True)))
    counts = population.split(sessions)
    assert len(counts) == len(weights)
    assert sum(counts) == sessions
    exact = [share * sessions for share in population.shares]
    extra = []
    for count, x in zip(counts, exact, strict=True):
        assert isinstance(count, int)
        assert math.floor(x) <= count <= math.floor(x) + 1
        extra.append(count - math.floor(x))
    # Largest remainder: every component that got a leftover session had a remainder at
    # least as large as every component that did not.
    remainders = [x - math.floor(x) for x in exact]
    got = [r for r, e in zip(remainders, extra, strict=True) if e]
    missed = [r for r, e in zip(remainders, extra, strict=True) if not e]
    if got and missed:
        assert min(got) >= max(missed)


# --------------------------------------------------------------------------- lookup, dicts


def test_load_target_finds_profiles_and_populations():
    assert load_target("3g") is profile_preset("3g")
    assert isinstance(load_target("3g"), NetworkProfile)
    assert load_target("global-users") is population_preset("global-users")
    assert isinstance(load_target("mobile-users"), Population)


def test_load_target_miss_lists_profiles_and_populations():
    with pytest.raises(UnknownNameError) as info:
        load_target("atlantis")
    message = str(info.value)
    assert "atlantis" in message
    for name in (*profile_names(), *population_names()):
        assert name in message
        assert name in info.value.known


def test_unknown_population_preset_raises():
    with pytest.raises(UnknownNameError) as info:
        population_preset("martians")
    assert "global-users" in str(info.value)


@pytest.mark.parametrize("name", profile_names())
def test_profile_to_dict_is_strict_json(name):
    profile = profile_preset(name)
    data = profile.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert set(json.loads(text)) == {f.name for f in dataclasses.fields(NetworkProfile)}
    assert data["name"] == name


def test_profile_to_dict_writes_enums_ports_and_open_ended_outages_as_json_values():
    data = json.loads(json.dumps(profile_preset("server-down").to_dict(), allow_nan=False))
    assert data["outages"] == [{"start_s": 0.0, "end_s": "inf", "mode": "refuse"}]
    firewall = profile_preset("corporate-firewall").to_dict()
    assert firewall["ws_block_mode"] == "hang"
    assert firewall["blocked_ports"] == [1, 2]


@pytest.mark.parametrize("name", population_names())
def test_population_to_dict_is_strict_json(name):
    population = population_preset(name)
    data = json.loads(json.dumps(population.to_dict(), allow_nan=False))
    assert data["name"] == name
    assert [c["profile"] for c in data["components"]] == [p.name for p in population.profiles]
    assert sum(c["share"] for c in data["components"]) == pytest.approx(1.0)
