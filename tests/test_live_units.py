"""The small pure parts of the live layer: secrets, events, explanations, policy adaptation."""

from __future__ import annotations

import asyncio
import logging
import pickle

import pytest

from chatconn.core.adapt import RTT_TIMEOUT_FACTOR, adapt_policy
from chatconn.core.errors import ConfigError
from chatconn.core.policy import RetryPolicy
from chatconn.core.strategies import ErrorCategory, Strategy
from chatconn.endpoint import Endpoint, join_url
from chatconn.live.errors import ConnectFailed, UpgradeRejected, status_error
from chatconn.live.events import (
    HISTORY_LIMIT,
    ConnectionState,
    EventBus,
    StateChanged,
    WarningEvent,
)
from chatconn.live.explain import explain_degraded, explain_failure
from chatconn.live.tokens import HttpTokenProvider, Secret, StaticToken
from chatconn.records import AttemptRecord

TOKEN = "tok-3f9a-very-secret"


def test_secret_never_prints_its_value(caplog):
    secret = Secret(TOKEN)
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr([secret])):
        assert TOKEN not in text
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("token is %s", secret)
    assert TOKEN not in caplog.text
    assert secret.reveal() == TOKEN


def test_secret_refuses_pickling_and_empty_values():
    with pytest.raises(TypeError):
        pickle.dumps(Secret(TOKEN))
    with pytest.raises(ValueError, match="token"):
        Secret("")


def test_static_token_provider_hides_the_token_in_its_repr():
    provider = StaticToken(TOKEN)
    assert TOKEN not in repr(provider)
    assert asyncio.run(provider()).reveal() == TOKEN


def test_event_bus_feeds_callbacks_and_async_iterators_and_isolates_bad_callbacks():
    async def scenario():
        bus = EventBus()
        seen = []
        bus.subscribe(seen.append)
        bus.subscribe(lambda event: 1 / 0)
        streamed = []

        async def consume():
            async for event in bus.stream():
                streamed.append(event)

        consumer = asyncio.create_task(consume())
        await asyncio.sleep(0)
        first = StateChanged(0.0, ConnectionState.CONNECTING, ConnectionState.IDLE)
        second = WarningEvent(0.1, "connect_in_progress", "joined")
        bus.emit(first)
        bus.emit(second)
        bus.close()
        await asyncio.wait_for(consumer, 1)
        return seen, streamed, bus.callback_errors

    seen, streamed, errors = asyncio.run(scenario())
    assert [e.kind for e in seen] == ["StateChanged", "WarningEvent"]
    assert streamed == seen
    assert errors == 2


def test_events_are_frozen_and_serialise_enums_by_value():
    event = StateChanged(1.5, ConnectionState.FAILED, ConnectionState.CONNECTING, "gave up")
    with pytest.raises(AttributeError):
        event.state = ConnectionState.IDLE  # type: ignore[misc]
    assert event.to_dict() == {
        "kind": "StateChanged",
        "elapsed_s": 1.5,
        "state": "failed",
        "previous": "connecting",
        "reason": "gave up",
    }


def _record(strategy: Strategy, category: ErrorCategory, connected: bool = False) -> AttemptRecord:
    return AttemptRecord(
        session="s",
        attempt=0,
        strategy=strategy,
        url="ws://127.0.0.1:1/ws",
        timeout_s=1.0,
        wait_before_s=0.0,
        started_s=0.0,
        duration_s=0.1,
        connected=connected,
        error_category=category,
        error="",
    )


def test_explanations_name_the_cause_and_a_next_step():
    refused = [_record(Strategy.DIRECT_WEBSOCKET, ErrorCategory.REFUSED)] * 3
    assert "down or restarting" in explain_failure(refused)
    hung = [_record(Strategy.DIRECT_WEBSOCKET, ErrorCategory.TIMEOUT)] * 2
    assert "never answered" in explain_failure(hung)
    blocked = [_record(Strategy.DIRECT_WEBSOCKET, ErrorCategory.UPGRADE_REJECTED)] * 2
    assert "blocked by a proxy" in explain_failure(blocked)
    assert "blocked by a proxy" in explain_failure(hung, firewall_suspected=True)
    assert "could be made" in explain_failure([])


def test_degraded_explanation_says_websocket_seems_blocked():
    records = [
        _record(Strategy.DIRECT_WEBSOCKET, ErrorCategory.TIMEOUT),
        _record(Strategy.LONG_POLLING, ErrorCategory.NONE, connected=True),
    ]
    text = explain_degraded(Strategy.LONG_POLLING, records)
    assert "WebSocket seems blocked" in text and "Long polling" in text
    russian = text.say("ru")  # the same explanation, in Russian
    assert "WebSocket заблокирован" in russian and "Длинные опросы" in russian


def test_connect_failed_carries_explanation_and_records():
    records = (_record(Strategy.DIRECT_WEBSOCKET, ErrorCategory.REFUSED),)
    error = ConnectFailed("could not connect", explanation="why", records=records)
    assert error.explanation == "why" and error.records == records


def test_adapt_policy_grows_the_base_timeout_with_rtt_but_never_past_max():
    policy = RetryPolicy(base_timeout=2.0, max_timeout=30.0)
    far = adapt_policy(policy, rtt_s=0.5, websocket_blocked=False)
    assert far.base_timeout == pytest.approx(RTT_TIMEOUT_FACTOR * 0.5)
    very_far = adapt_policy(policy, rtt_s=10.0, websocket_blocked=False)
    assert very_far.base_timeout == 30.0
    near = adapt_policy(policy, rtt_s=0.01, websocket_blocked=False)
    assert near == policy  # never shrinks a timeout


def test_adapt_policy_drops_websocket_rungs_when_blocked_but_keeps_a_ladder():
    seed = RetryPolicy()
    adapted = adapt_policy(seed, rtt_s=None, websocket_blocked=True)
    assert adapted.ladder == (Strategy.LONG_POLLING, Strategy.SSE_FALLBACK)
    ws_only = RetryPolicy(ladder=("direct_websocket",))
    assert adapt_policy(ws_only, rtt_s=None, websocket_blocked=True) == ws_only


@pytest.mark.parametrize(
    ("ws", "http", "field"),
    [
        ((), "http://h", "ws_urls"),
        (("http://h/ws",), "http://h", "ws_urls"),
        (("ws://h/ws",), "ftp://h", "http_url"),
        (("ws:///nohost",), "http://h", "ws_urls"),
        (("ws://h:99999/ws",), "http://h", "ws_urls"),
    ],
)
def test_endpoint_rejects_malformed_urls_naming_the_field(ws, http, field):
    with pytest.raises(ValueError, match=field):
        Endpoint(ws, http)


def test_endpoint_errors_do_not_echo_credentials():
    with pytest.raises(ValueError) as info:
        Endpoint(("wss://user:pa55word@h:99999/ws?token=abc",), "https://h")
    assert "pa55word" not in str(info.value) and "abc" not in str(info.value)


def test_endpoint_repr_shows_no_credentials_or_query_tokens():
    endpoint = Endpoint(("ws://u:TOK@h/ws?token=TOK",), "http://h/?token=TOK")
    assert "TOK" not in repr(endpoint)
    assert repr(endpoint) == "Endpoint(('ws://h/ws',), 'http://h')"


def test_http_paths_go_before_the_base_urls_query():
    endpoint = Endpoint(("ws://h/ws",), "http://h:8/api/?token=T")
    assert endpoint.http("/lp/connect") == "http://h:8/api/lp/connect?token=T"
    assert join_url("http://u:pw@h/", "/token") == "http://u:pw@h/token"
    provider = HttpTokenProvider("http://u:pw@h:8/?token=T")
    assert provider.url == "http://h:8/token"  # shown without the secrets
    assert "pw" not in repr(provider) and "T'" not in repr(provider)


def test_an_http_url_with_credentials_is_refused_without_echoing_them():
    with pytest.raises(ConfigError) as info:
        Endpoint(("ws://h/ws",), "http://user:pa55@h:8/?token=T")
    assert "http_url" in str(info.value) and "Authorization" in str(info.value)
    assert "pa55" not in str(info.value) and "token=T" not in str(info.value)


def test_event_bus_history_is_bounded_and_subscriber_errors_are_logged(caplog):
    bus = EventBus(history_limit=3)
    bus.subscribe(lambda event: 1 / 0)
    events = [WarningEvent(float(i), "w", str(i)) for i in range(5)]
    with caplog.at_level(logging.ERROR, logger="chatconn.live.events"):
        for event in events:
            bus.emit(event)
    assert list(bus.history) == events[-3:]
    assert bus.callback_errors == 5
    logged = [r for r in caplog.records if r.name == "chatconn.live.events"]
    assert len(logged) == 5 and "WarningEvent" in logged[0].getMessage()
    assert logged[0].exc_info[0] is ZeroDivisionError
    assert len(EventBus().history) == 0 and EventBus().history.maxlen == HISTORY_LIMIT


def test_a_404_from_an_http_fallback_points_at_the_base_url():
    error = status_error(404, "http://h:8/lp/connect", what="the connect request")
    assert isinstance(error, UpgradeRejected)
    assert "is the HTTP base URL right?" in str(error)
    assert "base URL" not in str(status_error(403, "http://h:8/lp/connect"))
