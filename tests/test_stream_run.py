"""chatconn's own manager speaking Stream Chat's protocol: ``chatconn run --protocol stream``
against the lab (``--lab``, and ``--url`` of a ``chatconn serve --protocol stream``), the
user's token a Secret that shows nowhere."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chatconn.cli import main
from chatconn.core.presets import policy_preset
from chatconn.core.strategies import Strategy
from chatconn.endpoint import StreamEndpoint
from chatconn.lab.stream import dev_token
from chatconn.lab.stream_server import StreamLabServer
from chatconn.live.errors import AuthRejected, ConnectFailed
from chatconn.live.manager import ConnectionManager
from chatconn.live.tokens import Secret

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cret-value-never-shown"


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("strategy", ["direct_websocket", "long_polling"])
def test_the_manager_connects_syncs_sends_and_pings_over_stream(strategy):
    async def main_():
        async with StreamLabServer("fiber") as lab:
            endpoint = StreamEndpoint.from_base_url(
                lab.base_url, api_key=lab.api_key, user_id="ann"
            )
            policy = policy_preset("seed").with_changes(ladder=(strategy,), max_attempts=1)
            async with ConnectionManager(endpoint, Secret(dev_token("ann")), policy=policy) as m:
                session = await m.connect()
                await session.ping()
                await session.send("hello")
                message = await asyncio.wait_for(session.receive(), 10)
                record = m.records[-1]
            return session, message, record, lab.stats()["hub"]

    session, message, record, hub = asyncio.run(main_())
    assert session.strategy.value == strategy and session.session_id.startswith("lab-")
    assert message == {"type": "message", "from": "ann", "text": "hello"}
    assert record.connected and record.sync_s >= record.auth_s > 0
    kind = "websocket" if strategy == "direct_websocket" else "longpoll"
    assert hub[f"connect_{kind}"] == 1 and hub["query_channel"] == 1


def test_stream_drops_the_rungs_it_has_no_transport_for_and_a_bad_token_is_fatal():
    async def main_():
        async with StreamLabServer("fiber") as lab:
            endpoint = lab.endpoint
            assert set(endpoint.unusable()) == {Strategy.MULTIPLE_PORTS, Strategy.SSE_FALLBACK}
            async with ConnectionManager(
                endpoint, Secret("wrong"), policy=policy_preset("seed")
            ) as m:
                with pytest.raises((AuthRejected, ConnectFailed)) as caught:
                    await m.connect()
                return caught.value, m.records, repr(m), repr(endpoint)

    error, records, manager_repr, endpoint_repr = asyncio.run(main_())
    assert len(records) == 1  # a refused token is not retried
    assert "wrong" not in str(error) + manager_repr + endpoint_repr


def test_run_lab_protocol_stream_behind_a_corporate_firewall_falls_to_long_polling(
    capsys, tmp_path
):
    out_file = tmp_path / "stream.jsonl"
    code, out, err = run_cli(
        capsys, "run", "--lab", "--protocol", "stream", "--profile", "corporate-firewall",
        "--policy", "seed", "--sessions", "4", "--time-scale", "0.02", "--json",
        "--out", str(out_file),
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["success_rate"] == 1.0
    # The seed ladder without Stream's missing rungs: WebSocket x2 and the extended rung hang
    # behind the proxy, long polling gets through.
    assert report["strategy_counts"]["long_polling"] == 4
    header = json.loads(out_file.read_text().splitlines()[0])
    assert "stream" in json.dumps(header)


def test_run_url_protocol_stream_measures_a_served_lab_with_a_secret_token(capsys, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", LAB_TOKEN=SECRET)
    server = subprocess.Popen(
        [sys.executable, "-m", "chatconn.cli", "serve", "--protocol", "stream",
         "--token-env", "LAB_TOKEN"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        text = ""
        for line in server.stdout:
            text += line
            if "Ctrl-C" in line:
                break
        assert SECRET not in text
        base = re.search(r"base_url\s+(http://127\.0\.0\.1:\d+)", text).group(1)
        os.environ["STREAM_TOKEN_FOR_TEST"] = SECRET
        out_file = tmp_path / "real.jsonl"
        try:
            code, out, err = run_cli(
                capsys, "run", "--protocol", "stream", "--url", base, "--api-key",
                "chatconn-lab", "--token-env", "STREAM_TOKEN_FOR_TEST", "--policy",
                "stream-chat", "--sessions", "3", "--json", "--out", str(out_file),
            )  # fmt: skip
            bad_code, bad_out, _ = run_cli(
                capsys, "run", "--protocol", "stream", "--url", base, "--api-key", "wrong-key",
                "--token-env", "STREAM_TOKEN_FOR_TEST", "--sessions", "1", "--json",
            )  # fmt: skip
        finally:
            del os.environ["STREAM_TOKEN_FOR_TEST"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
        server.stdout.close()
        server.stderr.close()
    assert code == 0, err
    assert json.loads(out)["success_rate"] == 1.0
    assert SECRET not in out + err + out_file.read_text()
    assert bad_code == 0 and json.loads(bad_out)["failure_kinds"] == {"AuthRejected": 1}


def test_protocol_stream_options_are_checked(capsys):
    code, _, err = run_cli(
        capsys, "run", "--protocol", "stream", "--url", "http://127.0.0.1:1", "--sessions", "1"
    )
    assert code != 0 and "--api-key" in err
    code, _, err = run_cli(
        capsys, "run", "--url", "ws://127.0.0.1:1/ws", "--api-key", "k", "--sessions", "1"
    )
    assert code != 0 and "--protocol stream" in err


def test_every_logger_at_debug_never_shows_the_token(caplog):
    """The token rides in the WebSocket URL's query and the REST Authorization header, as the
    SDK sends it: no logger of the client, the lab or the libraries under them shows it."""
    import logging

    async def main_():
        async with StreamLabServer("fiber", token=SECRET) as lab:
            endpoint = lab.endpoint
            for strategy in ("direct_websocket", "long_polling"):
                policy = policy_preset("seed").with_changes(ladder=(strategy,), max_attempts=1)
                async with ConnectionManager(endpoint, Secret(SECRET), policy=policy) as m:
                    session = await m.connect()
                    await session.send("hi")
            async with ConnectionManager(endpoint, Secret(SECRET + "x"), policy=policy) as m:
                with pytest.raises((AuthRejected, ConnectFailed)):
                    await m.connect()

    with caplog.at_level(logging.DEBUG):
        for name in ("websockets", "uvicorn", "uvicorn.error", "httpx", "httpcore", "chatconn"):
            logging.getLogger(name).setLevel(logging.DEBUG)
        try:
            asyncio.run(main_())
        finally:
            for name in ("websockets", "uvicorn", "uvicorn.error", "httpx", "httpcore"):
                logging.getLogger(name).setLevel(logging.NOTSET)
    assert caplog.records  # the loggers did speak
    assert SECRET not in caplog.text
