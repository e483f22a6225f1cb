"""A real browser as a client of ``chatconn proxy``: headless Chromium loads the lab's probe
page (:mod:`chatconn.lab.browser_page`) and opens its native WebSocket and EventSource through
proxies that hang every connection, reset WebSocket upgrades, or drop and then reset an event
stream. The test records what Chromium does (times to error and close, EventSource's own
retries) from the page's events and from the proxies' run files.

Locally the test skips when Chromium or playwright is missing, saying so; with ``CI`` set it
fails instead. Console log to ``$CHATCONN_ARTIFACTS/browser/`` (default test-artifacts/).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser_lab import ROOT, Deadline, chromium, require_browser

from chatconn.core.profiles import FaultMode, NetworkProfile
from chatconn.lab.browser_page import BrowserPage
from chatconn.live.harness import quiet_heap
from chatconn.observe import timelines
from chatconn.proxy import ObservingProxy
from chatconn.runs import load_run

pytestmark = pytest.mark.browser

QUIET = NetworkProfile("quiet-lan", "2 ms, nothing lost", rtt_median_s=0.002, rtt_sigma=0.0)
HANG = QUIET.with_changes(name="hang-everything", stall_probability=1.0)
UPGRADE_RESET = QUIET.with_changes(
    name="upgrade-reset", ws_blocked_share=1.0, ws_block_mode=FaultMode.RESET
)
RESET = QUIET.with_changes(name="reset-everything", reset_probability=1.0)
#: How long the hung connections are watched (the browser gives up on neither before).
HANG_WATCH_S = 15.0
#: How long the event stream meets resets after its drop: several of Chromium's retries.
RESET_WATCH_S = 10.0
BUDGET_S = 90.0


class _Loop:
    """An event loop in a daemon thread: servers and proxies run there, the test (sync
    playwright) calls into it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


async def _do(fn: Any, *args: Any) -> Any:
    return fn(*args)


def _artifacts() -> Path:
    return Path(os.environ.get("CHATCONN_ARTIFACTS", ROOT / "test-artifacts")) / "browser"


@pytest.fixture
def no_full_gc():
    """The proxies run in this process: no full GC pass in their timestamps (harness.py)."""
    with quiet_heap():
        yield


def test_chromium_websocket_and_eventsource_under_a_hang_an_upgrade_reset_and_a_drop(
    tmp_path, no_full_gc
):
    require_browser()
    deadline = Deadline(BUDGET_S)
    runner = _Loop()
    page_server = BrowserPage()
    proxies: dict[str, ObservingProxy] = {}
    try:
        runner.call(page_server.start())
        page_up = ("127.0.0.1", page_server.page_port)
        events_up = ("127.0.0.1", page_server.events_port)
        for name, upstream, profile in (
            ("page", page_up, QUIET),
            ("hang", page_up, HANG),
            ("upgrade", page_up, UPGRADE_RESET),
            ("stream", events_up, QUIET),
        ):
            proxy = ObservingProxy(upstream, profile, record=tmp_path / f"{name}.jsonl")
            proxies[name] = runner.call(proxy.start())

        def url(name: str, scheme: str, path: str, tag: str) -> str:
            host, port = proxies[name].address
            return f"{scheme}://{host}:{port}{path}?chatconn_client={tag}"

        with chromium(watchdog_s=BUDGET_S + 20) as browser:
            page = browser.page
            try:
                page.goto(url("page", "http", "/", "page"), timeout=deadline.ms(20))
                page.wait_for_function("window.probeReady === true", timeout=deadline.ms(10))
                page.evaluate(
                    """([hangWs, hangSse, resetWs, stream]) => {
                        probeWs("hang_ws", hangWs); probeSse("hang_sse", hangSse);
                        probeWs("reset_ws", resetWs); probeSse("stream", stream);
                    }""",
                    [
                        url("hang", "ws", "/ws", "hang_ws"),
                        url("hang", "http", "/events", "hang_sse"),
                        url("upgrade", "ws", "/ws", "reset_ws"),
                        url("stream", "http", "/events", "stream"),
                    ],
                )
                started = time.monotonic()
                page.wait_for_function(
                    "window.events.some(e => e.label === 'stream' && e.event === 'message')",
                    timeout=deadline.ms(10),
                )
                # The stream's server goes away (every connection reset), then comes back.
                stream = proxies["stream"]
                runner.call(_do(stream.set_profile, RESET))
                runner.call(_do(stream.drop_all))
                time.sleep(min(RESET_WATCH_S, deadline.timeout(RESET_WATCH_S)))
                runner.call(_do(stream.set_profile, QUIET))
                page.wait_for_function(
                    "window.events.filter(e => e.label === 'stream' && e.event === 'open')"
                    ".length >= 2",
                    timeout=deadline.ms(10),
                )
                left = HANG_WATCH_S - (time.monotonic() - started)
                if left > 0:
                    time.sleep(min(left, deadline.timeout(left)))
                events = page.evaluate("window.events")
            finally:
                browser.save_console(_artifacts() / "proxy-browser-console.log")
    finally:
        for proxy in proxies.values():
            runner.call(proxy.close())
        runner.call(page_server.close())
        runner.stop()

    by_label: dict[str, list[dict]] = {}
    for e in events:
        by_label.setdefault(e["label"], []).append(e)
    runs = {name: timelines(load_run(tmp_path / f"{name}.jsonl").observations) for name in proxies}

    # Hang: Chromium's WebSocket and EventSource neither open nor fail, however long we
    # watch: no timeout of their own within HANG_WATCH_S (the app must bring one).
    for label in ("hang_ws", "hang_sse"):
        assert [e["event"] for e in by_label[label]] == ["start"], by_label[label]
        (attempt,) = runs["hang"][f"tag:{label}"]  # one connection, never retried
        assert attempt.outcome == "stall"
        assert attempt.connection.closed_s >= HANG_WATCH_S - 1.0

    # Upgrade reset: error then close 1006 at once (a few ms plus 2 RTT), and no retry.
    start, error, close = by_label["reset_ws"]
    assert (error["event"], close["event"], close["code"]) == ("error", "close", 1006)
    assert close["t"] - start["t"] < 1.0
    (attempt,) = runs["upgrade"]["tag:reset_ws"]
    assert attempt.outcome == "upgrade_reset"

    # A dropped event stream: EventSource says error with readyState CONNECTING (0) and
    # retries on its own, at a constant delay (no backoff, no jitter), through every reset,
    # until the server is back.
    stream = [e for e in by_label["stream"] if e["event"] in ("open", "error")]
    assert stream[0]["event"] == "open" and stream[-1]["event"] == "open"
    errors = [e for e in stream if e["event"] == "error"]
    assert len(errors) >= 3 and all(e["readyState"] == 0 for e in errors)
    attempts = runs["stream"]["tag:stream"]
    assert attempts[0].outcome == "connected"
    assert attempts[0].connection.closed_by == "proxy"  # the drop
    retries = attempts[1:]
    assert [a.retry for a in retries] == list(range(1, len(retries) + 1))
    assert {a.outcome for a in retries[:-1]} == {"reset"} and retries[-1].outcome == "connected"
    gaps = np.array([a.gap_s for a in retries])
    # Constant: every wait within the harness's timing slack (50 ms) of the median, which
    # does not grow with the retry number.
    assert np.abs(gaps - np.median(gaps)).max() <= 0.05, gaps
    assert 1.0 <= float(np.median(gaps)) <= 10.0, gaps
    print(f"EventSource retry waits: {np.round(gaps, 3).tolist()} s")
