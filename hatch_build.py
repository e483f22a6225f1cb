"""Build hook: put the notebooks and the curated sample runs into the wheel as package data.

The repository keeps them where people look for them (``notebooks/``, ``data/``); a wheel
carries them under ``chatconn/_bundled/`` where :mod:`chatconn.workspace` reads them with
``importlib.resources``. Only the files named here go in — never ``data/runs/mine/`` or
hidden files lying in a checkout (``force-include`` of a whole folder would copy it verbatim).
Editable installs read the repository's own files and get nothing from this hook.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: What ships: the notebooks, and every file under data/ (the curated sample, observed runs,
#: example timings) except your own runs in data/runs/mine/ and hidden files.
NOTEBOOKS = ("notebooks", "*.ipynb")
DATA = "data"
PRIVATE = ("mine",)


def shipped(root: Path) -> list[Path]:
    """The files the wheel carries, relative to ``root`` (the same rule as
    ``chatconn.workspace``'s copy into a working folder)."""
    folder, pattern = NOTEBOOKS
    files = sorted((root / folder).glob(pattern))
    for path in sorted((root / DATA).rglob("*")):
        parts = path.relative_to(root / DATA).parts
        if path.is_file() and not any(p in PRIVATE or p.startswith(".") for p in parts):
            files.append(path)
    return [p.relative_to(root) for p in files]


class BundleNotebooksAndSample(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        files = shipped(root)
        if not any(f.suffix == ".ipynb" for f in files) or not files:
            raise FileNotFoundError(f"no notebooks under {root / NOTEBOOKS[0]}")
        for path in files:
            build_data["force_include"][str(root / path)] = f"chatconn/_bundled/{path.as_posix()}"
