"""Fixtures shared by the test modules."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

#: Busy processes a loaded machine has beside the test (the issue 11 recipe: two CPU-bound
#: processes on a 2-core machine, so this process gets about two thirds of a core).
BUSY = 2


def _busy_cores(seconds: float = 0.5) -> float:
    """Cores kept busy by the machine right now (from /proc/stat; 0 where unavailable)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return 0.0
    total = total1 - total0
    return (os.cpu_count() or 1) * (1 - (idle1 - idle0) / total) if total > 0 else 0.0


@pytest.fixture
def busy_machine() -> Iterator[list[subprocess.Popen]]:
    """Two busy processes beside the test: CPU burners started here for whatever the machine
    does not already run (a suite run beside two burners adds none), killed afterwards."""
    missing = max(0, round(BUSY - _busy_cores()))
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(missing)]
    try:
        yield burners
    finally:
        for process in burners:
            process.kill()
        for process in burners:
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def js_clients():
    """The pinned real JavaScript clients (``chatconn/lab/js``), installed once per lockfile."""
    import jsclients

    return jsclients.node_modules()
