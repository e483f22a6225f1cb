"""The package's shape: every module imports alone, and the layers import downwards only.

An import cycle between two subpackages (``live`` imports ``runs`` which imports ``live``)
works or fails depending on which module a user happens to import first; these tests find one
before a user does. The graph is read from the source with :mod:`ast`: every ``import`` and
``from ... import`` of a chatconn module, at module level or inside a function (a lazy import
is still a dependency), except under ``if TYPE_CHECKING:`` (never executed).
"""

from __future__ import annotations

import ast
import itertools
import json
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "chatconn"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def unit(module: str) -> str:
    """The layer a module belongs to: its subpackage (``live`` for ``chatconn.live.run``) or,
    for a top-level module, the module (``cli`` for ``chatconn.cli``); ``chatconn`` itself is
    the package's ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "chatconn"


def _is_type_checking(test: ast.expr) -> bool:
    return "TYPE_CHECKING" in ast.unparse(test)


def imports_of(module: str, path: Path) -> list[tuple[str, int]]:
    """The chatconn modules ``module`` imports, with line numbers (``from pkg import name``
    counts as importing ``pkg.name`` when that is a module, else ``pkg``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.append((full if full in MODULES else target, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return [(name, line) for name, line in found if name.split(".")[0] == "chatconn"]


def unit_graph() -> tuple[dict[str, set[str]], dict[tuple[str, str], list[str]]]:
    """Edges between units, and for each edge where it comes from (``module:line``)."""
    edges: dict[str, set[str]] = defaultdict(set)
    where: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module, path in MODULES.items():
        for target, line in imports_of(module, path):
            a, b = unit(module), unit(target)
            if a != b:
                edges[a].add(b)
                where[a, b].append(f"{module}:{line} imports {target}")
    return edges, where


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle ``[a, b, ..., a]`` in the directed graph ``edges``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := walk(node)):
            return cycle
    return None


def test_find_cycle_finds_a_cycle_and_only_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_import_graph_sees_the_imports_the_package_has():
    # A graph builder that missed imports would find no cycle: hold it to known edges,
    # relative (from ..core.policy), lazy (inside a function) and absolute alike.
    edges, _ = unit_graph()
    assert {"core", "simulate"} <= edges["live"]
    assert "tune" in edges["cli"] and "argtypes" in edges["tune"]
    assert "cli_runs" in edges["cli"]  # imported inside a function only
    assert "core" not in edges or not edges["core"] - {"core"}  # the pure core imports no layer


def test_no_import_cycle_between_subpackages_and_top_level_modules():
    edges, where = unit_graph()
    cycle = find_cycle(edges)
    if cycle:
        steps = [f"{a} -> {b}: {where[a, b][0]}" for a, b in itertools.pairwise(cycle)]
        pytest.fail("import cycle " + " -> ".join(cycle) + "\n" + "\n".join(steps))


def _third_party_roots() -> list[str]:
    roots = set()
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                roots.add(node.module.split(".")[0])
    return sorted(roots - set(sys.stdlib_module_names) - {"chatconn", "__future__"})


def test_every_module_imports_alone_in_a_fresh_interpreter():
    # One fresh interpreter loads the third-party libraries chatconn imports (numpy, pandas,
    # plotly...: the slow part, and independent of chatconn's import order), then forks one
    # child per chatconn module; each child starts with no chatconn module loaded and imports
    # just that one, so a cycle that only breaks when a module is imported first shows here.
    script = textwrap.dedent(
        """
        import importlib, json, os, sys, traceback
        for root in ROOTS:
            try:
                importlib.import_module(root)
            except ImportError:
                pass  # an optional extra: the module that needs it says so itself
        assert not [m for m in sys.modules if m.split(".")[0] == "chatconn"]
        failed = {}
        for name in NAMES:
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read)
                try:
                    importlib.import_module(name)
                    code = 0
                except BaseException:
                    os.write(write, traceback.format_exc().encode()[-4000:])
                    code = 1
                os._exit(code)
            os.close(write)
            with os.fdopen(read, "rb") as pipe:
                message = pipe.read().decode()
            _, status = os.waitpid(pid, 0)
            if status:
                failed[name] = message or f"exit status {status}"
        print(json.dumps({"imported": len(NAMES), "failed": failed}))
        """
    )
    script = script.replace("ROOTS", repr(_third_party_roots())).replace(
        "NAMES", repr(sorted(MODULES))
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["imported"] == len(MODULES) > 100
    assert not report["failed"], "\n\n".join(f"{k}:\n{v}" for k, v in report["failed"].items())
