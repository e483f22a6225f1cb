"""The chaos proxy on real loopback sockets: every fault has the effect the model promises.

An echo server stands upstream; clients speak just enough HTTP for the proxy to read a
request head. Bounds on time are lower bounds (an injected delay never comes early) or
generous upper bounds (a noisy 2-core machine).
"""

from __future__ import annotations

import asyncio
import math
import time

import numpy as np
import pytest

from chatconn.core.model import _penalty, draw_conditions, syn_loss_probability
from chatconn.core.profiles import FaultMode, NetworkProfile, Outage
from chatconn.lab.chaos import ChaosProxy, Fault, FaultKind, SessionDraws

SLACK = 1.0  # generous upper bound on scheduling noise, seconds
RTT = 0.05
FIXED = NetworkProfile("fixed", rtt_median_s=RTT, rtt_sigma=0.0, auth_s=0.0, sync_s=0.0)
FAST = NetworkProfile("fast", rtt_median_s=0.001, rtt_sigma=0.0)
GET = b"GET /x HTTP/1.1\r\nHost: lab\r\n\r\n"
UPGRADE = (
    b"GET /ws HTTP/1.1\r\nHost: lab\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def tagged(tag: str) -> bytes:
    return f"GET /x HTTP/1.1\r\nHost: lab\r\nX-Chatconn-Session: {tag}\r\n\r\n".encode()


class Echo:
    """Upstream that echoes bytes; counts connections; ``big`` bytes answer b"BIG"."""

    def __init__(self, big: int = 0) -> None:
        self.connections = 0
        self.big = big
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while data := await reader.read(65536):
                writer.write(b"x" * self.big if data.endswith(b"BIG") else data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


def run(coro):
    return asyncio.run(coro)


async def exchange(port: int, head: bytes = GET, *, timeout: float = 5.0) -> tuple[bytes, float]:
    """Connect, send ``head``, read the first answer; (answer, seconds)."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        async with asyncio.timeout(timeout):
            data = await reader.read(65536)
        return data, time.perf_counter() - started
    finally:
        writer.close()


async def expect_error(port: int, head: bytes = GET, timeout: float = 5.0) -> tuple[type, float]:
    started = time.perf_counter()
    try:
        data, _ = await exchange(port, head, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        return type(exc), time.perf_counter() - started
    return type(None) if not data else bytes, time.perf_counter() - started


def test_a_fixed_rtt_shows_two_rtt_on_the_first_answer_and_one_after():
    async def main():
        async with Echo() as up, ChaosProxy(up, FIXED) as proxy:
            started = time.perf_counter()
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            connected = time.perf_counter() - started
            writer.write(GET)
            assert await reader.read(100) == GET
            first = time.perf_counter() - started
            mid = time.perf_counter()
            writer.write(b"more")
            assert await reader.read(100) == b"more"
            second = time.perf_counter() - mid
            writer.close()
        return connected, first, second

    connected, first, second = run(main())
    assert connected < 2 * RTT  # the TCP connect itself completes locally
    assert 2 * RTT * 0.97 <= first < 2 * RTT + SLACK  # TCP RTT charged on the first chunk
    assert RTT * 0.97 <= second < RTT + SLACK


def test_order_is_kept_across_many_chunks():
    async def main():
        async with Echo() as up, ChaosProxy(up, FIXED.with_changes(rtt_median_s=0.01)) as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(GET)
            expected = GET + b"".join(b"%05d," % i for i in range(2000))
            for i in range(2000):
                writer.write(b"%05d," % i)
                if i % 100 == 0:
                    await asyncio.sleep(0.001)
            got = b""
            async with asyncio.timeout(10):
                while len(got) < len(expected):
                    got += await reader.read(65536)
            writer.close()
            return got == expected

    assert run(main())


def test_bandwidth_paces_the_downstream():
    size = 20_000
    profile = FAST.with_changes(bandwidth_kbps=800.0)  # 100 kB/s: 20 kB take 0.2 s

    async def main():
        async with Echo(big=size) as up, ChaosProxy(up, profile) as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(GET + b"BIG")
            started = time.perf_counter()
            got = 0
            async with asyncio.timeout(10):
                while got < size:
                    got += len(await reader.read(65536))
            writer.close()
            return time.perf_counter() - started

    assert 0.2 * 0.95 <= run(main()) < 0.2 + SLACK


def test_time_scale_multiplies_every_injected_delay():
    profile = FIXED.with_changes(rtt_median_s=1.0)

    async def main():
        async with Echo() as up, ChaosProxy(up, profile, time_scale=0.1) as proxy:
            return await exchange(proxy.port)

    _, seconds = run(main())
    assert 0.2 * 0.97 <= seconds < 0.2 + SLACK


def test_stall_accepts_and_never_answers():
    async def main():
        echo = Echo()
        async with echo as up, ChaosProxy(up, FIXED) as proxy:
            proxy.schedule([Fault.STALL])
            error, _ = await expect_error(proxy.port, timeout=0.5)
            return error, echo.connections, proxy.stats()

    error, upstream_connections, stats = run(main())
    assert error is TimeoutError
    assert upstream_connections == 0
    assert stats["faults"]["stall"] == 1


def test_reset_after_two_rtt_with_so_linger_zero():
    async def main():
        async with Echo() as up, ChaosProxy(up, FIXED) as proxy:
            proxy.schedule([Fault.RESET])
            return await expect_error(proxy.port)

    error, seconds = run(main())
    assert error is ConnectionResetError
    assert 2 * RTT * 0.97 <= seconds < 2 * RTT + SLACK


def test_a_scheduled_refusal_resets_at_once():
    async def main():
        async with Echo() as up, ChaosProxy(up, FIXED) as proxy:
            proxy.schedule([Fault.REFUSE])
            return await expect_error(proxy.port)

    error, seconds = run(main())
    # accepted and reset at once: seen at connect (refused) or at the first read (reset)
    assert error in (ConnectionResetError, ConnectionRefusedError)
    assert seconds < RTT + SLACK


def test_an_outage_in_refuse_mode_stops_listening_and_keeps_the_port():
    down = FIXED.with_changes(outages=(Outage(0.0, math.inf, FaultMode.REFUSE),))

    async def main():
        async with Echo() as up, ChaosProxy(up, FIXED) as proxy:
            port = proxy.port
            proxy.set_profile(down)
            assert not proxy.listening
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", port)
            proxy.set_profile(FIXED)
            assert proxy.listening and proxy.port == port
            answer, _ = await exchange(port)
            return answer

    assert run(main()) == GET


def test_outage_windows_count_from_the_epoch_which_can_be_reset():
    window = FAST.with_changes(outages=(Outage(0.0, 0.3, FaultMode.REFUSE),))

    async def main():
        async with Echo() as up, ChaosProxy(up, window) as proxy:
            refused_at_start = not proxy.listening
            await asyncio.sleep(0.4)  # the window ends at 0.3 s
            answer, _ = await exchange(proxy.port)
            proxy.reset_epoch()
            refused_again = not proxy.listening
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", proxy.port)
            return refused_at_start, answer, refused_again

    assert run(main()) == (True, GET, True)


def test_an_outage_in_hang_mode_hangs_new_and_silences_open_connections():
    hang = FIXED.with_changes(outages=(Outage(0.0, math.inf, FaultMode.HANG),))

    async def main():
        async with Echo() as up, ChaosProxy(up, FIXED) as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(GET)
            assert await reader.read(100) == GET
            proxy.set_profile(hang)
            writer.write(b"anyone?")
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(4 * RTT):
                    await reader.read(100)
            writer.close()
            error, _ = await expect_error(proxy.port, timeout=4 * RTT)
            return error, proxy.stats()["causes"]

    error, causes = run(main())
    assert error is TimeoutError
    assert causes == {"outage": 1}


def test_an_outage_in_refuse_mode_resets_open_connections():
    down = FIXED.with_changes(outages=(Outage(0.0, math.inf, FaultMode.REFUSE),))

    async def main():
        async with Echo() as up, ChaosProxy(up, FIXED) as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(GET)
            assert await reader.read(100) == GET
            proxy.set_profile(down)
            with pytest.raises(ConnectionResetError):
                async with asyncio.timeout(5):
                    await reader.read(100)
            writer.close()

    run(main())


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault.UPGRADE_HANG, TimeoutError),
        (Fault.UPGRADE_RESET, ConnectionResetError),
        (Fault.UPGRADE_403, bytes),
    ],
)
def test_upgrade_blocking_hits_websocket_upgrades_only(fault, expected):
    async def main():
        async with Echo() as up, ChaosProxy(up, FIXED) as proxy:
            proxy.schedule([fault, fault])
            blocked = await expect_error(proxy.port, UPGRADE, timeout=0.4)
            plain, _ = await exchange(proxy.port, GET)
            if expected is bytes:
                answer, _ = await exchange(proxy.port, UPGRADE)  # the profile: passes
                assert answer == UPGRADE
            return blocked, plain

    (error, seconds), plain = run(main())
    assert error is expected
    assert plain == GET  # plain HTTP passes a WebSocket-blocking proxy
    if fault.kind is not FaultKind.UPGRADE_HANG:
        assert 2 * RTT * 0.97 <= seconds < 2 * RTT + SLACK


def test_a_403_is_a_real_http_response():
    async def main():
        async with Echo() as up, ChaosProxy(up, FIXED) as proxy:
            proxy.schedule([Fault.UPGRADE_403])
            answer, _ = await exchange(proxy.port, UPGRADE)
            return answer

    assert run(main()).startswith(b"HTTP/1.1 403 Forbidden\r\n")


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (FaultMode.HANG, TimeoutError),
        (FaultMode.RESET, ConnectionResetError),
        (FaultMode.FORBIDDEN, bytes),
    ],
)
def test_a_profile_behind_a_websocket_blocking_proxy(mode, expected):
    profile = FIXED.with_changes(ws_blocked_share=1.0, ws_block_mode=mode)

    async def main():
        async with Echo() as up, ChaosProxy(up, profile) as proxy:
            blocked = await expect_error(proxy.port, UPGRADE, timeout=0.4)
            plain, _ = await exchange(proxy.port, GET)
            return blocked[0], plain, proxy.stats()["causes"]

    error, plain, causes = run(main())
    assert error is expected and plain == GET
    assert causes == {"ws_proxy": 1}


def test_blocked_ports_follow_the_port_role():
    hang = FIXED.with_changes(
        blocked_ports=frozenset({1}), blocked_ports_share=1.0, port_block_mode=FaultMode.HANG
    )
    refuse = hang.with_changes(port_block_mode=FaultMode.REFUSE)

    async def main():
        async with (
            Echo() as up,
            ChaosProxy(up, hang, role="ws1") as alt,
            ChaosProxy(up, hang, role="ws0") as primary,
            ChaosProxy(up, hang, role="http") as http,
        ):
            hung = await expect_error(alt.port, UPGRADE, timeout=0.5)
            ok_primary, _ = await exchange(primary.port, UPGRADE)
            ok_http, _ = await exchange(http.port, GET)
            alt.set_profile(refuse)
            http.set_profile(refuse)
            with pytest.raises(ConnectionRefusedError):  # every session: not listening
                await asyncio.open_connection("127.0.0.1", alt.port)
            ok_http_refuse, _ = await exchange(http.port, GET)
            return hung[0], ok_primary, ok_http, ok_http_refuse

    hung, ok_primary, ok_http, ok_http_refuse = run(main())
    assert hung is TimeoutError
    assert ok_primary == UPGRADE and ok_http == GET and ok_http_refuse == GET


def test_schedule_applies_per_connection_in_order_then_the_profile():
    async def main():
        async with Echo() as up, ChaosProxy(up, FIXED) as proxy:
            proxy.schedule([Fault.RESET, Fault.NONE, Fault(rtt_s=0.3), "stall"])
            assert len(proxy.pending_faults) == 4
            first = await expect_error(proxy.port)
            second = await exchange(proxy.port)
            third = await exchange(proxy.port)
            fourth = await expect_error(proxy.port, timeout=0.4)
            fifth = await exchange(proxy.port)  # the profile again
            return first, second, third, fourth, fifth, [r.cause for r in proxy.records]

    first, second, third, fourth, fifth, causes = run(main())
    assert first[0] is ConnectionResetError
    assert second[0] == GET and third[0] == GET and fifth[0] == GET
    assert third[1] >= 2 * 0.3 * 0.97  # Fault(rtt_s=0.3) replaced the profile's RTT
    assert fourth[0] is TimeoutError
    assert causes == ["scheduled", "", "", "scheduled", ""]


def test_set_profile_switches_at_run_time():
    async def main():
        async with Echo() as up, ChaosProxy(up, FAST) as proxy:
            _, fast = await exchange(proxy.port)
            proxy.set_profile(FIXED.with_changes(rtt_median_s=0.3))
            _, slow = await exchange(proxy.port)
            return fast, slow

    fast, slow = run(main())
    assert fast < 0.3
    assert slow >= 2 * 0.3 * 0.97


def test_per_connection_draws_follow_the_model():
    profile = NetworkProfile(
        "drawn", rtt_median_s=0.05, rtt_sigma=0.8, loss=0.3, stall_probability=0.0,
        reset_probability=0.0, ws_blocked_share=0.5, blocked_ports_share=0.0,
    )  # fmt: skip
    scale = 0.001

    async def main():
        async with Echo() as up, ChaosProxy(up, profile, rng=7, time_scale=scale) as proxy:
            for _ in range(30):
                await exchange(proxy.port)
            return list(proxy.records)

    records = run(main())
    rng = np.random.default_rng(7)
    q = syn_loss_probability(profile)
    for record in records:
        conditions = draw_conditions(profile, rng)
        u_loss = rng.random()
        penalty = float(_penalty(np.array([u_loss]), q)[0]) if u_loss < q else 0.0
        assert record.rtt_s == pytest.approx(float(conditions.rtt[0]) * scale)
        assert record.penalty_s == pytest.approx(penalty * scale)
    assert any(r.penalty_s > 0 for r in records)  # loss 0.3: q = 0.51


def test_a_tagged_session_keeps_its_conditions_untagged_ones_vary():
    profile = FIXED.with_changes(ws_blocked_share=0.5, ws_block_mode=FaultMode.FORBIDDEN)
    tag_upgrade = UPGRADE.replace(b"Host: lab\r\n", b"Host: lab\r\nX-Chatconn-Session: s-42\r\n")

    async def main():
        draws = SessionDraws(3)
        async with (
            Echo() as up,
            ChaosProxy(up, profile.with_changes(rtt_median_s=0.001), rng=draws) as one,
            ChaosProxy(up, profile.with_changes(rtt_median_s=0.001), rng=draws) as two,
        ):
            tagged_blocked = set()
            for proxy in (one, two, one, two, one, two):
                answer, _ = await exchange(proxy.port, tag_upgrade)
                tagged_blocked.add(answer.startswith(b"HTTP/1.1 403"))
            untagged = set()
            for _ in range(24):
                answer, _ = await exchange(one.port, UPGRADE)
                untagged.add(answer.startswith(b"HTTP/1.1 403"))
            rtts = {r.rtt_s for r in (*one.records, *two.records) if r.session_tag == "s-42"}
            return tagged_blocked, untagged, rtts

    tagged_blocked, untagged, rtts = run(main())
    assert len(tagged_blocked) == 1  # one draw for the session, on both ports
    assert untagged == {True, False}  # a new session per connection
    assert len(rtts) == 1


def test_drop_all_resets_open_connections():
    async def main():
        async with Echo() as up, ChaosProxy(up, FAST) as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(GET)
            assert await reader.read(100) == GET
            assert proxy.drop_all() == 1
            with pytest.raises(ConnectionResetError):
                async with asyncio.timeout(5):
                    await reader.read(100)
            writer.close()

    run(main())


def test_close_releases_every_socket_and_task():
    async def main():
        async with Echo() as up:
            proxy = ChaosProxy(up, FIXED)
            await proxy.start()
            port = proxy.port
            proxy.schedule([Fault.STALL, Fault.RESET])
            opened = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
            for _, writer in opened:
                writer.write(GET)
            await asyncio.sleep(0.05)
            assert proxy.stats()["active"] == 3
            await proxy.close()
            await proxy.close()  # idempotent
            stats = proxy.stats()
            for reader, writer in opened:
                async with asyncio.timeout(5):
                    with pytest.raises(ConnectionError):
                        if not await reader.read(100):
                            raise ConnectionResetError  # EOF counts as closed too
                writer.close()
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", port)
            leftover = asyncio.all_tasks() - {asyncio.current_task()}
            return stats, leftover

    stats, leftover = run(main())
    assert stats["active"] == 0 and stats["connections"] == 3
    assert not {t for t in leftover if "Echo" not in repr(t)}


def test_bad_arguments_are_rejected():
    from chatconn.core.errors import ConfigError

    with pytest.raises(ConfigError):
        ChaosProxy(1, FIXED, time_scale=0)
    with pytest.raises(ConfigError):
        ChaosProxy(1, FIXED, role="ws9x")
    with pytest.raises(ConfigError):
        Fault("explode")
    with pytest.raises(ConfigError):
        Fault(rtt_s=-1)


def test_a_stalled_connection_closed_by_its_client_is_released():
    async def main():
        async with Echo() as up, ChaosProxy(up, FIXED) as proxy:
            proxy.schedule([Fault.STALL])
            _, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(GET)
            await asyncio.sleep(0.05)
            active = proxy.stats()["active"]
            writer.close()  # a graceful close (FIN), as a client that gives up does
            await writer.wait_closed()
            for _ in range(100):
                if not proxy.stats()["active"]:
                    break
                await asyncio.sleep(0.01)
            return active, proxy.stats()["active"]

    assert run(main()) == (1, 0)


def test_decide_applies_the_rules_in_the_models_order_of_precedence():
    from chatconn.lab.faults import decide

    everything = NetworkProfile(
        "everything", rtt_sigma=0.0, stall_probability=1.0, ws_blocked_share=1.0,
        ws_block_mode=FaultMode.FORBIDDEN, blocked_ports=frozenset({1}), blocked_ports_share=1.0,
        port_block_mode=FaultMode.REFUSE,
    )  # fmt: skip
    draws = SessionDraws(0)

    def kind(role, upgrade, scheduled=None):
        return decide(
            everything, role=role, upgrade=upgrade, session_tag=None, draws=draws,
            scheduled=scheduled,
        ).kind  # fmt: skip

    assert kind(None, False) is FaultKind.STALL  # HTTP: only the stall applies
    assert kind(0, True) is FaultKind.UPGRADE_403  # the proxy overrides the stall
    assert kind(1, True) is FaultKind.REFUSE  # the blocked port overrides the proxy
    assert kind(0, False) is FaultKind.STALL  # plain HTTP passes the proxy
    assert kind(1, True, Fault.NONE) is FaultKind.NONE  # a scheduled fault replaces all
