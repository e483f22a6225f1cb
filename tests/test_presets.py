"""Published retry policies: each constructs, cites its source and matches it.

Expected numbers are taken from the sources the presets cite (quoted in their docstrings):
grpc/grpc doc/connection-backoff.md and src/core/util/backoff.cc, websockets 17.4
client.py, botocore 1.44.18 retries/standard.py and retries/quota.py, the AWS backoff
simulator, socket.io-client 4.8.4 backo2, @microsoft/signalr 10.0.11
DefaultReconnectPolicy and HttpConnection.ts.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from chatconn.core.errors import UnknownNameError
from chatconn.core.policy import JitterMode, RetryPolicy, WaitAnchor
from chatconn.core.presets import (
    AWS_NO_RETRY_INCREMENT,
    AWS_RETRY_COST,
    AWS_RETRY_QUOTA,
    AWS_THROTTLING_RETRY_COST,
    POLICY_PRESETS,
    SIGNALR_NEGOTIATE_TIMEOUT_S,
    SIGNALR_SERVER_TIMEOUT_S,
    aws_retries_allowed,
    policy_preset,
    policy_preset_names,
)
from chatconn.core.profiles import profile_preset
from chatconn.core.schedule import Schedule, draw_waits, nominal_timeouts
from chatconn.core.strategies import Strategy
from chatconn.simulate import simulate

# name -> words its docstring must contain to cite its source (project, version/doc, file/symbol)
CITATIONS = {
    "seed": ("connection manager",),
    "grpc": ("grpc/grpc", "src/core/util/backoff.cc", "subchannel.cc", "grpcio 1.85"),
    "grpc-spec": ("grpc/grpc", "doc/connection-backoff.md"),
    "websockets": ("websockets", "17.4", "client.py", "backoff()"),
    "aws-standard": ("botocore", "1.44.18", "retries/standard.py", "not modelled"),
    "aws-decorrelated": (
        "Exponential Backoff And Jitter",
        "aws-arch-backoff-simulator",
        "ExpoBackoffDecorr",
    ),
    "socketio": ("socket.io-client", "4.8.4", "backo2"),
    "signalr": ("@microsoft/signalr", "10.0.11", "DefaultReconnectPolicy", "HttpConnection.ts"),
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
@pytest.mark.parametrize("name", ["grpc", "grpc-spec"])
def test_grpc_parameters_match_the_c_core_and_connection_backoff_md(name):
    policy = policy_preset(name)
    assert policy.multiplier == 1.6  # MULTIPLIER, GRPC_SUBCHANNEL_RECONNECT_BACKOFF_MULTIPLIER
    assert policy.max_delay == 120.0  # MAX_BACKOFF, ..._RECONNECT_MAX_BACKOFF_SECONDS
    assert policy.jitter == 0.2  # JITTER, ..._RECONNECT_JITTER
    assert policy.jitter_mode is JitterMode.PROPORTIONAL
    assert policy.cap_after_jitter is False  # Min(...) before the jitter
    assert policy.wait_from is WaitAnchor.START  # SleepUntil(current_deadline)
    assert policy.base_timeout == 20.0  # MIN_CONNECT_TIMEOUT, ..._RECONNECT_MIN_TIMEOUT_SECONDS
    assert policy.timeout_spans_backoff is True
    assert policy.retries_forever is True


def test_grpc_core_jitters_the_first_backoff_like_the_rest():
    # backoff.cc: the first NextAttemptDelay() returns initial_backoff * U(0.8, 1.2); the
    # later ones min(previous * 1.6, 120) * U(0.8, 1.2).
    policy = policy_preset("grpc")
    assert policy.first_delay is None
    assert policy.initial_delay == 1.0  # GRPC_SUBCHANNEL_INITIAL_CONNECT_BACKOFF_SECONDS
    waits = draw_waits(policy, np.random.default_rng(5), 20_000)
    for k in range(12):
        nominal = min(1.6**k, 120.0)
        assert waits[:, k].min() >= 0.8 * nominal and waits[:, k].max() < 1.2 * nominal


def test_grpc_spec_first_backoff_is_exactly_initial_backoff():
    policy = policy_preset("grpc-spec")
    assert policy.first_delay == 1.0  # INITIAL_BACKOFF, no jitter on the first
    assert policy.first_delay_jitter is JitterMode.NONE
    assert policy.with_changes(
        first_delay=None, initial_delay=1.0, first_delay_jitter="none"
    ) == policy_preset("grpc")


@pytest.mark.parametrize("name", ["grpc", "grpc-spec"])
def test_grpc_waits_reach_the_120s_cap_within_its_attempts(name):
    policy = policy_preset(name)
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
    assert policy.retries_forever is True  # reconnects until process_exception says fatal
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
    assert policy.retries_forever is True  # reconnectionAttempts: Infinity


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
    assert policy.retries_forever is False  # null: stop, and stay disconnected
    assert policy.wait_from is WaitAnchor.FAILURE
    schedule = Schedule.draw(policy, np.random.default_rng(0))
    assert [a.wait_before for a in schedule.attempts] == [0.0, 0.0, 2.0, 10.0, 30.0]


def test_signalr_attempt_timeout_is_negotiates_100_s():
    # HttpConnection.ts: options.timeout = 100 * 1000 ms, the negotiate POST's timeout; the
    # WebSocket open has none, serverTimeoutInMilliseconds (30 s) starts after the handshake.
    policy = policy_preset("signalr")
    assert SIGNALR_NEGOTIATE_TIMEOUT_S == 100.0 and SIGNALR_SERVER_TIMEOUT_S == 30.0
    assert nominal_timeouts(policy).tolist() == [100.0] * 5
    # Behind a server that accepts and never answers, every attempt runs its 100 s: the
    # whole connect fails after 5 x 100 s plus the 42 s of waits, not 5 x 30 s + 42 s.
    assert Schedule.draw(policy, np.random.default_rng(0)).worst_case_s() == 542.0
    # (a token known in advance: with the token from the server, its fetch fails first)
    blackhole = profile_preset("blackhole").with_changes(token_endpoint="static")
    hang = simulate(policy, blackhole, 2_000, seed=1)
    assert not hang.connected.any()
    np.testing.assert_allclose(hang.ended_at, 542.0)


def test_signalr_cannot_be_given_more_attempts_than_its_table():
    with pytest.raises(ValueError, match="max_attempts"):
        policy_preset("signalr").with_changes(max_attempts=6)


# ----------------------------------------------------------------- giving up
@pytest.mark.parametrize("name", sorted(CITATIONS))
def test_only_libraries_that_retry_forever_say_so(name):
    forever = {"grpc", "grpc-spec", "websockets", "socketio", "stream-chat"}
    assert policy_preset(name).retries_forever is (name in forever)


# ----------------------------------------------------------------- botocore retry quota
def test_botocore_retry_quota_constants_match_quota_py_and_standard_py():
    # retries/quota.py RetryQuota.INITIAL_CAPACITY; retries/standard.py RetryQuotaChecker.
    assert AWS_RETRY_QUOTA == 500
    assert AWS_RETRY_COST == 14
    assert AWS_THROTTLING_RETRY_COST == 5
    assert AWS_NO_RETRY_INCREMENT == 1


def test_botocore_quota_stops_retries_from_the_18th_failing_call_in_a_row():
    # 3 attempts = 2 retries of 14 tokens: 17 calls spend 476 of 500, the 18th gets one
    # retry (10 left), every later call none ("from about the 18th", issue 17).
    allowed = aws_retries_allowed(25)
    assert allowed[:17] == [2] * 17
    assert allowed[17] == 1
    assert allowed[18:] == [0] * 7
    assert aws_retries_allowed(5, attempts=1) == [0] * 5
    # A storm client makes one call: its own quota never binds.
    assert aws_retries_allowed(1) == [policy_preset("aws-standard").max_attempts - 1]


def test_a_policy_is_recognised_as_the_preset_it_equals():
    from chatconn import policy_preset_name_of

    for name in policy_preset_names():
        assert policy_preset_name_of(policy_preset(name)) == name
    assert policy_preset_name_of(policy_preset("seed").with_changes(jitter=0.25)) is None
