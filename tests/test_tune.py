"""chatconn.tune: grids, scores against first principles, sweeps on any executor, the Pareto
front on hand-made points, objectives, recommendations, and the Pareto chart's info."""

from __future__ import annotations

import math
import pickle
import threading
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import plotly.graph_objects as go
import pytest
from helpers import heading

import chatconn.tune
from chatconn.core.errors import ConfigError, UnknownNameError
from chatconn.core.policy import JitterMode, RetryPolicy
from chatconn.core.presets import policy_preset
from chatconn.core.profiles import NetworkProfile, load_target
from chatconn.core.schedule import nominal_timeouts
from chatconn.lockstep import lockstep
from chatconn.plotdata import ParetoInfo, pareto_info
from chatconn.plots import NO_POLICY, figure_from_info, pareto_figure, plot_pareto
from chatconn.tune import (
    DEFAULT_OBJECTIVE,
    DEFAULT_PARETO_OBJECTIVES,
    METRICS,
    Constraint,
    Goal,
    GridPoint,
    Objective,
    ParameterGrid,
    ScoredPolicy,
    Scores,
    ScoreSettings,
    SweepResult,
    pareto_front,
    pareto_mask,
    parse_objective,
    recommend,
    score_policy,
    sweep,
)

SEED = policy_preset("seed")
# A small, quick sweep: 2 x 2 policies plus one clash (max_delay 0.75 < initial_delay 2).
SMALL_GRID = {"initial_delay": [0.5, 2.0], "jitter": [0.0, 0.5], "max_delay": [0.75, 30.0]}
SMALL = {"sessions": 2_000, "seed": 3, "clients": 300, "outage_s": 10.0, "capacity": 100}


@pytest.fixture(scope="module")
def serial():
    return sweep(SEED, SMALL_GRID, "global-users", **SMALL)


# --------------------------------------------------------------------------- grid
def test_grid_is_every_combination_last_field_fastest():
    grid = ParameterGrid({"initial_delay": [0.5, 1, 2], "jitter_mode": ["none", "full"]})
    assert grid.size == len(grid) == 6
    assert grid.fields == ("initial_delay", "jitter_mode")
    combos = grid.combinations()
    assert combos[0] == (("initial_delay", 0.5), ("jitter_mode", JitterMode.NONE))
    assert combos[1] == (("initial_delay", 0.5), ("jitter_mode", JitterMode.FULL))
    assert combos[2][0] == ("initial_delay", 1.0)
    points = grid.points(SEED)
    assert [p.index for p in points] == list(range(6))
    assert all(p.ok and p.reason is None for p in points)
    assert points[5].policy == SEED.with_changes(initial_delay=2.0, jitter_mode="full")
    assert points[5].label == "initial_delay=2, jitter_mode=full"
    assert grid.to_dict() == {"initial_delay": [0.5, 1.0, 2.0], "jitter_mode": ["none", "full"]}


def test_no_axes_is_the_base_alone():
    (point,) = ParameterGrid({}).points(SEED)
    assert point.policy == SEED and point.label == "base" and point.changes == ()


@pytest.mark.parametrize(
    ("axes", "field"),
    [
        ({"jitter": [0.2, 1.5]}, "jitter"),
        ({"initial_delay": [-1]}, "initial_delay"),
        ({"max_timeout": [float("nan")]}, "max_timeout"),
        ({"max_attempts": [0]}, "max_attempts"),
        ({"max_attempts": [2.5]}, "max_attempts"),
        ({"jitter_mode": ["full", "weird"]}, "jitter_mode"),
        ({"ladder": [["direct_websocket", "carrier_pigeon"]]}, "ladder"),
        ({"delays": [[]]}, "delays"),
        ({"cap_after_jitter": ["yes"]}, "cap_after_jitter"),
    ],
)
def test_a_value_no_policy_could_have_raises_naming_the_field(axes, field):
    with pytest.raises(ConfigError) as caught:
        ParameterGrid(axes)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}=")


def test_unknown_field_empty_repeated_or_unlisted_values_raise():
    with pytest.raises(UnknownNameError, match="jiter"):
        ParameterGrid({"jiter": [0.1]})
    with pytest.raises(ConfigError, match="at least one value") as caught:
        ParameterGrid({"jitter": []})
    assert caught.value.field == "jitter"
    with pytest.raises(ConfigError, match="listed twice"):
        ParameterGrid({"initial_delay": [1, 1.0]})  # the same value once stored
    with pytest.raises(ConfigError, match="list of values"):
        ParameterGrid({"jitter_mode": "full"})
    with pytest.raises(ConfigError, match="varied twice"):
        ParameterGrid([("jitter", [0.1]), ("jitter", [0.2])])


def test_values_fine_alone_that_clash_are_kept_with_the_reason():
    # max_delay 0.5 is a valid value (with initial_delay 0.25) but not with the seed's 1 s,
    # and max_timeout 10 clashes with the seed's base_timeout of 15 s.
    grid = ParameterGrid({"initial_delay": [0.25, 1.0], "max_delay": [0.5, 30.0]})
    points = grid.points(SEED)
    assert [p.ok for p in points] == [True, True, False, True]
    rejected = points[2]
    assert rejected.policy is None
    assert "max_delay" in rejected.reason and "initial_delay" in rejected.reason
    assert rejected.to_dict()["reason"] == rejected.reason
    (clash,) = ParameterGrid({"max_timeout": [10]}).points(SEED)
    assert not clash.ok and "base_timeout" in clash.reason


def test_grid_size_is_capped_with_a_clear_error():
    axes = {"initial_delay": [0.1 * k for k in range(1, 11)], "jitter": [0.0, 0.25, 0.5, 0.75]}
    expected = r"10 initial_delay × 4 jitter = 40 policies.*limit of 39"
    with pytest.raises(ConfigError, match=expected):
        ParameterGrid(axes, limit=39)
    assert ParameterGrid(axes, limit=40).size == 40
    huge = {name: [1.0 + k for k in range(11)] for name in ("multiplier", "timeout_growth")}
    huge["jitter"] = [k / 10 for k in range(10)]
    with pytest.raises(ConfigError, match="over the limit of 1,000"):
        ParameterGrid(huge)  # 1,210 combinations, over the default limit


# --------------------------------------------------------------------------- scores
def _settings(**changes):
    values = {"sessions": 2_000, "seed": 1, "clients": 300, "outage_s": 10.0}
    values |= {"capacity_per_s": 100} | changes
    return ScoreSettings(**values)


def test_a_policy_without_jitter_sends_every_client_in_the_same_second():
    # No jitter: every client follows the same schedule, so after the outage all of them
    # retry at the same instant.
    steady = SEED.with_changes(jitter=0.0)
    scores = score_policy(steady, load_target("broadband"), _settings())
    assert scores.peak_per_s == 300
    assert scores.peak_over_capacity == 3.0
    jittered = score_policy(SEED.with_changes(jitter=0.5), load_target("broadband"), _settings())
    assert jittered.peak_per_s < 300


def test_success_counts_only_what_the_deadline_or_within_s_allows():
    # Behind the corporate firewall the seed's first four rungs (WebSocket x2, extended
    # timeout, alternative ports) all hang until their timeouts: nobody connects before them.
    firewall = load_target("corporate-firewall")
    floor = float(nominal_timeouts(SEED)[:4].sum())  # 15 + 21 + 120 + 41.16 s
    free = score_policy(SEED, firewall, _settings())
    assert free.success_rate == 1.0
    assert free.p50_s > floor
    assert score_policy(SEED, firewall, _settings(within_s=floor)).success_rate == 0.0
    assert score_policy(SEED, firewall, _settings(within_s=1e6)).success_rate == 1.0
    limited = score_policy(SEED.with_changes(deadline=floor), firewall, _settings())
    assert limited.success_rate == 0.0
    assert limited.p50_s is None and limited.p95_s is None


def test_success_rate_is_the_share_not_stalled_for_a_single_attempt():
    one_shot = RetryPolicy(max_attempts=1, base_timeout=5.0, max_timeout=5.0)
    half = NetworkProfile("half-stall", rtt_sigma=0.0, stall_probability=0.5)
    scores = score_policy(one_shot, half, _settings(sessions=4_000))
    assert scores.attempts_mean == 1.0
    assert abs(scores.success_rate - 0.5) < 4 * math.sqrt(0.25 / 4_000)


def test_common_random_numbers_policies_differing_after_attempt_one_share_the_median():
    # Most broadband sessions connect on their first attempt, which no wait touches: with
    # the same seed those sessions have identical times under both policies.
    broadband = load_target("broadband")
    a = score_policy(SEED.with_changes(jitter=0.0), broadband, _settings())
    b = score_policy(SEED.with_changes(jitter=0.9, initial_delay=3.0), broadband, _settings())
    assert a.p50_s == b.p50_s
    assert a.attempts_mean == b.attempts_mean
    again = score_policy(SEED.with_changes(jitter=0.0), broadband, _settings())
    assert again == a


def test_settings_are_validated():
    with pytest.raises(ConfigError, match="sessions"):
        ScoreSettings(sessions=0)
    with pytest.raises(ConfigError, match="within_s"):
        ScoreSettings(within_s=0)
    with pytest.raises(ConfigError, match="capacity_per_s") as caught:
        ScoreSettings(clients=1_000_000, capacity_per_s=1)
    assert "horizon" in str(caught.value)


def test_scores_to_dict_names_every_metric():
    scores = score_policy(SEED, load_target("fiber"), _settings())
    assert set(scores.to_dict()) == set(METRICS) | {"lockstep"}  # + the verdict
    assert scores.get("peak_per_s") == float(scores.peak_per_s)
    with pytest.raises(UnknownNameError, match="p96_s"):
        scores.get("p96_s")


def test_what_a_sweep_submits_pickles():
    settings = _settings()
    for value in (SEED, load_target("global-users"), settings, score_policy):
        assert pickle.loads(pickle.dumps(value)) == value


# --------------------------------------------------------------------------- sweep
def test_sweep_scores_valid_points_in_grid_order_and_reports_clashes(serial):
    assert [s.index for s in serial.scored] == [0, 1, 2, 3, 5, 7]
    assert [p.index for p in serial.failures] == [4, 6]
    assert all("max_delay" in p.reason for p in serial.failures)
    assert serial.policies[0] == SEED.with_changes(initial_delay=0.5, jitter=0.0, max_delay=0.75)
    assert serial.target == "global-users"
    assert serial.settings.capacity_per_s == 100
    report = serial.to_dict()
    assert [p["index"] for p in report["policies"]] == [0, 1, 2, 3, 5, 7]
    assert [r["index"] for r in report["rejected"]] == [4, 6]
    assert set(report["pareto_front"]) <= {0, 1, 2, 3, 5, 7}


def _equal(a: SweepResult, b: SweepResult) -> None:
    assert a.scores == b.scores
    assert [s.point for s in a.scored] == [s.point for s in b.scored]
    assert a.failures == b.failures


def test_any_executor_gives_the_serial_scores(serial):
    with ThreadPoolExecutor(max_workers=2) as pool:
        _equal(sweep(SEED, SMALL_GRID, "global-users", executor=pool, **SMALL), serial)
    with ProcessPoolExecutor(max_workers=2) as pool:
        _equal(sweep(SEED, SMALL_GRID, "global-users", executor=pool, **SMALL), serial)


def test_a_dask_cluster_gives_the_serial_scores(serial):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        result = sweep(SEED, SMALL_GRID, "global-users", executor=client.get_executor(), **SMALL)
    _equal(result, serial)
    assert cluster.status.name == "closed"


class ReverseExecutor(Executor):
    """Completes the submitted work in reverse order once ``expected`` tasks are in."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.tasks: list[tuple[Future, object, tuple]] = []
        self.finished: list[int] = []

    def submit(self, fn, /, *args, **kwargs):
        future: Future = Future()
        self.tasks.append((future, fn, args))
        if len(self.tasks) == self.expected:
            threading.Thread(target=self._run).start()
        return future

    def _run(self) -> None:
        for number, (future, fn, args) in reversed(list(enumerate(self.tasks))):
            future.set_result(fn(*args))
            self.finished.append(number)


def test_results_come_back_in_grid_order_whatever_order_they_finish_in(serial):
    executor = ReverseExecutor(expected=len(serial.scored))
    result = sweep(SEED, SMALL_GRID, "global-users", executor=executor, **SMALL)
    assert executor.finished == list(range(len(serial.scored)))[::-1]
    _equal(result, serial)


def test_sweep_input_is_validated():
    with pytest.raises(ConfigError, match="executor"):
        sweep(SEED, {"jitter": [0.1]}, "fiber", executor=object(), sessions=10)
    with pytest.raises(UnknownNameError, match="nowhere"):
        sweep(SEED, {"jitter": [0.1]}, "nowhere", sessions=10)
    with pytest.raises(ConfigError, match="base"):
        sweep("seed", {"jitter": [0.1]}, "fiber", sessions=10)
    with pytest.raises(ConfigError, match="sessions"):
        sweep(SEED, {"jitter": [0.1]}, "fiber", sessions=0)


# --------------------------------------------------------------------------- pareto
def test_pareto_front_by_dominance():
    points = [[1, 5], [2, 4], [3, 3], [2, 5], [4, 4]]
    # [2, 5] loses to [1, 5]; [4, 4] loses to [2, 4]; the others trade off.
    assert pareto_front(points).tolist() == [0, 1, 2]
    np.testing.assert_array_equal(pareto_mask(points), [True, True, True, False, False])


def test_pareto_ties_stay_and_a_single_point_is_its_own_front():
    assert pareto_front([[1, 1], [1, 1], [2, 2]]).tolist() == [0, 1]
    assert pareto_front([[3.0, 7.0]]).tolist() == [0]
    assert pareto_front(np.empty((0, 2))).tolist() == []


def test_pareto_directions_and_missing_values():
    # success (higher is better) breaks the tie on time.
    assert pareto_front([[1, 0.90], [1, 0.95]], ["lower", "higher"]).tolist() == [1]
    # NaN is the worst value: [nan, 1] loses to [5, 1], but [nan, 0] is best on column 2.
    assert pareto_front([[np.nan, 1], [5, 1]]).tolist() == [1]
    assert pareto_front([[np.nan, 0], [5, 1]]).tolist() == [0, 1]
    with pytest.raises(ConfigError, match="lower"):
        pareto_front([[1, 2]], ["lower", "sideways"])
    with pytest.raises(ConfigError, match="one direction per column"):
        pareto_front([[1, 2]], ["lower"])


# --------------------------------------------------------------------------- hand-made sweeps
def _scores(p95, peak, success=0.999, attempts=1.1):
    return Scores(
        p50_s=p95 / 4,
        p95_s=p95,
        success_rate=success,
        attempts_mean=attempts,
        peak_per_s=round(peak * 1000),
        peak_over_capacity=peak,
        reconnected_99_s=40.0,
        storm_back_share=1.0,
        lockstep_share=0.1,
        in_step_share=0.1,
        lockstep="spread",
    )


def made(rows, rejected=0) -> SweepResult:
    """A sweep over initial_delay 1, 2, ... with the given scores (p95, peak, success)."""
    delays = [float(k + 1) for k in range(len(rows) + rejected)]
    grid = ParameterGrid({"initial_delay": delays}) if delays else ParameterGrid({})
    scored, failures = [], []
    for index, delay in enumerate(delays):
        changes = (("initial_delay", delay),)
        if index < len(rows):
            point = GridPoint(index, changes, SEED.with_changes(initial_delay=delay))
            scored.append(ScoredPolicy(point, _scores(*rows[index])))
        else:
            failures.append(GridPoint(index, changes, None, "initial_delay clashes"))
    settings = ScoreSettings(sessions=1_000, clients=1_000, capacity_per_s=1_000)
    return SweepResult(SEED, grid, "hand-made", settings, tuple(scored), tuple(failures))


# A fast but storm-prone policy, a slow gentle one, one in between with lower success, and
# the gentlest and slowest.
MENU = made([(2.0, 5.0, 0.999), (3.0, 1.5, 0.999), (2.5, 1.9, 0.95), (4.0, 1.0, 0.999)])


def test_sweep_front_uses_each_metrics_direction():
    assert MENU.front(("p95_s", "peak_over_capacity")) == (0, 1, 2, 3)
    assert MENU.front(("p95_s", "success_rate")) == (0,)
    assert MENU.front(("peak_per_s", "success_rate")) == (3,)
    assert MENU.front() == MENU.front(DEFAULT_PARETO_OBJECTIVES) == (0, 1, 2, 3)


def test_recommend_the_fastest_within_the_storm_limit():
    rec = recommend(MENU, "min p95_s; peak_over_capacity <= 2")
    assert rec.chosen.index == 2
    assert rec.policy == SEED.with_changes(initial_delay=3.0)
    assert rec.scores.p95_s == 2.5
    assert [r.index for r in rec.runners_up] == [1, 3]
    assert rec.best_overall.index == 0
    assert rec.feasible == 3 and rec.total == 4 and rec.met_by == (3,)
    text = rec.explanation
    assert text.startswith("Recommended: #2 (initial_delay=3).")
    assert "95 % of the users who connect do so within 2.50 s" in text
    assert "#0 (initial_delay=1), reaches 2.00 s" in text
    assert "5.00 × capacity in the busiest second after the outage" in text
    assert "over your limit of 2.00 × capacity" in text
    assert "Runners-up: #1 (initial_delay=2) at 3.00 s, #3 (initial_delay=4) at 4.00 s." in text


def test_recommend_with_a_success_floor_and_percent_syntax():
    rec = recommend(MENU, "min p95_s; peak_over_capacity <= 2; success_rate >= 99%")
    assert rec.chosen.index == 1
    assert [r.index for r in rec.runners_up] == [3]
    assert rec.met_by == (3, 3)
    assert rec.to_dict()["chosen"]["scores"]["p95_s"] == 3.0


def test_recommend_without_constraints_is_the_best_overall():
    rec = recommend(MENU, Objective("p95_s"))
    assert rec.chosen is rec.best_overall and rec.chosen.index == 0
    assert "#0 (initial_delay=1)" in rec.explanation
    assert "over your limit" not in rec.explanation


def test_recommend_ties_break_on_the_default_objectives_then_grid_order():
    tied = made([(3.0, 1.5), (3.0, 1.2), (3.0, 1.2)])
    assert recommend(tied, "min p95_s").chosen.index == 1
    # max success: #1 and #3 tie at 0.999; #1 is faster.
    assert recommend(MENU, "max success_rate; peak_over_capacity <= 2").chosen.index == 1


def test_when_nothing_qualifies_the_closest_policy_is_named():
    rec = recommend(MENU, "min p95_s; peak_over_capacity <= 0.5")
    assert rec.chosen is None and rec.policy is None and rec.feasible == 0
    assert rec.closest.index == 3  # 1.0 x capacity: the smallest shortfall
    text = rec.explanation
    assert text.startswith("No policy meets all your constraints (peak_over_capacity <= 0.5).")
    assert "met by none of the 4 policies; the nearest reaches 1.00 × capacity" in text
    assert "The closest is #3 (initial_delay=4)" in text
    assert rec.to_dict()["chosen"] is None


def test_when_each_limit_is_met_alone_but_not_together_it_says_so():
    rec = recommend(MENU, "min attempts_mean; peak_over_capacity <= 1.6; p95_s <= 2.2")
    assert rec.chosen is None
    assert rec.met_by == (2, 1)
    assert "Each limit alone is met by some policy, but no policy meets them all." in (
        rec.explanation
    )


def test_recommend_on_a_sweep_with_nothing_scored_explains_instead_of_raising():
    rec = recommend(made([], rejected=2))
    assert rec.chosen is None and rec.closest is None and rec.total == 0
    assert "all 2 combinations of the grid were rejected" in rec.explanation
    with pytest.raises(ConfigError, match="SweepResult"):
        recommend({"not": "a result"})
    with pytest.raises(ConfigError, match="objective"):
        recommend(MENU, "p95_s <= 3")  # no goal


def test_recommend_on_a_real_sweep(serial):
    rec = recommend(serial, DEFAULT_OBJECTIVE)
    assert rec.total == len(serial.scored)
    meeting = [s for s in serial.scored if s.scores.peak_over_capacity <= 2]
    if meeting:
        assert rec.chosen is not None and rec.chosen.scores.peak_over_capacity <= 2
        assert rec.chosen.scores.p95_s == min(s.scores.p95_s for s in meeting)
    else:
        assert rec.chosen is None and rec.closest is not None
    assert rec.explanation


# --------------------------------------------------------------------------- objective
def test_objective_text_round_trips():
    text = "min p95_s; peak_over_capacity <= 2; success_rate >= 99.5%"
    objective = parse_objective(text)
    assert objective == Objective(
        "p95_s",
        Goal.MIN,
        (Constraint("peak_over_capacity", "<=", 2), Constraint("success_rate", ">=", 0.995)),
    )
    assert parse_objective(str(objective)) == objective
    assert str(DEFAULT_OBJECTIVE) == "min p95_s; peak_over_capacity <= 2"
    spaced = parse_objective("  ;peak_per_s<=1500 ;;  MAXIMISE   success_rate ;")
    assert spaced == Objective("success_rate", Goal.MAX, (Constraint("peak_per_s", "<=", 1500),))


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("peak_over_capacity <= 2", "no goal"),
        ("min p95_s; max success_rate", "'max success_rate'"),
        ("min p96_s", "'min p96_s'"),
        ("min p95_s; peak <= 2", "unknown metric 'peak'"),
        ("min p95_s; p95_s < 3", "'p95_s < 3'"),
        ("min p95_s; p95_s == 3", "use <= or >="),
        ("min p95_s; p95_s <= fast", "'p95_s <= fast'"),
        ("min p95_s; peak_per_s <= 2%", "for shares only"),
        ("min p95_s; peak_per_s <= inf", "finite"),
        ("fastest please", "'fastest please'"),
    ],
)
def test_bad_objective_text_names_the_bad_part(text, names):
    with pytest.raises(ConfigError, match="objective") as caught:
        parse_objective(text)
    assert names in str(caught.value)


def test_objective_objects_are_validated():
    with pytest.raises(ConfigError, match="op"):
        Constraint("p95_s", "<", 3)
    with pytest.raises(ConfigError, match="bound"):
        Constraint("p95_s", "<=", float("nan"))
    with pytest.raises(ConfigError, match="goal"):
        Objective("p95_s", "lowest")


# --------------------------------------------------------------------------- chart
def test_pareto_info_points_front_and_hover():
    info = pareto_info(MENU, "p95_s", "peak_over_capacity")
    np.testing.assert_array_equal(info.x, [2.0, 3.0, 2.5, 4.0])
    np.testing.assert_array_equal(info.y, [5.0, 1.5, 1.9, 1.0])
    np.testing.assert_array_equal(info.index, [0, 1, 2, 3])
    assert info.on_front.all()  # on these two scores every point is a trade-off
    np.testing.assert_array_equal(info.front_x, [2.0, 2.5, 3.0, 4.0])
    np.testing.assert_array_equal(info.front_y, [5.0, 1.9, 1.5, 1.0])
    assert info.recommended is None and info.objective is None
    assert info.x_limits == info.y_limits == ()
    assert info.x_label == "p95 time to connect (s)"
    assert "initial_delay = 3" in info.hover[2] and "2.50 s" in info.hover[2]
    assert info.points == 4 and info.rejected == 0


def test_pareto_info_marks_the_recommendation_and_its_limits():
    info = pareto_info(MENU, objective="min p95_s; peak_over_capacity <= 2; p95_s <= 3.5")
    assert info.recommended == 2
    assert info.y_limits == (2.0,) and info.x_limits == (3.5,)
    assert info.objective == "min p95_s; peak_over_capacity <= 2; p95_s <= 3.5"
    rec = recommend(MENU, "min p95_s; peak_over_capacity <= 0.5")
    assert pareto_info(MENU, objective=rec).recommended is None


def test_pareto_info_front_over_other_objectives():
    info = pareto_info(MENU, objectives=("p95_s", "success_rate"))
    np.testing.assert_array_equal(info.on_front, [True, False, False, False])
    np.testing.assert_array_equal(info.front_x, [2.0])
    with pytest.raises(UnknownNameError):
        pareto_info(MENU, x="speed")


def test_pareto_figure_draws_the_info():
    info = pareto_info(MENU, objective="min p95_s; peak_over_capacity <= 2")
    fig = pareto_figure(info)
    assert isinstance(figure_from_info(info), go.Figure)
    assert [t.name for t in fig.data][::2] == ["policies", "recommended"]
    assert list(fig.data[1].x) == list(info.front_x)
    assert list(fig.data[2].x) == [2.5] and list(fig.data[2].y) == [1.9]
    assert len(fig.layout.shapes) == 1 and fig.layout.shapes[0].y0 == 2.0
    assert "recommended #2" in heading(fig)
    empty = plot_pareto(made([], rejected=1))
    assert [a.text for a in empty.layout.annotations] == [NO_POLICY]
    assert isinstance(info, ParetoInfo)


def test_tune_all_is_sorted_and_complete():
    from test_api import isort_key

    names = chatconn.tune.__all__
    assert list(names) == sorted(names, key=isort_key)
    assert all(hasattr(chatconn.tune, n) for n in names)


def test_a_sweep_flags_the_policies_whose_clients_retry_in_lockstep():
    result = sweep(
        policy_preset("seed"), {"jitter": [0.0, 0.5]}, "fiber",
        sessions=2_000, seed=1, clients=2_000, outage_s=10, capacity=1_000,
    )  # fmt: skip
    still, jittered = (s.scores for s in result.scored)
    assert still.lockstep == "lockstep" and still.lockstep_share == 1.0
    assert jittered.lockstep != "lockstep" and jittered.lockstep_share < 0.5
    assert (
        still.lockstep_share
        == lockstep(
            policy_preset("seed").with_changes(jitter=0.0), clients=2_000, seed=1
        ).worst_share
    )
    # ... and an objective can keep them out.
    rec = recommend(result, "min p95_s; lockstep_share <= 0.2")
    assert rec.policy == policy_preset("seed").with_changes(jitter=0.5)


def test_every_metric_can_be_explained_in_a_sentence():
    from chatconn.tune.explain import describe

    for name in METRICS:
        assert describe(name, 0.5)  # a clause for each metric, limits included


def test_a_lockstep_limit_that_the_fastest_policy_misses_is_explained():
    result = sweep(
        policy_preset("seed"), {"jitter": [0.0, 0.5]}, "fiber",
        sessions=2_000, seed=1, clients=2_000, outage_s=10, capacity=1_000,
    )  # fmt: skip
    rec = recommend(result, "min peak_per_s; lockstep_share <= 0.01")
    assert rec.chosen is None  # even jitter 0.5 leaves more than 1 % together
    assert "of its dropped clients retry within the same 100 ms" in rec.explanation


def test_a_share_bound_outside_zero_to_one_is_refused():
    with pytest.raises(ConfigError, match="did you mean 99%"):
        parse_objective("min p95_s; success_rate >= 99")
    with pytest.raises(ConfigError, match=r"lies in \[0, 1\]"):
        parse_objective("min p95_s; lockstep_share <= 150%")
    assert parse_objective("min p95_s; in_step_share <= 0.5").constraints[0].bound == 0.5


def test_storm_back_share_scores_the_clients_that_gave_up():
    # The seed app's 6 attempts are spent inside a 30 s outage: its storm has no peak at
    # all, because nobody is left to come back — storm_back_share says so.
    settings = ScoreSettings(sessions=2_000, clients=2_000, outage_s=30.0, capacity_per_s=500)
    target = load_target("broadband")
    gives_up = score_policy(policy_preset("seed"), target, settings)
    assert gives_up.storm_back_share == 0.0 and gives_up.peak_per_s == 0
    assert gives_up.reconnected_99_s is None
    forever = policy_preset("seed").with_changes(retries_forever=True)
    keeps_going = score_policy(forever, target, settings)
    assert keeps_going.storm_back_share == 1.0 and keeps_going.peak_per_s > 0
    assert METRICS["storm_back_share"].better == "higher"
