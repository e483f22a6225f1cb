"""Real JavaScript clients for the tests: Node.js with the packages pinned in ``tests/js``.

Not a test module. ``tests/js/package.json`` and ``package-lock.json`` pin the clients (the
official ``stream-chat`` SDK, ``socket.io-client`` and its server, ``@microsoft/signalr``, ``ws``);
:func:`node_modules` installs them with ``npm ci`` into ``tests/js/node_modules`` (git-ignored,
never committed) once per lockfile: a stamp inside holds the lockfile's hash, so a changed lock
reinstalls and an unchanged one costs nothing. :func:`run_node` runs a script with them.

Without ``node``/``npm`` the tests that need them skip locally and fail with ``CI`` set
(``.ci/run`` installs Debian's ``nodejs`` and ``npm`` when they are missing).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS_DIR = Path(__file__).resolve().parent / "js"
LOCKFILE = JS_DIR / "package-lock.json"
NODE_MODULES = JS_DIR / "node_modules"
STAMP = NODE_MODULES / ".chatconn-lock-sha256"
#: ``npm ci`` of the pinned set takes ~4 s here; the registry may be slow on a fresh machine.
INSTALL_TIMEOUT_S = 600.0


def _missing(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{why}. CI is set, so this test must run, not skip.", pytrace=False)
    pytest.skip(f"{why}. Skipped locally; with CI set it fails instead.")


def _lock_digest() -> str:
    return hashlib.sha256(LOCKFILE.read_bytes()).hexdigest()


def node_modules() -> Path:
    """The installed pinned packages (installing them first if the lockfile changed)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _missing("Node.js and npm are needed for the real JavaScript clients")
    digest = _lock_digest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        return NODE_MODULES
    # --ignore-scripts: nothing the tests use needs an install script (stream-chat's only sets
    # up its own git hooks).
    completed = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"npm ci in {JS_DIR} failed ({completed.returncode}):\n{completed.stderr[-4000:]}"
        )
    STAMP.write_text(digest + "\n")
    return NODE_MODULES


def package_version(name: str) -> str:
    """The installed version of a pinned package (e.g. ``"stream-chat"``)."""
    manifest = node_modules() / name / "package.json"
    return str(json.loads(manifest.read_text())["version"])


def run_node(
    script: str | Path, *args: str, timeout: float = 120.0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a Node.js script (a path, or source text) with the pinned packages importable.

    The script runs in ``tests/js`` so ``require("stream-chat")`` resolves to the pinned
    install. Returns the completed process (stdout/stderr as text); never raises on a non-zero
    exit (the test asserts on it) but does on a timeout.
    """
    node_modules()
    source = ["node", str(script)] if isinstance(script, Path) else ["node", "-e", script]
    full_env = {**os.environ, "NODE_PATH": str(NODE_MODULES), **(env or {})}
    return subprocess.run(
        [*source, *args],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        check=False,
    )


def json_lines(output: str) -> list[dict[str, Any]]:
    """The JSON objects a node script printed one per line (other lines ignored)."""
    records = []
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("{"):
            records.append(json.loads(line))
    return records
