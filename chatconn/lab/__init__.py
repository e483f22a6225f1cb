"""The lab: a real chat server on loopback with a NetworkProfile's faults in front of it.

::

    from chatconn.lab import LabServer, LabServerThread, Fault
    async with LabServer("corporate-firewall", time_scale=0.1) as lab:
        ...                                   # lab.endpoint, lab.token, lab.set_profile(...)
    lab = LabServerThread("3g").start()       # in Jupyter: its own loop in a thread
    lab = LabProcess("3g").start()            # beside many clients: its own process
    async with StreamLabServer("3g") as lab:  # Stream Chat's API, for the official SDK
        ...                                   # client.setBaseURL(lab.base_url)

Names load on first use, so ``chatconn serve --help`` and the protocol constants do not
pull in the server stack (uvicorn, starlette).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DEFAULT_TOKEN",
    "ChaosProxy",
    "Fault",
    "FaultKind",
    "LabProcess",
    "LabServer",
    "LabServerThread",
    "StreamLabServer",
]

_WHERE = {
    "DEFAULT_TOKEN": ".server",
    "ChaosProxy": ".chaos",
    "Fault": ".chaos",
    "FaultKind": ".chaos",
    "LabProcess": ".process",
    "LabServer": ".server",
    "LabServerThread": ".thread",
    "StreamLabServer": ".stream_server",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'chatconn.lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
