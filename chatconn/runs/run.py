"""A run read back from its file: :class:`RunHeader` (what ran, where, with which
versions) and :class:`Run` (the header, the per-session arrays, the attempt records).

:func:`chatconn.runs.load_run` makes them; everything that takes a simulation takes a
``Run``'s ``result``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.diagnostics import harness_connects
from ..core.harness import HarnessFloor
from ..core.policy import RetryPolicy
from ..core.profiles import NetworkProfile, Population, target_from_dict
from ..outcomes import SessionOutcomes
from ..records import AttemptRecord
from .format import FORMAT, KINDS, VERSION

__all__ = ["Run", "RunHeader"]


@dataclass(frozen=True, slots=True)
class RunHeader:
    """A run file's first line, parsed: what ran, where, with which versions."""

    kind: str
    policy: RetryPolicy | None  # None: an observed client whose policy is not known
    policy_name: str | None
    target: NetworkProfile | Population | None
    target_name: str
    seed: int
    sessions: int
    time_scale: float
    target_url: str | None
    started_at: str
    host: str
    versions: dict[str, Any]
    extra: dict[str, Any]
    #: Live runs against a lab: the harness floor measured before the run and the time
    #: scale chosen from it (None for older files, simulations and real servers).
    harness: HarnessFloor | None = None
    scale_choice: dict[str, Any] | None = None
    #: The attempt a connect's bound is counted at (:attr:`LiveRun.plan` ``.attempts``).
    bound_attempts: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunHeader:
        """Validate a header line; raises ValueError/ChatconnError saying what is wrong."""
        if data.get("format") != FORMAT:
            raise ValueError(f"not a chatconn run header (format {data.get('format')!r})")
        if data.get("version") != VERSION:
            raise ValueError(
                f"run format version {data.get('version')!r}; this chatconn reads {VERSION}"
            )
        if data.get("kind") not in KINDS:
            raise ValueError(f"kind {data.get('kind')!r} is not one of {', '.join(KINDS)}")
        for name in ("policy", "seed", "sessions", "time_scale", "started_at", "target_name"):
            if name not in data:
                raise ValueError(f"the header has no {name!r}")
        observed = data["kind"] == "observed"  # real clients: sessions unknown up front
        seed, sessions, scale = data["seed"], data["sessions"], data["time_scale"]
        if not _whole(seed) or seed < 0:
            raise ValueError(f"seed {seed!r} is not a whole number >= 0")
        if not _whole(sessions) or sessions < (0 if observed else 1):
            raise ValueError(f"sessions {sessions!r} is not a whole number >= 1")
        if not _number(scale) or scale <= 0:
            raise ValueError(f"time_scale {scale!r} is not a number > 0")
        if not isinstance(data["policy"], dict) and not (observed and data["policy"] is None):
            raise ValueError("policy is not a mapping of policy fields")
        for name in ("started_at", "target_name"):
            if not isinstance(data[name], str):
                raise ValueError(f"{name} {data[name]!r} is not text")
        for name in ("policy_name", "target_url", "host"):
            if data.get(name) is not None and not isinstance(data[name], str):
                raise ValueError(f"{name} {data[name]!r} is not text")
        for name in ("versions", "extra"):
            if data.get(name) is not None and not isinstance(data[name], dict):
                raise ValueError(f"{name} is not a mapping")
        policy = RetryPolicy.from_dict(data["policy"]) if data["policy"] is not None else None
        harness = data.get("harness")
        if harness is not None and (
            not isinstance(harness, dict)
            or not isinstance(harness.get("floor"), dict)
            or not isinstance(harness.get("time_scale", {}), dict)
            or not _number(harness.get("attempts", 1.0))
        ):
            raise ValueError("harness is not a mapping with a 'floor' mapping (and attempts)")
        target = data.get("target")
        return cls(
            kind=data["kind"],
            policy=policy,
            policy_name=data.get("policy_name"),
            target=target_from_dict(target) if target is not None else None,
            target_name=str(data["target_name"]),
            seed=seed,
            sessions=sessions,
            time_scale=float(scale),
            target_url=data.get("target_url"),
            started_at=str(data["started_at"]),
            host=str(data.get("host", "")),
            versions=dict(data.get("versions") or {}),
            extra=dict(data.get("extra") or {}),
            harness=HarnessFloor.from_dict(harness["floor"]) if harness else None,
            scale_choice=dict(harness.get("time_scale") or {}) if harness else None,
            bound_attempts=float(harness["attempts"])
            if harness and "attempts" in harness
            else None,
        )


@dataclass(frozen=True, slots=True, eq=False)
class Run:
    """A run read back from its file: the header, per-session arrays, attempt records.

    ``result`` is a :class:`SessionOutcomes` in profile seconds (live runs too), so every
    plot and summary that takes a simulation takes a run. ``records`` are the live
    attempts (empty for simulated runs). ``complete`` is False when the file has no end
    mark (the run was interrupted); ``warnings`` says what the loader skipped or noticed.
    """

    path: Path
    header: RunHeader
    result: SessionOutcomes
    records: tuple[AttemptRecord, ...] = ()
    complete: bool = True
    wall_s: float | None = None
    errors: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    #: The harness floor sampled during the run (from the end mark), if recorded.
    harness_during: HarnessFloor | None = None
    #: Imported observed runs: per label (region, client_version, ...), each session's value.
    segments: dict[str, np.ndarray] = field(default_factory=dict)
    #: Imported observed runs: each session's start, seconds from ``header.started_at``
    #: (NaN: unknown).
    started_s: np.ndarray | None = None
    #: Proxied observed runs: every connection the proxy saw
    #: (:class:`chatconn.observe.ObservedConnection`) and the profile switches
    #: (``{"at_s", "profile"}``) in file order.
    observations: tuple[Any, ...] = ()
    profile_changes: tuple[dict[str, Any], ...] = ()

    @property
    def harness(self) -> HarnessFloor | None:
        """The run's harness floor: before and during the run, merged (None: unmeasured)."""
        before, during = self.header.harness, self.harness_during
        if before is None or during is None:
            return before or during
        return before.merged(during)

    @property
    def bound_s(self) -> float:
        """Profile seconds the harness could add to a connect in this run (0: unmeasured):
        what :func:`chatconn.agreement.compare` allows a live run beyond sampling error."""
        harness = self.harness
        if harness is None:
            return 0.0
        attempts = self.header.bound_attempts
        if attempts is None:  # files from before it was recorded: the run's own p90
            ok = self.result.connected
            attempts = float(np.quantile(self.result.attempts[ok], 0.9)) if ok.any() else 1.0
        policy = self.header.policy  # diagnostics' probes count too (none when observed)
        connects = harness_connects(policy) if policy is not None else 1.0
        return harness.bound_s(self.header.time_scale, attempts, connects)

    @property
    def kind(self) -> str:
        return self.header.kind

    @property
    def policy(self) -> RetryPolicy | None:
        return self.header.policy

    @property
    def label(self) -> str:
        """``policy · profile · kind``, e.g. ``seed · 3g · live``."""
        name = self.header.policy_name or ("client" if self.kind == "observed" else "custom")
        return f"{name} · {self.header.target_name} · {self.kind}"

    @property
    def sessions(self) -> int:
        return self.result.sessions

    def summary(self) -> dict[str, Any]:
        """The simulator's summary of the recorded sessions, plus what the run was."""
        h = self.header
        out = self.result.summary()
        out.pop("elapsed_s", None)
        out.pop("sessions_per_s", None)
        return {
            "file": str(self.path),
            "label": self.label,
            "kind": h.kind,
            "policy": h.policy_name,
            "profile": h.target_name,
            "seed": h.seed,
            "time_scale": h.time_scale,
            "started_at": h.started_at,
            "complete": self.complete,
            "sessions_planned": h.sessions,
            **out,
        }

    def __repr__(self) -> str:
        state = "" if self.complete else ", incomplete"
        return f"Run({str(self.path)!r}, {self.label!r}, sessions={self.sessions}{state})"


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


#: The Python types a column may hold (what json.loads makes of a well-formed file).
