"""Pre-connect diagnostics: latency, WebSocket capability, a firewall heuristic.

Use :func:`run_diagnostics` before connecting when the network is unknown: it measures the
HTTP round trip (median of ``samples`` requests on one connection), tries a WebSocket
upgrade to the probe path, and concludes in plain language — "WebSocket seems blocked by
a proxy; long polling works" — which the manager also uses to adapt the policy
(:func:`chatconn.core.adapt.adapt_to_diagnosis`). The simulator models the same probes
(:func:`chatconn.core.diagnostics.diagnose`): the HTTP probes share one connection and one
bound (``timeout_s``), the WebSocket probe has its own (``ws_timeout_s``).
"""

from __future__ import annotations

import asyncio
import ssl as ssl_module
import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus, WebSocketException

from ..core.diagnostics import DEFAULT_PROBE_TIMEOUT_S, DEFAULT_PROBES, conclude
from ..core.model import ROUND_TRIPS
from ..core.quality import Quality, classify
from ..core.strategies import ErrorCategory, Strategy
from ..endpoint import Endpoint
from ..wire import LATENCY_PATH, PROBE_PATH, SESSION_HEADER
from .tls import default_tls

__all__ = ["DiagnosticsReport", "run_diagnostics"]


@dataclass(frozen=True, slots=True)
class DiagnosticsReport:
    """What the probes found. ``latency_s`` is the median HTTP round trip (None if HTTP failed)."""

    latency_s: float | None
    latency_samples: tuple[float, ...]
    http_ok: bool
    http_problem: str
    websocket_ok: bool
    websocket_problem: ErrorCategory
    elapsed_s: float

    @property
    def firewall_suspected(self) -> bool:
        """HTTP works but the WebSocket upgrade does not: a proxy is the usual cause
        (:func:`chatconn.core.diagnostics.conclude`, the simulator's heuristic)."""
        return bool(conclude(self.http_ok, self.websocket_ok))

    @property
    def expected_quality(self) -> Quality | None:
        """The quality class a WebSocket connect would have at this latency, nothing failing."""
        if self.latency_s is None:
            return None
        return classify(ROUND_TRIPS[Strategy.DIRECT_WEBSOCKET] * self.latency_s)

    def summary(self) -> str:
        if not self.http_ok and not self.websocket_ok:
            return (
                "The server cannot be reached at all (HTTP: "
                f"{self.http_problem}). Check the network or the server status."
            )
        if self.firewall_suspected:
            return (
                "WebSocket seems blocked by a proxy or firewall "
                f"({self.websocket_problem.name.lower()}); HTTP works, so long polling or "
                "Server-Sent Events will be used."
            )
        if not self.http_ok:
            return f"WebSocket works but plain HTTP failed ({self.http_problem})."
        quality = self.expected_quality
        label = quality.label if quality is not None else "unknown"
        rtt = "unknown" if self.latency_s is None else f"{self.latency_s * 1000:.0f} ms"
        return f"Network looks fine: round trip {rtt} ({label})."


def _probe_url(ws_url: str) -> str:
    parts = urlsplit(ws_url)
    return urlunsplit((parts.scheme, parts.netloc, PROBE_PATH, "", ""))


def _certificate_failed(exc: BaseException) -> bool:
    """True when a certificate that did not verify is among ``exc``'s causes (httpx wraps)."""
    current: BaseException | None = exc
    for _ in range(10):
        if current is None:
            break
        if isinstance(current, ssl_module.SSLCertVerificationError):
            return True
        current = current.__cause__ or current.__context__
    return False


def _category(exc: BaseException) -> ErrorCategory:
    if isinstance(exc, TimeoutError):
        return ErrorCategory.TIMEOUT
    if isinstance(exc, ConnectionRefusedError):
        return ErrorCategory.REFUSED
    if isinstance(exc, InvalidStatus):
        return ErrorCategory.UPGRADE_REJECTED
    return ErrorCategory.RESET


async def run_diagnostics(
    endpoint: Endpoint,
    client: httpx.AsyncClient,
    *,
    samples: int = DEFAULT_PROBES,
    timeout_s: float = DEFAULT_PROBE_TIMEOUT_S,
    ws_timeout_s: float | None = None,
    ssl: ssl_module.SSLContext | None = None,
    session_tag: str | None = None,
) -> DiagnosticsReport:
    """Probe ``endpoint``; the HTTP probes are bounded by ``timeout_s`` together, the
    WebSocket probe by ``ws_timeout_s`` (default ``timeout_s``), so this never hangs.
    ``session_tag`` is sent as the transports send it (a lab then plays the session's own
    conditions on the probes too)."""
    began = time.perf_counter()
    ws_timeout_s = timeout_s if ws_timeout_s is None else ws_timeout_s
    tag = {SESSION_HEADER: session_tag} if session_tag else {}
    latencies: list[float] = []
    http_problem = ""
    try:
        async with asyncio.timeout(timeout_s):
            for _ in range(samples):
                sent = time.perf_counter()
                response = await client.get(endpoint.http(LATENCY_PATH), headers=tag)
                if response.status_code >= 400:
                    http_problem = f"HTTP {response.status_code}"
                    break
                latencies.append(time.perf_counter() - sent)
    except TimeoutError:
        http_problem = f"no answer within {timeout_s:g} s"
    except httpx.HTTPError as exc:
        http_problem = type(exc).__name__
        if _certificate_failed(exc):
            http_problem = "the server's TLS certificate could not be verified"
    http_ok = not http_problem and bool(latencies)

    ws_problem = ErrorCategory.NONE
    try:
        async with asyncio.timeout(ws_timeout_s):
            secure = endpoint.primary.startswith("wss:")
            tls = (ssl or default_tls()) if secure else None  # verification on, as the transports
            async with ws_connect(
                _probe_url(endpoint.primary), open_timeout=None, ssl=tls, additional_headers=tag
            ) as ws:
                await ws.recv()
    except (TimeoutError, OSError, WebSocketException) as exc:
        ws_problem = _category(exc)
    return DiagnosticsReport(
        latency_s=statistics.median(latencies) if latencies else None,
        latency_samples=tuple(latencies),
        http_ok=http_ok,
        http_problem=http_problem,
        websocket_ok=ws_problem is ErrorCategory.NONE,
        websocket_problem=ws_problem,
        elapsed_s=time.perf_counter() - began,
    )
