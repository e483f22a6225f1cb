"""Published retry policies, as data over the one schedule formula.

Each preset reproduces a library's or article's policy as read from its source (versions
named below); where a library retries forever, the preset stops after a finite number of
attempts that covers its whole ramp — raise ``max_attempts`` to look further. Presets are
WebSocket-only ladders except ``seed``, because the libraries retry one transport.
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import UnknownNameError
from .policy import JitterMode, RetryPolicy, WaitAnchor
from .strategies import Strategy

__all__ = ["POLICY_PRESETS", "policy_preset", "policy_preset_name_of", "policy_preset_names"]

_WS = (Strategy.DIRECT_WEBSOCKET,)


def seed() -> RetryPolicy:
    """The chat application chatconn was built to fix (its connection manager's numbers).

    Timeouts 15 s growing x1.4 to 90 s, a 120 s ``extended_timeout`` rung, 6 attempts,
    waits 1 s growing x1.4 to 30 s with +/-40 % proportional jitter, and the ladder
    direct WebSocket x2 -> extended timeout -> alternative ports -> long polling -> SSE.
    These are :class:`RetryPolicy`'s defaults. The app runs on Stream Chat's JS SDK: each of
    these attempts is a ``connectUser`` that the SDK retries inside by the ``stream-chat``
    preset (:func:`stream_chat`; :func:`chatconn.core.stream_sdk.stacked_connect` models
    the two layers together).
    """
    return RetryPolicy()


def grpc() -> RetryPolicy:
    """gRPC connection backoff, grpc/grpc ``doc/connection-backoff.md``.

    ``INITIAL_BACKOFF = 1 s, MULTIPLIER = 1.6, JITTER = 0.2, MAX_BACKOFF = 120 s,
    MIN_CONNECT_TIMEOUT = 20 s``::

        current_deadline = now() + INITIAL_BACKOFF
        while TryConnect(Max(current_deadline, now() + MIN_CONNECT_TIMEOUT)) != SUCCESS:
            SleepUntil(current_deadline)
            current_backoff = Min(current_backoff * MULTIPLIER, MAX_BACKOFF)
            current_deadline = now() + current_backoff +
                UniformRandom(-JITTER * current_backoff, JITTER * current_backoff)

    So: the first wait is exactly 1 s (no jitter), then 1.6 s, 2.56 s, ... capped at 120 s
    *before* +/-20 % jitter; waits count from the attempt's start (``wait_from=start``);
    each attempt gets at least 20 s, or until the next backoff deadline when that is later
    (``timeout_spans_backoff``). gRPC retries forever; 12 attempts reach the 120 s cap.
    """
    return RetryPolicy(
        base_timeout=20.0,
        max_timeout=20.0,
        timeout_growth=1.0,
        extended_timeout=20.0,
        timeout_spans_backoff=True,
        max_attempts=12,
        first_delay=1.0,
        first_delay_jitter=JitterMode.NONE,
        initial_delay=1.6,
        multiplier=1.6,
        max_delay=120.0,
        jitter=0.2,
        jitter_mode=JitterMode.PROPORTIONAL,
        wait_from=WaitAnchor.START,
        ladder=_WS,
    )


def websockets() -> RetryPolicy:
    """The reconnect loop of the Python ``websockets`` library (17.4).

    ``websockets/client.py`` ``backoff()``: ``yield random.random() * 5`` (RFC 6455
    section 7.2.3), then ``delay = 3.1; while delay < 90: yield delay; delay *= 1.618``,
    then 90 s forever. ``asyncio/client.py``: ``open_timeout=10`` covers the whole opening
    handshake; waits count from the failure. It retries forever; 10 attempts cover the
    ramp 3.1, 5.0158, 8.1156, 13.131, 21.246, 34.376, 55.620, 89.994 s.
    """
    return RetryPolicy(
        base_timeout=10.0,
        max_timeout=10.0,
        timeout_growth=1.0,
        extended_timeout=10.0,
        max_attempts=10,
        first_delay=5.0,
        first_delay_jitter=JitterMode.FULL,
        initial_delay=3.1,
        multiplier=1.618,
        max_delay=90.0,
        jitter=0.0,
        jitter_mode=JitterMode.NONE,
        ladder=_WS,
    )


def aws_standard() -> RetryPolicy:
    """botocore's ``standard`` retry mode (botocore 1.44.8, ``retries/standard.py``).

    ``DEFAULT_MAX_ATTEMPTS = 3``; ``ExponentialBackoff.delay_amount``:
    ``random() * min(base_scale * 2 ** (attempt_number - 1), 20)`` with
    ``non_throttling_base_scale = 0.05`` s for transient errors such as a failed connection
    (``throttling_base_scale = 1`` s applies to throttling errors only; botocore 1.35 used
    1 s for all). Full jitter, cap before jitter. ``connect_timeout`` defaults to 60 s
    (``botocore/config.py``). The retry quota (bucket 500) is not modelled.
    """
    return RetryPolicy(
        base_timeout=60.0,
        max_timeout=60.0,
        timeout_growth=1.0,
        extended_timeout=60.0,
        max_attempts=3,
        initial_delay=0.05,
        multiplier=2.0,
        max_delay=20.0,
        jitter=1.0,
        jitter_mode=JitterMode.FULL,
        ladder=_WS,
    )


def aws_decorrelated() -> RetryPolicy:
    """Decorrelated jitter, AWS Architecture Blog "Exponential Backoff And Jitter" (2015).

    ``sleep = min(cap, random_between(base, sleep * 3))`` with ``sleep`` starting at
    ``base`` (aws-samples/aws-arch-backoff-simulator ``src/backoff_simulator.py``,
    ``ExpoBackoffDecorr``). The article
    fixes the formula, not the numbers: this preset is the ``seed`` policy with only its
    jitter swapped (base = ``initial_delay`` 1 s, cap = ``max_delay`` 30 s), so the two
    compare directly.
    """
    return RetryPolicy(jitter_mode=JitterMode.DECORRELATED, jitter=1.0)


def socketio() -> RetryPolicy:
    """socket.io-client 4.8.4 ``Manager`` (``build/esm/manager.js``) with its in-tree
    ``Backoff`` (``build/esm/contrib/backo2.js``).

    ``reconnectionDelay 1000, reconnectionDelayMax 5000, randomizationFactor 0.5,
    timeout 20000`` ms, ``factor 2``, ``reconnectionAttempts Infinity``; ``duration()``::

        ms = this.ms * Math.pow(this.factor, this.attempts++)
        deviation = Math.floor(rand * this.jitter * ms)
        ms = (Math.floor(rand * 10) & 1) == 0 ? ms - deviation : ms + deviation
        return Math.min(ms, this.max) | 0

    The cap comes *after* the jitter, so from the 5th retry on every client waits exactly
    5 s (and ~90 % already do at the 4th): the lockstep this preset exists to show.
    The first reconnect waits ``duration()``. Unlimited in the library; 10 attempts here.
    """
    return RetryPolicy(
        base_timeout=20.0,
        max_timeout=20.0,
        timeout_growth=1.0,
        extended_timeout=20.0,
        max_attempts=10,
        initial_delay=1.0,
        multiplier=2.0,
        max_delay=5.0,
        jitter=0.5,
        jitter_mode=JitterMode.BACKO2,
        cap_after_jitter=True,
        ladder=_WS,
    )


def signalr() -> RetryPolicy:
    """@microsoft/signalr 10.0.11 ``DefaultReconnectPolicy``, ``src/DefaultReconnectPolicy.ts``.

    ``DEFAULT_RETRY_DELAYS_IN_MILLISECONDS = [0, 2000, 10000, 30000, null]``: four retries
    after 0, 2, 10 and 30 s (counted from the failure), no jitter, then stop. The JS client
    has no separate handshake timeout; ``serverTimeoutInMilliseconds`` (30 s) bounds it.
    (SignalR only reconnects a connection that was up; the preset applies the same table
    to a connect.)
    """
    return RetryPolicy(
        base_timeout=30.0,
        max_timeout=30.0,
        timeout_growth=1.0,
        extended_timeout=30.0,
        max_attempts=5,
        delays=(0.0, 2.0, 10.0, 30.0),
        jitter=0.0,
        jitter_mode=JitterMode.NONE,
        ladder=_WS,
    )


def stream_chat() -> RetryPolicy:
    """Stream Chat's JS SDK, ``stream-chat`` 9.53.0 (``npm pack stream-chat@9.53.0``).

    ``src/utils.ts`` ``retryInterval(numberOfFailures)``::

        // try to reconnect in 0.25-25 seconds (random to spread out the load from failures)
        const max = Math.min(500 + numberOfFailures * 2000, 25000);
        const min = Math.min(Math.max(250, (numberOfFailures - 1) * 2000), 25000);
        return Math.floor(Math.random() * (max - min) + min);

    so retry n waits U[min(max(250, 2000(n-1)), 25000), min(500 + 2000n, 25000)) ms: a
    window 2.5 s wide whose high end grows linearly (2.5, 4.5, 6.5, ... s) and whose ends are
    each capped at 25 s (``jitter_mode="window"``: nominal 2.5 s + 2 s per retry, window
    2.5 s, floor 0.25 s, cap 25 s). From retry 14 every wait is exactly 25 s.

    ``src/connection.ts`` ``StableWSConnection``: ``connect(timeout = 15000)`` waits 15 s for
    the first ``health.check`` (``client.ts`` ``defaultWSTimeout = 15 * 1000``; 6 s,
    ``defaultWSTimeoutWithFallback``, when ``enableWSFallback``), ``_reconnect`` sleeps
    ``retryInterval(this.consecutiveFailures)`` and retries forever (15 attempts here cover
    the ramp); a health check is sent every 25 s (``pingInterval``) and the socket is
    reconnected after 35 s without any event (``connectionCheckTimeout`` = ping + 10 s).
    A reconnect's WebSocket handshake has no timeout of its own (only the first connect's
    15 s wait bounds one), so ``base_timeout`` 15 s models the first connect.

    WebSocket only: ``enableWSFallback`` (off by default; ``connection_fallback.ts``) turns
    a WebSocket failure of the *first* connect into a long-poll connection
    (``GET /longpoll?json=...``, 8 s timeout, then polls of 30 s) that the client keeps
    for the rest of its life (sticky). This layer runs *underneath* the app's own manager
    (the ``seed`` preset): every one of the app's attempts is a ``connectUser`` that this
    policy retries inside.
    """
    return RetryPolicy(
        base_timeout=15.0,
        max_timeout=15.0,
        timeout_growth=1.0,
        extended_timeout=15.0,
        max_attempts=15,
        initial_delay=2.5,
        multiplier=1.0,
        delay_step=2.0,
        max_delay=25.0,
        jitter=0.0,
        jitter_mode=JitterMode.WINDOW,
        window=2.5,
        window_floor=0.25,
        ladder=_WS,
    )


POLICY_PRESETS: dict[str, Callable[[], RetryPolicy]] = {
    "seed": seed,
    "grpc": grpc,
    "websockets": websockets,
    "aws-standard": aws_standard,
    "aws-decorrelated": aws_decorrelated,
    "socketio": socketio,
    "signalr": signalr,
    "stream-chat": stream_chat,
}


def policy_preset_names() -> tuple[str, ...]:
    return tuple(POLICY_PRESETS)


def policy_preset_name_of(policy: RetryPolicy) -> str | None:
    """The preset ``policy`` equals field for field, if any (labels run files and reports)."""
    for name in POLICY_PRESETS:
        if policy_preset(name) == policy:
            return name
    return None


def policy_preset(name: str) -> RetryPolicy:
    """The preset called ``name``; raises UnknownNameError listing the known names."""
    try:
        factory = POLICY_PRESETS[name]
    except KeyError:
        raise UnknownNameError("policy", name, policy_preset_names()) from None
    return factory()
