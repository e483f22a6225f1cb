"""The lab server in a child process: its CPU on another core, not on the clients' loop.

Use it when many live sessions run against the lab (``chatconn run --lab`` does): with the
lab on the clients' event loop, every connect costs that one loop the client's work *and*
the proxy's and the backend's (measured here: ~3 ms of one core per WebSocket connect, of
which ~2 ms is the lab's), so a burst of 5,000 sessions queues ~15 s of CPU on one loop
and every attempt's timeout runs out while the harness, not the network, is busy. In its
own process the lab works beside the clients on the second core, and a crash or a stall
of one side cannot freeze the other.

::

    with LabProcess(profile_preset("3g"), time_scale=0.1, seed=1) as lab:   # blocks until ready
        lab.endpoint, lab.token                  # for clients in this process
        lab.set_profile("corporate-firewall")    # applied in the child before it returns
        lab.schedule("ws0", [Fault.STALL])

    async with LabProcess("fiber") as lab: ...   # the same, started off the loop

The arguments are :class:`~chatconn.lab.server.LabServer`'s (validated here, in the
caller), except ``tls`` (an :class:`ssl.SSLContext` cannot cross a process boundary: use
:class:`LabServer` or :class:`~chatconn.lab.thread.LabServerThread` for TLS). The child
is a fresh interpreter (``sys.executable``; not a fork of a process running an event loop
and threads, and not multiprocessing's ``spawn``, which re-runs the caller's ``__main__``),
receives its arguments — the token included — through a socket pair, never on its command
line, and stops when told, or by itself when the parent goes away (the socket closes).
Control calls are blocking round trips over that pipe (well under a millisecond of work in
the child); call them from one thread at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError
from ..core.profiles import NetworkProfile
from ..endpoint import Endpoint
from ..limits import raise_open_files_limit
from .chaos import Fault, FaultKind

__all__ = ["LabProcess"]

_CALL_TIMEOUT_S = 10.0
#: The control calls the child answers (LabServer methods of the same name).
_CALLS = frozenset(
    {
        "set_profile",
        "set_time_scale",
        "reset_epoch",
        "schedule",
        "clear_schedules",
        "fail_token",
        "hang_token",
        "drop_connections",
        "stats",
        "set_garbage",
    }
)


def _answer(lab: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if name not in _CALLS:
        raise ConfigError("call", name, "not a lab control call")
    if name == "set_garbage":
        lab.garbage = bool(args[0])
        return None
    result = getattr(lab, name)(*args, **kwargs)
    if name == "set_time_scale":
        return lab.time_scale
    return result


async def _serve(conn: Connection, profile: NetworkProfile, kwargs: dict[str, Any]) -> None:
    from .server import LabServer

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    try:
        lab = LabServer(profile, **kwargs)
        await lab.start()
    except BaseException as exc:
        conn.send(("error", _portable(exc)))
        return
    try:
        conn.send(
            (
                "ready",
                {
                    "endpoint": lab.endpoint,
                    "backend_endpoint": lab.backend_endpoint,
                    "urls": lab.urls,
                    "time_scale": lab.time_scale,
                },
            )
        )

        def on_message() -> None:
            try:
                name, args, call_kwargs = conn.recv()
            except (EOFError, OSError):  # the parent went away
                loop.remove_reader(conn.fileno())
                stop.set()
                return
            if name == "stop":
                loop.remove_reader(conn.fileno())
                stop.set()
                return
            try:
                reply = ("ok", _answer(lab, name, args, call_kwargs))
            except Exception as exc:
                reply = ("error", _portable(exc))
            conn.send(reply)

        loop.add_reader(conn.fileno(), on_message)
        await stop.wait()
    finally:
        await lab.close()
        with contextlib.suppress(OSError):
            conn.send(("stopped", None))


def _portable(exc: BaseException) -> Any:
    """What crosses the pipe for an exception: a ConfigError as its fields (its constructor
    does not take its message back, so it does not unpickle), another exception as itself
    when it pickles, else a RuntimeError saying what it was."""
    import pickle

    if isinstance(exc, ConfigError):
        value = exc.value
        try:
            pickle.dumps(value)
        except Exception:
            value = repr(value)
        return ("ConfigError", exc.field, value, exc.allowed)
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _raised(value: Any) -> BaseException:
    """The exception :func:`_portable` sent, rebuilt in the parent."""
    if isinstance(value, tuple) and value[:1] == ("ConfigError",):
        return ConfigError(*value[1:])
    return value


def child_main(fd: int) -> None:
    """The child's entry point (``LabProcess.start`` runs it): serve the lab whose
    arguments arrive first on the connection at file descriptor ``fd``."""
    conn = Connection(fd)
    raise_open_files_limit()
    profile, kwargs = conn.recv()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C reaches the whole process group
        asyncio.run(_serve(conn, profile, kwargs))
    conn.close()


class LabProcess:
    """A :class:`~chatconn.lab.server.LabServer` (same arguments, no ``tls``) running in a
    child process; see the module doc."""

    def __init__(self, profile: NetworkProfile | str, **kwargs: Any) -> None:
        from .server import LabServer, as_profile

        if kwargs.get("tls") is not None:
            raise ConfigError(
                "tls", "<ssl context>", "a TLS lab cannot run in a child process: use LabServer"
            )
        self._profile = as_profile(profile)
        LabServer(self._profile, **kwargs)  # validates every argument here, in the caller
        self._kwargs = dict(kwargs)
        self._token = str(kwargs.get("token", "lab-token"))
        self.seed = kwargs.get("seed", 0)
        self.time_scale = float(kwargs.get("time_scale", 1.0))
        self._process: Any = None
        self._conn: Connection | None = None
        self._info: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never shows the token
        state = "running" if self.running else "stopped"
        return f"LabProcess(profile={self._profile.name!r}, {state})"

    # -- life cycle ----------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> LabProcess:
        """Start the child and block until the lab listens (or raise why it could not)."""
        if self._process is not None:
            return self
        mine_sock, theirs_sock = socket.socketpair()
        root = str(Path(__file__).resolve().parents[2])  # where this chatconn is imported from
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        process = subprocess.Popen(
            [sys.executable, "-c", f"from chatconn.lab.process import child_main; "
             f"child_main({theirs_sock.fileno()})"],
            pass_fds=(theirs_sock.fileno(),),
            stdin=subprocess.DEVNULL,
            env=env,
        )  # fmt: skip
        theirs_sock.close()
        mine = Connection(mine_sock.detach())
        try:
            mine.send((self._profile, self._kwargs))  # the token travels here, not in argv
            if not mine.poll(timeout):
                raise TimeoutError(f"the lab process did not start within {timeout} s")
            status, value = mine.recv()
        except BaseException as exc:
            process.kill()
            process.wait()
            mine.close()
            if isinstance(exc, EOFError | OSError):
                raise RuntimeError(
                    f"the lab process exited during startup (exit code {process.returncode})"
                ) from None
            raise
        if status != "ready":
            process.wait()
            mine.close()
            raise _raised(value)
        self._process, self._conn, self._info = process, mine, value
        self.time_scale = float(value["time_scale"])
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Close the lab and wait for the child to exit; idempotent."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if process is None or conn is None:
            return
        with contextlib.suppress(OSError, BrokenPipeError):
            conn.send(("stop", (), {}))
            if conn.poll(timeout):
                with contextlib.suppress(EOFError):
                    conn.recv()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        conn.close()

    def __enter__(self) -> LabProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> LabProcess:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    # -- calls into the child ------------------------------------------------------------
    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Run the lab's control method ``name`` in the child and return its result."""
        conn = self._conn
        if conn is None or not self.running:
            raise RuntimeError("the lab process is not running (call start())")
        with self._lock:
            conn.send((name, args, kwargs))
            if not conn.poll(_CALL_TIMEOUT_S):
                raise TimeoutError(f"the lab process did not answer {name!r} in time")
            status, value = conn.recv()
        if status != "ok":
            raise _raised(value)
        return value

    @property
    def endpoint(self) -> Endpoint:
        self._require_started()
        return self._info["endpoint"]

    @property
    def backend_endpoint(self) -> Endpoint:
        self._require_started()
        return self._info["backend_endpoint"]

    @property
    def urls(self) -> dict[str, Any]:
        return dict(self._info.get("urls", {})) if self.running else {}

    @property
    def token(self) -> str:
        return self._token

    @property
    def profile(self) -> NetworkProfile:
        return self._profile

    def _require_started(self) -> None:
        if self._conn is None:
            raise RuntimeError("the lab process is not started (use 'with' or start())")

    def set_profile(self, profile: NetworkProfile | str, *, reset_epoch: bool = False) -> None:
        from .server import as_profile

        profile = as_profile(profile)
        self.call("set_profile", profile, reset_epoch=reset_epoch)
        self._profile = profile

    def set_time_scale(self, time_scale: float) -> None:
        self.time_scale = float(self.call("set_time_scale", time_scale))

    def reset_epoch(self) -> None:
        self.call("reset_epoch")

    def schedule(self, role: str, faults: Iterable[Fault | FaultKind | str]) -> None:
        self.call("schedule", role, list(faults))

    def clear_schedules(self) -> None:
        self.call("clear_schedules")

    def fail_token(self, n: int) -> None:
        self.call("fail_token", n)

    def hang_token(self, on: bool = True) -> None:
        self.call("hang_token", on)

    def set_garbage(self, on: bool) -> None:
        """Answer auth with non-JSON text while on (LabServer.garbage)."""
        self.call("set_garbage", on)

    def drop_connections(self) -> int:
        return int(self.call("drop_connections"))

    def stats(self) -> dict[str, Any]:
        return self.call("stats")
