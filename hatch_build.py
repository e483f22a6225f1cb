"""Build hook: put the notebooks and the curated sample runs into the wheel as package data.

The repository keeps them where people look for them (``notebooks/``, ``data/``); a wheel
carries them under ``chatconn/_bundled/`` where :mod:`chatconn.workspace` reads them with
``importlib.resources``. Only the files named here go in — never ``data/runs/mine/`` or
anything else lying in a checkout (``force-include`` of a whole folder would copy it verbatim).
Editable installs read the repository's own files and get nothing from this hook.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: (folder in the repository, file pattern): only top-level files of each folder.
SHIPPED = (("notebooks", "*.ipynb"), ("data", "README.md"), ("data/runs", "*.jsonl"))


class BundleNotebooksAndSample(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        for folder, pattern in SHIPPED:
            files = sorted((root / folder).glob(pattern))
            if not files:
                raise FileNotFoundError(f"nothing matches {folder}/{pattern} in {root}")
            for path in files:
                build_data["force_include"][str(path)] = f"chatconn/_bundled/{folder}/{path.name}"
