"""Append-only writing of run files: one complete line per ``write`` system call.

Use :class:`RunWriter` to record a run as it happens (``run_live(..., out=writer)``) and
:func:`chatconn.runs.save_run` to store a finished one. The file is opened with
``O_APPEND`` and each record goes out as one ``os.write`` of its whole line, so a crash or
``kill -9`` of the writing process loses at most the record being written; the loader
reports and skips a torn last line. Lines reach the operating system at once; they reach
the disk by the OS's schedule and for certain at :meth:`RunWriter.close` (``fsync``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
from pathlib import Path
from typing import Any

from ..core.errors import RunFileError

__all__ = ["RunWriter", "run_file_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def run_file_name(header: dict[str, Any]) -> str:
    """A file name that says what a run is: ``live-seed-3g-seed1-20261126T162001.jsonl``."""
    stamp = header["started_at"][:19].replace("-", "").replace(":", "")
    parts = [
        header["kind"],
        header.get("policy_name") or "custom",
        header.get("target_name") or "target",
        f"seed{header['seed']}",
        stamp,
    ]
    return "-".join(_UNSAFE.sub("_", str(p)) for p in parts) + ".jsonl"


class RunWriter:
    """Writes one run file, append-only. Refuses to replace a file unless ``force``.

    ``path`` may be a directory — an existing one, or any path without a file suffix
    (``data/runs``, ``data/runs/mine/``) — and the file is then named by
    :func:`run_file_name` from the header, with ``-2``, ``-3``, ... when that name is taken
    (a directory never has a file replaced, ``force`` or not). Missing directories are
    created. A named file is checked (and created) at once, so a run that cannot be
    recorded fails before it starts; with ``force`` an existing file is emptied only when
    the first record is written. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: str | os.PathLike[str], *, force: bool = False) -> None:
        self._target = Path(path)
        self._as_dir = (
            str(path).endswith(("/", os.sep)) or self._target.is_dir() or not self._target.suffix
        )
        self.force = force
        self.path: Path | None = None if self._as_dir else self._target
        self._fd: int | None = None
        self._created = False  # this writer made the file (so may remove it if empty)
        self._truncate = False  # force: empty the old file at the first record
        self.lines = 0
        if not self._as_dir:
            self._open(self._target, replace=force)

    def _open(self, path: Path, *, replace: bool) -> None:
        if path.is_dir():
            raise RunFileError(path, "is a directory; give a file name or a directory with /")
        if path.exists() and not replace:
            raise RunFileError(path, "the file exists; pass --force (force=True) to replace it")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            problem = f"cannot write it: cannot create {path.parent}: {exc.strerror or exc}"
            raise RunFileError(path, problem) from None
        existed = path.exists()
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (0 if replace else os.O_EXCL)
        try:
            self._fd = os.open(path, flags, 0o644)
        except FileExistsError:
            raise RunFileError(path, "the file exists; pass --force to replace it") from None
        except OSError as exc:
            raise RunFileError(path, f"cannot write it: {exc.strerror or exc}") from exc
        self.path = path
        self._created = not existed
        self._truncate = existed

    def _open_in_directory(self, header: dict[str, Any]) -> None:
        name = Path(run_file_name(header))
        for n in itertools.count(1):
            candidate = self._target / (name.name if n == 1 else f"{name.stem}-{n}{name.suffix}")
            try:
                return self._open(candidate, replace=False)
            except RunFileError as exc:
                if "exists" not in exc.problem:
                    raise

    def write(self, record: dict[str, Any]) -> None:
        """Append one record as one line. The first record must be the run header."""
        try:
            data = (json.dumps(record, allow_nan=False, separators=(",", ":")) + "\n").encode()
        except (TypeError, ValueError) as exc:  # NaN, infinity, or not a JSON type
            where = self.path or self._target
            problem = f"record {self.lines + 1} cannot be written as JSON: {exc}"
            if self.lines == 0:
                self._discard()
            raise RunFileError(where, problem) from None
        if self._fd is None:
            if self.path is not None or not self._as_dir:
                raise RunFileError(self._target, "this run file is closed")
            if record.get("type") != "run":
                raise RunFileError(self._target, "the first record must be the run header")
            self._open_in_directory(record)
        fd = self._fd
        if fd is None:  # pragma: no cover - _open_in_directory opened it or raised
            raise RunFileError(self._target, "the run file is not open")
        if self._truncate:
            os.ftruncate(fd, 0)
            self._truncate = False
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view) :]
        except OSError as exc:
            raise RunFileError(self.path, f"cannot write it: {exc.strerror or exc}") from exc
        self.lines += 1

    def _discard(self) -> None:
        """Close, and remove the file if this writer created it and wrote nothing to it."""
        if self._fd is None:
            return
        os.close(self._fd)
        self._fd = None
        if self._created and self.lines == 0 and self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()

    def close(self) -> None:
        """Flush to disk and close (idempotent). A file this writer created and never wrote
        to is removed: a run that failed before it started leaves nothing in the way."""
        if self._fd is None:
            return
        if self.lines == 0 and self._created:
            self._discard()
            return
        fd, self._fd = self._fd, None
        try:
            os.fsync(fd)
        except OSError:  # pragma: no cover - a filesystem without fsync
            pass
        finally:
            os.close(fd)

    @property
    def file(self) -> Path:
        """The run file's path, known once the header is written (a directory's run file is
        named after its header)."""
        if self.path is None:
            raise RunFileError(self._target, "no run header written yet: the file has no name")
        return self.path

    @property
    def closed(self) -> bool:
        return self._fd is None

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RunWriter({str(self.path or self._target)!r}, lines={self.lines})"
