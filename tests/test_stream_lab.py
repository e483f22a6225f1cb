"""The lab speaks Stream Chat's protocol: the official ``stream-chat`` SDK (9.53.0, pinned in
chatconn/lab/js) connects to it, in process and as ``chatconn serve --protocol stream``."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import jsclients
import pytest
import websockets

from chatconn.core.profiles import profile_preset
from chatconn.lab.stream import DEFAULT_API_KEY, dev_token, token_user
from chatconn.lab.stream_server import StreamLabServer

ROOT = Path(__file__).resolve().parent.parent
CONNECT = jsclients.JS_DIR / "stream_connect.js"


async def _node(script: Path, options: dict, timeout: float = 60.0) -> list[dict]:
    """Run a node script beside the lab's event loop (run_node would block the loop)."""
    jsclients.node_modules()
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(script),
        json.dumps(options),
        cwd=jsclients.JS_DIR,
        env={**os.environ, "NODE_PATH": str(jsclients.NODE_MODULES)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
    assert proc.returncode is not None
    return jsclients.json_lines(out.decode())


def _events(records: list[dict], name: str) -> list[dict]:
    return [r for r in records if r.get("event") == name]


def test_the_official_sdk_connects_to_chatconn_serve_protocol_stream(js_clients):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    env.pop("CHATCONN_TOKEN", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "chatconn.cli", "serve", "--protocol", "stream"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines = []
        for line in server.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(lines)
        base_url = re.search(r"base_url\s+(http://127\.0\.0\.1:\d+)", text).group(1)
        api_key = re.search(r"api_key\s+(\S+)", text).group(1)
        assert "chatconn run --protocol stream --url " + base_url in text
        completed = jsclients.run_node(
            CONNECT, json.dumps({"baseURL": base_url, "apiKey": api_key}), timeout=60
        )
        records = jsclients.json_lines(completed.stdout)
        assert completed.returncode == 0, (records, completed.stderr)
        (connected,) = _events(records, "connected")
        assert connected["me"] == "lab-user" and connected["connection_id"]
        assert connected["ws"] is True and connected["longpoll"] is False
        assert _events(records, "watched")[0]["cid"] == "messaging:lab"
        assert _events(records, "message")[0]["text"] == "hello from the SDK"
        assert _events(records, "done")
        # The command line it printed measures it with chatconn's own manager.
        line = re.search(r"(CHATCONN_TOKEN=\S+ chatconn run --protocol stream .*)", text).group(1)
        assignment, *words = shlex.split(line)
        name, _, token = assignment.partition("=")
        run = subprocess.run(
            [sys.executable, "-m", "chatconn.cli", *words[1:], "--sessions", "2", "--json"],
            capture_output=True, text=True, env={**env, name: token}, timeout=60,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["success_rate"] == 1.0
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=20)
        server.stdout.close()
        server.stderr.close()
    assert code == 0


def test_the_sdk_connects_in_process_and_the_lab_counts_what_it_asked_for(js_clients):
    async def main():
        async with StreamLabServer("fiber") as lab:
            records = await _node(CONNECT, {"baseURL": lab.base_url, "apiKey": lab.api_key})
            return records, lab.stats()

    records, stats = asyncio.run(main())
    assert _events(records, "done"), records
    hub = stats["hub"]
    assert hub["connect_websocket"] == 1
    assert hub["query_channel"] == 1 and hub["send_message"] == 1
    assert stats["ports"]["ws0"]["faults"]["none"] >= 2  # the WebSocket and REST through the proxy


def test_a_wrong_api_key_is_refused_the_way_stream_refuses_and_the_sdk_gives_up(js_clients):
    async def main():
        async with StreamLabServer("fiber") as lab:
            records = await _node(
                CONNECT, {"baseURL": lab.base_url, "apiKey": "not-the-key", "timeoutMs": 20000}
            )
            return records, lab.stats()

    records, stats = asyncio.run(main())
    (error,) = _events(records, "error")
    assert '"StatusCode":401' in error["message"] and "api_key" in error["message"]
    assert not _events(records, "connected")
    assert stats["hub"]["auth_failed"] == 1  # one attempt: an API refusal is not retried


def test_health_checks_go_both_ways_over_the_websocket():
    async def main():
        async with StreamLabServer("fiber", health_check_s=0.2) as lab:
            query = urlencode(
                {
                    "json": json.dumps({"user_id": "u1"}),
                    "api_key": DEFAULT_API_KEY,
                    "authorization": dev_token("u1"),
                }
            )
            url = f"{lab.base_url.replace('http', 'ws')}/connect?{query}"
            async with websockets.connect(url) as ws:
                first = json.loads(await ws.recv())
                await ws.send(json.dumps([{"type": "health.check", "client_id": "c"}]))
                replies = [json.loads(await ws.recv()) for _ in range(3)]
            return first, replies, lab.stats()["hub"]

    first, replies, hub = asyncio.run(main())
    assert first["type"] == "health.check" and first["me"]["id"] == "u1"
    assert first["connection_id"].startswith("lab-")
    assert all(r["type"] == "health.check" for r in replies)
    assert hub["health_check_from_client"] == 1
    assert hub["health_check_from_server"] >= 2


def test_dev_tokens_are_the_sdks_and_name_their_user(js_clients):
    completed = jsclients.run_node(
        "const {StreamChat} = require('stream-chat');"
        "console.log(JSON.stringify({t: new StreamChat('k').devToken('ann')}))"
    )
    assert jsclients.json_lines(completed.stdout)[0]["t"] == dev_token("ann")
    assert token_user(dev_token("ann")) == "ann"
    assert token_user("not a jwt") is None


def test_the_lab_never_shows_its_token():
    lab = StreamLabServer("fiber", token="s3cret-value")
    assert "s3cret" not in repr(lab) + repr(lab.hub)


@pytest.mark.parametrize("mode", ["hang", "forbidden"])
def test_the_proxy_blocks_the_upgrade_but_not_rest_behind_a_corporate_firewall(mode):
    profile = profile_preset("corporate-firewall").with_changes(ws_block_mode=mode)

    async def main():
        import httpx

        async with StreamLabServer(profile) as lab:
            async with httpx.AsyncClient() as client:
                hi = await client.get(lab.base_url + "/hi")
            return hi.status_code, lab.stats()["ports"]["ws0"]

    status, port = asyncio.run(main())
    assert status == 200 and port["faults"]["none"] == 1
