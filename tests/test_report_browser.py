"""A report opens offline: headless Chromium, every http(s) request blocked, charts render.

Runs in CI (CI set: fails instead of skipping when Chromium is missing). Screenshot in
``test-artifacts/report/``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from browser_lab import ROOT, chromium, require_browser

from chatconn import load_target, policy_preset, profile_preset, simulate
from chatconn.live.run import run_live
from chatconn.report import write_report
from chatconn.runs import save_run

pytestmark = pytest.mark.browser


def test_the_report_renders_every_chart_with_the_network_blocked(tmp_path):
    require_browser()
    from helpers import run

    runs = tmp_path / "runs"
    run(
        run_live(
            policy_preset("seed"), 8, concurrency=4, time_scale=0.2, seed=1,
            lab_profile=profile_preset("3g"), out=runs / "live.jsonl", policy_name="seed",
        )
    )  # fmt: skip
    save_run(simulate(policy_preset("seed"), load_target("3g"), 2_000, seed=1), runs / "sim.jsonl")
    report, _ = write_report([runs], tmp_path / "report.html")
    artifacts = Path(os.environ.get("CHATCONN_ARTIFACTS") or ROOT / "test-artifacts") / "report"
    artifacts.mkdir(parents=True, exist_ok=True)

    with chromium(watchdog_s=120) as browser:
        requested: list[str] = []

        def block(route) -> None:
            requested.append(route.request.url)
            route.abort()

        browser.context.route(re.compile(r"^https?://"), block)  # loopback included
        page = browser.page
        page.goto(report.as_uri())
        page.wait_for_function(
            "[...document.querySelectorAll('.js-plotly-plot')]"
            ".filter(p => p.querySelector('.main-svg')).length >= 4",
            timeout=30_000,
        )
        charts = page.locator(".js-plotly-plot")
        assert charts.count() == 4  # comparison, overlay, quality, timeline
        for i in range(charts.count()):
            chart = charts.nth(i)
            assert chart.locator(".main-svg").count() >= 2  # plot + hover layers, drawn
            assert chart.locator("g.trace, g.barlayer .point").count() > 0, i
            assert (chart.locator(".gtitle").text_content() or "").strip()
        errors = [line for line in browser.console if "[pageerror]" in line]
        page.screenshot(path=str(artifacts / "report.png"), full_page=True)
        browser.save_console(artifacts / "console.log")
    assert requested == [], f"the report asked the network for {requested}"
    assert errors == []
