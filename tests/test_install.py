"""Installed like a library (issue 16's acceptance): a fresh venv, ``pip install '<checkout>[lab]'``
(not editable), ``chatconn notebooks work``, then notebook 02 runs there with ``jupyter execute``.

SLOW (~1-2 min: pip resolves and installs JupyterLab and the rest from PyPI — its cache makes
later runs faster — and the notebook makes a live run). Marked ``install``; deselect with
``-m 'not install'`` while iterating. It needs PyPI (CI has it) and fails, not skips, without it.

Jupyter's own folders point into the test's temporary folder, so no kernelspec installed
elsewhere on the machine can stand in for the venv's ``python3``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "02_live_vs_simulated.ipynb"


def _run(args: list[str | Path], cwd: Path, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, (
        f"{' '.join(map(str, args))} exited {done.returncode}\n"
        f"stdout: {done.stdout[-3000:]}\nstderr: {done.stderr[-3000:]}"
    )
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh venv with ``<checkout>[lab]`` installed from a wheel pip builds."""
    base = tmp_path_factory.mktemp("install")
    venv = base / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        JUPYTER_CONFIG_DIR=str(base / "jupyter-config"),
        JUPYTER_DATA_DIR=str(base / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(base / "jupyter-runtime"),
        IPYTHONDIR=str(base / "ipython"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    _run([sys.executable, "-m", "venv", venv], base, env, 120)
    _run([venv / "bin" / "pip", "install", "--quiet", f"{ROOT}[lab]"], base, env, 900)
    return venv, env


def test_a_wheel_install_lays_out_a_working_folder_and_runs_notebook_02(installed) -> None:
    venv, env = installed
    work = venv.parent / "work"
    py = venv / "bin" / "python"
    # Installed, not linked to the checkout: chatconn comes from the venv's site-packages.
    where = json.loads(
        _run(
            [
                py,
                "-c",
                "import json, chatconn, chatconn.runs as r; print(json.dumps("
                "[chatconn.__file__, str(r.SAMPLE_DIR), str(r.MY_RUNS_DIR)]))",
            ],
            venv.parent,
            env,
            60,
        )
    )
    package, sample, mine = (Path(p) for p in where)
    assert package.is_relative_to(venv), f"chatconn imported from {package}, not the venv"
    assert sample == package.parent / "_bundled" / "data" / "runs"  # not site-packages/data
    assert len(list(sample.glob("*.jsonl"))) == len(list((ROOT / "data" / "runs").glob("*.jsonl")))
    assert not (sample / "mine").exists()
    assert not mine.is_absolute()  # relative to the working folder
    licences = list(package.parent.parent.glob("chatconn-*.dist-info/licenses/LICENSE"))
    assert licences and "MIT License" in licences[0].read_text()
    # The pinned JavaScript clients notebook 06 installs (chatconn.lab.nodejs): one lockfile,
    # the same bytes as the checkout's, and the node scripts, shipped as package data.
    js = package.parent / "lab" / "js"
    for name in ("package.json", "package-lock.json", "stream_reconnect.js"):
        assert (js / name).read_bytes() == (ROOT / "chatconn" / "lab" / "js" / name).read_bytes()
    assert not (js / "node_modules").exists()

    out = _run([venv / "bin" / "chatconn", "notebooks", "work", "--json"], venv.parent, env, 60)
    layout = json.loads(out)
    assert Path(layout["folder"]) == work.resolve() and not layout["kept"]
    notebooks = sorted(p.name for p in work.glob("*.ipynb"))
    # Every notebook of the checkout, and the whole curated sample, came with the package.
    assert NOTEBOOK in notebooks
    assert notebooks == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    curated = sorted(p.name for p in (ROOT / "data" / "runs").glob("*.jsonl"))
    assert sorted(p.name for p in (work / "data" / "runs").glob("*.jsonl")) == curated
    assert (work / "data" / "runs" / "mine").is_dir()
    if shutil.which("node") and shutil.which("npm"):
        # Notebook 06's first cell, from the working folder: no ../tests, the SDK from the cache.
        js, modules = _run(
            [
                py,
                "-c",
                "from chatconn.lab.nodejs import JS_DIR, node_modules as m; "
                "print(JS_DIR); print(m())",
            ],
            work,
            env,
            600,
        ).split()
        assert Path(js).is_relative_to(venv) and (Path(modules) / "stream-chat").is_dir()
    # Save run from a notebook in the working folder lands in it, never in site-packages.
    saved_to = _run(
        [py, "-c", "from chatconn.workspace import my_runs_dir; print(my_runs_dir())"],
        work,
        env,
        60,
    ).strip()
    assert Path(saved_to) == (work / "data" / "runs" / "mine").resolve()
    refused = subprocess.run(
        [py, "-c", "from chatconn.workspace import my_runs_dir; my_runs_dir()"],
        cwd=sample.parent.parent,  # site-packages/chatconn/_bundled
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0 and "will not save runs" in refused.stderr

    # A second layout keeps what is there (your edits and outputs) and says so.
    again = json.loads(
        _run([venv / "bin" / "chatconn", "notebooks", "work", "--json"], venv.parent, env, 60)
    )
    assert not again["written"] and again["kept"] == layout["written"]

    _run(
        [
            venv / "bin" / "jupyter",
            "execute",
            "--kernel_name=python3",
            "--output=executed-02",
            "--timeout=240",
            NOTEBOOK,
        ],
        work,
        env,
        420,
    )
    executed = json.loads((work / "executed-02.ipynb").read_text())
    errors = [
        out
        for cell in executed["cells"]
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors, errors
    ran = sum(1 for c in executed["cells"] if c["cell_type"] == "code" and c["execution_count"])
    assert ran == sum(1 for c in executed["cells"] if c["cell_type"] == "code")
    # The notebook read the packaged sample and wrote nothing into it.
    assert len(list(sample.glob("*.jsonl"))) == len(list((ROOT / "data" / "runs").glob("*.jsonl")))
    assert not (sample / "mine").exists()
