"""``chatconn proxy``: real clients through the chaos proxy in front of a real server, and
the observed run file it writes (read back by ``runs``, ``observe``, ``calibrate``)."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import default_sigint, run
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from chatconn.cli import main
from chatconn.core.errors import ConfigError
from chatconn.core.profiles import profile_preset
from chatconn.live.harness import quiet_heap
from chatconn.proxy import ObservingProxy, check_listen_host
from chatconn.runs import load_run

ROOT = Path(__file__).resolve().parents[1]
#: What the harness may add to one measured round trip on a busy 2-core machine: event-loop
#: lag in three parties (client+server loop here, the proxy's process), several ms each under
#: load (STACK-NOTES, "Testing under load"), twice per round trip.
HARNESS_S = 0.05
CLIENTS = 60


def _proxy(*args: str) -> tuple[subprocess.Popen[str], str, int]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatconn.cli", "proxy", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=default_sigint,
    )
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "Ctrl-C" in line:
            break
    text = "".join(lines)
    found = re.search(r"listening on ([\d.]+):(\d+)", text)
    assert found, text + proc.stderr.read()
    return proc, found.group(1), int(found.group(2))


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=30)
    out = proc.stdout.read()
    proc.stdout.close()
    proc.stderr.close()
    proc.stdin.close()
    return code, out


async def _echo(ws) -> None:
    async for message in ws:
        await ws.send(message)


def _lognormal_cdf(x: np.ndarray, median: float, sigma: float) -> np.ndarray:
    z = (np.log(x) - math.log(median)) / sigma
    return 0.5 * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))


def test_websockets_client_through_chatconn_proxy_3g_sees_3g_latency_and_a_readable_run(
    tmp_path, capsys
):
    """Acceptance: a plain websockets client through ``chatconn proxy --profile 3g`` sees the
    profile's round trips, and every attempt is in a run file ``runs`` and ``observe`` read."""
    record = tmp_path / "observed.jsonl"
    profile = profile_preset("3g")

    async def scenario():
        async with serve(_echo, "127.0.0.1", 0) as server:
            upstream = server.sockets[0].getsockname()[1]
            proc, host, port = await asyncio.to_thread(
                _proxy,
                "--upstream", f"127.0.0.1:{upstream}", "--profile", "3g",
                "--record", str(record), "--seed", "7",
            )  # fmt: skip
            try:

                async def client(i: int) -> tuple[str, float | None, str]:
                    url = f"ws://{host}:{port}/chat?chatconn_client=c{i}&token=s3cret"
                    try:
                        async with connect(url, open_timeout=10, ping_interval=None) as ws:
                            rtts = []
                            for _ in range(3):
                                began = time.perf_counter()
                                await (await ws.ping())
                                rtts.append(time.perf_counter() - began)
                            return f"c{i}", float(np.median(rtts)), ""
                    except (OSError, TimeoutError, Exception) as exc:  # stalls and resets
                        return f"c{i}", None, type(exc).__name__

                return await asyncio.gather(*(client(i) for i in range(CLIENTS)))
            finally:
                code, out = await asyncio.to_thread(_stop, proc)
                assert code == 0, out

    with quiet_heap():  # no full GC pass in the middle of a round trip (harness.py)
        results = run(scenario(), 90)
    measured = {tag: rtt for tag, rtt, _ in results if rtt is not None}
    failed = {tag for tag, rtt, _ in results if rtt is None}
    assert len(measured) >= CLIENTS * 0.8  # 3g: ~4 % stall or reset, a little more by chance

    # The client's round trips follow 3g's RTT distribution (lognormal, median 250 ms,
    # sigma 0.6): one-sample KS at the 0.001 level for this sample size, allowing the
    # harness to add up to HARNESS_S to each measured round trip (never to subtract).
    x = np.sort(np.array(list(measured.values())))
    n = x.size
    upper = np.arange(1, n + 1) / n - _lognormal_cdf(x, profile.rtt_median_s, profile.rtt_sigma)
    shifted = np.clip(x - HARNESS_S, 1e-9, None)
    lower = _lognormal_cdf(shifted, profile.rtt_median_s, profile.rtt_sigma) - np.arange(n) / n
    critical = math.sqrt(-0.5 * math.log(0.001 / 2)) / math.sqrt(n)
    distance = max(upper.max(), lower.max())
    print(
        f"3g through chatconn proxy: {n} connected of {CLIENTS}, median RTT "
        f"{np.median(x) * 1000:.0f} ms (profile {profile.rtt_median_s * 1000:.0f} ms), "
        f"KS {distance:.3f} (critical {critical:.3f})",
        file=sys.stderr,
    )
    assert distance <= critical, (x, critical)
    assert 0.15 < float(np.median(x)) < 0.40  # a 3g median, not loopback (~0.3 ms)

    # Every attempt is in the run file, readable, and says what the client saw.
    loaded = load_run(record)
    assert loaded.kind == "observed" and loaded.complete
    assert loaded.header.target_name == "3g" and loaded.header.policy is None
    seen = {c.tag: c for c in loaded.observations}
    assert set(seen) == {f"c{i}" for i in range(CLIENTS)}
    assert {t for t, c in seen.items() if not c.connected} == failed
    for tag, rtt in measured.items():
        c = seen[tag]
        assert c.upgrade and c.status == 101 and c.target == "/chat"
        assert c.at_s >= 0 and c.head_s <= c.first_byte_s <= c.closed_s
        assert c.closed_by == "client" and c.bytes_up > 0 and c.bytes_down > 0
        # The injected round trip the file records is the one the client measured.
        assert c.rtt_s <= rtt <= c.rtt_s + HARNESS_S, (tag, c.rtt_s, rtt)
        # The upgrade took the TCP handshake's RTT, the request's, and any SYN-loss penalty.
        assert c.first_byte_s >= 2 * c.rtt_s + c.penalty_s - 0.005
    for tag in failed:
        assert seen[tag].fault in ("stall", "reset") and seen[tag].outcome == seen[tag].fault
    assert "s3cret" not in record.read_text()  # the query never reaches the record

    # The run's sessions are the clients' connects; `runs` and `observe` read it.
    assert loaded.sessions == CLIENTS
    assert loaded.result.connected.sum() == len(measured)
    assert main(["runs", str(record), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["bad"] == [] and listing["runs"][0]["kind"] == "observed"
    assert main(["observe", str(record), "--like", "websockets", "--json"]) == 0
    observed = json.loads(capsys.readouterr().out)
    assert observed["connections"] == CLIENTS and observed["clients"] == CLIENTS
    # No client retried; the stalled ones gave up after websockets' open_timeout (10 s here,
    # the websockets preset's too): the comparison reads those as the attempt's timeout.
    comparison = observed["comparisons"][0]
    stalled = [c for c in seen.values() if c.fault == "stall"]
    assert stalled  # seed 7 draws stalls among these 60 connections
    assert comparison["verdict"] == "times out like websockets (no retries to compare)"
    (timeout,) = comparison["timeouts"]
    assert timeout["attempt"] == 0 and timeout["observed"] == len(stalled)
    # The proxy accepts a little after the client starts its clock, and hears the close a
    # little after the client gives up: either side of 10 s by the harness allowance.
    assert 10.0 - HARNESS_S <= timeout["observed_p50"] <= 10.0 + HARNESS_S


def test_proxy_switches_profile_on_a_stdin_command_and_records_the_switch(tmp_path):
    record = tmp_path / "switch.jsonl"

    async def scenario():
        async with serve(_echo, "127.0.0.1", 0) as server:
            upstream = server.sockets[0].getsockname()[1]
            proc, host, port = await asyncio.to_thread(
                _proxy, "--upstream", f"127.0.0.1:{upstream}", "--profile", "fiber",
                "--record", str(record), "--quiet",
            )  # fmt: skip
            url = f"ws://{host}:{port}/?chatconn_client=one"
            try:
                async with connect(url, open_timeout=5) as ws:
                    await ws.send("hi")
                    assert await ws.recv() == "hi"
                proc.stdin.write("profile server-down\n")
                proc.stdin.flush()
                line = await asyncio.to_thread(proc.stdout.readline)
                assert "profile 'server-down'" in line
                with pytest.raises(OSError):  # refused by the kernel: the proxy stops listening
                    async with connect(url, open_timeout=5):
                        pass
                proc.stdin.write("profile fiber\nbogus\n")
                proc.stdin.flush()
                assert "fiber" in await asyncio.to_thread(proc.stdout.readline)
                assert "unknown command 'bogus'" in await asyncio.to_thread(proc.stdout.readline)
                async with connect(url, open_timeout=5) as ws:
                    await ws.send("again")
                    assert await ws.recv() == "again"
            finally:
                code, _ = await asyncio.to_thread(_stop, proc)
                assert code == 0

    run(scenario(), 60)
    loaded = load_run(record)
    assert [c["profile"].name for c in loaded.profile_changes] == ["server-down", "fiber"]
    # The refused connect never reached the proxy: two connections, both connected.
    assert [c.outcome for c in loaded.observations] == ["connected", "connected"]
    assert [c.profile for c in loaded.observations] == ["fiber", "fiber"]


def test_proxy_refuses_a_non_loopback_listen_address_without_allow_remote(capsys):
    assert main(["proxy", "--upstream", "127.0.0.1:9", "--listen", "0.0.0.0:0"]) == 2
    err = capsys.readouterr().err
    assert "not a loopback address" in err and "--allow-remote" in err
    assert check_listen_host("0.0.0.0", allow_remote=True) == "0.0.0.0"
    assert check_listen_host("localhost", allow_remote=False) == "127.0.0.1"
    assert check_listen_host("::1", allow_remote=False) == "::1"
    with pytest.raises(ConfigError, match="HOST:PORT"):
        ObservingProxy("nowhere", "fiber")


def test_an_unreachable_upstream_is_recorded_and_a_killed_proxy_leaves_a_readable_file(tmp_path):
    record = tmp_path / "down.jsonl"

    async def scenario():
        async with ObservingProxy(("127.0.0.1", 9), "fiber", record=record) as proxy:
            host, port = proxy.address
            with pytest.raises((OSError, Exception)):
                async with connect(f"ws://{host}:{port}/x", open_timeout=5):
                    pass
            await asyncio.sleep(0.05)
            text = record.read_text()  # written as the connection ended, before the stop
            assert '"outcome":"unreachable"' in text
            # Without the end mark (as a kill -9 leaves it) the file still reads.
            partial = tmp_path / "partial.jsonl"
            partial.write_text(text)
            with pytest.warns(Warning, match="no end mark"):
                early = load_run(partial)
            assert not early.complete and early.observations[0].outcome == "unreachable"

    run(scenario(), 30)
    loaded = load_run(record)
    (c,) = loaded.observations
    assert c.upstream_error and c.closed_by == "upstream" and c.error_category.name == "REFUSED"
    assert not loaded.result.connected[0]


def test_a_plain_tcp_protocol_passes_with_the_profiles_latency_and_is_recorded(tmp_path):
    """Not HTTP at all: bytes forwarded with the profile's delays, the attempt recorded."""
    record = tmp_path / "tcp.jsonl"
    rtt = 0.1
    link = profile_preset("fiber").with_changes(
        name="fixed-100ms", rtt_median_s=rtt, rtt_sigma=0.0, loss=0.0, stall_probability=0.0
    )

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
        writer.close()

    async def scenario() -> tuple[float, float]:
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        upstream = server.sockets[0].getsockname()[1]
        try:
            async with ObservingProxy(("127.0.0.1", upstream), link, record=record) as proxy:
                reader, writer = await asyncio.open_connection(*proxy.address)
                began = time.perf_counter()
                writer.write(b"\x00\x01binary hello\n")
                first = await reader.readexactly(15)
                first_s = time.perf_counter() - began
                assert first == b"\x00\x01binary hello\n"
                began = time.perf_counter()
                writer.write(b"again\n")
                assert await reader.readexactly(6) == b"again\n"
                second_s = time.perf_counter() - began
                writer.close()
                await writer.wait_closed()
                await asyncio.sleep(0.3)
        finally:
            server.close()
            await server.wait_closed()
        return first_s, second_s

    with quiet_heap():
        first_s, second_s = run(scenario(), 30)
    # The first exchange pays the TCP handshake's RTT and its own; later ones one RTT.
    assert 2 * rtt <= first_s <= 2 * rtt + HARNESS_S
    assert rtt <= second_s <= rtt + HARNESS_S
    (c,) = load_run(record).observations
    assert c.outcome == "connected" and c.status is None and not c.upgrade
    assert (c.bytes_up, c.bytes_down) == (21, 21) and c.closed_by == "client"
    assert c.strategy.value == "direct_websocket"  # a raw stream, as chatconn counts it
