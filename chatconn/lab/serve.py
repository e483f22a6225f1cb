"""``chatconn serve``: run the lab server in the foreground until Ctrl-C.

::

    chatconn serve --profile NAME [--port P] [--time-scale F] [--seed S] [--allow-remote]
                   [--token-env NAME] [--protocol chatconn|stream]

``--protocol stream`` serves Stream Chat's API instead (:mod:`chatconn.lab.stream_server`):
one port P for the WebSocket ``/connect``, REST and ``/longpoll``, so the official SDK
connects after ``client.setBaseURL("http://127.0.0.1:P")`` with any API key the lab prints
and ``client.devToken(id)``.

Binds 127.0.0.1 unless ``--allow-remote`` (then 0.0.0.0: anyone who can reach this machine
can use the lab). With ``--port P`` the primary WebSocket proxy listens on P and the others
on P+1 (alternative), P+2 (alternative) and P+3 (HTTP). Prints its URLs and the exact
``chatconn run`` command line that uses all of them (``--url`` alone would send the HTTP
fallbacks to the WebSocket port), then serves.

The token the lab accepts comes from an environment variable (``--token-env``, default
``CHATCONN_TOKEN``, the one ``chatconn run`` reads), never from an argument: arguments are
visible to every user of the machine in its process list. Unset, the lab accepts
``lab-token``.

Wire it into a command line with ``add_serve_parser(subparsers)`` and, for the parsed
arguments of that command, ``run_serve(args)`` (returns the exit code).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import signal
import sys
from typing import TYPE_CHECKING, Any, TextIO

from ..argtypes import port, positive_float, seed
from ..core.profiles import profile_names, profile_preset

if TYPE_CHECKING:  # the server stack (uvicorn, starlette, websockets) loads only to serve
    from .server import LabServer

#: The lab's default token (kept equal to chatconn.lab.server.DEFAULT_TOKEN by a test).
DEFAULT_TOKEN = "lab-token"
#: The environment variable holding the token, for ``serve`` as for ``run``.
DEFAULT_TOKEN_ENV = "CHATCONN_TOKEN"

__all__ = ["add_serve_parser", "run_serve"]

EXIT_ERROR = 1


def _profile(text: str) -> str:
    if text not in profile_names():
        raise argparse.ArgumentTypeError(
            f"unknown profile {text!r}; known: " + ", ".join(profile_names())
        )
    return text


def _no_token_argument(text: str) -> str:
    raise argparse.ArgumentTypeError(
        "a token on the command line shows in the process list; put it in an environment "
        "variable and name it with --token-env (default CHATCONN_TOKEN)"
    )


def lab_token(args: argparse.Namespace) -> str:
    """The token the lab accepts: ``$NAME`` of ``--token-env`` when set, else the default."""
    return os.environ.get(args.token_env) or DEFAULT_TOKEN


def run_command_line(lab: LabServer, args: argparse.Namespace) -> str:
    """The ``chatconn run`` command line that reaches this lab on every port: its primary and
    alternative WebSocket URLs, its HTTP URL (P+3, not the WebSocket port ``--url`` alone
    would imply), its time scale, and where the token comes from (never the token itself,
    unless it is the public default)."""
    endpoint = lab.endpoint
    words = ["chatconn", "run", "--url", endpoint.primary]
    for url in endpoint.alternatives:
        words += ["--alt-url", url]
    words += ["--http-url", endpoint.http_url]
    if lab.time_scale != 1.0:
        words += ["--time-scale", f"{lab.time_scale:g}"]
    if args.token_env != DEFAULT_TOKEN_ENV:
        words += ["--token-env", args.token_env]
    line = shlex.join(words)
    if not os.environ.get(args.token_env):  # the public default token
        line = f"{args.token_env}={DEFAULT_TOKEN} {line}"
    return line


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
    p.add_argument(
        "--token-env",
        default=DEFAULT_TOKEN_ENV,
        metavar="NAME",
        help=f"environment variable holding the token the lab accepts (unset: {DEFAULT_TOKEN})",
    )
    p.add_argument("--token", type=_no_token_argument, help=argparse.SUPPRESS)
    p.add_argument(
        "--allow-remote", action="store_true", help="listen on every interface (0.0.0.0)"
    )
    p.add_argument(
        "--protocol",
        choices=("chatconn", "stream"),
        default="chatconn",
        help="chatconn: the lab's own protocol on P..P+3; stream: Stream Chat's API on one "
        "port P (for the official stream-chat SDK)",
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
    given = os.environ.get(args.token_env)
    token = f"(the one in ${args.token_env})" if given else lab.token
    out.write(f"  {'lab token':<{width}}  {token}\n")
    if args.allow_remote:
        out.write("  listening on every interface (--allow-remote)\n")
    out.write(f"Measure it with:\n  {run_command_line(lab, args)}\n")
    out.write("Ctrl-C to stop.\n")
    out.flush()


def lab_options(args: argparse.Namespace) -> dict[str, Any]:
    """The lab's arguments from ``chatconn serve``'s, for either protocol (the token apart)."""
    return {
        "profile": profile_preset(args.profile),
        "time_scale": args.time_scale,
        "seed": args.seed,
        "host": "0.0.0.0" if args.allow_remote else "127.0.0.1",
        "port": args.port or 0,
    }


def sigterm_event() -> asyncio.Event:
    """An event that SIGTERM sets (where the running loop can handle signals); Ctrl-C
    cancels the serving task instead (asyncio.run)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):  # not on every platform
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    return stop


async def _serve(args: argparse.Namespace, out: TextIO) -> None:
    if getattr(args, "protocol", "chatconn") == "stream":
        from .stream_serve import serve_stream

        await serve_stream(args, out)
        return
    from .server import LabServer

    lab = LabServer(**lab_options(args), token=lab_token(args))
    stop = sigterm_event()
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
