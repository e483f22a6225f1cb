"""simulate_split: a simulation cut into parts over an executor, merged exactly (small
sizes here; benchmarks/bench_scale.py runs 10^9 sessions)."""

from __future__ import annotations

from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from chatconn.core.errors import ConfigError
from chatconn.core.presets import policy_preset
from chatconn.core.profiles import load_target, profile_preset
from chatconn.simulate import simulate
from chatconn.split import RELATIVE_RESOLUTION, Tally, plan_parts, simulate_split
from chatconn.streams import BLOCK_SESSIONS

POLICY = policy_preset("seed")
TARGET = load_target("global-users")  # a population: parts per component
SESSIONS = 5 * BLOCK_SESSIONS + 123


@pytest.fixture(scope="module")
def whole():
    return simulate_split(POLICY, TARGET, SESSIONS, seed=7, part_sessions=8 * BLOCK_SESSIONS)


def test_identical_tally_whatever_the_split_and_the_executor(whole):
    for part in (BLOCK_SESSIONS, 2 * BLOCK_SESSIONS, 3 * BLOCK_SESSIONS):
        split = simulate_split(POLICY, TARGET, SESSIONS, seed=7, part_sessions=part)
        assert split.tally == whole.tally, part
    with ThreadPoolExecutor(3) as pool:
        threaded = simulate_split(
            POLICY, TARGET, SESSIONS, seed=7, part_sessions=BLOCK_SESSIONS, executor=pool
        )
    with ProcessPoolExecutor(2) as pool:
        pooled = simulate_split(
            POLICY, TARGET, SESSIONS, seed=7, part_sessions=BLOCK_SESSIONS, executor=pool
        )
    assert threaded.tally == whole.tally == pooled.tally
    assert threaded.parts > whole.parts
    other_seed = simulate_split(POLICY, TARGET, SESSIONS, seed=8)
    assert other_seed.tally != whole.tally


def test_summary_matches_simulate_exactly_on_counts_and_to_a_bin_on_percentiles(whole):
    exact = simulate(POLICY, TARGET, SESSIONS, seed=7).summary()
    split = whole.summary()
    for key in ("sessions", "success_rate", "attempts_mean", "quality", "strategy_share"):
        assert split[key] == exact[key], key
    assert split["time_to_connect_s"]["mean"] == pytest.approx(
        exact["time_to_connect_s"]["mean"], abs=1e-6
    )
    for p in ("p50", "p90", "p95", "p99"):  # the bin of the rank, or its neighbour
        assert split["time_to_connect_s"][p] == pytest.approx(
            exact["time_to_connect_s"][p], rel=3 * RELATIVE_RESOLUTION
        ), p
    assert split["resolution"] == RELATIVE_RESOLUTION


def test_parts_cover_each_component_in_whole_blocks():
    parts = plan_parts(TARGET, SESSIONS, 2 * BLOCK_SESSIONS)
    for component, count in enumerate(TARGET.split(SESSIONS)):
        mine = [p for p in parts if p.component == component]
        assert sum(p.count for p in mine) == count
        assert all(p.first % BLOCK_SESSIONS == 0 for p in mine)


class _Counting(Executor):
    """Runs each task at once, counting how many futures were handed out and not read."""

    def __init__(self) -> None:
        self.unread: set[Future] = set()
        self.most = 0

    def submit(self, fn, /, *args, **kwargs):
        future: Future = Future()
        future.set_result(fn(*args, **kwargs))
        self.unread.add(future)
        self.most = max(self.most, len(self.unread))
        original = future.result

        def result(timeout=None, _f=future, _original=original):
            self.unread.discard(_f)
            return _original(timeout)

        future.result = result  # type: ignore[method-assign]
        return future


def test_at_most_window_parts_in_flight():
    executor = _Counting()
    split = simulate_split(
        POLICY, profile_preset("broadband"), 10 * BLOCK_SESSIONS, seed=1,
        part_sessions=BLOCK_SESSIONS, executor=executor, window=3,
    )  # fmt: skip
    assert split.parts == 10 and executor.most == 3 and not executor.unread


def test_an_empty_tally_has_no_percentile_and_adds_as_zero(whole):
    assert Tally.empty().percentile(50) is None
    assert Tally.empty() + whole.tally == whole.tally


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"sessions": 0}, "sessions"),
        ({"sessions": 1.5}, "sessions"),
        ({"part_sessions": 1000}, "part_sessions"),
        ({"chunk_sessions": BLOCK_SESSIONS + 1}, "chunk_sessions"),
        ({"seed": -1}, "seed"),
        ({"executor": "pool"}, "executor"),
    ],
)
def test_bad_arguments_name_the_field(kwargs, names):
    args = {"sessions": 100, "seed": 0} | kwargs
    with pytest.raises(ConfigError, match=names):
        simulate_split(POLICY, TARGET, args.pop("sessions"), args.pop("seed"), **args)
