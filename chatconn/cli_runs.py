"""``chatconn runs``, ``replay``, ``report`` and ``calibrate``: the command-line side of run
records (argument parsing lives in :mod:`chatconn.cli`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np

from .core.errors import ConfigError, RunFileError
from .core.presets import policy_preset
from .core.profiles import NetworkProfile
from .runs.analysis import replay
from .runs.load import load_run, run_files

__all__ = ["print_text", "run_command"]

_ARRAYS = ("connected", "ended_at", "attempts", "strategy", "last_error", "profile")


def run_command(args: argparse.Namespace) -> dict[str, Any]:
    """The report of ``runs``, ``replay`` or ``report`` (raises on bad input).

    ``runs`` lists every file it can read and flags the others under ``bad`` (file and
    problem) instead of stopping at the first; its ``exit_code`` is then 1.
    """
    if args.command == "runs":
        runs, bad = [], []
        for path in run_files(args.sources):
            try:
                runs.append(load_run(path))
            except RunFileError as exc:
                bad.append({"file": str(path), "problem": str(exc)})
        return {
            "runs": [run.summary() for run in runs],
            "bad": bad,
            "warnings": [w for run in runs for w in run.warnings],
            "exit_code": 1 if bad else 0,
        }
    if args.command == "replay":
        run = load_run(args.source)
        result = replay(run, args.sessions)
        same_size = result.sessions == run.result.sessions
        identical = None
        if run.kind == "simulated" and same_size and run.complete:
            identical = all(
                np.array_equal(getattr(result, a), getattr(run.result, a)) for a in _ARRAYS
            )
        replayed = result.summary()
        return {
            "file": str(run.path),
            "label": run.label,
            "kind": run.kind,
            "identical": identical,
            "recorded": run.summary(),
            "replayed": replayed,
            "warnings": list(run.warnings),
        }
    if args.command == "calibrate":
        from .calibrate import calibrate

        run = load_run(args.source)
        policy = policy_preset(args.policy) if getattr(args, "policy", None) else run.policy
        if policy is None:
            raise ConfigError(
                "policy",
                None,
                f"{run.path} is an observed run of a client whose policy it does not record: "
                "pass --policy NAME (the preset `chatconn observe` says it behaves like)",
            )
        fit = [name.strip() for name in args.fit.split(",") if name.strip()] if args.fit else None
        base = args.base
        if base is None:  # the profile the run played, else broadband
            recorded = run.header.target
            base = recorded if isinstance(recorded, NetworkProfile) else "broadband"
        fitted = calibrate(run.result, base=base, fit=fit, seed=args.seed, policy=policy)
        return {"file": str(run.path), "label": run.label, **fitted.to_dict()}
    from .report import write_report  # plotly only for reports

    path, found = write_report(args.sources, args.out, force=args.force, title=args.title)
    return {
        "report": str(path),
        "bytes": path.stat().st_size,
        "findings": [{"level": f.level, "text": f.text} for f in found],
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def print_text(command: str, report: dict[str, Any], out: Callable[[str], Any]) -> None:
    """Human-readable output of :func:`run_command`'s report."""
    if command == "runs":
        for s in report["runs"]:
            t = s["time_to_connect_s"]
            done = "" if s["complete"] else "  (interrupted)"
            out(
                f"{s['file']}\n  {s['label']}: {s['sessions']} sessions, "
                f"success {_pct(s['success_rate'])}, p50 {_s(t['p50'])}, "
                f"p95 {_s(t['p95'])}{done}\n"
            )
        for bad in report["bad"]:
            out(f"{bad['file']}\n  BAD: {bad['problem']}\n")
    elif command == "replay":
        rec, rep = report["recorded"], report["replayed"]
        out(f"{report['file']}: {report['label']}\n")
        for name, s in (("recorded", rec), ("replayed", rep)):
            t = s["time_to_connect_s"]
            out(
                f"  {name:<9} {s['sessions']} sessions, success {_pct(s['success_rate'])}, "
                f"p50 {_s(t['p50'])}, p95 {_s(t['p95'])}\n"
            )
        if report["identical"] is not None:
            verdict = "identical" if report["identical"] else "DIFFERENT"
            out(f"  replay is {verdict} to the recording, session by session\n")
    elif command == "calibrate":
        out(f"{report['file']}: {report['label']}\n{report['description']}\n")
    elif command == "report":
        out(f"wrote {report['report']} ({report['bytes'] / 1e6:.1f} MB)\n")
        for f in report["findings"]:
            out(f"  [{f['level']}] {f['text']}\n")
