"""The pure core: policy, schedule, planner, profiles, model, quality, errors.

Imports nothing from asyncio, websockets, httpx, plotly or ipywidgets, and reads no
clock and no global random state: time and a ``numpy.random.Generator`` are passed in.
"""

from .errors import (
    ChatconnError,
    ConfigError,
    RunFileError,
    RunFileWarning,
    SimulationError,
    UnknownNameError,
)
from .planner import AttemptPlan, ConnectPlanner, GiveUp, GiveUpReason
from .policy import JitterMode, RetryPolicy, WaitAnchor
from .presets import POLICY_PRESETS, policy_preset, policy_preset_name_of, policy_preset_names
from .profiles import (
    FaultMode,
    NetworkProfile,
    Outage,
    Population,
    load_target,
    population_names,
    population_preset,
    profile_names,
    profile_preset,
    target_from_dict,
    target_to_dict,
)
from .quality import DEFAULT_THRESHOLDS, Quality, QualityThresholds, classify, quality_counts
from .schedule import Schedule, draw_waits, nominal_timeouts, nominal_waits
from .strategies import ErrorCategory, Strategy

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
    "SimulationError",
    "Strategy",
    "UnknownNameError",
    "WaitAnchor",
    "classify",
    "draw_waits",
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
    "target_from_dict",
    "target_to_dict",
]
