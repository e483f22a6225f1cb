"""The public API surface and the purity of the core (checked on the source, with ast)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import chatconn
import chatconn.calibrate
import chatconn.core
import chatconn.export
import chatconn.importers
import chatconn.lab
import chatconn.live
import chatconn.lockstep
import chatconn.report
import chatconn.runs
import chatconn.tune

CORE_DIR = Path(chatconn.core.__file__).resolve().parent
CORE_FILES = sorted(CORE_DIR.glob("*.py"))
FORBIDDEN = {"asyncio", "websockets", "httpx", "plotly", "ipywidgets", "time", "random"}


PACKAGES = [
    chatconn,
    chatconn.core,
    chatconn.live,
    chatconn.lab,
    chatconn.runs,
    chatconn.report,
    chatconn.tune,
    chatconn.calibrate,
    chatconn.lockstep,
    chatconn.importers,
    chatconn.export,
]


def isort_key(name: str) -> tuple[int, str]:
    """ruff RUF022 / isort order: CONSTANTS, then Classes, then functions, each A-Z."""
    if name.isupper():
        kind = 0
    elif name[:1].isupper():
        kind = 1
    else:
        kind = 2
    return kind, name


@pytest.mark.parametrize("module", PACKAGES, ids=lambda m: m.__name__)
def test_all_names_exist(module):
    assert module.__all__
    for name in module.__all__:
        assert hasattr(module, name), name


@pytest.mark.parametrize("module", PACKAGES, ids=lambda m: m.__name__)
def test_all_names_are_unique(module):
    assert len(module.__all__) == len(set(module.__all__))


@pytest.mark.parametrize("module", PACKAGES, ids=lambda m: m.__name__)
def test_all_is_sorted_constants_classes_functions(module):
    assert list(module.__all__) == sorted(module.__all__, key=isort_key)


def test_the_package_re_exports_the_core_api():
    assert set(chatconn.core.__all__) <= set(chatconn.__all__)
    for name in chatconn.core.__all__:
        assert getattr(chatconn, name) is getattr(chatconn.core, name)
    for name in ("simulate", "simulate_reference", "storm", "SessionOutcomes", "StormResult"):
        assert name in chatconn.__all__


def test_star_import_gives_exactly_all():
    namespace: dict[str, object] = {}
    exec("from chatconn import *", namespace)
    public = {name for name in namespace if not name.startswith("__")}
    assert public == set(chatconn.__all__)


@pytest.mark.parametrize(
    "path", [p for p in CORE_FILES if p.name != "__init__.py"], ids=lambda p: p.stem
)
def test_core_module_all_names_exist(path):
    module = importlib.import_module(f"chatconn.core.{path.stem}")
    names = getattr(module, "__all__", None)
    assert names, f"{path.name} has no __all__"
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(module, name), f"{path.name}: {name}"


def imported_top_level_modules(source: str) -> set[str]:
    """Top-level names of absolute imports in ``source`` (relative imports are internal)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "__import__"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value).split(".")[0])
    return found


def test_the_import_scanner_sees_every_import_form():
    source = (
        "import time\nimport os.path as p\nfrom random import random\n"
        "from . import sibling\nfrom .x import y\n__import__('asyncio')\n"
        "def f():\n    import httpx\n"
    )
    assert imported_top_level_modules(source) == {"time", "os", "random", "asyncio", "httpx"}


def test_the_core_package_has_the_expected_modules():
    names = {p.stem for p in CORE_FILES}
    assert {"__init__", "model", "profiles", "quality", "policy", "schedule", "planner"} <= names


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.stem)
def test_pure_core_imports_no_io_clock_or_global_random(path):
    imported = imported_top_level_modules(path.read_text(encoding="utf-8"))
    assert not imported & FORBIDDEN, f"{path.name} imports {sorted(imported & FORBIDDEN)}"


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.stem)
def test_pure_core_uses_no_global_numpy_random_state(path):
    # np.random.<function> (np.random.random, np.random.seed, ...) reads global state;
    # the core may only name the Generator type that callers pass in.
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "random"
            and isinstance(node.value.value, ast.Name)
            and node.value.value.id in {"np", "numpy"}
        ):
            assert node.attr == "Generator", f"{path.name}:{node.lineno} np.random.{node.attr}"


def test_version_is_a_string():
    assert isinstance(chatconn.__version__, str)
    assert chatconn.__version__.count(".") >= 1
