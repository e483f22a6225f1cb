"""Real-browser plumbing for the tests: a throwaway JupyterLab server and headless Chromium.

Not a test module (pytest collects only ``test_*.py``): ``tests/test_browser.py`` and
``tests/test_notebooks.py`` import it. Recipe and flags: ``STACK-NOTES.md`` of the team workspace.

- :func:`jupyter_lab` serves a temporary copy of ``notebooks/`` (JupyterLab autosaves every 120 s)
  from ``jupyter lab`` on a free loopback port, with fresh config/data/runtime/settings/workspace
  directories, the news pop-up silenced, a ``python3`` kernelspec pointing at this interpreter,
  and always stops it (process group, then any kernel left over).
- :func:`chromium` launches Debian's ``/usr/bin/chromium`` headless through playwright with a
  fresh user-data-dir; every request that is not to loopback is aborted and logged.
- :class:`Deadline` gives every wait a timeout out of one overall budget.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CHROMIUM = Path(os.environ.get("CHATCONN_CHROMIUM", "/usr/bin/chromium"))
# STACK-NOTES: flags that work as root (playwright adds --headless itself).
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
KERNEL_NAME = "python3"
# JupyterLab user settings written into the fresh settings directory.
LAB_SETTINGS: dict[str, dict[str, Any]] = {
    # Without this the news pop-up shows even with --LabApp.news_url=None.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # Attach every cell to the DOM: off-screen figures render and can be asserted on.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
_NOT_LOOPBACK = re.compile(r"^(?:https?|wss?)://(?!(?:127\.0\.0\.1|localhost|\[::1\])[:/])")


def ci() -> bool:
    """True when the environment variable CI is set (to anything but an explicit no)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


class Deadline:
    """One overall time budget; each wait asks for ``min(its own cap, what is left)``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def timeout(self, cap_s: float) -> float:
        """Seconds for the next wait; raises ``TimeoutError`` once the budget is spent."""
        left = self.remaining()
        if left <= 0:
            raise TimeoutError(f"the overall budget of {self.seconds:g} s is spent")
        return min(cap_s, left)

    def ms(self, cap_s: float) -> float:
        """The same as :meth:`timeout`, in milliseconds (playwright's unit)."""
        return self.timeout(cap_s) * 1000


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_kernelspec(kernels_dir: Path, name: str = KERNEL_NAME) -> Path:
    """A kernelspec that runs ipykernel on *this* interpreter (the venv's python)."""
    spec_dir = kernels_dir / name
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python 3 ({Path(sys.prefix).name})",
        "language": "python",
        "metadata": {"debugger": False},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return spec_dir


@dataclass(frozen=True)
class JupyterLab:
    """A running server: ``url`` has no token; :meth:`notebook_url` adds it."""

    url: str
    token: str = field(repr=False)
    root_dir: Path
    log_path: Path
    pid: int

    def notebook_url(self, name: str) -> str:
        path = urllib.parse.quote(name)
        return f"{self.url}/lab/tree/{path}?token={self.token}"

    def api(self, path: str, *, method: str = "GET", timeout: float = 5.0) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
            data=b"" if method == "POST" else None,
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (Linux /proc; empty elsewhere)."""
    out, todo = [], [pid]
    while todo:
        kids = _children(todo.pop())
        out.extend(kids)
        todo.extend(kids)
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (it shuts its kernels down), then SIGKILL what is left.

    Kernels run in sessions of their own (jupyter_client), so they are collected first and
    killed by pid if the server did not take them down.
    """
    leftovers = _descendants(proc.pid)
    for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(wait_s)
    for pid in leftovers:
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if os.getpgid(pid) == pid:
                    os.killpg(pid, signal.SIGKILL)
                else:
                    os.kill(pid, signal.SIGKILL)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def jupyter_lab(
    notebooks: Path = NOTEBOOKS,
    *,
    log_dir: Path | None = None,
    deadline: Deadline | None = None,
    startup_timeout: float = 60.0,
) -> Iterator[JupyterLab]:
    """Serve a temporary copy of ``notebooks`` from a fresh ``jupyter lab``; always stop it.

    The server log goes to ``log_dir/jupyterlab.log`` (default: the temporary directory).
    """
    deadline = deadline or Deadline(startup_timeout)
    with tempfile.TemporaryDirectory(prefix="chatconn-jupyterlab-") as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "root"
        shutil.copytree(notebooks, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        dirs = {
            name: tmp / name for name in ("config", "data", "runtime", "settings", "workspaces")
        }
        for path in dirs.values():
            path.mkdir()
        for name, settings in LAB_SETTINGS.items():
            target = dirs["settings"] / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(settings))
        write_kernelspec(dirs["data"] / "kernels")
        env = {k: v for k, v in os.environ.items() if k not in ("JUPYTER_PATH", "JUPYTER_TOKEN")}
        env.update(
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
            JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
            JUPYTER_PREFER_ENV_PATH="0",  # the user data dir (our kernelspec) comes first
            IPYTHONDIR=str(tmp / "ipython"),
            PYDEVD_DISABLE_FILE_VALIDATION="1",
        )
        port = free_port()
        token = secrets.token_hex(24)
        log_path = (log_dir or tmp) / "jupyterlab.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--allow-root",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.token={token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                cmd,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg takes it all down
            )
        try:
            lab = JupyterLab(f"http://127.0.0.1:{port}", token, root, log_path, proc.pid)
            _wait_until_up(lab, proc, deadline.timeout(startup_timeout))
            yield lab
        finally:
            _stop(proc)


def _wait_until_up(lab: JupyterLab, proc: subprocess.Popen[bytes], timeout: float) -> None:
    end = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"jupyter lab exited with code {proc.returncode} before answering; "
                f"its log ({lab.log_path}) ends with:\n{_tail(lab.log_path)}"
            )
        with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
            lab.api("/api/status", timeout=2.0)
            return
        if time.monotonic() > end:
            raise TimeoutError(
                f"jupyter lab did not answer on {lab.url} within {timeout:.0f} s; "
                f"its log ends with:\n{_tail(lab.log_path)}"
            )
        time.sleep(0.2)


@dataclass
class Chromium:
    """A page in a fresh headless Chromium, with everything it logged."""

    page: Any  # playwright.sync_api.Page
    context: Any  # playwright.sync_api.BrowserContext
    console: list[str]

    def log(self, line: str) -> None:
        self.console.append(f"{time.strftime('%H:%M:%S')} {line}")

    def save_console(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(self.console) + "\n")

    def screenshot(self, path: Path, *, timeout_ms: float = 10_000) -> bool:
        """Best effort (used on failure too): False when the page cannot be captured."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.page.screenshot(path=str(path), timeout=timeout_ms)
        except Exception as exc:
            self.log(f"[screenshot failed] {path.name}: {exc}")
            return False
        return True


def _kill_browsers(executable: Path) -> None:
    """SIGKILL the Chromium processes this process started (its descendants running it)."""
    target = executable.resolve()
    names = {target.name, "chrome", "chromium", "chrome_crashpad_handler"}
    for pid in _descendants(os.getpid()):
        try:
            exe = Path(os.readlink(f"/proc/{pid}/exe"))
        except OSError:
            continue
        if exe == target or exe.name in names:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def chromium(
    *,
    executable: Path = CHROMIUM,
    default_timeout_s: float = 30.0,
    viewport: tuple[int, int] = (1400, 1000),
    watchdog_s: float | None = None,
) -> Iterator[Chromium]:
    """Headless Debian Chromium via playwright, fresh ``--user-data-dir``, loopback only.

    ``watchdog_s``: after that long the browser is killed, so that a call without a timeout of
    its own (``page.evaluate`` on a hung page) raises instead of hanging the test run.
    """
    from playwright.sync_api import sync_playwright

    watchdog = None
    if watchdog_s is not None:
        watchdog = threading.Timer(watchdog_s, _kill_browsers, args=(executable,))
        watchdog.daemon = True
        watchdog.start()
    with (
        tempfile.TemporaryDirectory(prefix="chatconn-chromium-") as profile,
        sync_playwright() as pw,
    ):
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(executable),
            headless=True,
            args=list(CHROMIUM_FLAGS),
            viewport={"width": viewport[0], "height": viewport[1]},
            timeout=60_000,
        )
        try:
            context.set_default_timeout(default_timeout_s * 1000)
            browser = Chromium(
                context.pages[0] if context.pages else context.new_page(), context, []
            )

            def block(route: Any) -> None:
                browser.log(f"[blocked, not loopback] {route.request.url}")
                route.abort()

            context.route(_NOT_LOOPBACK, block)
            page = browser.page
            page.on("console", lambda msg: browser.log(f"[console.{msg.type}] {msg.text}"))
            page.on("pageerror", lambda exc: browser.log(f"[pageerror] {exc}"))
            page.on(
                "requestfailed",
                lambda req: browser.log(f"[requestfailed] {req.url} {req.failure}"),
            )
            yield browser
        finally:
            if watchdog is not None:
                watchdog.cancel()
            with contextlib.suppress(Exception):
                context.close()


def require_browser() -> None:
    """Skip locally (saying why) when the browser stack is missing; fail when CI is set."""
    import pytest

    missing = []
    if not CHROMIUM.exists():
        missing.append(
            f"Chromium not found at {CHROMIUM} (apt-get install chromium fonts-liberation)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright is not installed (pip install -e '.[dev]')")
    if not missing:
        return
    why = "real-browser test: " + "; ".join(missing)
    if ci():
        pytest.fail(f"{why}. CI is set, so this test must run, not skip.", pytrace=False)
    pytest.skip(f"{why}. Skipped locally; with CI set it fails instead.")
