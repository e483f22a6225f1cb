"""Update latency of the tuning notebook's simulation view, measured in one run.

    python benchmarks/bench_widgets.py [--json]

Builds the policy panel and the simulation view (100,000 sessions) and moves sliders the
way a user does — base timeout, multiplier, jitter, attempts, then the profile — timing
each update's compute (simulate, plot infos, in-place FigureWidget updates) as the view
reports it. Targets: under 150 ms per change (issue 4), median <= 50 ms (issue 18). No
front end is involved, so this is compute only, not what the browser then takes to draw.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

from chatconn.widgets import PolicyPanel, SimulationView

CHANGES = [
    ("base_timeout", [10.0, 20.0, 5.0, 15.0]),
    ("multiplier", [1.6, 2.0, 1.2, 1.4]),
    ("jitter", [0.1, 0.6, 0.9, 0.4]),
    ("max_attempts", [4, 8, 10, 6]),
]
TARGETS = ["3g", "corporate-firewall", "fiber", "global-users"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    panel = PolicyPanel("seed", target="global-users")
    view = SimulationView(panel, sessions=args.sessions)
    for _ in range(3):  # warm-up
        view.update()
    samples: list[dict[str, float]] = []
    for field, values in CHANGES:
        for value in values:
            panel.sliders[field].value = value
            samples.append({"total": view.last_update_ms, **view.timings})
    for target in TARGETS:
        panel.target.value = target
        samples.append({"total": view.last_update_ms, **view.timings})

    totals = sorted(s["total"] for s in samples)
    report = {
        "sessions": args.sessions,
        "changes": len(samples),
        "median_ms": statistics.median(totals),
        "p90_ms": totals[int(0.9 * (len(totals) - 1))],
        "max_ms": totals[-1],
        "parts_median_ms": {
            part: statistics.median(s[part] for s in samples if part in s)
            for part in samples[0]
            if part != "total"
        },
    }
    if args.json:
        print(json.dumps(report))
        return 0
    parts = ", ".join(f"{k} {v:.0f} ms" for k, v in report["parts_median_ms"].items())
    print(
        f"simulation view, {args.sessions:,} sessions, {report['changes']} changes: median "
        f"{report['median_ms']:.0f} ms, p90 {report['p90_ms']:.0f} ms, max {report['max_ms']:.0f}"
        f" ms per change (target: median <= 50 ms); median parts: {parts}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
