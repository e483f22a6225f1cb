"""What real clients did through ``chatconn proxy``: attempt timelines per client, connect
episodes, and a comparison of their waits with a preset's schedule. Pure functions.

Use :func:`timelines` on the connections of an observed run (``load_run(path).observations``
or :func:`connections_from_lines`), :func:`episodes` to turn them into connect sessions (what
``runs``, ``report`` and ``calibrate`` read), and :func:`compare_waits` / :func:`best_match`
to ask "does this client behave like preset X?" (``chatconn observe RUN --like X``).

**A client** is the connections that share a key: the session tag when the client sent one
(header ``X-Chatconn-Session`` or query parameter ``chatconn_client``), else the client's IP
address. Without tags every connection from one address is one client: tag each client you
want apart, or give each its own loopback address (127.0.0.2, 127.0.0.3, ... all reach a
proxy listening on 127.0.0.1 on Linux).

**An attempt** is one TCP connection the proxy accepted. Its outcome::

    connected        an upgrade answered 101, an HTTP request answered < 500, or (not HTTP)
                     any server byte delivered to the client; connected at first_byte_s
    <fault kind>     the proxy's profile failed it: stall, reset, refuse, upgrade_hang, ...
    unreachable      the upstream refused or could not be reached (the proxy reset the client)
    rejected         an HTTP answer that is not a success (a refused upgrade, a 5xx)
    no_answer        closed before any server byte: by the client (its timeout) or the upstream

Connections the kernel refused while the proxy was not listening (an outage in refuse mode)
never reach the proxy and are not recorded.

**Retries.** Per client, attempts in order of accept: ``retry`` counts the failures since the
client last connected — a connected attempt that the upstream or the proxy closed (a *drop*)
counts as one — so "the wait before retry r" is what a policy calls the wait after attempt
r-1 (:func:`chatconn.core.schedule.draw_waits` column r-1), whether the first failure was a
failed connect or a drop. A connected attempt the client closed itself starts nothing.
``gap_s`` is the time from the previous attempt's end (as the client saw it: the proxy
delivered the close) to this accept; ``since_start_s`` from the previous accept (for
policies that space attempt *starts*, like gRPC). An attempt that opened while the previous
one was still open is ``parallel`` and has no gap.

**Episodes** (one run session each): a first connect, or a reconnect after a drop, up to the
attempt that connects. A reconnect counts the drop as its attempt 0 (a failure of no
duration at the drop) and its time from the drop, so its waits line up with a simulated
session's: the time to connect is the time the user was offline.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from .agreement import ks_sorted
from .core.errors import ConfigError
from .core.policy import RetryPolicy, WaitAnchor
from .core.schedule import jittered_wait, nominal_timeouts, nominal_waits
from .core.strategies import ErrorCategory, Strategy

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "Attempt",
    "Episode",
    "ObservedConnection",
    "RetryComparison",
    "TimeoutComparison",
    "WaitComparison",
    "best_match",
    "compare_timeouts",
    "compare_waits",
    "connections_from_lines",
    "episode_arrays",
    "episodes",
    "ks_within",
    "observation_report",
    "simulated_waits",
    "timelines",
]

#: Timing slack allowed between an observed wait and the schedule's (seconds): the client's
#: timer and event-loop lag on a busy machine (several ms, measured in STACK-NOTES) plus the
#: time from the close to the client noticing it. Waits closer than this count as equal.
DEFAULT_TOLERANCE_S = 0.05
#: Observed waits needed at a retry before it is compared (fewer say nothing).
MIN_WAITS = 5
_FAULTS = {
    "stall": ErrorCategory.TIMEOUT,
    "upgrade_hang": ErrorCategory.TIMEOUT,
    "reset": ErrorCategory.RESET,
    "upgrade_reset": ErrorCategory.RESET,
    "refuse": ErrorCategory.REFUSED,
    "upgrade_403": ErrorCategory.UPGRADE_REJECTED,
}


@dataclass(frozen=True, slots=True)
class ObservedConnection:
    """One connection as ``chatconn proxy`` recorded it (a ``connection`` line of a run file).

    ``at_s``: the accept, seconds since the proxy started; ``head_s``, ``first_byte_s``,
    ``closed_s``: seconds after the accept (None: not reached). ``first_byte_s`` is when the
    first server byte was delivered to the client. ``rtt_s`` is the injected round trip
    (``penalty_s`` the SYN-loss delay added to its first request);
    ``profile`` the profile in force at the accept. See
    :class:`chatconn.lab.faults.ConnectionRecord`.
    """

    id: int
    peer: str
    port: int
    at_s: float
    tag: str | None = None
    head_s: float | None = None
    first_byte_s: float | None = None
    closed_s: float | None = None
    closed_by: str = ""
    upgrade: bool = False
    target: str = ""
    tls: bool = False
    status: int | None = None
    bytes_up: int = 0
    bytes_down: int = 0
    fault: str = "none"
    cause: str = ""
    upstream_error: str = ""
    rtt_s: float = 0.0
    penalty_s: float = 0.0
    profile: str = ""
    content_type: str = ""

    @property
    def client(self) -> str:
        """The client this connection belongs to (see the module doc)."""
        return f"tag:{self.tag}" if self.tag else self.peer

    @property
    def outcome(self) -> str:
        if self.fault != "none":
            return self.fault
        if self.upstream_error:
            return "unreachable"
        if self.status is not None:
            ok = self.status == 101 if self.upgrade else self.status < 500
            return "connected" if ok else "rejected"
        if self.first_byte_s is not None and not self.upgrade:
            return "connected"
        return "no_answer"

    @property
    def connected(self) -> bool:
        return self.outcome == "connected"

    @property
    def ended_s(self) -> float | None:
        """When it ended, seconds since the proxy started (None: still open)."""
        return None if self.closed_s is None else self.at_s + self.closed_s

    @property
    def error_category(self) -> ErrorCategory:
        outcome = self.outcome
        if outcome == "connected":
            return ErrorCategory.NONE
        if outcome in _FAULTS:
            return _FAULTS[outcome]
        if outcome == "unreachable":
            return ErrorCategory.REFUSED
        if outcome == "rejected":
            return ErrorCategory.UPGRADE_REJECTED
        return ErrorCategory.TIMEOUT if self.closed_by == "client" else ErrorCategory.RESET

    @property
    def strategy(self) -> Strategy:
        """How it connected, in chatconn's words: an upgrade or a raw stream is a direct
        WebSocket, an event stream is SSE, any other HTTP request long polling."""
        if self.upgrade or self.head_s is None or (self.status is None and not self.target):
            return Strategy.DIRECT_WEBSOCKET
        if "event-stream" in self.content_type:
            return Strategy.SSE_FALLBACK
        return Strategy.LONG_POLLING

    def to_dict(self) -> dict[str, Any]:
        return {"type": "connection", **asdict(self), "outcome": self.outcome}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ObservedConnection:
        """The inverse of :meth:`to_dict`; raises ValueError naming a bad field."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k not in ("type", "outcome")}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown connection field {unknown[0]!r}")
        for name in ("id", "peer", "port", "at_s"):
            if name not in values:
                raise ValueError(f"missing connection field {name!r}")
        for name in ("id", "port", "bytes_up", "bytes_down"):
            if name in values and not _whole(values[name]):
                raise ValueError(f"{name} must be a whole number >= 0, got {values[name]!r}")
        for name in ("at_s", "rtt_s", "penalty_s"):
            if name in values and not _seconds(values[name]):
                raise ValueError(f"{name} must be seconds >= 0, got {values[name]!r}")
        for name in ("head_s", "first_byte_s", "closed_s"):
            if values.get(name) is not None and not _seconds(values[name]):
                raise ValueError(f"{name} must be seconds >= 0 or null, got {values[name]!r}")
        for name in ("peer", "closed_by", "target", "fault", "cause", "upstream_error"):
            if name in values and not isinstance(values[name], str):
                raise ValueError(f"{name} must be text, got {values[name]!r}")
        for name in ("profile", "content_type"):
            if name in values and not isinstance(values[name], str):
                raise ValueError(f"{name} must be text, got {values[name]!r}")
        if values.get("tag") is not None and not isinstance(values["tag"], str):
            raise ValueError(f"tag must be text or null, got {values['tag']!r}")
        if values.get("status") is not None and not _whole(values["status"]):
            raise ValueError(f"status must be an HTTP status or null, got {values['status']!r}")
        for name in ("upgrade", "tls"):
            if name in values and not isinstance(values[name], bool):
                raise ValueError(f"{name} must be true or false, got {values[name]!r}")
        return cls(**values)


def connections_from_lines(lines: Iterable[Mapping[str, Any]]) -> list[ObservedConnection]:
    """The ``connection`` records among run-file lines (other lines ignored)."""
    return [ObservedConnection.from_dict(x) for x in lines if x.get("type") == "connection"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt of one client's timeline (see the module doc for ``retry`` and gaps)."""

    client: str
    index: int
    retry: int
    connection: ObservedConnection
    gap_s: float | None
    since_start_s: float | None
    parallel: bool
    after_drop: bool

    @property
    def outcome(self) -> str:
        return self.connection.outcome

    def to_dict(self) -> dict[str, Any]:
        c = self.connection
        return {
            "client": self.client,
            "index": self.index,
            "retry": self.retry,
            "at_s": c.at_s,
            "gap_s": self.gap_s,
            "since_start_s": self.since_start_s,
            "parallel": self.parallel,
            "after_drop": self.after_drop,
            "outcome": c.outcome,
            "duration_s": c.closed_s,
            "connected_s": c.first_byte_s if c.connected else None,
            "closed_by": c.closed_by,
            "target": c.target,
        }


def timelines(connections: Iterable[ObservedConnection]) -> dict[str, list[Attempt]]:
    """Each client's attempts in order of accept, with retry numbers and gaps."""
    by_client: dict[str, list[ObservedConnection]] = {}
    for c in sorted(connections, key=lambda c: (c.at_s, c.id)):
        by_client.setdefault(c.client, []).append(c)
    out: dict[str, list[Attempt]] = {}
    for client, conns in by_client.items():
        attempts: list[Attempt] = []
        failures, dropped = 0, False
        previous: ObservedConnection | None = None
        for i, c in enumerate(conns):
            gap = since = None
            parallel = False
            if previous is not None:
                end = previous.ended_s
                parallel = end is None or end > c.at_s
                if end is not None and not parallel:
                    gap = c.at_s - end
                since = c.at_s - previous.at_s
            attempts.append(Attempt(client, i, failures, c, gap, since, parallel, dropped))
            if c.connected:
                dropped = c.closed_s is not None and c.closed_by in ("upstream", "proxy")
                failures = 1 if dropped else 0
            else:
                failures += 1
            previous = c
        out[client] = attempts
    return out


@dataclass(frozen=True, slots=True)
class Episode:
    """A connect (or a reconnect after a drop) of one client, up to its connected attempt."""

    client: str
    reconnect: bool
    started_s: float
    attempts: tuple[Attempt, ...]

    @property
    def connected(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].connection.connected

    @property
    def ended_at(self) -> float:
        """Seconds from the episode's start to connected (or to its last failure)."""
        last = self.attempts[-1].connection
        if last.connected:
            assert last.first_byte_s is not None
            return last.at_s + last.first_byte_s - self.started_s
        end = last.ended_s if last.ended_s is not None else last.at_s
        return max(0.0, end - self.started_s)

    @property
    def attempt_count(self) -> int:
        """Attempts, the drop of a reconnect counted as attempt 0."""
        return len(self.attempts) + (1 if self.reconnect else 0)


def episodes(lines: Mapping[str, Sequence[Attempt]]) -> list[Episode]:
    """Every client's connect episodes (see the module doc), clients in order of first
    appearance. Parallel attempts join the episode they overlap."""
    out: list[Episode] = []
    for client, attempts in lines.items():
        current: list[Attempt] = []
        start, reconnect = 0.0, False
        for a in attempts:
            if not current:
                reconnect = a.after_drop and a.retry >= 1
                if reconnect and a.gap_s is not None:
                    start = a.connection.at_s - a.gap_s
                else:
                    start = a.connection.at_s
            current.append(a)
            if a.connection.connected:
                out.append(Episode(client, reconnect, start, tuple(current)))
                current = []
        if current:
            out.append(Episode(client, reconnect, start, tuple(current)))
    return out


def episode_arrays(found: Sequence[Episode]) -> dict[str, np.ndarray]:
    """Per-session arrays (as a simulation's) of episodes: what run files' readers use."""
    n = len(found)
    connected = np.array([e.connected for e in found], dtype=bool)
    strategy = np.full(n, -1, dtype=np.int8)
    last_error = np.zeros(n, dtype=np.int8)
    for i, e in enumerate(found):
        if e.connected:
            strategy[i] = e.attempts[-1].connection.strategy.code
        failed = [a for a in e.attempts if not a.connection.connected]
        if failed:
            last_error[i] = int(failed[-1].connection.error_category)
        elif e.reconnect:
            last_error[i] = int(ErrorCategory.RESET)  # the drop
    return {
        "connected": connected,
        "ended_at": np.array([e.ended_at for e in found], dtype=float),
        "attempts": np.array([e.attempt_count for e in found], dtype=np.int16),
        "strategy": strategy,
        "last_error": last_error,
        "profile": np.zeros(n, dtype=np.int8),
    }


# -- comparison with a policy ------------------------------------------------------------


def simulated_waits(
    policy: RetryPolicy, retries: int, rng: np.random.Generator, samples: int
) -> np.ndarray:
    """The policy's waits before retries 1..``retries``, shape (samples, retries): the
    schedule's own formula (:func:`~chatconn.core.schedule.jittered_wait`), continued past
    ``max_attempts`` as the library would (the last rule repeats)."""
    nominal = nominal_waits(policy, retries)
    u = rng.random((samples, retries))
    out = np.empty((samples, retries))
    previous: float | np.ndarray = policy.initial_delay
    for k in range(retries):
        out[:, k] = jittered_wait(policy, k, nominal[k], u[:, k], previous)
        previous = out[:, k]
    return out


def ks_within(observed: np.ndarray, simulated: np.ndarray, tolerance_s: float) -> float:
    """The KS distance allowing each observed value to be off by up to ``tolerance_s``:
    ``sup_x max(F_obs(x) - F_sim(x + tol), F_sim(x - tol) - F_obs(x))`` (0 when every
    observed value is within ``tol`` of a distribution the simulated sample matches)."""
    obs, sim = np.sort(np.asarray(observed, float)), np.sort(np.asarray(simulated, float))
    if obs.size == 0 or sim.size == 0:
        return math.nan
    if tolerance_s <= 0:
        return ks_sorted(obs, sim)
    n, m = obs.size, sim.size
    # F_obs(x) - F_sim(x + tol) is largest just at observed points x (right-continuous).
    above = np.arange(1, n + 1) / n - np.searchsorted(sim, obs + tolerance_s, side="right") / m
    # F_sim(x - tol) - F_obs(x): largest at x = s + tol for simulated points s, F_obs taken
    # just before x (strictly less).
    grid = sim + tolerance_s
    below = np.arange(1, m + 1) / m - np.searchsorted(obs, grid, side="left") / n
    return float(max(0.0, above.max(), below.max()))


@dataclass(frozen=True, slots=True)
class RetryComparison:
    """Observed waits before one retry against the policy's (p5, p50, p95 of each)."""

    retry: int
    observed: int
    observed_p5: float
    observed_p50: float
    observed_p95: float
    expected_p5: float
    expected_p50: float
    expected_p95: float
    ks: float
    critical: float

    @property
    def agrees(self) -> bool:
        return self.ks <= self.critical

    def describe(self, name: str) -> str:
        return (
            f"retry {self.retry}: waits {_s(self.observed_p50)} (p5–p95 "
            f"{_s(self.observed_p5)}–{_s(self.observed_p95)}, {self.observed} waits) where "
            f"{name} waits {_s(self.expected_p5)}–{_s(self.expected_p95)} "
            f"(median {_s(self.expected_p50)}); KS {self.ks:.2f} vs {self.critical:.2f}"
        )


@dataclass(frozen=True, slots=True)
class TimeoutComparison:
    """How long the client let unanswered attempts run (it closed them: its connect
    timeout) against the policy's timeout for that attempt (0 = the first)."""

    attempt: int
    observed: int
    observed_p50: float
    observed_min: float
    observed_max: float
    expected_s: float
    slack_s: float

    @property
    def agrees(self) -> bool:
        return abs(self.observed_p50 - self.expected_s) <= self.slack_s

    def describe(self, name: str) -> str:
        return (
            f"attempt {self.attempt} timed out after {_s(self.observed_p50)} "
            f"({self.observed} attempts, {_s(self.observed_min)}–{_s(self.observed_max)}) "
            f"where {name} waits {_s(self.expected_s)}"
        )


@dataclass(frozen=True, slots=True)
class WaitComparison:
    """Observed waits per retry against one policy: a verdict in words and the details."""

    name: str
    retries: tuple[RetryComparison, ...]
    alpha: float
    tolerance_s: float
    anchor: str
    timeouts: tuple[TimeoutComparison, ...] = ()

    @property
    def compared(self) -> tuple[RetryComparison, ...]:
        return tuple(r for r in self.retries if not math.isnan(r.ks))

    @property
    def agrees(self) -> bool | None:
        """True/False, or None when no retry had enough waits (nor any timeout) to compare.
        A timeout that differs makes it False whatever the waits."""
        compared = self.compared
        if any(not t.agrees for t in self.timeouts):
            return False
        if not compared:
            return True if self.timeouts else None
        return all(r.agrees for r in compared)

    @property
    def distance(self) -> float:
        """Mean KS excess over the critical value (<= 0 everywhere: agrees), plus 1 per
        timeout that differs; for ranking."""
        compared = self.compared
        missed = sum(not t.agrees for t in self.timeouts)
        if not compared:
            return float(missed) if self.timeouts else math.inf
        return float(np.mean([r.ks - r.critical for r in compared])) + missed

    @property
    def verdict(self) -> str:
        compared = self.compared
        wrong = next((r for r in compared if not r.agrees), None)
        late = next((t for t in self.timeouts if not t.agrees), None)
        if wrong is not None:
            return f"differs from {self.name} at {wrong.describe(self.name)}"
        if late is not None:
            return f"differs from {self.name}: {late.describe(self.name)}"
        if not compared:
            if self.timeouts:
                return f"times out like {self.name} (no retries to compare)"
            return f"not enough retries to compare with {self.name} (need {MIN_WAITS} waits)"
        upto = max(r.retry for r in compared)
        also = " and timeouts" if self.timeouts else ""
        return f"behaves like {self.name} (retries 1–{upto}{also}, KS at the {self.alpha:g} level)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": self.verdict,
            "agrees": self.agrees,
            "alpha": self.alpha,
            "tolerance_s": self.tolerance_s,
            "anchor": self.anchor,
            "retries": [asdict(r) | {"agrees": r.agrees} for r in self.retries],
            "timeouts": [asdict(t) | {"agrees": t.agrees} for t in self.timeouts],
        }


def observed_waits(lines: Mapping[str, Sequence[Attempt]], anchor: WaitAnchor) -> dict[int, list]:
    """Observed waits by retry number (>= 1), from the failure or from the previous start."""
    out: dict[int, list[float]] = {}
    for attempts in lines.values():
        for a in attempts:
            if a.retry < 1 or a.parallel:
                continue
            wait = a.since_start_s if anchor is WaitAnchor.START else a.gap_s
            if wait is not None:
                out.setdefault(a.retry, []).append(wait)
    return out


def compare_waits(
    lines: Mapping[str, Sequence[Attempt]],
    policy: RetryPolicy,
    *,
    name: str = "the policy",
    alpha: float = 0.001,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    samples: int = 20_000,
    seed: int = 0,
    time_scale: float = 1.0,
) -> WaitComparison:
    """Compare the observed wait before each retry with ``policy``'s schedule.

    Each retry with at least :data:`MIN_WAITS` observed waits is a two-sample KS test
    (distance allowing ``tolerance_s`` of timing slack, :func:`ks_within`) against
    ``samples`` simulated waits, at level ``alpha / retries compared`` (Bonferroni: the
    verdict holds at ``alpha`` overall). ``time_scale`` multiplies the policy's waits (a
    client configured with waits scaled the same way).
    """
    if not isinstance(policy, RetryPolicy):
        raise ConfigError("policy", policy, "expected a RetryPolicy")
    if not 0 < alpha < 1:
        raise ConfigError("alpha", alpha, "expected a significance level in (0, 1)")
    by_retry = observed_waits(lines, policy.wait_from)
    retries = max(by_retry, default=0)
    rng = np.random.default_rng(seed)
    sim = simulated_waits(policy, max(retries, 1), rng, samples) * time_scale
    counted = [r for r in sorted(by_retry) if len(by_retry[r]) >= MIN_WAITS]
    level = alpha / max(len(counted), 1)
    c = math.sqrt(-0.5 * math.log(level / 2))
    rows = []
    for r in sorted(by_retry):
        obs = np.array(by_retry[r])
        expected = sim[:, r - 1]
        e5, e50, e95 = np.percentile(expected, (5, 50, 95))
        o5, o50, o95 = np.percentile(obs, (5, 50, 95))
        enough = obs.size >= MIN_WAITS
        n, m = obs.size, expected.size
        rows.append(
            RetryComparison(
                retry=r,
                observed=int(n),
                observed_p5=float(o5),
                observed_p50=float(o50),
                observed_p95=float(o95),
                expected_p5=float(e5),
                expected_p50=float(e50),
                expected_p95=float(e95),
                ks=ks_within(obs, expected, tolerance_s) if enough else math.nan,
                critical=c * math.sqrt((n + m) / (n * m)),
            )
        )
    anchor = "start" if policy.wait_from is WaitAnchor.START else "failure"
    timeouts = compare_timeouts(lines, policy, tolerance_s=tolerance_s, time_scale=time_scale)
    return WaitComparison(name, tuple(rows), alpha, tolerance_s, anchor, timeouts)


#: Outcomes of an attempt nobody answered; when the client closed it, it timed out.
UNANSWERED = frozenset({"stall", "upgrade_hang", "no_answer"})
#: Relative slack on a timeout: clients count it from their own connect call.
TIMEOUT_SLACK = 0.02


def compare_timeouts(
    lines: Mapping[str, Sequence[Attempt]],
    policy: RetryPolicy,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    time_scale: float = 1.0,
) -> tuple[TimeoutComparison, ...]:
    """Per attempt number, the durations of unanswered attempts the client closed (its
    timeout) against the policy's nominal timeout for that attempt (gRPC's spanning of the
    backoff aside); equal within ``max(tolerance_s, 2 %)`` of the median."""
    by_attempt: dict[int, list[float]] = {}
    for attempts in lines.values():
        for a in attempts:
            c = a.connection
            if (
                c.outcome in UNANSWERED
                and c.closed_by == "client"
                and c.closed_s is not None
                and c.head_s is not None  # it asked and waited (not a browser's spare socket)
            ):
                by_attempt.setdefault(a.retry, []).append(c.closed_s)
    nominal = nominal_timeouts(policy)
    out = []
    for k in sorted(by_attempt):
        values = np.array(by_attempt[k])
        expected = float(nominal[min(k, nominal.size - 1)]) * time_scale
        out.append(
            TimeoutComparison(
                attempt=k,
                observed=int(values.size),
                observed_p50=float(np.median(values)),
                observed_min=float(values.min()),
                observed_max=float(values.max()),
                expected_s=expected,
                slack_s=max(tolerance_s, TIMEOUT_SLACK * expected),
            )
        )
    return tuple(out)


def best_match(
    lines: Mapping[str, Sequence[Attempt]],
    policies: Mapping[str, RetryPolicy],
    **kwargs: Any,
) -> list[WaitComparison]:
    """:func:`compare_waits` against every policy, best first (agreeing ones, then by
    how far the KS distances exceed their critical values)."""
    found = [compare_waits(lines, p, name=name, **kwargs) for name, p in policies.items()]
    return sorted(found, key=lambda w: (w.agrees is not True, w.distance))


def observation_report(
    source: Any,
    policies: Mapping[str, RetryPolicy] | None = None,
    *,
    timeline: bool = False,
    **compare: Any,
) -> dict[str, Any]:
    """What ``chatconn observe`` prints, as a plain dict (for notebooks): counts of
    connections, clients, connect episodes (reconnects, connected), each client's attempts
    when ``timeline``, and :func:`best_match` against ``policies`` (default: every preset).

    ``source``: an observed :class:`~chatconn.runs.Run` (``observations``) or a sequence of
    :class:`ObservedConnection`; ``compare``: :func:`compare_waits`' keywords.
    """
    if policies is None:
        from .core.presets import policy_preset, policy_preset_names

        policies = {name: policy_preset(name) for name in policy_preset_names()}
    connections = list(getattr(source, "observations", source))
    lines = timelines(connections)
    found = episodes(lines)
    compared = best_match(lines, policies, **compare)
    return {
        "connections": len(connections),
        "clients": len(lines),
        "episodes": len(found),
        "reconnects": sum(e.reconnect for e in found),
        "connected": sum(e.connected for e in found),
        "timelines": {c: [a.to_dict() for a in attempts] for c, attempts in lines.items()}
        if timeline
        else {},
        "comparisons": [c.to_dict() for c in compared],
    }


def _s(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _seconds(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )
