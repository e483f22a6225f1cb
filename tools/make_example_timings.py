"""Write data/example-production-timings.csv: SYNTHETIC "production" timings.

Nothing in it was measured: 500 sessions of the ``seed`` policy simulated on the
``global-users`` population (seed 15), written the way an app's analytics export might
look — connect time in milliseconds, an ok flag, the transport, attempts, an error text,
a start time, and labels (region from the population's profile, client version and
network type drawn at random). ``chatconn import`` reads it with two --map options (see
data/README.md). Run: ``python tools/make_example_timings.py``.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from chatconn import load_target, policy_preset, simulate
from chatconn.core.strategies import ErrorCategory, Strategy

OUT = Path(__file__).resolve().parents[1] / "data" / "example-production-timings.csv"
SESSIONS = 500
SEED = 15
_TRANSPORT = {
    Strategy.DIRECT_WEBSOCKET: "websocket",
    Strategy.EXTENDED_TIMEOUT: "websocket",
    Strategy.MULTIPLE_PORTS: "websocket",
    Strategy.LONG_POLLING: "long-polling",
    Strategy.SSE_FALLBACK: "sse",
}
#: Where each component of the population might be (made up, like everything here).
_REGION = {
    "broadband": "europe",
    "4g": "europe",
    "fiber": "north-america",
    "intercontinental": "asia-pacific",
    "3g": "south-america",
    "flaky-wifi": "europe",
    "corporate-firewall": "north-america",
    "satellite": "africa",
}
_NETWORK = {"4g": "cellular", "3g": "cellular", "satellite": "satellite", "flaky-wifi": "wifi"}
_ERRORS = {
    ErrorCategory.TIMEOUT: "WebSocket connection timed out",
    ErrorCategory.REFUSED: "ECONNREFUSED",
    ErrorCategory.RESET: "ECONNRESET",
    ErrorCategory.UPGRADE_REJECTED: "HTTP 403 on upgrade",
    ErrorCategory.DEADLINE: "gave up",
}


def main() -> None:
    result = simulate(policy_preset("seed"), load_target("global-users"), SESSIONS, SEED)
    rng = np.random.default_rng(SEED)
    start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    offsets = np.sort(rng.uniform(0, 3 * 86400, SESSIONS))
    versions = rng.choice(["4.12.0", "4.13.1"], SESSIONS, p=[0.4, 0.6])
    fixed_line = rng.choice(["wifi", "ethernet"], SESSIONS, p=[0.7, 0.3])
    with OUT.open("w", newline="") as f:
        w = csv.writer(f)
        header = "started_at region client_version network_type connect_ms ok transport attempts"
        w.writerow([*header.split(), "error"])
        for i in range(SESSIONS):
            ok = bool(result.connected[i])
            profile = result.profile_names[int(result.profile[i])]
            strategy = Strategy.from_code(int(result.strategy[i])) if ok else None
            error = ErrorCategory(int(result.last_error[i]))
            w.writerow(
                [
                    (start + timedelta(seconds=float(offsets[i]))).isoformat(timespec="seconds"),
                    _REGION[profile],
                    versions[i],
                    _NETWORK.get(profile, fixed_line[i]),
                    round(float(result.ended_at[i]) * 1000),
                    "true" if ok else "false",
                    _TRANSPORT[strategy] if ok else "",
                    int(result.attempts[i]),
                    _ERRORS.get(error, ""),
                ]
            )
    print(f"wrote {OUT} ({SESSIONS} synthetic sessions)")


if __name__ == "__main__":
    main()
