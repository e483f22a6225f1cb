"""Published retry policies: each constructs, cites its source and matches it.

Expected numbers are taken from the sources the presets cite (quoted in their docstrings):
grpc/grpc doc/connection-backoff.md, websockets 17.4 client.py, botocore 1.44.8
retries/standard.py, the AWS backoff simulator, socket.io-client 4.8.4 backo2,
@microsoft/signalr 10.0.11 DefaultReconnectPolicy.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from chatconn.core.errors import UnknownNameError
from chatconn.core.policy import JitterMode, RetryPolicy, WaitAnchor
from chatconn.core.presets import POLICY_PRESETS, policy_preset, policy_preset_names
from chatconn.core.schedule import Schedule, draw_waits
from chatconn.core.strategies import Strategy

# name -> words its docstring must contain to cite its source (project, version/doc, file/symbol)
CITATIONS = {
    "seed": ("connection manager",),
    "grpc": ("grpc/grpc", "doc/connection-backoff.md"),
    "websockets": ("websockets", "17.4", "client.py", "backoff()"),
    "aws-standard": ("botocore", "1.44.8", "retries/standard.py"),
    "aws-decorrelated": (
        "Exponential Backoff And Jitter",
        "aws-arch-backoff-simulator",
        "ExpoBackoffDecorr",
    ),
    "socketio": ("socket.io-client", "4.8.4", "backo2"),
    "signalr": ("@microsoft/signalr", "10.0.11", "DefaultReconnectPolicy"),
    "stream-chat": ("stream-chat", "9.53.0", "src/utils.ts", "retryInterval", "connection.ts"),
}


def test_the_preset_names():
    assert set(policy_preset_names()) == set(CITATIONS)
    assert tuple(POLICY_PRESETS) == policy_preset_names()


@pytest.mark.parametrize("name", sorted(CITATIONS))
def test_every_preset_constructs_a_fresh_valid_policy(name):
    policy = policy_preset(name)
    assert isinstance(policy, RetryPolicy)
    assert policy == POLICY_PRESETS[name]()
    assert RetryPolicy.from_dict(policy.to_dict()) == policy


@pytest.mark.parametrize("name", sorted(CITATIONS))
def test_every_preset_cites_its_source_in_its_docstring(name):
    doc = POLICY_PRESETS[name].__doc__
    assert doc and doc.strip()
    for word in CITATIONS[name]:
        assert word in doc, (name, word)


def test_unknown_preset_raises_unknown_name_error_listing_the_names():
    with pytest.raises(UnknownNameError) as info:
        policy_preset("nope")
    message = str(info.value)
    assert "nope" in message
    for name in policy_preset_names():
        assert name in message
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, ValueError)


# ----------------------------------------------------------------- seed
def test_seed_ladder():
    policy = policy_preset("seed")
    assert policy.ladder == (
        Strategy.DIRECT_WEBSOCKET,
        Strategy.DIRECT_WEBSOCKET,
        Strategy.EXTENDED_TIMEOUT,
        Strategy.MULTIPLE_PORTS,
        Strategy.LONG_POLLING,
        Strategy.SSE_FALLBACK,
    )
    assert policy.strategies == policy.ladder
    assert policy.strategy_for(9) is Strategy.SSE_FALLBACK


def test_seed_is_the_default_policy():
    assert policy_preset("seed") == RetryPolicy()


@pytest.mark.parametrize("name", sorted(set(CITATIONS) - {"seed", "aws-decorrelated"}))
def test_library_presets_retry_over_websocket_only(name):
    assert policy_preset(name).ladder == (Strategy.DIRECT_WEBSOCKET,)


# ----------------------------------------------------------------- aws
def test_aws_standard_parameters_are_botocore_non_throttling():
    policy = policy_preset("aws-standard")
    assert policy.jitter_mode is JitterMode.FULL
    assert policy.initial_delay == 0.05
    assert policy.multiplier == 2.0
    assert policy.max_delay == 20.0
    assert policy.max_attempts == 3
    assert policy.cap_after_jitter is False
    assert policy.base_timeout == 60.0  # botocore connect_timeout


def test_aws_standard_drawn_waits_are_full_jitter_of_50ms_then_100ms():
    waits = draw_waits(policy_preset("aws-standard"), np.random.default_rng(31), 20_000)
    before_2, before_3 = waits[:, 0], waits[:, 1]
    assert before_2.min() >= 0.0 and before_2.max() < 0.05
    assert before_3.min() >= 0.0 and before_3.max() < 0.1
    assert before_2.max() > 0.049 and before_3.max() > 0.099  # uniform over the whole range
    se = 0.05 / math.sqrt(12) / math.sqrt(20_000)
    assert abs(before_2.mean() - 0.025) < 5 * se
    assert abs(before_3.mean() - 0.05) < 10 * se


def test_aws_standard_scalar_draws_agree():
    policy = policy_preset("aws-standard")
    for seed in range(20):
        waits = Schedule.draw(policy, np.random.default_rng(seed)).waits_after
        assert 0.0 <= waits[0] < 0.05
        assert 0.0 <= waits[1] < 0.1


def test_aws_decorrelated_is_seed_with_decorrelated_jitter():
    policy = policy_preset("aws-decorrelated")
    assert policy.jitter_mode is JitterMode.DECORRELATED
    assert policy.with_changes(jitter_mode="proportional", jitter=0.4) == RetryPolicy()
    waits = draw_waits(policy, np.random.default_rng(12), 10_000)
    assert waits.min() >= 1.0  # base
    assert waits.max() <= 30.0  # cap
    assert waits[:, 0].max() < 3.0  # first: uniform(base, 3 * base)


# ----------------------------------------------------------------- gRPC
def test_grpc_parameters_match_connection_backoff_md():
    policy = policy_preset("grpc")
    assert policy.first_delay == 1.0  # INITIAL_BACKOFF, no jitter on the first
    assert policy.first_delay_jitter is JitterMode.NONE
    assert policy.multiplier == 1.6  # MULTIPLIER
    assert policy.max_delay == 120.0  # MAX_BACKOFF
    assert policy.jitter == 0.2  # JITTER
    assert policy.jitter_mode is JitterMode.PROPORTIONAL
    assert policy.cap_after_jitter is False  # Min(...) before UniformRandom(...)
    assert policy.wait_from is WaitAnchor.START  # SleepUntil(current_deadline)
    assert policy.base_timeout == 20.0  # MIN_CONNECT_TIMEOUT
    assert policy.timeout_spans_backoff is True


def test_grpc_waits_reach_the_120s_cap_within_its_attempts():
    policy = policy_preset("grpc")
    reaching = next(k for k in range(1, 100) if 1.6**k >= 120.0)  # 1.6**11 = 175.9
    assert policy.max_attempts >= reaching + 1


# ----------------------------------------------------------------- websockets
def test_websockets_parameters_match_its_backoff_generator():
    policy = policy_preset("websockets")
    assert policy.first_delay == 5.0  # BACKOFF_INITIAL_DELAY, random() * 5
    assert policy.first_delay_jitter is JitterMode.FULL
    assert policy.initial_delay == 3.1  # BACKOFF_MIN_DELAY
    assert policy.multiplier == 1.618  # BACKOFF_FACTOR
    assert policy.max_delay == 90.0  # BACKOFF_MAX_DELAY
    assert policy.jitter_mode is JitterMode.NONE
    assert policy.wait_from is WaitAnchor.FAILURE
    assert policy.base_timeout == 10.0  # open_timeout
    # the ramp 3.1 * 1.618**k stays below 90 for 8 steps: the preset covers it
    steps = sum(1 for k in range(100) if 3.1 * 1.618**k < 90.0)
    assert policy.max_attempts >= 1 + 1 + steps


# ----------------------------------------------------------------- socket.io
def test_socketio_parameters_match_manager_defaults():
    policy = policy_preset("socketio")
    assert policy.initial_delay == 1.0  # reconnectionDelay 1000
    assert policy.max_delay == 5.0  # reconnectionDelayMax 5000
    assert policy.jitter == 0.5  # randomizationFactor
    assert policy.multiplier == 2.0  # factor
    assert policy.base_timeout == 20.0  # timeout 20000
    assert policy.jitter_mode is JitterMode.BACKO2
    assert policy.cap_after_jitter is True  # Math.min(ms, max) after the deviation
    assert policy.first_delay is None  # the first reconnect waits duration()


def test_socketio_herd_is_in_lockstep_from_the_5th_retry():
    waits = draw_waits(policy_preset("socketio"), np.random.default_rng(77), 20_000)
    assert np.all(waits[:, 4:] == 5.0)
    # the first retries are spread: floor(rand * 500) takes 500 values, each with one sign
    assert len(np.unique(waits[:, 0])) == 500


# ----------------------------------------------------------------- SignalR
def test_signalr_parameters_match_default_reconnect_policy():
    policy = policy_preset("signalr")
    assert policy.delays == (0.0, 2.0, 10.0, 30.0)
    assert policy.max_attempts == 5  # the first attempt and four retries, then null
    assert policy.wait_from is WaitAnchor.FAILURE
    assert policy.base_timeout == 30.0  # serverTimeoutInMilliseconds
    schedule = Schedule.draw(policy, np.random.default_rng(0))
    assert [a.wait_before for a in schedule.attempts] == [0.0, 0.0, 2.0, 10.0, 30.0]


def test_signalr_cannot_be_given_more_attempts_than_its_table():
    with pytest.raises(ValueError, match="max_attempts"):
        policy_preset("signalr").with_changes(max_attempts=6)


def test_a_policy_is_recognised_as_the_preset_it_equals():
    from chatconn import policy_preset_name_of

    for name in policy_preset_names():
        assert policy_preset_name_of(policy_preset(name)) == name
    assert policy_preset_name_of(policy_preset("seed").with_changes(jitter=0.25)) is None
