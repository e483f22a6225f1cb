"""What the manager's per-connect shortcuts must keep: the same draws, the same joins,
the same event delivery (issue 18, goal 4: the connect overhead over bare websockets).

The speed itself is measured by benchmarks/bench_live.py, never asserted here."""

from __future__ import annotations

import asyncio
import copy
import gc

import numpy as np
import pytest
from helpers import run

from chatconn.core.errors import ConfigError
from chatconn.core.policy import RetryPolicy
from chatconn.core.presets import policy_preset
from chatconn.core.profiles import NetworkProfile
from chatconn.core.schedule import Schedule
from chatconn.endpoint import Endpoint
from chatconn.lab.server import LabServer
from chatconn.live import manager as manager_module
from chatconn.live.events import EventBus, StateChanged
from chatconn.live.manager import ConnectionManager

SLOWISH = NetworkProfile("slowish", rtt_median_s=0.05, rtt_sigma=0.0)


@pytest.mark.parametrize("preset", ["seed", "grpc", "socketio"])
def test_a_schedule_from_the_uniforms_of_a_generator_is_the_one_it_draws(preset):
    policy = policy_preset(preset)
    u = np.random.default_rng(7).random(policy.max_attempts).tolist()
    assert Schedule.from_uniforms(policy, u) == Schedule.draw(policy, np.random.default_rng(7))


def test_a_schedule_needs_one_uniform_per_attempt():
    policy = policy_preset("seed")
    with pytest.raises(ConfigError, match="max_attempts"):
        Schedule.from_uniforms(policy, [0.5] * (policy.max_attempts + 1))


def test_the_shared_pool_hands_out_the_shared_generators_stream_in_order():
    # Across refills, and for a request larger than a block.
    block = manager_module._POOL_BLOCK
    with manager_module._pool_lock:
        manager_module._pool.clear()
        generator = copy.deepcopy(manager_module._SHARED)
    sizes = [3, 1, block - 4, 5, 2, block + 100, 1]
    got = [x for size in sizes for x in manager_module._shared_uniforms(size)]
    # Blocks are drawn when the pool runs short: block, block, block + 100 here.
    expected = np.concatenate(
        [generator.random(block), generator.random(block), generator.random(block + 100)]
    ).tolist()
    assert got == expected[: len(got)]
    assert all(0.0 <= x < 1.0 for x in got)


def test_a_manager_given_a_generator_draws_its_schedule_from_it():
    async def scenario():
        async with LabServer(SLOWISH) as lab:
            policy = policy_preset("seed")
            manager = ConnectionManager(lab.endpoint, lab.token, policy=policy,
                                        rng=np.random.default_rng(11))  # fmt: skip
            async with manager:
                await manager.connect()
                return manager.schedule, policy

    schedule, policy = run(scenario())
    assert schedule == Schedule.draw(policy, np.random.default_rng(11))


def test_a_joiner_gets_the_session_when_the_first_caller_gives_up():
    async def scenario():
        async with LabServer(SLOWISH) as lab:
            async with ConnectionManager(lab.endpoint, lab.token) as manager:
                first = asyncio.create_task(manager.connect())
                await asyncio.sleep(0.01)  # in flight: the second joins it
                second = asyncio.create_task(manager.connect())
                await asyncio.sleep(0.01)
                first.cancel()
                session = await second
                with pytest.raises(asyncio.CancelledError):
                    await first
                return session, manager.state.value, lab.stats()["sessions"]

    session, state, sessions = run(scenario())
    assert session is not None and state == "connected" and sessions == 1


def test_a_connect_cancelled_before_its_task_ran_ends_its_caller():
    """close() right after connect() started the task: the caller is not left waiting."""

    async def scenario():
        async with LabServer(SLOWISH) as lab:
            manager = ConnectionManager(lab.endpoint, lab.token)
            caller = asyncio.create_task(manager.connect())
            await asyncio.sleep(0)  # the caller started the connect task; it has not run
            await manager.close()
            done, _ = await asyncio.wait({caller}, timeout=5)
            return done, caller

    done, caller = run(scenario())
    assert done == {caller} and caller.cancelled()


def test_a_failed_connect_reaches_every_joiner_and_is_retrieved():
    async def scenario():
        loop = asyncio.get_running_loop()
        unhandled = []
        loop.set_exception_handler(lambda _loop, context: unhandled.append(context))
        async with LabServer(SLOWISH) as lab:
            port = lab.endpoint.primary.rsplit(":", 1)[1].split("/")[0]
        # The lab is gone: every attempt is refused.
        endpoint = Endpoint((f"ws://127.0.0.1:{port}/ws",), f"http://127.0.0.1:{port}")
        policy = RetryPolicy(ladder=("direct_websocket",), max_attempts=1, base_timeout=2.0)
        async with ConnectionManager(endpoint, "t", policy=policy) as manager:
            results = await asyncio.gather(
                manager.connect(), manager.connect(), return_exceptions=True
            )
        gc.collect()
        await asyncio.sleep(0)
        return results, unhandled

    results, unhandled = run(scenario())
    assert [type(r).__name__ for r in results] == ["ConnectFailed", "ConnectFailed"]
    assert results[0] is results[1]  # one connect, one outcome
    assert not unhandled  # no "exception was never retrieved"


def test_a_callback_unsubscribed_during_an_emit_still_gets_that_event_only():
    bus = EventBus()
    seen: list[str] = []
    unsubscribe = None

    def first(event):
        seen.append("first")
        unsubscribe()

    def second(event):
        seen.append("second")

    bus.subscribe(first)
    unsubscribe = bus.subscribe(second)
    event = StateChanged(0.0, manager_module.ConnectionState.CONNECTING,
                         manager_module.ConnectionState.IDLE)  # fmt: skip
    bus.emit(event)
    bus.emit(event)
    assert seen == ["first", "second", "first"]
    assert list(bus.history) == [event, event]
