"""`chatconn run` and `chatconn serve`: live sessions from the command line, for real."""

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

import pytest
from helpers import SUMMARY_KEYS, default_sigint

from chatconn.cli import main
from chatconn.core.strategies import ErrorCategory
from chatconn.endpoint import Endpoint
from chatconn.live.errors import AuthRejected
from chatconn.live.manager import ConnectionManager
from chatconn.runs import load_run, sessions_frame

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_lab_prints_the_simulate_summary_plus_strategy_counts_and_writes_records(
    capsys, tmp_path
):
    out_file = tmp_path / "records.jsonl"
    code, out, err = run_cli(
        capsys,
        "run", "--lab", "--profile", "corporate-firewall", "--policy", "seed",
        "--sessions", "4", "--concurrency", "4", "--seed", "1", "--time-scale", "0.01",
        "--json", "--out", str(out_file),
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert set(report) >= SUMMARY_KEYS
    assert report["success_rate"] == 1.0
    assert report["strategy_counts"]["long_polling"] == 4  # WebSocket is blocked by the proxy
    # Profile time: the four WebSocket rungs hang 15 + 21 + 120 + 41.16 s of the policy's
    # timeouts before long polling, whatever the time scale.
    assert report["time_to_connect_s"]["p50"] > 15 + 21 + 120 + 41.16
    assert report["run_file"] == str(out_file)
    lines = [json.loads(line) for line in out_file.read_text().splitlines()]
    header, attempts = lines[0], [x for x in lines if x["type"] == "attempt"]
    assert header["type"] == "run" and header["time_scale"] == 0.01
    assert header["policy"]["ladder"][4] == "long_polling"
    assert header["target"]["name"] == "corporate-firewall"
    assert len(attempts) == 4 * 5
    assert {a["strategy"] for a in attempts if a["connected"]} == {"long_polling"}
    assert [x["type"] for x in lines].count("session") == 4 and lines[-1]["type"] == "end"
    assert "lab-token" not in out_file.read_text()
    # The file reads back to the summary that was printed.
    run = load_run(out_file)
    assert run.result.summary()["time_to_connect_s"] == report["time_to_connect_s"]


def test_run_refuses_to_overwrite_records_without_force(capsys, tmp_path):
    existing = tmp_path / "records.jsonl"
    existing.write_text("keep me\n")
    code, _, err = run_cli(capsys, "run", "--lab", "--sessions", "1", "--out", str(existing))
    assert code == 2
    assert str(existing) in err and "--force" in err
    assert len(err.strip().splitlines()) == 1
    assert existing.read_text() == "keep me\n"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--url", "ws://host:99999/ws"], "port"),
        (["--url", "http://host/ws"], "ws://"),
        (["--lab", "--profile", "nope"], "nope"),
        (["--lab", "--profile", "global-users"], "population"),
        (["--lab", "--set", "jitter=7"], "jitter"),
        (["--lab", "--time-scale", "0"], "time-scale"),
        (["--lab", "--sessions", "0"], "sessions"),
    ],
)
def test_run_rejects_bad_input_with_one_line(capsys, args, needle):
    code, out, err = run_cli(capsys, "run", *args)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert needle in err


def test_run_against_a_url_needs_the_token_from_the_environment(capsys, monkeypatch):
    monkeypatch.delenv("CHATCONN_TOKEN", raising=False)
    code, _, err = run_cli(capsys, "run", "--url", "ws://127.0.0.1:9/ws")
    assert code == 2 and "CHATCONN_TOKEN" in err


def test_run_against_a_closed_port_reports_failures_not_a_crash(capsys, monkeypatch):
    monkeypatch.setenv("CHATCONN_TOKEN", "s3cret-value")
    code, out, err = run_cli(
        capsys,
        "run", "--url", "ws://127.0.0.1:9/ws", "--sessions", "2",
        "--set", "max_attempts=2", "--set", "initial_delay=0.01", "--set", "max_delay=0.02",
        "--set", "ladder=direct_websocket", "--json",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["success_rate"] == 0.0
    assert report["failure_kinds"] == {"ConnectFailed": 2}
    assert "s3cret-value" not in out + err


def _serve(*args: str, **environ: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    env.pop("CHATCONN_TOKEN", None)  # the lab's default token unless the test gives one
    env.update(environ)
    return subprocess.Popen(
        [sys.executable, "-m", "chatconn.cli", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=default_sigint,  # Ctrl-C must reach it however the suite was started
    )


def test_serve_prints_loopback_urls_serves_chat_and_stops_on_ctrl_c():
    server = _serve("--profile", "fiber", "--seed", "3")
    try:
        lines = []
        for line in server.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(lines)
        ws = re.search(r"ws://[\d.]+:\d+/ws", text).group(0)
        alternatives = re.findall(r"ws://[\d.]+:\d+/ws", text)[1:3]
        http = re.search(r"http://[\d.]+:\d+", text).group(0)
        assert all(url.startswith(("ws://127.0.0.1:", "http://127.0.0.1:")) for url in [ws, http])

        async def connect():
            endpoint = Endpoint((ws, *alternatives), http)
            async with ConnectionManager(endpoint, "lab-token") as manager:
                session = await manager.connect()
                return session.strategy.value

        assert asyncio.run(asyncio.wait_for(connect(), 30)) == "direct_websocket"
    finally:
        server.send_signal(signal.SIGINT)
        code = server.wait(timeout=20)
        server.stdout.close()
        server.stderr.close()
    assert code == 0


def test_serve_rejects_an_unknown_profile():
    server = _serve("--profile", "nope")
    _, err = server.communicate(timeout=30)
    assert server.returncode == 2
    assert "nope" in err


def test_serve_default_token_is_the_lab_default():
    from chatconn.lab import serve, server

    assert serve.DEFAULT_TOKEN == server.DEFAULT_TOKEN


def test_the_command_line_loads_the_server_stack_only_to_serve():
    code = (
        "import sys, chatconn.cli; print(any(m in sys.modules for m in ('uvicorn', 'starlette')))"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "False", out.stderr


def test_a_run_whose_token_fetch_fails_records_a_token_error_code(capsys, tmp_path):
    out_file = tmp_path / "blackhole.jsonl"
    code, out, err = run_cli(
        capsys,
        "run", "--lab", "--profile", "blackhole", "--policy", "seed", "--sessions", "3",
        "--time-scale", "0.01", "--json", "--out", str(out_file),
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["failure_kinds"] == {"TokenUnavailable": 3}
    lines = [json.loads(line) for line in out_file.read_text().splitlines()]
    sessions = [x for x in lines if x["type"] == "session"]
    assert [s["attempts"] for s in sessions] == [0, 0, 0]
    assert {s["last_error"] for s in sessions} == {int(ErrorCategory.TOKEN)}
    frame = sessions_frame(load_run(out_file))
    assert set(frame["last_error"]) == {"token"}  # not "none"


def test_run_with_only_a_url_skips_the_alternative_ports_rung_instead_of_aborting(
    capsys, monkeypatch, tmp_path
):
    from chatconn.lab.thread import LabServerThread

    monkeypatch.setenv("CHATCONN_TOKEN", "lab-token")
    out_file = tmp_path / "url-only.jsonl"
    with LabServerThread("corporate-firewall", time_scale=0.01) as lab:
        code, out, err = run_cli(
            capsys,
            "run", "--url", lab.endpoint.primary, "--http-url", lab.endpoint.http_url,
            "--policy", "seed", "--sessions", "2", "--time-scale", "0.01", "--json",
            "--out", str(out_file),
        )  # fmt: skip
    assert code == 0, err  # no "multiple_ports needs alternative URLs" abort mid-run
    report = json.loads(out)
    assert report["success_rate"] == 1.0
    assert report["strategy_counts"]["long_polling"] == 2
    attempts = [json.loads(x) for x in out_file.read_text().splitlines()]
    assert "multiple_ports" not in {a.get("strategy") for a in attempts}
    assert attempts[-1]["type"] == "end"


def _until_ctrl_c(server: subprocess.Popen[str]) -> str:
    lines = []
    for line in server.stdout:
        lines.append(line)
        if "Ctrl-C" in line:
            break
    return "".join(lines)


def _stop(server: subprocess.Popen[str]) -> int:
    server.send_signal(signal.SIGINT)
    code = server.wait(timeout=20)
    server.stdout.close()
    server.stderr.close()
    return code


def test_serve_prints_the_run_command_line_that_reaches_its_http_port(capsys, monkeypatch):
    server = _serve("--profile", "fiber", "--time-scale", "0.5")
    try:
        text = _until_ctrl_c(server)
        line = text.split("Measure it with:")[1].strip().splitlines()[0]
        words = shlex.split(line)
        assert words[0] == "CHATCONN_TOKEN=lab-token"  # the public default, nothing secret
        assert words[1:3] == ["chatconn", "run"] and words[words.index("--time-scale") + 1] == "0.5"
        monkeypatch.setenv("CHATCONN_TOKEN", "lab-token")
        # Long polling only: it must reach the lab's HTTP port (P+3), not the WebSocket port.
        code, out, err = run_cli(
            capsys, *words[2:], "--sessions", "1", "--set", "ladder=long_polling", "--json"
        )
    finally:
        assert _stop(server) == 0
    assert code == 0, err
    assert json.loads(out)["strategy_counts"]["long_polling"] == 1


def test_serve_takes_its_token_from_the_environment_and_never_prints_it():
    server = _serve("--profile", "fiber", CHATCONN_TOKEN="s3cret-lab")
    try:
        text = _until_ctrl_c(server)
        ws = re.search(r"ws://[\d.]+:\d+/ws", text).group(0)
        http = re.search(r"http://[\d.]+:\d+", text).group(0)

        async def connect(token: str) -> str:
            async with ConnectionManager(Endpoint((ws,), http), token) as manager:
                return (await manager.connect()).strategy.value

        assert asyncio.run(asyncio.wait_for(connect("s3cret-lab"), 30)) == "direct_websocket"
        with pytest.raises(AuthRejected):
            asyncio.run(asyncio.wait_for(connect("lab-token"), 30))
    finally:
        assert _stop(server) == 0
    assert "s3cret-lab" not in text and "$CHATCONN_TOKEN" in text


def test_serve_refuses_a_token_argument():
    server = _serve("--token", "visible-in-ps")
    _, err = server.communicate(timeout=30)
    assert server.returncode == 2
    assert "process list" in err and "--token-env" in err


def test_a_ladder_the_url_cannot_serve_fails_before_touching_the_run_file(
    capsys, monkeypatch, tmp_path
):
    monkeypatch.setenv("CHATCONN_TOKEN", "lab-token")
    existing = tmp_path / "keep.jsonl"
    existing.write_text("an earlier run\n")
    code, _, err = run_cli(
        capsys,
        "run", "--url", "ws://127.0.0.1:9/ws", "--set", "ladder=multiple_ports",
        "--out", str(existing), "--force",
    )  # fmt: skip
    assert code == 2 and "ladder" in err and "alternative" in err
    assert existing.read_text() == "an earlier run\n"  # --force replaced nothing
