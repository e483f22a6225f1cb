"""Floor probes against a profile that lets nothing through (issue 14's blackhole report).

A blackhole hangs every connection through the lab's proxies, a server that is down
refuses them: floor probes cannot measure the harness there. They must then cost at most
a bounded number of probe timeouts (not 6 probes x 3 transports of them: 22 s measured
before the fix), and the floor is measured on the same lab's profile-free backend ports
instead, recorded as such in the run header.
"""

from __future__ import annotations

import json
import time

import pytest
from helpers import run

from chatconn.core.errors import ConfigError
from chatconn.core.harness import SOURCE_BACKEND, SOURCE_LAB, HarnessFloor
from chatconn.core.presets import policy_preset
from chatconn.core.profiles import profile_preset
from chatconn.core.strategies import Strategy
from chatconn.lab.server import LabServer
from chatconn.live.harness import (
    MAX_FAILED_PROBES,
    floor_strategies,
    measure_floor,
    measure_lab_floor,
    probe_nominal_s,
    probe_timeout_s,
)
from chatconn.live.run import run_live
from chatconn.runs import load_run

SCALE = 0.05
SEED = policy_preset("seed")


def _longest_probe_timeout(profile_name: str) -> float:
    profile = profile_preset(profile_name)
    return max(
        probe_timeout_s(probe_nominal_s(profile, strategy, SCALE))
        for strategy in floor_strategies(SEED.ladder)
    )


def _timed_run(profile_name: str, **kwargs):
    began = time.perf_counter()
    live = run(
        run_live(SEED, 2, seed=5, lab_profile=profile_preset(profile_name), time_scale=SCALE,
                 **kwargs),
        90,
    )  # fmt: skip
    return live, time.perf_counter() - began - live.wall_s


def test_a_blackhole_run_spends_a_bounded_time_outside_its_sessions():
    # Baseline in the same test: a server that is down refuses probes at once and takes the
    # same fallback, so the blackhole may cost only its waited-out probes more — at most
    # MAX_FAILED_PROBES probe timeouts (one, in fact, as none gets through). Before the
    # fix, every one of its 18 probes waited out its timeout (~20 s more).
    down, down_outside = _timed_run("server-down")
    hole, hole_outside = _timed_run("blackhole")
    bound = MAX_FAILED_PROBES * _longest_probe_timeout("blackhole")
    assert hole_outside - down_outside <= bound, (hole_outside, down_outside, bound)
    assert hole.errors == {"TokenUnavailable": 2} and down.errors == {"TokenUnavailable": 2}
    for live in (hole, down):  # and the floor is measured, on the backend, not left at 0
        assert live.plan.floor.source == SOURCE_BACKEND and live.plan.floor.probes > 0


def test_measuring_through_an_outage_stops_at_the_first_probe_nothing_answers():
    profile = profile_preset("blackhole")
    strategies = floor_strategies(SEED.ladder)

    async def scenario():
        async with LabServer(profile, time_scale=SCALE) as lab:
            began = time.perf_counter()
            floor = await measure_floor(
                lab.endpoint, lab.token, profile, SCALE, strategies=strategies, probes=6
            )
            spent = time.perf_counter() - began
            stats = lab.stats()["ports"]
            return floor, spent, sum(port["connections"] for port in stats.values())

    floor, spent, connections = run(scenario())
    assert floor.probes == 0 and not floor.by_strategy and floor.source == SOURCE_LAB
    assert connections == 1  # one probe met the blackhole, and probing stopped there
    # that one probe waited out its timeout (it hung), and no second one was started
    timeout = probe_timeout_s(probe_nominal_s(profile, Strategy.DIRECT_WEBSOCKET, SCALE))
    assert timeout <= spent < 2 * timeout


def test_a_profile_that_lets_no_probe_through_is_measured_on_the_backend_and_says_so(tmp_path):
    out = tmp_path / "down.jsonl"
    live, _ = _timed_run("server-down", out=out)
    floor = live.plan.floor
    assert floor.source == SOURCE_BACKEND and floor.probes == 6 * 3
    assert set(floor.by_strategy) == {"direct_websocket", "long_polling", "sse_fallback"}
    assert "backend" in floor.describe()
    assert live.harness.source == SOURCE_BACKEND  # sampled on the same path during the run
    assert live.harness.probes > floor.probes
    loaded = load_run(out)
    assert loaded.header.harness == floor  # the source is in the run header, read back
    with out.open() as f:
        header = json.loads(f.readline())
    assert "backend ports" in header["harness"]["floor_note"]


def test_a_profile_that_lets_probes_through_is_measured_through_the_proxies():
    profile = profile_preset("corporate-firewall")  # hostile, but floor probes pass it

    async def scenario():
        async with LabServer(profile, time_scale=SCALE) as lab:
            return await measure_lab_floor(
                lab, profile, SCALE, strategies=floor_strategies(SEED.ladder), probes=2
            )

    floor = run(scenario())
    assert floor.source == SOURCE_LAB and floor.probes == 6
    assert "backend" not in floor.describe()


def test_floor_source_round_trips_merges_and_is_checked():
    lab = HarnessFloor(0.002, 0.004, 5, source=SOURCE_LAB)
    backend = HarnessFloor(0.003, 0.005, 4, source=SOURCE_BACKEND)
    assert HarnessFloor.from_dict(backend.to_dict()) == backend
    assert HarnessFloor.from_dict({"connect_p50_s": 0.1}).source == ""  # an older record
    assert lab.merged(HarnessFloor(source=SOURCE_LAB)).source == SOURCE_LAB
    # a floor with no probe does not name the merged floor's path
    assert HarnessFloor(source=SOURCE_LAB).merged(backend).source == SOURCE_BACKEND
    assert lab.merged(backend).source == f"{SOURCE_LAB}+{SOURCE_BACKEND}"
    with pytest.raises(ConfigError, match="source"):
        HarnessFloor(source=3)  # type: ignore[arg-type]
