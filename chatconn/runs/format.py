"""The run file format: JSON Lines, one header, then records, then an end mark.

A run file (``*.jsonl``, usually under ``data/runs/``) is written append-only, one complete
line per write, so a crash or kill loses at most the line being written::

    {"type": "run", "format": "chatconn-run", "version": 1, "kind": "simulated" | "live",
     "policy": {...every RetryPolicy field...}, "policy_name": "seed",
     "target": {"kind": "profile" | "population", ...every profile field...},
     "target_name": "3g", "seed": 1, "sessions": 40, "time_scale": 0.2,
     "target_url": "ws://127.0.0.1:40123/ws" | null,   # credentials and query removed
     "started_at": "2026-11-26T16:20:01+00:00", "host": "...",
     "versions": {"chatconn": ..., "python": ..., "numpy": ..., ...}, "extra": {...},
     "harness": {"floor": {...HarnessFloor...}, "time_scale": {...ScaleChoice...}}}  # lab runs
    {"type": "attempt", ...AttemptRecord.to_dict()...}                 # live runs only
    {"type": "session", "index": 7, "connected": true, "ended_at": 1.23,
     "attempts": 2, "strategy": 0, "last_error": 1}                    # live: one per session
    {"type": "sessions", "first": 0, "connected": [...], "ended_at": [...], "attempts": [...],
     "strategy": [...], "last_error": [...], "profile": [...]}         # simulated: columns
    {"type": "sessions", ..., "segments": {"region": [0, 1, ...]}, "started_s": [...]}
                                                                       # observed, imported
    {"type": "connection", ...ObservedConnection.to_dict()...}          # observed, proxied
    {"type": "profile", "at_s": 12.0, "profile": {...}}                # proxied: switched
    {"type": "end", "sessions": 40, "wall_s": 12.5, "failure_kinds": {...},
     "finished_at": "...", "harness": {"during": {...HarnessFloor...}}}

An *observed* run (``kind: "observed"``, written by :mod:`chatconn.importers` from
production timings) stores its sessions as columns like a simulation; ``target`` is null
(the real world: nothing to replay), ``policy`` is the policy the clients ran, and its
``sessions`` records may add ``segments`` (per label, indexes into the header's
``extra.segments[label]`` list of values) and ``started_s`` (seconds from the header's
``started_at``, null where unknown). ``extra.import`` says where the data came from.

``ended_at`` is in profile seconds from the first attempt (live: wall seconds ÷ time scale,
as the simulator counts); attempt records keep wall seconds and the scale. ``strategy`` is
:attr:`Strategy.code` (-1: never connected) and ``last_error`` an :class:`ErrorCategory`
value; the header lists both codings so the file explains itself.
"""

from __future__ import annotations

import platform
import socket
import sys
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import numpy as np

from ..core.policy import RetryPolicy
from ..core.profiles import NetworkProfile, Population, target_to_dict
from ..core.strategies import ErrorCategory, Strategy

__all__ = [
    "FORMAT",
    "KINDS",
    "VERSION",
    "end_line",
    "environment",
    "run_header",
    "session_line",
    "sessions_line",
]

FORMAT = "chatconn-run"
VERSION = 1
#: "observed": what real clients did. Imported timings (:mod:`chatconn.importers`) are session
#: columns with labels. A recording of ``chatconn proxy`` (:mod:`chatconn.proxy`) has a header with
#: ``policy`` null (or the policy the user says the client uses), ``connection`` lines
#: (:class:`chatconn.observe.ObservedConnection`), ``profile`` lines when the profile is
#: switched, and an end mark counting ``connections``; its sessions are the clients'
#: connect episodes (:func:`chatconn.observe.episodes`), computed when read.
KINDS = ("simulated", "live", "observed")
#: Packages whose versions a header records (those that shape a run's numbers).
RECORDED_PACKAGES = ("chatconn", "numpy", "websockets", "httpx", "httpx-sse", "uvicorn", "plotly")


def now_iso() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def environment() -> dict[str, Any]:
    """Where a run was made: host, platform and the versions of what shaped its numbers."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "host": socket.gethostname(),
        "platform": f"{sys.platform} {platform.machine()}",
        "versions": versions,
    }


def run_header(
    kind: str,
    *,
    policy: RetryPolicy,
    target: NetworkProfile | Population | None,
    seed: int,
    sessions: int,
    time_scale: float = 1.0,
    policy_name: str | None = None,
    target_name: str | None = None,
    target_url: str | None = None,
    started_at: str | None = None,
    extra: dict[str, Any] | None = None,
    harness: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The header line of a run file. ``target`` None: a real server (nothing to replay).

    ``target_url`` must already be redacted (:func:`chatconn.endpoint.redact_url`).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if target_name is None:
        target_name = target.name if target is not None else "live"
    return {
        "type": "run",
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "policy": policy.to_dict(),
        "policy_name": policy_name,
        "target": target_to_dict(target) if target is not None else None,
        "target_name": target_name,
        "seed": int(seed),
        "sessions": int(sessions),
        "time_scale": float(time_scale),
        "target_url": target_url,
        "started_at": started_at or now_iso(),
        **environment(),
        "codes": {
            "strategy": {s.value: s.code for s in Strategy},
            "last_error": {c.name.lower(): int(c) for c in ErrorCategory},
        },
        "extra": dict(extra or {}),
        **({"harness": harness} if harness is not None else {}),
    }


def session_line(
    index: int, connected: bool, ended_at: float, attempts: int, strategy: int, last_error: int
) -> dict[str, Any]:
    """One live session's outcome (profile seconds)."""
    return {
        "type": "session",
        "index": int(index),
        "connected": bool(connected),
        "ended_at": float(ended_at),
        "attempts": int(attempts),
        "strategy": int(strategy),
        "last_error": int(last_error),
    }


def sessions_line(first: int, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Consecutive sessions from ``first`` as columns (simulated runs)."""
    return {
        "type": "sessions",
        "first": int(first),
        "connected": arrays["connected"].astype(np.int8).tolist(),
        "ended_at": arrays["ended_at"].tolist(),  # repr precision: replays compare exactly
        "attempts": arrays["attempts"].tolist(),
        "strategy": arrays["strategy"].tolist(),
        "last_error": arrays["last_error"].tolist(),
        "profile": arrays["profile"].tolist(),
    }


def end_line(
    sessions: int,
    wall_s: float,
    failure_kinds: dict[str, int] | None = None,
    *,
    harness: dict[str, Any] | None = None,
) -> dict:
    """The last line of a finished run: how many sessions it recorded and how long it took
    (and, for live runs against a lab, the harness floor sampled during the run)."""
    return {
        "type": "end",
        "sessions": int(sessions),
        "wall_s": float(wall_s),
        "failure_kinds": dict(failure_kinds or {}),
        "finished_at": now_iso(),
        **({"harness": harness} if harness is not None else {}),
    }
