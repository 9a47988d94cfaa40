"""Steady-state API calls per hour, events versus interval polling, and event-to-healed latency.

    python bench/events.py                    # 10,000 locks x 2 codes, 30 s of steady state
    python bench/events.py --locks 1000 --seconds 10

The real controller runs as a subprocess against the bench server (`bench/server.py`, which
records Seam-style events for every write and answers `events/list`), with `--events poll
--interval 1h`: after its first full run it reads `events/list` every few seconds and the full
resync comes once an hour. The server counts every call. Calls per hour with events = the
steady state's calls, scaled to an hour, plus one full resync; with interval polling at 60 s =
sixty full runs (what a full run costs is measured, not assumed). Then codes are removed behind
the controller's back (each removal records an `access_code.deleted` event, as Seam does), and
the time until each is back on the server is the event-to-healed latency.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.fleet import device_id, server_fleet, write_config  # noqa: E402
from bench.run import API_KEY, Server  # noqa: E402

CONTROLLER = [sys.executable, "-m", "reconciler", "controller"]


class ControllerProcess:
    """`accesscodes controller --events poll` with its JSON lines read in a thread."""

    def __init__(self, config: Path, url: str) -> None:
        env = {**os.environ, "SEAM_API_KEY": API_KEY, "SEAM_ENDPOINT": url}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reconciler",
                "controller",
                "-c",
                str(config),
                "--interval",
                "1h",
                "--events",
                "poll",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.events: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                continue

    def wait_for(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e.get("event") == name for e in self.events):
                return
            time.sleep(0.05)
        raise SystemExit(f"the controller did not log {name!r} within {timeout} s")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def measure(locks: int, seconds: float, removals: int) -> dict[str, Any]:
    """One run: the full run's calls, the steady state's calls, the healing latencies."""
    server = Server()
    folder = Path(tempfile.mkdtemp(prefix="bench-events-"))
    try:
        server.admin("reset", server_fleet(locks, 2))
        controller = ControllerProcess(write_config(folder, locks, 2), server.url)
        try:
            controller.wait_for("reconciled", timeout=600)
            full_run = server.admin("clear")["total"]
            time.sleep(seconds)
            steady = server.admin("stats")
            latencies = [_heal(server, i) for i in range(removals)]
        finally:
            controller.stop()
    finally:
        server.close()
    events_per_hour = steady["total"] / seconds * 3600 + full_run
    polling_per_hour = full_run * 60
    return {
        "locks": locks,
        "full_run_calls": full_run,
        "steady_calls": steady["calls"],
        "steady_seconds": seconds,
        "events_calls_per_hour": round(events_per_hour),
        "polling_60s_calls_per_hour": polling_per_hour,
        "ratio_percent": round(100 * events_per_hour / polling_per_hour, 2),
        "healed_seconds": [round(x, 2) for x in latencies],
        "healed_median_seconds": round(statistics.median(latencies), 2) if latencies else None,
    }


def _heal(server: Server, n: int) -> float:
    """Remove one code behind the controller's back; seconds until it is back."""
    lock = device_id(n * 7)
    before = server.admin("stats")["codes"]
    server.admin("remove", {"access_code_id": f"ac_{n * 7}_0", "device_id": lock})
    started = time.monotonic()
    while time.monotonic() - started < 60:
        if server.admin("stats")["codes"] >= before:
            return time.monotonic() - started
        time.sleep(0.05)
    return float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locks", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--removals", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "events-results.json")
    args = parser.parse_args()
    result = measure(args.locks, args.seconds, args.removals)
    print(
        f"{'locks':>7}{'full run':>10}{'events/h':>11}{'polling/h':>12}{'ratio %':>9}"
        f"{'healed s':>10}"
    )
    print(
        f"{result['locks']:>7}{result['full_run_calls']:>10}{result['events_calls_per_hour']:>11}"
        f"{result['polling_60s_calls_per_hour']:>12}{result['ratio_percent']:>9}"
        f"{result['healed_median_seconds']:>10}"
    )
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
