"""chatconn import: production timings (CSV, JSON Lines, HAR) into observed run files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chatconn.cli import main
from chatconn.core.errors import RunFileError
from chatconn.core.strategies import ErrorCategory, Strategy
from chatconn.importers import TimingsFileError, import_timings, read_timings
from chatconn.runs import load_run

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "example-production-timings.csv"
EXAMPLE_MAP = ["connect_ms=duration_ms", "ok=connected"]


def _csv(path: Path, rows: list[str], header: str = "duration_s,connected") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_the_500_row_example_imports_into_a_run_that_runs_report_and_calibrate_accept(
    tmp_path, capsys
):
    out = tmp_path / "prod.jsonl"
    code = main(
        ["import", str(EXAMPLE), "--out", str(out), "--json"]
        + [a for m in EXAMPLE_MAP for a in ("--map", m)]
    )
    assert code == 0, capsys.readouterr().err
    report = json.loads(capsys.readouterr().out)
    assert report["sessions"] == 500 and report["skipped"] == 0
    run = load_run(out)
    assert run.kind == "observed" and run.sessions == 500 and run.complete
    raw = np.loadtxt(EXAMPLE, delimiter=",", skiprows=1, usecols=4)
    assert np.allclose(run.result.ended_at, raw / 1000)  # milliseconds mapped, not guessed
    assert set(run.segments) == {"region", "client_version", "network_type"}
    assert "europe" in set(run.segments["region"])
    assert np.isfinite(run.started_s).all() and run.started_s.min() == 0
    assert main(["runs", str(out), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["bad"] == [] and listed["runs"][0]["kind"] == "observed"
    assert main(["calibrate", str(out), "--json"]) == 0
    fit = json.loads(capsys.readouterr().out)
    assert fit["profile"]["name"].endswith("(fitted)")
    html = tmp_path / "r.html"
    assert main(["report", str(out), "--out", str(html)]) == 0
    page = html.read_text()
    assert "Observed: example-production-timings" in page
    for section in ("Time to connect by region", "calibrated to these sessions", "simulated twin"):
        assert section in page


def test_a_bad_row_names_file_and_line_and_nothing_is_written(tmp_path):
    src = _csv(tmp_path / "t.csv", ["1.5,true", "0.2,true", "fast,true", "3,false"])
    out = tmp_path / "out.jsonl"
    with pytest.raises(TimingsFileError) as info:
        import_timings(src, out)
    assert info.value.line == 4 and "duration_s 'fast' is not a number" in str(info.value)
    assert str(src) in str(info.value)
    assert not out.exists() and list(tmp_path.iterdir()) == [src]  # no partial, no temp file


def test_skip_bad_counts_the_rows_it_left_out(tmp_path):
    src = _csv(tmp_path / "t.csv", ["1.5,true", "-2,true", "0.2,maybe", "3,false"])
    path, observed = import_timings(src, tmp_path / "o.jsonl", skip_bad=True)
    assert observed.skipped == 2 and observed.sessions == 2
    assert observed.problems[0].startswith("line 3:") and "line 4:" in observed.problems[1]
    run = load_run(path)
    assert run.result.connected.tolist() == [True, False]
    assert run.header.extra["import"]["skipped"] == 2


def test_an_existing_file_is_kept_without_force_and_replaced_whole_with_it(tmp_path):
    src = _csv(tmp_path / "t.csv", ["1.5,true"])
    out = tmp_path / "o.jsonl"
    out.write_text("precious\n")
    with pytest.raises(RunFileError, match="exists"):
        import_timings(src, out)
    assert out.read_text() == "precious\n"
    import_timings(src, out, force=True)
    assert load_run(out).sessions == 1


def test_an_interrupted_import_leaves_nothing_partial(tmp_path):
    """A process killed while writing leaves the target absent (the temp file is hidden and
    the rename happens only after the end mark)."""
    src = _csv(tmp_path / "t.csv", [f"{i / 100},true" for i in range(5_000)])
    out = tmp_path / "big.jsonl"
    script = (
        "import os, signal\n"
        "import chatconn.importers.write as w\n"
        "real = w.end_line\n"
        "def boom(*a, **k):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "w.end_line = boom\n"
        "from chatconn.importers import import_timings\n"
        f"import_timings({str(src)!r}, {str(out)!r})\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode != 0
    assert not out.exists()


def test_mapping_units_transports_errors_and_labels(tmp_path):
    src = _csv(
        tmp_path / "t.csv",
        [
            "1500,1,websocket,2,,eu,ios",
            "300,yes,long-polling,1,,us,android",
            "9000,false,,3,ECONNREFUSED,eu,ios",
            "8000,0,,1,something odd,us,ios",
        ],
        header="ms,ok,via,tries,err,reg,os",
    )
    observed = read_timings(
        src,
        mapping=[
            "ms=duration_ms",
            "ok=connected",
            "via=transport",
            "tries=attempts",
            "err=error",
            "reg=region",
            "os=label:os",
        ],
    )
    assert observed.ended_at.tolist() == [1.5, 0.3, 9.0, 8.0]
    assert observed.strategy.tolist() == [
        Strategy.DIRECT_WEBSOCKET.code,
        Strategy.LONG_POLLING.code,
        -1,
        -1,
    ]
    assert observed.attempts.tolist() == [2, 1, 3, 1]
    assert observed.last_error.tolist()[2:] == [ErrorCategory.REFUSED, ErrorCategory.TIMEOUT]
    assert observed.unrecognised_errors == 1
    assert observed.segments == {
        "region": ["eu", "us", "eu", "us"],
        "os": ["ios", "android", "ios", "ios"],
    }


def test_no_duration_column_says_how_to_map_one(tmp_path):
    src = _csv(tmp_path / "t.csv", ["1,true"], header="latency,connected")
    with pytest.raises(TimingsFileError, match="--map COLUMN=duration_s"):
        read_timings(src)
    with pytest.raises(TimingsFileError, match="no column 'nope'"):
        read_timings(src, mapping=["nope=duration_s"])


def test_json_lines(tmp_path):
    src = tmp_path / "t.jsonl"
    src.write_text(
        '{"duration_s": 0.4, "connected": true, "region": "eu"}\n'
        '\n{"duration_s": 12, "connected": false, "error": "timeout", "region": "us"}\n'
        "[1, 2]\n"
    )
    with pytest.raises(TimingsFileError) as info:
        read_timings(src)
    assert info.value.line == 4
    src.write_text(src.read_text().replace("[1, 2]\n", ""))
    observed = read_timings(src)
    assert observed.connected.tolist() == [True, False]
    assert observed.segments == {"region": ["eu", "us"]}


def _entry(start: str, kind: str, status: int, wait: float, **extra):
    entry = {
        "startedDateTime": start,
        "time": wait + 30,
        "request": {"url": "wss://chat.example.com/connect?authorization=SECRET", "headers": []},
        "response": {"status": status, "content": {"mimeType": ""}},
        "timings": {
            "blocked": 1,
            "dns": 4,
            "connect": 20,
            "ssl": 10,
            "send": 1,
            "wait": wait,
            "receive": 0,
        },
        **extra,
    }
    if kind == "websocket":
        entry["_resourceType"] = "websocket"
    elif kind == "poll":
        entry["request"]["url"] = "https://chat.example.com/longpoll?json=1"
    else:
        entry["request"]["url"] = "https://example.com/app.js"
    return entry


def test_har_websocket_and_long_polling_attempts_become_sessions(tmp_path):
    entries = [
        _entry("2026-11-02T08:00:00.000Z", "page", 200, 5),
        _entry("2026-11-02T08:00:01.000Z", "websocket", 0, 0, _error="net::ERR_CONNECTION_RESET"),
        _entry("2026-11-02T08:00:03.000Z", "websocket", 101, 74),
        _entry("2026-11-02T08:05:00.000Z", "websocket", 403, 10),
        _entry("2026-11-02T08:05:02.000Z", "poll", 200, 50),
        _entry("2026-11-02T08:05:03.000Z", "poll", 200, 20000),  # the next poll: same session
    ]
    src = tmp_path / "session.har"
    src.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    out = tmp_path / "har.jsonl"
    path, observed = import_timings(src, out)
    assert observed.sessions == 2 and observed.attempts.tolist() == [2, 2]
    assert observed.connected.all()
    assert observed.strategy.tolist() == [
        Strategy.DIRECT_WEBSOCKET.code,
        Strategy.LONG_POLLING.code,
    ]
    assert observed.ended_at[0] == pytest.approx(2.0 + 0.1)  # 1+4+20+1+74 ms after its start
    assert observed.ended_at[1] == pytest.approx(2.0 + 0.076)
    assert "SECRET" not in out.read_text()
    assert load_run(path).kind == "observed"


def test_replaying_an_observed_run_says_to_calibrate_it(tmp_path, capsys):
    path, _ = import_timings(_csv(tmp_path / "t.csv", ["1.5,true"]), tmp_path / "o.jsonl")
    assert main(["replay", str(path)]) == 2
    assert "observed in production" in capsys.readouterr().err


def test_har_from_firefox_sse_and_bad_entries(tmp_path):
    """No _resourceType (Firefox): a wss URL is a WebSocket attempt; an event-stream answer
    an SSE attempt; an entry without timings is an error naming it, or skipped and counted."""
    ws = _entry("2026-11-02T08:00:00.000+01:00", "websocket", 0, 0, _error="net::ERR_TIMED_OUT")
    del ws["_resourceType"]
    sse = _entry("2026-11-02T08:00:20.000+01:00", "page", 200, 120)
    sse["request"]["url"] = "https://chat.example.com/events"
    sse["response"]["content"]["mimeType"] = "text/event-stream"
    broken = _entry("2026-11-02T08:01:00.000+01:00", "websocket", 101, 10)
    del broken["timings"]
    src = tmp_path / "ff.har"
    src.write_text(json.dumps({"log": {"entries": [ws, sse, broken]}}))
    with pytest.raises(TimingsFileError, match=r"log.entries\[2\]: no timings"):
        read_timings(src)
    observed = read_timings(src, skip_bad=True)
    assert observed.skipped == 1 and observed.sessions == 1
    assert observed.attempts.tolist() == [2] and observed.connected.tolist() == [True]
    assert observed.strategy.tolist() == [Strategy.SSE_FALLBACK.code]
    assert observed.last_error.tolist() == [ErrorCategory.TIMEOUT]  # the failed WebSocket
    assert observed.ended_at[0] == pytest.approx(20.146)
    only_chat = read_timings(src, skip_bad=True, url_match=r"/events")
    assert only_chat.attempts.tolist() == [1]


def test_sessions_frame_carries_the_segments(tmp_path):
    from chatconn.runs import sessions_frame

    path, _ = import_timings(EXAMPLE, tmp_path / "o.jsonl", mapping=EXAMPLE_MAP)
    frame = sessions_frame(load_run(path))
    assert len(frame) == 500
    assert frame.groupby("segment_region").size()["europe"] > 100
