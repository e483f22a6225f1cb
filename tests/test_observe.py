"""chatconn.observe: timelines, episodes and the comparison with a preset, on made-up
observations (pure functions: no network here; tests/test_proxy.py records real ones)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chatconn.agreement import ks_sorted
from chatconn.core.errors import RunFileError
from chatconn.core.presets import POLICY_PRESETS, policy_preset
from chatconn.core.profiles import profile_preset
from chatconn.core.schedule import draw_waits
from chatconn.observe import (
    ObservedConnection,
    best_match,
    compare_waits,
    episode_arrays,
    episodes,
    ks_within,
    simulated_waits,
    timelines,
)
from chatconn.proxy import observed_header
from chatconn.runs import load_run


def _conn(i, at, *, ok=True, fb=0.01, closed=None, by="client", tag=None, peer="127.0.0.1"):
    """A WebSocket attempt: connected (101 at ``fb``) or refused by the upstream."""
    return ObservedConnection(
        id=i,
        peer=peer,
        port=40000 + i,
        at_s=at,
        tag=tag,
        head_s=0.001,
        first_byte_s=fb if ok else None,
        closed_s=closed,
        closed_by=by,
        upgrade=True,
        target="/ws",
        status=101 if ok else None,
        upstream_error="" if ok else "Connection refused",
    )


def test_a_drop_counts_as_the_first_failure_so_retry_numbers_match_a_policys_waits():
    conns = [
        _conn(1, 0.0, fb=0.1, closed=5.0, by="upstream"),  # connected, then the server died
        _conn(2, 5.8, ok=False, closed=0.001, by="upstream"),  # refused: retry 1 after 0.8 s
        _conn(3, 7.9, fb=0.05, closed=None),  # retry 2 after 2.099 s: connected, still open
    ]
    (attempts,) = timelines(conns).values()
    assert [a.retry for a in attempts] == [0, 1, 2]
    assert attempts[0].gap_s is None
    assert attempts[1].gap_s == pytest.approx(0.8)
    assert attempts[2].gap_s == pytest.approx(2.099)
    assert attempts[2].since_start_s == pytest.approx(2.1)
    assert [a.after_drop for a in attempts] == [False, True, True]
    first, again = episodes(timelines(conns))
    assert (first.reconnect, first.connected, first.attempt_count) == (False, True, 1)
    assert first.ended_at == pytest.approx(0.1)
    # The reconnect counts from the drop, the drop being its attempt 0.
    assert (again.reconnect, again.connected, again.attempt_count) == (True, True, 3)
    assert again.started_s == pytest.approx(5.0)
    assert again.ended_at == pytest.approx(7.95 - 5.0)
    arrays = episode_arrays([first, again])
    assert arrays["connected"].tolist() == [True, True]
    assert arrays["attempts"].tolist() == [1, 3]
    assert arrays["last_error"].tolist() == [0, 2]  # the refusal


def test_clients_are_tags_else_addresses_and_a_client_closing_starts_no_retry():
    conns = [
        _conn(1, 0.0, closed=1.0, by="client", tag="a"),
        _conn(2, 0.0, closed=1.0, by="upstream", tag="b"),
        _conn(3, 2.0, closed=None, tag="a"),
        _conn(4, 3.0, closed=None, tag="b"),
        _conn(5, 0.5, closed=0.2, peer="127.0.0.2"),
        _conn(6, 0.6, closed=0.2, peer="127.0.0.2"),  # overlaps the previous one
    ]
    lines = timelines(conns)
    assert set(lines) == {"tag:a", "tag:b", "127.0.0.2"}
    assert [a.retry for a in lines["tag:a"]] == [0, 0]  # the client closed: a fresh connect
    assert [a.retry for a in lines["tag:b"]] == [0, 1]  # the server closed: a retry
    assert lines["127.0.0.2"][1].parallel and lines["127.0.0.2"][1].gap_s is None


def _clients_following(policy, retries, clients, seed):
    """Clients that connect, are dropped, fail ``retries`` times and reconnect, each wait
    drawn from ``policy``'s schedule (what a client with that policy would do)."""
    waits = simulated_waits(policy, retries + 1, np.random.default_rng(seed), clients)
    conns, n = [], 0
    for c in range(clients):
        n += 1
        t = 10.0
        conns.append(_conn(n, 0.0, fb=0.01, closed=t, by="upstream", tag=f"c{c}"))
        for r in range(retries + 1):
            t += waits[c, r]
            n += 1
            last = r == retries
            conns.append(_conn(n, t, ok=last, closed=None if last else 0.001, tag=f"c{c}"))
            t += 0.001
    return conns


def test_waits_drawn_from_socketio_behave_like_socketio_and_not_like_the_others():
    lines = timelines(_clients_following(policy_preset("socketio"), 4, 40, seed=5))
    same = compare_waits(lines, policy_preset("socketio"), name="socketio")
    assert same.agrees is True, same.verdict
    assert same.verdict.startswith("behaves like socketio (retries 1–5")
    other = compare_waits(lines, policy_preset("websockets"), name="websockets")
    assert other.agrees is False
    assert other.verdict.startswith("differs from websockets at retry 1: waits ")
    ranked = best_match(lines, {n: policy_preset(n) for n in POLICY_PRESETS})
    assert ranked[0].name == "socketio"
    assert all(r.agrees is False for r in ranked[1:]), [(r.name, r.verdict) for r in ranked]


def test_a_client_twice_as_slow_as_socketio_differs_and_a_matching_scale_agrees():
    slow = policy_preset("socketio").with_changes(initial_delay=2.0, max_delay=10.0)
    lines = timelines(_clients_following(slow, 3, 40, seed=9))
    assert compare_waits(lines, policy_preset("socketio")).agrees is False
    assert compare_waits(lines, policy_preset("socketio"), time_scale=2.0).agrees is True


def test_simulated_waits_are_the_schedules_own_draws():
    policy = policy_preset("socketio")
    a = simulated_waits(policy, policy.max_attempts, np.random.default_rng(3), 100)
    b = draw_waits(policy, np.random.default_rng(3), 100)
    assert np.array_equal(a, b)


def test_ks_within_allows_the_tolerance_and_nothing_more():
    rng = np.random.default_rng(0)
    sim = rng.uniform(1.0, 2.0, 5000)
    obs = rng.uniform(1.0, 2.0, 200)
    assert ks_within(obs, sim, 0.0) == pytest.approx(ks_sorted(np.sort(obs), np.sort(sim)))
    assert ks_within(obs + 0.03, sim, 0.05) <= ks_within(obs, sim, 0.0) + 1e-12
    assert ks_within(np.full(50, 5.004), np.full(100, 5.0), 0.05) == 0.0
    assert ks_within(np.full(50, 5.2), np.full(100, 5.0), 0.05) == 1.0
    assert ks_within(obs + 0.3, sim, 0.05) > 0.2


def test_connection_records_round_trip_and_bad_fields_are_named():
    c = _conn(1, 0.5, closed=1.0, tag="x")
    assert ObservedConnection.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    with pytest.raises(ValueError, match="unknown connection field 'nope'"):
        ObservedConnection.from_dict({**c.to_dict(), "nope": 1})
    with pytest.raises(ValueError, match="at_s must be seconds"):
        ObservedConnection.from_dict({**c.to_dict(), "at_s": -1})
    with pytest.raises(ValueError, match="missing connection field 'peer'"):
        ObservedConnection.from_dict({"id": 1, "port": 2, "at_s": 0.0})


def _write(path, lines):
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_an_observed_run_file_is_checked_line_by_line(tmp_path):
    header = observed_header(
        profile_preset("fiber"),
        upstream=("127.0.0.1", 1),
        listen=("127.0.0.1", 2),
        seed=0,
        time_scale=1.0,
    )
    good = tmp_path / "good.jsonl"
    conns = [_conn(1, 0.0, closed=1.0, by="upstream"), _conn(2, 1.5, closed=None)]
    end = {"type": "end", "connections": 2, "wall_s": 2.0}
    _write(good, [header, *(c.to_dict() for c in conns), end])
    run = load_run(good)
    assert run.label == "client · fiber · observed" and run.sessions == 2
    assert run.result.attempts.tolist() == [1, 2]

    bad = tmp_path / "bad.jsonl"
    _write(bad, [header, {**conns[0].to_dict(), "closed_s": "soon"}, end])
    with pytest.raises(RunFileError, match=r"line 2.*closed_s must be seconds"):
        load_run(bad)
    short = tmp_path / "short.jsonl"
    _write(short, [header, conns[0].to_dict(), end])
    with pytest.raises(RunFileError, match="counts 2 connections but 1 were recorded"):
        load_run(short)
    wrong = tmp_path / "wrong.jsonl"
    live = {**header, "kind": "live", "sessions": 1, "policy": policy_preset("seed").to_dict()}
    _write(wrong, [live, conns[0].to_dict()])
    with pytest.raises(RunFileError, match="a connection record in a live run"):
        load_run(wrong)


def test_calibrate_needs_the_clients_policy_for_an_observed_run(tmp_path, capsys):
    from chatconn.cli import main

    header = observed_header(
        profile_preset("fiber"),
        upstream=("127.0.0.1", 1),
        listen=("127.0.0.1", 2),
        seed=0,
        time_scale=1.0,
    )
    path = tmp_path / "obs.jsonl"
    conns = [_conn(i, float(i), fb=0.02 + 0.001 * i, closed=0.5, tag=f"t{i}") for i in range(30)]
    _write(path, [header, *(c.to_dict() for c in conns)])
    assert main(["calibrate", str(path)]) == 2
    assert "pass --policy NAME" in capsys.readouterr().err
    code = main(["calibrate", str(path), "--policy", "socketio", "--fit", "rtt_median_s", "--json"])
    assert code == 0
    fitted = json.loads(capsys.readouterr().out)
    assert fitted["label"] == "client · fiber · observed"


def _observed_file(tmp_path, conns):
    header = observed_header(
        profile_preset("fiber"),
        upstream=("127.0.0.1", 1),
        listen=("127.0.0.1", 2),
        seed=0,
        time_scale=1.0,
    )
    path = tmp_path / "observed.jsonl"
    end = {"type": "end", "connections": len(conns), "wall_s": 30.0}
    _write(path, [header, *(c.to_dict() for c in conns), end])
    return path


def test_waits_info_holds_every_observed_wait_and_the_presets_band(tmp_path):
    from chatconn.plotdata.observe import observed_timeline_info, observed_waits_info
    from chatconn.plots.observe import plot_observed_timeline, plot_observed_waits

    conns = _clients_following(policy_preset("socketio"), 3, 20, seed=4)
    run = load_run(_observed_file(tmp_path, conns))
    info = observed_waits_info(run, policy_preset("socketio"), "socketio")
    assert info.retry.size == 20 * 4 and set(info.retry.tolist()) == {1, 2, 3, 4}
    assert info.band_retry.tolist() == [1, 2, 3, 4]
    assert info.band_p50[0] == pytest.approx(1.0, abs=0.05)  # backo2: 1 s +/- 50 %
    assert info.band_p95[-1] == pytest.approx(5.0)  # capped after jitter
    assert info.verdict.startswith("behaves like socketio")
    fig = plot_observed_waits(run, "socketio")
    assert "behaves like socketio" in fig.layout.title.text
    timeline = observed_timeline_info(run, max_clients=5)
    assert timeline.shown == 5 and timeline.total == 20
    assert timeline.row.tolist().count(0) == 5  # c0: connected, 3 refused, connected
    assert plot_observed_timeline(run, max_clients=5).data[0].orientation == "h"
    from chatconn.observe import observation_report

    report = observation_report(run)  # every preset, best first (what notebooks call)
    assert (report["clients"], report["episodes"], report["reconnects"]) == (20, 40, 20)
    assert report["comparisons"][0]["name"] == "socketio" and report["timelines"] == {}


def test_observe_and_report_commands_read_an_observed_run(tmp_path, capsys):
    from chatconn.cli import main

    path = _observed_file(tmp_path, _clients_following(policy_preset("socketio"), 4, 30, seed=2))
    assert main(["observe", str(path), "--like", "socketio,signalr", "--timeline"]) == 0
    text = capsys.readouterr().out
    assert "180 connections from 30 clients: 60 connects (30 after a drop)" in text
    assert "behaves like socketio" in text and "differs from signalr at retry 1" in text
    assert "retry 4" in text and "unreachable" in text
    assert main(["observe", str(path), "--like", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    out = tmp_path / "report.html"
    assert main(["report", str(path), "--out", str(out)]) == 0
    html = out.read_text()
    assert "client · fiber · observed" in html
    assert "Attempts of the first 30 clients" in html  # the observed timeline figure


def test_unanswered_attempts_the_client_closed_are_its_timeouts():
    conns = []
    for c in range(6):  # each client: two hung attempts it gave up on after 20 s, 1 s apart
        conns.append(_conn(3 * c, 0.0, ok=False, closed=20.01, by="client", tag=f"c{c}"))
        conns.append(_conn(3 * c + 1, 21.0, ok=False, closed=20.02, by="client", tag=f"c{c}"))
    conns = [  # hung (a stall), not refused
        ObservedConnection.from_dict({**x.to_dict(), "upstream_error": "", "fault": "stall"})
        for x in conns
    ]
    lines = timelines(conns)
    socketio = compare_waits(lines, policy_preset("socketio"), name="socketio")
    assert [t.attempt for t in socketio.timeouts] == [0, 1]
    assert socketio.agrees is True  # 20 s, as socket.io's timeout
    websockets = compare_waits(lines, policy_preset("websockets"), name="websockets")
    assert websockets.agrees is False
    assert "attempt 0 timed out after 20.01 s (6 attempts" in websockets.verdict
    assert "where websockets waits 10.00 s" in websockets.verdict


def test_the_recorded_socketio_sample_behaves_like_socketio_and_nothing_else():
    """data/observed/socketio-restart.jsonl: real socket.io clients recorded by the proxy
    (tools/record_observed_sample.py)."""
    from pathlib import Path

    from chatconn.observe import observation_report

    sample = Path(__file__).resolve().parents[1] / "data/observed/socketio-restart.jsonl"
    run = load_run(sample)
    assert run.kind == "observed" and run.complete
    report = observation_report(run)
    assert (report["clients"], report["reconnects"], report["connected"]) == (40, 40, 80)
    first, *others = report["comparisons"]
    assert first["name"] == "socketio" and first["agrees"] is True, first["verdict"]
    assert all(c["agrees"] is False for c in others)
