"""The notebooks and the curated sample that ship with chatconn, and a working folder for them.

When to use it: to find the curated sample (:func:`sample_dir`, ``chatconn.runs.SAMPLE_DIR``)
or the notebooks wherever chatconn is installed, and to lay them out in a folder of your own
(``chatconn notebooks DIR``, :func:`lay_out`) where JupyterLab may autosave and "Save run"
may write.

Where the files are read from (package data, read with :mod:`importlib.resources`):

- an installed wheel carries them under ``chatconn/_bundled/`` — ``notebooks/*.ipynb`` and
  every file under ``data/`` (the sample runs, observed runs, example timings) — put there
  by the build hook ``hatch_build.py`` (never ``data/runs/mine/`` nor hidden files);
- a checkout (an editable install, or the tests) has no ``_bundled/``: the same files are
  read where they are kept, in the repository's ``notebooks/`` and ``data/``.

A working folder made by ``chatconn notebooks work`` looks like::

    work/01_tune_policy.ipynb ... 05_tune_policy.ipynb
    work/data/README.md, work/data/*.csv, work/data/observed/*.jsonl
    work/data/runs/*.jsonl          a copy of the curated sample
    work/data/runs/mine/            where "Save run" keeps your runs (:data:`MY_RUNS_DIR`)

Files already there are kept (your edits, your outputs) unless ``--force``; ``data/runs/mine``
is never touched.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

__all__ = [
    "MY_RUNS_DIR",
    "Layout",
    "add_notebooks_parser",
    "bundle_root",
    "lay_out",
    "my_runs_dir",
    "notebook_files",
    "run_notebooks",
    "sample_dir",
]

#: Inside an installed wheel: ``chatconn/_bundled/`` (written by ``hatch_build.py``).
BUNDLED = "_bundled"
#: Where "Save run" writes, relative to the working folder the notebook runs in.
MY_RUNS_DIR = Path("data") / "runs" / "mine"
#: Folder names never shipped nor copied: your own runs.
PRIVATE = ("mine",)


def bundle_root() -> Traversable:
    """The folder holding ``notebooks/`` and ``data/``: the wheel's ``chatconn/_bundled``
    when installed, the repository's root in a checkout."""
    packaged = files("chatconn").joinpath(BUNDLED)
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1]


def sample_dir() -> Path:
    """The curated sample of run records (read-only: never save into it)."""
    return Path(str(bundle_root().joinpath("data", "runs")))


def notebook_files() -> list[Traversable]:
    """The shipped notebooks, by name."""
    folder = bundle_root().joinpath("notebooks")
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.name.endswith(".ipynb")), key=_name)


def my_runs_dir(working_folder: str | Path | None = None) -> Path:
    """Where "Save run" writes: ``data/runs/mine`` under ``working_folder`` (default: the
    current directory, which is the notebook's folder in Jupyter). Refuses a place inside the
    installed package or the curated sample itself, so a run never lands in site-packages."""
    base = Path.cwd() if working_folder is None else Path(working_folder)
    target = (base / MY_RUNS_DIR).resolve()
    package = Path(__file__).resolve().parent
    sample = sample_dir().resolve()
    if target.is_relative_to(package) or target == sample:
        raise ValueError(
            f"will not save runs into {target}: it is inside the installed chatconn package; "
            "run the notebook from a working folder (`chatconn notebooks DIR`)"
        )
    return target


def _name(path: Traversable) -> str:
    return path.name


@dataclass(frozen=True)
class Layout:
    """What :func:`lay_out` did: files written and files kept, relative to ``folder``."""

    folder: Path
    written: tuple[str, ...]
    kept: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "written": list(self.written),
            "kept": list(self.kept),
            "open": str(self.folder / "01_tune_policy.ipynb"),
        }


def _walk(folder: Traversable, prefix: str) -> list[tuple[Traversable, str]]:
    out: list[tuple[Traversable, str]] = []
    for item in sorted(folder.iterdir(), key=_name):
        if item.name.startswith(".") or item.name in PRIVATE:
            continue
        if item.is_dir():
            out += _walk(item, f"{prefix}{item.name}/")
        elif item.is_file():
            out.append((item, f"{prefix}{item.name}"))
    return out


def _shipped() -> list[tuple[Traversable, str]]:
    """Every shipped file with its path in a working folder: the notebooks, and every file
    under ``data/`` but your own runs (``data/runs/mine``) — the rule of ``hatch_build.py``."""
    root = bundle_root()
    out: list[tuple[Traversable, str]] = [(nb, nb.name) for nb in notebook_files()]
    data = root.joinpath("data")
    if data.is_dir():
        out += _walk(data, "data/")
    return out


def lay_out(folder: str | Path, *, force: bool = False) -> Layout:
    """Copy the notebooks and the curated sample into ``folder`` (created if needed).

    Files already there are kept unless ``force``; ``data/runs/mine/`` is never touched."""
    folder = Path(folder)
    shipped = _shipped()
    if not any(name.endswith(".ipynb") for _, name in shipped):
        raise FileNotFoundError(f"no notebooks found in {bundle_root()}: a broken install?")
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"folder={str(folder)!r} is a file, not a folder")
    written, kept = [], []
    for source, name in shipped:
        target = folder / name
        if target.exists() and not force:
            kept.append(name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
        written.append(name)
    (folder / MY_RUNS_DIR).mkdir(parents=True, exist_ok=True)
    return Layout(folder.resolve(), tuple(written), tuple(kept))


# -- command line: chatconn notebooks DIR -----------------------------------------------------
def add_notebooks_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "notebooks", help="copy the notebooks and the sample runs into a working folder"
    )
    p.add_argument("folder", metavar="DIR", help="the working folder (created if needed)")
    p.add_argument("--force", action="store_true", help="replace notebooks and sample files")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")


def run_notebooks(args: argparse.Namespace) -> dict[str, Any]:
    """``chatconn notebooks DIR``: the layout as a dict (printed as JSON with ``--json``)."""
    layout = lay_out(args.folder, force=args.force)
    if args.json:
        return layout.to_dict()
    print(f"{len(layout.written)} files written to {layout.folder}")
    if layout.kept:
        print(f"{len(layout.kept)} already there and kept (--force replaces them)")
    print(f"your runs: {layout.folder / MY_RUNS_DIR}")
    print(f"open: jupyter lab {layout.folder / '01_tune_policy.ipynb'}")
    return {"exit_code": 0}
