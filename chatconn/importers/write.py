"""Writing observed sessions as a run file: whole or not at all.

:func:`write_observed` writes through :class:`~chatconn.runs.RunWriter` into a temporary
file next to the target and renames it into place only once the end mark is written (and
``fsync``-ed), so an import that fails — a bad row, a full disk, an interrupt — leaves
nothing under the target's name, and an existing file is replaced only with ``force``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import RunFileError
from ..core.policy import RetryPolicy
from ..core.presets import policy_preset_name_of
from ..core.strategies import ErrorCategory
from ..runs.format import end_line, now_iso, run_header, sessions_line
from ..runs.writer import RunWriter, run_file_name
from .observed import ObservedSessions

__all__ = ["CHUNK", "observed_header", "write_observed"]

#: Sessions per line of the run file.
CHUNK = 1_000


def observed_header(
    observed: ObservedSessions,
    policy: RetryPolicy,
    *,
    policy_name: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """The run header of an observed run: the policy the clients ran, no profile."""
    known = observed.started[np.isfinite(observed.started)]
    started_at = (
        _iso(float(known.min())) if known.size else now_iso()
    )  # when the observations begin
    return run_header(
        "observed",
        policy=policy,
        target=None,
        seed=0,
        sessions=observed.sessions,
        policy_name=policy_name or policy_preset_name_of(policy) or "custom",
        target_name=name or Path(observed.source).stem,
        started_at=started_at,
        extra={
            "import": observed.describe(),
            "segments": {label: sorted(set(values)) for label, values in observed.segments.items()},
        },
    )


def _iso(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, UTC).isoformat(timespec="seconds")


def _lines(observed: ObservedSessions, header: dict[str, Any]):
    known = observed.started[np.isfinite(observed.started)]
    origin = float(known.min()) if known.size else 0.0
    codes = {
        label: {v: i for i, v in enumerate(header["extra"]["segments"][label])}
        for label in observed.segments
    }
    n = observed.sessions
    for first in range(0, n, CHUNK):
        part = slice(first, first + CHUNK)
        line = sessions_line(
            first,
            {
                "connected": observed.connected[part],
                "ended_at": observed.ended_at[part],
                "attempts": observed.attempts[part],
                "strategy": observed.strategy[part],
                "last_error": observed.last_error[part],
                "profile": np.zeros(len(observed.connected[part]), dtype=np.int8),
            },
        )
        line["segments"] = {
            label: [codes[label][v] for v in values[part]]
            for label, values in observed.segments.items()
        }
        started = observed.started[part] - origin
        line["started_s"] = [None if np.isnan(s) else round(float(s), 6) for s in started]
        yield line


def write_observed(
    observed: ObservedSessions,
    out: str | os.PathLike[str],
    policy: RetryPolicy,
    *,
    force: bool = False,
    policy_name: str | None = None,
    name: str | None = None,
) -> Path:
    """Write ``observed`` as a run file at ``out`` (a file, or a directory to name it in);
    returns its path. Never replaces a file unless ``force``; never leaves a partial one."""
    header = observed_header(observed, policy, policy_name=policy_name, name=name)
    target = Path(out)
    if str(out).endswith(("/", os.sep)) or target.is_dir() or not target.suffix:
        target = target / run_file_name(header)
        stem, n = target.stem, 2
        while target.exists():  # a directory never has a file replaced
            target = target.with_name(f"{stem}-{n}{target.suffix}")
            n += 1
    elif target.is_dir():
        raise RunFileError(target, "is a directory; give a file name or a directory with /")
    if target.exists() and not force:
        raise RunFileError(target, "the file exists; pass --force (force=True) to replace it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise RunFileError(target, f"cannot write it: {exc.strerror or exc}") from None
    temp_path = Path(temp)
    try:
        with RunWriter(temp_path, force=True) as writer:
            writer.write(header)
            for line in _lines(observed, header):
                writer.write(line)
            writer.write(end_line(observed.sessions, 0.0, _failure_kinds(observed)))
        if not force and target.exists():  # appeared meanwhile: still never replaced
            raise RunFileError(target, "the file exists; pass --force (force=True) to replace it")
        os.replace(temp_path, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp_path.unlink()
        raise
    return target


def _failure_kinds(observed: ObservedSessions) -> dict[str, int]:
    failed = observed.last_error[~observed.connected]
    counts = np.bincount(failed, minlength=len(ErrorCategory))
    return {ErrorCategory(i).name.lower(): int(c) for i, c in enumerate(counts) if c}
