"""chatconn.workspace: the shipped notebooks and sample, laid out in a working folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatconn.cli import main
from chatconn.runs import MY_RUNS_DIR, SAMPLE_DIR
from chatconn.workspace import lay_out, my_runs_dir, notebook_files

ROOT = Path(__file__).resolve().parents[1]


def test_in_a_checkout_the_sample_and_notebooks_are_the_repositorys() -> None:
    assert SAMPLE_DIR == ROOT / "data" / "runs"
    assert [p.name for p in notebook_files()] == sorted(
        p.name for p in (ROOT / "notebooks").glob("*.ipynb")
    )


def test_lay_out_copies_keeps_and_forces(tmp_path: Path) -> None:
    first = lay_out(tmp_path / "work")
    work = tmp_path / "work"
    names = {p.name for p in notebook_files()}
    assert {p.name for p in work.glob("*.ipynb")} == names
    assert sorted(p.name for p in (work / "data" / "runs").glob("*.jsonl")) == sorted(
        p.name for p in SAMPLE_DIR.glob("*.jsonl")
    )
    assert (work / MY_RUNS_DIR).is_dir() and not first.kept
    mine = work / MY_RUNS_DIR / "mine-run.jsonl"
    mine.write_text("my own run\n")
    notebook = work / "01_tune_policy.ipynb"
    notebook.write_text("edited")

    second = lay_out(work)
    assert not second.written and set(second.kept) == set(first.written)
    assert notebook.read_text() == "edited"

    third = lay_out(work, force=True)
    assert set(third.written) == set(first.written)
    assert notebook.read_bytes() == (ROOT / "notebooks" / notebook.name).read_bytes()
    assert mine.read_text() == "my own run\n"  # data/runs/mine is never touched


def test_lay_out_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(ValueError, match="is a file"):
        lay_out(tmp_path / "f")


def test_save_run_goes_to_the_working_folder_never_into_the_package(tmp_path, monkeypatch):
    assert my_runs_dir(tmp_path) == (tmp_path / "data" / "runs" / "mine").resolve()
    monkeypatch.chdir(tmp_path)
    assert my_runs_dir() == (tmp_path / "data" / "runs" / "mine").resolve()
    with pytest.raises(ValueError, match="inside the installed chatconn package"):
        my_runs_dir(ROOT / "chatconn")


def test_chatconn_notebooks_command(tmp_path: Path, capsys) -> None:
    assert main(["notebooks", str(tmp_path / "w"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert Path(report["open"]) == (tmp_path / "w" / "01_tune_policy.ipynb").resolve()
    assert main(["notebooks", str(tmp_path / "w")]) == 0
    assert "already there and kept" in capsys.readouterr().out


def test_license_and_gitignore() -> None:
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    ignored = (ROOT / ".gitignore").read_text().split()
    for entry in (".ipynb_checkpoints/", "data/runs/mine/", "build/", "test-artifacts/"):
        assert entry in ignored


def _hatch_build():
    """hatch_build.py without hatchling installed (it only subclasses its interface)."""
    import runpy
    import sys
    import types

    names = ["hatchling", "hatchling.builders", "hatchling.builders.hooks"]
    names += ["hatchling.builders.hooks.plugin", "hatchling.builders.hooks.plugin.interface"]
    stubs = {name: types.ModuleType(name) for name in names}
    stubs[names[-1]].BuildHookInterface = object
    saved = {name: sys.modules.get(name) for name in names}
    sys.modules.update(stubs)
    try:
        return runpy.run_path(str(ROOT / "hatch_build.py"))
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def test_the_wheel_ships_what_a_working_folder_gets_and_never_your_runs(tmp_path) -> None:
    shipped = _hatch_build()["shipped"]
    tree = tmp_path / "repo"
    for name in (
        "notebooks/01.ipynb",
        "data/README.md",
        "data/runs/a.jsonl",
        "data/runs/mine/x.jsonl",
        "data/observed/b.jsonl",
        "data/.hidden",
    ):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text("x")
    assert {p.as_posix() for p in shipped(tree)} == {
        "notebooks/01.ipynb",
        "data/README.md",
        "data/runs/a.jsonl",
        "data/observed/b.jsonl",
    }
    # In this checkout: the wheel's files are exactly what `chatconn notebooks` copies.
    laid = lay_out(tmp_path / "work")
    wheel = {p.as_posix().removeprefix("notebooks/") for p in shipped(ROOT)}
    assert wheel == set(laid.written)
