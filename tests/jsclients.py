"""Real JavaScript clients for the tests: Node.js with the packages pinned in ``chatconn/lab/js``.

Not a test module. The package's ``chatconn/lab/js/package.json`` and ``package-lock.json`` pin
the clients (the official ``stream-chat`` SDK, ``socket.io-client`` and its server,
``@microsoft/signalr``, ``ws``); :func:`node_modules` has :func:`chatconn.lab.nodejs.node_modules`
install them with ``npm ci`` into the per-lockfile cache (``~/.cache/chatconn/js/<sha256>``,
outside the repository, never committed) once per lockfile: a stamp inside holds the lockfile's
hash, so a changed lock reinstalls and an unchanged one costs nothing. :func:`run_node` runs a
script with them.

Without ``node``/``npm`` the tests that need them skip locally and fail with ``CI`` set
(``.ci/run`` installs Debian's ``nodejs`` and ``npm`` when they are missing).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from chatconn.lab import nodejs

JS_DIR = nodejs.JS_DIR
LOCKFILE = nodejs.LOCKFILE
NODE_MODULES = nodejs.installed_at()
STAMP = NODE_MODULES / nodejs.STAMP_NAME


def _missing(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{why}. CI is set, so this test must run, not skip.", pytrace=False)
    pytest.skip(f"{why}. Skipped locally; with CI set it fails instead.")


def _lock_digest() -> str:
    return nodejs.lock_digest()


def node_modules() -> Path:
    """The installed pinned packages (installing them first if the lockfile changed)."""
    try:
        return nodejs.node_modules()
    except nodejs.NodeMissing as missing:
        _missing(str(missing))
        raise


def package_version(name: str) -> str:
    """The installed version of a pinned package (e.g. ``"stream-chat"``)."""
    manifest = node_modules() / name / "package.json"
    return str(json.loads(manifest.read_text())["version"])


def run_node(
    script: str | Path, *args: str, timeout: float = 120.0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a Node.js script (a path, or source text) with the pinned packages importable.

    The script runs in ``chatconn/lab/js`` with ``NODE_PATH`` set so ``require("stream-chat")``
    resolves to the pinned install. Returns the completed process (stdout/stderr as text);
    never raises on a non-zero exit (the test asserts on it) but does on a timeout.
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
