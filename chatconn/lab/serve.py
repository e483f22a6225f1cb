"""``chatconn serve``: run the lab server in the foreground until Ctrl-C.

::

    chatconn serve --profile NAME [--port P] [--time-scale F] [--seed S] [--allow-remote]
                   [--token T]

Binds 127.0.0.1 unless ``--allow-remote`` (then 0.0.0.0: anyone who can reach this machine
can use the lab). With ``--port P`` the primary WebSocket proxy listens on P and the others
on P+1 (alternative), P+2 (alternative) and P+3 (HTTP). Prints its URLs, then serves.

Wire it into a command line with ``add_serve_parser(subparsers)`` and, for the parsed
arguments of that command, ``run_serve(args)`` (returns the exit code).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import TYPE_CHECKING, Any, TextIO

from ..argtypes import port, positive_float, seed
from ..core.profiles import profile_names, profile_preset

if TYPE_CHECKING:  # the server stack (uvicorn, starlette, websockets) loads only to serve
    from .server import LabServer

#: The lab's default token (kept equal to chatconn.lab.server.DEFAULT_TOKEN by a test).
DEFAULT_TOKEN = "lab-token"

__all__ = ["add_serve_parser", "run_serve"]

EXIT_ERROR = 1


def _profile(text: str) -> str:
    if text not in profile_names():
        raise argparse.ArgumentTypeError(
            f"unknown profile {text!r}; known: " + ", ".join(profile_names())
        )
    return text


def add_serve_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``serve`` command to an ``argparse`` subparsers object; returns its parser."""
    p = subparsers.add_parser(
        "serve",
        help="run the lab chat server behind a chaos proxy applying a network profile",
        description=(
            "Run the lab chat server until Ctrl-C. Binds 127.0.0.1 unless --allow-remote; "
            "with --port P the proxies listen on P (primary WebSocket), P+1 and P+2 "
            "(alternative WebSocket ports) and P+3 (HTTP: long polling, SSE, /token)."
        ),
    )
    p.add_argument(
        "--profile", type=_profile, default="fiber", help="one of: " + ", ".join(profile_names())
    )
    p.add_argument("--port", type=port, default=None, help="primary port P (uses P..P+3)")
    p.add_argument(
        "--time-scale", type=positive_float, default=1.0, help="multiplies every injected delay"
    )
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--token", default=DEFAULT_TOKEN, help="the token the lab accepts")
    p.add_argument(
        "--allow-remote", action="store_true", help="listen on every interface (0.0.0.0)"
    )
    return p


def _print_urls(lab: LabServer, args: argparse.Namespace, out: TextIO) -> None:
    urls = lab.urls
    width = max(len(k) for k in urls)
    out.write(
        f"chatconn lab: profile {lab.profile.name!r}, time scale {lab.time_scale:g}, "
        f"seed {lab.seed}\n"
    )
    for key, value in urls.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        out.write(f"  {key:<{width}}  {shown}\n")
    token = lab.token if args.token == DEFAULT_TOKEN else "(the one given with --token)"
    out.write(f"  {'lab token':<{width}}  {token}\n")
    if args.allow_remote:
        out.write("  listening on every interface (--allow-remote)\n")
    out.write("Ctrl-C to stop.\n")
    out.flush()


async def _serve(args: argparse.Namespace, out: TextIO) -> None:
    from .server import LabServer

    lab = LabServer(
        profile_preset(args.profile),
        time_scale=args.time_scale,
        seed=args.seed,
        host="0.0.0.0" if args.allow_remote else "127.0.0.1",
        port=args.port or 0,
        token=args.token,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):  # not on every platform
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with lab:
        _print_urls(lab, args, out)
        await stop.wait()  # SIGTERM; Ctrl-C cancels this task (asyncio.run)
    out.write("chatconn lab: stopped\n")


def run_serve(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run ``chatconn serve`` with parsed ``args``; returns the exit code (0 on Ctrl-C)."""
    out = out or sys.stdout
    try:
        asyncio.run(_serve(args, out))
    except KeyboardInterrupt:
        out.write("chatconn lab: stopped\n")
        return 0
    except OSError as exc:  # a port in use, an address not available
        print(f"chatconn: error: cannot start the lab: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERROR
    return 0
