"""Record the sample observed run data/observed/socketio-restart.jsonl (real clients).

    python tools/record_observed_sample.py [--out data/observed/socketio-restart.jsonl] [--force]

40 socket.io-client 4.8.4 clients (node; the pinned set of chatconn/lab/js, installed by
tests/jsclients.py) connect through ``chatconn proxy`` (chatconn.proxy.ObservingProxy, a
quiet 2 ms link) to the npm socket.io 4.8.4 server; the server is killed, stays down 16 s
and is restarted; the clients reconnect with socket.io's default schedule. What the proxy
recorded is the sample: ``chatconn observe FILE --like socketio`` reads it, and notebooks
plot it without node (``plot_observed_waits(load_run(FILE), "socketio")``). Takes ~25 s;
the timings are measured, so they change from one recording to the next.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import jsclients  # noqa: E402  (tests/jsclients.py: the pinned node packages)

from chatconn.core.profiles import NetworkProfile  # noqa: E402
from chatconn.proxy import ObservingProxy  # noqa: E402

CLIENTS = 40
OUTAGE_S = 16.0
LINK = NetworkProfile("quiet-lan", "2 ms, nothing lost", rtt_median_s=0.002, rtt_sigma=0.0)
DEFAULT_OUT = ROOT / "data" / "observed" / "socketio-restart.jsonl"


async def _node(script: str, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "node", str(jsclients.JS_DIR / script), *args,
        cwd=jsclients.JS_DIR,
        env={**os.environ, "NODE_PATH": str(jsclients.node_modules())},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def _until(proc: asyncio.subprocess.Process, key: str, value: object) -> None:
    async with asyncio.timeout(60):
        while line := await proc.stdout.readline():
            if line.startswith(b"{") and json.loads(line).get(key) == value:
                return
    raise RuntimeError(f"node exited before printing {key}={value!r}")


async def record(out: Path, force: bool) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = await _node("socketio_server.js", str(port))
    clients = None
    try:
        await _until(server, "listening", port)
        proxy = ObservingProxy(("127.0.0.1", port), LINK, record=out, force=force)
        async with proxy:
            host, listen = proxy.address
            clients = await _node("socketio_clients.js", f"http://{host}:{listen}", str(CLIENTS))
            await _until(clients, "connected", CLIENTS)
            server.kill()
            await server.wait()
            await asyncio.sleep(OUTAGE_S)
            server = await _node("socketio_server.js", str(port))
            await _until(server, "listening", port)
            await _until(clients, "connected", CLIENTS)
            clients.stdin.write(b"stop\n")
            await clients.stdin.drain()
            await asyncio.wait_for(clients.wait(), 10)
    finally:
        for proc in (server, clients):
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--force", action="store_true", help="replace the file")
    args = parser.parse_args()
    asyncio.run(record(args.out, args.force))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
