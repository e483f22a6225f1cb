"""Admission of attempts when many sessions share one process: the harness's own queue.

Use a :class:`ConnectGate` when one process drives many :class:`ConnectionManager`\\ s at
once (``run_live`` does, and ``benchmarks/bench_live.py``): give the same gate to every
manager (``ConnectionManager(..., gate=gate)``) and at most ``limit`` attempts are in
flight at a time; the others wait at the gate *before* their attempt starts, so the
wait is neither in the attempt's timeout nor in its recorded times.

Why: real clients each have a CPU of their own; sessions simulated in one process share
one event loop. Started together, N connects interleave step by step on that loop (each
round trip of each handshake waits behind every other's), so *every* connect takes about
as long as the whole burst — measured here: 5,000 WebSocket connects against the lab all
finished between 13 and 15 s, and a policy with a 10 s attempt timeout failed all 5,000,
while bare ``websockets`` (no timeout) "succeeded" in 15 s each. That time is the harness
queueing behind itself, not the network the profile plays. With a gate, connects go
through a bounded window first come, first served: each takes about ``limit`` connects'
worth of CPU, the burst as a whole takes what the machine needs for it, and the attempt
timeouts measure what they are meant to.

A single manager (an app, a notebook) needs no gate: by default there is none.
``limit`` is chatconn's own choice (:data:`DEFAULT_LIMIT`): enough attempts in flight to
keep a client and a lab process busy on two cores (a window of ~100 reached the same
throughput as no limit at all in ``bench_live.py``), and few enough that one window of
loopback connects costs well under a second of CPU; attempts held by the network (a
stall, a 3 s RTT) hold a slot, so against slow profiles give a larger limit.
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType

from ..core.errors import ConfigError

__all__ = ["DEFAULT_LIMIT", "ConnectGate"]

#: Attempts in flight through one gate unless told otherwise (see the module doc).
DEFAULT_LIMIT = 128


class ConnectGate:
    """At most ``limit`` attempts in flight among the managers sharing this gate.

    ``async with gate:`` around one attempt. ``waited`` counts attempts that had to wait
    and ``waited_s`` their total wait (wall seconds), so a run can say how much admission
    it needed. Bound to the event loop it is first used on.
    """

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigError("limit", limit, "expected a whole number of attempts >= 1")
        self.limit = limit
        self._slots = asyncio.Semaphore(limit)
        self.in_flight = 0
        self.peak = 0
        self.waited = 0
        self.waited_s = 0.0

    def __repr__(self) -> str:
        return (
            f"ConnectGate(limit={self.limit}, in_flight={self.in_flight}, "
            f"waited={self.waited}, waited_s={self.waited_s:.3f})"
        )

    async def __aenter__(self) -> ConnectGate:
        if self._slots.locked():
            began = time.perf_counter()
            await self._slots.acquire()
            self.waited += 1
            self.waited_s += time.perf_counter() - began
        else:
            await self._slots.acquire()
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.in_flight -= 1
        self._slots.release()
