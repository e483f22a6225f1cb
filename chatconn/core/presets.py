"""Published retry policies, as data over the one schedule formula.

Each preset reproduces a library's or article's policy as read from its source (versions
named below); where a library retries forever, the preset stops after a finite number of
attempts that covers its whole ramp — raise ``max_attempts`` to look further — and says
``retries_forever=True``, so a reconnect storm lets its clients keep going while those of a
library that gives up (SignalR, botocore, the seed app) stay down. Presets are
WebSocket-only ladders except ``seed``, because the libraries retry one transport.
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import UnknownNameError
from .policy import JitterMode, RetryPolicy, WaitAnchor
from .strategies import Strategy

__all__ = [
    "AWS_NO_RETRY_INCREMENT",
    "AWS_RETRY_COST",
    "AWS_RETRY_QUOTA",
    "AWS_THROTTLING_RETRY_COST",
    "GRPC_INITIAL_BACKOFF_S",
    "GRPC_JITTER",
    "GRPC_MAX_BACKOFF_S",
    "GRPC_MIN_CONNECT_TIMEOUT_S",
    "GRPC_MULTIPLIER",
    "POLICY_PRESETS",
    "SIGNALR_NEGOTIATE_TIMEOUT_S",
    "SIGNALR_SERVER_TIMEOUT_S",
    "aws_retries_allowed",
    "policy_preset",
    "policy_preset_name_of",
    "policy_preset_names",
]

_WS = (Strategy.DIRECT_WEBSOCKET,)


def seed() -> RetryPolicy:
    """The chat application chatconn was built to fix (its connection manager's numbers).

    Timeouts 15 s growing x1.4 to 90 s, a 120 s ``extended_timeout`` rung, 6 attempts,
    waits 1 s growing x1.4 to 30 s with +/-40 % proportional jitter, and the ladder
    direct WebSocket x2 -> extended timeout -> alternative ports -> long polling -> SSE.
    After the 6th attempt it gives up (the app degrades gracefully and shows the user
    offline), so ``retries_forever`` is False. These are :class:`RetryPolicy`'s defaults.
    The app runs on Stream Chat's JS SDK: each of these attempts is a ``connectUser`` that
    the SDK retries inside by the ``stream-chat`` preset (:func:`stream_chat`;
    :func:`chatconn.core.stream_sdk.stacked_connect` models the two layers together).
    """
    return RetryPolicy()


#: The gRPC C-core's subchannel backoff parameters (seconds), ``GRPC_SUBCHANNEL_*`` in
#: grpc/grpc ``src/core/client_channel/subchannel.cc``; the same numbers as the spec.
GRPC_INITIAL_BACKOFF_S = 1.0
GRPC_MULTIPLIER = 1.6
GRPC_JITTER = 0.2
GRPC_MAX_BACKOFF_S = 120.0
GRPC_MIN_CONNECT_TIMEOUT_S = 20.0


def grpc() -> RetryPolicy:
    """gRPC connection backoff as the C-core (under grpcio) really runs it.

    grpc/grpc ``src/core/util/backoff.cc`` (read at grpc/grpc commit 15bab7a, the C-core
    of the grpcio 1.85 line), ``BackOff::NextAttemptDelay``::

        if (initial_) initial_ = false;
        else current_backoff_ = min(current_backoff_ * multiplier, max_backoff);
        jitter = absl::Uniform(rand_gen_, 1 - jitter, 1 + jitter);
        return current_backoff_ * jitter;

    with ``src/core/client_channel/subchannel.cc``'s ``GRPC_SUBCHANNEL_INITIAL_CONNECT_
    BACKOFF_SECONDS 1``, ``RECONNECT_BACKOFF_MULTIPLIER 1.6``, ``RECONNECT_MIN_TIMEOUT_
    SECONDS 20``, ``RECONNECT_MAX_BACKOFF_SECONDS 120``, ``RECONNECT_JITTER 0.2``. So the
    *first* wait is jittered too: 1 s x U(0.8, 1.2) (measured with grpcio 1.85.4:
    0.82-1.20 s, mean 1.03, sd 0.11 over 30 channels; ``tests/test_grpc_client.py``),
    then 1.6 s, 2.56 s, ... capped at 120 s before +/-20 % jitter. Waits count from the
    attempt's start (``wait_from=start``: the next attempt time is fixed when an attempt
    begins); each attempt gets at least 20 s, or until the next backoff deadline
    when that is later (``timeout_spans_backoff``). It retries forever
    (``retries_forever``); 12 attempts reach the 120 s cap. :func:`grpc_spec` is the
    protocol document, whose first wait is exactly 1 s.
    """
    return RetryPolicy(
        base_timeout=GRPC_MIN_CONNECT_TIMEOUT_S,
        max_timeout=GRPC_MIN_CONNECT_TIMEOUT_S,
        timeout_growth=1.0,
        extended_timeout=GRPC_MIN_CONNECT_TIMEOUT_S,
        timeout_spans_backoff=True,
        max_attempts=12,
        initial_delay=GRPC_INITIAL_BACKOFF_S,
        multiplier=GRPC_MULTIPLIER,
        max_delay=GRPC_MAX_BACKOFF_S,
        jitter=GRPC_JITTER,
        jitter_mode=JitterMode.PROPORTIONAL,
        wait_from=WaitAnchor.START,
        ladder=_WS,
        retries_forever=True,
    )


def grpc_spec() -> RetryPolicy:
    """gRPC connection backoff as specified, grpc/grpc ``doc/connection-backoff.md``.

    ``INITIAL_BACKOFF = 1 s, MULTIPLIER = 1.6, JITTER = 0.2, MAX_BACKOFF = 120 s,
    MIN_CONNECT_TIMEOUT = 20 s``::

        current_deadline = now() + INITIAL_BACKOFF
        while TryConnect(Max(current_deadline, now() + MIN_CONNECT_TIMEOUT)) != SUCCESS:
            SleepUntil(current_deadline)
            current_backoff = Min(current_backoff * MULTIPLIER, MAX_BACKOFF)
            current_deadline = now() + current_backoff +
                UniformRandom(-JITTER * current_backoff, JITTER * current_backoff)

    So: the first wait is exactly 1 s (no jitter), then 1.6 s, 2.56 s, ... capped at 120 s
    *before* +/-20 % jitter; otherwise as :func:`grpc`. The difference matters in a storm:
    clients dropped together all make their first retry at the same instant, where the
    C-core (``grpc``) spreads it over +/-20 %.
    """
    return grpc().with_changes(
        first_delay=GRPC_INITIAL_BACKOFF_S,
        first_delay_jitter=JitterMode.NONE,
        initial_delay=GRPC_INITIAL_BACKOFF_S * GRPC_MULTIPLIER,
    )


def websockets() -> RetryPolicy:
    """The reconnect loop of the Python ``websockets`` library (17.4).

    ``websockets/client.py`` ``backoff()``: ``yield random.random() * 5`` (RFC 6455
    section 7.2.3), then ``delay = 3.1; while delay < 90: yield delay; delay *= 1.618``,
    then 90 s forever. ``asyncio/client.py``: ``open_timeout=10`` covers the whole opening
    handshake; waits count from the failure. It retries forever (``retries_forever``;
    ``process_exception`` stops only on a fatal error); 10 attempts cover the ramp 3.1,
    5.0158, 8.1156, 13.131, 21.246, 34.376, 55.620, 89.994 s.
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
        retries_forever=True,
    )


#: botocore 1.44.18 ``retries/quota.py`` and ``retries/standard.py`` (RetryQuotaChecker).
AWS_RETRY_QUOTA = 500
AWS_RETRY_COST = 14
AWS_THROTTLING_RETRY_COST = 5
AWS_NO_RETRY_INCREMENT = 1


def aws_retries_allowed(
    failing_calls: int, attempts: int = 3, *, capacity: int = AWS_RETRY_QUOTA
) -> list[int]:
    """Retries botocore's retry quota lets each of ``failing_calls`` calls in a row make.

    One botocore client owns one ``RetryQuota`` (``register_retry_handler`` in
    ``retries/standard.py``, botocore 1.44.18): each retry of a non-throttling error
    acquires ``_RETRY_COST = 14`` tokens from ``INITIAL_CAPACITY = 500``
    (``retries/quota.py``); a call that fails is not refunded (only a 2xx response gives
    tokens back: the last cost, or ``_NO_RETRY_INCREMENT = 1`` after a first-try success);
    without enough tokens the call stops retrying. A client reused for calls that all fail
    with ``attempts`` = 3 spends 28 per call: 17 calls retry fully, the 18th retries once,
    every later call not at all.
    """
    tokens = capacity
    out = []
    for _ in range(failing_calls):
        retries = 0
        while retries < attempts - 1 and tokens >= AWS_RETRY_COST:
            tokens -= AWS_RETRY_COST
            retries += 1
        out.append(retries)
    return out


def aws_standard() -> RetryPolicy:
    """botocore's ``standard`` retry mode (botocore 1.44.18, ``retries/standard.py``).

    ``DEFAULT_MAX_ATTEMPTS = 3``; ``ExponentialBackoff.delay_amount``:
    ``random() * min(base_scale * 2 ** (attempt_number - 1), 20)`` with
    ``non_throttling_base_scale = 0.05`` s for transient errors such as a failed connection
    (``throttling_base_scale = 1`` s applies to throttling errors only; botocore 1.35 used
    1 s for all). Full jitter, cap before jitter. ``connect_timeout`` defaults to 60 s
    (``botocore/config.py``). After its 3rd attempt a call gives up.

    The retry quota is **not modelled** in simulations or storms: it belongs to one botocore
    client, and a storm's clients are separate devices, each making one call of 3 attempts
    (28 of its 500 tokens). It binds only when one client is reused for many failing calls:
    :func:`aws_retries_allowed` gives the retries each such call still gets (none from the
    19th failing call in a row).
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
    The first reconnect waits ``duration()``. Unlimited in the library
    (``retries_forever``); 10 attempts cover the ramp.
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
        retries_forever=True,
    )


#: @microsoft/signalr 10.0.11 ``src/HttpConnection.ts``: ``options.timeout`` (the HTTP
#: request timeout, applied to negotiate) defaults to ``100 * 1000`` ms.
SIGNALR_NEGOTIATE_TIMEOUT_S = 100.0
#: ``src/HubConnection.ts`` ``DEFAULT_TIMEOUT_IN_MS``: ``serverTimeoutInMilliseconds``.
SIGNALR_SERVER_TIMEOUT_S = 30.0


def signalr() -> RetryPolicy:
    """@microsoft/signalr 10.0.11 ``DefaultReconnectPolicy``, ``src/DefaultReconnectPolicy.ts``.

    ``DEFAULT_RETRY_DELAYS_IN_MILLISECONDS = [0, 2000, 10000, 30000, null]``: four retries
    after 0, 2, 10 and 30 s (counted from the failure), no jitter, then ``null``: the client
    stops (``HubConnection._reconnect`` logs "Reconnect retries have been exhausted" and
    closes) and stays down (``retries_forever`` is False).

    **Attempt timeout: 100 s**, what the client really does. An attempt
    (``HttpConnection._startInternal``) first POSTs ``/negotiate`` with
    ``timeout: this._options.timeout``, which defaults to ``100 * 1000`` ms
    (``src/HttpConnection.ts``); against a server that accepts and never answers, the
    default connect failed after 100 s ("Failed to complete negotiation with the server:
    Error: A timeout occurred", measured with 10.0.11 under node 20;
    ``tests/test_signalr_client.py`` runs the client with the option shortened to 1.5 s and
    reads the 100 s default off a built connection). There is no other
    bound: ``WebSocketTransport.connect`` waits for the socket's open or close with no
    timer (with negotiation skipped, ``start()`` had not failed after 130 s), and
    ``serverTimeoutInMilliseconds`` (30 s) only starts once the hub handshake request has
    been sent (``HubConnection._startInternal``). So behind a proxy that passes the HTTP
    negotiate but hangs the WebSocket upgrade, the real client waits until the TCP
    connection dies; a policy's timeout is finite, and this preset ends such an attempt at
    the same 100 s — there it still understates the library. (SignalR only reconnects a
    connection that was up; the preset applies the same table to a connect.)
    """
    return RetryPolicy(
        base_timeout=SIGNALR_NEGOTIATE_TIMEOUT_S,
        max_timeout=SIGNALR_NEGOTIATE_TIMEOUT_S,
        timeout_growth=1.0,
        extended_timeout=SIGNALR_NEGOTIATE_TIMEOUT_S,
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
    ``retryInterval(this.consecutiveFailures)`` and retries forever (``retries_forever``;
    15 attempts here cover the ramp); a health check is sent every 25 s (``pingInterval``)
    and the socket is reconnected after 35 s without any event (``connectionCheckTimeout``
    = ping + 10 s).
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
        retries_forever=True,
    )


POLICY_PRESETS: dict[str, Callable[[], RetryPolicy]] = {
    "seed": seed,
    "grpc": grpc,
    "grpc-spec": grpc_spec,
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
