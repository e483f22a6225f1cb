"""The lab in a child process (LabProcess) and the harness's admission gate (ConnectGate):
real sockets against a real lab, no mocked network."""

from __future__ import annotations

import asyncio
import os
import resource
from pathlib import Path

import helpers
import pytest
from helpers import run

from chatconn.core.errors import ConfigError
from chatconn.core.profiles import NetworkProfile
from chatconn.core.strategies import Strategy
from chatconn.lab.chaos import Fault
from chatconn.lab.process import LabProcess
from chatconn.lab.server import LabServer
from chatconn.limits import raise_open_files_limit
from chatconn.live.errors import ConnectFailed
from chatconn.live.gate import ConnectGate
from chatconn.live.manager import ConnectionManager

CALM = NetworkProfile("calm", rtt_median_s=0.002, rtt_sigma=0.0, auth_s=0.0, sync_s=0.0)
SECRET = "s3cret-process-token"


@pytest.fixture(scope="module")
def lab():
    with LabProcess(CALM, token=SECRET, seed=3) as lab:
        yield lab
    assert not lab.running


def test_lab_process_serves_real_connects_from_another_process(lab):
    assert lab.pid != os.getpid() and lab.running

    async def connect() -> Strategy:
        policy = helpers.one_shot(Strategy.DIRECT_WEBSOCKET, 5.0)
        async with ConnectionManager(lab.endpoint, lab.token, policy=policy) as manager:
            return (await manager.connect()).strategy

    assert run(connect()) is Strategy.DIRECT_WEBSOCKET
    assert lab.stats()["hub"]["auth_ok"] >= 1


def test_lab_process_control_calls_apply_in_the_child(lab):
    lab.schedule("ws0", [Fault.REFUSE])

    async def connect() -> None:
        policy = helpers.one_shot(Strategy.DIRECT_WEBSOCKET, 5.0)
        async with ConnectionManager(lab.endpoint, lab.token, policy=policy) as manager:
            await manager.connect()

    with pytest.raises(ConnectFailed):
        run(connect())
    assert lab.stats()["ports"]["ws0"]["faults"]["refuse"] == 1
    lab.set_time_scale(0.5)
    assert lab.time_scale == 0.5
    with pytest.raises(ConfigError, match="role"):  # the child's error, raised here
        lab.schedule("nope", [Fault.STALL])


def test_lab_process_keeps_the_token_out_of_its_command_line_and_repr(lab):
    cmdline = Path(f"/proc/{lab.pid}/cmdline").read_bytes().decode(errors="replace")
    assert SECRET not in cmdline
    assert SECRET not in repr(lab)


def test_lab_process_stops_when_its_parent_goes_away():
    lab = LabProcess(CALM).start()
    pid = lab.pid
    lab._conn.close()  # what the parent's exit does to the socket pair
    lab._process.wait(timeout=20)  # the child saw EOF, closed the lab and exited
    assert lab._process.returncode == 0
    lab._process = lab._conn = None
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_lab_process_refuses_tls_and_validates_in_the_caller():
    with pytest.raises(ConfigError, match="tls"):
        LabProcess(CALM, tls=object())
    with pytest.raises(ConfigError, match="port"):
        LabProcess(CALM, port=-1)


def test_lab_process_reports_a_startup_failure():
    with LabProcess(CALM) as first:
        port = first.call("stats") and int(first.endpoint.primary.split(":")[2].split("/")[0])
        with pytest.raises(OSError):
            LabProcess(CALM, port=port).start()  # the port is taken: the child's OSError


def test_open_files_limit_is_raised_to_the_hard_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = raise_open_files_limit()
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == limit >= soft
    if hard != resource.RLIM_INFINITY:
        assert limit == hard


# -------------------------------------------------------------------------- the gate
def test_gate_admits_at_most_its_limit_and_counts_the_waits():
    async def scenario() -> tuple[int, ConnectGate]:
        gate = ConnectGate(3)
        inside = 0
        most = 0

        async def attempt() -> None:
            nonlocal inside, most
            async with gate:
                inside += 1
                most = max(most, inside)
                await asyncio.sleep(0.01)
                inside -= 1

        await asyncio.gather(*(attempt() for _ in range(10)))
        return most, gate

    most, gate = run(scenario())
    assert most == 3 == gate.peak
    assert gate.waited == 7 and gate.waited_s > 0 and gate.in_flight == 0


def test_gate_rejects_a_bad_limit():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ConfigError, match="limit"):
            ConnectGate(bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="gate"):
        ConnectionManager(_endpoint(), "t", gate=object())  # type: ignore[arg-type]


def _endpoint():
    from chatconn.endpoint import Endpoint

    return Endpoint(("ws://127.0.0.1:9/ws",), "http://127.0.0.1:9")


def test_wait_at_the_gate_is_not_part_of_the_attempt_or_its_timeout():
    """An attempt with a 0.5 s timeout that waits 1 s at the gate still connects, and its
    recorded time starts when it was admitted."""

    async def scenario() -> tuple[float, float]:
        gate = ConnectGate(1)
        async with LabServer(CALM) as lab:
            policy = helpers.one_shot(Strategy.DIRECT_WEBSOCKET, 0.5)
            manager = ConnectionManager(lab.endpoint, lab.token, policy=policy, gate=gate)
            async with gate:  # another session's attempt holds the only slot for 1 s
                task = asyncio.create_task(manager.connect())
                await asyncio.sleep(1.0)
            await task
            waited = gate.waited_s
            await manager.close()
            assert manager.records[0].connected
            return manager.attempts_elapsed_s, waited

    elapsed, waited = run(scenario())
    assert waited >= 0.9
    assert elapsed < 0.5  # admitted, then connected within its own timeout
