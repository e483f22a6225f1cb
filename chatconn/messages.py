"""What a user reads about a connection, in plain language: one table, English and Russian.

Every message the status indicator, the toasts and the live view show comes from
:data:`MESSAGES`; a test holds the two languages to the same keys and placeholders. Keys are
grouped by prefix::

    state.<ConnectionState>     what the connection is doing, as a user would say it
    phase.<Phase>               the step of a connect
    strategy.<Strategy>         how an attempt reaches the server
    quality.<Quality label>     how fast the connect was (or is turning out to be)
    error.<ErrorCategory name>  why an attempt failed
    explain.*                   the connection manager's explanations, with a next step
    toast.*                     transient notifications
    ui.*                        labels and buttons
    tip.*                       what still works and what to do (:mod:`chatconn.tips`)

::

    message("attempt", "ru", k=2, n=6)          # 'Попытка 2 из 6'
    message("detail.failed", "ru", attempts=5, error="…")   # 'Сдались после 5 попыток (…).'

Counts take their language's plural form: a whole-number value formatted with the forms
``{attempts:attempt|attempts}`` (English: one, other) or
``{attempts:попытки|попыток|попыток}`` (Russian: one, few, many, by :func:`plural_form`)
prints as "1 attempt", "21 попытки", "5 попыток". :func:`say` also names strategies,
quality classes and error categories in the language; a :class:`Text` is a message to say
later in any language (the manager's explanations are Texts).
"""

from __future__ import annotations

from typing import Any

from .core.errors import UnknownNameError
from .core.quality import Quality
from .core.strategies import ErrorCategory, Strategy

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "MESSAGES",
    "Text",
    "check_language",
    "message",
    "plural_form",
    "say",
]

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
        "detail.failed": "Gave up after {attempts:attempt|attempts} ({error}).",
        "detail.last_error": "Last attempt: {error}.",
        "progress": "Attempt {k} of {n} · {percent}%",
        "tip.reconnecting": (
            "You can keep reading messages; sending resumes when the connection is back."
        ),
        "tip.degraded": (
            "You can read and send messages as usual; they may arrive a little late. "
            "Retry later for the fastest connection."
        ),
        "tip.degraded.websocket_blocked": (
            "You can read and send messages as usual; they go through plain HTTP and may "
            "arrive a little late. Ask your network administrator to allow WebSocket."
        ),
        "tip.failed": (
            "You can keep reading the messages already loaded. Check your connection, "
            "then press Retry."
        ),
        "tip.failed.timeout": (
            "You can keep reading the messages already loaded. The network is very slow: "
            "move closer to the Wi-Fi router or switch networks, then press Retry."
        ),
        "tip.failed.refused": (
            "You can keep reading the messages already loaded. The chat server seems to be "
            "restarting: try again in a minute."
        ),
        "tip.failed.reset": (
            "You can keep reading the messages already loaded. The connection keeps "
            "dropping: check your Wi-Fi or VPN, then press Retry."
        ),
        "tip.failed.upgrade_rejected": (
            "You can keep reading the messages already loaded. A proxy or firewall blocks "
            "the chat: try another network, or ask your administrator to allow WebSocket."
        ),
        "tip.failed.deadline": (
            "You can keep reading the messages already loaded. Connecting took too long: "
            "press Retry when the network is steadier."
        ),
        "tip.failed.token": (
            "You can keep reading the messages already loaded. Signing in did not work: "
            "sign in again, then press Retry."
        ),
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
        "ui.sessions_done": "{done} of {total:session|sessions}",
        "ui.cancelled": "Cancelled after {done} of {total:session|sessions}.",
        "ui.finished": "{connected} of {total:session|sessions} connected.",
        "ui.population_note": (
            "The lab plays one profile: {profile}, the largest share of {population}."
        ),
        "explain.no_attempt": "No attempt could be made within the time allowed. Try again later.",
        "explain.websocket_blocked": (
            "WebSocket seems blocked by a proxy or firewall. Allow WebSocket for this site, "
            "or use a policy whose ladder includes long polling or SSE."
        ),
        "explain.refused": (
            "The server refused every connection: it is probably down or restarting. "
            "Check the server status; reconnecting later should work."
        ),
        "explain.timeout": (
            "The server never answered in time: the network may be very slow, or a firewall "
            "silently drops the connection. Try another network or a longer timeout."
        ),
        "explain.overloaded": (
            "Neither WebSocket nor the HTTP fallbacks could connect; the server may be "
            "overloaded. Reconnecting later should work."
        ),
        "explain.mixed": "Every attempt failed ({kinds}). Check the network, then try again.",
        "explain.degraded_blocked": (
            "WebSocket seems blocked; connected through {strategy}, which works but adds "
            "latency to messages."
        ),
        "explain.degraded_port": "The main port seems blocked; connected on an alternative port.",
        "explain.degraded": "Connected through the fallback {strategy}.",
        "explain.auth": "The server rejected the login token. Sign in again; retrying cannot help.",
        "explain.certificate": (
            "The server's TLS certificate could not be verified, so nothing was sent to it. "
            "If the server uses a private certificate authority, pass its CA file (ca_file=) "
            "or an ssl.SSLContext (ssl=); otherwise check the URL's host name and the "
            "certificate's validity. Retrying cannot help."
        ),
        "explain.token": (
            "Could not get a login token ({detail}). Check the sign-in service, then retry."
        ),
        "explain.protocol": (
            "The server answered with something that is not the chat protocol. "
            "Check the server URL."
        ),
        "explain.circuit_open": (
            "Too many failed connects in a row; not trying for another {seconds} s."
        ),
        "explain.other": "{detail}",
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
        "detail.failed": "Сдались после {attempts:попытки|попыток|попыток} ({error}).",
        "detail.last_error": "Последняя попытка: {error}.",
        "progress": "Попытка {k} из {n} · {percent}\u00a0%",
        "tip.reconnecting": (
            "Сообщения можно читать; отправка возобновится, когда связь восстановится."
        ),
        "tip.degraded": (
            "Сообщения можно читать и отправлять как обычно; они могут приходить с задержкой. "
            "Повторите позже, чтобы подключиться быстрее."
        ),
        "tip.degraded.websocket_blocked": (
            "Сообщения можно читать и отправлять как обычно; они идут через обычный HTTP и "
            "могут приходить с задержкой. Попросите администратора сети разрешить WebSocket."
        ),
        "tip.failed": (
            "Уже загруженные сообщения можно читать. Проверьте подключение и нажмите «Повторить»."
        ),
        "tip.failed.timeout": (
            "Уже загруженные сообщения можно читать. Сеть очень медленная: подойдите ближе "
            "к роутеру Wi-Fi или смените сеть и нажмите «Повторить»."
        ),
        "tip.failed.refused": (
            "Уже загруженные сообщения можно читать. Похоже, сервер чата перезапускается: "
            "попробуйте через минуту."
        ),
        "tip.failed.reset": (
            "Уже загруженные сообщения можно читать. Соединение постоянно обрывается: "
            "проверьте Wi-Fi или VPN и нажмите «Повторить»."
        ),
        "tip.failed.upgrade_rejected": (
            "Уже загруженные сообщения можно читать. Прокси или файрвол блокирует чат: "
            "попробуйте другую сеть или попросите администратора разрешить WebSocket."
        ),
        "tip.failed.deadline": (
            "Уже загруженные сообщения можно читать. Подключение заняло слишком много "
            "времени: нажмите «Повторить», когда сеть станет стабильнее."
        ),
        "tip.failed.token": (
            "Уже загруженные сообщения можно читать. Войти не удалось: войдите заново и "
            "нажмите «Повторить»."
        ),
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
        "ui.cancelled": "Отменено после {done} из {total:сессии|сессий|сессий}.",
        "ui.finished": "Подключено: {connected} из {total:сессии|сессий|сессий}.",
        "ui.population_note": (
            "Лаборатория играет один профиль: {profile}, самую большую долю {population}."
        ),
        "explain.no_attempt": "За отведённое время не удалось сделать ни одной попытки. "
        "Повторите позже.",
        "explain.websocket_blocked": (
            "Похоже, WebSocket блокирует прокси или файрвол. Разрешите WebSocket для этого "
            "сайта или выберите политику, в лестнице которой есть длинные опросы или SSE."
        ),
        "explain.refused": (
            "Сервер отклонил все подключения: вероятно, он не работает или перезапускается. "
            "Проверьте состояние сервера; позже подключение должно пройти."
        ),
        "explain.timeout": (
            "Сервер так и не ответил вовремя: сеть может быть очень медленной, или файрвол "
            "молча отбрасывает соединение. Попробуйте другую сеть или более долгий таймаут."
        ),
        "explain.overloaded": (
            "Не удалось подключиться ни через WebSocket, ни через запасные HTTP-способы; "
            "возможно, сервер перегружен. Позже подключение должно пройти."
        ),
        "explain.mixed": "Все попытки не удались ({kinds}). Проверьте сеть и повторите.",
        "explain.degraded_blocked": (
            "Похоже, WebSocket заблокирован; подключились через «{strategy}»: это работает, "
            "но сообщения идут с задержкой."
        ),
        "explain.degraded_port": (
            "Похоже, основной порт заблокирован; подключились через другой порт."
        ),
        "explain.degraded": "Подключились через запасной способ: «{strategy}».",
        "explain.auth": (
            "Сервер отклонил токен для входа. Войдите заново; повторные попытки не помогут."
        ),
        "explain.certificate": (
            "Не удалось проверить TLS-сертификат сервера, поэтому ему ничего не отправлено. "
            "Если у сервера свой удостоверяющий центр, укажите его файл CA (ca_file=) или "
            "ssl.SSLContext (ssl=); иначе проверьте имя хоста в адресе и срок действия "
            "сертификата. Повторные попытки не помогут."
        ),
        "explain.token": (
            "Не удалось получить токен для входа ({detail}). Проверьте сервис входа и повторите."
        ),
        "explain.protocol": ("Сервер ответил не по протоколу чата. Проверьте адрес сервера."),
        "explain.circuit_open": (
            "Слишком много неудачных подключений подряд; следующая попытка через {seconds} с."
        ),
        "explain.other": "{detail}",
    },
}


def check_language(language: Any) -> str:
    """``language`` if it is one of :data:`LANGUAGES`; UnknownNameError otherwise."""
    if language not in LANGUAGES:
        raise UnknownNameError("language", language, LANGUAGES)
    return language


def plural_form(language: str, n: int) -> int:
    """Which plural form a count ``n`` takes (CLDR cardinal rules, whole numbers): English
    0 for one, 1 for other; Russian 0 for one (1, 21, 101), 1 for few (2-4, 22-24), 2 for
    many (0, 5-20, 25-30, 11-14, ...)."""
    n = abs(int(n))
    if check_language(language) == "ru":
        if n % 10 == 1 and n % 100 != 11:
            return 0
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return 1
        return 2
    return 0 if n == 1 else 1


class _Count:
    """A whole number in a message: ``{n:form|forms}`` gives "n" and its plural form."""

    __slots__ = ("language", "n")

    def __init__(self, n: int, language: str) -> None:
        self.n, self.language = n, language

    def __format__(self, spec: str) -> str:
        if "|" not in spec:
            return format(self.n, spec)
        forms = spec.split("|")
        return f"{self.n} {forms[min(plural_form(self.language, self.n), len(forms) - 1)]}"


def message(key: str, language: str = DEFAULT_LANGUAGE, /, **values: Any) -> str:
    """The message ``key`` in ``language``, with ``{placeholders}`` filled from ``values``
    (whole numbers with their plural form where the message asks for one)."""
    table = MESSAGES[check_language(language)]
    try:
        text = table[key]
    except KeyError:
        raise UnknownNameError("message", key, sorted(table)) from None
    if not values:
        return text
    counted = {
        name: _Count(value, language)
        if isinstance(value, int) and not isinstance(value, bool)
        else value
        for name, value in values.items()
    }
    return text.format(**counted)


def _localised(value: Any, language: str) -> Any:
    if isinstance(value, Strategy):
        return message(f"strategy.{value.value}", language)
    if isinstance(value, Quality):
        return message(f"quality.{value.label}", language)
    if isinstance(value, ErrorCategory):
        return message(f"error.{value.name.lower()}", language)
    if isinstance(value, tuple):
        return ", ".join(str(_localised(v, language)) for v in value)
    return "?" if value is None else value


def say(key: str, language: str = DEFAULT_LANGUAGE, /, **values: Any) -> str:
    """:func:`message`, with strategies, quality classes and error categories (alone or in
    tuples) named in ``language`` and None as "?"."""
    return message(key, language, **{k: _localised(v, language) for k, v in values.items()})


class Text(str):
    """A message said in English that can be said again in any language.

    It is the English text (a ``str``: compare it, search it, log it) and keeps its
    :data:`MESSAGES` key and values: ``text.say("ru")``. Use it for words produced in one
    place and shown in another, like the manager's explanations in a Russian status panel.
    """

    key: str
    values: dict[str, Any]

    def __new__(cls, key: str, /, **values: Any) -> Text:
        self = super().__new__(cls, say(key, DEFAULT_LANGUAGE, **values))
        self.key, self.values = key, values
        return self

    def say(self, language: str = DEFAULT_LANGUAGE) -> str:
        """This message in ``language``."""
        return say(self.key, language, **self.values)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_text, (self.key, self.values))


def _text(key: str, values: dict[str, Any]) -> Text:
    return Text(key, **values)
