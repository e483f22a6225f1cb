"""The lab server over real loopback sockets: the chat protocol, its switches, the thread
wrapper and the ``serve`` command. Clients here are raw websockets/httpx, to check the
server against the protocol itself (the transports have their own tests)."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from helpers import default_sigint
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidMessage, InvalidStatus

from chatconn import wire as P
from chatconn.core.profiles import FaultMode, NetworkProfile, Outage
from chatconn.endpoint import Endpoint
from chatconn.lab.chaos import Fault
from chatconn.lab.server import LabServer
from chatconn.lab.thread import LabServerThread

ROOT = Path(__file__).resolve().parents[1]
SLACK = 1.0
FAST = NetworkProfile(
    "lab-fast", rtt_median_s=0.002, rtt_sigma=0.0, auth_s=0.0, sync_s=0.0, sync_bytes=2000
)


def run(coro):
    return asyncio.run(coro)


def open_raw(url: str) -> None:
    """Open (and close) a WebSocket in a loop of its own."""

    async def main():
        ws = await connect(url, proxy=None, open_timeout=5)
        await ws.close()

    run(main())


async def ws_open(url: str, token: str = "lab-token"):
    """A raw protocol session: (websocket, session id)."""
    ws = await connect(url, open_timeout=5, proxy=None)
    await ws.send(P.encode({"type": "auth", "token": token}))
    message = P.decode(await ws.recv())
    return ws, message


def test_the_chat_protocol_over_websocket():
    async def main():
        async with LabServer(FAST) as lab:
            ws, connected = await ws_open(lab.endpoint.primary)
            await ws.send(P.encode({"type": "sync"}))
            sync = P.decode(await ws.recv(), expect="sync")
            await ws.send(P.encode({"type": "message", "text": "hello"}))
            echoed = P.decode(await ws.recv(), expect="message")
            await ws.send(P.encode({"type": "ping", "id": 7}))
            pong = P.decode(await ws.recv(), expect="pong")
            await ws.close()
            return connected, sync, echoed, pong

    connected, sync, echoed, pong = run(main())
    assert connected["type"] == "connected" and connected["session"]
    assert len(sync["payload"]) == FAST.sync_bytes and sync["messages"] == []
    assert echoed == {"type": "message", "from": connected["session"], "text": "hello"}
    assert pong == {"type": "pong", "id": 7}


def test_a_bad_token_gets_an_error_and_close_4001():
    async def main():
        async with LabServer(FAST) as lab:
            ws, message = await ws_open(lab.endpoint.primary, token="wrong")
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            return message, closed.value.rcvd.code

    message, code = run(main())
    assert message == {"type": "error", "code": "auth_failed"}
    assert code == P.AUTH_FAILED_CLOSE_CODE


def test_garbage_mode_answers_auth_with_non_json():
    async def main():
        async with LabServer(FAST) as lab:
            lab.garbage = True
            ws = await connect(lab.endpoint.primary, proxy=None)
            await ws.send(P.encode({"type": "auth", "token": "lab-token"}))
            raw = await ws.recv()
            await ws.close()
            return raw

    with pytest.raises(P.ProtocolError):
        P.decode(run(main()))


def test_the_probe_and_unknown_paths():
    async def main():
        async with LabServer(FAST) as lab:
            probe_url = lab.urls["probe"]
            async with connect(probe_url, proxy=None) as ws:
                probe = P.decode(await ws.recv())
                with pytest.raises(ConnectionClosed):
                    await ws.recv()
            with pytest.raises(InvalidStatus) as rejected:
                await connect(probe_url.replace("/probe", "/nope"), proxy=None)
            return probe, rejected.value.response.status_code

    assert run(main()) == ({"type": "probe"}, 404)


def test_long_polling_and_sse_endpoints_and_cross_transport_broadcast():
    async def main():
        async with LabServer(FAST) as lab, httpx.AsyncClient(base_url=lab.endpoint.http_url) as c:
            auth = {"Authorization": "Bearer lab-token"}
            assert (
                await c.post(P.LP_CONNECT, headers={"Authorization": "Bearer no"})
            ).status_code == 401
            lp = (await c.post(P.LP_CONNECT, headers=auth)).json()
            sid = lp["session"]
            sync = (await c.post(P.LP_SYNC, params={"session": sid})).json()
            ws, _ = await ws_open(lab.endpoint.primary)
            await ws.send(P.encode({"type": "message", "text": "from ws"}))
            poll = (await c.get(P.LP_POLL, params={"session": sid, "timeout": 5})).json()
            sent = await c.post(P.LP_SEND, params={"session": sid}, json={"text": "from lp"})
            seen_by_ws = [P.decode(await ws.recv()) for _ in range(2)]
            ping = (await c.get(P.LP_PING, params={"session": sid})).json()
            unknown = await c.post(P.LP_SYNC, params={"session": "nobody"})
            async with c.stream("GET", P.SSE_PATH, headers=auth) as stream:
                lines = stream.aiter_lines()
                first = [await anext(lines) for _ in range(2)]
            await ws.close()
            return lp, sync, poll, sent.status_code, seen_by_ws, ping, unknown.status_code, first

    lp, sync, poll, sent, seen_by_ws, ping, unknown, first = run(main())
    assert lp["type"] == "connected"
    assert sync["type"] == "sync" and len(sync["payload"]) == FAST.sync_bytes
    assert poll["messages"][0]["text"] == "from ws"
    assert sent == 204
    assert [m["text"] for m in seen_by_ws] == ["from ws", "from lp"]
    assert ping == {"type": "pong"}
    assert unknown == 404
    assert first[0] == "event: connected" and first[1].startswith("data: ")


def test_token_endpoint_can_fail_and_hang():
    async def main():
        async with LabServer(FAST) as lab, httpx.AsyncClient(base_url=lab.endpoint.http_url) as c:
            lab.fail_token(2)
            statuses = [(await c.post(P.TOKEN_PATH)).status_code for _ in range(3)]
            lab.hang_token(True)
            with pytest.raises(httpx.ReadTimeout):
                await c.post(P.TOKEN_PATH, timeout=0.3)
            lab.hang_token(False)
            token = (await c.post(P.TOKEN_PATH)).json()
            latency = (await c.get(P.LATENCY_PATH)).status_code
            return statuses, token, latency

    statuses, token, latency = run(main())
    assert statuses == [503, 503, 200]
    assert token["token"] == "lab-token" and token["expires_in"] > 0
    assert latency == 204


def test_auth_and_sync_times_are_scaled():
    slow = FAST.with_changes(auth_s=1.0, sync_s=1.0)

    async def main():
        async with LabServer(slow, time_scale=0.1) as lab:
            started = time.perf_counter()
            ws, _ = await ws_open(lab.endpoint.primary)
            await ws.send(P.encode({"type": "sync"}))
            P.decode(await ws.recv(), expect="sync")
            await ws.close()
            return time.perf_counter() - started

    assert 0.2 * 0.97 <= run(main()) < 0.2 + SLACK


def test_set_profile_switches_every_port_at_run_time():
    async def main():
        async with LabServer(FAST) as lab, httpx.AsyncClient() as c:
            started = time.perf_counter()
            await c.get(lab.endpoint.http_url + P.LATENCY_PATH)
            fast = time.perf_counter() - started
            lab.set_profile(FAST.with_changes(rtt_median_s=0.25))
            started = time.perf_counter()
            async with httpx.AsyncClient() as fresh:  # a new connection: 2 RTT
                await fresh.get(lab.endpoint.http_url + P.LATENCY_PATH)
            slow = time.perf_counter() - started
            lab.set_profile("server-down")
            with pytest.raises(OSError):
                await connect(lab.endpoint.primary, proxy=None, open_timeout=2)
            with pytest.raises(httpx.ConnectError):
                async with httpx.AsyncClient() as again:
                    await again.get(lab.endpoint.http_url + P.LATENCY_PATH)
            return fast, slow, lab.profile.name

    fast, slow, name = run(main())
    assert fast < 0.5
    assert slow >= 2 * 0.25 * 0.97
    assert name == "server-down"


def test_schedule_applies_to_the_named_port_in_order():
    async def main():
        async with LabServer(FAST) as lab:
            lab.schedule("ws0", [Fault.UPGRADE_403, Fault.RESET])
            with pytest.raises(InvalidStatus) as forbidden:
                await connect(lab.endpoint.primary, proxy=None)
            with pytest.raises((OSError, InvalidMessage)) as reset:
                await connect(lab.endpoint.primary, proxy=None, open_timeout=5)
            ws, connected = await ws_open(lab.endpoint.primary)  # the profile again
            await ws.close()
            alternative, _ = await ws_open(lab.endpoint.alternatives[0])
            await alternative.close()
            with pytest.raises(Exception, match="role"):
                lab.schedule("ws7", [Fault.STALL])
            return forbidden.value.response.status_code, reset.type, connected, lab.stats()

    status, reset_type, connected, stats = run(main())
    assert status == 403
    assert reset_type is not TimeoutError
    assert connected["type"] == "connected"
    assert stats["ports"]["ws0"]["causes"] == {"scheduled": 2}
    assert stats["ports"]["ws1"]["connections"] == 1


def test_a_corporate_firewall_hangs_websocket_and_passes_http():
    firewall = NetworkProfile(
        "firewall", rtt_median_s=0.002, rtt_sigma=0.0, auth_s=0.0, sync_s=0.0,
        ws_blocked_share=1.0, ws_block_mode=FaultMode.HANG, blocked_ports=frozenset({1, 2}),
        blocked_ports_share=1.0, port_block_mode=FaultMode.HANG,
    )  # fmt: skip

    async def main():
        async with LabServer(firewall) as lab:
            for url in lab.endpoint.ws_urls:
                with pytest.raises(TimeoutError):
                    await connect(url, proxy=None, open_timeout=0.3)
            async with httpx.AsyncClient() as c:
                answer = await c.post(
                    lab.endpoint.http_url + P.LP_CONNECT,
                    headers={"Authorization": "Bearer lab-token"},
                )
            return answer.status_code, lab.stats()["ports"]

    status, ports = run(main())
    assert status == 200
    assert ports["ws0"]["causes"] == {"ws_proxy": 1}
    assert ports["ws1"]["causes"] == {"port": 1} and ports["ws2"]["causes"] == {"port": 1}


def test_a_server_down_outage_window_then_back():
    outage = FAST.with_changes(outages=(Outage(0.0, 3.0, FaultMode.REFUSE),))

    async def main():
        async with LabServer(outage, time_scale=0.1) as lab:  # 3 s scaled to 0.3 s
            with pytest.raises(OSError):
                await connect(lab.endpoint.primary, proxy=None)
            await asyncio.sleep(0.4)
            ws, connected = await ws_open(lab.endpoint.primary)
            await ws.close()
            return connected["type"]

    assert run(main()) == "connected"


def test_urls_endpoint_ports_and_repr_without_token():
    async def main():
        lab = LabServer(FAST, token="s3cret-token")
        assert lab.urls == {}
        async with lab:
            endpoint, backend, urls = lab.endpoint, lab.backend_endpoint, lab.urls
            text = repr(lab)
            ws, connected = await ws_open(backend.primary, token="s3cret-token")  # no chaos
            await ws.close()
        return endpoint, backend, urls, text, connected

    endpoint, backend, urls, text, connected = run(main())
    assert isinstance(endpoint, Endpoint) and len(endpoint.ws_urls) == 3
    assert endpoint.primary == urls["websocket"] and endpoint.http_url == urls["http"]
    assert len({endpoint.primary, *endpoint.alternatives, endpoint.http_url}) == 4
    assert endpoint.ws_urls != backend.ws_urls
    assert "s3cret" not in text
    assert connected["type"] == "connected"


def test_lab_server_thread_start_stop_and_thread_safe_control():
    with LabServerThread(FAST) as lab:
        assert lab.running
        endpoint = lab.endpoint

        async def client():
            ws, connected = await ws_open(endpoint.primary)
            await ws.close()
            return connected["type"]

        assert run(client()) == "connected"
        lab.set_profile(FAST.with_changes(outages=(Outage(0.0, math.inf),)))
        with pytest.raises(OSError):
            open_raw(endpoint.primary)
        lab.set_profile(FAST)
        lab.schedule("ws0", [Fault.UPGRADE_403])
        with pytest.raises(InvalidStatus):
            open_raw(endpoint.primary)
        lab.fail_token(1)
        assert httpx.post(endpoint.http_url + P.TOKEN_PATH).status_code == 503
        assert lab.stats()["ports"]["ws0"]["faults"]["upgrade_403"] == 1
    assert not lab.running
    with pytest.raises(OSError):
        open_raw(endpoint.primary)
    lab.stop()  # idempotent


def test_lab_server_thread_reports_a_failed_start():
    with LabServerThread(FAST) as first:
        port = int(first.endpoint.primary.rsplit(":", 1)[1].split("/")[0])
        second = LabServerThread(FAST, port=port)
        with pytest.raises(OSError):
            second.start()
        assert not second.running


def test_serve_command_prints_urls_and_stops_on_ctrl_c():
    script = (
        "import argparse, sys\n"
        "from chatconn.lab.serve import add_serve_parser, run_serve\n"
        "p = argparse.ArgumentParser(prog='chatconn')\n"
        "add_serve_parser(p.add_subparsers(dest='command'))\n"
        "sys.exit(run_serve(p.parse_args(sys.argv[1:])))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", script, "serve", "--profile", "4g", "--time-scale", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=default_sigint,  # Ctrl-C must reach it however the suite was started
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(2)]
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert "profile '4g'" in lines[0] and "time scale 0.5" in lines[0]
    assert "ws://127.0.0.1:" in lines[1]
    assert process.returncode == 0, err
    assert "stopped" in rest
