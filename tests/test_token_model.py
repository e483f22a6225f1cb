"""The token fetch in the model: its costs, its failures on unreachable servers, its time
against the deadline, and the simulator agreeing with a live lab run on them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import run

from chatconn.core.errors import ConfigError, UnknownNameError
from chatconn.core.model import SessionConditions
from chatconn.core.presets import policy_preset
from chatconn.core.profiles import FaultMode, NetworkProfile, Outage, profile_preset
from chatconn.core.strategies import ErrorCategory
from chatconn.core.token_fetch import (
    DEFAULT_TOKEN_BUDGET_S,
    TokenSettings,
    needs_token_model,
    token_fetch,
)
from chatconn.live import manager as manager_module
from chatconn.live import tokens as live_tokens
from chatconn.live.run import run_live
from chatconn.simulate import simulate

RTT = 0.03
WAITS = 0.2 + 0.4 + 0.8  # the live provider's backoff: 0.2 s doubling, three retries


def _conditions(n: int = 4) -> SessionConditions:
    return SessionConditions(np.full(n, RTT), False, False)


def test_defaults_are_the_live_providers():
    s = TokenSettings()
    assert s.retries == live_tokens.DEFAULT_TOKEN_RETRIES == 3
    assert s.timeout_s == live_tokens.DEFAULT_TOKEN_TIMEOUT_S == 5.0
    assert s.backoff_s == live_tokens.DEFAULT_TOKEN_BACKOFF_S == 0.2
    assert s.budget_s == manager_module.TOKEN_BUDGET_S == DEFAULT_TOKEN_BUDGET_S
    assert s.waits() == pytest.approx((0.2, 0.4, 0.8))


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"retries": -1}, "token.retries"), ({"timeout_s": 0}, "token.timeout_s")],
)
def test_bad_token_settings_name_the_field(changes, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        TokenSettings(**changes)


def test_a_reachable_server_gives_the_token_in_two_round_trips():
    fetched = token_fetch(TokenSettings(), profile_preset("broadband"), _conditions(), start=1.0)
    assert fetched.ok.all()
    np.testing.assert_allclose(fetched.ended, 1.0 + 2 * RTT)


def test_server_down_fails_after_every_retry_fast():
    fetched = token_fetch(TokenSettings(), profile_preset("server-down"), _conditions())
    assert not fetched.ok.any()
    np.testing.assert_allclose(fetched.ended, 4 * RTT + WAITS)  # refused after 1 RTT each


def test_blackhole_fails_after_every_request_timed_out():
    fetched = token_fetch(TokenSettings(), profile_preset("blackhole"), _conditions())
    assert not fetched.ok.any()
    np.testing.assert_allclose(fetched.ended, 4 * 5.0 + WAITS)


def test_the_budget_bounds_the_whole_fetch():
    settings = TokenSettings(timeout_s=10.0, budget_s=12.0)
    fetched = token_fetch(settings, profile_preset("blackhole"), _conditions())
    np.testing.assert_allclose(fetched.ended, 12.0)


def test_a_static_token_costs_nothing_and_never_fails():
    down = profile_preset("server-down").with_changes(token_endpoint="static")
    fetched = token_fetch(TokenSettings(), down, _conditions(), start=2.0)
    assert fetched.ok.all()
    np.testing.assert_allclose(fetched.ended, 2.0)
    assert not needs_token_model(policy_preset("seed").with_changes(deadline=9.0), down)
    with pytest.raises(UnknownNameError):
        profile_preset("fiber").with_changes(token_endpoint="cookie")


def test_profile_round_trips_its_token_setting():
    down = profile_preset("server-down").with_changes(token_endpoint="static")
    assert NetworkProfile.from_dict(down.to_dict()) == down
    assert down.to_dict()["token_endpoint"] == "static"


# ---------------------------------------------------------------------------- simulator
def test_simulated_sessions_fail_with_token_on_unreachable_servers():
    for name, expected in (("server-down", 4 * 0.03 + WAITS), ("blackhole", 20.0 + WAITS)):
        result = simulate(policy_preset("seed"), profile_preset(name), 2_000, seed=1)
        assert not result.connected.any() and (result.attempts == 0).all()
        assert (result.last_error == ErrorCategory.TOKEN).all()
        # RTTs are lognormal: refusals take 4 of them; timeouts do not depend on them.
        assert np.median(result.ended_at) == pytest.approx(expected, rel=0.05)


def test_the_token_time_counts_against_the_deadline_not_the_time_to_connect():
    # The token endpoint refuses for the first second: the fourth request gets it at ~1.55 s.
    profile = NetworkProfile(
        "late-token", rtt_median_s=RTT, rtt_sigma=0.0, outages=(Outage(0.0, 1.0, FaultMode.REFUSE),)
    )
    free = simulate(policy_preset("seed"), profile, 1_000, seed=2)
    assert free.connected.all()
    connect = 4 * RTT + profile.auth_s + profile.sync_s
    np.testing.assert_allclose(free.ended_at, connect)  # counted from the first attempt
    tight = simulate(policy_preset("seed").with_changes(deadline=1.6), profile, 1_000, seed=2)
    assert not tight.connected.any()  # 1.55 s of token left too little for the attempt


# ---------------------------------------------------------------------------------- live
@pytest.mark.parametrize(("name", "scale"), [("server-down", 1.0), ("blackhole", 0.1)])
def test_live_and_simulated_agree_on_unreachable_servers(name, scale):
    profile = profile_preset(name)
    live = run(run_live(policy_preset("seed"), 5, seed=3, lab_profile=profile, time_scale=scale))
    twin = simulate(policy_preset("seed"), profile, 2_000, seed=3)
    assert not live.result.connected.any() and live.errors == {"TokenUnavailable": 5}
    assert (live.result.last_error == ErrorCategory.TOKEN).all()
    assert (twin.last_error == ErrorCategory.TOKEN).all()
    live_median, sim_median = np.median(live.result.ended_at), np.median(twin.ended_at)
    # The model charges a refusal one RTT (the lab refuses at once: 4 x 30 ms of 1.52 s,
    # 8 %); the rest is waits and timeouts, the same numbers. The harness may add its
    # measured bound to each of the four requests.
    tolerance = 0.1 * sim_median + 4 * live.bound_s
    assert abs(live_median - sim_median) <= tolerance, (live_median, sim_median, live.bound_s)


def test_a_lab_profile_with_a_static_token_lets_the_attempts_meet_the_outage():
    down = profile_preset("server-down").with_changes(token_endpoint="static")
    live = run(run_live(policy_preset("seed"), 20, seed=4, lab_profile=down, time_scale=0.2))
    twin = simulate(policy_preset("seed"), down, 2_000, seed=4)
    assert "TokenUnavailable" not in live.errors and not live.result.connected.any()
    assert (live.result.attempts == 6).all() and (twin.attempts == 6).all()
    live_median, sim_median = np.median(live.result.ended_at), np.median(twin.ended_at)
    # Five jittered waits (+/-40 %): the median of 20 sessions has a standard error of
    # about 1.25 sd / sqrt(20); six refusals the model charges one RTT each (the lab none).
    se = 1.2533 * twin.ended_at.std() / math.sqrt(20)
    tolerance = 4.5 * se + 6 * 0.03 + 6 * live.bound_s
    assert abs(live_median - sim_median) <= tolerance, (live_median, sim_median, live.bound_s)
