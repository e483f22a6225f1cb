"""SessionOutcomes: the one per-session result type, and its deprecated old name."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest

from chatconn import ConfigError, SessionOutcomes, load_target, policy_preset, simulate


def _outcomes(kind: str) -> SessionOutcomes:
    empty = np.zeros(0)
    return SessionOutcomes(
        policy=policy_preset("seed"),
        target="test",
        seed=0,
        profile_names=("test",),
        connected=empty.astype(bool),
        ended_at=empty,
        attempts=empty.astype(np.int16),
        strategy=empty.astype(np.int8),
        last_error=empty.astype(np.int8),
        profile=empty.astype(np.int8),
        kind=kind,
    )


def test_simulate_returns_simulated_session_outcomes():
    result = simulate(policy_preset("seed"), load_target("3g"), sessions=50, seed=1)
    assert type(result) is SessionOutcomes and result.kind == "simulated"


@pytest.mark.parametrize("kind", ["simulated", "live", "observed"])
def test_each_kind_of_outcomes_is_accepted(kind):
    assert _outcomes(kind).kind == kind


def test_an_unknown_kind_is_named():
    with pytest.raises(ConfigError, match=r"kind.*'replayed'.*simulated, live, observed"):
        _outcomes("replayed")


@pytest.mark.parametrize("name", ["chatconn", "chatconn.simulate"])
def test_simulation_result_is_a_deprecated_alias(name):
    module = importlib.import_module(name)  # chatconn.simulate is also the function's name
    with pytest.warns(DeprecationWarning, match=r"SimulationResult is deprecated.*SessionOutcomes"):
        alias = module.SimulationResult
    assert alias is SessionOutcomes


def test_the_old_import_statement_still_works_with_a_warning():
    with pytest.warns(DeprecationWarning):
        from chatconn.simulate import SimulationResult
    assert SimulationResult is SessionOutcomes


def test_star_import_and_other_names_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        namespace: dict[str, object] = {}
        exec("from chatconn import *", namespace)
        assert namespace["SessionOutcomes"] is SessionOutcomes
        assert "SimulationResult" not in namespace
    with pytest.raises(AttributeError, match="no attribute 'SimulationOutcome'"):
        importlib.import_module("chatconn.simulate").SimulationOutcome  # noqa: B018
