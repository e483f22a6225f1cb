"""chatconn on the command line: describe, simulate, stress, record, report, tune policies.

::

    chatconn presets  [--json]
    chatconn schedule --policy NAME [--set FIELD=VALUE ...] [--samples N] [--seed S] [--json]
    chatconn simulate --policy NAME [--set ...] --profile NAME [--sessions N] [--seed S] [--json]
    chatconn storm    --policy NAME [--set ...] --clients N --outage-s S --capacity C
                      [--seed S] [--json]
    chatconn run      --lab --profile NAME | --url URL  [--sessions N] [--out FILE|DIR/]
    chatconn runs     RUN_OR_DIR ... [--json]          (list and check recorded runs)
    chatconn replay   RUN [--sessions N] [--json]      (re-simulate a run from its header)
    chatconn report   RUN_OR_DIR ... --out report.html [--force] [--title TEXT]
    chatconn calibrate RUN [--base PROFILE] [--fit NAME,...] [--policy NAME] [--seed S] [--json]
    chatconn proxy    --upstream HOST:PORT [--listen HOST:PORT] [--profile NAME] [--record FILE]
    chatconn observe  RUN [--like PRESET,...] [--timeline] [--json]
    chatconn tune     --policy NAME [--set ...] --vary FIELD=V1,V2,... [--vary ...]
                      [--profile NAME] [--objective TEXT] [--workers N] [--export FORMAT] [--json]
    chatconn import   FILE [--format csv|jsonl|har] --out RUN.jsonl [--map COLUMN=FIELD ...]
                      [--skip-bad] [--policy NAME [--set ...]] [--json]
    chatconn export   --policy NAME [--set ...] --format FORMAT [--json]
    chatconn notebooks DIR [--force] [--json]     (the notebooks and sample runs, to work in)

``--json`` prints one JSON document on stdout. Bad input exits with code 2 and one line
on stderr that names what was wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from .argtypes import (
    UsageError,
    add_policy_args,
    bounded_int,
    non_negative_float,
    parse_assignment,
    policy_from_args,
    policy_label,
    positive_int,
    seed,
    time_scale,
)
from .cli_output import print_json, print_text
from .core.errors import ChatconnError, ConfigError, RunFileWarning
from .core.policy import RetryPolicy
from .core.presets import POLICY_PRESETS, policy_preset, policy_preset_names
from .core.profiles import (
    NetworkProfile,
    load_target,
    population_names,
    population_preset,
    profile_names,
    profile_preset,
)
from .core.schedule import draw_waits, nominal_timeouts, spans_backoff
from .endpoint import Endpoint
from .export.cli import add_export_parser, run_export
from .importers.cli import add_import_parser, run_import
from .lab.serve import add_serve_parser, run_serve
from .lifetime_cli import add_lifetime_parser, run_lifetime
from .live.stream_args import add_stream_run_args, stream_endpoint
from .live.tokens import Secret
from .lockstep import lockstep
from .logs import enable_logging, level_for_verbosity
from .proxy.cli import add_observe_parser, add_proxy_parser, run_observe, run_proxy
from .simulate import simulate
from .storm import DEFAULT_ATTEMPT_S, storm
from .tune.cli import add_tune_parser, run_tune
from .workspace import add_notebooks_parser, run_notebooks

__all__ = ["main", "parse_assignment", "policy_from_args"]

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and no abbreviations: ``--out`` must never be taken
    for ``--outage-s``, nor any prefix for an option it happens to start."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        # On every (sub)command, before or after its name: chatconn.logs on stderr.
        self.add_argument(
            "-v", "--verbose", action="count", default=argparse.SUPPRESS,
            help="log to stderr: -v failures (INFO), -vv every step (DEBUG)",
        )  # fmt: skip

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message}")


MAX_SAMPLES = 10**7


def _build_parser() -> _Parser:
    parser = _Parser(prog="chatconn", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def policy_args(p: argparse.ArgumentParser) -> None:
        add_policy_args(p)
        p.add_argument("--seed", type=seed, default=0)
        p.add_argument("--json", action="store_true", help="print JSON on stdout")

    p = sub.add_parser("presets", help="list policy presets, profiles and populations")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("schedule", help="per-attempt strategy, timeout and wait distribution")
    policy_args(p)
    p.add_argument("--samples", type=bounded_int(MAX_SAMPLES), default=10_000)

    def out_args(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument(
            "--out",
            metavar="FILE|DIR/",
            help=f"record {what} as a run file (JSON Lines); a directory names the file",
        )
        p.add_argument("--force", action="store_true", help="replace --out if it exists")

    p = sub.add_parser("simulate", help="simulate many sessions under a profile or population")
    policy_args(p)
    p.add_argument("--profile", default="global-users", help="a profile or population name")
    p.add_argument("--sessions", type=positive_int, default=100_000)
    out_args(p, "every session")

    p = sub.add_parser("storm", help="every client dropped at once; a server with limited capacity")
    policy_args(p)
    p.add_argument("--clients", type=positive_int, default=10_000)
    p.add_argument("--outage-s", type=non_negative_float, default=30.0)
    p.add_argument("--capacity", type=positive_int, default=1_000, help="handshakes per second")
    p.add_argument("--attempt-s", type=non_negative_float, default=DEFAULT_ATTEMPT_S)

    p = sub.add_parser("run", help="live sessions against the lab server or a real server")
    policy_args(p)
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--lab", action="store_true", help="start a lab server in a child process")
    target.add_argument("--url", help="a real server's primary WebSocket URL (ws:// or wss://)")
    p.add_argument("--profile", default="broadband", help="the lab's network profile")
    p.add_argument("--alt-url", action="append", default=[], help="alternative WebSocket URLs")
    p.add_argument(
        "--http-url",
        help="the real server's HTTP base URL for long polling and SSE (default: the host and "
        "port of --url; a lab started by `chatconn serve` answers HTTP on P+3: use the "
        "command line it prints)",
    )
    p.add_argument(
        "--ca-file", help="trust this CA bundle (PEM) for wss/https; verification stays on"
    )
    p.add_argument(
        "--token-env",
        default="CHATCONN_TOKEN",
        help="environment variable holding the real server's token (never pass it as an argument)",
    )
    add_stream_run_args(p)
    p.add_argument("--sessions", type=bounded_int(100_000), default=20)
    p.add_argument("--concurrency", type=bounded_int(10_000), default=20)
    p.add_argument(
        "--time-scale",
        type=time_scale,
        default="auto",
        help="auto (default: chosen from this machine's measured harness floor so the "
        "harness adds under 5 %% to the median connect; 1 for --url) or a number > 0",
    )
    out_args(p, "every attempt and session as it ends")

    p = sub.add_parser("runs", help="list recorded runs (files or directories) and check them")
    p.add_argument("sources", nargs="+", metavar="RUN_OR_DIR")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("replay", help="re-simulate a recorded run from its header")
    p.add_argument("source", metavar="RUN")
    p.add_argument("--sessions", type=positive_int, help="default: the recorded count")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("calibrate", help="fit a network profile to a recorded run's timings")
    p.add_argument("source", metavar="RUN")
    p.add_argument(
        "--base",
        help="the profile that supplies every field not fitted (default: the profile the run "
        "recorded, else broadband)",
    )
    p.add_argument(
        "--fit",
        help="comma-separated fields to fit (default: all the policy can reveal: "
        "rtt_median_s, rtt_sigma, stall_probability, ws_blocked_share)",
    )
    p.add_argument(
        "--policy",
        help="the policy that produced the run (observed runs of real clients: the preset "
        "`chatconn observe` matched; default: the one the run recorded)",
    )
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("report", help="a self-contained HTML report of recorded runs")
    p.add_argument("sources", nargs="+", metavar="RUN_OR_DIR")
    p.add_argument("--out", required=True, help="the HTML file to write")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--title", default="Connection report", help="the report's title")

    add_serve_parser(sub)
    add_tune_parser(sub)
    add_import_parser(sub)
    add_export_parser(sub)
    add_lifetime_parser(sub)
    add_proxy_parser(sub)
    add_observe_parser(sub)
    add_notebooks_parser(sub)
    return parser


def _stats(values: np.ndarray) -> dict[str, float]:
    p5, p50, p95 = np.percentile(values, (5, 50, 95))
    return {
        "min": float(values.min()),
        "p5": float(p5),
        "p50": float(p50),
        "mean": float(values.mean()),
        "p95": float(p95),
        "max": float(values.max()),
    }


def schedule_report(policy: RetryPolicy, samples: int, seed: int) -> dict[str, Any]:
    """Per attempt: strategy, timeout and the distribution of the wait before it."""
    waits = draw_waits(policy, np.random.default_rng(seed), samples)
    timeouts = nominal_timeouts(policy)
    attempts = []
    for k in range(policy.max_attempts):
        drawn = spans_backoff(policy, np.full(samples, timeouts[k]), waits[:, k])
        before = np.zeros(samples) if k == 0 else waits[:, k - 1]
        attempts.append(
            {
                "index": k,
                "strategy": policy.strategy_for(k).value,
                "timeout_s": float(np.median(drawn)),
                "timeout_max_s": float(drawn.max()),
                "wait_before_s": _stats(before),
            }
        )
    return {"policy": policy.to_dict(), "samples": samples, "seed": seed, "attempts": attempts}


def presets_report() -> dict[str, Any]:
    policies = {}
    for name in policy_preset_names():
        doc = (POLICY_PRESETS[name].__doc__ or "").strip().splitlines()[0]
        policies[name] = {"source": doc, **policy_preset(name).to_dict()}
    return {
        "policies": policies,
        "profiles": {name: profile_preset(name).to_dict() for name in profile_names()},
        "populations": {name: population_preset(name).to_dict() for name in population_names()},
    }


def run(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse ``argv`` and return the report the command prints (raises on bad input)."""
    args = _build_parser().parse_args(argv)
    if getattr(args, "verbose", 0):
        enable_logging(level_for_verbosity(args.verbose))
    if args.command == "serve":
        return {"exit_code": run_serve(args)}
    if args.command == "tune":
        return run_tune(args)
    if args.command == "proxy":
        return {"exit_code": run_proxy(args)}
    if args.command == "observe":
        return run_observe(args)
    if args.command == "notebooks":
        return run_notebooks(args)
    if args.command == "presets":
        return presets_report()
    if args.command in ("runs", "replay", "report", "calibrate"):
        from .cli_runs import run_command  # pandas/plotly only when needed

        return run_command(args)
    policy = policy_from_args(args.policy, args.assignments)
    if args.command == "import":
        return run_import(args, policy)
    if args.command == "export":
        return run_export(args, policy)
    if args.command == "lifetime":
        return run_lifetime(args, policy)
    if args.command == "schedule":
        return schedule_report(policy, args.samples, args.seed)
    if args.command == "simulate":
        target = load_target(args.profile)
        writer = None
        if args.out:  # checked before the work: an existing file fails now, not after it
            from .runs.writer import RunWriter

            writer = RunWriter(args.out, force=args.force)
        result = simulate(policy, target, args.sessions, args.seed)
        saved = {}
        if writer is not None:
            from .runs import save_run

            name = args.policy if not args.assignments else f"{args.policy}-custom"
            path = save_run(result, writer, policy_name=name)
            saved = {"run_file": str(path)}
        return {
            "policy": policy_label(args.policy, args.assignments, policy),
            "profile": args.profile,
            "seed": args.seed,
            **result.summary(),
            **saved,
        }
    if args.command == "storm":
        herd_result = storm(
            policy, args.clients, args.outage_s, args.capacity, args.seed, attempt_s=args.attempt_s
        )
        herd = None
        if args.clients >= 2:  # one client has no herd to be in lockstep with
            herd = lockstep(policy, clients=args.clients, attempt_s=args.attempt_s, seed=args.seed)
        label = policy_label(args.policy, args.assignments, policy)
        report = {"policy": label, "seed": args.seed, **herd_result.to_dict()}
        return report | {"lockstep": None if herd is None else herd.to_dict()}
    if args.command == "run":
        return _run_live(args, policy)
    raise UsageError(f"chatconn: error: unknown command {args.command!r}")  # pragma: no cover


def _endpoint_from_args(args: argparse.Namespace) -> Endpoint:
    http = args.http_url
    if http is None:
        parts = urlsplit(args.url)
        scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
        http = urlunsplit((scheme, parts.netloc, "", "", ""))
    return Endpoint((args.url, *args.alt_url), http)


def _run_live(args: argparse.Namespace, policy: RetryPolicy) -> dict[str, Any]:
    token: Secret | None = None
    endpoint: Endpoint | None = None
    profile: NetworkProfile | None = None
    if args.lab:
        target = load_target(args.profile)
        if not isinstance(target, NetworkProfile):
            raise ConfigError("profile", args.profile, "the lab takes a profile, not a population")
        profile = target
    else:
        endpoint = stream_endpoint(args) or _endpoint_from_args(args)
        text = os.environ.get(args.token_env)
        if not text:
            raise ConfigError(
                "token", f"${args.token_env}", "set this environment variable to the token"
            )
        token = Secret(text)
    from .live.run import run_live  # the I/O stack, only when needed
    from .runs.writer import RunWriter

    out = RunWriter(args.out, force=args.force) if args.out else None
    try:
        live = asyncio.run(
            run_live(
                policy,
                args.sessions,
                concurrency=args.concurrency,
                seed=args.seed,
                time_scale=args.time_scale,
                lab_profile=profile,
                lab_process=True,  # the lab's CPU beside the clients', not on their loop
                endpoint=endpoint,
                token=token,
                ca_file=args.ca_file,
                out=out,
                policy_name=args.policy if not args.assignments else f"{args.policy}-custom",
                protocol=args.protocol,
            )
        )
    finally:
        if out is not None:
            out.close()
    target_name = args.profile if args.lab else "live"
    saved = {"run_file": str(out.path)} if out is not None else {}
    summary = live.summary()
    label = policy_label(args.policy, args.assignments, policy)
    return {"policy": label, "profile": target_name, "seed": args.seed, **summary, **saved}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chatconn`` script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RunFileWarning)
            try:
                report = run(argv)
            finally:  # a torn last line, an interrupted run: said on stderr, one line each
                for w in caught:
                    if issubclass(w.category, RunFileWarning):
                        print(f"chatconn: warning: {w.message}", file=sys.stderr)
                    else:
                        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    except UsageError as exc:
        print(str(exc).splitlines()[0], file=sys.stderr)
        return EXIT_USAGE
    except (ChatconnError, ValueError) as exc:
        message = " ".join(str(exc).split())
        print(f"chatconn: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    code = int(report.pop("exit_code", 0))  # `runs` with a bad file: 1, after its listing
    if not report:  # serve: ran in the foreground, printed its own output
        return code
    try:
        if "--json" in argv:
            print_json(report, sys.stdout)
        else:
            print_text(next(a for a in argv if not a.startswith("-")), report, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:  # `chatconn ... | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
