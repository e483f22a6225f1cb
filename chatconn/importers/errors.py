"""The import's error: a timings file that cannot be read, naming the file and the line."""

from __future__ import annotations

from ..core.errors import RunFileError

__all__ = ["TimingsFileError"]


class TimingsFileError(RunFileError):
    """A file of production timings (CSV, JSON Lines, HAR) that cannot be imported.

    A :class:`~chatconn.core.errors.RunFileError`: ``path``, ``line`` (1-based, None for
    the whole file) and ``problem`` say where and what.
    """
