"""Live runs of chatconn's manager against the lab speaking Stream Chat's protocol.

``run_live(policy, n, lab_profile=profile, protocol="stream")`` (and ``chatconn run --lab
--protocol stream``) lands here: an in-process
:class:`~chatconn.lab.stream_server.StreamLabServer` plays the profile, and the sessions
connect to it as Stream clients (:mod:`chatconn.live.stream_transport`) with a development
token. The run plays at ``time_scale`` 1 unless a number is given: the automatic scale
measures its harness floor with the lab's own protocol, which this lab does not speak. The
run's header records ``protocol: stream`` and the profile, so it has a simulated twin.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ..core.policy import RetryPolicy
from ..core.profiles import NetworkProfile
from ..runs.writer import RunWriter
from .manager import ConnectionManager
from .run import LiveRun, check_time_scale, run_live
from .tokens import Secret

__all__ = ["run_stream_lab"]


async def run_stream_lab(
    policy: RetryPolicy,
    sessions: int,
    profile: NetworkProfile,
    *,
    concurrency: int = 50,
    seed: int = 0,
    time_scale: float | str = "auto",
    out: RunWriter | str | os.PathLike[str] | None = None,
    policy_name: str | None = None,
    metadata: dict[str, Any] | None = None,
    on_session: Callable[[int, ConnectionManager], Any] | None = None,
) -> LiveRun:
    """``sessions`` connects of ``policy`` to a Stream-protocol lab playing ``profile``."""
    from ..lab.stream_server import StreamLabServer  # the server stack, only for lab runs

    manual = check_time_scale(time_scale)
    scale = 1.0 if manual is None else manual
    async with StreamLabServer(profile, time_scale=scale, seed=seed) as lab:
        return await run_live(
            policy,
            sessions,
            concurrency=concurrency,
            seed=seed,
            time_scale=scale,
            endpoint=lab.endpoint,
            token=Secret(lab.token),
            profile=profile,
            out=out,
            policy_name=policy_name,
            metadata={"protocol": "stream", "server": "lab (Stream protocol)", **(metadata or {})},
            on_session=on_session,
        )
