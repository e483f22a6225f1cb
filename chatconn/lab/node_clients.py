"""Real JavaScript clients beside the lab: a node process printing JSON lines as it goes.

For tests and notebooks that put the official SDK in the lab (chatconn/lab/js/stream_reconnect.js
prints a line per WebSocket attempt, socket close and connection event of each of its
clients, times in seconds from its start and its start on the system clock)::

    async with NodeClients(script, {"baseURL": lab.base_url, ...}, node_path) as node:
        await node.until("ready", 1, timeout=30)
        await lab.kill(); ...; await lab.start()
    per_client(node.records, after=..., listening_since=lab.listening_since)

Closing the process's standard input asks the script to stop; it is killed if it has not
within ``stop_timeout`` seconds. Nothing is left running.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["NodeClients", "per_client"]


class NodeClients:
    """``node script json(options)``, its JSON lines collected in :attr:`records`."""

    def __init__(
        self,
        script: str | os.PathLike[str],
        options: dict[str, Any],
        node_path: str | os.PathLike[str],
        *,
        stop_timeout: float = 20.0,
    ) -> None:
        self.script = Path(script)
        self.options = options
        self.node_path = Path(node_path)
        self.stop_timeout = stop_timeout
        self.records: list[dict[str, Any]] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> NodeClients:
        self.proc = await asyncio.create_subprocess_exec(
            "node",
            str(self.script),
            json.dumps(self.options),
            cwd=self.script.parent,
            env={**os.environ, "NODE_PATH": str(self.node_path)},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for line in self.proc.stdout:
            if line.startswith(b"{"):
                self.records.append(json.loads(line))

    def count(self, event: str) -> int:
        return sum(1 for r in self.records if r.get("event") == event)

    async def until(self, event: str, n: int, timeout: float) -> None:
        """Wait until ``n`` lines of ``event`` arrived (TimeoutError after ``timeout`` s)."""
        async with asyncio.timeout(timeout):
            while self.count(event) < n:
                if self.proc is not None and self.proc.returncode is not None:
                    raise RuntimeError(f"node exited ({self.proc.returncode}) before {event!r}")
                await asyncio.sleep(0.05)

    async def __aexit__(self, *exc: object) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            async with asyncio.timeout(self.stop_timeout):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
        if self._reader is not None:
            await self._reader


def per_client(
    records: list[dict[str, Any]], after: float, listening_since: float
) -> dict[int, dict[str, Any]]:
    """Each client's socket close at or after ``after`` (script time), its attempts after
    it (relative to that close), when it recovered, and the outage it saw: from its close
    to ``listening_since`` (the lab's port listening again, ``time.time()``)."""
    origin = next(r["epoch"] for r in records if r.get("event") == "origin")
    out: dict[int, dict[str, Any]] = {}
    for r in records:
        if "client" not in r or r["t"] < after:
            continue
        c = out.setdefault(r["client"], {"closed": None, "attempts": [], "recovered": None})
        if r["event"] == "closed" and c["closed"] is None:
            c["closed"] = r["t"]
            c["down"] = listening_since - (origin + r["t"])
        elif r["event"] == "attempt" and c["closed"] is not None:
            c["attempts"].append(r["t"] - c["closed"])
        elif r["event"] == "recovered" and c["closed"] is not None and c["recovered"] is None:
            c["recovered"] = r["t"] - c["closed"]
    return out
