"""chatconn.core.stream_sdk: how StableWSConnection spends retryInterval, as a pure model."""

from __future__ import annotations

import numpy as np
import pytest

from chatconn.core.errors import ConfigError
from chatconn.core.presets import policy_preset
from chatconn.core.stream_sdk import (
    FALLBACK_CONNECT_WAIT_S,
    FIRST_CONNECT_WAIT_S,
    first_connect,
    reconnect_after_drop,
    retry_wait,
    stacked_connect,
)


def test_retry_wait_is_the_presets_window():
    sdk = policy_preset("stream-chat")
    assert retry_wait(sdk, 1, 0.0) == 0.25 and retry_wait(sdk, 1, 0.5) == 1.375
    assert retry_wait(sdk, 3, 0.0) == 4.0 and retry_wait(sdk, 40, 0.7) == 25.0


def test_a_dropped_connection_retries_in_window_1_then_fans_out_from_the_first_attempt():
    rng = np.random.default_rng(3)
    runs = [reconnect_after_drop(rng, down_s=30.0) for _ in range(2000)]
    first = np.array([r.attempts[0] for r in runs])
    assert first.min() >= 0.25 and first.max() < 2.5
    # Attempt 1 failing starts loops in windows 2, 3, 4, all counted from attempt 1.
    second = np.array([r.attempts[1] - r.attempts[0] for r in runs])
    third = np.array([r.attempts[2] - r.attempts[0] for r in runs])
    assert second.min() >= 2.0 and second.max() < 4.5 + 1e-9
    assert third.min() >= 4.0 and third.max() < 6.5 + 1e-9
    assert all(r.connected_at >= 30.0 and r.transport == "websocket" for r in runs)


def test_a_long_outage_keeps_a_bounded_number_of_chains_at_the_cap():
    rng = np.random.default_rng(4)
    counts = [len(reconnect_after_drop(rng, down_s=d).attempts) for d in (100.0, 200.0, 300.0)]
    # Linear, not geometric: loops waking together at 25 s abort behind the first one.
    rate_1, rate_2 = (counts[1] - counts[0]) / 100, (counts[2] - counts[1]) / 100
    assert 0.2 < rate_1 < 0.6 and abs(rate_2 - rate_1) < 0.1


def test_a_hanging_attempt_silences_every_loop():
    rng = np.random.default_rng(5)
    run = reconnect_after_drop(rng, down_s=1000.0, hang=True)
    assert len(run.attempts) == 1 and run.connected_at is None
    stuck = first_connect(rng, ws_hangs=True, fallback=True)
    assert stuck.attempts == (0.0,) and stuck.connected_at is None and stuck.transport is None


def test_a_first_connect_that_fails_fast_waits_15_s_or_falls_back_after_6_s():
    rng = np.random.default_rng(6)
    plain = first_connect(rng)
    assert plain.connected_at is None and plain.gave_up_at == FIRST_CONNECT_WAIT_S
    assert plain.attempts[0] == 0.0 and all(
        t <= FIRST_CONNECT_WAIT_S + 0.01 for t in plain.attempts
    )
    fallback = first_connect(rng, fallback=True)
    assert fallback.transport == "longpoll"
    assert fallback.connected_at == pytest.approx(FALLBACK_CONNECT_WAIT_S, abs=0.01)
    ok = first_connect(rng, ws_ok_at=3.0)
    assert ok.transport == "websocket" and ok.connected_at >= 3.0


def test_the_app_over_the_sdk_carries_the_sdks_attempts_inside_its_own():
    rng = np.random.default_rng(7)
    seed = policy_preset("seed")
    runs = [stacked_connect(rng, seed, down_s=20.0) for _ in range(500)]
    assert all(r.connected_at is not None and r.connected_at >= 20.0 for r in runs)
    assert np.mean([len(r.ws_attempts) for r in runs]) > np.mean(
        [len(r.app_attempts) for r in runs]
    )
    never = stacked_connect(rng, seed, down_s=1e9)
    assert never.connected_at is None and len(never.app_attempts) == seed.max_attempts


def test_the_model_rejects_what_it_cannot_model():
    rng = np.random.default_rng(8)
    with pytest.raises(ConfigError, match="down_s"):
        reconnect_after_drop(rng, down_s=-1.0)
    with pytest.raises(ConfigError, match="policy"):
        reconnect_after_drop(rng, down_s=1.0, policy="stream-chat")
    with pytest.raises(ConfigError, match="decorrelated"):
        reconnect_after_drop(rng, down_s=1.0, policy=policy_preset("aws-decorrelated"))
