"""chatconn export: configuration for real clients, checked against the real libraries."""

from __future__ import annotations

import json
import random
import socket
import textwrap

import numpy as np
import pytest

from chatconn.agreement import ks_sorted
from chatconn.cli import main
from chatconn.core.presets import policy_preset
from chatconn.core.schedule import draw_waits
from chatconn.export import export_formats, export_policy
from chatconn.runs.analysis import ks_critical

SAMPLES = 4000


def _cli_json(capsys, *argv: str) -> dict:
    assert main([*argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _same_distribution(observed: np.ndarray, expected: np.ndarray) -> None:
    """Two samples of waits from one distribution: KS distance under the critical value at
    alpha 1e-5 (a file checks ~30 columns: a false alarm about once in 3,000 runs, while a
    wrong formula moves the distance far past it at these sample sizes)."""
    if np.ptp(expected) == 0:  # a wait without jitter: every sample the same
        assert np.allclose(observed, expected[0])
        return
    limit = ks_critical(observed.size, expected.size, alpha=1e-5)
    assert ks_sorted(np.sort(observed), np.sort(expected)) < limit


def test_socketio_options_give_the_real_clients_the_waits_chatconn_schedule_says(
    capsys, js_clients
):
    """Acceptance: export --policy socketio --set initial_delay=2 --set max_delay=10."""
    import jsclients

    policy_args = ["--policy", "socketio", "--set", "initial_delay=2", "--set", "max_delay=10"]
    assert main(["export", *policy_args, "--format", "socketio"]) == 0
    captured = capsys.readouterr()
    options = json.loads(captured.out)
    assert "exactly" in captured.err
    assert options["reconnectionDelay"] == 2000 and options["reconnectionDelayMax"] == 10000
    script = textwrap.dedent(
        f"""
        const {{ Manager }} = require("socket.io-client");
        const opts = {json.dumps(options)};
        const waits = [];
        for (let i = 0; i < {SAMPLES}; i++) {{
          const m = new Manager("http://127.0.0.1:1", {{ autoConnect: false, ...opts }});
          const row = [];
          for (let k = 0; k < opts.reconnectionAttempts; k++) row.push(m.backoff.duration());
          waits.push(row);
        }}
        console.log(JSON.stringify({{ waits }}));
        """
    )
    done = jsclients.run_node(script)
    assert done.returncode == 0, done.stderr
    real = np.array(jsclients.json_lines(done.stdout)[0]["waits"]) / 1000.0
    schedule = _cli_json(capsys, "schedule", *policy_args, "--samples", str(SAMPLES), "--seed", "3")
    ours = draw_waits(
        policy_preset("socketio").with_changes(initial_delay=2, max_delay=10),
        np.random.default_rng(3),
        SAMPLES,
    )
    for k, attempt in enumerate(schedule["attempts"][1:]):
        said = attempt["wait_before_s"]
        column = real[:, k]
        # The real waits span what chatconn schedule says: the same minimum and maximum
        # within what SAMPLES draws allow — how far the extreme of a sample may sit from
        # the true one: the 14/SAMPLES quantile (a sample misses it with probability
        # (1 - 14/n)^n < 1e-6), plus the millisecond both clients round to — and the same
        # distribution.
        lo = np.quantile(ours[:, k], 14 / SAMPLES) - ours[:, k].min() + 0.001
        hi = ours[:, k].max() - np.quantile(ours[:, k], 1 - 14 / SAMPLES) + 0.001
        assert abs(column.min() - said["min"]) <= lo and abs(column.max() - said["max"]) <= hi
        _same_distribution(column, ours[:, k])
    # capped after the jitter: from retry 5 (nominal 32 s - 50 %) every client waits 10 s
    assert (real[:, 4:] == 10.0).all()


def _transpile_and_run(jsclients, ts_source: str, body: str, tmp_path) -> list[dict]:
    src = tmp_path / "policy.ts"
    src.write_text(ts_source)
    out = tmp_path / "policy.js"
    script = (
        textwrap.dedent(
            f"""
        const ts = require("typescript");
        const fs = require("fs");
        const result = ts.transpileModule(fs.readFileSync({json.dumps(str(src))}, "utf8"), {{
          compilerOptions: {{ module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 }},
          reportDiagnostics: true,
        }});
        if (result.diagnostics.length) throw new Error("TypeScript: " + result.diagnostics.length);
        fs.writeFileSync({json.dumps(str(out))}, result.outputText);
        const exported = require({json.dumps(str(out))});
        """
        )
        + body
    )
    done = jsclients.run_node(script)
    assert done.returncode == 0, done.stderr
    return jsclients.json_lines(done.stdout)


def test_signalr_policy_class_returns_chatconns_waits_from_the_same_random_numbers(
    tmp_path, js_clients
):
    import jsclients

    policy = policy_preset("seed").with_changes(deadline=60)
    out = export_policy(policy, "signalr")
    assert out.language == "typescript" and "implements IRetryPolicy" in out.text
    n = 200
    u = np.random.default_rng(5).random((n, policy.max_attempts))
    expected = draw_waits(policy, np.random.default_rng(5), n)[:, : policy.max_attempts - 1] * 1000
    body = textwrap.dedent(
        f"""
        const signalR = require("@microsoft/signalr");
        const u = {json.dumps(u.tolist())};
        const rows = [];
        for (const draws of u) {{
          let i = 0;
          const p = new exported.ChatconnRetryPolicy(() => draws[i++]);
          const row = [];
          for (let k = 0; k <= {policy.max_attempts - 1}; k++)
            row.push(p.nextRetryDelayInMilliseconds(
              {{ previousRetryCount: k, elapsedMilliseconds: 0, retryReason: new Error("x") }}));
          rows.push(row);
        }}
        const late = new exported.ChatconnRetryPolicy(() => 0.5).nextRetryDelayInMilliseconds(
          {{ previousRetryCount: 1, elapsedMilliseconds: 59990, retryReason: new Error("x") }});
        const conn = new signalR.HubConnectionBuilder().withUrl("http://127.0.0.1:1/hub")
          .withAutomaticReconnect(new exported.ChatconnRetryPolicy()).build();
        const used = conn._reconnectPolicy instanceof exported.ChatconnRetryPolicy;
        console.log(JSON.stringify({{ rows, late, used }}));
        """
    )
    (result,) = _transpile_and_run(jsclients, out.text, body, tmp_path)
    rows = result["rows"]
    assert all(row[-1] is None for row in rows)  # no retry past max_attempts
    got = np.array([row[:-1] for row in rows], dtype=float)
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-9)
    assert result["late"] is None  # the next attempt would start past the 60 s deadline
    assert result["used"]


def test_signalr_delays_are_what_the_real_default_policy_returns(js_clients):
    import jsclients

    out = export_policy(policy_preset("signalr"), "signalr")
    delays = out.config["withAutomaticReconnect"]
    assert delays == [0, 2000, 10000, 30000] and out.diff.exact
    script = textwrap.dedent(
        f"""
        const signalR = require("@microsoft/signalr");
        const conn = new signalR.HubConnectionBuilder().withUrl("http://127.0.0.1:1/hub")
          .withAutomaticReconnect({json.dumps(delays)}).build();
        const got = [];
        for (let k = 0; k <= {len(delays)}; k++)
          got.push(conn._reconnectPolicy.nextRetryDelayInMilliseconds(
            {{ previousRetryCount: k, elapsedMilliseconds: 0, retryReason: new Error("x") }}));
        console.log(JSON.stringify({{ got }}));
        """
    )
    done = jsclients.run_node(script)
    assert done.returncode == 0, done.stderr
    assert jsclients.json_lines(done.stdout)[0]["got"] == [*delays, None]


@pytest.mark.parametrize("preset", ["seed", "aws-standard", "websockets", "signalr"])
def test_tenacity_arguments_sleep_as_chatconns_schedule(preset):
    tenacity = pytest.importorskip("tenacity")
    policy = policy_preset(preset)
    out = export_policy(policy, "tenacity")
    namespace: dict = {}
    exec(out.text, namespace)  # the exported code, as a user would paste it
    args = namespace["RETRY_ARGS"]
    random.seed(7)
    sleeps = []
    for _ in range(SAMPLES // 2):
        mine: list[float] = []
        retrying = tenacity.Retrying(**args, sleep=mine.append)
        with pytest.raises(ConnectionError):
            retrying(_always_fails)
        sleeps.append(mine)
    assert {len(s) for s in sleeps} == {policy.max_attempts - 1}
    real = np.array(sleeps)
    ours = draw_waits(out.realized, np.random.default_rng(1), SAMPLES)
    for k in range(policy.max_attempts - 1):
        _same_distribution(real[:, k], ours[:, k])
    for row in out.diff.rows:  # timeouts and waits as asked (only the ladder may differ)
        assert all(abs(v) < 0.0015 for v in row["delta"].values())


def test_tenacity_deadline_is_stop_before_delay():
    """chatconn's deadline (no attempt starts at or past it) is tenacity's stop_before_delay."""
    tenacity = pytest.importorskip("tenacity")
    out = export_policy(policy_preset("seed").with_changes(deadline=60), "tenacity")
    namespace: dict = {}
    exec(out.text, namespace)
    stop = namespace["RETRY_ARGS"]["stop"]
    state = tenacity.RetryCallState(tenacity.Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = 2
    state.outcome_timestamp = state.start_time + 50.0
    state.upcoming_sleep = 9.9
    assert not stop(state)  # the next attempt would start at 59.9 s
    state.upcoming_sleep = 10.0
    assert stop(state)  # ... at 60 s: not started


def _always_fails():
    raise ConnectionError("refused")


def test_websockets_reconnect_loop_waits_and_timeouts_follow_the_schedule(tmp_path):
    import asyncio

    policy = policy_preset("seed").with_changes(base_timeout=0.5, max_timeout=2, extended_timeout=2)
    out = export_policy(policy, "websockets")
    assert out.language == "python" and "connect_with_retries" in out.text
    namespace: dict = {}
    exec(out.text, namespace)
    port = _closed_port()
    n = 30
    u = np.random.default_rng(9).random((n, policy.max_attempts))
    expected = draw_waits(policy, np.random.default_rng(9), n)[:, : policy.max_attempts - 1]

    async def session(draws):
        waits: list[float] = []

        async def sleep(s):
            waits.append(s)

        it = iter(draws)
        with pytest.raises(ConnectionError, match="gave up after 6 attempts"):
            await namespace["connect_with_retries"](
                f"ws://127.0.0.1:{port}/", sleep=sleep, random=lambda: next(it)
            )
        return waits

    got = [asyncio.run(session(row.tolist())) for row in u]
    assert np.allclose(np.array(got), expected, rtol=1e-12)


def test_websockets_settings_drive_the_librarys_own_backoff():
    import subprocess
    import sys

    policy = policy_preset("websockets").with_changes(
        first_delay=2, initial_delay=1.5, multiplier=2
    )
    out = export_policy(policy, "websockets")
    env = out.config["environment"]
    assert set(env) == {
        "WEBSOCKETS_BACKOFF_INITIAL_DELAY",
        "WEBSOCKETS_BACKOFF_MIN_DELAY",
        "WEBSOCKETS_BACKOFF_MAX_DELAY",
        "WEBSOCKETS_BACKOFF_FACTOR",
    }
    code = (
        "import json, itertools\nfrom websockets.client import backoff\n"
        f"print(json.dumps([list(itertools.islice(backoff(), {policy.max_attempts - 1})) "
        f"for _ in range({SAMPLES})]))"
    )
    import os

    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    real = np.array(json.loads(done.stdout))
    ours = draw_waits(policy, np.random.default_rng(2), SAMPLES)[:, : policy.max_attempts - 1]
    _same_distribution(real[:, 0], ours[:, 0])  # random() * first_delay
    assert np.allclose(real[:, 1:], ours[:, 1:])  # then the same ramp, exactly


def test_every_format_exports_every_preset_and_says_what_differs(capsys):
    for name in ("seed", "grpc", "socketio", "signalr", "websockets", "aws-standard"):
        for fmt in export_formats():
            out = export_policy(policy_preset(name), fmt)
            assert out.text.strip()
            if not out.exact:
                assert out.diff.lines() or out.notes
    grpc_out = export_policy(policy_preset("grpc"), "grpc")
    assert grpc_out.diff.exact  # the grpc preset is gRPC's own connection backoff
    seed_io = export_policy(policy_preset("seed"), "socketio")
    lines = seed_io.diff.lines()
    assert any("retry 1" in line and "wait" in line for line in lines)
    assert any("multiplier" in note for note in seed_io.notes)
    assert main(["export", "--policy", "seed", "--format", "nope"]) == 2
    capsys.readouterr()
    report = _cli_json(capsys, "export", "--policy", "seed", "--format", "json")
    assert report["exact"] and json.loads(report["text"]) == policy_preset("seed").to_dict()


def test_tune_ends_with_ship_it_the_recommended_policy_exported(capsys):
    argv = [
        "tune",
        "--policy",
        "socketio",
        "--vary",
        "initial_delay=0.5,2",
        "--sessions",
        "2000",
        "--clients",
        "500",
        "--seed",
        "1",
        "--export",
        "signalr",
    ]
    report = _cli_json(capsys, *argv)
    chosen = report["recommendation"]["chosen"]
    assert chosen is not None
    shipped = report["ship_it"]
    assert shipped["format"] == "signalr" and shipped["asked"]["initial_delay"] in (0.5, 2.0)
    assert (
        shipped
        == export_policy(
            policy_preset("socketio").with_changes(initial_delay=shipped["asked"]["initial_delay"]),
            "signalr",
        ).to_dict()
    )
    assert main([*argv[:-1], "json"]) == 0
    text = capsys.readouterr().out
    assert "ship it (json):" in text and "follows the recommended policy exactly" in text
    assert main([*argv[:-1], "nope"]) == 2


def test_stream_chat_wrapper_drives_the_real_sdk_by_the_policy(tmp_path, js_clients):
    """The exported TypeScript manager, transpiled, around the real stream-chat client
    against a port that refuses: every attempt of the policy, on its rung, within its
    timeout, and the waits chatconn draws from the same random numbers."""
    import jsclients

    policy = policy_preset("seed").with_changes(
        base_timeout=0.4, max_timeout=1.0, extended_timeout=1.0
    )
    out = export_policy(policy, "stream-chat")
    assert out.config["sdk_options"] == {"enableWSFallback": True}
    u = np.random.default_rng(11).random(policy.max_attempts)
    expected_waits = draw_waits(policy, np.random.default_rng(11), 1)[0, :-1] * 1000
    port = _closed_port()
    body = textwrap.dedent(
        f"""
        const {{ StreamChat }} = require("stream-chat");
        // In Node, the SDK's switch to long polling closes a WebSocket that is still
        // connecting, and `ws` emits an 'error' nobody listens to (stream-chat 9.53.0,
        // StableWSConnection._destroyCurrentWSConnection): kept from killing the process.
        const sdkErrors = [];
        process.on("uncaughtException", (e) => sdkErrors.push(String(e.message)));
        process.on("unhandledRejection", () => {{}});  // the SDK's own retries, after a give-up
        const u = {json.dumps(u.tolist())};
        let i = 0;
        const client = new StreamChat("key", {{ ...exported.SDK_OPTIONS,
          baseURL: "http://127.0.0.1:{port}", allowServerSideConnect: true }});
        const attempts = [], waits = [];
        let started = 0;
        (async () => {{
          let error = null;
          try {{
            await exported.connectWithPolicy(client, {{ id: "u1" }}, client.devToken("u1"), {{
              random: () => u[i++],
              sleep: async (ms) => {{ waits.push(ms); }},
              onAttempt: (a) => {{
                const now = Date.now();
                if (attempts.length) attempts[attempts.length - 1].lasted = now - started;
                started = now;
                attempts.push({{ ...a }});
              }},
            }});
          }} catch (e) {{ error = String(e && e.message || e); }}
          attempts[attempts.length - 1].lasted = Date.now() - started;
          console.log(JSON.stringify({{ attempts, waits, error, sdkErrors }}));
          process.exit(0);
        }})();
        """
    )
    (result,) = _transpile_and_run(jsclients, out.text, body, tmp_path)
    attempts = result["attempts"]
    assert result["error"], result  # the port refuses: the manager gives up after the last attempt
    assert [a["rung"] for a in attempts] == out.config["manager"]["ladder"]
    assert [a["timeoutMs"] for a in attempts] == out.config["manager"]["timeouts_ms"]
    assert np.allclose(result["waits"], expected_waits, rtol=1e-12)
    for a in attempts:  # bounded by its timeout (plus the SDK's cleanup on a busy machine)
        assert a["lasted"] <= a["timeoutMs"] + 2000, a
