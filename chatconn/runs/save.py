"""Saving finished runs — simulations and live runs — as run files.

Use :func:`save_run` after :func:`chatconn.simulate` or :func:`chatconn.live.run_live`
(``chatconn simulate --out`` and ``chatconn run --out`` do the same). Live runs can also
be recorded while they happen (``run_live(..., out=...)``); both write the same lines.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError, RunFileError
from ..core.presets import policy_preset_name_of
from ..core.profiles import NetworkProfile, Population
from ..outcomes import SessionOutcomes
from .format import end_line, run_header, session_line, sessions_line
from .run import Run
from .writer import RunWriter

__all__ = ["DEFAULT_CHUNK", "save_run"]

#: Sessions per line of a simulated run file (~30 kB per line).
DEFAULT_CHUNK = 1_000


def save_run(
    source: Any,
    path: str | os.PathLike[str] | RunWriter,
    *,
    force: bool = False,
    policy_name: str | None = None,
    target: NetworkProfile | Population | None = None,
    chunk: int = DEFAULT_CHUNK,
) -> Path:
    """Write a SessionOutcomes or a LiveRun to ``path`` (a file, or a directory to name
    the file in, or an open :class:`RunWriter`, which it closes); returns the file's path.
    Never replaces a file unless ``force``. A loaded
    :class:`~chatconn.runs.Run` is copied as it is on file (header, records and all).

    ``policy_name`` labels the run (default: the preset the policy equals, else
    "custom"); ``target`` is needed only for a result that does not say what it simulated.
    """
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ConfigError("chunk", chunk, "expected a whole number >= 1")
    if isinstance(source, Run):
        if isinstance(path, RunWriter):
            raise ConfigError("path", path, "a loaded run is copied to a file or directory")
        return _copy(source, path, force)
    if isinstance(source, SessionOutcomes):
        if source.kind != "simulated":
            raise ConfigError(
                "source",
                "the result of a live run",
                "save the LiveRun (or the loaded Run) itself: its result alone would be "
                "written as a simulation, without its attempts or time scale",
            )
        return _save_simulation(source, path, force, policy_name, target, chunk)
    if hasattr(source, "records") and isinstance(getattr(source, "header", None), dict):
        return _save_live(source, path, force)
    raise ConfigError("source", type(source).__name__, "expected a SessionOutcomes or a LiveRun")


def _unwrap(population: Population | None) -> NetworkProfile | Population | None:
    """A profile simulated alone is stored as that profile (``as_population`` wrapped it)."""
    if population is not None and len(population.profiles) == 1:
        (profile,) = population.profiles
        if profile.name == population.name:
            return profile
    return population


def _save_simulation(
    result: SessionOutcomes,
    path: str | os.PathLike[str] | RunWriter,
    force: bool,
    policy_name: str | None,
    target: NetworkProfile | Population | None,
    chunk: int,
) -> Path:
    target = target if target is not None else _unwrap(result.population)
    if target is None:
        raise ConfigError(
            "target", None, "this result does not say what it simulated; pass target="
        )
    header = run_header(
        "simulated",
        policy=result.known_policy(),
        target=target,
        seed=result.seed,
        sessions=result.sessions,
        policy_name=policy_name or policy_preset_name_of(result.known_policy()) or "custom",
        target_name=result.target,
        extra={"random_draws": dict(result.random_draws)},
    )
    arrays = {
        "connected": result.connected,
        "ended_at": result.ended_at,
        "attempts": result.attempts,
        "strategy": result.strategy,
        "last_error": result.last_error,
        "profile": result.profile,
    }
    with path if isinstance(path, RunWriter) else RunWriter(path, force=force) as writer:
        writer.write(header)
        for first in range(0, result.sessions, chunk):
            part = {name: a[first : first + chunk] for name, a in arrays.items()}
            writer.write(sessions_line(first, part))
        writer.write(end_line(result.sessions, result.elapsed_s))
    return writer.file


def _copy(run: Any, path: str | os.PathLike[str], force: bool) -> Path:
    target = Path(path)
    if str(path).endswith(("/", os.sep)) or target.is_dir() or not target.suffix:
        target = target / run.path.name
    if target.resolve() == run.path.resolve():
        return target
    if target.exists() and not force:
        raise RunFileError(target, "the file exists; pass --force (force=True) to replace it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run.path, target)
    except OSError as exc:
        raise RunFileError(target, f"cannot write it: {exc.strerror or exc}") from None
    return target


def _save_live(live: Any, path: str | os.PathLike[str] | RunWriter, force: bool) -> Path:
    result = live.result
    by_session: dict[str, list[Any]] = {}
    for record in live.records:
        by_session.setdefault(record.session, []).append(record)
    with path if isinstance(path, RunWriter) else RunWriter(path, force=force) as writer:
        writer.write(live.header)
        for i in range(result.sessions):
            for record in by_session.get(f"s{i}", ()):
                writer.write({"type": "attempt", **record.to_dict()})
            writer.write(
                session_line(
                    i,
                    result.connected[i],
                    result.ended_at[i],
                    result.attempts[i],
                    result.strategy[i],
                    result.last_error[i],
                )
            )
        writer.write(end_line(result.sessions, live.wall_s, live.errors))
    return writer.file
