"""Benchmark of run records — save, load, replay — against their floors, measured in one run.

    python benchmarks/bench_runs.py            # the figures quoted in README.md
    python benchmarks/bench_runs.py --json     # the same, machine-readable

For 1,000,000 simulated sessions (``--sessions``) of the ``seed`` policy on the
``global-users`` population it times ``save_run``, ``load_run`` and ``replay``, and the file
size, against baselines measured in the same run:
  (a) the JSON floor. Saving: ``json.dumps`` of exactly the records ``save_run`` writes
      (header, the column dicts of 1,000 sessions each, end mark; the lists already built)
      and one write of the lot, with the ``fsync`` that ``save_run`` also does. Loading:
      reading the file, ``json.loads`` of every line and ``np.array`` of every column, with
      no validation at all;
  (b) ``simulate()`` of the same sessions, so "saving costs X simulations" can be read off.
Replaying a simulated run is a simulation, so replay / simulate should be about 1. Also the
peak RSS growth of a fresh process loading the file (``--no-rss`` skips it). Ratios, not
seconds, are what to compare across machines; each timing is the best of ``--repeats``
(interleaved with its baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _timing import best_of  # benchmarks/_timing.py: the scripts run from this folder

from chatconn import policy_preset, simulate
from chatconn.core.profiles import load_target
from chatconn.runs import load_run, replay, save_run
from chatconn.runs.format import end_line, run_header, sessions_line
from chatconn.runs.save import DEFAULT_CHUNK

POLICY = "seed"
TARGET = "global-users"
COLUMNS = ("connected", "ended_at", "attempts", "strategy", "last_error", "profile")


def records_of(result, target) -> list[dict]:
    """The records save_run writes for ``result``, as dicts (lists already built)."""
    arrays = {c: getattr(result, c) for c in COLUMNS}
    header = run_header(
        "simulated",
        policy=result.policy,
        target=target,
        seed=result.seed,
        sessions=result.sessions,
        policy_name=POLICY,
        target_name=result.target,
    )
    lines = [header]
    for first in range(0, result.sessions, DEFAULT_CHUNK):
        part = {c: a[first : first + DEFAULT_CHUNK] for c, a in arrays.items()}
        lines.append(sessions_line(first, part))
    lines.append(end_line(result.sessions, result.elapsed_s))
    return lines


def dumps_floor(records: list[dict], path: Path) -> None:
    """json.dumps of every record (as the writer does: compact, no NaN), one write, fsync."""
    data = "".join(
        json.dumps(r, allow_nan=False, separators=(",", ":")) + "\n" for r in records
    ).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def loads_floor(path: Path) -> list[dict[str, np.ndarray]]:
    """Read the file, json.loads every line, np.array every column; nothing checked."""
    columns = []
    for raw in path.read_bytes().split(b"\n"):
        if not raw:
            continue
        record = json.loads(raw)
        if record.get("type") == "sessions":
            columns.append({c: np.array(record[c]) for c in COLUMNS})
    return columns


# VmHWM (peak resident set) of the child's own address space; VmRSS just before the load.
STATUS = "open('/proc/self/status').read().split({field!r})[1].split()[0]"
CHILD = """
import json
from chatconn.runs import load_run
before = int({rss})
run = load_run({path!r})
print(json.dumps({{"before_kib": before, "peak_kib": int({hwm}), "sessions": run.sessions}}))
"""


def load_rss(path: Path) -> dict:
    """Peak RSS growth of a fresh interpreter loading ``path`` (imports excluded)."""
    code = CHILD.format(
        rss=STATUS.format(field="VmRSS:"), hwm=STATUS.format(field="VmHWM:"), path=str(path)
    )
    child = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    out = json.loads(child.stdout)
    return {
        "load_peak_growth_mb": (out["peak_kib"] - out["before_kib"]) / 1024,
        "load_peak_rss_mb": out["peak_kib"] / 1024,
    }


def measure(sessions: int, repeats: int, rss: bool, directory: Path, seed: int = 1) -> dict:
    policy, target = policy_preset(POLICY), load_target(TARGET)
    result = simulate(policy, target, sessions, seed)  # warm-up, and what is saved
    path, floor_path = directory / "bench-run.jsonl", directory / "bench-floor.jsonl"
    records = records_of(result, target)
    save, save_floor = best_of(
        repeats,
        lambda: save_run(result, path, force=True, policy_name=POLICY),
        lambda: dumps_floor(records, floor_path),
    )
    size = path.stat().st_size
    load, load_floor = best_of(repeats, lambda: load_run(path), lambda: loads_floor(path))
    run = load_run(path)
    same = all(np.array_equal(getattr(run.result, c), getattr(result, c)) for c in COLUMNS)
    sim, replayed = best_of(
        repeats, lambda: simulate(policy, target, sessions, seed), lambda: replay(run)
    )
    report = {
        "policy": POLICY,
        "target": TARGET,
        "sessions": sessions,
        "repeats": repeats,
        "file_bytes": size,
        "bytes_per_session": size / sessions,
        "loaded_equals_saved": same,
        "simulate_s": sim,
        "save_s": save,
        "save_floor_s": save_floor,
        "load_s": load,
        "load_floor_s": load_floor,
        "replay_s": replayed,
        "save_over_floor": save / save_floor,
        "load_over_floor": load / load_floor,
        "save_over_simulate": save / sim,
        "load_over_simulate": load / sim,
        "replay_over_simulate": replayed / sim,
    }
    if rss:
        report.update(load_rss(path))
        report["result_mb"] = sum(getattr(run.result, c).nbytes for c in COLUMNS) / 2**20
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS child process")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-runs-") as tmp:
        r = measure(args.sessions, args.repeats, not args.no_rss, Path(tmp))
    if args.json:
        print(json.dumps(r))
        return 0
    print(
        f"run records: {r['sessions']:,} simulated sessions of {POLICY!r} on {TARGET!r}; "
        f"best of {r['repeats']}; one run, one machine"
    )
    print(
        f"file: {r['file_bytes'] / 1e6:,.1f} MB, {r['bytes_per_session']:.1f} bytes per session; "
        f"loaded arrays equal the saved ones: {r['loaded_equals_saved']}"
    )
    print(f"{'':>8} {'seconds':>9} {'floor s':>9} {'x floor':>8} {'x simulate':>11}")
    for name, floor in (("simulate", None), ("save", "save_floor_s"), ("load", "load_floor_s"),
                        ("replay", None)):  # fmt: skip
        s = r[f"{name}_s"]
        f = f"{r[floor]:>9.3f} {s / r[floor]:>8.2f}" if floor else f"{'':>9} {'':>8}"
        print(f"{name:>8} {s:>9.3f} {f} {s / r['simulate_s']:>11.1f}")
    print("floor: save = json.dumps of the same records + one write + fsync; load = json.loads")
    print("of every line + np.array of every column, no validation")
    if "load_peak_growth_mb" in r:
        print(
            f"peak RSS growth loading the file in a fresh process: "
            f"{r['load_peak_growth_mb']:.0f} MB (file {r['file_bytes'] / 2**20:.0f} MB, "
            f"loaded arrays {r['result_mb']:.0f} MB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
