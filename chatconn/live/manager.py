"""ConnectionManager: real connection attempts by the core's policy, with honest states.

Use it to connect a chat client the way the policy says: it draws one session's schedule
(:meth:`Schedule.draw`, the simulator's formula), lets the sans-I/O
:class:`~chatconn.core.planner.ConnectPlanner` decide every next step, and only executes:
it opens a transport under one deadline per attempt (``asyncio.timeout`` around TCP,
handshake, auth and sync), sleeps between attempts, and emits a frozen event for every
transition and attempt.

::

    async with ConnectionManager(lab.endpoint, token="lab-token", policy=policy) as manager:
        manager.subscribe(print)
        session = await manager.connect()
        await session.send("hello")

``wss://`` and ``https://`` verify the server's certificate, always: by default with
:func:`~chatconn.live.tls.default_tls` (certifi's CA bundle, or ``SSL_CERT_FILE``), with
``ca_file=`` (a PEM bundle of the CAs to trust, e.g. a private CA), or with ``ssl=`` (an
:class:`ssl.SSLContext` of your own). A certificate that does not verify ends the connect
at once with :class:`~chatconn.live.errors.CertificateRejected`: retrying cannot help.

With ``diagnostics=True`` or a policy whose ``diagnostics.enabled`` is set, the probes of
:func:`~chatconn.live.diagnostics.run_diagnostics` run first (bounded by the policy's
:class:`~chatconn.core.diagnostics.DiagnosticsSettings`) and the core decides what they
mean (:func:`~chatconn.core.adapt.adapt_to_diagnosis`), as the simulator does per session.

A connect never hangs: the token fetch, the diagnostics and every attempt are bounded. The
token is fetched within :data:`TOKEN_BUDGET_S` and :attr:`ConnectionManager.budget_s`
(times the time scale, as the provider's own timeouts and retry waits), and its time counts
against the policy's deadline. Any failure of the token provider — an exception, an empty
token, no answer in time — ends the connect in ``failed`` with
:class:`~chatconn.live.errors.TokenUnavailable` and an explanation; a plain async function
given as the token provider gets :class:`~chatconn.live.tokens.RetryingTokenProvider`'s
retries. The token is kept for later connects (reconnects) until it expires or the server
rejects it (:class:`~chatconn.live.token_cache.TokenCache`; a reused token refused by the
server is replaced at once and the attempt made again); a ``TokenReady`` event and every
attempt record say how many fetches each connect made. Every event is also logged on
``chatconn.live.manager`` (:mod:`chatconn.live.logs`). A ladder rung the endpoint cannot
serve (``multiple_ports`` without alternative URLs) is skipped, with a ``rung_skipped``
warning, before the first attempt.

A second ``connect()`` while one is in flight joins it (and emits a ``connect_in_progress``
warning) instead of opening a second connection. :meth:`ConnectionManager.retry` is a
Retry button: it cuts a wait short, or starts a fresh connect after a failure;
``auto_retry=True`` does that by itself once the breaker's cool-down has passed.
``close()`` (or leaving ``async with``) releases every task and socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import math
import os
import ssl as ssl_module
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np

from ..core.adapt import adapt_to_diagnosis, drop_rungs
from ..core.breaker import BreakerConfig, CircuitBreaker
from ..core.diagnostics import DEFAULT_PROBE_TIMEOUT_S
from ..core.errors import ConfigError
from ..core.harness import HarnessFloor
from ..core.lifetime import HeartbeatConfig  # the lifetime model's, re-exported here
from ..core.planner import AttemptPlan, ConnectPlanner
from ..core.policy import RetryPolicy
from ..core.progress import planned_end
from ..core.quality import classify
from ..core.schedule import Schedule
from ..core.strategies import ErrorCategory, Strategy
from ..core.token_fetch import DEFAULT_TOKEN_BUDGET_S
from ..endpoint import Endpoint, redact_url
from ..records import AttemptRecord
from .diagnostics import DiagnosticsReport, run_diagnostics
from .errors import (
    AttemptError,
    AttemptTimeout,
    AuthRejected,
    CircuitOpen,
    ConnectFailed,
    ConnectionRefused,
    ConnectionReset,
    LiveError,
    TokenUnavailable,
)
from .events import (
    AttemptFinished,
    AttemptStarted,
    ConnectionEvent,
    ConnectionState,
    DiagnosticsDone,
    EventBus,
    Phase,
    PhaseChanged,
    StateChanged,
    TokenReady,
    Waiting,
    WarningEvent,
)
from .explain import explain_circuit_open, explain_degraded, explain_error, explain_failure
from .gate import ConnectGate
from .logs import EventLogger, log_breaker, log_heartbeat
from .session import PhaseClock, Session
from .tls import client_tls, default_tls
from .token_cache import TokenCache
from .tokens import RetryingTokenProvider, Secret, StaticToken, TokenProvider, TokenSource
from .transports import open_session

__all__ = ["ConnectionManager", "HeartbeatConfig"]

#: Bounds of the steps before the first attempt, in profile seconds (times the time scale);
#: the token fetch is also bounded by ``budget_s``. The probes' bounds are the policy's
#: (:class:`~chatconn.core.diagnostics.DiagnosticsSettings`, defaults this value).
TOKEN_BUDGET_S = DEFAULT_TOKEN_BUDGET_S
DIAGNOSTICS_TIMEOUT_S = DEFAULT_PROBE_TIMEOUT_S
#: A diagnostics probe gets at least this many times the harness's 90th-percentile connect
#: overhead in wall time, whatever the time scale: a probe that a busy machine cannot
#: answer in ``DIAGNOSTICS_TIMEOUT_S * time_scale`` would report "cannot reach the server".
PROBE_FLOOR_FACTOR = 4.0
#: The harness floor assumed when none was measured: a busy 2-core laptop (chatconn's own
#: measurement: floor probes reached ~50 ms at p90 with two CPU-bound processes beside them).
ASSUMED_FLOOR = HarnessFloor(connect_p50_s=0.01, connect_p90_s=0.05)

_NEXT_PHASE = {
    "tcp": None,
    "handshake": Phase.AUTHENTICATING,
    "auth": Phase.SYNCING,
    "sync": None,
}


def _as_provider(token: TokenProvider | str | Secret) -> TokenSource:
    """A string or Secret as a StaticToken; chatconn's providers as they are; any other
    async callable with RetryingTokenProvider's retries (as the seed wraps any fetch)."""
    if isinstance(token, str | Secret):
        return StaticToken(token)
    if isinstance(token, TokenSource):
        return token
    if callable(token):
        return RetryingTokenProvider(token)
    raise ConfigError("token", "<hidden>", "expected a string, a Secret or a token provider")


async def _cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it has ended, its outcome consumed. A cancellation of
    the caller while it waits propagates (``suppress(BaseException)`` would swallow it)."""
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.exception()  # retrieved: asyncio does not log "exception was never retrieved"


class ConnectionManager:
    """Connects, reconnects and reports, by a :class:`RetryPolicy`. See the module doc."""

    def __init__(
        self,
        endpoint: Endpoint,
        token: TokenProvider | str | Secret,
        *,
        policy: RetryPolicy | None = None,
        rng: np.random.Generator | None = None,
        breaker: BreakerConfig | None = None,
        heartbeat: HeartbeatConfig | None = None,
        diagnostics: bool = False,
        auto_retry: bool = False,
        time_scale: float = 1.0,
        session_tag: str | None = None,
        ssl: ssl_module.SSLContext | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        harness: HarnessFloor | None = None,
        gate: ConnectGate | None = None,
    ) -> None:
        if not isinstance(endpoint, Endpoint):
            raise ConfigError("endpoint", endpoint, "expected an Endpoint")
        if isinstance(time_scale, bool) or not isinstance(time_scale, int | float):
            raise ConfigError("time_scale", time_scale, "expected a number > 0")
        if not math.isfinite(time_scale) or time_scale <= 0:
            raise ConfigError("time_scale", time_scale, "expected a finite number > 0")
        self.endpoint = endpoint
        self.policy = policy if policy is not None else RetryPolicy()
        if not isinstance(self.policy, RetryPolicy):
            raise ConfigError("policy", policy, "expected a RetryPolicy")
        self._token_provider = _as_provider(token)
        #: The token kept between connects until it expires or is rejected (token_cache).
        self.tokens = TokenCache(self._token_provider, clock=clock)
        self._connect_fetches = 0  # token fetches of the current connect
        self._token_reused = False
        self._rng = rng if rng is not None else _SHARED
        self._breaker = CircuitBreaker(breaker) if breaker is not None else None
        if auto_retry and self._breaker is None:
            raise ConfigError(
                "auto_retry", auto_retry, "needs breaker=: its cool-down says when to try again"
            )
        #: Try again by itself after a failed connect, once the breaker's cool-down passed.
        self.auto_retry = bool(auto_retry)
        self._auto_retry: asyncio.TimerHandle | None = None
        # Rungs the endpoint cannot serve leave the ladder before any attempt (an error now
        # if none is left, rather than a stop mid-connect).
        unusable = endpoint.unusable()
        self._ladder_policy: RetryPolicy = self.policy
        self._skipped: dict[Strategy, str] = {}
        if unusable:
            why = "; ".join(unusable.values())
            self._ladder_policy, skipped = drop_rungs(self.policy, unusable, why)
            self._skipped = {s: unusable[s] for s in skipped}
        self.heartbeat = heartbeat
        #: Probe first (``diagnostics=True`` or the policy's ``diagnostics.enabled``).
        self.diagnostics = bool(diagnostics) or self.policy.diagnostics.enabled
        self.time_scale = float(time_scale)
        if harness is not None and not isinstance(harness, HarnessFloor):
            raise ConfigError("harness", harness, "expected a HarnessFloor or None")
        #: This machine's measured harness floor (diagnostics timeouts never go below it).
        self.harness = harness
        if gate is not None and not isinstance(gate, ConnectGate):
            raise ConfigError("gate", gate, "expected a ConnectGate or None")
        #: Admission shared by many managers in one process (see chatconn.live.gate).
        self._gate: Any = gate if gate is not None else contextlib.nullcontext()
        self.session_tag = session_tag or f"{_PID[0]}-{next(_TAGS)}"
        self._ssl = client_tls(ssl, ca_file)  # None: default_tls(), verification on
        self._owns_client = http_client is None
        self._http = http_client
        self._clock = clock
        self.bus = EventBus()
        self.bus.subscribe(EventLogger(self.session_tag))  # chatconn.live.manager, DEBUG
        self._breaker_seen = self._breaker.state(clock()) if self._breaker is not None else None
        self.records: list[AttemptRecord] = []
        self.report: DiagnosticsReport | None = None
        self.explanation = ""
        self.state = ConnectionState.IDLE
        self.phase: Phase | None = None
        self.session: Session | None = None
        self._task: asyncio.Task[Session] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._waiters = 0
        # Each joiner's own future, by connect task: settled by the task itself as it ends
        # (its caller resumes one loop iteration sooner than through asyncio.shield), or
        # by the task's done callback if it ended without running (cancelled at once).
        self._joiners: dict[asyncio.Task[Session], list[asyncio.Future[Session]]] = {}
        self._reset = asyncio.Event()
        self._started = 0.0
        self._closed = False
        #: The schedule drawn for the current (or last) connect.
        self.schedule: Schedule | None = None
        #: Wall seconds from the first attempt's start to connected or giving up, for the
        #: last connect: the span the simulator models (the token fetch excluded; with
        #: diagnostics on, counted from the start of the diagnostics phase, as the model).
        self.attempts_elapsed_s: float | None = None
        self._planned_end: float | None = None  # profile s: see core.progress

    @property
    def budget_s(self) -> float:
        """Longest the current connect's attempts and waits can take, in wall seconds
        (every attempt timing out). The token fetch before them is bounded by it too (and by
        :data:`TOKEN_BUDGET_S`), and the time it takes counts against the policy's deadline."""
        if self.schedule is None:
            return math.inf
        return self.schedule.worst_case_s() * self.time_scale

    @property
    def probe_timeout_s(self) -> float:
        """Wall seconds the HTTP probes may take: the policy's ``diagnostics.probe_timeout_s``
        (default ``DIAGNOSTICS_TIMEOUT_S``) scaled, but never below
        :data:`PROBE_FLOOR_FACTOR` times the harness floor's p90 (the measured one, else
        :data:`ASSUMED_FLOOR`). The WebSocket probe's bound is made the same way."""
        return self._probe_bound(self.policy.diagnostics.probe_timeout_s)

    def _probe_bound(self, profile_s: float) -> float:
        floor = self.harness if self.harness is not None else ASSUMED_FLOOR
        return max(profile_s * self.time_scale, PROBE_FLOOR_FACTOR * floor.connect_p90_s)

    def __repr__(self) -> str:
        return (
            f"ConnectionManager({redact_url(self.endpoint.primary)!r}, state={self.state.value!r}, "
            f"attempts={len(self.records)})"
        )

    # ------------------------------------------------------------------ events
    def subscribe(self, callback: Callable[[ConnectionEvent], Any]) -> Callable[[], None]:
        """Call ``callback(event)`` for every event; returns an unsubscribe function."""
        return self.bus.subscribe(callback)

    def events(self):
        """An async iterator over every event from now until :meth:`close`."""
        return self.bus.stream()

    def _elapsed(self) -> float:
        return self._clock() - self._started

    def _set_state(self, state: ConnectionState, reason: str = "") -> None:
        if state is self.state:
            return
        previous, self.state = self.state, state
        self.bus.emit(StateChanged(self._clock() - self._started, state, previous, reason))

    def _set_phase(self, phase: Phase, attempt: int | None = None) -> None:
        self.phase = phase
        self.bus.emit(PhaseChanged(self._clock() - self._started, phase, attempt))

    # ---------------------------------------------------------------- connect
    async def connect(self) -> Session:
        """Connect (or join the connect in flight); returns the session or raises.

        Raises :class:`ConnectFailed` when every attempt failed (with a plain-language
        ``explanation``), :class:`CircuitOpen` while the breaker is open, and
        :class:`AuthRejected`, :class:`CertificateRejected`, :class:`TokenUnavailable` or
        :class:`ProtocolViolation` when retrying cannot help.
        """
        if self._closed:
            raise LiveError("this ConnectionManager is closed; create a new one")
        if self.session is not None and self.state in (
            ConnectionState.CONNECTED,
            ConnectionState.DEGRADED,
        ):
            return self.session
        task = self._task
        if task is not None and not task.done():
            self.bus.emit(
                WarningEvent(
                    self._elapsed(),
                    "connect_in_progress",
                    "connect() called while a connect is in flight; joining it",
                )
            )
        else:
            task = self._start_connect()
        return await self._join(task)

    def _start_connect(self) -> asyncio.Task[Session]:
        self._cancel_auto_retry()
        task = self._task = asyncio.create_task(self._connect_flow(reconnect=False))
        return task

    async def _join(self, task: asyncio.Task[Session]) -> Session:
        """Wait for ``task``'s outcome without letting this caller's cancellation cancel
        it (as ``asyncio.shield``); the last caller to give up stops the connect."""
        if task.done():
            return task.result()
        waiter: asyncio.Future[Session] = task.get_loop().create_future()
        self._joiners.setdefault(task, []).append(waiter)
        task.add_done_callback(functools.partial(_settle_from_task, waiter, self._joiners))
        self._waiters += 1
        try:
            return await waiter
        except asyncio.CancelledError:
            if self._waiters == 1 and not task.done():
                await _cancel_and_wait(task)  # the last caller gave up: stop connecting
            raise
        finally:
            self._waiters -= 1

    def reset_backoff(self) -> None:
        """ "The network is back": forget failures, cut the current wait short and start the
        schedule again from attempt 0 (with a fresh budget, as gRPC's resetConnectBackoff)."""
        if self._breaker is not None:
            self._breaker.reset()
        self._reset.set()

    def retry(self) -> asyncio.Task[Session] | None:
        """What a Retry button does: try again now, whatever the state.

        While a connect is in flight, :meth:`reset_backoff` (its wait is cut short). After
        a failure (or before any connect), a fresh connect starts in the background, the
        breaker forgotten: its outcome arrives as events and in :attr:`state`. Returns the
        connect task, or None when connected or closed. Call it on the manager's loop.
        """
        if self._closed:
            return None
        task = self._task
        if task is not None and not task.done():
            self.reset_backoff()
            return task
        if self.session is not None and self.state in (
            ConnectionState.CONNECTED,
            ConnectionState.DEGRADED,
        ):
            return None
        if self._breaker is not None:
            self._breaker.reset()
        task = self._start_connect()
        task.add_done_callback(_consume_exception)
        return task

    def _schedule_auto_retry(self, breaker: CircuitBreaker) -> None:
        """After a failed connect (``auto_retry``): a fresh one when the breaker allows it,
        at the end of its cool-down (or one cool-down from now if it is still closed)."""
        now = self._clock()
        wait = breaker.retry_after(now) or breaker.config.cooldown_s
        self.bus.emit(
            WarningEvent(self._elapsed(), "auto_retry", f"trying again by itself in {wait:.0f} s")
        )
        self._auto_retry = asyncio.get_running_loop().call_later(wait, self._retry_by_itself)

    def _retry_by_itself(self) -> None:
        self._auto_retry = None
        task = self._task
        if self._closed or (task is not None and not task.done()):
            return
        self._start_connect().add_done_callback(_consume_exception)

    def _cancel_auto_retry(self) -> None:
        if self._auto_retry is not None:
            self._auto_retry.cancel()
            self._auto_retry = None

    async def _http_client(self) -> httpx.AsyncClient:
        """The HTTP client, created on first need (WebSocket-only connects never pay for it)."""
        if self._http is None:
            verify = self._ssl if self._ssl is not None else default_tls()
            self._http = httpx.AsyncClient(verify=verify, timeout=None)
        return self._http

    async def _connect_flow(self, *, reconnect: bool) -> Session:
        """A connect task's body: the flow, whose outcome its joiners get as it ends."""
        joiners = self._joiners
        task = asyncio.current_task()
        try:
            session = await self._flow(reconnect=reconnect)
        except BaseException as exc:
            for waiter in joiners.pop(task, []) if task is not None else []:
                if waiter.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    waiter.cancel()
                else:
                    waiter.set_exception(exc)
            raise
        for waiter in joiners.pop(task, []) if task is not None else []:
            if not waiter.done():
                waiter.set_result(session)
        return session

    async def _flow(self, *, reconnect: bool) -> Session:
        self._started = self._clock()
        self._set_state(
            ConnectionState.RECONNECTING if reconnect else ConnectionState.CONNECTING,
            "connection lost" if reconnect else "connect() called",
        )
        breaker = self._breaker
        if breaker is not None and not breaker.allow(self._clock()):
            self._note_breaker(breaker, "refused a connect")
            wait = breaker.retry_after(self._clock())
            self.explanation = explain_circuit_open(wait)
            self._set_state(ConnectionState.FAILED, self.explanation)
            if self.auto_retry:
                self._schedule_auto_retry(breaker)
            raise CircuitOpen(self.explanation, wait)
        try:
            session = await self._attempts()
        except asyncio.CancelledError:
            if breaker is not None:
                breaker.abandon()  # a cancelled trial says nothing about the server
                self._note_breaker(breaker, "connect cancelled")
            self._set_state(ConnectionState.IDLE, "connect cancelled")
            raise
        except LiveError as exc:
            if breaker is not None:
                self._note_breaker(breaker, "a trial connect started")
                breaker.record_failure(self._clock())
                self._note_breaker(breaker, f"connect failed ({type(exc).__name__})")
            if not self.explanation:
                self.explanation = explain_error(exc)
            self._set_state(ConnectionState.FAILED, self.explanation)
            if (
                self.auto_retry
                and breaker is not None  # auto_retry needs one (checked on construction)
                and isinstance(exc, _LATER)
                and not self._closed
            ):
                self._schedule_auto_retry(breaker)
            raise
        if breaker is not None:
            self._note_breaker(breaker, "a trial connect started")
            breaker.record_success(self._clock())
            self._note_breaker(breaker, "connected")
        return session

    def _note_breaker(self, breaker: CircuitBreaker, why: str) -> None:
        """Log the breaker's transition since the last note, if any (DEBUG)."""
        now = breaker.state(self._clock())
        log_breaker(self.session_tag, self._breaker_seen or now, now, why)
        self._breaker_seen = now

    def _draw(self, policy: RetryPolicy) -> Schedule:
        """This connect's schedule (:meth:`Schedule.draw`). Managers given no generator
        take their uniforms from one pool drawn in blocks from the shared generator (the
        same draws, without a numpy call per connect); a generator given is used as is,
        so a seeded one gives the same schedules as ``Schedule.draw``."""
        if self._rng is _SHARED:
            return Schedule.from_uniforms(policy, _shared_uniforms(policy.max_attempts))
        return Schedule.draw(policy, self._rng)

    async def _attempts(self) -> Session:
        scale = self.time_scale
        self.explanation = ""
        began = self._clock()
        self._set_phase(Phase.INITIALIZING)
        policy = self._ladder_policy
        for strategy, why in self._skipped.items():
            self.bus.emit(
                WarningEvent(self._elapsed(), "rung_skipped", f"{strategy.value} skipped: {why}")
            )
        schedule = self.schedule = self._draw(policy)
        self._connect_fetches = 0
        token = await self._token()

        firewall = False
        span_began: float | None = None  # the diagnostics phase counts as connect time
        if self.diagnostics:
            span_began = self._clock()
            policy, firewall = await self._diagnose(policy)
            if policy is not self._ladder_policy:
                schedule = self.schedule = self._draw(policy)

        records: list[AttemptRecord] = []
        origin = began  # the token fetch and the diagnostics count against the deadline
        while True:  # a reset_backoff() starts a fresh schedule
            self._reset.clear()
            planner = ConnectPlanner(schedule)
            step = planner.first((self._clock() - origin) / scale)
            first: float | None = None  # when this schedule's first attempt started
            restarted = False
            while isinstance(step, AttemptPlan):
                offset = (origin - self._started) / scale
                self._planned_end = planned_end(schedule, step, offset)
                delay = step.start * scale - (self._clock() - origin)
                if delay > 0:
                    self.bus.emit(Waiting(self._elapsed(), step.index, delay, self._planned_end))
                    if await self._wait(delay):
                        restarted = True
                        break
                async with self._gate:  # a harness's queue: before the attempt's clock
                    if first is None:
                        first = self._clock()
                    try:
                        session, record = await self._one_attempt(step, token, policy, first)
                    except AuthRejected:
                        self.tokens.reject()
                        if not (self._token_reused and self.tokens.can_refresh):
                            raise
                        # A token kept from an earlier connect was refused: fetch one, again.
                        token = await self._token()
                        session, record = await self._one_attempt(step, token, policy, first)
                records.append(record)
                self.records.append(record)
                self.attempts_elapsed_s = self._clock() - (span_began or first)
                if session is not None:
                    self._connected(session, records)
                    return session
                step = planner.after_failure(step, (self._clock() - origin) / scale)
            if not restarted:
                break
            schedule = self.schedule = self._draw(policy)
            origin = self._clock()
        self.explanation = explain_failure(records, firewall)
        raise ConnectFailed(
            f"could not connect after {len(records)} attempt(s)",
            explanation=self.explanation,
            records=tuple(records),
        )

    async def _diagnose(self, policy: RetryPolicy) -> tuple[RetryPolicy, bool]:
        """The diagnostics phase: real probes, then the core's decision
        (:func:`~chatconn.core.adapt.adapt_to_diagnosis`, what the simulator applies)."""
        self._set_phase(Phase.DIAGNOSTICS)
        settings = policy.diagnostics
        # Probes on a client of their own: a kept-alive probe connection would spare a
        # later long-polling attempt its TCP round trip, which the model charges.
        shared = self._http
        own = shared is None  # then a client of the probes' own, closed after them
        verify = self._ssl if self._ssl is not None else default_tls()
        client = httpx.AsyncClient(verify=verify, timeout=None) if shared is None else shared
        try:
            report = await run_diagnostics(
                self.endpoint, client, samples=settings.probes,
                timeout_s=self._probe_bound(settings.probe_timeout_s),
                ws_timeout_s=self._probe_bound(settings.ws_probe_timeout_s),
                ssl=self._ssl, session_tag=self.session_tag,
            )  # fmt: skip
        finally:
            if own:
                await client.aclose()
        self.report = report
        self.bus.emit(
            DiagnosticsDone(
                self._elapsed(),
                report.latency_s,
                report.http_ok,
                report.websocket_ok,
                report.summary(),
            )
        )
        latency = report.latency_s / self.time_scale if report.latency_s is not None else None
        return adapt_to_diagnosis(
            policy, latency_s=latency, http_ok=report.http_ok, websocket_ok=report.websocket_ok
        )

    async def _token(self) -> Secret:
        """The token for this connect: the one kept from an earlier connect, or a fresh one
        (:class:`TokenCache`); a TokenReady event says which, and how many fetches."""
        before = self.tokens.fetches
        grant = await self.tokens.get(self._fetch_token)
        self._connect_fetches += self.tokens.fetches - before
        self._token_reused = not grant.fetched
        elapsed = self._clock() - self._started
        self.bus.emit(TokenReady(elapsed, not grant.fetched, grant.reason, self._connect_fetches))
        return grant.token

    async def _fetch_token(self) -> Secret:
        """The token, within TOKEN_BUDGET_S and the budget (times the time scale); any
        failure of the provider as TokenUnavailable, which names no token."""
        provider = self._token_provider
        if type(provider) is StaticToken:  # a token known in advance: nothing to wait for
            return provider.secret
        bound = min(TOKEN_BUDGET_S * self.time_scale, self.budget_s)
        try:
            async with asyncio.timeout(bound):
                token = await self._token_provider.fetch(self.time_scale)
        except TimeoutError:
            raise TokenUnavailable(f"no token within {bound:g} s (the connect's budget)") from None
        except TokenUnavailable:
            raise
        except Exception as exc:  # a TokenSource of one's own that failed
            raise TokenUnavailable(f"the token provider raised {type(exc).__name__}") from None
        if isinstance(token, Secret):
            return token
        if isinstance(token, str) and token:
            return Secret(token)
        raise TokenUnavailable("the token provider gave no token (an empty value)")

    async def _wait(self, delay: float) -> bool:
        """Sleep ``delay`` s; True if reset_backoff() cut it short."""
        try:
            async with asyncio.timeout(delay):
                await self._reset.wait()
        except TimeoutError:
            return False
        return True

    async def _one_attempt(
        self, step: AttemptPlan, token: Secret, policy: RetryPolicy, origin: float
    ) -> tuple[Session | None, AttemptRecord]:
        scale = self.time_scale
        timeout = step.timeout * scale
        started = self._clock() - origin
        self.bus.emit(
            AttemptStarted(
                self._clock() - self._started,
                step.index,
                policy.max_attempts,
                step.strategy,
                step.timeout,
                step.wait_before,
                self._planned_end,
            )
        )
        self._set_phase(Phase.CONNECTING, step.index)

        def on_mark(phase: str) -> None:
            following = _NEXT_PHASE.get(phase)
            if following is not None:
                self._set_phase(following, step.index)

        phases = PhaseClock(listener=on_mark)
        http = None if step.strategy.uses_websocket else await self._http_client()
        session: Session | None = None
        error: LiveError | None = None
        try:
            async with asyncio.timeout(timeout):
                session = await open_session(
                    step.strategy,
                    self.endpoint,
                    token.reveal(),
                    phases,
                    session_tag=self.session_tag,
                    ssl=self._ssl,
                    http_client=http,
                )
        except TimeoutError:
            error = AttemptTimeout(f"no connection within {step.timeout:g} s")
        except AttemptError as exc:
            error = exc
        except ConnectionRefusedError:
            error = ConnectionRefused("connection refused")
        except OSError as exc:  # anything the transport did not classify
            error = ConnectionReset(f"connection failed: {type(exc).__name__}")
        except LiveError as exc:  # fatal: auth rejected, protocol violation
            record = self._record(step, phases, started, exc)
            self.records.append(record)
            self.bus.emit(self._finished(step, policy, phases, exc, origin, record))
            raise
        record = self._record(step, phases, started, error)
        self.bus.emit(self._finished(step, policy, phases, error, origin, record))
        return session, record

    def _record(
        self, step: AttemptPlan, phases: PhaseClock, started: float, error: LiveError | None
    ) -> AttemptRecord:
        url = self.endpoint.primary if step.strategy.uses_websocket else self.endpoint.http_url
        return AttemptRecord.of_attempt(
            session=self.session_tag,
            attempt=step.index,
            strategy=step.strategy,
            url=url,
            timeout_s=step.timeout * self.time_scale,
            wait_before_s=step.wait_before * self.time_scale,
            started_s=started,
            phases=phases,
            error=error,
            time_scale=self.time_scale,
            token_fetches=self._connect_fetches,
        )

    def _finished(
        self,
        step: AttemptPlan,
        policy: RetryPolicy,
        phases: PhaseClock,
        error: LiveError | None,
        origin: float,
        record: AttemptRecord,
    ) -> AttemptFinished:
        connected = error is None
        quality = classify((self._clock() - origin) / self.time_scale) if connected else None
        return AttemptFinished(
            self._clock() - self._started,
            step.index,
            policy.max_attempts,
            step.strategy,
            step.timeout,
            phases.elapsed(),
            connected,
            error.category if error is not None else ErrorCategory.NONE,
            quality,
            str(error) if error is not None else "",
            record,
        )

    def _connected(self, session: Session, records: list[AttemptRecord]) -> None:
        self.session = session
        self._set_phase(Phase.CONNECTED)
        if session.strategy in (Strategy.DIRECT_WEBSOCKET, Strategy.EXTENDED_TIMEOUT):
            self._set_state(ConnectionState.CONNECTED, f"connected with {session.strategy}")
        else:
            self.explanation = explain_degraded(session.strategy, records)
            self._set_state(ConnectionState.DEGRADED, self.explanation)
        if self.heartbeat is not None:
            self._heartbeat_task = asyncio.create_task(self._heartbeat(session, self.heartbeat))

    # -------------------------------------------------------------- heartbeat
    async def _heartbeat(self, session: Session, config: HeartbeatConfig) -> None:
        """Ping until the connection dies, then reconnect through the same schedule."""
        scale, tag = self.time_scale, self.session_tag
        log_heartbeat(tag, "started: ping every %gs, pong within %gs", config.interval_s * scale,
                      config.timeout_s * scale)  # fmt: skip
        try:
            while True:
                await asyncio.sleep(config.interval_s * scale)
                try:
                    async with asyncio.timeout(config.timeout_s * scale):
                        await session.ping()
                except (TimeoutError, LiveError, OSError) as exc:
                    timed_out = isinstance(exc, TimeoutError)
                    reason = "no pong in time" if timed_out else "connection lost"
                    self.bus.emit(WarningEvent(self._elapsed(), "heartbeat_missed", reason))
                    break
                log_heartbeat(tag, "pong")
        except asyncio.CancelledError:
            log_heartbeat(tag, "stopped: cancelled")
            raise
        log_heartbeat(tag, "stopped: reconnecting")
        self.session = None
        with contextlib.suppress(Exception):
            await session.close()
        if not self._closed:
            self._task = asyncio.create_task(self._connect_flow(reconnect=True))
            self._task.add_done_callback(_consume_exception)

    # ------------------------------------------------------------------ close
    async def close(self) -> None:
        """Stop connecting, close the session and release every task and socket."""
        if self._closed:
            return
        self._closed = True
        self._cancel_auto_retry()
        for task in (self._task, self._heartbeat_task):
            if task is not None and not task.done():
                await _cancel_and_wait(task)
        if self.session is not None:
            with contextlib.suppress(Exception):
                await self.session.close()
            self.session = None
        if self._owns_client and self._http is not None:
            await self._http.aclose()
        self._set_state(ConnectionState.CLOSED, "close() called")
        self.bus.close()

    async def __aenter__(self) -> ConnectionManager:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


_TAGS = itertools.count(1)
#: This process's id in hex, for session tags (a system call saved per manager; a forked
#: child gets its own).
_PID = [f"{os.getpid():x}"]
os.register_at_fork(after_in_child=lambda: _PID.__setitem__(0, f"{os.getpid():x}"))
#: Failures that trying again later may fix (auto_retry); the others need a person.
_LATER = (ConnectFailed, TokenUnavailable)


@functools.cache
def _shared_rng() -> np.random.Generator:
    """Managers built without a generator share one seeded from OS entropy: their
    schedules are random, as a client's should be, and building one costs nothing."""
    return np.random.default_rng()


def _settle_from_task(
    waiter: asyncio.Future[Any], joiners: dict[Any, Any], task: asyncio.Task[Any]
) -> None:
    """A joiner's future from its ended task, unless the task settled it already (it does
    as it ends, unless it was cancelled before it ran); retrieves the task's exception."""
    joiners.pop(task, None)
    if task.cancelled():
        waiter.cancel()
        return
    exc = task.exception()
    if waiter.done():
        return
    if exc is not None:
        waiter.set_exception(exc)
    else:
        waiter.set_result(task.result())


_SHARED = _shared_rng()
#: Uniforms of the shared generator, drawn _POOL_BLOCK at a time, for managers given none.
_POOL_BLOCK = 4096
_pool: list[float] = []
_pool_lock = threading.Lock()  # managers may run on loops in several threads


def _shared_uniforms(count: int) -> list[float]:
    """The next ``count`` uniforms of the shared generator's stream, in order."""
    with _pool_lock:
        if len(_pool) < count:  # kept reversed: taken from the end, in the stream's order
            _pool[:0] = _SHARED.random(max(_POOL_BLOCK, count)).tolist()[::-1]
        taken = _pool[-count:]
        del _pool[-count:]
    taken.reverse()
    return taken


def _consume_exception(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # a failed background reconnect is reported through events
