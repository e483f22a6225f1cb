"""A page for real browsers: what a browser's native WebSocket and EventSource do, timed.

::

    async with BrowserPage() as page:
        page.page_url    # http://127.0.0.1:P/        the probe page (and WebSocket echo /ws)
        page.events_url  # http://127.0.0.1:Q/events  a Server-Sent Events stream

Put ``chatconn proxy`` (or :class:`chatconn.proxy.ObservingProxy`) in front of either port
and let the browser connect through it. The page defines, in the browser::

    probeWs(label, url)      new WebSocket(url); notes open, error, close (code)
    probeSse(label, url)     new EventSource(url); notes open, error (readyState), message
    window.events            [{label, event, t, ...}], t in seconds since the page loaded

and nothing else: no retry logic of its own, so what the events show is the browser's.
The WebSocket echo runs on ``websockets`` (its ``process_request`` serves the page); the
event stream on starlette + uvicorn (one ``data: tick N`` every ``tick_s``, CORS open so a
page from the other port may read it, no ``retry:`` field: the browser's default applies).
Both bind loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import itertools
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse

__all__ = ["PAGE", "BrowserPage"]

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>chatconn browser probe</title></head>
<body><h1>chatconn browser probe</h1><pre id="log"></pre>
<script>
const t0 = performance.now();
window.events = [];
function note(label, event, extra) {
  const e = Object.assign({label, event, t: (performance.now() - t0) / 1000}, extra || {});
  window.events.push(e);
  document.getElementById("log").textContent += JSON.stringify(e) + "\\n";
}
window.probeWs = (label, url) => {
  note(label, "start");
  const ws = new WebSocket(url);
  ws.onopen = () => note(label, "open");
  ws.onerror = () => note(label, "error", {readyState: ws.readyState});
  ws.onclose = (e) => note(label, "close", {code: e.code, readyState: ws.readyState});
  ws.onmessage = (m) => note(label, "message", {data: String(m.data)});
  window[label] = ws;
};
window.probeSse = (label, url) => {
  note(label, "start");
  const es = new EventSource(url);
  es.onopen = () => note(label, "open");
  es.onerror = () => note(label, "error", {readyState: es.readyState});
  es.onmessage = (m) => note(label, "message", {data: m.data});
  window[label] = es;
};
window.probeReady = true;
</script></body></html>
"""


class _Uvicorn(uvicorn.Server):
    """uvicorn without its signal handlers (its owner decides about Ctrl-C)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


class BrowserPage:
    """The probe page + WebSocket echo on one loopback port, an SSE stream on another."""

    def __init__(self, *, host: str = "127.0.0.1", tick_s: float = 0.5) -> None:
        self.host = host
        self.tick_s = tick_s
        self._ws: Server | None = None
        self._http: _Uvicorn | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> BrowserPage:
        self._ws = await serve(self._echo, self.host, 0, process_request=self._page)
        app = Starlette(routes=[Route("/events", self._events, methods=["GET"])])
        config = uvicorn.Config(
            app, host=self.host, port=0, log_config=None, log_level="warning",
            access_log=False, lifespan="off", ws="none", http="h11",
            timeout_graceful_shutdown=1,
        )  # fmt: skip
        self._http = _Uvicorn(config)
        self._task = asyncio.get_running_loop().create_task(self._http.serve())
        async with asyncio.timeout(10):
            while not self._http.started:
                if self._task.done():
                    self._task.result()
                    raise RuntimeError("the event-stream server stopped during startup")
                await asyncio.sleep(0.005)
        return self

    async def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
            await self._ws.wait_closed()
            self._ws = None
        if self._http is not None and self._task is not None:
            self._http.should_exit = True
            try:
                async with asyncio.timeout(5):
                    await asyncio.shield(self._task)
            except TimeoutError:
                self._http.force_exit = True
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._http = self._task = None

    async def __aenter__(self) -> BrowserPage:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def page_port(self) -> int:
        assert self._ws is not None, "not started"
        return self._ws.sockets[0].getsockname()[1]

    @property
    def events_port(self) -> int:
        assert self._http is not None, "not started"
        return self._http.servers[0].sockets[0].getsockname()[1]

    @property
    def page_url(self) -> str:
        return f"http://{self.host}:{self.page_port}/"

    @property
    def events_url(self) -> str:
        return f"http://{self.host}:{self.events_port}/events"

    # -- handlers ----------------------------------------------------------------------
    @staticmethod
    def _page(connection: ServerConnection, request: WsRequest) -> WsResponse | None:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None  # the echo
        body = PAGE.encode()
        headers = Headers(
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ]
        )
        return WsResponse(http.HTTPStatus.OK, "OK", headers, body)

    @staticmethod
    async def _echo(ws: ServerConnection) -> None:
        with contextlib.suppress(Exception):
            async for message in ws:
                await ws.send(message)

    async def _events(self, request: Request) -> StreamingResponse:
        async def ticks() -> AsyncIterator[str]:
            for n in itertools.count():
                yield f"data: tick {n}\n\n"
                await asyncio.sleep(self.tick_s)

        return StreamingResponse(
            ticks(),
            media_type="text/event-stream",
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"},
        )
