"""Run records (chatconn.runs): save, load, replay, compare; damage is named, never dropped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import run

from chatconn import load_target, policy_preset, profile_preset, simulate
from chatconn.endpoint import Endpoint
from chatconn.live.run import run_live
from chatconn.plotdata import ks_distance
from chatconn.runs import (
    Run,
    RunFileError,
    RunFileWarning,
    RunWriter,
    attempts_frame,
    compare_runs,
    ks_critical,
    load_run,
    load_runs,
    replay,
    save_run,
    sessions_frame,
    twin_of,
)

ROOT = Path(__file__).resolve().parents[1]
ARRAYS = ("connected", "ended_at", "attempts", "strategy", "last_error", "profile")


def same_arrays(a, b) -> bool:
    return all(np.array_equal(getattr(a, name), getattr(b, name)) for name in ARRAYS)


def load_quietly(path: Path) -> Run:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails: the caller expects a clean file
        return load_run(path)


@pytest.fixture(scope="module")
def live_3g(tmp_path_factory):
    """A small live run on the lab's 3g, recorded as it ran, and its LiveRun."""
    path = tmp_path_factory.mktemp("live") / "live.jsonl"
    live = run(
        run_live(
            policy_preset("seed"),
            12,
            concurrency=6,
            seed=4,
            time_scale=0.2,
            lab_profile=profile_preset("3g"),
            out=path,
            policy_name="seed",
        )
    )
    return path, live


# -- simulated runs: save, load, replay -----------------------------------------------------------
@pytest.mark.parametrize("target", ["3g", "global-users", "corporate-firewall"])
def test_a_saved_simulation_loads_back_and_replays_identically(tmp_path, target):
    result = simulate(policy_preset("socketio"), load_target(target), 3_000, seed=9)
    path = save_run(result, tmp_path / "sim.jsonl")
    loaded = load_quietly(path)
    assert loaded.kind == "simulated" and loaded.complete and loaded.warnings == ()
    assert same_arrays(loaded.result, result)
    assert loaded.header.target == load_target(target)  # the full profile, not just its name
    assert loaded.header.policy == policy_preset("socketio")
    assert loaded.header.policy_name == "socketio"  # found by value among the presets
    assert same_arrays(replay(loaded), result)
    assert loaded.result.summary()["quality"] == result.summary()["quality"]


def test_line_chunking_never_changes_what_is_read_back(tmp_path):
    result = simulate(policy_preset("seed"), load_target("mobile-users"), 2_500, seed=2)
    small = load_quietly(save_run(result, tmp_path / "a.jsonl", chunk=7))
    large = load_quietly(save_run(result, tmp_path / "b.jsonl", chunk=100_000))
    assert same_arrays(small.result, large.result) and same_arrays(small.result, result)
    assert len((tmp_path / "a.jsonl").read_text().splitlines()) == 2 + -(-2_500 // 7)


def test_the_header_records_what_a_reproduction_needs(tmp_path):
    policy = policy_preset("grpc").with_changes(jitter=0.1)
    result = simulate(policy, load_target("satellite"), 100, seed=77)
    path = save_run(result, tmp_path / "runs", policy_name="grpc-tuned")  # a directory
    assert path.parent == tmp_path / "runs" and path.name.startswith("simulated-grpc-tuned-")
    header = json.loads(path.read_text().splitlines()[0])
    assert header["format"] == "chatconn-run" and header["version"] == 1
    assert header["policy"]["jitter"] == 0.1 and header["seed"] == 77
    assert header["target"]["rtt_median_s"] == profile_preset("satellite").rtt_median_s
    assert header["time_scale"] == 1.0 and header["sessions"] == 100
    assert header["host"] and header["started_at"].startswith("20")
    versions = header["versions"]
    assert versions["chatconn"] and versions["python"] == ".".join(map(str, sys.version_info[:3]))
    assert versions["numpy"] == np.__version__
    assert header["codes"]["strategy"]["long_polling"] == 3


def test_a_custom_population_replays_exactly(tmp_path):
    from chatconn import Population

    mix = Population(
        "mine", ((profile_preset("3g"), 3), (profile_preset("fiber"), 7), (profile_preset("4g"), 1))
    )
    result = simulate(policy_preset("seed"), mix, 1_001, seed=5)
    loaded = load_quietly(save_run(result, tmp_path / "mix.jsonl"))
    assert loaded.header.target == mix
    assert same_arrays(replay(loaded), result)


def test_replay_warns_when_the_run_was_recorded_by_another_version(tmp_path):
    result = simulate(policy_preset("seed"), load_target("3g"), 50, seed=1)
    path = save_run(result, tmp_path / "old.jsonl")
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    header["versions"]["chatconn"] = "0.0.1"
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    with pytest.warns(RunFileWarning, match="0.0.1"):
        replay(load_run(path))


def test_a_result_that_does_not_say_what_it_simulated_needs_a_target(tmp_path):
    from dataclasses import replace

    result = replace(simulate(policy_preset("seed"), load_target("3g"), 20), population=None)
    with pytest.raises(ValueError, match="target"):
        save_run(result, tmp_path / "x.jsonl")
    path = save_run(result, tmp_path / "x.jsonl", target=profile_preset("3g"))
    assert same_arrays(replay(load_quietly(path)), result)


# -- live runs ------------------------------------------------------------------------------------
def test_a_live_run_is_recorded_as_it_runs_and_reads_back_whole(live_3g):
    path, live = live_3g
    loaded = load_quietly(path)
    assert loaded.kind == "live" and loaded.complete
    assert same_arrays(loaded.result, live.result)
    assert loaded.records == tuple(sorted(live.records, key=lambda r: records_order(path, r)))
    assert set(loaded.records) == set(live.records)
    assert loaded.header.time_scale == 0.2 and loaded.header.target == profile_preset("3g")
    assert loaded.header.target_url.startswith("ws://127.0.0.1:")
    # Each session's attempts are on file before its outcome.
    kinds = [json.loads(line) for line in path.read_text().splitlines()]
    seen: set[str] = set()
    for line in kinds:
        if line["type"] == "attempt":
            seen.add(line["session"])
        elif line["type"] == "session":
            assert f"s{line['index']}" in seen


def records_order(path: Path, record) -> int:
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    attempts = [(x["session"], x["attempt"]) for x in lines if x["type"] == "attempt"]
    return attempts.index((record.session, record.attempt))


def test_saving_a_live_run_afterwards_gives_the_same_run(live_3g, tmp_path):
    _, live = live_3g
    loaded = load_quietly(save_run(live, tmp_path / "again.jsonl"))
    assert same_arrays(loaded.result, live.result)
    assert set(loaded.records) == set(live.records)
    assert loaded.header.seed == 4 and loaded.errors == live.errors


def test_a_live_run_has_a_simulated_twin_to_compare_with(live_3g, tmp_path):
    path, _ = live_3g
    live = load_quietly(path)
    twin_path = save_run(replay(live, sessions=5_000), tmp_path / "twin.jsonl")
    twin = load_quietly(twin_path)
    assert twin_of(live, [twin, live]) is twin
    other = load_quietly(
        save_run(simulate(policy_preset("seed"), load_target("3g"), 50, seed=5), tmp_path / "o.j")
    )
    assert twin_of(live, [other]) is None  # another seed is not a twin
    rows = compare_runs([live, twin])
    assert rows[0]["twin"] == twin_path.name
    assert rows[0]["ks_to_twin"] == ks_distance(
        live.result.time_to_connect, twin.result.time_to_connect
    )
    assert rows[0]["ks_critical"] == pytest.approx(ks_critical(12, 5_000))
    assert rows[1]["ks_to_twin"] is None


def test_ks_critical_matches_the_tabulated_two_sample_values():
    # c(0.01) = 1.628 and c(0.05) = 1.358 (Smirnov's asymptotic table).
    assert ks_critical(100, 100) == pytest.approx(1.628 * (2 / 100) ** 0.5, rel=1e-3)
    assert ks_critical(40, 10_000, alpha=0.05) == pytest.approx(
        1.358 * (10_040 / 400_000) ** 0.5, rel=1e-3
    )


def test_credentials_and_tokens_never_reach_a_run_file(tmp_path):
    from chatconn.lab.server import LabServer

    async def scenario() -> Path:
        async with LabServer(profile_preset("fiber")) as lab:
            ep = lab.endpoint
            primary = ep.primary.replace("ws://", "ws://alice:pa55word@") + "?token=lab-token"
            secret_ep = Endpoint((primary, *ep.alternatives), ep.http_url)
            out = tmp_path / "real.jsonl"
            await run_live(
                policy_preset("seed"), 3, endpoint=secret_ep, token="lab-token", out=out, seed=1
            )
            return out

    text = run(scenario()).read_text()
    assert "pa55word" not in text and "alice" not in text and "lab-token" not in text
    loaded = load_quietly(tmp_path / "real.jsonl")
    assert loaded.header.target is None and loaded.header.target_name == "live"
    with pytest.raises(ValueError, match="real server"):
        replay(loaded)


def test_a_killed_run_keeps_every_line_written_before_the_kill(tmp_path):
    out = tmp_path / "killed.jsonl"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "chatconn.cli", "run", "--lab", "--profile", "3g",
            "--sessions", "400", "--concurrency", "10", "--time-scale", "0.5", "--out", str(out),
        ],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if out.exists() and out.read_text().count('"type":"session"') >= 3:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the run wrote fewer than 3 sessions in 60 s")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    text = out.read_text()
    written = [json.loads(line) for line in text.splitlines() if line.endswith("}")]
    with pytest.warns(RunFileWarning, match="no end mark"):
        loaded = load_run(out)
    assert not loaded.complete
    assert loaded.sessions == sum(1 for x in written if x["type"] == "session") >= 3
    assert len(loaded.records) == sum(1 for x in written if x["type"] == "attempt")


# -- damage is named, never dropped ---------------------------------------------------------------
@pytest.fixture
def good_file(tmp_path) -> Path:
    result = simulate(policy_preset("seed"), load_target("3g"), 30, seed=3)
    return save_run(result, tmp_path / "good.jsonl", chunk=10)


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines()


def rewrite(path: Path, lines: list[str], *, newline: bool = True) -> None:
    path.write_text("\n".join(lines) + ("\n" if newline else ""))


def test_a_torn_last_line_is_reported_and_skipped(good_file):
    lines = lines_of(good_file)
    rewrite(good_file, [*lines[:-1], lines[-1][:25]], newline=False)
    with pytest.warns(RunFileWarning) as caught:
        loaded = load_run(good_file)
    messages = [str(w.message) for w in caught]
    assert any("line 5: torn last line" in m for m in messages)
    assert any("no end mark" in m for m in messages)
    assert loaded.sessions == 30 and not loaded.complete  # the torn line was the end mark
    assert any("torn" in w for w in loaded.warnings)


def test_a_torn_session_line_loses_only_that_line(good_file):
    lines = lines_of(good_file)
    rewrite(good_file, [*lines[:3], lines[3][:-40]], newline=False)  # cut inside sessions 20-29
    with pytest.warns(RunFileWarning):
        loaded = load_run(good_file)
    assert loaded.sessions == 20


def mutate(line: str, **changes) -> str:
    data = json.loads(line)
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("edit", "line", "needle"),
    [
        (lambda ls: [ls[0], "{not json", *ls[1:]], 2, "not JSON"),
        (lambda ls: [ls[0], ls[1], '{"type": "gossip"}', *ls[2:]], 3, "unknown record type"),
        (lambda ls: [ls[0], ls[2], ls[1], *ls[3:]], 2, "sessions start at 10 but 0"),
        (lambda ls: [ls[0], ls[1], ls[3], *ls[4:]], 3, "start at 20 but 10"),
        (lambda ls: [ls[0], mutate(ls[1], strategy=[9] * 10), *ls[2:]], 2, "strategy value 9"),
        (lambda ls: [ls[0], mutate(ls[1], ended_at=[-1.0] * 10), *ls[2:]], 2, "ended_at value"),
        (lambda ls: [ls[0], mutate(ls[1], attempts=[1] * 9), *ls[2:]], 2, "equal length"),
        (lambda ls: [ls[0], mutate(ls[1], extra=1), *ls[2:]], 2, "'extra'"),
        (lambda ls: [*ls[:3], mutate(ls[4], sessions=30), ls[4]], 4, "counts 30 sessions but 20"),
        (lambda ls: [*ls, ls[1]], 6, "after the end"),
        (lambda ls: [ls[1], *ls[2:]], 1, "line 1 must be the run header"),
        (lambda ls: [mutate(ls[0], version=99), *ls[1:]], 1, "version 99"),
        (lambda ls: [mutate(ls[0], seed=-1), *ls[1:]], 1, "seed -1"),
        (lambda ls: [mutate(ls[0], policy={"jitter": 5}), *ls[1:]], 1, "jitter"),
    ],
)
def test_damage_anywhere_else_is_an_error_naming_file_and_line(good_file, edit, line, needle):
    rewrite(good_file, edit(lines_of(good_file)))
    with pytest.raises(RunFileError) as caught:
        load_run(good_file)
    message = str(caught.value)
    assert message.startswith(f"{good_file}, line {line}: "), message
    assert needle in message
    assert caught.value.line == line and caught.value.path == str(good_file)


@pytest.mark.parametrize(
    ("column", "last", "needle"),
    [
        ("attempts", True, "attempts must hold whole numbers"),  # a bool is not a count
        ("attempts", 1.0, "attempts must hold whole numbers"),
        ("strategy", "0", "strategy must hold whole numbers"),
        ("profile", None, "profile must hold whole numbers"),
        ("last_error", [1], "last_error must hold whole numbers"),
        ("ended_at", False, "ended_at must hold finite numbers of seconds"),
        ("ended_at", float("nan"), "ended_at must hold finite numbers of seconds"),
        ("ended_at", float("-inf"), "ended_at must hold finite numbers of seconds"),
        ("ended_at", "1.5", "ended_at must hold finite numbers of seconds"),
        ("connected", 2, "connected must hold true/false or 1/0"),
        ("connected", None, "connected must hold true/false or 1/0"),
        ("attempts", 99, "attempts value 99 is out of range"),
        ("last_error", -1, "last_error value -1 is out of range"),
    ],
)
def test_every_value_of_a_column_is_checked(good_file, column, last, needle):
    lines = lines_of(good_file)
    values = json.loads(lines[2])[column]
    rewrite(good_file, [*lines[:2], mutate(lines[2], **{column: [*values[:-1], last]}), *lines[3:]])
    with pytest.raises(RunFileError) as caught:
        load_run(good_file)
    assert str(caught.value) == f"{good_file}, line 3: {needle}"


def test_columns_may_hold_true_false_and_whole_seconds(good_file):
    lines = lines_of(good_file)
    data = json.loads(lines[1])
    connected = [bool(v) for v in data["connected"]]
    seconds = [round(v) for v in data["ended_at"]]
    rewrite(good_file, [lines[0], mutate(lines[1], connected=connected, ended_at=seconds),
                        *lines[2:]])  # fmt: skip
    loaded = load_quietly(good_file)
    assert loaded.result.connected[:10].tolist() == connected
    assert loaded.result.ended_at[:10].tolist() == [float(v) for v in seconds]
    assert loaded.result.ended_at.dtype == float and loaded.result.connected.dtype == bool


def test_damaged_live_records_are_named_too(live_3g, tmp_path):
    path, _ = live_3g
    lines = lines_of(path)
    first_session = next(i for i, x in enumerate(lines) if '"type":"session"' in x)
    first_attempt = next(i for i, x in enumerate(lines) if '"type":"attempt"' in x)
    broken = tmp_path / "twice.jsonl"
    rewrite(
        broken, [*lines[: first_session + 1], lines[first_session], *lines[first_session + 1 :]]
    )
    with pytest.raises(RunFileError, match=rf"line {first_session + 2}: session \d+ is recorded"):
        load_run(broken)
    rewrite(broken, [*lines[:first_attempt], mutate(lines[first_attempt], strategy="carrier")])
    with pytest.raises(RunFileError, match=rf"line {first_attempt + 1}: .*'carrier'"):
        load_run(broken)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "empty"),
        (b"a,b,c\n1,2,3\n", "line 1: not a chatconn run file: its first line is not JSON"),
        (b'{"hello": "world"}\n', "line 1: not a chatconn run record"),
        (b'{"type": "run", "format": "other"}\n', "line 1: bad run header"),
        (b"\xff\xfe\x00garbage\n", "line 1: not a chatconn run file: its first line is not UTF-8"),
    ],
)
def test_a_foreign_file_is_named_as_not_a_run(tmp_path, content, needle):
    path = tmp_path / "foreign.jsonl"
    path.write_bytes(content)
    with pytest.raises(RunFileError, match=needle) as caught:
        load_run(path)
    assert str(path) in str(caught.value)


def test_missing_runs_and_empty_directories_are_named(tmp_path):
    with pytest.raises(RunFileError, match=r"nope\.jsonl: no such run file"):
        load_run(tmp_path / "nope.jsonl")
    with pytest.raises(RunFileError, match="no run files"):
        load_runs(tmp_path)
    with pytest.raises(RunFileError, match="no such run file or directory"):
        load_runs(tmp_path / "gone")


def test_load_runs_reads_files_and_directories_in_order(tmp_path):
    for seed in (2, 1):
        result = simulate(policy_preset("seed"), load_target("fiber"), 10, seed=seed)
        save_run(result, tmp_path / "dir" / f"s{seed}.jsonl")
    extra = save_run(simulate(policy_preset("grpc"), load_target("fiber"), 10), tmp_path / "x.j")
    runs = load_runs(tmp_path / "dir", extra)
    assert [r.path.name for r in runs] == ["s1.jsonl", "s2.jsonl", "x.j"]
    assert load_runs([tmp_path / "dir"])[0].header.seed == 1


# -- writing --------------------------------------------------------------------------------------
def test_nothing_is_overwritten_without_force(good_file):
    before = good_file.read_bytes()
    result = simulate(policy_preset("grpc"), load_target("3g"), 5)
    with pytest.raises(RunFileError, match="exists; pass --force"):
        save_run(result, good_file)
    assert good_file.read_bytes() == before
    save_run(result, good_file, force=True)
    assert load_quietly(good_file).header.policy_name == "grpc"


def test_an_unwritable_path_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = simulate(policy_preset("seed"), load_target("3g"), 5)
    with pytest.raises(RunFileError, match=r"file/run\.jsonl: cannot write it"):
        save_run(result, blocker / "run.jsonl")
    with pytest.raises(RunFileError, match="first record must be the run header"):
        RunWriter(tmp_path / "new-dir/").write({"type": "end"})  # a directory: named by header


def test_the_writer_appends_whole_lines_and_refuses_nan(tmp_path):
    with RunWriter(tmp_path / "w.jsonl") as writer:
        writer.write({"type": "run", "n": 1})
        with pytest.raises(RunFileError, match="cannot be written as JSON"):
            writer.write({"type": "session", "ended_at": float("nan")})
        writer.write({"type": "end"})
    assert (tmp_path / "w.jsonl").read_text() == '{"type":"run","n":1}\n{"type":"end"}\n'
    with pytest.raises(RunFileError, match="closed"):
        writer.write({"type": "end"})


# -- frames ---------------------------------------------------------------------------------------
def test_sessions_and_attempts_frames(live_3g, good_file):
    path, live = live_3g
    runs = [load_quietly(path), load_quietly(good_file)]
    frame = sessions_frame(runs)
    assert len(frame) == 12 + 30
    assert list(frame["run"].unique()) == [r.label for r in runs]
    failed = frame[~frame["connected"]]
    assert failed["time_to_connect_s"].isna().all() and failed["strategy"].isna().all()
    ok = frame[frame["connected"]]
    assert np.allclose(ok["time_to_connect_s"], ok["ended_at_s"])
    assert set(frame["profile"]) == {"3g"}
    attempts = attempts_frame(runs)
    assert len(attempts) == len(live.records)
    assert {"run", "strategy", "duration_s", "error_category"} <= set(attempts.columns)
    assert sessions_frame(runs[1])["attempts"].sum() == runs[1].result.attempts.sum()


# -- the command line -----------------------------------------------------------------------------
def test_runs_replay_and_calibrate_commands(good_file, capsys):
    from chatconn.cli import main

    assert main(["runs", str(good_file.parent), "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)["runs"]
    assert listed["file"] == str(good_file) and listed["sessions"] == 30 and listed["complete"]

    assert main(["replay", str(good_file)]) == 0
    assert "replay is identical to the recording, session by session" in capsys.readouterr().out
    assert main(["replay", str(good_file), "--sessions", "60", "--json"]) == 0
    replayed = json.loads(capsys.readouterr().out)
    assert replayed["identical"] is None and replayed["replayed"]["sessions"] == 60

    assert (
        main(["calibrate", str(good_file), "--base", "3g", "--fit", "rtt_median_s", "--json"]) == 0
    )
    fit = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in fit["parameters"]] == ["rtt_median_s"]
    assert fit["file"] == str(good_file) and 0 < fit["profile"]["rtt_median_s"] < 60
    assert main(["calibrate", str(good_file), "--fit", "rtt_median_s,nope"]) == 2
    assert "nope" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("column", "value"), [("attempts", 2**70), ("ended_at", 10**400), ("strategy", -(2**64))]
)
def test_a_number_too_large_is_named_not_an_overflow(good_file, column, value):
    lines = lines_of(good_file)
    data = json.loads(lines[1])
    data[column][3] = value
    rewrite(good_file, [lines[0], json.dumps(data), *lines[2:]])
    with pytest.raises(RunFileError, match=rf"line 2: {column} holds a number too large"):
        load_run(good_file)


def test_the_first_fault_in_file_order_is_the_one_named(good_file):
    lines = lines_of(good_file)
    rewrite(good_file, [lines[0], mutate(lines[1], strategy=[9] * 10), "{not json", *lines[2:]])
    with pytest.raises(RunFileError, match="line 2: strategy value 9"):
        load_run(good_file)


def test_a_run_against_a_lab_you_started_records_its_profile(tmp_path):
    from chatconn.lab.server import LabServer

    async def scenario():
        async with LabServer(profile_preset("fiber"), time_scale=0.5) as lab:
            return await run_live(
                policy_preset("seed"), 3, endpoint=lab.endpoint, token=lab.token,
                profile=lab.profile, time_scale=0.5, seed=2, out=tmp_path / "lab.jsonl",
            )  # fmt: skip

    run(scenario())
    loaded = load_quietly(tmp_path / "lab.jsonl")
    assert loaded.header.target == profile_preset("fiber")
    assert loaded.header.extra["server"] == "lab (started by the caller)"
    assert replay(loaded).sessions == 3
    with pytest.raises(ValueError, match="endpoint"):
        run(run_live(policy_preset("seed"), 1, lab_profile=profile_preset("3g"),
                     profile=profile_preset("3g")))  # fmt: skip


def test_a_directory_is_read_without_its_subdirectories(tmp_path):
    result = simulate(policy_preset("seed"), load_target("fiber"), 10, seed=1)
    save_run(result, tmp_path / "a.jsonl")
    save_run(result, tmp_path / "mine" / "b.jsonl")
    assert [r.path.name for r in load_runs(tmp_path)] == ["a.jsonl"]
    assert [r.path.name for r in load_runs(tmp_path / "mine")] == ["b.jsonl"]


def test_runs_saved_to_one_directory_never_replace_each_other(tmp_path):
    from chatconn.runs.format import run_header

    header = run_header(
        "simulated", policy=policy_preset("seed"), target=profile_preset("fiber"), seed=1,
        sessions=1, policy_name="custom", started_at="2026-11-26T10:00:00+00:00",
    )  # fmt: skip
    paths = []
    for _ in range(3):  # the same name each time; force never replaces in a directory
        with RunWriter(tmp_path, force=True) as writer:
            writer.write(header)
        paths.append(writer.path.name)
    stem = "simulated-custom-fiber-seed1-20261126T100000"
    assert paths == [f"{stem}.jsonl", f"{stem}-2.jsonl", f"{stem}-3.jsonl"]
    a = simulate(policy_preset("seed").with_changes(jitter=0.1), load_target("fiber"), 20)
    b = simulate(policy_preset("seed").with_changes(jitter=0.3), load_target("fiber"), 20)
    first = save_run(a, tmp_path / "api", policy_name="custom")
    second = save_run(b, tmp_path / "api", policy_name="custom", force=True)
    assert first != second and load_quietly(first).header.policy.jitter == 0.1


def test_a_record_that_is_not_json_leaves_no_file_behind(tmp_path):
    writer = RunWriter(tmp_path / "x.jsonl")
    with pytest.raises(RunFileError, match="cannot be written as JSON"):
        writer.write({"type": "run", "odd": object()})
    assert not (tmp_path / "x.jsonl").exists()
    RunWriter(tmp_path / "y.jsonl").close()  # opened, nothing written: nothing left
    assert not (tmp_path / "y.jsonl").exists()


def test_force_keeps_the_old_file_until_the_new_run_writes(tmp_path, good_file):
    before = good_file.read_bytes()
    writer = RunWriter(good_file, force=True)
    assert good_file.read_bytes() == before  # a run that fails before it starts loses nothing
    writer.close()
    assert good_file.read_bytes() == before
    with RunWriter(good_file, force=True) as writer:
        writer.write({"type": "run"})
    assert good_file.read_text() == '{"type":"run"}\n'


def test_columns_that_disagree_are_named(good_file):
    lines = lines_of(good_file)
    data = json.loads(lines[1])
    first_ok = data["connected"].index(1)
    data["strategy"][first_ok] = -1
    rewrite(good_file, [lines[0], json.dumps(data), *lines[2:]])
    with pytest.raises(RunFileError, match=rf"line 2: session {first_ok} connected with no strat"):
        load_run(good_file)


def test_an_end_mark_without_wall_time_is_named(good_file):
    lines = lines_of(good_file)
    end = json.loads(lines[-1])
    del end["wall_s"]
    rewrite(good_file, [*lines[:-1], json.dumps(end)])
    with pytest.raises(RunFileError, match=r"line 5: the end mark needs wall_s"):
        load_run(good_file)


def test_a_live_result_is_never_saved_as_a_simulation(live_3g, tmp_path):
    path, live = live_3g
    with pytest.raises(ValueError, match="save the LiveRun"):
        save_run(live.result, tmp_path / "fake-twin.jsonl")
    loaded = load_quietly(path)
    with pytest.raises(ValueError, match="save the LiveRun"):
        save_run(loaded.result, tmp_path / "fake-twin.jsonl")
    copy = save_run(loaded, tmp_path / "copies")  # a loaded run is copied as it is
    assert copy.read_bytes() == path.read_bytes() and copy.name == path.name
    with pytest.raises(RunFileError, match="exists"):
        save_run(loaded, tmp_path / "copies")


def test_replay_takes_an_explicit_session_count(good_file):
    run = load_quietly(good_file)
    assert replay(run).sessions == 30 and replay(run, sessions=7).sessions == 7
    with pytest.raises(ValueError, match="sessions"):
        replay(run, sessions=0)


# -- issue 12: bad input ------------------------------------------------------------------------
@pytest.mark.parametrize("where", [1, 2])
def test_deeply_nested_json_is_a_run_file_error_not_a_recursion_error(good_file, where):
    lines = lines_of(good_file)
    lines[where - 1] = "[" * 100_000 + "]" * 100_000
    rewrite(good_file, lines)
    with pytest.raises(RunFileError, match=rf"line {where}: .*nested too deeply"):
        load_run(good_file)


def test_runs_lists_every_readable_file_and_flags_the_bad_one(good_file, capsys):
    from chatconn.cli import main

    other = save_run(
        simulate(policy_preset("grpc"), load_target("3g"), 20, seed=4), good_file.parent / "b.jsonl"
    )
    bad = good_file.parent / "a-bad.jsonl"  # sorted first: listing must not stop at it
    bad.write_text("[" * 100_000 + "\n")
    assert main(["runs", str(good_file.parent), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert sorted(r["file"] for r in report["runs"]) == sorted([str(good_file), str(other)])
    assert [b["file"] for b in report["bad"]] == [str(bad)]
    assert "line 1" in report["bad"][0]["problem"]
    assert main(["runs", str(good_file.parent)]) == 1
    text = capsys.readouterr().out
    assert f"{bad}\n  BAD: " in text and str(good_file) in text and str(other) in text
    assert main(["runs", str(good_file)]) == 0  # all good: exit 0 as before


def test_close_fsyncs_the_run_file_before_closing_it(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.fstat(fd).st_ino)  # still open: flushed before the close
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    path = tmp_path / "synced.jsonl"
    writer = RunWriter(path)
    writer.write({"type": "run"})
    assert synced == []  # lines reach the OS at once, the disk at close
    writer.close()
    assert synced == [path.stat().st_ino]
    writer.close()  # idempotent: no second fsync of a closed descriptor
    assert len(synced) == 1
