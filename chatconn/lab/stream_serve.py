"""``chatconn serve --protocol stream``: the Stream-protocol lab in the foreground.

Prints the base URL for ``client.setBaseURL``, the API key and the ``chatconn run`` command
line that measures it, then serves until Ctrl-C or SIGTERM. The token the lab accepts
besides development tokens comes from ``--token-env`` (default ``CHATCONN_TOKEN``) and is
never printed.
"""

from __future__ import annotations

import argparse
import os
import shlex
from typing import TextIO

from .serve import lab_options, sigterm_event
from .stream_server import StreamLabServer

__all__ = ["serve_stream"]


def stream_run_command(lab: StreamLabServer, token_env: str) -> str:
    """The ``chatconn run --protocol stream`` line for this lab. The token is the lab's own
    (named by its variable, never shown) when one is set, else the development token of the
    endpoint's user, which is public (unsigned, as ``client.devToken`` makes it)."""
    words = ["chatconn", "run", "--protocol", "stream", "--url", lab.base_url]
    words += ["--api-key", lab.api_key]
    if lab.time_scale != 1.0:
        words += ["--time-scale", f"{lab.time_scale:g}"]
    if token_env != "CHATCONN_TOKEN":
        words += ["--token-env", token_env]
    line = shlex.join(words)
    if not os.environ.get(token_env):
        line = f"{token_env}={lab.token} {line}"
    return line


async def serve_stream(args: argparse.Namespace, out: TextIO) -> None:
    lab = StreamLabServer(**lab_options(args), token=os.environ.get(args.token_env) or None)
    stop = sigterm_event()
    async with lab:
        out.write(
            f"chatconn lab (Stream Chat protocol): profile {lab.profile.name!r}, "
            f"time scale {lab.time_scale:g}, seed {lab.seed}\n"
        )
        for key, value in lab.urls.items():
            out.write(f"  {key:<12}  {value}\n")
        out.write(
            "  tokens        client.devToken(user_id)"
            + (f", or the one in ${args.token_env}" if os.environ.get(args.token_env) else "")
            + "\n"
        )
        if args.allow_remote:
            out.write("  listening on every interface (--allow-remote)\n")
        out.write(
            f"Connect the SDK with:\n  client.setBaseURL({lab.base_url!r})\n"
            f"Measure it with:\n  {stream_run_command(lab, args.token_env)}\n"
        )
        out.write("Ctrl-C to stop.\n")
        out.flush()
        await stop.wait()
    out.write("chatconn lab: stopped\n")
