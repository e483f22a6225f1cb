"""Every kind of chart chatconn draws, built from real results, on one HTML page.

Not a test module: ``tests/test_chart_gallery.py`` opens the page in headless Chromium,
screenshots each chart into ``test-artifacts/charts/`` and checks that no two labels overlap
and none is clipped. ``python tests/chart_gallery.py OUT.html`` writes the page alone.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

SESSIONS = 20_000


def figures() -> dict[str, Callable[[], go.Figure]]:
    """Name -> a function building the figure (so one failing chart names itself)."""
    from chatconn import load_target, policy_preset, simulate, storm
    from chatconn.calibrate import calibrate
    from chatconn.core.presets import policy_preset_names
    from chatconn.lockstep import lockstep
    from chatconn.plotdata import overlay_info
    from chatconn.plots import (
        overlay_figure,
        plot_backoff,
        plot_calibration,
        plot_compare,
        plot_live_vs_simulated,
        plot_lockstep,
        plot_pareto,
        plot_quality,
        plot_storm,
        plot_time_to_connect,
        plot_timeline,
    )
    from chatconn.runs import SAMPLE_DIR, load_run, load_runs, twin_of
    from chatconn.tune import sweep

    seed = policy_preset("seed")

    def world(name: str, target: str = "global-users"):
        return simulate(policy_preset(name), load_target(target), SESSIONS, seed=1)

    def sample_live():
        runs = load_runs(SAMPLE_DIR)
        live = next(r for r in runs if r.kind == "live" and r.header.target_name == "3g")
        return live, twin_of(live, runs)

    def overlay():
        live, twin = sample_live()
        return plot_live_vs_simulated(live, twin.result)

    def herd(name: str):
        return storm(policy_preset(name), 20_000, outage_s=30, capacity_per_s=2_000, seed=1)

    return {
        "time-to-connect": lambda: plot_time_to_connect(world("seed")),
        "backoff": lambda: plot_backoff(seed, samples=5_000, seed=1),
        "compare-presets": lambda: plot_compare({n: world(n) for n in policy_preset_names()}),
        "compare-firewall": lambda: plot_compare(
            {n: world(n, "corporate-firewall") for n in ("seed", "grpc", "aws-decorrelated")}
        ),
        "compare-server-down": lambda: plot_compare(
            {n: world(n, "server-down") for n in ("seed", "websockets")}
        ),
        "overlay": overlay,
        "overlay-empty": lambda: overlay_figure(overlay_info([], [])),
        "quality": lambda: plot_quality(world("seed", "corporate-firewall")),
        "timeline": lambda: plot_timeline(sample_live()[0].records),
        "storm": lambda: plot_storm(herd("socketio"), lockstep=lockstep(policy_preset("socketio"))),
        "lockstep": lambda: plot_lockstep(policy_preset("socketio")),
        # half width, as notebook 03 shows them side by side
        "storm-half": lambda: plot_storm(
            herd("signalr"), lockstep=lockstep(policy_preset("signalr"))
        ).update_layout(width=500),
        "lockstep-half": lambda: plot_lockstep(policy_preset("socketio")).update_layout(width=500),
        "overlay-none-connected": lambda: overlay_figure(
            overlay_info(np.full(20, np.nan), world("seed").time_to_connect)
        ),
        "calibration": lambda: plot_calibration(
            calibrate(load_run(SAMPLE_DIR / "live-seed-3g.jsonl"), base="3g", bootstrap=0)
        ),
        "pareto": lambda: plot_pareto(
            sweep(
                seed,
                {"initial_delay": [0.5, 1, 2], "jitter": [0, 0.2, 0.5]},
                "global-users",
                sessions=5_000,
                seed=1,
                clients=5_000,
                outage_s=30,
                capacity=1_000,
            ),
            "p95_s",
            "peak_over_capacity",
        ),
    }


def page(built: dict[str, go.Figure]) -> str:
    """One HTML page: plotly.js inline once, one ``<div id="chart-NAME">`` per figure."""
    import plotly.io as pio

    parts = []
    for i, (name, fig) in enumerate(built.items()):
        div = pio.to_html(
            fig,
            full_html=False,
            include_plotlyjs=(i == 0),
            default_width="1000px",
            div_id=f"chart-{name}",
            config={"displayModeBar": False},
        )
        parts.append(f'<section class="chart" data-name="{name}">{div}</section>')
    body = "\n".join(parts)
    return f"<!doctype html><html><head><meta charset='utf-8'></head><body>{body}</body></html>"


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "charts.html")
    out.write_text(page({name: build() for name, build in figures().items()}))
    print(out)
