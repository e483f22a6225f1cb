"""The pinned real JavaScript clients: Node.js packages installed from a lockfile shipped here.

``chatconn/lab/js/`` holds ``package.json`` and ``package-lock.json`` (the official
``stream-chat`` SDK, ``socket.io-client`` and its server, ``@microsoft/signalr``, ``ws``,
``typescript``) and the node scripts that drive them (e.g. ``stream_reconnect.js``). They are
package data, so an installed kit (``pip install chatconn[lab]``) has them as well as a
checkout. :func:`node_modules` installs the packages with ``npm ci --ignore-scripts`` into a
per-lockfile cache folder, ``$XDG_CACHE_HOME/chatconn/js/<sha256 of the lock>/node_modules``
(``~/.cache/...`` without ``XDG_CACHE_HOME``; ``CHATCONN_JS_CACHE`` overrides the
``.../chatconn/js`` part), once: a stamp inside holds the lockfile's hash, so an unchanged
lock costs nothing. Run a script with ``NODE_PATH`` set to the returned folder::

    from chatconn.lab.nodejs import JS_DIR, node_modules
    NodeClients(JS_DIR / "stream_reconnect.js", options, node_modules())
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["JS_DIR", "LOCKFILE", "NodeMissing", "cache_root", "find_node", "node_modules"]

#: The shipped package.json, package-lock.json and node scripts.
JS_DIR = Path(__file__).resolve().parent / "js"
LOCKFILE = JS_DIR / "package-lock.json"
#: Name of the file inside ``node_modules`` holding the lockfile's sha256 once installed.
STAMP_NAME = ".chatconn-lock-sha256"
#: ``npm ci`` of the pinned set takes ~4 s here; the registry may be slow on a fresh machine.
INSTALL_TIMEOUT_S = 600.0

INSTALL_HINT = (
    "Install Node.js 18 or newer with npm: on Debian/Ubuntu `sudo apt-get install nodejs npm`, "
    "on macOS `brew install node`, or from https://nodejs.org/ (npm comes with it)."
)


class NodeMissing(RuntimeError):
    """``node`` or ``npm`` is not on PATH."""


def find_node(path: str | None = None) -> tuple[str, str]:
    """The ``node`` and ``npm`` executables on ``path`` (default ``$PATH``), or
    :class:`NodeMissing` naming the missing one and how to install it."""
    node, npm = shutil.which("node", path=path), shutil.which("npm", path=path)
    missing = [name for name, found in (("node", node), ("npm", npm)) if found is None]
    if missing:
        raise NodeMissing(
            f"{' and '.join(missing)} not found on PATH; the real JavaScript clients "
            f"(stream-chat, socket.io, signalr) need Node.js and npm. {INSTALL_HINT}"
        )
    assert node is not None and npm is not None
    return node, npm


def lock_digest(lockfile: Path = LOCKFILE) -> str:
    return hashlib.sha256(lockfile.read_bytes()).hexdigest()


def cache_root() -> Path:
    """Where installs go: ``$CHATCONN_JS_CACHE``, else ``$XDG_CACHE_HOME/chatconn/js``, else
    ``~/.cache/chatconn/js``."""
    if explicit := os.environ.get("CHATCONN_JS_CACHE"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chatconn" / "js"


def installed_at(lockfile: Path = LOCKFILE, cache: Path | None = None) -> Path:
    """The ``node_modules`` folder for this lockfile (installed or not)."""
    return (cache or cache_root()) / lock_digest(lockfile) / "node_modules"


def node_modules(
    js_dir: Path = JS_DIR, *, cache: Path | None = None, path: str | None = None
) -> Path:
    """The installed pinned packages of ``js_dir``'s lockfile, installing them first if this
    lockfile has not been installed yet. Raises :class:`NodeMissing` without node/npm and
    :class:`RuntimeError` if ``npm ci`` fails."""
    lockfile = js_dir / "package-lock.json"
    digest = lock_digest(lockfile)
    target = installed_at(lockfile, cache)
    stamp = target / STAMP_NAME
    if stamp.exists() and stamp.read_text().strip() == digest:
        return target
    _, npm = find_node(path)
    folder = target.parent
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Install beside the final place and move it in whole, so a concurrent or interrupted
    # install never leaves a half-filled folder behind a stamp.
    staging = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=folder.parent))
    try:
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(js_dir / name, staging / name)
        # --ignore-scripts: nothing used needs an install script (stream-chat's only sets up
        # its own git hooks).
        completed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            cwd=staging,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
            env={**os.environ, "PATH": path} if path is not None else None,
        )
        if completed.returncode != 0:
            raise RuntimeError(
                f"npm ci of {lockfile} failed ({completed.returncode}):\n{completed.stderr[-4000:]}"
            )
        (staging / "node_modules" / STAMP_NAME).write_text(digest + "\n")
        shutil.rmtree(folder, ignore_errors=True)  # a stale, unstamped install
        try:
            staging.rename(folder)
        except OSError:
            if not (stamp.exists() and stamp.read_text().strip() == digest):
                raise  # not a concurrent install that finished first
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
