"""The live transports against the real lab (a LabServerThread) over loopback sockets.

Each test runs its client in ``asyncio.run`` on the main thread; the lab runs on its own
loop. Bounds on time are lower bounds or generous upper bounds.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time

import httpx
import pytest
from websockets.asyncio.server import serve

from chatconn.core.profiles import FaultMode, NetworkProfile, Outage
from chatconn.core.strategies import ErrorCategory, Strategy
from chatconn.endpoint import Endpoint
from chatconn.lab.chaos import Fault
from chatconn.lab.thread import LabServerThread
from chatconn.live.errors import (
    AuthRejected,
    ConnectionRefused,
    ConnectionReset,
    ProtocolViolation,
    ServerUnavailable,
    UpgradeRejected,
    status_error,
)
from chatconn.live.session import PhaseClock, Session
from chatconn.live.transports import open_session

FAST = NetworkProfile(
    "lab-fast", rtt_median_s=0.001, rtt_sigma=0.0, auth_s=0.0, sync_s=0.0, sync_bytes=3000
)
TOKEN = "lab-token-Zq9"
ALL = list(Strategy)
WEBSOCKET = [Strategy.DIRECT_WEBSOCKET, Strategy.EXTENDED_TIMEOUT, Strategy.MULTIPLE_PORTS]
HTTP = [Strategy.LONG_POLLING, Strategy.SSE_FALLBACK]
#: Round trips to "connected" per strategy, as chatconn/wire.py counts them.
ROUND_TRIPS = {
    Strategy.DIRECT_WEBSOCKET: 4,
    Strategy.EXTENDED_TIMEOUT: 4,
    Strategy.MULTIPLE_PORTS: 4,
    Strategy.LONG_POLLING: 3,
    Strategy.SSE_FALLBACK: 4,
}


@pytest.fixture(scope="module")
def lab():
    with LabServerThread(FAST, token=TOKEN, seed=1) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(lab):
    lab.set_profile(FAST, reset_epoch=True)
    lab.clear_schedules()
    lab.garbage = False
    lab.fail_token(0)
    lab.hang_token(False)
    yield
    lab.clear_schedules()


def run(coro):
    return asyncio.run(coro)


def others() -> set[asyncio.Task]:
    return asyncio.all_tasks() - {asyncio.current_task()}


async def open_(strategy, endpoint, token=TOKEN, **kwargs) -> tuple[Session, PhaseClock]:
    phases = PhaseClock()
    session = await open_session(strategy, endpoint, token, phases, **kwargs)
    return session, phases


@pytest.mark.parametrize("strategy", ALL, ids=str)
def test_each_strategy_connects_syncs_chats_pings_and_closes(lab, strategy):
    endpoint = lab.endpoint

    async def main():
        session, phases = await open_(strategy, endpoint)
        assert isinstance(session, Session)
        assert session.strategy is strategy and session.session_id
        assert session.sync_bytes == FAST.sync_bytes
        await session.send(f"hello from {strategy}")
        message = await asyncio.wait_for(session.receive(), 5)
        await asyncio.wait_for(session.ping(), 5)
        text = repr(session)
        await session.close()
        await session.close()  # idempotent
        with pytest.raises(ConnectionReset):
            await session.receive()
        with pytest.raises(ConnectionReset):
            await session.send("too late")
        return phases.marks, message, text, others()

    marks, message, text, leftover = run(main())
    assert list(marks) == ["tcp", "handshake", "auth", "sync"]
    assert marks["tcp"] <= marks["handshake"] <= marks["auth"] <= marks["sync"]
    assert message["type"] == "message" and message["text"] == f"hello from {strategy}"
    assert TOKEN not in text
    assert not leftover


def test_a_message_reaches_every_transport(lab):
    endpoint = lab.endpoint

    async def main():
        sessions = [(await open_(s, endpoint))[0] for s in ALL]
        try:
            await sessions[3].send("to everyone")  # long polling sends
            got = [await asyncio.wait_for(s.receive(), 5) for s in sessions]
        finally:
            for s in sessions:
                await s.close()
        return got, sessions[3].session_id

    got, sender = run(main())
    assert all(m == {"type": "message", "from": sender, "text": "to everyone"} for m in got)


@pytest.mark.parametrize("strategy", ALL, ids=str)
def test_a_bad_token_is_auth_rejected(lab, strategy):
    endpoint = lab.endpoint

    async def main():
        with pytest.raises(AuthRejected) as rejected:
            await open_(strategy, endpoint, token="not-the-token-XyZ")
        return rejected.value, others()

    error, leftover = run(main())
    assert "not-the-token-XyZ" not in str(error) and "not-the-token-XyZ" not in repr(error)
    assert not error.retryable
    assert not leftover


@pytest.mark.parametrize("strategy", ALL, ids=str)
def test_a_server_that_speaks_garbage_is_a_protocol_violation(lab, strategy):
    endpoint = lab.endpoint
    lab.garbage = True

    async def main():
        with pytest.raises(ProtocolViolation) as violation:
            await open_(strategy, endpoint)
        return violation.value, others()

    error, leftover = run(main())
    assert TOKEN not in str(error)
    assert not leftover


def test_round_trips_per_strategy_match_the_protocol(lab):
    rtt = 0.4
    endpoint = lab.endpoint

    async def timed(strategy):
        started = time.perf_counter()
        session, _ = await open_(strategy, endpoint)
        elapsed = time.perf_counter() - started
        await session.close()
        return elapsed

    async def main():
        return await asyncio.gather(*(timed(s) for s in ALL))

    run(main())  # warm up: one-time imports and client set-up are not round trips
    lab.set_profile(FAST.with_changes(rtt_median_s=rtt))
    for strategy, elapsed in zip(ALL, run(main()), strict=True):
        n = ROUND_TRIPS[strategy]
        assert n * rtt * 0.97 <= elapsed < (n + 0.5) * rtt, (strategy, elapsed)


@pytest.mark.parametrize("strategy", ALL, ids=str)
def test_a_stall_is_left_to_the_callers_timeout(lab, strategy):
    endpoint = lab.endpoint
    for role in ("ws0", "ws1", "ws2", "http"):
        lab.schedule(role, [Fault.STALL])

    async def main():
        started = time.perf_counter()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await open_(strategy, endpoint)
        return time.perf_counter() - started, others()

    elapsed, leftover = run(main())
    assert elapsed < 0.3 + 1.0
    assert not leftover


@pytest.mark.parametrize("strategy", ALL, ids=str)
def test_a_reset_is_connection_reset(lab, strategy):
    endpoint = lab.endpoint
    for role in ("ws0", "ws1", "ws2", "http"):
        lab.schedule(role, [Fault.RESET])

    async def main():
        with pytest.raises(ConnectionReset) as reset:
            await open_(strategy, endpoint)
        return reset.value

    assert run(main()).category is ErrorCategory.RESET


@pytest.mark.parametrize("strategy", ALL, ids=str)
def test_a_server_down_is_connection_refused(lab, strategy):
    endpoint = lab.endpoint
    lab.set_profile(FAST.with_changes(outages=(Outage(0.0, math.inf, FaultMode.REFUSE),)))

    async def main():
        with pytest.raises(ConnectionRefused) as refused:
            await open_(strategy, endpoint)
        return refused.value

    assert run(main()).category is ErrorCategory.REFUSED


@pytest.mark.parametrize("strategy", ALL, ids=str)
def test_a_scheduled_refusal_is_a_reset_at_once(lab, strategy):
    # A listening port cannot refuse one connection: the lab accepts and resets at once,
    # which the client may notice during connect or just after; both are RESET.
    endpoint = lab.endpoint
    for role in ("ws0", "ws1", "ws2", "http"):
        lab.schedule(role, [Fault.REFUSE] * 3)

    async def main():
        started = time.perf_counter()
        for _ in range(3):
            with pytest.raises(ConnectionReset):
                await open_(strategy, endpoint)
        return time.perf_counter() - started, others()

    elapsed, leftover = run(main())
    assert elapsed < 3 * 1.0
    assert not leftover


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault.UPGRADE_403, UpgradeRejected),
        (Fault.UPGRADE_RESET, ConnectionReset),
        (Fault.UPGRADE_HANG, TimeoutError),
    ],
)
def test_upgrade_blocking_as_the_websocket_client_sees_it(lab, fault, expected):
    endpoint = lab.endpoint
    lab.schedule("ws0", [fault])
    lab.schedule("http", [fault])

    async def main():
        with pytest.raises(expected):
            async with asyncio.timeout(0.5):
                await open_(Strategy.DIRECT_WEBSOCKET, endpoint)
        session, _ = await open_(Strategy.LONG_POLLING, endpoint)  # plain HTTP passes
        await session.close()
        return others()

    assert not run(main())


def test_multiple_ports_wins_on_the_open_port_and_closes_the_rest(lab):
    endpoint = lab.endpoint
    lab.schedule("ws1", [Fault.STALL])

    async def main():
        session, phases = await open_(Strategy.MULTIPLE_PORTS, endpoint)
        url = session.url
        await session.close()
        return url, phases.marks, others()

    url, marks, leftover = run(main())
    assert url == endpoint.alternatives[1]
    assert list(marks) == ["tcp", "handshake", "auth", "sync"]
    assert not leftover


def test_multiple_ports_fails_with_the_last_error_when_every_port_fails(lab):
    endpoint = lab.endpoint
    lab.schedule("ws1", [Fault.UPGRADE_403])
    lab.schedule("ws2", [Fault.UPGRADE_RESET])

    async def main():
        with pytest.raises((UpgradeRejected, ConnectionReset)):
            await open_(Strategy.MULTIPLE_PORTS, endpoint)
        return others()

    assert not run(main())


def test_multiple_ports_needs_alternatives(lab):
    endpoint = Endpoint((lab.endpoint.primary,), lab.endpoint.http_url)
    with pytest.raises(ValueError, match="alternative"):
        run(open_(Strategy.MULTIPLE_PORTS, endpoint))


@pytest.mark.parametrize("strategy", ALL, ids=str)
def test_receive_raises_connection_reset_when_the_connection_is_gone(lab, strategy):
    endpoint = lab.endpoint

    async def main():
        session, _ = await open_(strategy, endpoint)
        try:
            await asyncio.sleep(0.05)  # the long poll is out
            lab.drop_connections()
            with pytest.raises(ConnectionReset):
                await asyncio.wait_for(session.receive(), 5)
        finally:
            await session.close()
        return others()

    assert not run(main())


def test_the_session_tag_is_sent_and_shared_across_ports(lab):
    endpoint = lab.endpoint

    async def main():
        for strategy in (Strategy.DIRECT_WEBSOCKET, Strategy.SSE_FALLBACK):
            session, _ = await open_(strategy, endpoint, session_tag="user-7")
            await session.close()

    run(main())
    records = lab.call(lambda: [r for p in lab.lab.proxies.values() for r in p.records])
    tags = {(r.role, r.session_tag) for r in records if r.session_tag}
    assert ("ws0", "user-7") in tags and ("http", "user-7") in tags


def test_a_shared_http_client_is_used_and_left_open(lab):
    endpoint = lab.endpoint

    async def main():
        async with httpx.AsyncClient() as client:
            for strategy in HTTP:
                session, _ = await open_(strategy, endpoint, http_client=client)
                await session.send("shared")
                await asyncio.wait_for(session.receive(), 5)
                await session.close()
            return client.is_closed

    assert run(main()) is False


def test_5xx_and_4xx_answers_map_to_categories():
    async def main():
        def reject(connection, request):
            status = int(request.path.strip("/"))
            return connection.respond(status, "no\n")

        async with serve(lambda ws: None, "127.0.0.1", 0, process_request=reject) as server:
            port = server.sockets[0].getsockname()[1]
            errors = {}
            for status in (503, 403, 401):
                endpoint = Endpoint((f"ws://127.0.0.1:{port}/{status}",), "http://127.0.0.1:1")
                with pytest.raises(Exception) as caught:
                    await open_(Strategy.DIRECT_WEBSOCKET, endpoint)
                errors[status] = type(caught.value)
            return errors

    assert run(main()) == {503: ServerUnavailable, 403: UpgradeRejected, 401: AuthRejected}
    assert isinstance(status_error(502, "x"), ServerUnavailable)
    assert isinstance(status_error(401, "x"), AuthRejected)
    assert isinstance(status_error(404, "x", session_url=True), ConnectionReset)


def test_a_cancelled_attempt_leaves_nothing_behind(lab):
    endpoint = lab.endpoint
    lab.set_profile(FAST.with_changes(rtt_median_s=0.2))

    async def attempt(strategy, timeout):
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(timeout):
                await open_(strategy, endpoint)

    async def main():
        # cancelled mid-handshake, mid-auth or mid-sync, all at once
        await asyncio.gather(*(attempt(s, t) for s in ALL for t in (0.1, 0.3, 0.5)))
        return others()

    assert not run(main())


def test_no_task_or_fd_leaks_over_100_open_close_cycles(lab):
    endpoint = lab.endpoint

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    async def cycles():
        for i in range(100):
            session, _ = await open_(ALL[i % len(ALL)], endpoint)
            if i % 10 == 0:
                await session.send("cycle")
                await asyncio.wait_for(session.receive(), 5)
            await session.close()
        return others()

    before = fds()
    assert not run(cycles())
    deadline = time.monotonic() + 10  # the lab (same process) closes its side shortly
    while fds() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fds() <= before


def test_the_token_reaches_no_log_even_at_debug(lab, caplog):
    endpoint = lab.endpoint
    caplog.set_level(logging.DEBUG)

    async def main():
        for strategy in ALL:
            session, _ = await open_(strategy, endpoint)
            await session.send("logged?")
            await asyncio.wait_for(session.receive(), 5)
            await session.close()
            with pytest.raises(AuthRejected):
                await open_(strategy, endpoint, token=TOKEN + "-bad")

    run(main())
    assert caplog.records  # something was logged at DEBUG
    assert TOKEN not in caplog.text
