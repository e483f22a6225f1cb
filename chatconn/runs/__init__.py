"""Run records: save simulated and live runs, load them back, replay and compare them.

::

    from chatconn.runs import load_runs, save_run, replay, compare_runs, sessions_frame

    path = save_run(simulate(policy, profile, 10_000, seed=1), "data/runs/")
    runs = load_runs("data/runs")            # every *.jsonl in it
    assert (replay(runs[0]).ended_at == runs[0].result.ended_at).all()  # a simulated run
    sessions_frame(runs)                     # pandas, one row per session

The file format (JSON Lines, append-only) is described in :mod:`chatconn.runs.format`.
``SAMPLE_DIR`` is the curated sample that ships with chatconn (package data, see
:mod:`chatconn.workspace`): read it, never save into it. ``MY_RUNS_DIR`` is where the
notebooks' "Save run" writes, relative to the working folder (``chatconn notebooks DIR``).
"""

from __future__ import annotations

from ..core.errors import RunFileError, RunFileWarning
from ..workspace import MY_RUNS_DIR, sample_dir
from .analysis import (
    attempts_frame,
    compare_runs,
    ks_critical,
    replay,
    sessions_frame,
    twin_of,
)
from .format import FORMAT, VERSION
from .load import load_run, load_runs
from .run import Run, RunHeader
from .save import save_run
from .writer import RunWriter, run_file_name

#: The curated sample (package data when installed, the repository's ``data/runs`` in a
#: checkout). Read-only.
SAMPLE_DIR = sample_dir()

__all__ = [
    "FORMAT",
    "MY_RUNS_DIR",
    "SAMPLE_DIR",
    "VERSION",
    "Run",
    "RunFileError",
    "RunFileWarning",
    "RunHeader",
    "RunWriter",
    "attempts_frame",
    "compare_runs",
    "ks_critical",
    "load_run",
    "load_runs",
    "replay",
    "run_file_name",
    "save_run",
    "sessions_frame",
    "twin_of",
]
