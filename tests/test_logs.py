"""Diagnostic logging (chatconn.logs, chatconn.live.logs): every step at DEBUG on
chatconn's loggers, failures at WARNING, and never a token — checked on a real lab run with
every logger of every library captured at DEBUG."""

from __future__ import annotations

import asyncio
import io
import logging
import subprocess
import sys

import pytest
from helpers import run

from chatconn.core.breaker import BreakerConfig
from chatconn.core.errors import ConfigError
from chatconn.core.policy import RetryPolicy
from chatconn.core.profiles import NetworkProfile
from chatconn.core.strategies import Strategy
from chatconn.lab.chaos import Fault
from chatconn.lab.server import LabServer
from chatconn.live.errors import ConnectFailed
from chatconn.live.manager import ConnectionManager, HeartbeatConfig
from chatconn.live.tokens import HttpTokenProvider
from chatconn.logs import enable_logging, level_for_verbosity

CALM = NetworkProfile("calm", rtt_median_s=0.002, rtt_sigma=0.0, auth_s=0.0, sync_s=0.0)
SECRET = "tok-4f1d9c2e-never-print-me"
ROTATED = "tok-77ab03e1-rotated-never-print"
LADDER = RetryPolicy(
    ladder=(Strategy.DIRECT_WEBSOCKET, Strategy.LONG_POLLING, Strategy.SSE_FALLBACK),
    max_attempts=3,
    base_timeout=2.0,
    initial_delay=0.02,
    jitter=0.0,
)


class Everything(logging.Handler):
    """Keeps every record of every logger, formatted as a handler would print it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        text = self.format(record)  # message, args and any traceback
        self.lines.append(f"{text} {record.args!r} {record.__dict__!r}")


@pytest.fixture
def everything():
    handler = Everything()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _manager_lines(handler: Everything, level: int | None = None) -> list[str]:
    return [
        r.getMessage()
        for r in handler.records
        if r.name == "chatconn.live.manager" and (level is None or r.levelno == level)
    ]


def test_a_lab_run_at_debug_logs_every_step_and_never_a_token(everything):
    async def scenario():
        async with LabServer(CALM, token=SECRET) as lab:
            provider = HttpTokenProvider(lab.endpoint.http_url)
            heartbeat = HeartbeatConfig(interval_s=0.05, timeout_s=0.3)
            lab.schedule("ws0", [Fault.RESET])  # attempt 1 fails: long polling connects
            async with ConnectionManager(
                lab.endpoint, provider, policy=LADDER, heartbeat=heartbeat, session_tag="m1"
            ) as manager:
                first = await manager.connect()
                await asyncio.sleep(0.2)  # a few heartbeats
                lab.rotate_token(ROTATED)  # the kept token is refused at the reconnect
                lab.drop_connections()
                for _ in range(300):
                    await asyncio.sleep(0.02)
                    if manager.session is not None and manager.session is not first:
                        break
                assert manager.session is not None and manager.session is not first
            # a connect that fails opens the breaker; SSE with the rotated token
            lab.schedule("ws0", [Fault.RESET])
            broken = ConnectionManager(
                lab.endpoint,
                ROTATED,
                policy=RetryPolicy(ladder=(Strategy.DIRECT_WEBSOCKET,), max_attempts=1),
                breaker=BreakerConfig(failure_threshold=1, cooldown_s=60.0),
                session_tag="m2",
            )
            async with broken:
                with pytest.raises(ConnectFailed):
                    await broken.connect()
            sse = RetryPolicy(ladder=(Strategy.SSE_FALLBACK,), max_attempts=1)
            async with ConnectionManager(lab.endpoint, ROTATED, policy=sse) as manager:
                session = await manager.connect()
                await session.send("hello")

    run(scenario())
    everything_said = "\n".join(everything.lines)
    assert len(everything.records) > 50  # the capture saw the run, libraries included
    names = {r.name.split(".")[0] for r in everything.records}
    assert {"chatconn", "httpx", "httpcore"} <= names
    assert SECRET not in everything_said and ROTATED not in everything_said

    debug = "\n".join(_manager_lines(everything, logging.DEBUG))
    for step in (
        "[m1]",
        "state idle -> connecting",
        "phase initializing",
        "token fetched (first); fetches this connect: 1",
        "attempt 1/3 direct_websocket started",
        "wait 0.",
        "strategy switch direct_websocket -> long_polling",
        "attempt 2/3 long_polling connected",
        "phase connected",
        "heartbeat started",
        "heartbeat pong",
        "heartbeat stopped: reconnecting",
        "token reused",
        "token fetched (rejected); fetches this connect: 1",
        "breaker closed -> open",
        "attempt 1/1 sse_fallback connected",
    ):
        assert step in debug, step
    warnings = "\n".join(_manager_lines(everything, logging.WARNING))
    assert "attempt 1/3 direct_websocket failed" in warnings and "reset" in warnings
    assert "attempt 1/3 direct_websocket failed" not in debug
    assert "heartbeat_missed" in warnings
    assert "state connected -> reconnecting" in warnings or "-> reconnecting" in warnings
    assert "[m2]" in warnings and "-> failed" in warnings
    lab_lines = [r.getMessage() for r in everything.records if r.name.startswith("chatconn.lab")]
    assert any("auth refused" in line for line in lab_lines)
    assert any("gets reset (scheduled)" in line for line in lab_lines)


def test_logging_is_silent_until_enabled_and_enable_logging_replaces_its_handler():
    chatconn_logger = logging.getLogger("chatconn")
    assert any(isinstance(h, logging.NullHandler) for h in chatconn_logger.handlers)
    first, second = io.StringIO(), io.StringIO()
    try:
        enable_logging("DEBUG", stream=first)
        handler = enable_logging(logging.INFO, stream=second)
        logging.getLogger("chatconn.live.manager").info("hello %s", "there")
        logging.getLogger("chatconn.live.manager").debug("not at INFO")
        assert first.getvalue() == ""
        assert "INFO    chatconn.live.manager: hello there" in second.getvalue()
        assert "not at INFO" not in second.getvalue()
        mine = [h for h in chatconn_logger.handlers if getattr(h, "_chatconn_enabled", False)]
        assert mine == [handler]
    finally:
        for h in [h for h in chatconn_logger.handlers if getattr(h, "_chatconn_enabled", False)]:
            chatconn_logger.removeHandler(h)
        chatconn_logger.setLevel(logging.NOTSET)
    with pytest.raises(ConfigError, match="level"):
        enable_logging("LOUD")
    with pytest.raises(ConfigError, match="logger"):
        enable_logging("DEBUG", logger="httpx")
    assert [level_for_verbosity(n) for n in (0, 1, 2, 5)] == [
        logging.ERROR, logging.INFO, logging.DEBUG, logging.DEBUG,
    ]  # fmt: skip
    with pytest.raises(ConfigError, match="verbosity"):
        level_for_verbosity(-1)


def test_the_cli_logs_with_v_and_vv_on_stderr_and_never_the_token():
    def cli(*flags: str) -> subprocess.CompletedProcess:
        args = ["run", "--lab", "--profile", "fiber", "--sessions", "2", "--time-scale", "0.05"]
        return subprocess.run(
            [sys.executable, "-m", "chatconn.cli", *flags, *args, "--json"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    quiet, loud = cli(), cli("-vv")
    assert quiet.returncode == loud.returncode == 0
    assert "chatconn.live.manager" not in quiet.stderr
    assert "DEBUG   chatconn.live.manager: [s0]" in loud.stderr
    assert "token fetched (first)" in loud.stderr
    assert "lab-token" not in loud.stderr + loud.stdout  # the lab's default token
    assert loud.stdout.lstrip().startswith("{")  # logs never mix into the JSON
