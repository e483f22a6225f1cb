"""Charts a stakeholder can read, checked in a real browser (issue 16).

Every kind of chart (:mod:`chart_gallery`) is drawn by plotly.js in headless Chromium, saved
as ``test-artifacts/charts/NAME.png`` (``$CHATCONN_ARTIFACTS/charts``) for people to look at,
and checked where a machine can check: no two labels overlap (tick labels, titles, legend
entries, annotations, band labels), none is cut off by the edge of its chart, and log time
axes are ticked 1, 2, 5, 10, 20, 50, 100, 200 s with units. Locally the test skips without
Chromium or playwright, saying so; with ``CI`` set it fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from browser_lab import ROOT, chromium, require_browser
from chart_gallery import figures, page

pytestmark = pytest.mark.browser

# Every visible text of each chart with its box; pairs that overlap by more than 1 px on
# both axes, and texts reaching outside the chart's own box.
_LABELS = """() => {
  const out = {};
  for (const section of document.querySelectorAll('section.chart')) {
    const name = section.dataset.name;
    const plot = section.querySelector('.js-plotly-plot');
    const frame = plot.getBoundingClientRect();
    const texts = [];
    const selectors = ['.xtick text', '.ytick text', '.x2tick text', '.y2tick text',
      '.g-gtitle text', '.g-xtitle text', '.g-ytitle text', '.g-x2title text', '.g-y2title text',
      '.legendtext', '.annotation-text', '.shapelayer text', '.shape-group text',
      '[class*="label"] text'];
    const seen = new Set();
    for (const el of plot.querySelectorAll(selectors.join(','))) {
      if (seen.has(el)) continue;
      seen.add(el);
      const text = el.textContent.trim();
      if (!text) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || style.display === 'none' || +style.opacity === 0)
        continue;
      // one box per rendered line (tspans of a multi-line text each have their own)
      const lines = el.querySelectorAll('tspan.line');
      for (const part of (lines.length ? lines : [el])) {
        const r = part.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue;
        texts.push({text: part.textContent.trim(), left: r.left, right: r.right,
                    top: r.top, bottom: r.bottom,
                    kind: el.closest('.legend') ? 'legend' : el.classList.value});
      }
    }
    const overlaps = [];
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) {
        const a = texts[i], b = texts[j];
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 1 && h > 1 && a.text && b.text) overlaps.push([a.text, b.text]);
      }
    }
    // tick labels of one subplot drawn over the plotting area of another
    const areas = [...plot.querySelectorAll('.draglayer > g')].map(g => {
      const drag = g.querySelector('.nsewdrag');
      return drag && {id: g.getAttribute('class'), r: drag.getBoundingClientRect()};
    }).filter(Boolean);
    const intruders = [];
    for (const [sel, own] of [['.xtick text', 'xy'], ['.ytick text', 'xy'],
                              ['.x2tick text', 'x2y2'], ['.y2tick text', 'x2y2']]) {
      for (const el of plot.querySelectorAll(sel)) {
        const r = el.getBoundingClientRect();
        for (const a of areas) {
          if (a.id === own) continue;
          const w = Math.min(r.right, a.r.right) - Math.max(r.left, a.r.left);
          const h = Math.min(r.bottom, a.r.bottom) - Math.max(r.top, a.r.top);
          if (w > 1 && h > 1) intruders.push([el.textContent.trim(), a.id]);
        }
      }
    }
    const clipped = texts.filter(t => t.left < frame.left - 1 || t.right > frame.right + 1
      || t.top < frame.top - 1 || t.bottom > frame.bottom + 1).map(t => t.text);
    const ticksOf = axis => [...plot.querySelectorAll(`.xaxislayer-above .${axis}tick text`)]
      .map(e => e.textContent.trim());
    const logTicks = {x: ticksOf('x'), x2: ticksOf('x2')};
    out[name] = {overlaps, clipped, intruders, ticks: logTicks, count: texts.length};
  }
  return out;
}"""


def artifacts_dir() -> Path:
    base = Path(os.environ.get("CHATCONN_ARTIFACTS") or ROOT / "test-artifacts")
    out = base / "charts"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return out


@pytest.fixture(scope="module")
def rendered():
    require_browser()
    out = artifacts_dir()
    built = {name: build() for name, build in figures().items()}
    html = out / "charts.html"
    html.write_text(page(built))
    with chromium(viewport=(1100, 900), watchdog_s=240) as browser:
        browser.page.goto(html.as_uri(), wait_until="load", timeout=60_000)
        browser.page.wait_for_function(
            "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
            arg=len(built),
            timeout=60_000,
        )
        for name in built:
            browser.page.locator(f"#chart-{name}").screenshot(path=str(out / f"{name}.png"))
        labels = browser.page.evaluate(_LABELS)
        browser.save_console(out / "console.log")
    (out / "labels.txt").write_text("\n".join(f"{k}: {v}" for k, v in labels.items()))
    return built, labels


def test_every_chart_rendered_with_its_labels(rendered) -> None:
    built, labels = rendered
    assert set(labels) == set(built)
    assert all(v["count"] >= 4 for v in labels.values()), labels


def test_no_label_overlaps_another_or_is_cut_off(rendered) -> None:
    _, labels = rendered
    bad = {
        name: {"overlaps": v["overlaps"], "clipped": v["clipped"], "over": v["intruders"]}
        for name, v in labels.items()
        if v["overlaps"] or v["clipped"] or v["intruders"]
    }
    assert not bad, bad


_SECONDS = re.compile(r"^\d+(\.\d+)? s$")


def test_log_time_axes_are_ticked_1_2_5_with_units(rendered) -> None:
    built, labels = rendered
    checked = 0
    for name, fig in built.items():
        for axis in ("x", "x2"):
            layout_axis = fig.layout.to_plotly_json().get("xaxis" if axis == "x" else "xaxis2")
            ticks = labels[name]["ticks"][axis]
            if not layout_axis or layout_axis.get("type") != "log":
                continue
            if layout_axis.get("showticklabels") is False:
                continue
            checked += 1
            assert ticks and all(_SECONDS.match(t) for t in ticks), (name, axis, ticks)
            values = [float(t[:-2]) for t in ticks]
            mantissas = {float(f"{v:e}".split("e")[0]) for v in values}
            assert mantissas <= {1.0, 2.0, 5.0}, (name, ticks)  # 1, 2, 5 × 10^k only
            assert len(set(ticks)) == len(ticks), (name, ticks)
    assert checked >= 5
