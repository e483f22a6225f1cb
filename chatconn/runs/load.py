"""Reading run files back: validated line by line, errors name the file and the line.

Use :func:`load_run` for one file and :func:`load_runs` for files and directories. A torn
last line (a write cut short by a crash: no newline and not JSON) is skipped with a
:class:`RunFileWarning`; damage anywhere else — a line that is not JSON, an unknown record
type, a field out of range, a session recorded twice, a count that does not add up — is a
:class:`RunFileError` naming the file and line. Nothing is dropped silently.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ChatconnError, ConfigError, RunFileError, RunFileWarning
from ..core.harness import HarnessFloor
from ..core.profiles import as_population, target_from_dict
from ..core.strategies import ErrorCategory, Strategy
from ..outcomes import SessionOutcomes
from ..records import AttemptRecord
from .run import Run, RunHeader, _number, _whole

__all__ = ["load_run", "load_runs", "run_files"]


_PLAIN_TYPES = {"connected": frozenset({int, bool}), "ended_at": frozenset({int, float})}
_WHOLE_TYPES = frozenset({int})


def _plain_column(name: str, raw: Any) -> np.ndarray | None:
    """The column as an array, checked whole with numpy: the types of all its values at
    once (no bool among whole numbers, no string, no null), then finiteness (``ended_at``)
    or 0/1 (``connected``). None when anything is off: the caller then checks the values
    one by one, as slowly as it takes to name the fault. Ranges are checked by the caller.
    """
    if type(raw) is not list or not set(map(type, raw)) <= _PLAIN_TYPES.get(name, _WHOLE_TYPES):
        return None
    try:
        if name == "ended_at":
            values = np.array(raw, dtype=float)
            return values if np.isfinite(values).all() else None
        values = np.array(raw, dtype=np.int64)
    except (OverflowError, ValueError):  # past int64 or float: left to the slow path
        return None
    if name == "connected":
        return values.astype(bool) if ((values == 0) | (values == 1)).all() else None
    return values


#: What an observed run's session columns may add (see :mod:`chatconn.runs.format`).
_OBSERVED_EXTRAS = {"segments", "started_s"}
_SESSION_KEYS = {"type", "index", "connected", "ended_at", "attempts", "strategy", "last_error"}
_COLUMNS = ("connected", "ended_at", "attempts", "strategy", "last_error", "profile")
_DTYPES = {
    "connected": bool,
    "ended_at": float,
    "attempts": np.int16,
    "strategy": np.int8,
    "last_error": np.int8,
    "profile": np.int8,
}


class _Reader:
    """State of one file being read: what has been seen so far, checked line by line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.header: RunHeader | None = None
        self.columns: dict[str, list[np.ndarray]] = {c: [] for c in _COLUMNS}
        self.next_first = 0
        self.live: dict[int, dict[str, Any]] = {}
        self.records: list[AttemptRecord] = []
        self.end: dict[str, Any] | None = None
        self.harness_during: HarnessFloor | None = None
        self.profiles = 1
        # Observed runs come in two forms: imported timings (session columns, with labels)
        # and a proxy's recording (connection lines; sessions computed when read).
        self.segments: dict[str, list[np.ndarray]] = {}  # imported: label -> indexes
        self.started: list[np.ndarray] = []  # imported: start offsets
        self.observed: list[Any] = []  # proxied: ObservedConnection, in file order
        self.profile_changes: list[dict[str, Any]] = []

    def fail(self, line: int, problem: str) -> RunFileError:
        return RunFileError(self.path, problem, line)

    @property
    def run_header(self) -> RunHeader:
        """The header, once line 1 was read (:meth:`take` reads nothing else before it)."""
        if self.header is None:
            raise AssertionError("a record before the header")
        return self.header

    def take(self, line: int, data: Any) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise self.fail(line, "not a chatconn run record (a JSON object with a 'type')")
        kind = data["type"]
        if self.header is None:
            if kind != "run" or line != 1:
                raise self.fail(line, "not a chatconn run file: line 1 must be the run header")
            try:
                self.header = RunHeader.from_dict(data)
            except (ValueError, TypeError, ChatconnError) as exc:
                raise self.fail(line, f"bad run header: {exc}") from None
            if self.header.target is not None:
                self.profiles = len(as_population(self.header.target).profiles)
            return
        if self.end is not None:
            raise self.fail(line, f"a {kind!r} record after the end of the run")
        handler = {
            "connection": self._connection,
            "profile": self._profile,
            "attempt": self._attempt,
            "session": self._session,
            "sessions": self._sessions,
            "end": self._end,
        }.get(kind)
        if handler is None:
            raise self.fail(line, f"unknown record type {kind!r}")
        handler(line, data)

    def _connection(self, line: int, data: dict[str, Any]) -> None:
        if self.run_header.kind != "observed":
            raise self.fail(line, f"a connection record in a {self.run_header.kind} run")
        if self.next_first:
            raise self.fail(line, "a connection record in a run of imported session columns")
        from ..observe import ObservedConnection

        try:
            self.observed.append(ObservedConnection.from_dict(data))
        except (ValueError, TypeError) as exc:
            raise self.fail(line, f"bad connection record: {exc}") from None

    def _profile(self, line: int, data: dict[str, Any]) -> None:
        if self.run_header.kind != "observed":
            raise self.fail(line, f"a profile record in a {self.run_header.kind} run")
        if not _number(data.get("at_s")) or data["at_s"] < 0:
            raise self.fail(line, "a profile record needs at_s, seconds >= 0")
        recorded: Any = data.get("profile")  # target_from_dict names what is wrong with it
        try:
            profile = target_from_dict(recorded)
        except (ValueError, TypeError, AttributeError, ChatconnError) as exc:
            raise self.fail(line, f"bad profile record: {exc}") from None
        self.profile_changes.append({"at_s": float(data["at_s"]), "profile": profile})

    def _attempt(self, line: int, data: dict[str, Any]) -> None:
        if self.run_header.kind != "live":
            raise self.fail(line, f"an attempt record in a {self.run_header.kind} run")
        values = {k: v for k, v in data.items() if k != "type"}
        try:
            self.records.append(AttemptRecord.from_dict(values))
        except (ValueError, TypeError) as exc:
            raise self.fail(line, f"bad attempt record: {exc}") from None

    def _check_values(self, line: int, column: str, values: np.ndarray) -> None:
        h = self.run_header
        if column == "ended_at":
            bad = ~np.isfinite(values) | (values < 0)
        elif column == "attempts":  # a live connect may restart its schedule (reset_backoff)
            simulated = h.policy if h.kind == "simulated" else None  # a simulation has one
            most = simulated.max_attempts if simulated else np.iinfo(np.int16).max
            bad = (values < 0) | (values > most)
        elif column == "strategy":
            bad = (values < -1) | (values >= len(Strategy))
        elif column == "last_error":
            bad = (values < 0) | (values > max(ErrorCategory))
        elif column == "profile":
            bad = (values < 0) | (values >= self.profiles)
        else:
            return
        if bad.any():
            value = values[np.flatnonzero(bad)[0]].item()
            raise self.fail(line, f"{column} value {value!r} is out of range")

    def _column(self, line: int, name: str, raw: Any) -> np.ndarray:
        values = _plain_column(name, raw)
        if values is None:  # something unusual in it: check value by value, name the fault
            return self._checked_column(line, name, raw)
        self._check_values(line, name, values)
        return values.astype(_DTYPES[name], copy=False)

    def _checked_column(self, line: int, name: str, raw: Any) -> np.ndarray:
        try:
            return self._checked_values(line, name, raw)
        except OverflowError:  # a whole number past int64, or one too large for a float
            raise self.fail(line, f"{name} holds a number too large to be a value") from None

    def _checked_values(self, line: int, name: str, raw: Any) -> np.ndarray:
        if name == "connected":
            if not all(v in (0, 1) for v in raw):  # True/False compare equal to 1/0
                raise self.fail(line, "connected must hold true/false or 1/0")
            return np.array(raw, dtype=bool)
        if name == "ended_at":
            if not all(_number(v) for v in raw):
                raise self.fail(line, "ended_at must hold finite numbers of seconds")
            values = np.array(raw, dtype=float)
        else:
            if not all(_whole(v) for v in raw):
                raise self.fail(line, f"{name} must hold whole numbers")
            values = np.array(raw, dtype=np.int64)
        self._check_values(line, name, values)
        return values.astype(_DTYPES[name])

    def _session(self, line: int, data: dict[str, Any]) -> None:
        if self.run_header.kind != "live":
            raise self.fail(line, f"a per-session record in a {self.run_header.kind} run")
        if set(data) != _SESSION_KEYS:
            odd = sorted(set(data) ^ _SESSION_KEYS)[0]
            raise self.fail(line, f"session record field {odd!r} is missing or unknown")
        index = data["index"]
        if not _whole(index) or not 0 <= index < self.run_header.sessions:
            raise self.fail(line, f"session index {index!r} is outside the run's sessions")
        if index in self.live:
            raise self.fail(line, f"session {index} is recorded twice")
        row = {"profile": np.zeros(1, dtype=np.int8)}
        for name in _COLUMNS[:-1]:
            row[name] = self._column(line, name, [data[name]])
        self._consistent(line, row, index)
        self.live[index] = {name: values[0] for name, values in row.items()}

    def _sessions(self, line: int, data: dict[str, Any]) -> None:
        if self.run_header.kind == "live":
            raise self.fail(line, "a session-columns record in a live run")
        expected = {"type", "first", *_COLUMNS}
        optional = _OBSERVED_EXTRAS if self.run_header.kind == "observed" else set()
        if not expected <= set(data) <= expected | optional:
            odd = sorted(set(data) ^ expected - optional)[0]
            raise self.fail(line, f"sessions record field {odd!r} is missing or unknown")
        if data["first"] != self.next_first:
            raise self.fail(
                line,
                f"sessions start at {data['first']!r} but {self.next_first} was expected "
                "(records missing or out of order)",
            )
        lengths = {len(data[c]) if isinstance(data[c], list) else -1 for c in _COLUMNS}
        if len(lengths) != 1 or lengths == {-1} or lengths == {0}:
            raise self.fail(line, "the session columns must be non-empty lists of equal length")
        columns = {name: self._column(line, name, data[name]) for name in _COLUMNS}
        self._consistent(line, columns, data["first"])
        count = lengths.pop()
        if self.run_header.kind == "observed":
            self._observed_extras(line, data, count)
        for name, values in columns.items():
            self.columns[name].append(values)
        self.next_first += count
        if self.next_first > self.run_header.sessions:
            raise self.fail(line, f"more sessions than the header's {self.run_header.sessions}")

    def _observed_extras(self, line: int, data: dict[str, Any], count: int) -> None:
        """An observed run's label columns (indexes into the header's value lists) and
        start times (seconds from the header's ``started_at``, null where unknown)."""
        known = self.run_header.extra.get("segments") or {}
        segments = data.get("segments", {})
        if not isinstance(segments, dict) or set(segments) != set(known):
            raise self.fail(line, f"segments must hold exactly the labels {sorted(known)}")
        for label, raw in segments.items():
            values = _plain_column("segment", raw)
            if values is None or values.size != count:
                raise self.fail(line, f"segment {label!r} must hold {count} whole numbers")
            bad = (values < 0) | (values >= len(known[label]))
            if bad.any():
                value = values[np.flatnonzero(bad)[0]].item()
                raise self.fail(line, f"segment {label!r} value {value!r} is out of range")
            self.segments.setdefault(label, []).append(values)
        raw = data.get("started_s", [None] * count)
        if not isinstance(raw, list) or len(raw) != count:
            raise self.fail(line, f"started_s must hold {count} values")
        if not all(v is None or (_number(v) and v >= 0) for v in raw):
            raise self.fail(line, "started_s must hold seconds >= 0 or null")
        self.started.append(np.array([np.nan if v is None else v for v in raw], dtype=float))

    def _consistent(self, line: int, columns: dict[str, np.ndarray], first: int) -> None:
        """A session connected exactly when it has a strategy, after at least one attempt."""
        connected, strategy = columns["connected"], columns["strategy"]
        bad = np.flatnonzero((strategy >= 0) != connected)
        if bad.size:
            i = int(bad[0])
            what = "connected with no strategy" if connected[i] else "failed with a strategy"
            raise self.fail(line, f"session {first + i} {what}: the columns disagree")
        bad = np.flatnonzero(connected & (columns["attempts"] < 1))
        if bad.size:
            raise self.fail(line, f"session {first + int(bad[0])} connected in 0 attempts")

    def proxied(self) -> bool:
        """An observed run recorded by ``chatconn proxy`` (connection lines), not imported."""
        return self.run_header.kind == "observed" and (
            bool(self.observed) or "upstream" in self.run_header.extra
        )

    def _end(self, line: int, data: dict[str, Any]) -> None:
        if self.proxied():
            if data.get("connections") != len(self.observed):
                raise self.fail(
                    line,
                    f"the end mark counts {data.get('connections')!r} connections but "
                    f"{len(self.observed)} were recorded (records missing?)",
                )
            if not _number(data.get("wall_s")) or data["wall_s"] < 0:
                raise self.fail(line, "the end mark needs wall_s, a number of seconds >= 0")
            self.end = data
            return
        recorded = self.recorded()
        if data.get("sessions") != recorded:
            raise self.fail(
                line,
                f"the end mark counts {data.get('sessions')!r} sessions but {recorded} were "
                "recorded (records missing?)",
            )
        if not _number(data.get("wall_s")) or data["wall_s"] < 0:
            raise self.fail(line, "the end mark needs wall_s, a number of seconds >= 0")
        kinds = data.get("failure_kinds", {})
        if not isinstance(kinds, dict) or not all(_whole(v) for v in kinds.values()):
            raise self.fail(line, "failure_kinds must map error names to counts")
        harness = data.get("harness")
        if harness is not None:
            if not isinstance(harness, dict) or not isinstance(harness.get("during"), dict):
                raise self.fail(line, "the end mark's harness must hold a 'during' mapping")
            try:
                self.harness_during = HarnessFloor.from_dict(harness["during"])
            except ConfigError as exc:
                raise self.fail(line, f"the end mark's harness floor: {exc}") from None
        self.end = data

    def recorded(self) -> int:
        if self.proxied():
            return len(self.observed)
        return len(self.live) if self.run_header.kind == "live" else self.next_first

    def arrays(self) -> dict[str, np.ndarray]:
        if self.proxied():
            from ..observe import episode_arrays, episodes, timelines

            return episode_arrays(episodes(timelines(self.observed)))
        if self.run_header.kind == "live":
            order = sorted(self.live)
            return {
                c: np.array([self.live[i][c] for i in order], dtype=_DTYPES[c]) for c in _COLUMNS
            }
        return {
            c: (np.concatenate(parts) if parts else np.zeros(0, dtype=_DTYPES[c]))
            for c, parts in self.columns.items()
        }


def _lines(path: Path, data: bytes, notes: list[str]) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) of every non-blank line, one at a time (so a damaged file
    fails at its first fault, and only one parsed line is held at once); a torn last line
    is skipped with a note."""
    raw_lines = data.split(b"\n")
    last = len(raw_lines) - 1  # raw_lines[last] is b"" when the file ends with a newline
    for number, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw.decode("utf-8"))
        except RecursionError:  # [[[[... thousands deep: no run record looks like that
            raise RunFileError(
                path, "not a chatconn run record: JSON nested too deeply to read", number
            ) from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            if number - 1 == last:  # no newline after it: a write cut short
                notes.append(
                    f"{path}, line {number}: torn last line ({len(raw)} bytes, no newline) "
                    "skipped: the run was interrupted while writing it"
                )
                continue
            reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "not JSON"
            if number == 1:
                reason = f"not a chatconn run file: its first line is {reason}"
            raise RunFileError(path, f"{reason} ({exc})", number) from None
        yield number, value


def load_run(path: str | os.PathLike[str]) -> Run:
    """Read one run file; see the module doc for what is an error and what a warning."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RunFileError(path, "no such run file") from None
    except IsADirectoryError:
        raise RunFileError(
            path, "is a directory; give a run file (load_runs reads directories)"
        ) from None
    except OSError as exc:
        raise RunFileError(path, f"cannot read it: {exc.strerror or exc}") from None
    if not data.strip():
        raise RunFileError(path, "the file is empty: not a chatconn run file")
    notes: list[str] = []
    reader = _Reader(path)
    for number, value in _lines(path, data, notes):
        reader.take(number, value)
    del data
    if reader.header is None:
        raise RunFileError(path, "no run header: the run was interrupted before it started", 1)
    h = reader.header
    recorded = reader.recorded()
    if reader.end is None:
        notes.append(
            f"{path}: the run has no end mark (interrupted, or the proxy still runs): "
            f"{recorded} connections recorded"
            if reader.proxied()
            else f"{path}: the run has no end mark (interrupted?): "
            f"{recorded} of {h.sessions} sessions recorded"
        )
    if recorded == 0:
        what = "connections" if reader.proxied() else "sessions"
        raise RunFileError(path, f"the run recorded no {what}")
    population = as_population(h.target) if h.target is not None else None
    names = (population and tuple(p.name for p in population.profiles)) or (h.target_name,)
    arrays = reader.arrays()
    result = SessionOutcomes(
        policy=h.policy,
        target=h.target_name,
        seed=h.seed,
        profile_names=names,
        population=population,
        elapsed_s=float(reader.end["wall_s"]) if reader.end else 0.0,
        kind=h.kind,
        connected=arrays["connected"],
        ended_at=arrays["ended_at"],
        attempts=arrays["attempts"],
        strategy=arrays["strategy"],
        last_error=arrays["last_error"],
        profile=arrays["profile"],
    )
    for note in notes:
        warnings.warn(note, RunFileWarning, stacklevel=2)
    segments = {}
    for label, parts in reader.segments.items():
        values = np.array(h.extra["segments"][label], dtype=object)
        segments[label] = values[np.concatenate(parts)]
    started = np.concatenate(reader.started) if reader.started else None
    return Run(
        path=path,
        header=h,
        result=result,
        records=tuple(reader.records),
        complete=reader.end is not None,
        wall_s=float(reader.end["wall_s"]) if reader.end else None,
        errors=dict(reader.end.get("failure_kinds", {})) if reader.end else {},
        warnings=tuple(notes),
        harness_during=reader.harness_during,
        segments=segments,
        started_s=started,
        observations=tuple(reader.observed),
        profile_changes=tuple(reader.profile_changes),
    )


def run_files(sources: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files named, plus every ``*.jsonl`` in directories named (sorted; not in their
    subdirectories, so ``data/runs/mine/`` stays apart from the sample); errors on none."""
    files: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found = sorted(p for p in path.glob("*.jsonl") if p.is_file())
            if not found:
                raise RunFileError(path, "no run files (*.jsonl) in this directory")
            files.extend(found)
        elif not path.exists():
            raise RunFileError(path, "no such run file or directory")
        else:
            files.append(path)
    if not files:
        raise RunFileError("(none)", "no run files given")
    return files


def load_runs(*sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[Run]:
    """Every run in the files and directories given (directories: their ``*.jsonl``, sorted)."""
    if len(sources) == 1 and not isinstance(sources[0], str | os.PathLike):
        paths = list(sources[0])  # a list of paths
    else:
        paths = []
        for source in sources:
            if not isinstance(source, str | os.PathLike):
                raise ConfigError(
                    "sources", source, "expected run files and directories, or one list of them"
                )
            paths.append(source)
    return [load_run(path) for path in run_files(paths)]
