"""Calibration: fit a NetworkProfile to observed timings of a known policy.

::

    from chatconn.calibrate import calibrate

    fit = calibrate(live_run, base="broadband")       # or a SessionOutcomes
    fit.profile                  # the base profile with the fitted fields
    fit.values, fit.ks           # rtt_median_s, rtt_sigma, stall_probability, ws_blocked_share
    print(fit.description)

Modules: :mod:`~chatconn.calibrate.fit` (:func:`calibrate`, :class:`Calibration`),
:mod:`~chatconn.calibrate.observed` (input checks, the statistics and the distance),
:mod:`~chatconn.calibrate.parameters` (what can be fitted, starting values),
:mod:`~chatconn.calibrate.search` (Nelder–Mead). Plots: :func:`chatconn.plotdata.calibration_info`,
:func:`chatconn.plots.plot_calibration`.
"""

from __future__ import annotations

from .fit import (
    DEFAULT_BASE_PROFILE,
    DEFAULT_BOOTSTRAP,
    DEFAULT_SIM_SESSIONS,
    Calibration,
    FittedParameter,
    calibrate,
)
from .observed import DISTANCE_TERMS
from .parameters import FIT_PARAMETERS

__all__ = [
    "DEFAULT_BASE_PROFILE",
    "DEFAULT_BOOTSTRAP",
    "DEFAULT_SIM_SESSIONS",
    "DISTANCE_TERMS",
    "FIT_PARAMETERS",
    "Calibration",
    "FittedParameter",
    "calibrate",
]
