"""``chatconn proxy``: the lab's chaos proxy in front of any TCP server, recording what real
clients do through it.

::

    from chatconn.proxy import ObservingProxy

    async with ObservingProxy(("127.0.0.1", 3000), "3g", record="data/runs/mine/app.jsonl") as p:
        ...  # point the app at p.address; p.set_profile("server-down"); p.drop_all()

Every connection is recorded as a ``connection`` line of an *observed* run file
(:mod:`chatconn.runs.format`), append-only, as it ends; ``chatconn observe`` reads it back
as attempt timelines per client (:mod:`chatconn.observe`), and ``runs``, ``report`` and
``calibrate`` read it as connect sessions.
"""

from __future__ import annotations

from .recorder import ObservingProxy, check_listen_host, observed_header

__all__ = ["ObservingProxy", "check_listen_host", "observed_header"]
