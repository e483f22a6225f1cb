"""Fixtures shared by the test modules."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

#: CPU-bound processes beside a test under load: with two on a 2-core machine, this
#: process gets about two thirds of a core and timers wake late (the issue 11 recipe).
BURNERS = 2


@pytest.fixture
def busy_machine() -> Iterator[list[subprocess.Popen]]:
    """Two processes that burn CPU for the duration of the test (killed afterwards)."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(BURNERS)]
    try:
        yield burners
    finally:
        for process in burners:
            process.kill()
        for process in burners:
            process.wait(timeout=10)
