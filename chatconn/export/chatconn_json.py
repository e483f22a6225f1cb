"""chatconn's own policy JSON (``RetryPolicy.to_dict``): exact by construction; read it
back with ``RetryPolicy.from_dict`` (the live manager and every chatconn tool take it)."""

from __future__ import annotations

import json

from ..core.policy import RetryPolicy
from .base import Export, make_export

__all__ = ["export"]


def export(policy: RetryPolicy) -> Export:
    config = policy.to_dict()
    text = json.dumps(config, indent=2) + "\n"
    return make_export("json", text, config, policy, RetryPolicy.from_dict(config))
