"""Tips for a user whose chat is not fully connected: what still works, what they can do.

The seed app's report promises, beside "degraded" and "failed", a line saying what still
works and what to try. :func:`tip_key` chooses it — a pure function of the connection state
and the last error category (and, when degraded, whether the fallback is plain HTTP) — and
:class:`TipBook` says it in English or Russian, with texts of your own where you give them::

    tip_key(ConnectionState.FAILED, ErrorCategory.REFUSED)   # 'tip.failed.refused'
    TipBook().say(ConnectionState.DEGRADED, None, "ru")
    TipBook({"tip.failed": {"en": "Messages you wrote are kept; we will send them."}})

Which tip (chatconn's choice; the report names the idea, not the words):

=============== ================================ ==========================================
state           last error                        tip key
=============== ================================ ==========================================
reconnecting    any                               ``tip.reconnecting``
degraded        any failure, then connected over   ``tip.degraded.websocket_blocked``
                plain HTTP (long polling, SSE)
degraded        otherwise (other ports)           ``tip.degraded``
failed          timeout, refused, reset, upgrade  ``tip.failed.<category>``
                rejected, deadline, token
failed          none known                        ``tip.failed``
other states                                      no tip
=============== ================================ ==========================================

Every tip starts with what still works ("you can keep reading messages") and ends with
something the user can do. Texts live in :data:`chatconn.messages.MESSAGES` (a test holds
both languages to the same keys); :class:`TipBook` overrides any of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .core.errors import ConfigError, UnknownNameError
from .core.strategies import ErrorCategory, Strategy
from .live.events import ConnectionState
from .messages import DEFAULT_LANGUAGE, LANGUAGES, MESSAGES, check_language, message

__all__ = ["TIP_KEYS", "TipBook", "tip_key"]

#: Errors with a failed-state tip of their own.
_FAILED_SPECIFIC = (
    ErrorCategory.TIMEOUT,
    ErrorCategory.REFUSED,
    ErrorCategory.RESET,
    ErrorCategory.UPGRADE_REJECTED,
    ErrorCategory.DEADLINE,
    ErrorCategory.TOKEN,
)
#: Every key :func:`tip_key` can return (each in :data:`MESSAGES` for every language).
TIP_KEYS = (
    "tip.reconnecting",
    "tip.degraded",
    "tip.degraded.websocket_blocked",
    "tip.failed",
    *(f"tip.failed.{c.name.lower()}" for c in _FAILED_SPECIFIC),
)


def tip_key(
    state: ConnectionState | str,
    last_error: ErrorCategory | None,
    strategy: Strategy | None = None,
) -> str | None:
    """The tip for ``state`` after an attempt failed with ``last_error`` (None or
    ``ErrorCategory.NONE``: no error known), or None when the state needs no tip.
    ``strategy`` is the one connected (degraded): a WebSocket attempt failed and plain HTTP
    got through is what the manager explains as "WebSocket seems blocked"."""
    state = ConnectionState(state)
    if state is ConnectionState.RECONNECTING:
        return "tip.reconnecting"
    if state is ConnectionState.DEGRADED:
        failed = last_error is not None and last_error is not ErrorCategory.NONE
        if failed and strategy is not None and not strategy.uses_websocket:
            return "tip.degraded.websocket_blocked"
        return "tip.degraded"
    if state is ConnectionState.FAILED:
        if last_error in _FAILED_SPECIFIC:
            return f"tip.failed.{last_error.name.lower()}"
        return "tip.failed"
    return None


def _frozen_texts(texts: Any) -> Mapping[str, Mapping[str, str]]:
    if not isinstance(texts, Mapping):
        raise ConfigError("texts", texts, "expected a mapping of tip key -> {language: text}")
    out: dict[str, Mapping[str, str]] = {}
    for key, by_language in texts.items():
        if key not in TIP_KEYS:
            raise UnknownNameError("tip", key, TIP_KEYS)
        if not isinstance(by_language, Mapping):
            raise ConfigError(f"texts[{key!r}]", by_language, "expected {language: text}")
        checked: dict[str, str] = {}
        for language, text in by_language.items():
            check_language(language)
            if not isinstance(text, str) or not text.strip():
                raise ConfigError(f"texts[{key!r}][{language!r}]", text, "expected a text")
            checked[language] = text
        out[key] = MappingProxyType(checked)
    return MappingProxyType(out)


@dataclass(frozen=True, slots=True)
class TipBook:
    """The tips' texts: :data:`MESSAGES`' unless ``texts`` gives others, as
    ``{tip key: {language: text}}`` (a language left out keeps the default text).
    Validated on construction: an unknown key or language, or an empty text, raises."""

    texts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "texts", _frozen_texts(self.texts))

    def text(self, key: str, language: str = DEFAULT_LANGUAGE) -> str:
        """Tip ``key`` in ``language``."""
        if key not in TIP_KEYS:
            raise UnknownNameError("tip", key, TIP_KEYS)
        own = self.texts.get(key, {}).get(check_language(language))
        return own if own is not None else message(key, language)

    def say(
        self,
        state: ConnectionState | str,
        last_error: ErrorCategory | None,
        language: str = DEFAULT_LANGUAGE,
        strategy: Strategy | None = None,
    ) -> str:
        """The tip for ``state``, ``last_error`` (and ``strategy``) in ``language`` ("" when
        none)."""
        key = tip_key(state, last_error, strategy)
        return "" if key is None else self.text(key, language)


# Every key a tip can take must exist in every language (checked at import: a missing
# translation is a bug to catch before any user sees an UnknownNameError).
for _language in LANGUAGES:
    _missing = [k for k in TIP_KEYS if k not in MESSAGES[_language]]
    if _missing:  # pragma: no cover - a table error
        raise AssertionError(f"messages[{_language!r}] lacks {_missing}")
