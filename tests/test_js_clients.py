"""The pinned JavaScript clients install and run (the plumbing the real-client tests use)."""

from __future__ import annotations

import json

import jsclients


def test_pinned_clients_install_and_load(js_clients):
    script = """
const fs = require("fs");
const path = require("path");
const versions = {};
for (const name of ["stream-chat", "socket.io-client", "socket.io", "@microsoft/signalr", "ws"]) {
  require(name);
  const manifest = path.join(process.env.NODE_PATH, name, "package.json");
  versions[name] = JSON.parse(fs.readFileSync(manifest, "utf8")).version;
}
console.log(JSON.stringify(versions));
"""
    completed = jsclients.run_node(script)
    assert completed.returncode == 0, completed.stderr
    loaded = jsclients.json_lines(completed.stdout)[0]
    pinned = json.loads(jsclients.JS_DIR.joinpath("package.json").read_text())["dependencies"]
    assert loaded == pinned


def test_install_is_skipped_while_the_lockfile_is_unchanged(js_clients):
    assert jsclients.STAMP.read_text().strip() == jsclients._lock_digest()
    before = jsclients.STAMP.stat().st_mtime_ns
    assert jsclients.node_modules() == js_clients
    assert jsclients.STAMP.stat().st_mtime_ns == before
