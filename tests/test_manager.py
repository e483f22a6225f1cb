"""ConnectionManager against the real lab server over loopback sockets (no mocked network).

Elapsed-time bounds are generous upper bounds (the machines are noisy); they check that a
connect never outlives its budget, not how fast it is.
"""

from __future__ import annotations

import asyncio
import os
import random

import helpers
import numpy as np
import pytest
from helpers import run

from chatconn.core.breaker import BreakerConfig
from chatconn.core.errors import ConfigError
from chatconn.core.policy import RetryPolicy
from chatconn.core.presets import policy_preset
from chatconn.core.profiles import NetworkProfile, profile_preset
from chatconn.core.quality import Quality
from chatconn.core.strategies import ErrorCategory, Strategy
from chatconn.endpoint import Endpoint
from chatconn.lab.chaos import Fault
from chatconn.lab.server import LabServer
from chatconn.live.errors import (
    AuthRejected,
    CircuitOpen,
    ConnectFailed,
    ProtocolViolation,
    TokenUnavailable,
)
from chatconn.live.events import (
    AttemptFinished,
    AttemptStarted,
    ConnectionState,
    Phase,
    PhaseChanged,
    StateChanged,
    WarningEvent,
)
from chatconn.live.manager import ConnectionManager, HeartbeatConfig
from chatconn.live.tokens import HttpTokenProvider, Secret, TokenSource

CALM = NetworkProfile("calm", rtt_median_s=0.002, rtt_sigma=0.0, auth_s=0.0, sync_s=0.0)
MARGIN_S = 1.5  # scheduling slack on a busy 2-core machine


def one_shot(strategy: Strategy, timeout: float = 0.6) -> RetryPolicy:
    return helpers.one_shot(strategy, timeout)


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


# ----------------------------------------------------------------------------- basics
def test_connects_with_websocket_and_reports_states_phases_and_attempts():
    async def scenario():
        async with LabServer(CALM) as lab:
            async with ConnectionManager(lab.endpoint, lab.token) as manager:
                events = []
                manager.subscribe(events.append)
                session = await manager.connect()
                await session.send("hello")
                message = await asyncio.wait_for(session.receive(), 5)
                return events, session.strategy, message, manager.records

    events, strategy, message, records = run(scenario())
    assert strategy is Strategy.DIRECT_WEBSOCKET
    assert message["text"] == "hello"
    states = [e.state for e in events if isinstance(e, StateChanged)]
    assert states[:2] == [ConnectionState.CONNECTING, ConnectionState.CONNECTED]
    phases = [e.phase for e in events if isinstance(e, PhaseChanged)]
    assert phases == [
        Phase.INITIALIZING,
        Phase.CONNECTING,
        Phase.AUTHENTICATING,
        Phase.SYNCING,
        Phase.CONNECTED,
    ]
    started = [e for e in events if isinstance(e, AttemptStarted)]
    finished = [e for e in events if isinstance(e, AttemptFinished)]
    assert [(e.attempt, e.attempts, e.strategy) for e in started] == [
        (0, 6, Strategy.DIRECT_WEBSOCKET)
    ]
    assert finished[0].connected and finished[0].quality is Quality.EXCELLENT
    assert finished[0].timeout_s == 15.0
    (record,) = records
    assert record.connected and record.error_category is ErrorCategory.NONE
    assert 0 <= record.tcp_s <= record.handshake_s <= record.auth_s <= record.sync_s


def test_events_are_also_an_async_iterator():
    async def scenario():
        async with LabServer(CALM) as lab:
            manager = ConnectionManager(lab.endpoint, lab.token)
            seen = []

            async def consume():
                async for event in manager.events():
                    seen.append(event)

            consumer = asyncio.create_task(consume())
            await asyncio.sleep(0)
            await manager.connect()
            await manager.close()
            await asyncio.wait_for(consumer, 5)
            return seen

    seen = run(scenario())
    assert seen[-1].state is ConnectionState.CLOSED
    assert any(isinstance(e, AttemptStarted) for e in seen)


# ------------------------------------------------------------------------ fault matrix
WS_STRATEGIES = [Strategy.DIRECT_WEBSOCKET, Strategy.EXTENDED_TIMEOUT, Strategy.MULTIPLE_PORTS]
HTTP_STRATEGIES = [Strategy.LONG_POLLING, Strategy.SSE_FALLBACK]
ROLES = {
    Strategy.DIRECT_WEBSOCKET: ("ws0",),
    Strategy.EXTENDED_TIMEOUT: ("ws0",),
    Strategy.MULTIPLE_PORTS: ("ws1", "ws2"),
    Strategy.LONG_POLLING: ("http",),
    Strategy.SSE_FALLBACK: ("http",),
}


def expected(fault: Fault, strategy: Strategy) -> ErrorCategory:
    """What the model's docstring promises for one attempt with ``fault``."""
    upgrade = fault in (Fault.UPGRADE_HANG, Fault.UPGRADE_RESET, Fault.UPGRADE_403)
    if fault == Fault.NONE or (upgrade and not strategy.uses_websocket):
        return ErrorCategory.NONE  # a WebSocket-blocking proxy lets plain HTTP through
    return {
        Fault.STALL: ErrorCategory.TIMEOUT,
        Fault.RESET: ErrorCategory.RESET,
        # A listening port cannot refuse one connection: the lab resets it at once.
        Fault.REFUSE: ErrorCategory.RESET,
        Fault.UPGRADE_HANG: ErrorCategory.TIMEOUT,
        Fault.UPGRADE_RESET: ErrorCategory.RESET,
        Fault.UPGRADE_403: ErrorCategory.UPGRADE_REJECTED,
    }[fault]


FAULTS = [
    Fault.NONE,
    Fault.STALL,
    Fault.RESET,
    Fault.REFUSE,
    Fault.UPGRADE_HANG,
    Fault.UPGRADE_RESET,
    Fault.UPGRADE_403,
]


@pytest.mark.parametrize("strategy", WS_STRATEGIES + HTTP_STRATEGIES, ids=str)
def test_fault_matrix_outcome_category_and_time_bound(strategy):
    timeout = 0.6

    async def scenario():
        outcomes = []
        async with LabServer(CALM) as lab:
            for fault in FAULTS:
                for role in ROLES[strategy]:
                    lab.schedule(role, [fault])
                manager = ConnectionManager(lab.endpoint, lab.token, policy=one_shot(strategy))
                loop = asyncio.get_running_loop()
                began = loop.time()
                try:
                    await manager.connect()
                    category = ErrorCategory.NONE
                except ConnectFailed as exc:
                    category = exc.records[-1].error_category
                outcomes.append((fault, category, loop.time() - began))
                await manager.close()
                lab.clear_schedules()
        return outcomes

    for fault, category, elapsed in run(scenario()):
        assert category is expected(fault, strategy), (fault, strategy)
        assert elapsed <= timeout + MARGIN_S, (fault, strategy, elapsed)


def test_server_down_fails_with_refusals_and_a_plain_explanation_within_budget():
    policy = RetryPolicy(max_attempts=3, base_timeout=1.0, initial_delay=0.05, max_delay=0.2)

    async def scenario():
        async with LabServer(profile_preset("server-down")) as lab:
            async with ConnectionManager(lab.endpoint, lab.token, policy=policy) as manager:
                loop = asyncio.get_running_loop()
                began = loop.time()
                with pytest.raises(ConnectFailed) as info:
                    await manager.connect()
                return info.value, loop.time() - began, manager.state, manager.budget_s

    error, elapsed, state, budget = run(scenario())
    assert state is ConnectionState.FAILED
    assert len(error.records) == 3
    assert {r.error_category for r in error.records} <= {ErrorCategory.REFUSED, ErrorCategory.RESET}
    assert "down or restarting" in error.explanation or "failed" in error.explanation
    assert elapsed <= budget + MARGIN_S


def test_blackhole_with_a_deadline_returns_by_the_deadline():
    policy = RetryPolicy(base_timeout=0.5, max_timeout=0.5, extended_timeout=0.5, deadline=1.2)

    async def scenario():
        async with LabServer(profile_preset("blackhole")) as lab:
            async with ConnectionManager(lab.endpoint, lab.token, policy=policy) as manager:
                loop = asyncio.get_running_loop()
                began = loop.time()
                with pytest.raises(ConnectFailed) as info:
                    await manager.connect()
                return info.value, loop.time() - began

    error, elapsed = run(scenario())
    assert elapsed <= 1.2 + MARGIN_S
    assert all(r.error_category is ErrorCategory.TIMEOUT for r in error.records)
    assert "never answered" in error.explanation


def test_corporate_firewall_degrades_to_long_polling_with_an_explanation():
    async def scenario():
        async with LabServer(profile_preset("corporate-firewall"), time_scale=0.01) as lab:
            manager = ConnectionManager(
                lab.endpoint, lab.token, policy=policy_preset("seed"), time_scale=0.01
            )
            async with manager:
                session = await manager.connect()
                await session.send("through the proxy")
                message = await asyncio.wait_for(session.receive(), 5)
                return (
                    manager.state,
                    manager.explanation,
                    session.strategy,
                    message,
                    manager.records,
                )

    state, explanation, strategy, message, records = run(scenario())
    assert strategy is Strategy.LONG_POLLING
    assert state is ConnectionState.DEGRADED
    assert "WebSocket seems blocked" in explanation
    assert message["text"] == "through the proxy"
    assert [r.strategy for r in records[:4]] == list(policy_preset("seed").ladder[:4])
    assert all(not r.connected for r in records[:4])


def test_diagnostics_detect_the_proxy_and_skip_websocket():
    async def scenario():
        async with LabServer(profile_preset("corporate-firewall"), time_scale=0.01) as lab:
            manager = ConnectionManager(lab.endpoint, lab.token, diagnostics=True, time_scale=0.01)
            async with manager:
                session = await manager.connect()
                return manager.report, session.strategy, manager.records

    report, strategy, records = run(scenario())
    assert report.firewall_suspected and report.http_ok and not report.websocket_ok
    assert "blocked by a proxy" in report.summary()
    assert strategy is Strategy.LONG_POLLING
    assert records[0].strategy is Strategy.LONG_POLLING  # no WebSocket attempt was wasted


# ------------------------------------------------------------------- tokens & secrets
def test_bad_token_is_fatal_and_not_retried():
    async def scenario():
        async with LabServer(CALM) as lab:
            async with ConnectionManager(lab.endpoint, "not-the-token") as manager:
                with pytest.raises(AuthRejected):
                    await manager.connect()
                return manager.state, manager.records, manager.explanation

    state, records, explanation = run(scenario())
    assert state is ConnectionState.FAILED
    assert len(records) == 1
    assert "rejected the login token" in explanation


def test_garbage_from_the_server_is_a_protocol_violation():
    async def scenario():
        async with LabServer(CALM) as lab:
            lab.garbage = True
            async with ConnectionManager(
                lab.endpoint, lab.token, policy=one_shot(Strategy.DIRECT_WEBSOCKET)
            ) as manager:
                with pytest.raises(ProtocolViolation):
                    await manager.connect()
                return manager.explanation

    assert "not the chat protocol" in run(scenario())


def test_token_provider_retries_then_succeeds_or_gives_up_clearly():
    async def scenario():
        async with LabServer(CALM) as lab:
            lab.fail_token(2)
            provider = HttpTokenProvider(lab.endpoint.http_url, retries=3, backoff_s=0.01)
            async with ConnectionManager(lab.endpoint, provider) as manager:
                await manager.connect()
            ok_requests = provider.requests
            lab.fail_token(10)
            failing = HttpTokenProvider(lab.endpoint.http_url, retries=3, backoff_s=0.01)
            async with ConnectionManager(lab.endpoint, failing) as manager:
                with pytest.raises(TokenUnavailable) as info:
                    await manager.connect()
            lab.fail_token(0)
            lab.hang_token(True)
            hanging = HttpTokenProvider(
                lab.endpoint.http_url, retries=1, timeout_s=0.3, backoff_s=0.01
            )
            loop = asyncio.get_running_loop()
            began = loop.time()
            with pytest.raises(TokenUnavailable) as hung:
                await hanging()
            return (
                ok_requests,
                failing.requests,
                str(info.value),
                str(hung.value),
                loop.time() - began,
            )

    ok_requests, failed_requests, message, hung, elapsed = run(scenario())
    assert ok_requests == 3  # two 503s, then the token
    assert failed_requests == 4  # the first request and its 3 retries
    assert "HTTP 503" in message
    assert "no answer within 0.3 s" in hung
    assert elapsed <= 2 * 0.3 + MARGIN_S


def test_the_token_never_appears_in_events_records_reprs_or_errors():
    secret = "lab-token"

    async def scenario():
        texts = []
        async with LabServer(profile_preset("corporate-firewall"), time_scale=0.01) as lab:
            assert lab.token == secret
            manager = ConnectionManager(lab.endpoint, lab.token, time_scale=0.01)
            manager.subscribe(lambda e: texts.append(repr(e)) or texts.append(str(e.to_dict())))
            async with manager:
                session = await manager.connect()
                texts += [repr(manager), repr(session), str(manager.explanation)]
                texts += [str(r.to_dict()) for r in manager.records]
        async with LabServer(CALM) as lab:
            bad = ConnectionManager(lab.endpoint, secret + "-wrong")
            try:
                await bad.connect()
            except AuthRejected as exc:
                texts.append(str(exc))
                texts.append(repr(exc))
            texts.append(repr(bad))
            texts.append(bad.explanation)
            await bad.close()
        return texts

    texts = run(scenario())
    assert texts
    assert not [t for t in texts if secret in t]


# ---------------------------------------------------------------- joins, breaker, reset
def test_a_second_connect_joins_the_one_in_flight():
    async def scenario():
        async with LabServer(NetworkProfile("slowish", rtt_median_s=0.05, rtt_sigma=0.0)) as lab:
            async with ConnectionManager(lab.endpoint, lab.token) as manager:
                events = []
                manager.subscribe(events.append)
                first, second = await asyncio.gather(manager.connect(), manager.connect())
                return first is second, events, lab.stats()["sessions"]

    same, events, sessions = run(scenario())
    assert same
    assert sum(isinstance(e, AttemptStarted) for e in events) == 1
    assert any(isinstance(e, WarningEvent) and e.code == "connect_in_progress" for e in events)
    assert sessions == 1


def test_circuit_breaker_opens_after_repeated_failed_connects():
    policy = RetryPolicy(max_attempts=1, base_timeout=1.0)

    async def scenario():
        async with LabServer(profile_preset("server-down")) as lab:
            manager = ConnectionManager(
                lab.endpoint, lab.token, policy=policy, breaker=BreakerConfig(2, 60.0)
            )
            async with manager:
                for _ in range(2):
                    with pytest.raises(ConnectFailed):
                        await manager.connect()
                with pytest.raises(CircuitOpen) as info:
                    await manager.connect()
                attempts_before_reset = len(manager.records)
                manager.reset_backoff()  # "the network is back": the breaker closes
                lab.set_profile(CALM)
                await manager.connect()
                return info.value.retry_after_s, attempts_before_reset, manager.state

    retry_after, attempts, state = run(scenario())
    assert 0 < retry_after <= 60
    assert attempts == 2  # the open breaker made no attempt
    assert state is ConnectionState.CONNECTED


def test_reset_backoff_cuts_a_long_wait_short():
    policy = RetryPolicy(max_attempts=3, base_timeout=1.0, initial_delay=30.0, max_delay=30.0)

    async def scenario():
        async with LabServer(profile_preset("server-down")) as lab:
            async with ConnectionManager(lab.endpoint, lab.token, policy=policy) as manager:
                loop = asyncio.get_running_loop()
                began = loop.time()
                connecting = asyncio.create_task(manager.connect())
                while not manager.records:
                    await asyncio.sleep(0.01)
                lab.set_profile(CALM)
                manager.reset_backoff()
                session = await asyncio.wait_for(connecting, 10)
                return session.strategy, loop.time() - began

    strategy, elapsed = run(scenario())
    assert strategy is Strategy.DIRECT_WEBSOCKET
    assert elapsed < 30 * 0.6  # well before the shortest jittered 30 s wait


def test_heartbeat_detects_a_dead_connection_and_reconnects():
    async def scenario():
        async with LabServer(CALM) as lab:
            manager = ConnectionManager(
                lab.endpoint, lab.token, heartbeat=HeartbeatConfig(interval_s=0.05, timeout_s=0.3)
            )
            async with manager:
                states = []
                manager.subscribe(
                    lambda e: states.append(e.state) if isinstance(e, StateChanged) else None
                )
                first = await manager.connect()
                lab.drop_connections()
                for _ in range(200):
                    await asyncio.sleep(0.02)
                    if manager.session is not None and manager.session is not first:
                        break
                return states, manager.session is not None and manager.session is not first

    states, replaced = run(scenario())
    assert replaced
    assert ConnectionState.RECONNECTING in states
    after_loss = states[states.index(ConnectionState.RECONNECTING) :]
    assert ConnectionState.CONNECTED in after_loss


# ----------------------------------------------------------------------------- leaks
def test_no_task_or_socket_left_after_1000_connect_close_cycles():
    async def scenario():
        async with LabServer(CALM) as lab:
            policy = one_shot(Strategy.DIRECT_WEBSOCKET, timeout=5.0)
            for _ in range(20):  # warm-up: lazily opened resources settle
                async with ConnectionManager(lab.endpoint, lab.token, policy=policy) as m:
                    await m.connect()
            before = fd_count()
            tasks_before = len(asyncio.all_tasks())
            for _ in range(1000):
                async with ConnectionManager(lab.endpoint, lab.token, policy=policy) as m:
                    await m.connect()
            await asyncio.sleep(0.2)
            return before, fd_count(), tasks_before, len(asyncio.all_tasks())

    before, after, tasks_before, tasks_after = run(scenario())
    assert after <= before + 5
    assert tasks_after <= tasks_before


def test_no_task_or_socket_left_after_1000_connect_cancel_cycles():
    rng = random.Random(7)

    async def scenario():
        async with LabServer(CALM) as lab:
            policy = one_shot(Strategy.DIRECT_WEBSOCKET, timeout=5.0)
            before = fd_count()
            tasks_before = len(asyncio.all_tasks())
            cancelled = 0
            for _ in range(1000):
                manager = ConnectionManager(lab.endpoint, lab.token, policy=policy)
                task = asyncio.create_task(manager.connect())
                await asyncio.sleep(rng.random() * 0.002)
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    cancelled += 1
                await manager.close()
            await asyncio.sleep(0.2)
            return before, fd_count(), tasks_before, len(asyncio.all_tasks()), cancelled

    before, after, tasks_before, tasks_after, cancelled = run(scenario())
    assert cancelled > 100  # most cancels landed mid-connect
    assert after <= before + 5
    assert tasks_after <= tasks_before


def test_seeded_managers_draw_the_same_schedule():
    async def scenario():
        async with LabServer(profile_preset("server-down")) as lab:
            policy = RetryPolicy(max_attempts=3, base_timeout=1.0, initial_delay=0.05)
            waits = []
            for _ in range(2):
                manager = ConnectionManager(
                    lab.endpoint, lab.token, policy=policy, rng=np.random.default_rng(5)
                )
                with pytest.raises(ConnectFailed) as info:
                    await manager.connect()
                waits.append([r.wait_before_s for r in info.value.records])
                await manager.close()
            return waits

    first, second = run(scenario())
    assert first == second


# ------------------------------------------------- issue 12: connects that end clearly
@pytest.mark.parametrize("gives", ["raises", "empty"])
def test_a_failing_token_function_ends_in_failed_with_its_retries_an_event_and_a_reason(gives):
    calls = []

    async def fetch_token():
        calls.append(1)
        if gives == "raises":
            raise ConnectionError("sign-in service down")
        return ""

    async def scenario():
        async with LabServer(CALM) as lab:
            manager = ConnectionManager(lab.endpoint, fetch_token, time_scale=0.05)
            events = []
            manager.subscribe(events.append)
            async with manager:
                with pytest.raises(TokenUnavailable) as info:
                    await manager.connect()
                return str(info.value), manager.state, manager.explanation, events, lab.stats()

    message, state, explanation, events, stats = run(scenario())
    assert state is ConnectionState.FAILED  # not left "connecting" forever
    assert len(calls) == 1 + 3  # the function and HttpTokenProvider's 3 retries
    assert ("ConnectionError" if gives == "raises" else "empty token") in message
    states = [e for e in events if isinstance(e, StateChanged)]
    assert [e.state for e in states][-2:] == [ConnectionState.FAILED, ConnectionState.CLOSED]
    assert states[-2].reason == explanation
    assert "login token" in explanation
    assert "токен для входа" in states[-2].reason.say("ru")  # the panel can say it in Russian
    assert not [e for e in events if isinstance(e, AttemptStarted)]
    assert stats["sessions"] == 0


def test_token_fetch_follows_the_time_scale_and_is_bounded_by_the_connect_budget():
    class Hanging(TokenSource):
        async def fetch(self, time_scale: float = 1.0) -> Secret:
            await asyncio.Event().wait()  # a sign-in service that never answers
            raise AssertionError("unreachable")

    async def scenario():
        # The lab's /token sits behind the blackhole: the provider's 5 s per request and its
        # waits shrink with the scale (5 s x 0.01 = 0.05 s), as every number of the policy.
        async with LabServer(profile_preset("blackhole"), time_scale=0.01) as lab:
            provider = HttpTokenProvider(lab.endpoint.http_url)
            manager = ConnectionManager(
                lab.endpoint, provider, policy=policy_preset("seed"), time_scale=0.01
            )
            async with manager:
                with pytest.raises(TokenUnavailable) as scaled:
                    await manager.connect()
                records = list(manager.records)
            # A provider with no timeout of its own is cut at the connect's budget.
            async with ConnectionManager(
                lab.endpoint, Hanging(), policy=one_shot(Strategy.DIRECT_WEBSOCKET, 0.5)
            ) as short:
                with pytest.raises(TokenUnavailable) as bounded:
                    await short.connect()
                state, budget = short.state, short.budget_s
            return str(scaled.value), records, provider.requests, str(bounded.value), state, budget

    scaled, records, requests, bounded, state, budget = run(scenario())
    assert "no answer within 0.05 s" in scaled
    assert requests == 4 and records == []
    assert "no token within 0.5 s" in bounded and budget == 0.5
    assert state is ConnectionState.FAILED


def test_token_time_counts_against_the_deadline():
    delay_s = 0.3

    async def slow_token():
        await asyncio.sleep(delay_s)
        return "lab-token"

    policy = RetryPolicy(
        ladder=(Strategy.DIRECT_WEBSOCKET,), base_timeout=5.0, max_timeout=5.0, deadline=1.0
    )

    async def scenario():
        async with LabServer(profile_preset("blackhole")) as lab:
            async with ConnectionManager(lab.endpoint, slow_token, policy=policy) as manager:
                with pytest.raises(ConnectFailed) as info:
                    await manager.connect()
                return info.value.records

    records = run(scenario())
    # The first attempt starts after the token: it gets what is left of the 1 s deadline.
    assert records and records[0].timeout_s <= 1.0 - delay_s + 1e-9


def test_a_rung_the_endpoint_cannot_serve_is_skipped_with_a_warning_before_any_attempt():
    policy = RetryPolicy(
        ladder=(Strategy.DIRECT_WEBSOCKET, Strategy.MULTIPLE_PORTS, Strategy.LONG_POLLING),
        max_attempts=3,
        base_timeout=1.0,
        initial_delay=0.01,
        max_delay=0.02,
    )

    async def scenario():
        async with LabServer(CALM) as lab:
            primary_only = Endpoint((lab.endpoint.primary,), lab.endpoint.http_url)
            lab.schedule("ws0", [Fault.UPGRADE_403])
            manager = ConnectionManager(primary_only, lab.token, policy=policy)
            events = []
            manager.subscribe(events.append)
            async with manager:
                session = await manager.connect()
                return session.strategy, events

    strategy, events = run(scenario())
    assert strategy is Strategy.LONG_POLLING
    warnings = [e for e in events if isinstance(e, WarningEvent) and e.code == "rung_skipped"]
    assert len(warnings) == 1 and "multiple_ports" in warnings[0].message
    first_attempt = next(i for i, e in enumerate(events) if isinstance(e, AttemptStarted))
    assert events.index(warnings[0]) < first_attempt
    tried = [e.strategy for e in events if isinstance(e, AttemptStarted)]
    assert tried == [Strategy.DIRECT_WEBSOCKET, Strategy.LONG_POLLING]


def test_a_ladder_with_no_rung_the_endpoint_can_serve_is_refused_up_front():
    endpoint = Endpoint(("ws://127.0.0.1:9/ws",), "http://127.0.0.1:9")
    with pytest.raises(ConfigError) as info:
        ConnectionManager(endpoint, "t", policy=one_shot(Strategy.MULTIPLE_PORTS))
    assert "ladder" in str(info.value) and "alternative" in str(info.value)


def test_an_http_base_url_with_a_query_still_reaches_the_fallbacks():
    async def scenario():
        async with LabServer(CALM) as lab:
            http = lab.endpoint.http_url + "/?token=x"
            endpoint = Endpoint((lab.endpoint.primary,), http)
            strategies = []
            for strategy in HTTP_STRATEGIES:
                async with ConnectionManager(
                    endpoint, HttpTokenProvider(http), policy=one_shot(strategy, 5.0)
                ) as manager:
                    session = await manager.connect()
                    strategies.append(session.strategy)
                    assert "token" not in session.url
            return strategies

    assert run(scenario()) == HTTP_STRATEGIES


def test_retry_after_a_failure_starts_a_fresh_connect():
    policy = RetryPolicy(max_attempts=2, base_timeout=1.0, initial_delay=0.01, max_delay=0.02)

    async def scenario():
        async with LabServer(profile_preset("server-down")) as lab:
            async with ConnectionManager(lab.endpoint, lab.token, policy=policy) as manager:
                with pytest.raises(ConnectFailed):
                    await manager.connect()
                failed_attempts = len(manager.records)
                lab.set_profile(CALM)  # the server is back; the user clicks Retry
                session = await manager.retry()
                again = manager.retry()  # connected: nothing to do
                return failed_attempts, session.strategy, manager.state, again

    failed_attempts, strategy, state, again = run(scenario())
    assert failed_attempts == 2
    assert strategy is Strategy.DIRECT_WEBSOCKET and state is ConnectionState.CONNECTED
    assert again is None


def test_auto_retry_connects_by_itself_after_the_breaker_cool_down():
    policy = RetryPolicy(max_attempts=1, base_timeout=1.0)

    async def scenario():
        async with LabServer(profile_preset("server-down")) as lab:
            manager = ConnectionManager(
                lab.endpoint,
                lab.token,
                policy=policy,
                breaker=BreakerConfig(failure_threshold=1, cooldown_s=0.2),
                auto_retry=True,
            )
            events = []
            manager.subscribe(events.append)
            async with manager:
                with pytest.raises(ConnectFailed):
                    await manager.connect()
                lab.set_profile(CALM)
                for _ in range(1500):  # a hang guard, not a timing bound
                    if manager.state is ConnectionState.CONNECTED:
                        break
                    await asyncio.sleep(0.02)
                return manager.state, events

    state, events = run(scenario())
    assert state is ConnectionState.CONNECTED
    assert any(isinstance(e, WarningEvent) and e.code == "auto_retry" for e in events)
    states = [e.state for e in events if isinstance(e, StateChanged)]
    assert states[:4] == [
        ConnectionState.CONNECTING,
        ConnectionState.FAILED,
        ConnectionState.CONNECTING,
        ConnectionState.CONNECTED,
    ]


def test_auto_retry_needs_a_breaker():
    endpoint = Endpoint(("ws://127.0.0.1:9/ws",), "http://127.0.0.1:9")
    with pytest.raises(ConfigError, match="auto_retry"):
        ConnectionManager(endpoint, "t", auto_retry=True)


def test_cancelling_close_itself_is_not_swallowed():
    class Stubborn(TokenSource):
        """A badly written provider: ignores cancellation until released."""

        def __init__(self) -> None:
            self.entered = asyncio.Event()
            self.release = asyncio.Event()

        async def fetch(self, time_scale: float = 1.0) -> Secret:
            self.entered.set()
            while not self.release.is_set():
                try:
                    await self.release.wait()
                except asyncio.CancelledError:
                    continue
            raise ConnectionError("released")

    async def scenario():
        async with LabServer(CALM) as lab:
            provider = Stubborn()
            manager = ConnectionManager(
                lab.endpoint, provider, policy=one_shot(Strategy.DIRECT_WEBSOCKET, 5.0)
            )
            connecting = asyncio.create_task(manager.connect())
            await provider.entered.wait()
            closing = asyncio.create_task(manager.close())
            for _ in range(5):  # close() cancels the connect and waits for it to end
                await asyncio.sleep(0)
            closing.cancel()  # the caller gives up on close() itself
            for _ in range(5):
                await asyncio.sleep(0)
            provider.release.set()
            closed, connected = await asyncio.gather(closing, connecting, return_exceptions=True)
            return closed, connected

    closed, connected = run(scenario())
    assert isinstance(closed, asyncio.CancelledError)
    assert isinstance(connected, TokenUnavailable | asyncio.CancelledError)


# ---------------------------------------------- issue 12: behaviour the suite had not pinned
def test_an_extended_timeout_success_is_connected_with_the_quality_of_profile_time():
    # 1 s RTT at a time scale of 0.05: ~4.5 s of profile time (good), ~0.23 s of wall time
    # (which would be "excellent" if the quality forgot to divide by the scale).
    slow = NetworkProfile("slow", rtt_median_s=1.0, rtt_sigma=0.0, auth_s=0.0, sync_s=0.0)

    async def scenario():
        async with LabServer(slow, time_scale=0.05) as lab:
            manager = ConnectionManager(
                lab.endpoint,
                lab.token,
                policy=one_shot(Strategy.EXTENDED_TIMEOUT, 30.0),
                time_scale=0.05,
            )
            events = []
            manager.subscribe(events.append)
            async with manager:
                session = await manager.connect()
                return session.strategy, manager.state, manager.explanation, events

    strategy, state, explanation, events = run(scenario())
    assert strategy is Strategy.EXTENDED_TIMEOUT
    assert state is ConnectionState.CONNECTED  # a longer wait is not a fallback
    assert explanation == ""
    (finished,) = [e for e in events if isinstance(e, AttemptFinished)]
    assert finished.connected and finished.quality is Quality.GOOD


def test_a_cancelled_half_open_trial_frees_the_breaker_for_the_next_connect():
    now = [0.0]  # the breaker's clock, moved by hand
    entered = asyncio.Event()
    calls = []

    async def fetch_token():
        calls.append(1)
        if len(calls) == 2:  # the half-open trial: hangs until cancelled
            entered.set()
            await asyncio.Event().wait()
        # A JWT that has expired (exp = 1 s after the epoch): never reused, so every
        # connect fetches (the server is down: nobody checks it).
        return "eyJhbGciOiJub25lIn0.eyJleHAiOjF9.c2ln"

    async def scenario():
        async with LabServer(profile_preset("server-down")) as lab:
            manager = ConnectionManager(
                lab.endpoint,
                fetch_token,
                policy=RetryPolicy(max_attempts=1, base_timeout=1.0),
                breaker=BreakerConfig(failure_threshold=1, cooldown_s=30.0),
                clock=lambda: now[0],
            )
            async with manager:
                with pytest.raises(ConnectFailed):
                    await manager.connect()  # the breaker opens
                with pytest.raises(CircuitOpen):
                    await manager.connect()
                now[0] += 31.0  # cool-down over: the next connect is the half-open trial
                trial = asyncio.create_task(manager.connect())
                await entered.wait()
                trial.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await trial
                # Without abandon() the trial would stay "in flight" and refuse this one.
                with pytest.raises(ConnectFailed):
                    await manager.connect()
                return len(calls)

    assert run(scenario()) == 3
