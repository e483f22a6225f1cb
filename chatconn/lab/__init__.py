"""The lab: a real chat server on loopback with a NetworkProfile's faults in front of it.

::

    from chatconn.lab import LabServer, LabServerThread, Fault
    async with LabServer("corporate-firewall", time_scale=0.1) as lab:
        ...                                   # lab.endpoint, lab.token, lab.set_profile(...)
    lab = LabServerThread("3g").start()       # in Jupyter: its own loop in a thread
"""

from .chaos import ChaosProxy, Fault, FaultKind
from .server import DEFAULT_TOKEN, LabServer
from .thread import LabServerThread

__all__ = ["DEFAULT_TOKEN", "ChaosProxy", "Fault", "FaultKind", "LabServer", "LabServerThread"]
