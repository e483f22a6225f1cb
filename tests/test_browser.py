"""The tuning notebook in a real browser: JupyterLab + headless Chromium, run all, interact.

What ``notebooks/01_tune_policy.ipynb`` must show for these selectors (see :class:`Expect`):

- ipywidgets sliders (``.widget-slider``), one of them described "base timeout" (any case,
  e.g. ``FloatSlider(description="base timeout (s)")``);
- at least two plotly figures (``.js-plotly-plot``), all with titles (``.gtitle``);
- the time-to-connect figure's title contains "time to connect" and the current base timeout
  as "base timeout <number>" (e.g. "Time to connect · global-users · base timeout 15 s"); one
  step of the base timeout slider must show the new value there. The test waits for the value
  it set, not for "some change" (a p95 alone may not move for one step of a timeout);
- a button labelled exactly "Run live";
- the timeline figure's title contains "timeline" and its attempts are plotly bars (``go.Bar``);
- the status indicator is a widget with the DOM class ``chatconn-status``
  (``widget.add_class("chatconn-status")``) whose text says "connected" (as a word, any case,
  so "Connected" and "Connected, limited" but not "Disconnected" / "Not connected") at some
  point after the click: a MutationObserver records every text it shows, so a state that
  passes quickly still counts. English is the language under test.

Also (issue 16): ten key presses on the base timeout slider are timed to the redrawn figure
and printed (``slider-timings.txt``; a measurement, never asserted); "Add rung" takes a rung
on Enter; the English/Русский switch changes the status indicators, toasts and explanation
(screenshots in both languages). A second test runs notebook 03 and checks that each storm
is drawn beside its lockstep chart (``test-artifacts/browser-03/``).

Screenshots and the page's console log go to ``$CHATCONN_ARTIFACTS/browser/`` (default
``test-artifacts/browser/`` in the repository). Locally the test skips when Chromium or
playwright is missing, saying so; with ``CI`` set it fails instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_lab import (
    NOTEBOOKS,
    ROOT,
    Chromium,
    Deadline,
    JupyterLab,
    chromium,
    require_browser,
)
from browser_lab import jupyter_lab as start_jupyter_lab

pytestmark = pytest.mark.browser

NOTEBOOK = "01_tune_policy.ipynb"
BUDGET_S = 160.0  # every wait, server start to last screenshot, even when things break
WATCHDOG_GRACE_S = 20.0  # then the browser is killed: nothing hangs past ~3 min


@dataclass(frozen=True)
class Expect:
    """The notebook's side of the contract (texts are matched case-insensitively)."""

    slider_label: str = "base timeout"
    figure_title: str = "time to connect"  # the figure that follows the slider
    title_value: str = r"base timeout\D{0,8}?(-?\d+(?:\.\d+)?)"  # group 1: the slider's value
    run_button: str = "Run live"
    timeline_title: str = "timeline"
    status_class: str = "chatconn-status"
    status_reached: str = r"(?<!not )\bconnected\b"
    min_figures: int = 2


def artifacts_dir() -> Path:
    base = Path(os.environ.get("CHATCONN_ARTIFACTS") or ROOT / "test-artifacts")
    out = base / "browser"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return out


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture
def deadline() -> Deadline:
    return Deadline(BUDGET_S)


@pytest.fixture
def artifacts() -> Path:
    return artifacts_dir()


@pytest.fixture
def lab(deadline: Deadline, artifacts: Path) -> Iterator[JupyterLab]:
    require_browser()
    if not (NOTEBOOKS / NOTEBOOK).exists():
        pytest.fail(f"notebooks/{NOTEBOOK} does not exist", pytrace=False)
    with start_jupyter_lab(NOTEBOOKS, log_dir=artifacts, deadline=deadline) as server:
        yield server


@pytest.fixture
def browser(lab: JupyterLab, deadline: Deadline) -> Iterator[Chromium]:
    with chromium(watchdog_s=max(deadline.remaining(), 0) + WATCHDOG_GRACE_S) as page:
        yield page


# -- the test ----------------------------------------------------------------------------------
def test_tune_policy_notebook_renders_follows_the_slider_and_runs_live(
    lab: JupyterLab, browser: Chromium, artifacts: Path, deadline: Deadline
) -> None:
    check_tune_policy_notebook(browser, lab, NOTEBOOK, artifacts, deadline)


def check_tune_policy_notebook(
    browser: Chromium,
    lab: JupyterLab,
    notebook: str,
    artifacts: Path,
    deadline: Deadline,
    expect: Expect = Expect(),
) -> None:
    """Open ``notebook`` in JupyterLab, run all, check widgets, slider → figure, "Run live".

    On failure: ``failure.png``, ``failure.html`` and the console log in ``artifacts``.
    """
    if not (lab.root_dir / notebook).exists():
        pytest.fail(f"notebooks/{notebook} does not exist", pytrace=False)
    step = "start"
    try:
        step = "open the notebook"
        open_notebook(browser, lab, notebook, deadline)
        step = "run all cells"
        run_all_cells(browser, deadline)
        step = "render widgets and figures"
        assert_rendered(browser, expect, deadline)
        browser.screenshot(artifacts / "01-rendered.png")
        step = "move the base timeout slider"
        move_slider_and_wait_for_figure(browser, expect, deadline)
        browser.screenshot(artifacts / "02-slider-moved.png")
        with contextlib.suppress(Exception):
            figure = figure_with_title(browser, expect.figure_title)
            figure.screenshot(path=str(artifacts / "02-time-to-connect.png"), timeout=10_000)
        step = "time slider steps to redrawn figures"
        measure_slider_to_figure(browser, expect, deadline, artifacts)
        step = "add a rung with Enter"
        add_rung_with_enter(browser, deadline)
        step = "run live"
        run_live_and_wait(browser, expect, deadline)
        browser.screenshot(artifacts / "03-live.png")
        with contextlib.suppress(Exception):
            timeline = figure_with_title(browser, expect.timeline_title)
            timeline.screenshot(path=str(artifacts / "04-timeline.png"), timeout=10_000)
        step = "switch the language"
        switch_language(browser, deadline, artifacts)
    except Exception as exc:
        browser.log(f"[test failed] while trying to {step}: {exc!r}")
        browser.screenshot(artifacts / "failure.png")
        with contextlib.suppress(Exception):
            (artifacts / "failure.html").write_text(browser.page.content())
        browser.save_console(artifacts / "console.log")
        raise AssertionError(
            f"{notebook}: failed to {step} after {deadline.seconds - deadline.remaining():.0f} s "
            f"(screenshot, page and console log in {artifacts}; server log {lab.log_path.name}): "
            f"{exc}"
        ) from exc
    browser.save_console(artifacts / "console.log")


# -- steps -------------------------------------------------------------------------------------
_NOTEBOOK_READY = """name => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  if (!w || !w.context || w.context.path !== name || !w.context.isReady) return false;
  const kernel = w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""

# What JupyterLab shows, for messages: the current widget, kernel, dialogs, unfinished cells.
_LAB_STATE = """() => {
  const app = window.jupyterapp;
  if (!app) return 'window.jupyterapp is missing (JupyterLab not loaded?)';
  const w = app.shell.currentWidget;
  const dialogs = [...document.querySelectorAll('.jp-Dialog')].map(
    d => d.textContent.replace(/\\s+/g, ' ').trim());
  const kernel = w && w.sessionContext && w.sessionContext.session
    && w.sessionContext.session.kernel;
  const pending = !w || !w.content || !w.content.widgets ? [] : w.content.widgets
    .map((c, i) => [c, i])
    .filter(([c]) => c.model.type === 'code' && c.model.sharedModel.getSource().trim()
                     && c.model.executionCount === null)
    .map(([, i]) => i);
  return {widget: w ? (w.context ? w.context.path : w.id) : null,
          kernel: kernel ? `${kernel.name} ${kernel.connectionStatus} ${kernel.status}` : null,
          dialogs, cellsNotRun: pending, runAll: window.__chatconnRunAll || null};
}"""

_RUN_ALL = """() => {
  window.__chatconnRunAll = null;
  window.jupyterapp.commands.execute('notebook:run-all-cells').then(
    ok => { window.__chatconnRunAll = {ok: ok !== false}; },
    err => { window.__chatconnRunAll = {ok: false, error: String(err)}; });
}"""

_CELLS_DONE = """() => {
  if (!window.__chatconnRunAll) return false;
  const w = window.jupyterapp.shell.currentWidget;
  if (w.sessionContext.session.kernel.status !== 'idle') return false;
  return window.__chatconnRunAll.ok === false || w.content.widgets.every(
    c => c.model.type !== 'code' || !c.model.sharedModel.getSource().trim()
         || c.model.executionCount !== null);
}"""

_CELL_ERRORS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const errors = [];
  w.content.widgets.forEach((c, i) => {
    if (c.model.type !== 'code') return;
    for (const o of c.model.outputs.toJSON()) {
      if (o.output_type === 'error') errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
    }
  });
  return {errors, result: window.__chatconnRunAll};
}"""


def open_notebook(browser: Chromium, lab: JupyterLab, notebook: str, deadline: Deadline) -> None:
    page = browser.page
    page.goto(lab.notebook_url(notebook), timeout=deadline.ms(60), wait_until="domcontentloaded")
    wait_for(  # includes the kernel's start
        browser,
        _NOTEBOOK_READY,
        notebook,
        deadline.ms(90),
        lambda: f"{notebook} not open with an idle kernel: {page.evaluate(_LAB_STATE)}",
    )
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=deadline.ms(10))


def run_all_cells(browser: Chromium, deadline: Deadline) -> None:
    page = browser.page
    page.evaluate(_RUN_ALL)  # not awaited in the page: the wait below has the timeout
    wait_for(
        browser,
        _CELLS_DONE,
        None,
        deadline.ms(90),
        lambda: f"run all cells did not finish: {page.evaluate(_LAB_STATE)}",
    )
    state = page.evaluate(_CELL_ERRORS)
    assert not state["errors"], "errors in the notebook's outputs: " + "; ".join(state["errors"])
    assert state["result"]["ok"], f"run all cells did not complete: {state['result']}"


def assert_rendered(browser: Chromium, expect: Expect, deadline: Deadline) -> None:
    page = browser.page
    page.locator(".widget-slider").first.wait_for(timeout=deadline.ms(30))
    page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot').length >= n",
        arg=expect.min_figures,
        timeout=deadline.ms(30),
    )
    page.locator(".js-plotly-plot .gtitle").first.wait_for(timeout=deadline.ms(30))
    assert base_timeout_slider(browser, expect).count() == 1, (
        f"expected one slider described {expect.slider_label!r}; sliders: "
        f"{page.locator('.widget-slider .widget-label').all_text_contents()}"
    )
    figure_with_title(browser, expect.figure_title).wait_for(timeout=deadline.ms(30))
    page.locator("button.jupyter-button", has_text=exact(expect.run_button)).wait_for(
        timeout=deadline.ms(30)
    )


def exact(text: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def base_timeout_slider(browser: Chromium, expect: Expect):  # -> playwright Locator
    page = browser.page
    label = page.locator(".widget-label", has_text=re.compile(re.escape(expect.slider_label), re.I))
    return page.locator(".widget-slider").filter(has=label)


def figure_with_title(browser: Chromium, title: str):  # -> playwright Locator
    page = browser.page
    gtitle = page.locator(".gtitle", has_text=re.compile(re.escape(title), re.I))
    return page.locator(".js-plotly-plot").filter(has=gtitle).first


def readout(slider) -> float:
    text = slider.locator(".widget-readout").inner_text().strip()
    return float(text.replace(",", ""))


_TITLE_SHOWS = """([figureTitle, valuePattern, value, tolerance]) => {
  const want = new RegExp(figureTitle, 'i');
  const pattern = new RegExp(valuePattern, 'i');
  for (const t of document.querySelectorAll('.js-plotly-plot .gtitle')) {
    const text = t.textContent;
    if (!want.test(text)) continue;
    const m = text.match(pattern);
    if (m && Math.abs(parseFloat(m[1]) - value) <= tolerance) return text;
  }
  return false;
}"""


def move_slider_and_wait_for_figure(browser: Chromium, expect: Expect, deadline: Deadline) -> None:
    page = browser.page
    slider = base_timeout_slider(browser, expect)
    handle = slider.locator(".noUi-handle").first
    before = readout(slider)
    patterns = [re.escape(expect.figure_title), expect.title_value]
    shown = page.evaluate(_TITLE_SHOWS, [*patterns, before, abs(before) * 0.005 + 1e-9])
    assert shown, (
        f"no figure title contains {expect.figure_title!r} and 'base timeout {before:g}'; "
        f"titles: {page.locator('.js-plotly-plot .gtitle').all_text_contents()}"
    )
    handle.scroll_into_view_if_needed(timeout=deadline.ms(10))
    handle.focus(timeout=deadline.ms(10))
    for key in ("ArrowRight", "ArrowLeft"):  # left if the slider starts at its maximum
        handle.press(key, timeout=deadline.ms(10))
        end = time.monotonic() + deadline.timeout(5)
        while (after := readout(slider)) == before and time.monotonic() < end:
            time.sleep(0.05)
        if after != before:
            break
    assert after != before, f"the base timeout slider did not move from {before:g}"
    tolerance = abs(after - before) / 2  # closer to the new value than to the old one
    wait_for(
        browser,
        _TITLE_SHOWS,
        [*patterns, after, tolerance],
        deadline.ms(30),
        lambda: (
            f"no figure title shows {expect.figure_title!r} with 'base timeout {after:g}' "
            f"after the slider moved {before:g} -> {after:g}; titles: "
            f"{page.locator('.js-plotly-plot .gtitle').all_text_contents()}"
        ),
    )
    browser.log(f"[test] base timeout {before:g} -> {after:g}: the figure title follows")


# Records, from before the click on, every text the status indicator shows and every redraw of
# the timeline's bars: a state that passes quickly still counts, and so does a redraw to the
# same number of bars (the notebook may have run live once already in a cell).
_WATCH = """([statusClass, timelineTitle]) => {
  const w = window.__chatconn = {status: [], bars: [], statusMark: 0, barsMark: 0};
  // text nodes joined by spaces: "Connected" + "Ready", not "ConnectedReady"
  const textOf = el => {
    const parts = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const part = walker.currentNode.nodeValue.replace(/\\s+/g, ' ').trim();
      if (part) parts.push(part);
    }
    return parts.join(' ');
  };
  const title = new RegExp(timelineTitle, 'i');
  w.barPaths = () => {
    const out = [];
    for (const plot of document.querySelectorAll('.js-plotly-plot')) {
      const t = plot.querySelector('.gtitle');
      if (!t || !title.test(t.textContent)) continue;
      for (const p of plot.querySelectorAll('.barlayer .point path')) {
        const d = p.getAttribute('d') || '';
        if (d && d !== 'M0,0Z') out.push(d);
      }
    }
    return out;
  };
  const last = new WeakMap();
  let lastBars = null;
  const record = () => {
    for (const el of document.querySelectorAll('.' + statusClass)) {
      const text = textOf(el);
      if (last.get(el) !== text) { last.set(el, text); w.status.push(text); }
    }
    const paths = w.barPaths();
    const signature = paths.join('|');
    if (signature !== lastBars) { lastBars = signature; w.bars.push(paths.length); }
  };
  record();
  w.observer = new MutationObserver(record);
  w.observer.observe(document.body, {
    subtree: true, childList: true, characterData: true, attributes: true,
    attributeFilter: ['d']});
  return {status: w.status.slice(), bars: w.bars.slice()};
}"""

_MARK = """() => {
  const w = window.__chatconn;
  w.statusMark = w.status.length;
  w.barsMark = w.bars.length;
}"""

# The timeline was redrawn after the click and has bars now.
_TIMELINE_FILLED = """() => {
  const w = window.__chatconn;
  return w.bars.length > w.barsMark && w.barPaths().length > 0 && w.barPaths().length;
}"""

# A text the indicator showed after the click says connected.
_STATUS_REACHED = """([pattern]) => {
  const w = window.__chatconn, re = new RegExp(pattern, 'i');
  return w.status.slice(w.statusMark).find(t => re.test(t)) || false;
}"""

_SEEN = """() => {
  const w = window.__chatconn;
  return {status: w.status.slice(w.statusMark), bars: w.bars.slice(w.barsMark),
          barsNow: w.barPaths().length};
}"""


def run_live_and_wait(browser: Chromium, expect: Expect, deadline: Deadline) -> None:
    page = browser.page
    page.locator(f".{expect.status_class}").first.wait_for(
        state="attached", timeout=deadline.ms(10)
    )
    figure_with_title(browser, expect.timeline_title).wait_for(timeout=deadline.ms(10))
    button = page.locator("button.jupyter-button", has_text=exact(expect.run_button))
    button.wait_for(timeout=deadline.ms(10))
    before = page.evaluate(_WATCH, [expect.status_class, re.escape(expect.timeline_title)])
    browser.log(f"[test] before {expect.run_button!r}: {before}")
    page.evaluate(_MARK)
    button.click(timeout=deadline.ms(10))

    def seen() -> dict:
        return page.evaluate(_SEEN)

    bars = wait_for(
        browser,
        _TIMELINE_FILLED,
        None,
        deadline.ms(60),
        lambda: (
            f"the timeline figure (title with {expect.timeline_title!r}) was not redrawn "
            f"with bars after {expect.run_button!r}; since the click: {seen()}"
        ),
    )
    reached = wait_for(
        browser,
        _STATUS_REACHED,
        [expect.status_reached],
        deadline.ms(60),
        lambda: (
            f"the status indicator (.{expect.status_class}) did not say 'connected' after "
            f"{expect.run_button!r}; since the click: {seen()}"
        ),
    )
    browser.log(f"[test] status reached {reached!r}; timeline bars: {bars}")
    # Not asserted: let the run finish (its button comes back) so the screenshot shows it all.
    with contextlib.suppress(Exception):
        button.locator("xpath=self::*[not(@disabled)]").wait_for(timeout=deadline.ms(30))
    browser.log(f"[test] since the click: {seen()}")


#: Slider steps timed from key press to the figure title showing the new value (issue 16:
#: p50 <= 150 ms on a quiet machine). Printed and logged, never asserted: a timing on a
#: shared 2-core machine is a measurement, not a test.
TIMED_STEPS = 10


def measure_slider_to_figure(
    browser: Chromium, expect: Expect, deadline: Deadline, artifacts: Path
) -> list[float]:
    """Press ArrowRight/ArrowLeft on the base timeout slider ``TIMED_STEPS`` times; for each,
    the wall time from the key press until the time-to-connect title shows the new value
    (the figure redrawn). Writes ``slider-timings.txt`` and prints p50 and max."""
    page = browser.page
    slider = base_timeout_slider(browser, expect)
    handle = slider.locator(".noUi-handle").first
    patterns = [re.escape(expect.figure_title), expect.title_value]
    timings = []
    for i in range(TIMED_STEPS):
        before = readout(slider)
        handle.focus(timeout=deadline.ms(10))
        key = "ArrowRight" if i % 2 == 0 else "ArrowLeft"
        start = time.perf_counter()
        handle.press(key, timeout=deadline.ms(10))
        end = time.monotonic() + deadline.timeout(5)
        while (after := readout(slider)) == before and time.monotonic() < end:
            time.sleep(0.005)
        assert after != before, f"the base timeout slider did not move from {before:g}"
        page.wait_for_function(
            _TITLE_SHOWS,
            arg=[*patterns, after, abs(after - before) / 2],
            timeout=deadline.ms(30),
            polling="raf",
        )
        timings.append((time.perf_counter() - start) * 1000)
    ordered = sorted(timings)
    p50 = ordered[len(ordered) // 2]
    line = (
        f"slider -> redrawn figure over {len(timings)} steps: p50 {p50:.0f} ms, "
        f"max {ordered[-1]:.0f} ms; each: {', '.join(f'{t:.0f}' for t in timings)} ms"
    )
    (artifacts / "slider-timings.txt").write_text(line + "\n")
    browser.log(f"[test] {line}")
    print(f"\n[browser] {line}")
    return timings


def add_rung_with_enter(browser: Chromium, deadline: Deadline) -> None:
    """Type a strategy into "Add rung" and press Enter: the ladder gets one more rung."""
    page = browser.page
    tags = page.locator(".chatconn-policy-panel .jupyter-widget-tag")
    before = tags.count()
    box = page.locator(".chatconn-policy-panel input[placeholder^='add a rung']")
    box.click(timeout=deadline.ms(10))
    box.fill("sse_fallback", timeout=deadline.ms(10))
    box.press("Enter", timeout=deadline.ms(10))
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length === n + 1",
        arg=[".chatconn-policy-panel .jupyter-widget-tag", before],
        timeout=deadline.ms(10),
    )
    page.wait_for_function(  # emptied by the kernel, ready for the next rung
        "sel => document.querySelector(sel).value === ''",
        arg=".chatconn-policy-panel input[placeholder^='add a rung']",
        timeout=deadline.ms(10),
    )
    browser.log(f"[test] Enter added a rung: {before} -> {tags.count()} rungs")


def switch_language(browser: Chromium, deadline: Deadline, artifacts: Path) -> None:
    """The English/Русский switch changes the status indicators (screenshot of both)."""
    page = browser.page
    panel = page.locator(".chatconn-status").last  # the panel variant of notebook 01
    panel.scroll_into_view_if_needed(timeout=deadline.ms(10))
    browser.screenshot(artifacts / "05-status-en.png")
    page.locator("button", has_text=exact("Русский")).click(timeout=deadline.ms(10))
    page.wait_for_function(  # the indicators, the toasts and the explanation: all switched
        "() => [...document.querySelectorAll('.chatconn-status')].some("
        "e => e.textContent.includes('Подключено'))"
        " && [...document.querySelectorAll('.chatconn-toasts')].every("
        "e => !/Trying|Connected through/.test(e.textContent))"
        " && document.body.textContent.includes('Похоже, WebSocket')",
        timeout=deadline.ms(10),
    )
    browser.screenshot(artifacts / "06-status-ru.png")
    page.locator("button", has_text=exact("English")).click(timeout=deadline.ms(10))


def wait_for(browser: Chromium, js: str, arg: object, timeout_ms: float, why) -> object:
    """``page.wait_for_function`` whose timeout fails with ``why()``: what the page shows."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        return browser.page.wait_for_function(
            js, arg=arg, timeout=timeout_ms, polling=100
        ).json_value()
    except PlaywrightTimeout:
        try:
            detail = why()
        except Exception as exc:
            detail = f"(could not read the page: {exc})"
        raise AssertionError(f"after {timeout_ms / 1000:.0f} s: {detail}") from None


# -- notebook 03: each storm beside its lockstep chart -------------------------------------------
_PAIRS = """() => {
  const out = [];
  for (const box of document.querySelectorAll('.widget-hbox')) {
    const plots = [...box.querySelectorAll('.js-plotly-plot')];
    if (plots.length !== 2) continue;
    const [a, b] = plots.map(p => p.getBoundingClientRect());
    const titles = plots.map(p => (p.querySelector('.gtitle') || {}).textContent || '');
    out.push({titles, a: [a.left, a.top, a.right], b: [b.left, b.top, b.right],
              width: window.innerWidth});
  }
  return out;
}"""


def test_storm_notebook_shows_each_storm_beside_its_lockstep_chart() -> None:
    require_browser()
    base = Path(os.environ.get("CHATCONN_ARTIFACTS") or ROOT / "test-artifacts")
    artifacts = base / "browser-03"
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    deadline = Deadline(BUDGET_S)
    notebook = "03_reconnect_storm.ipynb"
    with (
        start_jupyter_lab(NOTEBOOKS, log_dir=artifacts, deadline=deadline) as lab,
        chromium(watchdog_s=BUDGET_S + WATCHDOG_GRACE_S) as browser,
    ):
        try:
            open_notebook(browser, lab, notebook, deadline)
            run_all_cells(browser, deadline)
            browser.page.wait_for_function(
                "() => [...document.querySelectorAll('.widget-hbox')].filter("
                "b => b.querySelectorAll('.js-plotly-plot .main-svg').length >= 4).length >= 3",
                timeout=deadline.ms(60),
            )
            pairs = browser.page.evaluate(_PAIRS)
            for i, box in enumerate(browser.page.locator(".widget-hbox").all()):
                if box.locator(".js-plotly-plot").count() == 2:
                    box.scroll_into_view_if_needed(timeout=deadline.ms(10))
                    box.screenshot(path=str(artifacts / f"storm-and-lockstep-{i}.png"))
        finally:
            browser.save_console(artifacts / "console.log")
    assert len(pairs) == 3, pairs
    for pair in pairs:
        (_, a_top, a_right), (b_left, b_top, _) = pair["a"], pair["b"]
        assert "storm" in pair["titles"][0].lower() and "lockstep" in pair["titles"][1].lower()
        assert abs(a_top - b_top) < 5 and a_right <= b_left + 1, pair  # one row, no overlap
