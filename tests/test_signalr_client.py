"""The real @microsoft/signalr client (10.0.11, pinned in chatconn/lab/js) vs the signalr preset.

The preset's numbers are read from the client's source (chatconn.core.presets.signalr); here
the running library confirms them: its defaults, its retry table, and which step of an
attempt its HTTP timeout bounds. The default timeout is 100 s, so the checks run with the
same option shortened to 1.5 s — the mechanism, not the wait.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator

import pytest
from jsclients import json_lines, run_node

from chatconn.core.presets import (
    SIGNALR_NEGOTIATE_TIMEOUT_S,
    SIGNALR_SERVER_TIMEOUT_S,
    policy_preset,
)
from chatconn.core.schedule import nominal_timeouts, nominal_waits

DEFAULTS = """
const signalR = require("@microsoft/signalr");
const hub = new signalR.HubConnectionBuilder()
  .withUrl("http://127.0.0.1:9/hub")
  .withAutomaticReconnect()
  .configureLogging(signalR.LogLevel.None)
  .build();
const delays = [0, 1, 2, 3, 4].map((n) =>
  hub._reconnectPolicy.nextRetryDelayInMilliseconds({previousRetryCount: n}));
console.log(JSON.stringify({
  version: signalR.VERSION,
  http_timeout_ms: hub.connection._options.timeout,
  server_timeout_ms: hub.serverTimeoutInMilliseconds,
  delays_ms: delays,
}));
"""

START = """
const signalR = require("@microsoft/signalr");
const [url, timeoutMs, watchMs] = process.argv.slice(1);
const hub = new signalR.HubConnectionBuilder()
  .withUrl(url, {timeout: Number(timeoutMs)})
  .configureLogging(signalR.LogLevel.None)
  .build();
const began = Date.now();
const report = (outcome, error) => {
  console.log(JSON.stringify({outcome, error: String(error || ""), after_ms: Date.now() - began}));
  process.exit(0);
};
hub.start().then(() => report("connected"), (e) => report("failed", e));
setTimeout(() => report("still starting"), Number(watchMs));
"""

NEGOTIATE = json.dumps(
    {
        "connectionId": "c1",
        "connectionToken": "t1",
        "negotiateVersion": 1,
        "availableTransports": [{"transport": "WebSockets", "transferFormats": ["Text"]}],
    }
).encode()


class SilentServer:
    """Loopback server that accepts and never answers; with ``answer_negotiate`` it answers
    ``POST .../negotiate`` and hangs only the WebSocket upgrade (a proxy that passes HTTP)."""

    def __init__(self, answer_negotiate: bool) -> None:
        self.answer_negotiate = answer_negotiate
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0
        self.requests: list[str] = []

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0].decode()
                self.requests.append(line)
                if self.answer_negotiate and line.startswith("POST") and "/negotiate" in line:
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: " + str(len(NEGOTIATE)).encode() + b"\r\n\r\n"
                    )
                    writer.write(NEGOTIATE)
                    await writer.drain()
                    continue
                await asyncio.sleep(3600)  # accept, never answer
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, family=socket.AF_INET)
        )
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        server.close()
        for task in asyncio.all_tasks(self.loop):
            task.cancel()
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()

    def __enter__(self) -> SilentServer:
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    with SilentServer(answer_negotiate=False) as server:
        yield server


@pytest.fixture
def negotiate_only() -> Iterator[SilentServer]:
    with SilentServer(answer_negotiate=True) as server:
        yield server


def start(url: str, timeout_ms: int, watch_ms: int) -> dict:
    done = run_node(START, url, str(timeout_ms), str(watch_ms), timeout=60)
    assert done.returncode == 0, done.stderr
    (record,) = json_lines(done.stdout)
    return record


def test_the_running_client_has_the_presets_numbers(js_clients):
    done = run_node(DEFAULTS, timeout=60)
    assert done.returncode == 0, done.stderr
    (found,) = json_lines(done.stdout)
    assert found["version"] == "10.0.11"
    assert found["http_timeout_ms"] / 1000 == SIGNALR_NEGOTIATE_TIMEOUT_S == 100.0
    assert found["server_timeout_ms"] / 1000 == SIGNALR_SERVER_TIMEOUT_S == 30.0
    policy = policy_preset("signalr")
    assert found["delays_ms"][:4] == [1000 * w for w in nominal_waits(policy)[:4]]
    assert found["delays_ms"][4] is None  # then stop: the preset gives up
    assert not policy.retries_forever and policy.max_attempts == 5
    assert nominal_timeouts(policy).tolist() == [SIGNALR_NEGOTIATE_TIMEOUT_S] * 5


def test_a_server_that_never_answers_fails_the_attempt_at_the_http_timeout(js_clients, silent):
    # The negotiate POST carries `timeout`; shortened here from its 100 s default.
    record = start(f"http://127.0.0.1:{silent.port}/hub", 1_500, 20_000)
    assert record["outcome"] == "failed"
    assert "timeout" in record["error"].lower()
    assert 1_400 <= record["after_ms"] < 10_000
    assert silent.requests and silent.requests[0].startswith("POST /hub/negotiate")


def test_a_hanging_websocket_upgrade_is_not_bounded_by_that_timeout(js_clients, negotiate_only):
    # Negotiate answered, the upgrade never: 4 s later, well past the 1.5 s HTTP timeout,
    # start() has neither connected nor failed (the WebSocket open has no timer).
    record = start(f"http://127.0.0.1:{negotiate_only.port}/hub", 1_500, 4_000)
    assert record["outcome"] == "still starting", record
    lines = negotiate_only.requests
    assert lines[0].startswith("POST /hub/negotiate")
    assert any(line.startswith("GET /hub?id=t1") for line in lines[1:]), lines
