"""Running and stopping the lab's uvicorn server (shared by the lab servers).

::

    runner = UvicornRunner(uvicorn.Config(app, ...))
    await runner.start(sock, "the lab's HTTP server")  # returns once it listens
    ...
    await runner.stop()                                  # idempotent
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn

__all__ = ["STARTUP_S", "UvicornRunner"]

#: How long the server may take to start listening.
STARTUP_S = 10.0
#: How long a graceful stop may take before the server is forced to exit.
_STOP_S = 5.0


class _Uvicorn(uvicorn.Server):
    """uvicorn without its signal handlers: the lab's owner decides about Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class UvicornRunner:
    """One uvicorn server served as a task on the running loop."""

    def __init__(self, config: uvicorn.Config) -> None:
        self.server = _Uvicorn(config)
        self.task: asyncio.Task[None] | None = None

    async def start(self, sock: socket.socket, what: str, *, timeout: float = STARTUP_S) -> None:
        """Serve on ``sock`` and wait until the server has started. If it stops first, the
        socket is closed and what stopped it is raised (else a RuntimeError naming
        ``what``); a TimeoutError after ``timeout`` seconds. The task keeps running on a
        failure: :meth:`stop` it."""
        server = self.server
        task = self.task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        async with asyncio.timeout(timeout):
            while not server.started:
                if task.done():
                    sock.close()
                    task.result()  # raises what stopped it
                    raise RuntimeError(f"{what} stopped during startup")
                await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Ask the server to exit; after 5 s force it and cancel the task. Idempotent."""
        server, task = self.server, self.task
        self.task = None
        if task is None:
            return
        server.should_exit = True
        try:
            async with asyncio.timeout(_STOP_S):
                await asyncio.shield(task)
        except TimeoutError:
            server.force_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        except (Exception, SystemExit):  # uvicorn may sys.exit on failures
            pass
