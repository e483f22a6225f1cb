"""Every Python block of README.md runs as a script, in a temporary folder of its own.

A block is a fenced block opened with ```` ```python ````; each one runs alone (``python
block.py`` with the temporary folder as working directory), so every block must be
self-contained: its imports, its data (the curated sample is ``chatconn.runs.SAMPLE_DIR``), and
any file it writes goes under the working directory. A block that must not run (one that needs
a real remote server, say) is marked by the HTML comment ``<!-- readme: no-run (why) -->`` on
the line just above its fence — invisible on GitHub, explicit here, and it must say why.

The curated sample and the repository's notebooks are checked untouched after each block.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TIMEOUT_S = 180.0  # a block is an example: seconds, not minutes (the live one takes ~10 s)
NO_RUN = re.compile(r"<!--\s*readme:\s*no-run\s*\((?P<why>[^)]+)\)\s*-->")
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the opening fence
    heading: str
    source: str
    no_run: str | None  # the reason, when marked

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.heading.lower()).strip("-")
        return f"line{self.line}-{slug}"


def python_blocks(text: str) -> list[Block]:
    """The ```python blocks of a Markdown text, with the heading above each."""
    lines = text.splitlines()
    blocks, heading, i = [], "top", 0
    while i < len(lines):
        line = lines[i]
        m = FENCE.match(line)
        if not m:
            if line.startswith("#"):
                heading = line.lstrip("#").strip()
            i += 1
            continue
        fence, info = m["fence"], m["info"].strip().split()
        body, j = [], i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j])
            j += 1
        if info and info[0] in ("python", "py", "python3"):
            above = lines[i - 1] if i else ""
            marked = NO_RUN.search(above)
            blocks.append(Block(i + 1, heading, "\n".join(body) + "\n", marked and marked["why"]))
        i = j + 1
    return blocks


def _fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".ipynb_checkpoints" not in p.parts
    }


BLOCKS = python_blocks(README.read_text())


def test_the_readme_has_python_blocks_and_the_parser_finds_fences() -> None:
    assert len(BLOCKS) >= 5
    sample = (
        "# T\n```python\nx = 1\n```\n<!-- readme: no-run (needs a cluster) -->\n```py\ny\n```\n"
    )
    found = python_blocks(sample)
    assert [(b.source, b.no_run) for b in found] == [("x = 1\n", None), ("y\n", "needs a cluster")]
    assert python_blocks("```sh\nls\n```\n") == []


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_python_block_runs_as_a_script(block: Block, tmp_path: Path) -> None:
    if block.no_run:
        # Counted, not run: the reason is in the README beside the block.
        assert len(block.no_run.strip()) >= 10, "say why the block must not run"
        return
    script = tmp_path / "block.py"
    script.write_text(block.source)
    guarded = [ROOT / "data" / "runs", ROOT / "notebooks"]
    before = [_fingerprint(folder) for folder in guarded]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, (
        f"README.md line {block.line} ({block.heading}) failed as a script:\n{done.stderr[-4000:]}"
    )
    after = [_fingerprint(folder) for folder in guarded]
    for folder, old, new in zip(guarded, before, after, strict=True):
        assert new == old, f"README.md line {block.line} changed {folder}"
