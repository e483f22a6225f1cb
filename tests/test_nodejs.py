"""chatconn.lab.nodejs: the pinned JavaScript clients' installer (no real npm: a stand-in)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from chatconn.lab import nodejs


def _js_dir(tmp_path: Path, lock: str = '{"lockfileVersion": 3}') -> Path:
    js = tmp_path / "js"
    js.mkdir()
    (js / "package.json").write_text('{"name": "x"}')
    (js / "package-lock.json").write_text(lock)
    return js


def _fake_node(tmp_path: Path, *, fail: bool = False) -> tuple[str, Path]:
    """A PATH holding only stand-ins for node and npm; npm logs its calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "npm-calls"
    (bin_dir / "node").write_text("#!/bin/sh\nexit 0\n")
    body = (
        "echo broken >&2; exit 3\n"
        if fail
        else '/bin/mkdir -p node_modules/stream-chat\n/bin/echo "$PWD $*" >> ' + str(log) + "\n"
    )
    (bin_dir / "npm").write_text("#!/bin/sh\n" + body)
    for name in ("node", "npm"):
        (bin_dir / name).chmod(stat.S_IRWXU)
    return str(bin_dir), log


def test_missing_node_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(nodejs.NodeMissing) as missing:
        nodejs.find_node(str(empty))
    message = str(missing.value)
    assert "node and npm not found on PATH" in message
    assert "apt-get install nodejs npm" in message and "nodejs.org" in message
    # Not installed yet, so node_modules() needs npm and says so.
    with pytest.raises(nodejs.NodeMissing):
        nodejs.node_modules(_js_dir(tmp_path), cache=tmp_path / "cache", path=str(empty))


def test_missing_npm_alone_is_named(tmp_path: Path) -> None:
    path, _ = _fake_node(tmp_path)
    (Path(path) / "npm").unlink()
    with pytest.raises(nodejs.NodeMissing, match=r"^npm not found on PATH"):
        nodejs.find_node(path)


def test_installs_once_per_lockfile_into_the_cache(tmp_path: Path) -> None:
    js = _js_dir(tmp_path)
    cache = tmp_path / "cache"
    path, log = _fake_node(tmp_path)
    digest = nodejs.lock_digest(js / "package-lock.json")

    modules = nodejs.node_modules(js, cache=cache, path=path)
    assert modules == cache / digest / "node_modules"
    assert (modules / "stream-chat").is_dir()
    assert (modules / nodejs.STAMP_NAME).read_text().strip() == digest
    (call,) = log.read_text().splitlines()
    assert "ci" in call.split() and "--ignore-scripts" in call.split()
    assert not call.startswith(str(js))  # installed in the cache, not beside the lockfile
    assert not (js / "node_modules").exists()
    assert sorted(p.name for p in cache.iterdir()) == [digest]  # no staging folder left

    # Stamped: no npm call, and no node needed at all.
    assert nodejs.node_modules(js, cache=cache, path=str(tmp_path / "nowhere")) == modules
    assert len(log.read_text().splitlines()) == 1

    # A changed lockfile gets its own folder and a new install.
    (js / "package-lock.json").write_text(json.dumps({"lockfileVersion": 3, "changed": True}))
    again = nodejs.node_modules(js, cache=cache, path=path)
    assert again != modules and again.parent.name == nodejs.lock_digest(js / "package-lock.json")
    assert len(log.read_text().splitlines()) == 2


def test_an_unstamped_install_is_redone(tmp_path: Path) -> None:
    js = _js_dir(tmp_path)
    cache = tmp_path / "cache"
    path, log = _fake_node(tmp_path)
    stale = nodejs.installed_at(js / "package-lock.json", cache)
    stale.mkdir(parents=True)
    (stale / nodejs.STAMP_NAME).write_text("not-this-lock\n")
    assert nodejs.node_modules(js, cache=cache, path=path) == stale
    assert len(log.read_text().splitlines()) == 1
    assert (stale / "stream-chat").is_dir()


def test_a_failed_npm_ci_raises_and_leaves_nothing_stamped(tmp_path: Path) -> None:
    js = _js_dir(tmp_path)
    cache = tmp_path / "cache"
    path, _ = _fake_node(tmp_path, fail=True)
    with pytest.raises(RuntimeError, match=r"npm ci of .* failed \(3\):\nbroken"):
        nodejs.node_modules(js, cache=cache, path=path)
    assert not nodejs.installed_at(js / "package-lock.json", cache).exists()
    assert list(cache.iterdir()) == []


def test_cache_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CHATCONN_JS_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert nodejs.cache_root() == tmp_path / "xdg" / "chatconn" / "js"
    monkeypatch.setenv("CHATCONN_JS_CACHE", str(tmp_path / "mine"))
    assert nodejs.cache_root() == tmp_path / "mine"


def test_the_package_ships_the_lockfile_and_scripts() -> None:
    for name in ("package.json", "package-lock.json", "stream_reconnect.js"):
        assert (nodejs.JS_DIR / name).is_file(), name
    assert nodejs.JS_DIR.parent.name == "lab"  # inside the chatconn package, not tests/
