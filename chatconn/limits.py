"""Process limits that many sockets in one process run into: shared by the live clients
(:func:`chatconn.live.run_live`) and the lab servers (:class:`chatconn.lab.process.LabProcess`).
"""

from __future__ import annotations

import contextlib
import resource

__all__ = ["raise_open_files_limit"]


def raise_open_files_limit() -> int:
    """Raise this process's soft limit of open files to its hard limit; returns the limit.

    Every live session holds a socket in the client, and every lab connection three (the
    proxy's two sides and the backend's): 5,000 sessions need ~20,000 descriptors, while
    the usual soft limit is 1,024 and accept() then fails with EMFILE. Raising the soft
    limit up to the hard one needs no privilege.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return int(soft)
