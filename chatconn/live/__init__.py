"""The live layer: real connection attempts by a RetryPolicy, over real transports.

::

    from chatconn.live import ConnectionManager
    async with ConnectionManager(endpoint, token, policy=policy) as manager:
        session = await manager.connect()

Imports websockets and httpx; the pure core (``chatconn.core``) does not.
"""

from ..endpoint import Endpoint
from ..records import AttemptRecord
from .diagnostics import DiagnosticsReport, run_diagnostics
from .errors import (
    AttemptError,
    AttemptTimeout,
    AuthRejected,
    CertificateRejected,
    CircuitOpen,
    ConnectFailed,
    ConnectionRefused,
    ConnectionReset,
    LiveError,
    ProtocolViolation,
    ServerUnavailable,
    TokenUnavailable,
    UpgradeRejected,
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
from .manager import ConnectionManager, HeartbeatConfig
from .run import LiveRun, run_live
from .session import PhaseClock, Session
from .token_cache import TokenCache
from .tokens import (
    HttpTokenProvider,
    RetryingTokenProvider,
    Secret,
    StaticToken,
    TokenProvider,
    TokenSource,
)
from .transports import open_session

__all__ = [
    "AttemptError",
    "AttemptFinished",
    "AttemptRecord",
    "AttemptStarted",
    "AttemptTimeout",
    "AuthRejected",
    "CertificateRejected",
    "CircuitOpen",
    "ConnectFailed",
    "ConnectionEvent",
    "ConnectionManager",
    "ConnectionRefused",
    "ConnectionReset",
    "ConnectionState",
    "DiagnosticsDone",
    "DiagnosticsReport",
    "Endpoint",
    "EventBus",
    "HeartbeatConfig",
    "HttpTokenProvider",
    "LiveError",
    "LiveRun",
    "Phase",
    "PhaseChanged",
    "PhaseClock",
    "ProtocolViolation",
    "RetryingTokenProvider",
    "Secret",
    "ServerUnavailable",
    "Session",
    "StateChanged",
    "StaticToken",
    "TokenCache",
    "TokenProvider",
    "TokenReady",
    "TokenSource",
    "TokenUnavailable",
    "UpgradeRejected",
    "Waiting",
    "WarningEvent",
    "open_session",
    "run_diagnostics",
    "run_live",
]
