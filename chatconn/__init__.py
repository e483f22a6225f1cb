"""chatconn: understand and tune how real-time clients (re)connect.

The public API, re-exported here::

    from chatconn import RetryPolicy, policy_preset, profile_preset, simulate, storm

    result = simulate(policy_preset("seed"), profile_preset("3g"), sessions=100_000, seed=1)
    result.summary()["time_to_connect_s"]["p95"]
"""

from typing import Any

from .core import (
    DEFAULT_THRESHOLDS,
    POLICY_PRESETS,
    AttemptPlan,
    ChatconnError,
    ConfigError,
    ConnectPlanner,
    ErrorCategory,
    FaultMode,
    GiveUp,
    GiveUpReason,
    JitterMode,
    NetworkProfile,
    Outage,
    Population,
    Quality,
    QualityThresholds,
    RetryPolicy,
    RunFileError,
    RunFileWarning,
    Schedule,
    SimulationError,
    Strategy,
    UnknownNameError,
    WaitAnchor,
    classify,
    draw_waits,
    load_target,
    nominal_timeouts,
    nominal_waits,
    policy_preset,
    policy_preset_name_of,
    policy_preset_names,
    population_names,
    population_preset,
    profile_names,
    profile_preset,
    quality_counts,
    target_from_dict,
    target_to_dict,
)
from .logs import enable_logging  # also puts a NullHandler on the "chatconn" logger
from .outcomes import SessionOutcomes, deprecated_simulation_result
from .reference import simulate_reference
from .simulate import simulate
from .storm import StormResult, storm

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_THRESHOLDS",
    "POLICY_PRESETS",
    "AttemptPlan",
    "ChatconnError",
    "ConfigError",
    "ConnectPlanner",
    "ErrorCategory",
    "FaultMode",
    "GiveUp",
    "GiveUpReason",
    "JitterMode",
    "NetworkProfile",
    "Outage",
    "Population",
    "Quality",
    "QualityThresholds",
    "RetryPolicy",
    "RunFileError",
    "RunFileWarning",
    "Schedule",
    "SessionOutcomes",
    "SimulationError",
    "StormResult",
    "Strategy",
    "UnknownNameError",
    "WaitAnchor",
    "classify",
    "draw_waits",
    "enable_logging",
    "load_target",
    "nominal_timeouts",
    "nominal_waits",
    "policy_preset",
    "policy_preset_name_of",
    "policy_preset_names",
    "population_names",
    "population_preset",
    "profile_names",
    "profile_preset",
    "quality_counts",
    "simulate",
    "simulate_reference",
    "storm",
    "target_from_dict",
    "target_to_dict",
]


def __getattr__(name: str) -> Any:
    """``SimulationResult``: the old name of :class:`SessionOutcomes`, deprecated."""
    if name == "SimulationResult":
        return deprecated_simulation_result(__name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
