"""Token reuse across reconnects (chatconn.live.token_cache), against the real lab server:
a fetched token is kept until it expires or the server rejects it, then fetched again; the
fetches of each connect are in TokenReady events and in every attempt record."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from helpers import run

from chatconn.core.profiles import NetworkProfile
from chatconn.lab.server import LabServer
from chatconn.live.errors import AuthRejected
from chatconn.live.events import AttemptFinished, TokenReady
from chatconn.live.manager import ConnectionManager, HeartbeatConfig
from chatconn.live.token_cache import TokenCache, jwt_lifetime_s, refresh_margin
from chatconn.live.tokens import HttpTokenProvider, Secret, StaticToken
from chatconn.records import AttemptRecord

CALM = NetworkProfile("calm", rtt_median_s=0.002, rtt_sigma=0.0, auth_s=0.0, sync_s=0.0)
HEARTBEAT = HeartbeatConfig(interval_s=0.05, timeout_s=0.3)


async def _reconnected(manager: ConnectionManager, lab: LabServer) -> None:
    """Drop every connection and wait until the heartbeat has a new session."""
    old = manager.session
    lab.drop_connections()
    for _ in range(300):
        await asyncio.sleep(0.02)
        if manager.session is not None and manager.session is not old:
            return
    raise AssertionError("no reconnect within 6 s")


def _watch(manager: ConnectionManager) -> tuple[list, list]:
    tokens, attempts = [], []
    manager.subscribe(lambda e: tokens.append(e) if isinstance(e, TokenReady) else None)
    manager.subscribe(lambda e: attempts.append(e) if isinstance(e, AttemptFinished) else None)
    return tokens, attempts


def test_reconnects_reuse_the_fetched_token():
    async def scenario():
        async with LabServer(CALM) as lab:
            provider = HttpTokenProvider(lab.endpoint.http_url)
            async with ConnectionManager(lab.endpoint, provider, heartbeat=HEARTBEAT) as m:
                tokens, attempts = _watch(m)
                await m.connect()
                await _reconnected(m, lab)
                await _reconnected(m, lab)
                return tokens, attempts, lab.stats()["hub"]["token_requests"], m.tokens.fetches

    tokens, attempts, requests, fetches = run(scenario())
    assert requests == fetches == 1  # three connects, one token
    assert [(t.reused, t.reason, t.fetches) for t in tokens] == [
        (False, "first", 1),
        (True, "reused", 0),
        (True, "reused", 0),
    ]
    assert [a.record.token_fetches for a in attempts] == [1, 0, 0]


def test_an_expired_token_is_fetched_again():
    async def scenario():
        async with LabServer(CALM, token_expires_in=0.4) as lab:
            provider = HttpTokenProvider(lab.endpoint.http_url)
            async with ConnectionManager(lab.endpoint, provider, heartbeat=HEARTBEAT) as m:
                tokens, _ = _watch(m)
                await m.connect()
                assert provider.expires_in == 0.4
                await _reconnected(m, lab)  # at once: still valid
                await asyncio.sleep(0.45)
                await _reconnected(m, lab)  # past 0.4 s - 10 %: expired
                return tokens, lab.stats()["hub"]["token_requests"]

    tokens, requests = run(scenario())
    assert requests == 2
    assert [(t.reason, t.fetches) for t in tokens] == [("first", 1), ("reused", 0), ("expired", 1)]


def test_a_rejected_reused_token_is_replaced_at_once_and_the_reconnect_succeeds():
    async def scenario():
        async with LabServer(CALM) as lab:
            provider = HttpTokenProvider(lab.endpoint.http_url)
            async with ConnectionManager(lab.endpoint, provider, heartbeat=HEARTBEAT) as m:
                tokens, attempts = _watch(m)
                await m.connect()
                lab.rotate_token("rotated-token")
                await _reconnected(m, lab)
                return tokens, attempts, lab.stats()["hub"], m.state

    tokens, attempts, hub, state = run(scenario())
    assert state.value == "connected"
    assert hub["token_requests"] == 2 and hub["auth_failed"] == 1
    assert [(t.reused, t.reason, t.fetches) for t in tokens] == [
        (False, "first", 1),
        (True, "reused", 0),
        (False, "rejected", 1),
    ]
    # the refused attempt, then the same attempt with the fresh token
    assert [(a.attempt, a.connected, a.record.token_fetches) for a in attempts] == [
        (0, True, 1),
        (0, False, 0),
        (0, True, 1),
    ]


def test_a_freshly_fetched_token_that_is_rejected_stays_fatal_with_one_fetch():
    calls = []

    async def wrong_token():
        calls.append(1)
        return "not-the-token"

    async def scenario():
        async with LabServer(CALM) as lab:
            async with ConnectionManager(lab.endpoint, wrong_token) as m:
                tokens, _ = _watch(m)
                with pytest.raises(AuthRejected):
                    await m.connect()
                with pytest.raises(AuthRejected):  # the next connect fetches again
                    await m.connect()
                return tokens

    tokens = run(scenario())
    assert len(calls) == 2
    assert [(t.reason, t.fetches) for t in tokens] == [("first", 1), ("rejected", 1)]


# ------------------------------------------------------------------------ pure parts
class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _jwt(claims: dict) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part(claims)}.c2lnbmF0dXJl"


def test_a_jwt_lifetime_comes_from_its_exp_claim():
    assert jwt_lifetime_s(Secret(_jwt({"user_id": "u", "exp": 1_000_600})), 1_000_000) == 600
    assert jwt_lifetime_s(Secret(_jwt({"user_id": "u"})), 0) is None  # a devToken: no exp
    assert jwt_lifetime_s(Secret("lab-token"), 0) is None
    assert jwt_lifetime_s(Secret("a.b.c"), 0) is None  # not base64 JSON


def test_the_cache_keeps_a_token_until_its_margin_then_fetches_again():
    clock = FakeClock()
    token = _jwt({"exp": 1_000_600})  # 600 s left: refreshed 60 s early
    cache = TokenCache(StaticToken(token), clock=clock, wall_clock=lambda: 1_000_000.0)
    fetched = []

    async def fetch():
        fetched.append(1)
        return Secret(token)

    async def scenario():
        grants = [await cache.get(fetch)]
        clock.now += 539
        grants.append(await cache.get(fetch))
        clock.now += 1
        grants.append(await cache.get(fetch))
        return grants

    grants = run(scenario())
    assert [(g.fetched, g.reason) for g in grants] == [
        (True, "first"),
        (False, "reused"),
        (True, "expired"),
    ]
    assert len(fetched) == cache.fetches == 2
    assert refresh_margin(600) == 60 and refresh_margin(3600) == 60 and refresh_margin(10) == 1
    assert token not in repr(cache) and not cache.can_refresh
    cache.reject()
    assert cache.cached() is None


def test_token_fetches_survive_a_record_round_trip_and_are_validated():
    record = AttemptRecord.from_dict(
        {
            "session": "s0", "attempt": 0, "strategy": "direct_websocket", "url": "ws://x/",
            "timeout_s": 1.0, "wait_before_s": 0.0, "started_s": 0.0, "duration_s": 0.1,
            "connected": True, "error_category": "none", "error": "",
            "time_scale": 1.0, "token_fetches": 2,
        }
    )  # fmt: skip
    assert AttemptRecord.from_dict(record.to_dict()).token_fetches == 2
    with pytest.raises(ValueError, match="token_fetches"):
        AttemptRecord.from_dict({**record.to_dict(), "token_fetches": -1})
    old = {k: v for k, v in record.to_dict().items() if k != "token_fetches"}
    assert AttemptRecord.from_dict(old).token_fetches is None
