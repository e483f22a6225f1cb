"""How ``chatconn`` prints a command's report: one JSON document (``--json``) or text.

The commands (:mod:`chatconn.cli`) return plain dicts; this module only writes them.
"""

from __future__ import annotations

import json
import math
from typing import Any, TextIO

import numpy as np

from .tune.cli import print_tune

__all__ = ["print_json", "print_text"]


def print_json(report: dict[str, Any], stream: TextIO) -> None:
    """``report`` as one line of JSON (NaN as null, infinities as strings)."""
    json.dump(_finite(report), stream, default=_json_default, indent=None)
    stream.write("\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _finite(value: Any) -> Any:
    """JSON has no inf/NaN: write them as strings / null."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1e4 else f"{value:.3g}"
    return str(value)


def _print_live(report: dict[str, Any], out: Any) -> None:
    """What a live run adds: its time scale and why, the harness floor and the verdict."""
    choice = report.get("time_scale_choice")
    scale = f"{report['time_scale']:g}"
    out(
        f"  time scale        {scale}"
        + (f" ({choice['mode']}: {choice['reason']})" if choice else "")
        + "\n"
    )
    harness = report.get("harness")
    if harness:
        out(
            f"  harness floor     connect +{harness['connect_p50_s'] * 1e3:.1f} ms "
            f"(p90 {harness['connect_p90_s'] * 1e3:.1f} ms, {harness['probes']} probes), timers "
            f"+{harness['loop_lag_p50_s'] * 1e3:.1f} ms: adds at most "
            f"{harness['distortion_bound_s']:.3g} s of profile time to a connect\n"
        )
    versus = report.get("vs_simulation")
    if versus:
        out(f"  vs simulation     {versus['headline']}\n")
        out(f"                    {versus['details']}\n")
    if choice and choice.get("warning"):
        out(f"  warning: {choice['warning']}\n")


def print_text(command: str, report: dict[str, Any], stream: TextIO) -> None:
    """The report of ``command`` for people (``--json`` off)."""
    out = stream.write
    if command == "presets":
        out("policies:     " + ", ".join(report["policies"]) + "\n")
        on = [n for n, p in report["policies"].items() if p["diagnostics"]["enabled"]]
        seed_probes = report["policies"].get("seed", {}).get("diagnostics")
        if seed_probes is not None:
            knobs = ", ".join(f"{k} {v}" for k, v in seed_probes.items() if k != "enabled")
            out(f"diagnostics:  on in {', '.join(on) or 'none'}; seed's settings: {knobs}\n")
        out("profiles:     " + ", ".join(report["profiles"]) + "\n")
        out("populations:  " + ", ".join(report["populations"]) + "\n")
    elif command == "observe":
        from .proxy.cli import print_observe

        print_observe(report, stream)
    elif command == "schedule":
        out(f"{'attempt':>7}  {'strategy':<17} {'timeout_s':>9}  wait before: p5 / p50 / p95 s\n")
        for a in report["attempts"]:
            w = a["wait_before_s"]
            out(
                f"{a['index']:>7}  {a['strategy']:<17} {a['timeout_s']:>9.3f}  "
                f"{w['p5']:.3f} / {w['p50']:.3f} / {w['p95']:.3f}\n"
            )
    elif command in ("simulate", "run"):
        t = report["time_to_connect_s"]
        out(f"{report['policy']} on {report['profile']}: {report['sessions']} sessions\n")
        out(f"  success rate      {report['success_rate']:.4%}\n")
        out("  time to connect   " + "  ".join(f"{k} {_fmt(v)} s" for k, v in t.items()) + "\n")
        out(f"  attempts (mean)   {report['attempts_mean']:.3f}\n")
        out(
            "  quality           "
            + "  ".join(f"{k} {v}" for k, v in report["quality"].items())
            + "\n"
        )
        shares = {k: v for k, v in report["strategy_share"].items() if v}
        via = "  ".join(f"{k} {v:.2%}" for k, v in shares.items()) or "-"
        out(f"  connected via     {via}\n")
        out(f"  {_fmt(report['sessions_per_s'])} sessions/s\n")
        if command == "run":
            _print_live(report, out)
        if "run_file" in report:
            out(f"  recorded in {report['run_file']}\n")
    elif command in ("runs", "replay", "report", "calibrate"):
        from .cli_runs import print_text as print_runs  # the run-file stack, lazily

        print_runs(command, report, out)
    elif command == "tune":
        print_tune(report, stream)
    elif command == "lifetime":
        from .lifetime_cli import print_lifetime

        print_lifetime(report, stream)
    elif command == "import":
        from .importers.cli import print_import

        print_import(report, stream)
    elif command == "export":
        from .export.cli import print_export

        print_export(report, stream)
    elif command == "storm":
        out(
            f"{report['policy']}: {report['clients']} clients, outage {report['outage_s']} s, "
            f"capacity {report['capacity_per_s']}/s\n"
        )
        out(
            f"  peak {report['peak_per_s']}/s ({report['peak_over_capacity']:.2f} x capacity), "
            f"99 % back at {_fmt(report['reconnected_99_s'])} s, all at "
            f"{_fmt(report['reconnected_all_s'])} s\n"
        )
        out(
            f"  back {report['back']} ({report['back_share']:.1%}); gave up and stayed down "
            f"{report['gave_up']}; still retrying at the horizon {report['still_down']}; "
            f"refused {report['refused']} attempts\n"
        )
        herd = report["lockstep"]
        if herd is None:
            out("  lockstep: n/a (one client has no herd to be in lockstep with)\n")
            return
        worst = "" if herd["worst_attempt"] is None else f" at retry {herd['worst_attempt']}"
        out(
            f"  lockstep: {herd['verdict']} ({herd['worst_share']:.0%} of clients retry within "
            f"the same {herd['window_s'] * 1000:.0f} ms{worst}) - {' '.join(herd['reasons'])}\n"
        )
