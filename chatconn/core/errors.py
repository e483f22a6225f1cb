"""The exception tree of chatconn.

Every error chatconn raises on purpose derives from :class:`ChatconnError`, so callers
can catch one type. Configuration errors are also ``ValueError`` so that code written
against the standard library keeps working::

    ChatconnError
     ├── ConfigError (also ValueError)       an invalid value; names field, value and range
     │    └── UnknownNameError (also KeyError)  an unknown preset, profile, strategy or mode
     ├── SimulationError                     a simulation that cannot run as asked
     └── RunFileError                        a run record file that cannot be read or written;
                                             names the file and, where it applies, the line

Messages name what was wrong and what would be accepted, so a user can act on them.
"""

from __future__ import annotations

__all__ = [
    "ChatconnError",
    "ConfigError",
    "RunFileError",
    "RunFileWarning",
    "SimulationError",
    "UnknownNameError",
]


class ChatconnError(Exception):
    """Base class of every error chatconn raises on purpose."""


class ConfigError(ChatconnError, ValueError):
    """An invalid configuration value: the message names the field, the value and the range."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}={value!r} is invalid: {allowed}")


class UnknownNameError(ConfigError, KeyError):
    """A name that is not one of the known choices (preset, profile, strategy, mode)."""

    def __init__(self, kind: str, name: object, known: list[str] | tuple[str, ...]) -> None:
        self.known = tuple(known)
        super().__init__(kind, name, "expected one of " + ", ".join(self.known))

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0])


class SimulationError(ChatconnError):
    """A simulation that cannot run with the arguments given."""


class RunFileError(ChatconnError):
    """A run record file that is missing, foreign, damaged or cannot be written.

    ``path`` is the file; ``line`` the 1-based line at fault (None for the whole file).
    """

    def __init__(self, path: object, problem: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = self.path if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {problem}")


class RunFileWarning(UserWarning):
    """Something a reader of a run file should know that is not an error: a torn last line
    (skipped), a run that did not finish, a replay with another chatconn version."""
