"""RetryPolicy: validation, immutability, serialisation.

Every invalid value must raise ConfigError (a ValueError) naming the field, the value and
the allowed range; unknown names raise UnknownNameError (also a KeyError) listing the
known choices.
"""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatconn.core.errors import ChatconnError, ConfigError, UnknownNameError
from chatconn.core.policy import JitterMode, RetryPolicy, WaitAnchor
from chatconn.core.presets import policy_preset, policy_preset_names
from chatconn.core.strategies import Strategy

POSITIVE_SECONDS_FIELDS = (
    "base_timeout",
    "max_timeout",
    "extended_timeout",
    "initial_delay",
    "max_delay",
    "deadline",
)
NOT_POSITIVE_FINITE = (0, 0.0, -1.0, -1e-9, math.nan, math.inf, -math.inf)


def _same_value(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _assert_names(exc: ConfigError, field: str, value: object, *allowed_words: str) -> None:
    """The error names the field, the value and the allowed range."""
    message = str(exc)
    assert exc.field == field
    assert _same_value(exc.value, value)
    assert message.startswith(f"{field}=")
    assert repr(exc.value) in message
    for word in allowed_words:
        assert word in message, (word, message)


# ----------------------------------------------------------------- defaults
def test_default_policy_is_the_seed_policy_of_the_docstring():
    policy = RetryPolicy()
    assert policy.base_timeout == 15.0
    assert policy.timeout_growth == 1.4
    assert policy.max_timeout == 90.0
    assert policy.extended_timeout == 120.0
    assert policy.max_attempts == 6
    assert policy.initial_delay == 1.0
    assert policy.multiplier == 1.4
    assert policy.max_delay == 30.0
    assert policy.jitter == 0.4
    assert policy.jitter_mode is JitterMode.PROPORTIONAL
    assert policy.wait_from is WaitAnchor.FAILURE
    assert policy.cap_after_jitter is False
    assert policy.deadline is None
    assert policy.delays is None


# ----------------------------------------------------------------- positive seconds
@pytest.mark.parametrize("field", POSITIVE_SECONDS_FIELDS)
@pytest.mark.parametrize("value", NOT_POSITIVE_FINITE)
def test_non_positive_or_non_finite_seconds_are_rejected_naming_field_value_and_range(field, value):
    with pytest.raises(ConfigError) as info:
        RetryPolicy(**{field: value})
    _assert_names(info.value, field, float(value), "> 0", "finite")


@pytest.mark.parametrize("field", POSITIVE_SECONDS_FIELDS)
@pytest.mark.parametrize("value", ["15", True, [1.0]])
def test_seconds_of_the_wrong_type_are_rejected(field, value):
    with pytest.raises(ConfigError) as info:
        RetryPolicy(**{field: value})
    assert info.value.field == field
    assert field in str(info.value)


@pytest.mark.parametrize("field", [f for f in POSITIVE_SECONDS_FIELDS if f != "deadline"])
def test_none_is_not_a_number_of_seconds(field):
    with pytest.raises(ConfigError) as info:
        RetryPolicy(**{field: None})
    assert info.value.field == field


def test_deadline_none_means_no_deadline_and_a_positive_deadline_is_kept():
    assert RetryPolicy(deadline=None).deadline is None
    assert RetryPolicy(deadline=45).deadline == 45.0


def test_config_error_is_a_value_error_and_a_chatconn_error():
    with pytest.raises(ValueError) as info:
        RetryPolicy(base_timeout=-1)
    assert isinstance(info.value, ChatconnError)
    assert isinstance(info.value, ConfigError)


def test_max_timeout_below_base_timeout_is_rejected():
    with pytest.raises(ConfigError) as info:
        RetryPolicy(base_timeout=20.0, max_timeout=10.0)
    _assert_names(info.value, "max_timeout", 10.0, ">= base_timeout", "20.0")


def test_max_timeout_equal_to_base_timeout_is_accepted():
    assert RetryPolicy(base_timeout=20.0, max_timeout=20.0).max_timeout == 20.0


def test_max_delay_below_initial_delay_is_rejected():
    with pytest.raises(ConfigError) as info:
        RetryPolicy(initial_delay=5.0, max_delay=2.0)
    _assert_names(info.value, "max_delay", 2.0, ">= initial_delay", "5.0")


def test_max_delay_equal_to_initial_delay_is_accepted():
    assert RetryPolicy(initial_delay=5.0, max_delay=5.0).max_delay == 5.0


# ----------------------------------------------------------------- growth factors
@pytest.mark.parametrize("field", ["multiplier", "timeout_growth"])
@pytest.mark.parametrize("value", [0.999, 0.5, 0.0, -2.0, math.nan, math.inf])
def test_growth_factors_below_one_or_non_finite_are_rejected(field, value):
    with pytest.raises(ConfigError) as info:
        RetryPolicy(**{field: value})
    _assert_names(info.value, field, value, ">= 1")


@pytest.mark.parametrize("field", ["multiplier", "timeout_growth"])
def test_growth_factor_of_exactly_one_is_accepted(field):
    assert getattr(RetryPolicy(**{field: 1}), field) == 1.0


@pytest.mark.parametrize("field", ["multiplier", "timeout_growth"])
@pytest.mark.parametrize("value", [True, "2", None])
def test_growth_factors_of_the_wrong_type_are_rejected(field, value):
    with pytest.raises(ConfigError) as info:
        RetryPolicy(**{field: value})
    assert info.value.field == field


# ----------------------------------------------------------------- jitter
@pytest.mark.parametrize("value", [-0.01, 1.01, 2.0, -math.inf, math.inf, math.nan])
def test_jitter_outside_zero_one_or_nan_is_rejected(value):
    with pytest.raises(ConfigError) as info:
        RetryPolicy(jitter=value)
    _assert_names(info.value, "jitter", value, "[0, 1]")


@pytest.mark.parametrize("value", [0, 0.0, 0.5, 1, 1.0])
def test_jitter_on_the_closed_interval_is_accepted(value):
    policy = RetryPolicy(jitter=value)
    assert policy.jitter == float(value)
    assert isinstance(policy.jitter, float)


@pytest.mark.parametrize("value", [True, False, "0.4"])
def test_jitter_of_the_wrong_type_is_rejected(value):
    with pytest.raises(ConfigError) as info:
        RetryPolicy(jitter=value)
    assert info.value.field == "jitter"


# ----------------------------------------------------------------- max_attempts
@pytest.mark.parametrize("value", [0, -1, -100])
def test_max_attempts_below_one_is_rejected(value):
    with pytest.raises(ConfigError) as info:
        RetryPolicy(max_attempts=value)
    _assert_names(info.value, "max_attempts", value, "whole number", "[1,")


@pytest.mark.parametrize("value", [2.5, 0.5, "3", None, math.nan])
def test_non_integer_max_attempts_is_rejected(value):
    with pytest.raises(ConfigError) as info:
        RetryPolicy(max_attempts=value)
    _assert_names(info.value, "max_attempts", value, "whole number")


@pytest.mark.parametrize("value", [True, False])
def test_bool_max_attempts_is_rejected(value):
    with pytest.raises(ConfigError) as info:
        RetryPolicy(max_attempts=value)
    _assert_names(info.value, "max_attempts", value, "whole number")


def test_max_attempts_of_one_is_accepted():
    assert RetryPolicy(max_attempts=1).max_attempts == 1


# ----------------------------------------------------------------- enums and names
@pytest.mark.parametrize(
    ("field", "enum"),
    [
        ("jitter_mode", JitterMode),
        ("first_delay_jitter", JitterMode),
        ("wait_from", WaitAnchor),
    ],
)
def test_unknown_mode_names_raise_unknown_name_error_listing_known_names(field, enum):
    with pytest.raises(UnknownNameError) as info:
        RetryPolicy(**{field: "sometimes"})
    exc = info.value
    assert isinstance(exc, KeyError)
    assert isinstance(exc, ValueError)
    assert exc.field == field
    assert exc.value == "sometimes"
    message = str(exc)
    assert "sometimes" in message
    assert set(exc.known) == {m.value for m in enum}
    for member in enum:
        assert member.value in message


@pytest.mark.parametrize(
    ("field", "text", "member"),
    [
        ("jitter_mode", "full", JitterMode.FULL),
        ("jitter_mode", " decorrelated ", JitterMode.DECORRELATED),
        ("first_delay_jitter", "equal", JitterMode.EQUAL),
        ("wait_from", "start", WaitAnchor.START),
    ],
)
def test_mode_names_given_as_strings_become_enum_members(field, text, member):
    assert getattr(RetryPolicy(**{field: text}), field) is member


def test_unknown_strategy_in_ladder_raises_unknown_name_error_listing_strategies():
    with pytest.raises(UnknownNameError) as info:
        RetryPolicy(ladder=("direct_websocket", "carrier_pigeon"))
    message = str(info.value)
    assert "carrier_pigeon" in message
    for strategy in Strategy:
        assert strategy.value in message
    assert set(info.value.known) == {s.value for s in Strategy}


def test_ladder_from_a_comma_separated_string():
    policy = RetryPolicy(ladder="direct_websocket, long_polling")
    assert policy.ladder == (Strategy.DIRECT_WEBSOCKET, Strategy.LONG_POLLING)


def test_empty_ladder_is_rejected():
    with pytest.raises(ConfigError) as info:
        RetryPolicy(ladder=())
    assert info.value.field == "ladder"


@pytest.mark.parametrize("field", ["timeout_spans_backoff", "cap_after_jitter"])
@pytest.mark.parametrize("value", [1, 0, "yes", None])
def test_boolean_switches_accept_only_bools(field, value):
    with pytest.raises(ConfigError) as info:
        RetryPolicy(**{field: value})
    assert info.value.field == field
    assert "true or false" in str(info.value)


# ----------------------------------------------------------------- delays table and first_delay
def test_delays_table_too_short_for_max_attempts_is_rejected():
    with pytest.raises(ConfigError) as info:
        RetryPolicy(delays=(0.0, 2.0), max_attempts=4)
    _assert_names(info.value, "max_attempts", 4, "2 delays", "at most 3 attempts")


def test_delays_table_just_long_enough_is_accepted():
    policy = RetryPolicy(delays=(0, 2, 10), max_attempts=4)
    assert policy.delays == (0.0, 2.0, 10.0)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, "2", True])
def test_delays_table_entries_must_be_non_negative_finite_seconds(bad):
    with pytest.raises(ConfigError) as info:
        RetryPolicy(delays=(1.0, bad, 3.0), max_attempts=3)
    assert info.value.field == "delays"


def test_empty_delays_table_is_rejected():
    with pytest.raises(ConfigError) as info:
        RetryPolicy(delays=(), max_attempts=1)
    assert info.value.field == "delays"


def test_first_delay_together_with_delays_is_rejected():
    with pytest.raises(ConfigError) as info:
        RetryPolicy(delays=(1.0, 2.0), max_attempts=3, first_delay=0.5)
    _assert_names(info.value, "first_delay", 0.5, "delays")


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf])
def test_first_delay_must_be_non_negative_and_finite(bad):
    with pytest.raises(ConfigError) as info:
        RetryPolicy(first_delay=bad)
    _assert_names(info.value, "first_delay", bad, ">= 0")


def test_first_delay_of_zero_is_accepted():
    assert RetryPolicy(first_delay=0).first_delay == 0.0


# ----------------------------------------------------------------- immutability
@pytest.mark.parametrize(
    ("field", "value"), [("base_timeout", 3.0), ("jitter", 0.1), ("ladder", ())]
)
def test_policy_is_frozen(field, value):
    policy = RetryPolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(policy, field, value)
    assert getattr(policy, field) == getattr(RetryPolicy(), field)


def test_policy_is_hashable_and_compares_by_value():
    assert RetryPolicy(jitter=0.2) == RetryPolicy(jitter=0.2)
    assert hash(RetryPolicy(jitter=0.2)) == hash(RetryPolicy(jitter=0.2))
    assert RetryPolicy(jitter=0.2) != RetryPolicy(jitter=0.3)


# ----------------------------------------------------------------- helpers
def test_strategy_for_repeats_the_last_rung():
    policy = RetryPolicy(ladder=("direct_websocket", "long_polling"), max_attempts=5)
    assert policy.strategies == (
        Strategy.DIRECT_WEBSOCKET,
        Strategy.LONG_POLLING,
        Strategy.LONG_POLLING,
        Strategy.LONG_POLLING,
        Strategy.LONG_POLLING,
    )
    with pytest.raises(ConfigError):
        policy.strategy_for(-1)


# ----------------------------------------------------------------- serialisation
@pytest.mark.parametrize("name", policy_preset_names())
def test_to_dict_from_dict_round_trip_through_json(name):
    policy = policy_preset(name).with_changes(deadline=123.0)
    data = policy.to_dict()
    assert set(data) == set(RetryPolicy.field_names())
    restored = RetryPolicy.from_dict(json.loads(json.dumps(data)))
    assert restored == policy


def test_to_dict_gives_plain_values():
    data = RetryPolicy(delays=(0.0, 2.0), max_attempts=3, jitter_mode="none").to_dict()
    assert data["jitter_mode"] == "none"
    assert data["wait_from"] == "failure"
    assert data["delays"] == [0.0, 2.0]
    assert data["ladder"][:3] == ["direct_websocket", "direct_websocket", "extended_timeout"]
    assert data["diagnostics"]["enabled"] is False
    assert data["diagnostics"]["skip_on_firewall"][0] == "direct_websocket"
    plain = (str, float, int, bool, list, dict, type(None))
    assert all(type(v) in plain for v in data.values())
    assert all(type(v) in plain for v in data["diagnostics"].values())


def test_from_dict_rejects_unknown_keys():
    data = RetryPolicy().to_dict()
    data["retries"] = 3
    with pytest.raises(UnknownNameError) as info:
        RetryPolicy.from_dict(data)
    assert "retries" in str(info.value)
    assert "max_attempts" in str(info.value)


def test_from_dict_validates():
    data = RetryPolicy().to_dict()
    data["jitter"] = 3.0
    with pytest.raises(ConfigError) as info:
        RetryPolicy.from_dict(data)
    assert info.value.field == "jitter"


def test_with_changes_returns_a_changed_copy_and_leaves_the_original():
    policy = RetryPolicy()
    changed = policy.with_changes(jitter=0.1, max_attempts=3)
    assert (changed.jitter, changed.max_attempts) == (0.1, 3)
    assert (policy.jitter, policy.max_attempts) == (0.4, 6)


def test_with_changes_validates():
    with pytest.raises(ConfigError) as info:
        RetryPolicy().with_changes(max_delay=0.5, initial_delay=1.0)
    assert info.value.field == "max_delay"
    with pytest.raises(UnknownNameError):
        RetryPolicy().with_changes(jitter_mode="wobbly")


def test_with_changes_rejects_unknown_fields_listing_the_known_ones():
    with pytest.raises(UnknownNameError) as info:
        RetryPolicy().with_changes(retries=3)
    message = str(info.value)
    assert "retries" in message
    for name in RetryPolicy.field_names():
        assert name in message


# ----------------------------------------------------------------- hypothesis
positive = st.floats(min_value=1e-3, max_value=1e4, allow_nan=False, allow_infinity=False)
factor = st.floats(min_value=1.0, max_value=10.0, allow_nan=False)
unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def valid_kwargs(draw):
    base = draw(positive)
    initial = draw(positive)
    kwargs = {
        "base_timeout": base,
        "max_timeout": base + draw(st.floats(min_value=0.0, max_value=1e4)),
        "timeout_growth": draw(factor),
        "extended_timeout": draw(positive),
        "timeout_spans_backoff": draw(st.booleans()),
        "max_attempts": draw(st.integers(min_value=1, max_value=1000)),
        "initial_delay": initial,
        "multiplier": draw(factor),
        "max_delay": initial + draw(st.floats(min_value=0.0, max_value=1e4)),
        "jitter": draw(unit),
        "jitter_mode": draw(st.sampled_from(list(JitterMode))),
        "first_delay_jitter": draw(st.sampled_from([m.value for m in JitterMode])),
        "cap_after_jitter": draw(st.booleans()),
        "wait_from": draw(st.sampled_from(list(WaitAnchor))),
        "deadline": draw(st.none() | positive),
        "ladder": tuple(draw(st.lists(st.sampled_from(list(Strategy)), min_size=1, max_size=6))),
    }
    if draw(st.booleans()):
        kwargs["first_delay"] = draw(st.floats(min_value=0.0, max_value=1e3))
    elif draw(st.booleans()):
        kwargs["delays"] = tuple(
            draw(
                st.lists(
                    st.floats(min_value=0.0, max_value=1e3),
                    min_size=max(1, kwargs["max_attempts"] - 1),
                    max_size=max(1, kwargs["max_attempts"] - 1) + 3,
                )
            )
        )
    return kwargs


@settings(deadline=None, max_examples=150)
@given(valid_kwargs())
def test_random_valid_parameters_construct_and_read_back(kwargs):
    policy = RetryPolicy(**kwargs)
    for name, value in kwargs.items():
        got = getattr(policy, name)
        if name == "ladder":
            assert got == tuple(Strategy(v) for v in value)
        elif name in ("jitter_mode", "first_delay_jitter"):
            assert got is JitterMode(value)
        elif name == "wait_from":
            assert got is WaitAnchor(value)
        elif name == "delays":
            assert got == tuple(float(v) for v in value)
        else:
            assert got == value
    assert RetryPolicy.from_dict(policy.to_dict()) == policy


# field -> a strategy of values that are invalid for it whatever the other fields are
INVALID = {
    "base_timeout": st.sampled_from([0.0, -1.0, math.nan, math.inf]) | st.floats(max_value=0),
    "max_timeout": st.sampled_from([0.0, -5.0, math.nan, math.inf]),
    "extended_timeout": st.floats(max_value=0) | st.sampled_from([math.nan, math.inf]),
    "initial_delay": st.floats(max_value=0) | st.sampled_from([math.nan, math.inf]),
    "max_delay": st.floats(max_value=0) | st.sampled_from([math.nan, math.inf]),
    "timeout_growth": st.floats(max_value=1.0, exclude_max=True) | st.just(math.nan),
    "multiplier": st.floats(max_value=1.0, exclude_max=True) | st.just(math.inf),
    "jitter": st.floats(min_value=1.0, exclude_min=True)
    | st.floats(max_value=0.0, exclude_max=True)
    | st.just(math.nan),
    "max_attempts": st.integers(max_value=0)
    | st.integers(min_value=1001)
    | st.floats(allow_nan=True)
    | st.booleans(),
    "deadline": st.floats(max_value=0) | st.sampled_from([math.nan, -math.inf, math.inf]),
    "jitter_mode": st.text(min_size=1).filter(lambda s: s.strip() not in set(JitterMode)),
    "wait_from": st.text(min_size=1).filter(lambda s: s.strip() not in set(WaitAnchor)),
    "timeout_spans_backoff": st.integers() | st.none(),
}


@settings(deadline=None, max_examples=200)
@given(valid_kwargs(), st.sampled_from(sorted(INVALID)), st.data())
def test_random_invalid_parameters_raise_naming_the_field(kwargs, field, data):
    kwargs = dict(kwargs)
    kwargs.pop("delays", None)  # a table ties max_attempts to its length; keep one cause
    bad = data.draw(INVALID[field])
    kwargs[field] = bad
    with pytest.raises(ConfigError) as info:
        RetryPolicy(**kwargs)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}=")
