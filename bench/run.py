"""Benchmark plan and apply against the bench server, next to a scripted SDK loop.

    python bench/run.py            # full: 100 / 1,000 / 10,000 locks x 10 codes, 0 and 100 ms,
                                   # then end to end: 1,000 / 10,000 / 50,000 locks
    python bench/run.py --quick    # CI: 100 locks, shorter pacing window, 200 end to end (< 1 min)

The second table (`bench/e2e.py`) runs the installed `accesscodes plan --format json` as a
subprocess, as a user does, next to the official SDK on 128 threads (`bench/peer.py`), and saves
a profile of its largest run as `bench/profile-<locks>.txt`.

Our side runs in-process in a child Python per scenario (`reconciler.apply.run.plan_run` /
`apply_run`, config from `load_config`, provider from `make_provider` with SEAM_API_KEY and
SEAM_ENDPOINT), so CPU time and peak RSS are the child's own; wall time is the plan or apply
call alone (config loading excluded, reported separately). The server runs in its own process.
The baseline is the official `seam` SDK (sync client, one device after another: its two
listings per device); at 100 ms latency it is measured on a sample of locks and scaled
linearly (it is a sequential loop), and the table says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import e2e  # noqa: E402
from bench.fleet import device_id, server_fleet, write_config  # noqa: E402

API_KEY = "seam_bench_key_0000"
PAGE = 500  # seam.py asks devices/list for 500 at a time
HEADER = (
    f"{'scenario':<34}{'locks':>7}{'codes':>8}{'lat ms':>7}{'wall s':>9}{'cpu s':>8}"
    f"{'ms/call':>8}{'us/code':>8}{'rss MB':>8}{'calls':>8}{'expect':>8}{'429s':>6}"
    f"{'5xx':>6}{'sdk s':>9}{'x sdk':>7}"
)


# --- the server ------------------------------------------------------------------------------
class Server:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.server", "--port", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("listening "):
            raise SystemExit(f"bench server did not start: {line!r}")
        self.url = line.split()[1]

    def admin(self, what: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return admin(self.url, what, body)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def admin(url: str, what: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    import httpx

    response = httpx.post(f"{url}/_bench/{what}", json=body or {}, timeout=600)
    response.raise_for_status()
    return response.json()


# --- our side, in a child process ------------------------------------------------------------
def child(args: argparse.Namespace) -> None:
    """Load the config, plan (and apply), print one JSON line of measurements."""
    os.environ["SEAM_API_KEY"] = API_KEY
    os.environ["SEAM_ENDPOINT"] = args.url
    t0 = time.perf_counter()
    # What a run imports is start-up, timed apart from the calls: apply_run loads the applier
    # on first use (a plan alone never needs it), so it is loaded here.
    import reconciler.apply.applier
    import reconciler.apply.backup  # noqa: F401
    from reconciler.apply.run import apply_run, plan_run
    from reconciler.config.load import load_config
    from reconciler.planning.planner import plan as make_plan
    from reconciler.providers import make_provider

    config = load_config(Path(args.config))
    load_wall = time.perf_counter() - t0
    now = datetime.now(UTC)
    out: dict[str, Any] = {"load_wall": load_wall}

    async def main() -> None:
        provider = make_provider(config, clock=lambda: now)
        if args.write_window and hasattr(provider, "write_window"):
            provider.write_window = args.write_window
        try:
            admin(args.url, "clear")
            cpu, wall = time.process_time(), time.perf_counter()
            planned = await plan_run(config, provider, now=now)
            out["plan_wall"] = time.perf_counter() - wall
            out["plan_cpu"] = time.process_time() - cpu
            out["plan_stats"] = admin(args.url, "clear")
            out["changes"] = len(planned.plan.due())
            # The planner alone, best of three (as timeit does: the rest is the machine's noise).
            best = math.inf
            for _ in range(3):
                cpu = time.process_time()
                make_plan(config.devices, planned.live, now=now, settings=config.settings)
                best = min(best, time.process_time() - cpu)
            out["planner_cpu"] = best
            if args.apply:
                admin(args.url, "configure", {"rate": args.rate})
                cpu, wall = time.process_time(), time.perf_counter()
                report = await apply_run(config, provider, planned)
                out["apply_wall"] = time.perf_counter() - wall
                out["apply_cpu"] = time.process_time() - cpu
                out["apply_stats"] = admin(args.url, "clear")
                out["apply_counts"] = report.counts()
        finally:
            await provider.aclose()

    asyncio.run(main())
    out["rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


def peak_rss_mb() -> float:
    """This process's peak RSS. Linux's ru_maxrss survives exec, so a child started by a big
    parent would report the parent's peak; VmHWM belongs to the process's own memory."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(
    url: str, config: Path, *, apply: bool = False, rate: float = 0, write_window: float = 0
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "--url",
        url,
        "--config",
        str(config),
        "--rate",
        str(rate),
        "--write-window",
        str(write_window),
    ]
    if apply:
        cmd.append("--apply")
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the baseline ----------------------------------------------------------------------------
def sdk_loop(url: str, locks: int) -> float:
    """The official SDK, one device after another: both listings of each device. Seconds."""
    from seam import Seam

    client = Seam(api_key=API_KEY, endpoint=url)
    started = time.perf_counter()
    ids = [device_id(i) for i in range(locks)]
    client.devices.list(device_ids=ids[:PAGE])
    for did in ids:
        client.access_codes.list(device_id=did)
        client.access_codes.unmanaged.list(device_id=did)
    return time.perf_counter() - started


# --- scenarios -------------------------------------------------------------------------------
def plan_row(
    server: Server,
    work: Path,
    locks: int,
    codes: int,
    latency: float,
    sdk_sample: int,
    *,
    error_rate: float = 0.0,
) -> dict[str, Any]:
    server.admin("reset", server_fleet(locks, codes))
    server.admin("configure", {"latency": latency, "rate": 0, "write_window": 60, "error_rate": 0})
    config = write_config(work / f"plan_{locks}_{latency}_{error_rate}", locks, codes)
    if error_rate:  # only our side: the SDK loop has no retries to survive 503s with
        server.admin("configure", {"error_rate": error_rate})
    ours = run_child(server.url, config)
    server.admin("configure", {"error_rate": 0})
    assert ours["changes"] == 0, ours
    stats = ours["plan_stats"]
    sample = min(locks, sdk_sample)
    sdk = sdk_loop(server.url, sample) * locks / sample
    calls = stats["total"]
    return {
        "scenario": f"plan@{error_rate:.0%}503s" if error_rate else "plan",
        "locks": locks,
        "codes": locks * codes,
        "latency_ms": latency * 1000,
        "wall_s": ours["plan_wall"],
        "cpu_s": ours["plan_cpu"],
        "cpu_ms_per_call": 1000 * (ours["plan_cpu"] - ours["planner_cpu"]) / max(calls, 1),
        "planner_us_per_code": 1e6 * ours["planner_cpu"] / max(locks * codes, 1),
        "rss_mb": ours["rss_mb"],
        "calls": calls,
        "expected_calls": 2 * locks + math.ceil(locks / PAGE),
        "status_429": stats["status"].get("429", 0),
        "status_5xx": stats["status"].get("503", 0),
        "sdk_s": sdk,
        "sdk_sampled_locks": sample,
        "ratio": sdk / ours["plan_wall"],
        "load_s": ours["load_wall"],
    }


def apply_row(server: Server, work: Path, locks: int, rate: float) -> dict[str, Any]:
    server.admin("reset", server_fleet(locks, 0))
    server.admin("configure", {"latency": 0.1, "rate": 0, "write_window": 60})
    config = write_config(work / f"apply_{locks}", locks, 1)
    ours = run_child(server.url, config, apply=True, rate=rate)
    assert ours["apply_counts"]["create"] == locks, ours
    return {
        **apply_measures(ours, expected_calls=locks),
        "scenario": f"apply {locks} creates @{rate:g}/s",
        "locks": locks,
        "codes": locks,
        "floor_s": locks / rate,
    }


def apply_measures(ours: dict[str, Any], *, expected_calls: int) -> dict[str, Any]:
    """The columns every apply row shares, from the child's measurements."""
    stats = ours["apply_stats"]
    return {
        "latency_ms": 100,
        "wall_s": ours["apply_wall"],
        "cpu_s": ours["apply_cpu"],
        "cpu_ms_per_call": 1000 * ours["apply_cpu"] / max(stats["total"], 1),
        "planner_us_per_code": None,
        "rss_mb": ours["rss_mb"],
        "calls": stats["total"],
        "expected_calls": expected_calls,
        "status_429": stats["status"].get("429", 0),
        "status_5xx": stats["status"].get("503", 0),
        "sdk_s": None,
        "ratio": None,
    }


def pacing_row(server: Server, work: Path, window: float) -> dict[str, Any]:
    server.admin("reset", server_fleet(1, 0))
    server.admin("configure", {"latency": 0.1, "rate": 0, "write_window": window})
    config = write_config(work / "pacing", 1, 30)
    ours = run_child(server.url, config, apply=True, write_window=window)
    return {
        **apply_measures(ours, expected_calls=30),
        "scenario": f"apply 30 creates, 1 lock ({window:g}s window)",
        "locks": 1,
        "codes": 30,
        "floor_s": 2 * window,
        "created": ours["apply_counts"]["create"],
    }


def fmt(row: dict[str, Any]) -> str:
    def num(key: str, spec: str) -> str:
        value = row.get(key)
        width = int(spec.split(".")[0])
        return f"{'-':>{width}}" if value is None else format(value, spec)

    return (
        f"{row['scenario']:<34}{row['locks']:>7}{row['codes']:>8}{row['latency_ms']:>7.0f}"
        f"{row['wall_s']:>9.2f}{row['cpu_s']:>8.2f}{num('cpu_ms_per_call', '8.2f')}"
        f"{num('planner_us_per_code', '8.1f')}{row['rss_mb']:>8.0f}{row['calls']:>8}"
        f"{row['expected_calls']:>8}{row['status_429']:>6}{row.get('status_5xx', 0):>6}"
        f"{num('sdk_s', '9.1f')}"
        f"{num('ratio', '7.1f')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="accesscodes vs the Seam SDK, on loopback")
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI")
    parser.add_argument("--sizes", default=None, help="comma-separated lock counts")
    parser.add_argument(
        "--sdk-sample",
        type=int,
        default=None,
        help="locks the SDK loop runs at 100 ms before scaling (0 = all; default 200, 20 quick)",
    )
    parser.add_argument("--json", default=None, help="where to write the JSON (bench/results.json)")
    parser.add_argument("--e2e-sizes", default=None, help="lock counts of the end-to-end rows")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--apply", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--write-window", type=float, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    if args.sdk_sample is None:  # the SDK loop at 100 ms is 0.2 s a lock: sampled, then scaled
        args.sdk_sample = 20 if args.quick else 200

    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([100] if args.quick else [100, 1000, 10000])
    )
    apply_locks, window = (100, 3.0) if args.quick else (1000, 60.0)
    server = Server()
    rows: list[dict[str, Any]] = []
    print(HEADER, flush=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            for latency in (0.0, 0.1):
                for locks in sizes:
                    sample = locks if latency == 0 or not args.sdk_sample else args.sdk_sample
                    rows.append(plan_row(server, work, locks, 10, latency, sample))
                    print(fmt(rows[-1]), flush=True)
            locks = sizes[-1] if args.quick else 1000
            sample = args.sdk_sample or locks
            rows.append(plan_row(server, work, locks, 10, 0.1, sample, error_rate=0.02))
            print(fmt(rows[-1]), flush=True)
            rows.append(apply_row(server, work, apply_locks, 50.0))
            print(fmt(rows[-1]), flush=True)
            rows.append(pacing_row(server, work, window))
            print(fmt(rows[-1]), flush=True)
            print(flush=True)
            ends = args.e2e_sizes or ("200" if args.quick else "1000,10000,50000")
            rows += e2e.rows(
                server,
                work,
                [int(s) for s in ends.split(",")],
                peer_up_to=10000,
                profile_dir=None if args.quick else ROOT / "bench",
                own_pins_from=None if args.quick else 10000,
            )
    finally:
        server.close()
    for row in rows:
        if row["scenario"] == "plan" and row.get("sdk_sampled_locks") != row["locks"]:
            print(
                f"note: sdk s for {row['locks']} locks at {row['latency_ms']:.0f} ms scaled "
                f"from {row['sdk_sampled_locks']} locks"
            )
    target = (
        Path(args.json)
        if args.json
        else ROOT / "bench" / ("results-quick.json" if args.quick else "results.json")
    )
    target.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")


if __name__ == "__main__":
    main()
