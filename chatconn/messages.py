"""What a user reads about a connection, in plain language: one table, English and Russian.

Every message the status indicator, the toasts and the live view show comes from
:data:`MESSAGES`; a test holds the two languages to the same keys and placeholders. Keys are
grouped by prefix::

    state.<ConnectionState>     what the connection is doing, as a user would say it
    phase.<Phase>               the step of a connect
    strategy.<Strategy>         how an attempt reaches the server
    quality.<Quality label>     how fast the connect was (or is turning out to be)
    error.<ErrorCategory name>  why an attempt failed
    toast.*                     transient notifications
    ui.*                        labels and buttons

::

    message("attempt", "ru", k=2, n=6)          # 'Попытка 2 из 6'
"""

from __future__ import annotations

from typing import Any

from .core.errors import UnknownNameError

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "MESSAGES", "check_language", "message"]

LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "state.idle": "Not connected",
        "state.connecting": "Connecting…",
        "state.connected": "Connected",
        "state.reconnecting": "Reconnecting…",
        "state.degraded": "Connected, limited",
        "state.failed": "Can't connect",
        "state.closed": "Disconnected",
        "phase.initializing": "Getting ready",
        "phase.diagnostics": "Checking the network",
        "phase.connecting": "Reaching the server",
        "phase.authenticating": "Signing in",
        "phase.syncing": "Loading messages",
        "phase.connected": "Ready",
        "strategy.direct_websocket": "WebSocket",
        "strategy.extended_timeout": "WebSocket, waiting longer",
        "strategy.multiple_ports": "WebSocket on other ports",
        "strategy.long_polling": "Long polling (plain HTTP)",
        "strategy.sse_fallback": "Server-sent events (plain HTTP)",
        "quality.excellent": "Excellent",
        "quality.good": "Good",
        "quality.poor": "Slow",
        "quality.critical": "Very slow",
        "error.none": "",
        "error.timeout": "no answer in time",
        "error.refused": "the server refused the connection",
        "error.reset": "the connection was cut",
        "error.upgrade_rejected": "a proxy blocked WebSocket",
        "error.deadline": "out of time",
        "error.token": "no login token",
        "attempt": "Attempt {k} of {n}",
        "waiting": "Next try in {seconds} s",
        "elapsed": "{seconds} s so far",
        "detail.degraded": "Connected through {strategy}: messages may arrive a little slower.",
        "detail.failed": "Gave up after {attempts} attempts ({error}).",
        "detail.last_error": "Last attempt: {error}.",
        "toast.strategy_changed": "Trying another way to connect: {strategy}.",
        "toast.quality_dropped": "Connecting is taking longer than usual ({quality}).",
        "toast.degraded": "Connected through {strategy}. Some features may be slower.",
        "toast.failed": "Can't connect right now. Check the network, then retry.",
        "toast.connection_lost": "Connection lost. Reconnecting…",
        "toast.reconnected": "Back online.",
        "ui.title": "Connection",
        "ui.state": "State",
        "ui.phase": "Step",
        "ui.attempt": "Attempt",
        "ui.strategy": "Method",
        "ui.quality": "Speed",
        "ui.retry": "Retry",
        "ui.run_live": "Run live",
        "ui.cancel": "Cancel",
        "ui.save_run": "Save run",
        "ui.saved": "Saved to {path}",
        "ui.sessions_done": "{done} of {total} sessions",
        "ui.cancelled": "Cancelled after {done} of {total} sessions.",
        "ui.finished": "{connected} of {total} sessions connected.",
        "ui.population_note": (
            "The lab plays one profile: {profile}, the largest share of {population}."
        ),
    },
    "ru": {
        "state.idle": "Нет подключения",
        "state.connecting": "Подключение…",
        "state.connected": "Подключено",
        "state.reconnecting": "Переподключение…",
        "state.degraded": "Подключено, с ограничениями",
        "state.failed": "Не удаётся подключиться",
        "state.closed": "Отключено",
        "phase.initializing": "Подготовка",
        "phase.diagnostics": "Проверка сети",
        "phase.connecting": "Связь с сервером",
        "phase.authenticating": "Вход",
        "phase.syncing": "Загрузка сообщений",
        "phase.connected": "Готово",
        "strategy.direct_websocket": "WebSocket",
        "strategy.extended_timeout": "WebSocket с долгим ожиданием",
        "strategy.multiple_ports": "WebSocket через другие порты",
        "strategy.long_polling": "Длинные опросы (обычный HTTP)",
        "strategy.sse_fallback": "Server-Sent Events (обычный HTTP)",
        "quality.excellent": "Отлично",
        "quality.good": "Хорошо",
        "quality.poor": "Медленно",
        "quality.critical": "Очень медленно",
        "error.none": "",
        "error.timeout": "нет ответа вовремя",
        "error.refused": "сервер отказал в соединении",
        "error.reset": "соединение оборвалось",
        "error.upgrade_rejected": "прокси заблокировал WebSocket",
        "error.deadline": "время вышло",
        "error.token": "нет токена для входа",
        "attempt": "Попытка {k} из {n}",
        "waiting": "Следующая попытка через {seconds} с",
        "elapsed": "Прошло {seconds} с",
        "detail.degraded": (
            "Подключено через «{strategy}»: сообщения могут приходить чуть медленнее."
        ),
        "detail.failed": "Сдались после {attempts} попыток ({error}).",
        "detail.last_error": "Последняя попытка: {error}.",
        "toast.strategy_changed": "Пробуем другой способ подключения: {strategy}.",
        "toast.quality_dropped": "Подключение идёт дольше обычного ({quality}).",
        "toast.degraded": "Подключено через «{strategy}». Что-то может работать медленнее.",
        "toast.failed": "Сейчас не удаётся подключиться. Проверьте сеть и повторите.",
        "toast.connection_lost": "Связь потеряна. Переподключаемся…",
        "toast.reconnected": "Снова на связи.",
        "ui.title": "Подключение",
        "ui.state": "Состояние",
        "ui.phase": "Шаг",
        "ui.attempt": "Попытка",
        "ui.strategy": "Способ",
        "ui.quality": "Скорость",
        "ui.retry": "Повторить",
        "ui.run_live": "Запустить",
        "ui.save_run": "Сохранить",
        "ui.saved": "Сохранено: {path}",
        "ui.cancel": "Отмена",
        "ui.sessions_done": "Сессий: {done} из {total}",
        "ui.cancelled": "Отменено после {done} из {total} сессий.",
        "ui.finished": "Подключились {connected} из {total} сессий.",
        "ui.population_note": (
            "Лаборатория играет один профиль: {profile}, самую большую долю {population}."
        ),
    },
}


def check_language(language: Any) -> str:
    """``language`` if it is one of :data:`LANGUAGES`; UnknownNameError otherwise."""
    if language not in LANGUAGES:
        raise UnknownNameError("language", language, LANGUAGES)
    return language


def message(key: str, language: str = DEFAULT_LANGUAGE, /, **values: Any) -> str:
    """The message ``key`` in ``language``, with ``{placeholders}`` filled from ``values``."""
    table = MESSAGES[check_language(language)]
    try:
        text = table[key]
    except KeyError:
        raise UnknownNameError("message", key, sorted(table)) from None
    return text.format(**values) if values else text
