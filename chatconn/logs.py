"""Diagnostic logging: the standard :mod:`logging` module, one logger per layer.

chatconn logs under ``logging.getLogger("chatconn")`` and its children, and says nothing
until you turn it on (a :class:`logging.NullHandler` sits on ``chatconn``, as the logging
HOWTO asks of libraries)::

    chatconn.live.manager   every connect: state, phase, token, wait, attempt, strategy
                            switch, breaker and heartbeat transitions (see
                            chatconn.live.logs for the table of levels)
    chatconn.live.events    a failing event subscriber (ERROR, with its traceback)
    chatconn.lab.chaos      the lab's chaos proxies: each connection and the fault it gets
    chatconn.lab.chat       the lab's chat server: tokens served, auths accepted/refused
    chatconn.simulate       each simulation: sessions, policy, target, time taken

Levels: every transition at DEBUG; failures at WARNING (a failed attempt, a connect that
gave up, a lost connection, a missed heartbeat, the manager's warnings); the lab's
websocket server says "connection open/closed" at INFO. No record ever contains a token: they
are :class:`~chatconn.live.tokens.Secret` everywhere, URLs are redacted, and the
``websockets`` library's frame logs (which would show the auth frame) go to
``chatconn.live.websocket`` / ``chatconn.lab.websocket``, kept at INFO whatever you set.

In a notebook::

    import chatconn.logs
    chatconn.logs.enable_logging("DEBUG")        # to the cell's output (stderr)
    chatconn.logs.enable_logging("DEBUG", logger="chatconn.live.manager")   # one layer

From the command line: ``chatconn run --lab -v`` shows failures (INFO and above), ``-vv``
everything (DEBUG); without ``-v`` only errors. Or configure logging yourself, as for any library:
``logging.getLogger("chatconn").setLevel(logging.DEBUG)`` plus a handler of yours.
"""

from __future__ import annotations

import logging
import sys
from typing import IO

from .core.errors import ConfigError

__all__ = ["FORMAT", "LOGGER_NAME", "enable_logging", "level_for_verbosity"]

LOGGER_NAME = "chatconn"
#: The format enable_logging() uses: time, level, logger, message.
FORMAT = "%(asctime)s.%(msecs)03d %(levelname)-7s %(name)s: %(message)s"
_DATEFMT = "%H:%M:%S"

logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())


def level_for_verbosity(verbosity: int) -> int:
    """The CLI's ``-v`` count as a level: 0 ERROR, 1 (``-v``) INFO, 2+ (``-vv``) DEBUG."""
    if isinstance(verbosity, bool) or not isinstance(verbosity, int) or verbosity < 0:
        raise ConfigError("verbosity", verbosity, "expected a whole number >= 0")
    return (logging.ERROR, logging.INFO, logging.DEBUG)[min(verbosity, 2)]


def enable_logging(
    level: int | str = logging.DEBUG,
    *,
    logger: str = LOGGER_NAME,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Show chatconn's logs from ``logger`` (default: all of chatconn) at ``level`` and
    above on ``stream`` (default: stderr, which a notebook shows under the cell).

    Calling it again replaces the handler it installed before on that logger (no line
    printed twice). Returns the handler (``logging.getLogger(logger).removeHandler(h)``
    turns it off)."""
    if isinstance(level, str):
        resolved = logging.getLevelName(level.upper())
        if not isinstance(resolved, int):
            raise ConfigError("level", level, "expected DEBUG, INFO, WARNING, ERROR or a number")
        level = resolved
    if isinstance(level, bool) or not isinstance(level, int):
        raise ConfigError("level", level, "expected DEBUG, INFO, WARNING, ERROR or a number")
    if not isinstance(logger, str) or not (
        logger == LOGGER_NAME or logger.startswith(LOGGER_NAME + ".")
    ):
        raise ConfigError("logger", logger, "expected 'chatconn' or one of its children")
    target = logging.getLogger(logger)
    for old in [h for h in target.handlers if getattr(h, "_chatconn_enabled", False)]:
        target.removeHandler(old)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT, _DATEFMT))
    handler.setLevel(level)
    handler._chatconn_enabled = True  # type: ignore[attr-defined]
    target.addHandler(handler)
    target.setLevel(level)
    return handler
