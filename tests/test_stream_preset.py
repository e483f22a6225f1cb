"""The ``stream-chat`` preset against the SDK's own ``retryInterval`` run in node.

The SDK's function is read from the code it runs (``dist/cjs/index.node.js`` of the pinned
stream-chat 9.53.0; it is not exported from the package root) by ``chatconn/lab/js/
stream_retry_interval.js`` and evaluated with ``Math.random`` replaced by given uniforms, so
chatconn's wait and the SDK's can be compared draw for draw.
"""

from __future__ import annotations

import json

import jsclients
import numpy as np
import pytest

from chatconn.core.errors import ConfigError
from chatconn.core.policy import JitterMode, RetryPolicy
from chatconn.core.presets import policy_preset
from chatconn.core.schedule import Schedule, draw_waits, jittered_wait, nominal_waits

SCRIPT = jsclients.JS_DIR / "stream_retry_interval.js"
RETRIES = list(range(1, 21))
# The ends of the window and points inside it (the largest double below 1 included).
UNIFORMS = [0.0, 1e-9, 0.1, 0.25, 0.3333333, 0.5, 0.75, 0.9, 0.9995, float(np.nextafter(1, 0))]


def _sdk(retries, uniforms):
    completed = jsclients.run_node(SCRIPT, json.dumps({"n": retries, "u": uniforms}))
    assert completed.returncode == 0, completed.stderr
    header, *rows = jsclients.json_lines(completed.stdout)
    assert header["version"] == "9.53.0" and "retryInterval" in header["source"]
    return rows


def _window(n):
    """U[min(max(250, 2000(n-1)), 25000), min(500 + 2000n, 25000)) ms, as the issue states it."""
    return min(max(250, 2000 * (n - 1)), 25000), min(500 + 2000 * n, 25000)


def _preset_wait(retry, u):
    policy = policy_preset("stream-chat")
    nominal = nominal_waits(policy, max(RETRIES))
    return float(jittered_wait(policy, retry - 1, nominal[retry - 1], u, 0.0))


def test_the_preset_draws_the_sdks_wait_for_every_retry_and_uniform(js_clients):
    rows = _sdk(RETRIES, UNIFORMS)
    assert len(rows) == len(RETRIES) * len(UNIFORMS)
    for row in rows:
        assert round(_preset_wait(row["n"], row["u"]) * 1000) == row["ms"], row


def test_the_preset_spans_exactly_the_sdks_window_per_retry(js_clients):
    rows = _sdk(RETRIES, [0.0, float(np.nextafter(1, 0))])
    by_retry = {}
    for row in rows:
        by_retry.setdefault(row["n"], []).append(row["ms"])
    policy = policy_preset("stream-chat")
    waits_ms = np.round(
        draw_waits(policy.with_changes(max_attempts=20), np.random.default_rng(3), 200_000) * 1000
    )
    for n in RETRIES:
        low, high = _window(n)
        sdk_low, sdk_high = by_retry[n]
        # The SDK's smallest wait is the window's low end; its largest is below the high end
        # but for the float rounding of Math.random() * (max - min) + min at u -> 1, which
        # reaches the high end itself (a capped window is the single value 25 s).
        assert sdk_low == low and max(low, high - 1) <= sdk_high <= high
        column = waits_ms[:, n - 1]
        assert column.min() == low and column.max() == max(low, high - 1), n
        # The preset's bounds at the uniform's ends are the SDK's.
        assert round(_preset_wait(n, 0.0) * 1000) == sdk_low
        assert round(_preset_wait(n, float(np.nextafter(1, 0))) * 1000) == sdk_high


def test_the_preset_waits_are_uniform_on_the_window():
    policy = policy_preset("stream-chat")
    waits = draw_waits(policy, np.random.default_rng(7), 100_000)
    for n in (1, 2, 5, 13):
        low, high = _window(n)
        column = waits[:, n - 1] * 1000
        # Mean of a uniform on whole ms in [low, high): (low + high - 1) / 2, within 5 s.e.
        sd = (high - low) / np.sqrt(12)
        assert abs(column.mean() - (low + high - 1) / 2) < 5 * sd / np.sqrt(column.size)
    assert np.all(waits[:, 13:] == 25.0)


def test_the_scalar_schedule_is_a_row_of_the_array_draw():
    policy = policy_preset("stream-chat")
    rows = draw_waits(policy, np.random.default_rng(11), 3)
    rng = np.random.default_rng(11)
    for i in range(3):
        assert Schedule.draw(policy, rng).waits_after == tuple(rows[i])


def test_the_preset_is_websocket_only_with_the_sdks_connect_wait():
    policy = policy_preset("stream-chat")
    assert policy.base_timeout == 15.0 and policy.max_timeout == 15.0
    assert [s.value for s in policy.ladder] == ["direct_websocket"]
    assert policy.to_dict()["jitter_mode"] == "window"
    assert RetryPolicy.from_dict(policy.to_dict()) == policy


def test_delay_step_grows_the_nominal_linearly_and_defaults_to_zero():
    assert RetryPolicy().delay_step == 0.0
    policy = RetryPolicy(initial_delay=1, multiplier=1, delay_step=3, max_delay=100)
    assert nominal_waits(policy, 4).tolist() == [1.0, 4.0, 7.0, 10.0]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"window": 1.0}, "window"),  # a window without the window mode
        ({"window_floor": 1.0}, "window_floor"),
        ({"window": -1.0, "jitter_mode": JitterMode.WINDOW}, "window"),
        ({"window_floor": float("inf"), "jitter_mode": JitterMode.WINDOW}, "window_floor"),
        ({"delay_step": float("nan")}, "delay_step"),
    ],
)
def test_window_settings_are_validated_naming_the_field(changes, field):
    with pytest.raises(ConfigError, match=field):
        RetryPolicy(**changes)


def test_exported_typescript_draws_the_window_as_the_schedule_does(tmp_path, js_clients):
    """chatconn.export's TypeScript schedule (chatconn.export.jscode) knows the window mode:
    the stream-chat preset exported as a SignalR retry policy waits what draw_waits says."""
    import textwrap

    from test_export import _transpile_and_run

    from chatconn.export import export_policy

    policy = policy_preset("stream-chat")
    out = export_policy(policy, "signalr")
    n = 100
    u = np.random.default_rng(9).random((n, policy.max_attempts))
    expected = draw_waits(policy, np.random.default_rng(9), n)[:, : policy.max_attempts - 1] * 1000
    body = textwrap.dedent(
        f"""
        const u = {json.dumps(u.tolist())};
        const rows = u.map((draws) => {{
          let i = 0;
          const p = new exported.ChatconnRetryPolicy(() => draws[i++]);
          const row = [];
          for (let k = 0; k < {policy.max_attempts - 1}; k++)
            row.push(p.nextRetryDelayInMilliseconds(
              {{ previousRetryCount: k, elapsedMilliseconds: 0, retryReason: new Error("x") }}));
          return row;
        }});
        console.log(JSON.stringify({{ rows }}));
        """
    )
    (result,) = _transpile_and_run(jsclients, out.text, body, tmp_path)
    assert np.array_equal(np.array(result["rows"], dtype=float), np.round(expected))
