"""The curated sample in data/runs: small, clean, reproducible, paired, documented."""

from __future__ import annotations

import runpy
import warnings
from pathlib import Path

import numpy as np
import pytest

from chatconn.runs import SAMPLE_DIR, load_runs, replay, twin_of

ROOT = Path(__file__).resolve().parents[1]
CONFIG = runpy.run_path(str(ROOT / "tools" / "make_sample.py"))  # what `make sample` makes


@pytest.fixture(scope="module")
def runs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a torn line or an interrupted run fails here
        return load_runs(SAMPLE_DIR)


def test_the_sample_is_well_under_two_megabytes():
    shipped = [*SAMPLE_DIR.glob("*.jsonl"), ROOT / "data" / "README.md"]  # not data/runs/mine
    size = sum(p.stat().st_size for p in shipped)
    assert size < 1.5e6


def test_the_sample_holds_what_make_sample_makes(runs):
    expected = {
        (kind, policy, profile)
        for kind in ("live", "simulated")
        for policy in CONFIG["POLICIES"]
        for profile in CONFIG["PROFILES"]
    }
    got = {(r.kind, r.header.policy_name, r.header.target_name) for r in runs}
    assert got == expected
    for run in runs:
        assert run.complete and run.warnings == ()
        if run.kind == "live":
            assert run.sessions == CONFIG["LIVE_SESSIONS"]
            assert run.header.time_scale == CONFIG["PROFILES"][run.header.target_name]
            assert len(run.records) >= run.sessions
        else:
            assert run.sessions == CONFIG["TWIN_SESSIONS"]


def test_every_live_run_has_its_twin_and_every_twin_replays_identically(runs):
    for run in runs:
        if run.kind == "live":
            assert twin_of(run, runs) is not None, run.label
        else:
            again = replay(run)
            for name in ("connected", "ended_at", "attempts", "strategy", "last_error"):
                assert np.array_equal(getattr(again, name), getattr(run.result, name)), run.label


def test_the_sample_is_documented_with_its_command():
    readme = (ROOT / "data" / "README.md").read_text()
    assert "make sample" in readme and "tools/make_sample.py" in readme
    assert "sample:" in (ROOT / "Makefile").read_text()
