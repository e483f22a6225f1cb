"""The attempt model: how one attempt of a strategy fares under a NetworkProfile.

Pure code on arrays of sessions, shared by the vectorised simulator and the scalar
reference loop (which passes one session at a time through the same
:class:`~chatconn.core.planner.ConnectPlanner` the live manager uses). The lab's chaos
proxy applies the same rules to real sockets.

One attempt, in order of precedence (a later rule overrides an earlier one)::

    success     ROUND_TRIPS[strategy] x RTT + SYN retransmission penalty
                + auth_s + sync_s + sync payload transfer
    stall       u_fault < stall_probability              -> hangs   (TIMEOUT at the timeout)
    reset       next reset_probability of u_fault        -> RESET after 2 RTT
    proxy       WebSocket strategy, session behind proxy -> ws_block_mode
    port        strategy's port(s) blocked for session   -> port_block_mode
    outage      attempt starts inside an outage window   -> outage.mode
    timeout     anything ending after the timeout        -> TIMEOUT at the timeout

Failure times: refuse 1 RTT, reset or 403 2 RTT, hang never (so: the timeout).
SYN loss: with q = 1 - (1 - loss)**2 (SYN or SYN-ACK lost), the number of losses n has
P(n >= j) = q**j and costs 2**n - 1 s (RTO 1 s, doubling: 1, 3, 7, ... s), n <= 6
(Linux ``tcp_syn_retries``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import overload

import numpy as np

from .profiles import ALTERNATIVE_PORTS, FaultMode, NetworkProfile
from .strategies import ErrorCategory, Strategy

__all__ = [
    "MAX_SYN_RETRIES",
    "ROUND_TRIPS",
    "AttemptOutcome",
    "SessionConditions",
    "SparseDraws",
    "attempt_outcome",
    "draw_conditions",
    "success_duration",
    "syn_loss_probability",
]

#: Round trips to "connected", as the lab protocol (chatconn/wire.py) spends them:
#: WebSocket: TCP, upgrade, auth, sync. Long polling: TCP, connect+auth, sync on the same
#: connection. SSE: TCP, stream+auth, then TCP and the sync POST on a second connection.
ROUND_TRIPS: dict[Strategy, float] = {
    Strategy.DIRECT_WEBSOCKET: 4.0,
    Strategy.EXTENDED_TIMEOUT: 4.0,
    Strategy.MULTIPLE_PORTS: 4.0,
    Strategy.LONG_POLLING: 3.0,
    Strategy.SSE_FALLBACK: 4.0,
}
MAX_SYN_RETRIES = 6

_FAIL_RTTS = {FaultMode.REFUSE: 1.0, FaultMode.RESET: 2.0, FaultMode.FORBIDDEN: 2.0}
_FAIL_ERROR = {
    FaultMode.HANG: ErrorCategory.TIMEOUT,
    FaultMode.REFUSE: ErrorCategory.REFUSED,
    FaultMode.RESET: ErrorCategory.RESET,
    FaultMode.FORBIDDEN: ErrorCategory.UPGRADE_REJECTED,
}


def syn_loss_probability(profile: NetworkProfile) -> float:
    """Probability that a TCP handshake loses its SYN or SYN-ACK."""
    return 1.0 - (1.0 - profile.loss) ** 2


def _penalty(u: np.ndarray, q: float) -> np.ndarray:
    """Seconds of SYN retransmission for the draws ``u < q`` that lost packets."""
    losses = np.minimum(np.floor(np.log(np.maximum(u, 1e-300)) / math.log(q)), MAX_SYN_RETRIES)
    seconds: np.ndarray = np.exp2(losses) - 1.0
    return seconds


@overload
def success_duration(
    profile: NetworkProfile, strategy: Strategy, rtt: float, out: None = None
) -> float: ...


@overload
def success_duration(
    profile: NetworkProfile, strategy: Strategy, rtt: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray: ...


def success_duration(
    profile: NetworkProfile,
    strategy: Strategy,
    rtt: float | np.ndarray,
    out: np.ndarray | None = None,
) -> float | np.ndarray:
    """Seconds an attempt of ``strategy`` takes at ``rtt`` when nothing goes wrong: its
    round trips, the server's auth and sync time and the sync payload's transfer (a float
    for a float ``rtt``, an array for an array).
    ``out``: an array to write them into (rtt an array of the same size)."""
    extra = profile.auth_s + profile.sync_s + profile.transfer_s
    if out is None:
        seconds: float | np.ndarray = rtt * ROUND_TRIPS[strategy] + extra
        return seconds
    np.multiply(rtt, ROUND_TRIPS[strategy], out=out)
    out += extra
    return out


def port_blocked_for(profile: NetworkProfile, strategy: Strategy) -> bool:
    """True when a session whose ports are blocked cannot use ``strategy`` at all."""
    if profile.blocked_ports_share <= 0.0 or not profile.blocked_ports:
        return False
    if strategy is Strategy.MULTIPLE_PORTS:
        return set(ALTERNATIVE_PORTS) <= profile.blocked_ports
    if strategy.uses_websocket:
        return 0 in profile.blocked_ports
    return False  # long polling and SSE use the HTTP port


@dataclass(frozen=True, slots=True)
class SessionConditions:
    """What sessions are stuck with for the whole connect, one entry per session.

    ``behind_ws_proxy`` and ``ports_blocked`` may be a plain bool when the profile's share
    is 0 or 1 (the same for every session).
    """

    rtt: np.ndarray
    behind_ws_proxy: bool | np.ndarray
    ports_blocked: bool | np.ndarray

    def take(self, index: np.ndarray) -> SessionConditions:
        """The conditions of the sessions at ``index``."""
        return SessionConditions(
            self.rtt[index], _take(self.behind_ws_proxy, index), _take(self.ports_blocked, index)
        )


def _take(value: bool | np.ndarray, index: np.ndarray) -> bool | np.ndarray:
    return value[index] if isinstance(value, np.ndarray) else value


@dataclass(frozen=True, slots=True)
class SparseDraws:
    """Uniform draws given only where they fall below ``below``: ``index`` (sorted
    positions among the attempt's sessions) and ``u`` (their draws, in [0, below)). Every
    other session drew ``u >= below`` — for a rule whose probability is at most ``below``,
    nothing happens to it. The simulator draws rare events this way (how many sessions,
    then which) instead of one uniform per session; the distribution is the same."""

    index: np.ndarray
    u: np.ndarray
    below: float

    def under(self, p: float) -> np.ndarray:
        """Positions whose draw is below ``p`` (``p`` <= ``below``)."""
        return self.index[self.u < p]

    def between(self, lo: float, hi: float) -> np.ndarray:
        """Positions whose draw is in [lo, hi) (``hi`` <= ``below``)."""
        return self.index[(self.u >= lo) & (self.u < hi)]


Draws = np.ndarray | SparseDraws


def _under(u: Draws, p: float) -> np.ndarray:
    """Positions of draws below ``p``: one rule for dense and sparse draws."""
    return u.under(p) if isinstance(u, SparseDraws) else np.flatnonzero(u < p)


def _between(u: Draws, lo: float, hi: float) -> np.ndarray:
    if isinstance(u, SparseDraws):
        return u.between(lo, hi)
    return np.flatnonzero((u >= lo) & (u < hi))


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """Per session: ``connected``, ``duration`` (seconds from the attempt's start), ``error``."""

    connected: np.ndarray
    duration: np.ndarray
    error: np.ndarray


def draw_conditions(profile: NetworkProfile, rng: np.random.Generator) -> SessionConditions:
    """One session's conditions (arrays of length 1), drawn in the simulator's order."""
    rtt = profile.rtt_median_s
    if profile.rtt_sigma > 0:
        rtt = float(rng.lognormal(math.log(profile.rtt_median_s), profile.rtt_sigma))
    proxy = profile.ws_blocked_share >= 1.0
    if 0.0 < profile.ws_blocked_share < 1.0:
        proxy = bool(rng.random() < profile.ws_blocked_share)
    ports = profile.blocked_ports_share >= 1.0
    if 0.0 < profile.blocked_ports_share < 1.0:
        ports = bool(rng.random() < profile.blocked_ports_share)
    return SessionConditions(np.array([rtt]), proxy, ports)


def attempt_outcome(
    profile: NetworkProfile,
    strategy: Strategy,
    start: float | np.ndarray,
    timeout: float | np.ndarray,
    conditions: SessionConditions,
    u_loss: Draws | None,
    u_fault: Draws | None,
    out: np.ndarray | None = None,
    *,
    success: np.ndarray | None = None,
) -> AttemptOutcome:
    """The outcome of attempts of one ``strategy`` for the sessions in ``conditions``.

    ``start`` and ``timeout`` are per session or shared; ``u_loss``/``u_fault`` are uniform
    draws per session, needed only when the profile has loss or stall/reset probabilities
    (pass None otherwise), dense (one per session) or :class:`SparseDraws` (only those
    below the rule's probability). Rare events are applied to the few sessions they hit,
    in place. ``out``: an array for the durations (the simulator passes its result array).
    ``success`` replaces the duration when nothing goes wrong (a diagnostics probe's round
    trips instead of a whole connect, :mod:`chatconn.core.diagnostics`).
    """
    rtt = conditions.rtt
    if success is None:
        duration = success_duration(profile, strategy, rtt, out)
    else:
        duration = np.array(success, dtype=float, copy=True)
    if u_loss is not None:
        q = syn_loss_probability(profile)
        if isinstance(u_loss, SparseDraws):
            keep = u_loss.u < q
            hit, u_hit = u_loss.index[keep], u_loss.u[keep]
        else:
            hit = np.flatnonzero(u_loss < q)
            u_hit = u_loss[hit]
        if hit.size:
            duration[hit] += _penalty(u_hit, q)
    error = np.zeros(rtt.shape, dtype=np.int8)

    def fail(mask: bool | np.ndarray, mode: FaultMode) -> None:
        if isinstance(mask, np.ndarray):  # a boolean mask, or positions already
            hits = np.flatnonzero(mask) if mask.dtype == bool else mask
            if not hits.size:
                return
            index: slice | np.ndarray = hits
        elif mask:
            index = slice(None)
        else:
            return
        duration[index] = _FAIL_RTTS[mode] * rtt[index] if mode in _FAIL_RTTS else math.inf
        error[index] = _FAIL_ERROR[mode]

    p_stall, p_reset = profile.stall_probability, profile.reset_probability
    if u_fault is not None and p_stall > 0:
        fail(_under(u_fault, p_stall), FaultMode.HANG)
    if u_fault is not None and p_reset > 0:
        fail(_between(u_fault, p_stall, p_stall + p_reset), FaultMode.RESET)
    if strategy.uses_websocket and profile.ws_blocked_share > 0:
        fail(conditions.behind_ws_proxy, profile.ws_block_mode)
    if port_blocked_for(profile, strategy):
        fail(conditions.ports_blocked, profile.port_block_mode)
    for outage in profile.outages:
        fail((start >= outage.start_s) & (start < outage.end_s), outage.mode)
    late = np.flatnonzero(duration > timeout)  # few: positions, not a mask
    if late.size:
        duration[late] = timeout[late] if isinstance(timeout, np.ndarray) else timeout
        error[late] = ErrorCategory.TIMEOUT
    return AttemptOutcome(error == ErrorCategory.NONE, duration, error)
