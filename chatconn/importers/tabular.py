"""Rows of a CSV or JSON Lines file of timings, each with its line number (I/O only).

Use :func:`read_rows`; it yields ``(line, mapping)`` and the header it found. A row that
cannot be read at all (wrong number of CSV fields, a JSON line that is not an object) is a
:class:`~chatconn.importers.errors.TimingsFileError` naming the file and the line; what
the values mean is checked later (:mod:`chatconn.importers.observed`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import TimingsFileError

__all__ = ["read_csv", "read_jsonl"]


def _text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TimingsFileError(path, "no such file") from None
    except IsADirectoryError:
        raise TimingsFileError(path, "is a directory; give a file of timings") from None
    except OSError as exc:
        raise TimingsFileError(path, f"cannot read it: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")  # Excel writes a byte-order mark
    except UnicodeDecodeError as exc:
        raise TimingsFileError(path, f"not UTF-8 text ({exc})") from None


def read_csv(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    """The header of a CSV file (comma, semicolon or tab separated) and its rows."""
    text = _text(path)
    if not text.strip():
        raise TimingsFileError(path, "the file is empty")
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = [name.strip() for name in next(reader)]
    except csv.Error as exc:
        raise TimingsFileError(path, f"not CSV: {exc}", 1) from None
    if len(set(header)) != len(header):
        twice = sorted({n for n in header if header.count(n) > 1})
        raise TimingsFileError(path, f"column {twice[0]!r} appears twice in the header", 1)

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        line = reader.line_num
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise TimingsFileError(path, f"not CSV: {exc}", reader.line_num) from None
            start, line = line + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue  # a blank line
            if len(values) != len(header):
                raise TimingsFileError(
                    path,
                    f"{len(values)} fields where the header has {len(header)}",
                    start,
                )
            yield start, dict(zip(header, values, strict=True))

    return header, rows()


def read_jsonl(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    """The keys seen in a JSON Lines file (one object per line) and its rows."""
    text = _text(path)
    parsed: list[tuple[int, dict[str, Any]]] = []
    keys: dict[str, None] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise TimingsFileError(path, f"not JSON ({exc})", number) from None
        if not isinstance(value, dict):
            raise TimingsFileError(path, "not a JSON object (one session per line)", number)
        keys.update(dict.fromkeys(value))
        parsed.append((number, value))
    if not parsed:
        raise TimingsFileError(path, "the file is empty")
    return list(keys), iter(parsed)
