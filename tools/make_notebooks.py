"""Write notebooks/*.ipynb from the cell sources below: committed without outputs.

    python tools/make_notebooks.py

Editing a notebook in JupyterLab is fine too; clear its outputs before committing
(a test checks).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1] / "notebooks"


def md(text: str):
    return new_markdown_cell(text.strip())


def code(text: str):
    return new_code_cell(text.strip())


NOTEBOOKS = {
    "01_tune_policy.ipynb": [
        md("""
# Tune a reconnect policy

Move the sliders: every change re-simulates 100,000 connects of the policy under the chosen
profile or population and updates the figures in place. The time-to-connect curve is
coloured by quality class (Excellent < 2 s, Good 2–8 s, Poor 8–15 s, Critical > 15 s or
failed); the backoff chart shows each attempt's timeout and when it can start.

Pick a preset to start from a published policy (gRPC, websockets, AWS, Socket.IO, SignalR),
edit the strategy ladder, or change the network (a population such as `global-users` mixes
profiles by share). An invalid combination is explained under the panel.
"""),
        code("""
from IPython.display import display

from chatconn.widgets import LiveView, PolicyPanel, SimulationView

panel = PolicyPanel("seed", target="global-users")
simulation = SimulationView(panel, sessions=100_000)
display(panel.widget, simulation.widget)
"""),
        md("""
## Live attempts

**Run live** connects real clients (websockets, httpx) to a lab server started inside this
notebook, on loopback, behind the same network profile, with the panel's policy. The
timeline fills as attempts complete; the overlay compares the live times with the
simulation; the status shows what a user would see. A *time scale* shrinks every timeout,
wait and injected delay so a run takes seconds; times are shown in profile time.

**The time scale is chosen for this machine.** The lab and the clients share this Python
process, and each connect costs it a little CPU and a timer that fires a little late —
the *harness floor*. A time scale does not shrink that cost, and reading times back in
profile time magnifies it (at a scale of 0.05, 2 ms reads as 40 ms). So before each run a
few probe connects through the lab measure the floor here and now, and the view picks the
strongest compression that keeps what the harness can add under 5 % of the profile's
median time to connect. Under the buttons it says which scale, why, the floor it measured
and the most the harness can add to a connect (the *bound*). `LiveView(panel,
time_scale=0.05)` chooses the scale yourself; one that lets the harness distort the times
by more than 5 % gets a warning in red.
"""),
        code("""
live = LiveView(panel, sessions=20, concurrency=5)  # time_scale="auto"
display(live.widget)
"""),
        md("""
The button does the same as this cell, which runs one batch now and says what the view
says: the scale and why, then the verdict against the simulation — medians, 90th
percentiles and success rates side by side:
"""),
        code("""
from chatconn.core.harness import describe_scale

run = await live.run()
print(describe_scale(run.plan.choice, run.harness, run.bound_s))
verdict = run.agreement()  # against the simulated twin, allowing the bound
print(verdict.headline)
print(verdict.details)
summary = run.summary()
# rounded for people: a success rate to 0.1 %, seconds to 0.01 s
(f'{summary["success_rate"]:.1%}', round(summary["time_to_connect_s"]["p50"], 2),
 summary["strategy_counts"])
"""),
        md("""
**What to look at:** the p95 in the time-to-connect title, the share of Critical sessions,
and the overlay's subtitle: the verdict first ("agrees within sampling error", or "live is
slower by 0.3 s at p50 — more than sampling and the harness can explain"), then medians,
p90 and success rates side by side. The grey band to the right of the simulated curve is
what the harness can add: a live curve inside it, within sampling error, agrees. Behind
`corporate-firewall`, watch
the seed ladder spend minutes on WebSocket rungs before long polling connects — then try
removing a rung, or shortening `base_timeout`, and see what it does to everyone else.

To keep a run for later, press **Save run**: it goes to `data/runs/mine/` under the folder
this notebook runs in (the working folder `chatconn notebooks DIR` or `make lab` made) as a
run file
named after the run (nothing is ever overwritten), with the policy, the profile the lab
played, the seed and every attempt. `chatconn report data/runs/mine --out report.html`
turns your runs into a stakeholder report; notebook 02 shows how to reload and compare them.
"""),
        md("""
## What a user sees: the status indicator, toasts and explanations

Above, the live view shows one status for the whole run (how the sessions ended so far),
so it does not flicker from session to session. In an app, each user sees their own
connection. Here is one user behind the corporate firewall, in the three variants of the
status indicator — a **badge**, an **inline** line with progress, and a **panel** with a
Retry button — with the toasts the user gets and the manager's explanation in plain
language. The language switch changes all of them (and the live view above) at once.
"""),
        code("""
import ipywidgets as W

from chatconn.widgets import StatusIndicator, Toasts

indicators = {variant: StatusIndicator(variant) for variant in ("badge", "inline", "panel")}
toasts = Toasts(duration_s=120)
explanation = W.HTML()
language = W.ToggleButtons(options=[("English", "en"), ("Русский", "ru")],
                           description="Language")


def show_explanation():
    said = connection.explanation.say(language.value) if connection else ""
    explanation.value = f"<i>{said}</i>"


def switch_language(change):
    for widget in (*indicators.values(), toasts, live):
        widget.language = change["new"]
    show_explanation()


connection = None
language.observe(switch_language, names="value")
display(language, *(W.HBox([W.Label(name), ind.widget]) for name, ind in indicators.items()),
        toasts.widget, explanation)
"""),
        code("""
from chatconn.lab import LabServer
from chatconn.live import ConnectionManager, HttpTokenProvider

SCALE = 0.02  # the policy's 15 s timeouts last 0.3 s; times are shown in profile time
async with LabServer("corporate-firewall", time_scale=SCALE, seed=1) as lab:
    provider = HttpTokenProvider(lab.endpoint.http_url)
    async with ConnectionManager(lab.endpoint, provider, time_scale=SCALE) as connection:
        for widget in (*indicators.values(), toasts):
            widget.bind(connection)
        await connection.connect()  # WebSocket hangs behind the proxy: a fallback gets through
        for widget in (*indicators.values(), toasts):
            widget.unbind()  # keep showing the connect, not the close that follows
show_explanation()
indicators["badge"].texts()["state"], toasts.visible
"""),
        md("""
## What a user sees while it connects

Two real connects with the seed policy, each against a lab of its own (time scale 0.01):
one behind `corporate-firewall`, one to a server that is down (three attempts). While
connecting, each panel's badge turns a spinner and the attempt counter gives the percent of
the worst case spent ("Attempt 2 of 6 · 4%", from the planned schedule); when the connect
ends degraded or failed, a tip says what still works and what to do — from the state and
the last error, in the panel's language (`TipBook` takes texts of your own). To follow every
step in the log, `chatconn.logs.enable_logging("DEBUG")` (or `chatconn run --lab -vv`).
"""),
        code("""
import asyncio

import ipywidgets as W

from chatconn import policy_preset
from chatconn.lab import LabServer
from chatconn.live import ConnectFailed, ConnectionManager
from chatconn.widgets import StatusIndicator

firewall, down = StatusIndicator("panel"), StatusIndicator("panel", language="ru")
display(W.HBox([firewall.widget, down.widget]))


async def connect_through(profile, policy, indicator):
    async with LabServer(profile, time_scale=0.01) as lab:
        manager = ConnectionManager(lab.endpoint, lab.token, policy=policy, time_scale=0.01)
        async with manager:
            indicator.bind(manager)
            try:
                await manager.connect()
            except ConnectFailed:
                pass
            indicator.unbind()  # keep showing the outcome, not the close that follows


seed = policy_preset("seed")
await asyncio.gather(
    connect_through("corporate-firewall", seed, firewall),
    connect_through("server-down", seed.with_changes(max_attempts=3), down),
)
firewall.texts()["tip"], down.texts()["tip"]
"""),
        md("""
## Probing first, a deadline, and sessions that last

The panel's **Diagnostics first** box runs the seed app's diagnostics phase before the first
attempt (latency and WebSocket probes, then a ladder without WebSocket rungs when a proxy is
suspected): try it on `corporate-firewall`, then on `global-users` to see what probing costs
where nothing is blocked. **Deadline** bounds the whole connect (0: none).

Connections also drop once connected. The heartbeat notices a silent drop after up to one
interval plus its pong timeout (Stream Chat's client: 25 s + 10 s); the policy then
reconnects. Below: per hour of session, the time disconnected and the detection delay, for
the panel's policy and profile:
"""),
        code("""
import ipywidgets as W

from chatconn.core.lifetime import HeartbeatConfig
from chatconn.core.profiles import load_target
from chatconn.lifetime import simulate_lifetime

interval = W.FloatSlider(value=25, min=5, max=120, step=5, description="Ping every (s)")
pong = W.FloatSlider(value=10, min=1, max=60, step=1, description="Pong timeout (s)")
lifetime = W.HTML()

def show_lifetime(*_):
    heartbeat = HeartbeatConfig(interval.value, pong.value)
    state = panel.state
    s = simulate_lifetime(state.policy, load_target(state.target), 2_000, seed=state.seed,
                          heartbeat=heartbeat).summary()
    detect = s["detection_s"]
    lifetime.value = (
        f"<b>{s['disconnected_s_per_hour']['mean']:.1f} s</b> disconnected per hour on average "
        f"(p99 {s['disconnected_s_per_hour']['p99']:.0f} s); {s['reconnects_per_hour']:.2f} "
        f"reconnects per hour; a drop is noticed after "
        f"{detect['p50'] if detect else 0:.0f} s at the median")
    return s

for control in (interval, pong):
    control.observe(show_lifetime, names="value")
panel.observe(show_lifetime)
hour = show_lifetime()
assert hour["detection_s"] is None or hour["detection_s"]["max"] <= 35
display(W.VBox([interval, pong, lifetime]))
"""),
    ],
    "02_live_vs_simulated.ipynb": [
        md("""
# Live vs simulated: recorded runs, and a run of your own

The same `NetworkProfile` drives the simulator's model and the lab server's chaos proxy, so
a live run and a simulation of "3G" or "corporate firewall" can be compared honestly.

**Recorded runs first.** `data/runs` ships a curated sample: live runs of three policies
against the lab under four profiles, each with its simulated twin (same policy, profile and
seed). Regenerate it with `make sample`; make a stakeholder report of it with
`make report`.
"""),
        code("""
import pandas as pd

from chatconn.plots import plot_compare, plot_live_vs_simulated, plot_quality, plot_timeline
from chatconn.runs import SAMPLE_DIR, compare_runs, load_runs, replay, sessions_frame, twin_of

recorded = load_runs(SAMPLE_DIR)
table = pd.DataFrame(compare_runs(recorded)).set_index("label")
table[["sessions", "success_rate", "p50_s", "p95_s", "attempts_mean", "bound_s",
       "vs_model"]].round(3)
"""),
        md("""
**What to look at:** `vs_model` is each live run's verdict against its simulated twin
(`chatconn.agreement.compare`): "agrees" when the live medians and 90th percentiles lie
within what the two sample sizes and the harness explain, else "slower by … at p50",
"faster …", "success differs" or "inconclusive". `bound_s` is the harness allowance: the
profile seconds this machine's own harness could add to a connect at the run's time scale,
as recorded with the run (0 for runs recorded before chatconn measured it — nothing of a
gap is then put down to the harness). Every recorded run, live or simulated, plots like a
fresh one, with the verdict as the overlay's subtitle:
"""),
        code("""
def run_of(label):
    return next(r for r in recorded if r.label == label)

live_3g = run_of("seed · 3g · live")
plot_live_vs_simulated(live_3g, twin_of(live_3g, recorded).result,
                       title="Recorded: seed on 3G, live vs its simulated twin")
"""),
        code("""
firewall = {r.label: r.result for r in recorded if r.header.target_name == "corporate-firewall"}
plot_compare(firewall, title="Recorded: behind a WebSocket-blocking proxy")
"""),
        code("""
plot_timeline(run_of("seed · corporate-firewall · live"), max_sessions=20,
              title="Recorded timeline: four hanging WebSocket attempts, then long polling")
"""),
        md("""
A simulated run replays from its header (policy, full profile, seed) to identical arrays;
a live run's twin is the same simulation. Per-session data comes back as a DataFrame:
"""),
        code("""
twin = run_of("seed · 3g · simulated")
replayed = replay(twin)
print("replay identical:", bool((replayed.ended_at == twin.result.ended_at).all()))
frame = sessions_frame(recorded)
frame.groupby(["profile", "policy", "kind"])["connected"].mean().unstack("kind").round(3)
"""),
        md("""
## A run of your own

Forty real sessions (websockets, httpx) against an in-process lab on loopback behind the
**3G** profile. A time scale shrinks every timeout, wait and injected delay by the same
factor so the run takes seconds; times are reported back in *profile time*.

The scale is chosen for this machine (`time_scale="auto"`): `run_live` first measures the
*harness floor* — what a connect costs here beyond what the network profile puts in it
(client, chaos proxy and server sharing this process's CPU, timers firing late) — then
takes the strongest compression that keeps that cost under 5 % of the profile's median
time to connect, samples the floor again during the run, and records the *bound*: the most
the harness can add to a connect, in profile seconds. Give a number instead to choose the
scale yourself; one that distorts by more than 5 % comes with a warning. `wall_budget_s`
is how long the sessions may take (10 s here): when real time would take longer, the scale
compresses as far as the harness's 5 % allows.
"""),
        code("""
from chatconn import policy_preset, profile_preset, simulate
from chatconn.agreement import compare
from chatconn.core.harness import describe_scale
from chatconn.live import run_live
from chatconn.runs import save_run

policy = policy_preset("seed")
profile = profile_preset("3g")
TIME_SCALE = "auto"  # or a number, e.g. 0.01 (with a warning if it distorts the times)
SEED = 2
SAVE_TO = None  # e.g. "data/runs/mine/" to keep this run (a directory names the file)
"""),
        code("""
live = await run_live(policy, 40, concurrency=20, seed=SEED, time_scale=TIME_SCALE,
                      lab_profile=profile, policy_name="seed", wall_budget_s=10)
if SAVE_TO:
    print("saved to", save_run(live, SAVE_TO))
print(describe_scale(live.plan.choice, live.harness, live.bound_s))
if live.plan.choice.warning:
    print("warning:", live.plan.choice.warning)
{k: round(v, 2) for k, v in live.summary()["time_to_connect_s"].items()}  # seconds
"""),
        md("The simulator draws 100,000 sessions of the same policy and profile:"),
        code("""
simulated = simulate(policy, profile, 100_000, seed=SEED)
{k: round(v, 2) for k, v in simulated.summary()["time_to_connect_s"].items()}
"""),
        md("""
**The verdict.** Live against simulated, like with like: medians and 90th percentiles each
get an interval from their sample size (40 live sessions: wide; 100,000 simulated:
narrow), and live agrees when the gap lies within what sampling and the bound explain —
the harness can only add time. Success rates are compared by a two-proportion test:
"""),
        code("""
verdict = compare(live, simulated, bound_s=live.bound_s)
print(verdict.headline)
print(verdict.details)
"""),
        md("""
**What to look at:** the subtitle is that verdict, then medians, p90 and success rates side
by side (the KS distance last, as a detail). The grey band is the simulated curve shifted
right by the bound: where live lands if the model holds and the harness adds all it can. A
live curve well to the right of the band means the real stack adds time the model does
not know about.
"""),
        code("plot_live_vs_simulated(live, simulated)"),
        code("plot_quality(live.result)"),
        md("Each row is one live session; each bar one attempt, coloured by strategy:"),
        code("plot_timeline(live.records)"),
        md("""
## Your production data

Bring in what your users really see: connection timings exported from your app's analytics
(CSV or JSON Lines: at least a duration and whether it connected) or a HAR file saved from
the browser's network panel. `import_timings` (`chatconn import` on the command line)
writes them as an *observed* run file that every tool here reads. **The file below is
synthetic** — `data/example-production-timings.csv`, 500 sessions simulated by
`tools/make_example_timings.py` and written like an analytics export — put your own in its
place. Its duration column is in milliseconds and its success column is called `ok`: the
mapping says so (units are never guessed).
"""),
        code("""
import tempfile
from pathlib import Path

from chatconn.calibrate import calibrate
from chatconn.importers import import_timings
from chatconn.runs import load_run
from chatconn.runs.segments import by_segment, segment_rows

EXAMPLE = SAMPLE_DIR.parent / "example-production-timings.csv"  # synthetic: use your own
path, imported = import_timings(
    EXAMPLE,
    Path(tempfile.mkdtemp()) / "production.jsonl",  # e.g. data/runs/mine/ for keeps
    mapping=["connect_ms=duration_ms", "ok=connected"],
    policy="seed",  # the policy your clients ran
)
production = load_run(path)
assert production.kind == "observed" and production.sessions == imported.sessions == 500
pd.DataFrame(segment_rows(production, "region")).drop(columns="quality").round(3)
"""),
        code('plot_compare(by_segment(production, "region"), title="Time to connect by region")'),
        md("""
**What to look at:** a region whose curve sits far to the right is where the policy's
timeouts and waits matter most. Then fit a network profile to these sessions and simulate
the current policy on it — the simulated twin of your users, on which any other policy can
be tried (notebook 05 tunes against such a fitted profile):
"""),
        code("""
fit = calibrate(production, base="broadband", seed=1, bootstrap=0)
print(fit.description)
plot_compare({"observed": production.result, "seed simulated on the fitted profile": fit.simulated},
             title="Your users and their simulated twin")
"""),
        md("""
**Real clients, observed.** `chatconn proxy --upstream HOST:PORT --profile P --record FILE`
puts the same chaos proxy in front of *any* server and records every connection your real
app makes through it (README, "Real clients through the proxy"). `data/observed` holds one
such recording: 40 socket.io clients (the real `socket.io-client`, default reconnection)
whose server was killed for 16 s and restarted. Does what they did match a preset?
"""),
        code("""
from chatconn.observe import observation_report
from chatconn.plots.observe import plot_observed_timeline, plot_observed_waits
from chatconn.runs import load_run

observed = load_run(SAMPLE_DIR.parent / "observed" / "socketio-restart.jsonl")
found = observation_report(observed)  # waits per retry against every preset, best first
for comparison in found["comparisons"][:3]:
    print(comparison["verdict"])
plot_observed_waits(observed, found["comparisons"][0]["name"])
"""),
        code("plot_observed_timeline(observed, max_clients=12)"),
    ],
    "03_reconnect_storm.ipynb": [
        md("""
# The reconnect storm: fast reconnects against server load

A server restarts: every connected client is dropped at once and reconnects by its
policy. The server is back after `outage_s` and accepts at most `capacity` handshakes per
second; the rest are refused and retry. Policies without jitter — or that cap the wait
*after* jittering it — bring the herd back in lockstep.
"""),
        code("""
import ipywidgets as widgets
import plotly.graph_objects as go

from chatconn import policy_preset, storm
from chatconn.lockstep import lockstep
from chatconn.plots import plot_lockstep, plot_storm

CLIENTS, OUTAGE_S, CAPACITY = 20_000, 30, 2_000
results = {name: storm(policy_preset(name), CLIENTS, OUTAGE_S, CAPACITY, seed=1)
           for name in ("seed", "aws-decorrelated", "socketio", "signalr", "grpc")}
{name: {"peak/s": r.peak_per_s,
        "99 % back after s": r.reconnected_99_s and round(r.reconnected_99_s, 1),
        "back": f"{r.back / CLIENTS:.0%}", "gave up": r.gave_up}
 for name, r in results.items()}
"""),
        md("""
**What to look at:** the dashed line is the server's capacity. SignalR's jitter-free table
sends every client in the same second — and then its `DefaultReconnectPolicy` stops: the
clients refused in that second **give up and stay down**, as do the seed app's (6 attempts,
all spent inside a 30 s outage) and decorrelated jitter's that run out of attempts. gRPC and
Socket.IO retry forever and all come back. A policy that gives up spares the server by
abandoning users: read `back` beside the peak. To compare the herds on load alone, keep
everyone retrying at the last wait with `policy.with_changes(retries_forever=True)`:
"""),
        code("""
forever = {name: storm(policy_preset(name).with_changes(retries_forever=True), CLIENTS,
                       OUTAGE_S, CAPACITY, seed=1) for name in ("seed", "aws-decorrelated")}
{name: (r.peak_per_s, round(r.reconnected_99_s, 1)) for name, r in forever.items()}
"""),
        md("""
Retrying forever, decorrelated jitter stays near capacity but takes longer to bring
everyone back than the seed's proportional jitter. That is the trade-off to choose.
"""),
        md("""
Next to each storm (and in its subtitle), the **lockstep detector**: of the clients dropped
together, the largest share that starts retry *k* within the same 100 ms. Near 1 means the
herd moves as one (no jitter, a fixed table, a cap applied after jitter); the verdict names
the cause.
"""),
        code("""
def storm_and_lockstep(name):
    # Side by side: half the width each (the subtitles are written in short lines for it).
    report = lockstep(policy_preset(name), clients=CLIENTS, seed=1)
    figures = [plot_storm(results[name], lockstep=report), plot_lockstep(report)]
    return widgets.HBox([go.FigureWidget(f.update_layout(width=500)) for f in figures])

locksteps = {name: lockstep(policy_preset(name), clients=CLIENTS, seed=1) for name in results}
{name: (str(r.verdict), round(r.worst_share, 3)) for name, r in locksteps.items()}
"""),
        code('storm_and_lockstep("signalr")'),
        code('storm_and_lockstep("aws-decorrelated")'),
        code('storm_and_lockstep("socketio")'),
    ],
    "04_compare_policies.ipynb": [
        md("""
# Published policies side by side

Every preset reproduces a library's policy as read from its source (see README). Here they
meet the same users: first a worldwide population, then users behind a corporate proxy
that blocks WebSocket.
"""),
        code("""
from chatconn import load_target, policy_preset, policy_preset_names, simulate
from chatconn.plots import plot_compare

def compare(target, sessions=100_000):
    return {name: simulate(policy_preset(name), load_target(target), sessions, seed=1)
            for name in policy_preset_names()}

worldwide = compare("global-users")
{name: round(r.summary()["success_rate"], 4) for name, r in worldwide.items()}
"""),
        md("""
**What to look at:** most presets connect the same 98 % quickly; they differ in the tail.
Only the seed's ladder (with long polling and SSE) reaches the 2 % behind proxies — after
minutes of hanging WebSocket attempts.
"""),
        code("plot_compare(worldwide)"),
        code("""
firewall = compare("corporate-firewall", sessions=20_000)
plot_compare(firewall)
"""),
        code("""
seed = policy_preset("seed")
probing = {"seed": seed, "seed + diagnostics": seed.with_changes(diagnostics=True)}

def pair(target, sessions):
    return {name: simulate(p, load_target(target), sessions, seed=1) for name, p in probing.items()}

def p(result, q):
    return result.summary()["time_to_connect_s"][q]

users, proxy = pair("global-users", 100_000), pair("corporate-firewall", 20_000)
cost = p(users["seed + diagnostics"], "p50") - p(users["seed"], "p50")
assert 0 < cost < 1 and p(proxy["seed + diagnostics"], "p99") < 30
print(f"global-users: probing first costs {cost * 1000:.0f} ms at the median "
      f"({p(users['seed'], 'p95'):.2f} s -> {p(users['seed + diagnostics'], 'p95'):.2f} s at p95: "
      "stalled or reset probes read as a firewall too)")
print(f"corporate-firewall: p99 {p(proxy['seed'], 'p99'):.0f} s -> "
      f"{p(proxy['seed + diagnostics'], 'p99'):.1f} s")
plot_compare(users)
"""),
        code("""
plot_compare(proxy)
"""),
        md("""
Live against the lab, overlaid on the simulation, for both policies: behind the proxy, and
far away where nothing is blocked (the lab plays one profile, not a population). Each run
chooses its time scale for this machine and says whether it agrees with its twin:
"""),
        code("""
from IPython.display import display

from chatconn.live import run_live
from chatconn.plots import plot_live_vs_simulated

for target in ("corporate-firewall", "intercontinental"):
    for name, policy in probing.items():
        live = await run_live(policy, 12, seed=1, lab_profile=load_target(target), wall_budget_s=3)
        display(plot_live_vs_simulated(live, live.plan.twin, title=f"{name} on {target}"))
"""),
    ],
    "05_tune_policy.ipynb": [
        md("""
# Which policy should we ship?

Sweep a grid of policy numbers over the users you have, score every policy on what it
costs the users (p95 time to connect, success, attempts) and the server (the busiest
second of a reconnect storm), keep the real trade-offs (the Pareto front) and let a stated
objective pick one — with a paragraph you can paste into a design review. Then check the
pick for lockstep, and tune against a network **fitted to recorded live timings**.
"""),
        code("""
import pandas as pd

from chatconn import policy_preset, profile_preset, storm
from chatconn.calibrate import calibrate
from chatconn.lockstep import lockstep
from chatconn.plots import plot_calibration, plot_lockstep, plot_pareto, plot_storm
from chatconn.runs import SAMPLE_DIR, load_run
from chatconn.tune import parse_objective, recommend, sweep

base = policy_preset("seed")
GRID = {"initial_delay": [0.25, 0.5, 1.0, 2.0], "multiplier": [1.5, 2.0],
        "jitter": [0.0, 0.2, 0.5]}
STORM = dict(clients=10_000, outage_s=30, capacity=1_000)
OBJECTIVE = parse_objective("min p95_s; peak_over_capacity <= 2; success_rate >= 99%; "
                            "storm_back_share >= 99%")

result = sweep(base, GRID, "global-users", sessions=20_000, seed=1, **STORM)
scores = pd.DataFrame([{**dict(s.point.changes), **s.scores.to_dict()} for s in result.scored])
scores.round(3).sort_values("p95_s").head(8)
"""),
        md("""
**What to look at:** every dot is a policy; the line joins the ones no other policy beats
on both axes. The dashed line is the objective's storm limit; the star is the pick.
`storm_back_share >= 99%` matters: the seed app gives up after 6 attempts, and a policy
whose 6 attempts are all spent inside the 30 s outage has no storm peak at all — because
its users stay down. Without that limit, abandoning users would look like the best storm.
"""),
        code("""
rec = recommend(result, OBJECTIVE)
print(rec.explanation)
plot_pareto(result, objective=OBJECTIVE)
"""),
        md("""
## Lockstep check

The pick against the same policy without jitter: the storm (arrivals per second against
capacity) and, next to it, the share of clients retrying within the same 100 ms.
"""),
        code("""
no_jitter = rec.policy.with_changes(jitter=0.0)
picked_lockstep = lockstep(rec.policy, clients=STORM["clients"], seed=1)
no_jitter_lockstep = lockstep(no_jitter, clients=STORM["clients"], seed=1)
print("recommended:", picked_lockstep.verdict, "|", " ".join(picked_lockstep.reasons))
print("no jitter:  ", no_jitter_lockstep.verdict, "|", " ".join(no_jitter_lockstep.reasons))
plot_storm(storm(no_jitter, STORM["clients"], STORM["outage_s"], STORM["capacity"], seed=1),
           title="The pick without jitter: the herd in lockstep")
"""),
        code("plot_lockstep(no_jitter_lockstep)"),
        code("plot_lockstep(picked_lockstep)"),
        md("""
A pick that is *clustered* still sends a good part of the herd back together. Every sweep
scores both halves of the verdict (`lockstep_share`: starting a retry together;
`in_step_share`: waiting the same time), so the objective can rule it out:
"""),
        code("""
STRICT = parse_objective("min p95_s; peak_over_capacity <= 2; success_rate >= 99%; "
                         "storm_back_share >= 99%; lockstep_share <= 0.19; in_step_share <= 0.49")
strict = recommend(result, STRICT)
print(strict.explanation)
print("lockstep check:", lockstep(strict.policy, clients=STORM["clients"], seed=1).verdict)
"""),
        md("""
## Tune against a network fitted to your own timings

`calibrate` fits RTT median and spread, the stall rate and the share of users whose
WebSocket is blocked to observed sessions (a live run or a loaded run file) of a known
policy. Here: the recorded live run of the seed policy on the lab's 3G profile
(`data/runs`), fitted from the 3G profile's other settings.
"""),
        code("""
observed = load_run(SAMPLE_DIR / "live-seed-3g.jsonl")
fit = calibrate(observed, base="3g", seed=1)
print(fit.description)
plot_calibration(fit)
"""),
        code("""
fitted = sweep(base, GRID, fit.profile, sessions=20_000, seed=1, **STORM)
print(recommend(fitted, OBJECTIVE).explanation)
"""),
        md("""
## Bigger sweeps

`sweep` takes any `concurrent.futures.Executor`, and gives the same scores on each (every
policy meets the same simulated users): a process pool here, or a `dask.distributed`
cluster (`Client(...).get_executor()`) when a sweep outgrows one machine — see README.
"""),
        code("""
from concurrent.futures import ProcessPoolExecutor

with ProcessPoolExecutor(max_workers=2) as pool:
    parallel = sweep(base, GRID, "global-users", sessions=20_000, seed=1, executor=pool, **STORM)
print("same scores in a process pool:", parallel.scores == result.scores)
"""),
        md("""
## Ship it

The recommended policy as configuration or code for the client you ship — Stream Chat's
SDK (the seed app's), socket.io, SignalR, Python `websockets`, tenacity, gRPC or chatconn's
own JSON (`chatconn export` on the command line, `chatconn tune --export` at the end of a
sweep). Where a library cannot express the policy, the export says exactly what differs,
attempt by attempt: read those lines before you ship.
"""),
        code("""
import html

import ipywidgets as widgets

from chatconn.export import export_formats, export_policy

client = widgets.Dropdown(options=export_formats(), value="stream-chat", description="client")
shipped = widgets.HTML()


def ship(change=None):
    out = export_policy(rec.policy, client.value)
    differs = [*out.diff.lines(), *out.notes] or ["follows the policy exactly"]
    text = out.text + "\\n" + "\\n".join(f"- {line}" for line in differs)
    shipped.value = f"<pre>{html.escape(text)}</pre>"


client.observe(ship, "value")
ship()
widgets.VBox([client, shipped])
"""),
        code("""
socketio = export_policy(rec.policy, "socketio")
print(socketio.text)
print("\\n".join(socketio.diff.lines()))  # what socket.io would change, per retry
"""),
    ],
}


def _real_clients():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from notebook_real_clients import CELLS

    return CELLS


NOTEBOOKS["06_real_clients.ipynb"] = _real_clients()


def main() -> None:
    ROOT.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        notebook = new_notebook(cells=cells)
        notebook.metadata["kernelspec"] = {
            "display_name": "Python 3",
            "language": "python",
            "name": "python3",
        }
        nbformat.write(notebook, ROOT / name)
        print("wrote", ROOT / name)


if __name__ == "__main__":
    main()
