"""``chatconn proxy`` and ``chatconn observe`` on the command line.

::

    chatconn proxy --upstream HOST:PORT [--listen HOST:PORT] [--profile NAME|FILE.json]
                   [--record FILE|DIR/] [--force] [--seed S] [--time-scale F]
                   [--allow-remote] [--quiet]
    chatconn observe RUN [--like PRESET[,PRESET...]] [--alpha A] [--tolerance-s T]
                     [--timeline] [--json]

``proxy`` runs in the foreground until Ctrl-C (or SIGTERM, or ``quit`` on its standard
input) and prints one line per connection as it ends. While it runs it reads commands on
its standard input, one per line::

    profile NAME|FILE.json   apply another profile to new connections (recorded in the run)
    drop                     reset every open connection (a server restart, seen by clients)
    stats                    connections so far, open now, faults by kind
    quit                     stop (as Ctrl-C)

From a script: ``mkfifo ctl; chatconn proxy ... < ctl &`` then ``echo 'profile 3g' > ctl``,
or start it from Python with ``stdin=PIPE``. ``--listen`` must be a loopback address unless
``--allow-remote``.

``observe`` prints each client's attempts (``--timeline``) and how its waits compare with
one or more presets (default: all of them, best first).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import threading
from typing import Any, TextIO

from ..argtypes import positive_float, seed
from ..core.errors import ChatconnError, ConfigError
from ..core.presets import policy_preset, policy_preset_names
from ..observe import DEFAULT_TOLERANCE_S, ObservedConnection, observation_report
from .recorder import ObservingProxy, check_listen_host, parse_address

__all__ = ["add_observe_parser", "add_proxy_parser", "print_observe", "run_observe", "run_proxy"]

EXIT_ERROR = 1
PROXY_DESCRIPTION = """\
The lab's chaos proxy in front of any TCP server (HTTP upgrades detected), applying a network
profile and recording every connection to an observed run file (--record). Loopback only
unless --allow-remote. Runs until Ctrl-C, SIGTERM or `quit`; commands on standard input:

  profile NAME|FILE.json   apply another profile to new connections (recorded)
  drop                     reset every open connection (a server restart)
  stats                    connections so far, open now, faults by kind
  quit                     stop
"""
HELP = "commands: profile NAME|FILE.json, drop, stats, quit"


def add_proxy_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "proxy",
        help="the chaos proxy in front of any TCP server, recording what clients do",
        description=PROXY_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--upstream", required=True, metavar="HOST:PORT", help="the real server")
    p.add_argument(
        "--listen",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="where clients connect (default 127.0.0.1, a free port)",
    )
    p.add_argument("--profile", default="fiber", help="a profile name or a .json profile file")
    p.add_argument("--record", metavar="FILE|DIR/", help="write an observed run file")
    p.add_argument("--force", action="store_true", help="replace --record if it exists")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument(
        "--time-scale", type=positive_float, default=1.0, help="multiplies every injected delay"
    )
    p.add_argument(
        "--allow-remote", action="store_true", help="allow a --listen address that is not loopback"
    )
    p.add_argument("--quiet", action="store_true", help="no line per connection")
    return p


def add_observe_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "observe", help="attempt timelines of an observed run and which preset they match"
    )
    p.add_argument("source", metavar="RUN")
    p.add_argument(
        "--like",
        help="comma-separated presets to compare with (default: every preset, best first)",
    )
    p.add_argument("--alpha", type=positive_float, default=0.001, help="KS level (overall)")
    p.add_argument(
        "--tolerance-s",
        type=float,
        default=DEFAULT_TOLERANCE_S,
        help="timing slack allowed per wait (seconds)",
    )
    p.add_argument("--scale", type=positive_float, default=1.0, help="multiply preset waits")
    p.add_argument("--timeline", action="store_true", help="list every attempt per client")
    p.add_argument("--json", action="store_true")
    return p


# -- observe ---------------------------------------------------------------------------


def run_observe(args: argparse.Namespace) -> dict[str, Any]:
    from ..runs.load import load_run

    run = load_run(args.source)
    if run.kind != "observed":
        raise ConfigError("run", str(run.path), f"a {run.kind} run; observe reads observed runs")
    names = (
        [n.strip() for n in args.like.split(",") if n.strip()]
        if args.like
        else list(policy_preset_names())
    )
    policies = {name: policy_preset(name) for name in names}
    if not 0 < args.alpha < 1:
        raise ConfigError("alpha", args.alpha, "expected a level in (0, 1)")
    report = observation_report(
        run,
        policies,
        timeline=args.timeline or args.json,
        alpha=args.alpha,
        tolerance_s=args.tolerance_s,
        time_scale=args.scale,
    )
    return {"file": str(run.path), "label": run.label, **report}


def print_observe(report: dict[str, Any], stream: TextIO) -> None:
    out = stream.write
    out(
        f"{report['file']}: {report['label']}\n  {report['connections']} connections from "
        f"{report['clients']} clients: {report['episodes']} connects "
        f"({report['reconnects']} after a drop), {report['connected']} connected\n"
    )
    for client, attempts in report["timelines"].items():
        out(f"  {client}\n")
        for a in attempts:
            gap = "" if a["gap_s"] is None else f"+{a['gap_s']:.3f} s"
            gap = "parallel" if a["parallel"] else gap
            dur = "open" if a["duration_s"] is None else f"{a['duration_s']:.3f} s"
            out(
                f"    #{a['index']:<3} retry {a['retry']:<2} at {a['at_s']:9.3f} s {gap:>12}  "
                f"{a['outcome']:<13} lasted {dur} ({a['closed_by'] or 'open'})\n"
            )
    for c in report["comparisons"]:
        out(f"  {c['verdict']}\n")


# -- proxy -----------------------------------------------------------------------------


def _line(c: ObservedConnection) -> str:
    connected = f" connected at {c.first_byte_s:.3f} s" if c.connected and c.first_byte_s else ""
    lasted = "" if c.closed_s is None else f", lasted {c.closed_s:.3f} s"
    what = c.target or ("tls" if c.tls else "-")
    return (
        f"[{c.at_s:9.3f}] {c.client} #{c.id} {what}: {c.outcome}{connected}{lasted}"
        f" (closed by {c.closed_by or '-'}, {c.bytes_up} B up, {c.bytes_down} B down)\n"
    )


def _command(proxy: ObservingProxy, line: str, stop: asyncio.Event, out: TextIO) -> None:
    words = line.split()
    if not words:
        return
    try:
        if words[0] == "profile" and len(words) == 2:
            found = proxy.set_profile(words[1])
            out.write(f"chatconn proxy: profile {found.name!r} from now on\n")
        elif words[0] == "drop" and len(words) == 1:
            out.write(f"chatconn proxy: reset {proxy.drop_all()} open connections\n")
        elif words[0] == "stats" and len(words) == 1:
            stats = proxy.proxy.stats()
            faults = {k: v for k, v in stats["faults"].items() if v}
            out.write(
                f"chatconn proxy: {stats['connections']} connections, {stats['active']} open, "
                f"faults {faults or 'none'}\n"
            )
        elif words[0] in ("quit", "exit") and len(words) == 1:
            stop.set()
        else:
            out.write(f"chatconn proxy: unknown command {line.strip()!r}; {HELP}\n")
    except ChatconnError as exc:
        out.write(f"chatconn proxy: {' '.join(str(exc).split())}\n")
    out.flush()


def _read_commands(loop: asyncio.AbstractEventLoop, handle: Any, stream: TextIO) -> None:
    """Read command lines on a daemon thread (never blocks the loop nor the exit)."""
    for line in stream:
        with contextlib.suppress(RuntimeError):  # the loop is closed: we are stopping
            loop.call_soon_threadsafe(handle, line)


async def _serve(args: argparse.Namespace, out: TextIO, commands: TextIO | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, stop.set)

    def show(c: ObservedConnection) -> None:
        if not args.quiet:
            out.write(_line(c))
            out.flush()

    proxy = ObservingProxy(
        args.upstream,
        args.profile,
        listen=args.listen,
        allow_remote=args.allow_remote,
        record=args.record,
        force=args.force,
        seed=args.seed,
        time_scale=args.time_scale,
        on_connection=show,
    )
    async with proxy:
        host, port = proxy.address
        up = f"{proxy.upstream[0]}:{proxy.upstream[1]}"
        out.write(
            f"chatconn proxy: listening on {host}:{port} -> {up}, profile "
            f"{proxy.profile.name!r}, time scale {proxy.proxy.time_scale:g}, seed {args.seed}\n"
        )
        out.write(f"  recording to {proxy.path}\n" if proxy.path else "  not recording\n")
        if args.allow_remote:
            out.write("  --allow-remote: anyone who can reach this address can use the proxy\n")
        out.write(f"  {HELP} (on stdin); Ctrl-C to stop.\n")
        out.flush()
        if commands is not None:
            threading.Thread(
                target=_read_commands,
                args=(loop, lambda line: _command(proxy, line, stop, out), commands),
                daemon=True,
                name="chatconn-proxy-commands",
            ).start()
        await stop.wait()
    out.write(f"chatconn proxy: stopped after {proxy.connections} connections\n")


def run_proxy(
    args: argparse.Namespace, out: TextIO | None = None, commands: TextIO | None = None
) -> int:
    """Run ``chatconn proxy`` with parsed ``args``; returns the exit code (0 on Ctrl-C)."""
    out = out or sys.stdout
    # Bad input fails before anything listens (the parser's errors are one line, exit 2).
    check_listen_host(parse_address(args.listen, "listen")[0], allow_remote=args.allow_remote)
    parse_address(args.upstream, "upstream")
    try:
        asyncio.run(_serve(args, out, sys.stdin if commands is None else commands))
    except KeyboardInterrupt:
        out.write("chatconn proxy: stopped\n")
        return 0
    except OSError as exc:
        print(f"chatconn: error: cannot start the proxy: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERROR
    return 0
