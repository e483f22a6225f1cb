"""chatconn: understand and tune how real-time clients (re)connect.

The public API, re-exported here::

    from chatconn import RetryPolicy, policy_preset, profile_preset, simulate, storm

    result = simulate(policy_preset("seed"), profile_preset("3g"), sessions=100_000, seed=1)
    result.summary()["time_to_connect_s"]["p95"]
"""

from .core import *  # noqa: F403 - the core's curated __all__
from .core import __all__ as _core_all
from .reference import simulate_reference
from .simulate import SimulationResult, simulate
from .storm import StormResult, storm

__version__ = "0.1.0"

__all__ = [
    *_core_all,
    "SimulationResult",
    "StormResult",
    "simulate",
    "simulate_reference",
    "storm",
]
