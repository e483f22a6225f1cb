"""The lab server on its own event loop in a background thread (for Jupyter and tests).

::

    lab = LabServerThread("3g", time_scale=0.5).start()    # blocks until ready
    lab.endpoint, lab.token                                 # for clients on any loop
    lab.set_profile("corporate-firewall")                   # thread-safe, applied on return
    lab.schedule("ws0", [Fault.STALL])
    lab.stop()                                              # or: with LabServerThread(...) as lab:

Control methods run on the lab's loop (``loop.call_soon_threadsafe``) and return once
applied, so a connection opened right after ``set_profile`` meets the new profile.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar

from ..core.profiles import NetworkProfile
from ..endpoint import Endpoint
from .chaos import Fault, FaultKind
from .server import LabServer

__all__ = ["LabServerThread"]

T = TypeVar("T")
_CALL_TIMEOUT_S = 10.0


class LabServerThread:
    """A :class:`LabServer` (same arguments) running in a daemon thread."""

    def __init__(self, profile: NetworkProfile | str, **kwargs: Any) -> None:
        self._lab = LabServer(profile, **kwargs)  # validates arguments here, in the caller
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        return f"LabServerThread({self._lab!r})"

    # -- life cycle ----------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> LabServerThread:
        """Start the thread and block until the lab listens (or raise why it could not)."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="chatconn-lab", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the lab server did not start within {timeout} s")
        if self._error is not None:
            self._thread.join(timeout)
            self._thread = None
            raise self._error
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start() if it is still waiting
            if not self._ready.is_set():
                self._error = exc
                self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with self._lab:
            self._ready.set()
            await self._stop.wait()

    def stop(self, timeout: float = 30.0) -> None:
        """Close the lab and join its thread; idempotent."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"the lab server did not stop within {timeout} s")

    def __enter__(self) -> LabServerThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- calls into the lab's loop -------------------------------------------------------
    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` on the lab's loop and return its result."""
        loop = self._loop
        if loop is None or not self.running:
            raise RuntimeError("the lab server thread is not running (call start())")
        if threading.current_thread() is self._thread:
            return fn(*args, **kwargs)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:
                future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return future.result(_CALL_TIMEOUT_S)

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coroutine`` on the lab's loop; returns a concurrent Future of its result.

        Use it for clients that must be timed against the lab: on the lab's own thread they
        do not wait for the GIL behind another busy thread (which at a small time_scale
        would add whole seconds of profile time to every connect).
        """
        loop = self._loop
        if loop is None or not self.running:
            coroutine.close()
            raise RuntimeError("the lab server thread is not running (call start())")
        return asyncio.run_coroutine_threadsafe(coroutine, loop)

    @property
    def lab(self) -> LabServer:
        """The server object (use its methods only through :meth:`call`)."""
        return self._lab

    @property
    def endpoint(self) -> Endpoint:
        return self.call(lambda: self._lab.endpoint)

    @property
    def backend_endpoint(self) -> Endpoint:
        return self.call(lambda: self._lab.backend_endpoint)

    @property
    def urls(self) -> dict[str, Any]:
        return self.call(lambda: self._lab.urls)

    @property
    def token(self) -> str:
        return self._lab.token

    @property
    def profile(self) -> NetworkProfile:
        return self._lab.profile

    def set_profile(self, profile: NetworkProfile | str, *, reset_epoch: bool = False) -> None:
        self.call(self._lab.set_profile, profile, reset_epoch=reset_epoch)

    def set_time_scale(self, time_scale: float) -> None:
        self.call(self._lab.set_time_scale, time_scale)

    def reset_epoch(self) -> None:
        self.call(self._lab.reset_epoch)

    def schedule(self, role: str, faults: Iterable[Fault | FaultKind | str]) -> None:
        self.call(self._lab.schedule, role, list(faults))

    def clear_schedules(self) -> None:
        self.call(self._lab.clear_schedules)

    def fail_token(self, n: int) -> None:
        self.call(self._lab.fail_token, n)

    def hang_token(self, on: bool = True) -> None:
        self.call(self._lab.hang_token, on)

    @property
    def garbage(self) -> bool:
        return self._lab.garbage

    @garbage.setter
    def garbage(self, on: bool) -> None:
        self.call(setattr, self._lab, "garbage", on)

    def drop_connections(self) -> int:
        return self.call(self._lab.drop_connections)

    def stats(self) -> dict[str, Any]:
        return self.call(self._lab.stats)
