"""A tuned policy out: configuration or code for a real client, and what it will differ by.

::

    from chatconn.export import export_policy
    out = export_policy(policy_preset("socketio").with_changes(initial_delay=2), "socketio")
    print(out.text)               # the Manager options as JSON
    out.diff.lines()              # per retry: what socket.io will do unlike what was asked
    # or: chatconn export --policy socketio --set initial_delay=2 --format socketio

Targets (one module each; each computes the exported options, the policy the library
will really follow — :attr:`Export.realized` — and :attr:`Export.diff` against the asked
policy, :mod:`chatconn.export.diff`)::

    socketio      socket.io-client Manager options (JSON)
    signalr       @microsoft/signalr withAutomaticReconnect delays, or an IRetryPolicy class
    stream-chat   stream-chat SDK options + a TypeScript connection manager around connectUser
    websockets    Python websockets: its backoff settings, or a reconnect loop
    tenacity      tenacity retry(stop=..., wait=...) arguments
    grpc          gRPC channel arguments and service config (JSON)
    json          chatconn's own policy JSON
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.errors import UnknownNameError
from ..core.policy import RetryPolicy
from . import chatconn_json, grpc, pytenacity, pywebsockets, signalr, socketio, streamchat
from .base import Export
from .diff import AttemptWindow, ScheduleDiff, diff_schedules, windows

__all__ = [
    "EXPORTERS",
    "AttemptWindow",
    "Export",
    "ScheduleDiff",
    "diff_schedules",
    "export_formats",
    "export_policy",
    "windows",
]

EXPORTERS: dict[str, Callable[[RetryPolicy], Export]] = {
    "socketio": socketio.export,
    "signalr": signalr.export,
    "stream-chat": streamchat.export,
    "websockets": pywebsockets.export,
    "tenacity": pytenacity.export,
    "grpc": grpc.export,
    "json": chatconn_json.export,
}


def export_formats() -> tuple[str, ...]:
    return tuple(EXPORTERS)


def export_policy(policy: RetryPolicy, format: str) -> Export:
    """Export ``policy`` for the client ``format`` (one of :func:`export_formats`)."""
    try:
        exporter = EXPORTERS[format]
    except KeyError:
        raise UnknownNameError("export format", format, export_formats()) from None
    return exporter(policy)
