"""A calibration's fit, observed against fitted-simulated: :func:`calibration_info`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import ConfigError
from ..core.quality import DEFAULT_THRESHOLDS, QualityThresholds
from ..core.strategies import Strategy
from ._common import QualityBand, _x_range, quality_bands
from .connect import Curve, _curve

#: The shares compared beside the curves, in order.
SHARE_NAMES = ("connected", "connected on attempt 1", "via WebSocket", "via HTTP fallback")
_WS_CODES = np.array([s.code for s in Strategy if s.uses_websocket])


@dataclass(frozen=True, slots=True, eq=False)
class CalibrationInfo:
    """What a calibration's figure shows.

    ``observed``/``fitted``: time-to-connect ECDFs over connected sessions (the observed
    sessions, and the fitted profile simulated) — the same :class:`Curve` as the live vs
    simulated overlay; ``ks`` the calibration's KS distance between them. Per fitted
    parameter (``names`` order): its label, fitted value, closed-form start, the base
    profile's value, bootstrap spread (None without) and a readable ``texts`` entry.
    ``observed_shares``/``fitted_shares`` are the :data:`SHARE_NAMES` shares of all sessions.
    """

    observed: Curve
    fitted: Curve
    ks: float
    names: tuple[str, ...]
    labels: tuple[str, ...]
    values: np.ndarray
    starts: np.ndarray
    base_values: np.ndarray
    spreads: tuple[float | None, ...]
    texts: tuple[str, ...]
    share_names: tuple[str, ...]
    observed_shares: np.ndarray
    fitted_shares: np.ndarray
    base_name: str
    description: str
    bands: tuple[QualityBand, ...]
    x_range: tuple[float, float]
    thresholds: QualityThresholds


def _shares(result: Any) -> np.ndarray:
    connected = np.asarray(result.connected, dtype=bool)
    if not connected.size:
        return np.zeros(len(SHARE_NAMES))
    via_ws = connected & np.isin(result.strategy, _WS_CODES)
    return np.array(
        [
            connected.mean(),
            (connected & (np.asarray(result.attempts) == 1)).mean(),
            via_ws.mean(),
            (connected & ~via_ws).mean(),
        ]
    )


def calibration_info(
    calibration: Any, thresholds: QualityThresholds = DEFAULT_THRESHOLDS
) -> CalibrationInfo:
    """ECDFs, KS, shares and fitted parameters of a :class:`~chatconn.calibrate.Calibration`."""
    needed = ("observed", "simulated", "parameters", "ks", "base", "description")
    if not all(hasattr(calibration, name) for name in needed):
        raise ConfigError("calibration", type(calibration).__name__, "expected a Calibration")
    curves = (
        _curve("observed", calibration.observed),
        _curve("fitted (simulated)", calibration.simulated),
    )
    params = calibration.parameters
    x_range = _x_range([c.x for c in curves], thresholds)
    return CalibrationInfo(
        observed=curves[0],
        fitted=curves[1],
        ks=float(calibration.ks),
        names=tuple(p.name for p in params),
        labels=tuple(p.label for p in params),
        values=np.array([p.value for p in params]),
        starts=np.array([p.start for p in params]),
        base_values=np.array([p.base for p in params]),
        spreads=tuple(p.spread for p in params),
        texts=tuple(p.text() for p in params),
        share_names=SHARE_NAMES,
        observed_shares=_shares(calibration.observed),
        fitted_shares=_shares(calibration.simulated),
        base_name=calibration.base.name,
        description=calibration.description,
        bands=quality_bands(thresholds, x_range),
        x_range=x_range,
        thresholds=thresholds,
    )
