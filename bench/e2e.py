"""End to end, as a user runs it: the installed `accesscodes plan --format json` as a subprocess
against the bench server, next to the official SDK on a thread pool reading the same fleet.

`bench/run.py` calls these rows (and prints them in its second table); each command runs under
`bench/measure.py`, so wall, CPU (user + system) and peak RSS (the child's VmHWM) are the
command's own, config loading, planning and writing the JSON included. The server counts the
calls. `floor s` is the network's floor: every call at the server's latency with `IN_FLIGHT`
requests in flight (the most the client keeps in flight by default); `x floor` our wall over it.
"""

from __future__ import annotations

import compileall
import json
import math
import os
import pstats
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.fleet import drifted, write_config
from reconciler.providers.seam import DEVICES_PAGE
from reconciler.providers.seam_client import GROWN_IN_FLIGHT

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "seam_bench_key_0000"
PAGE = DEVICES_PAGE  # the client's own figures, so the floor follows the client
IN_FLIGHT = GROWN_IN_FLIGHT
PEER_THREADS = 128
HEADER = (
    f"{'end to end (CLI)':<28}{'locks':>7}{'codes':>8}{'wall s':>8}{'cpu s':>8}{'ms/call':>8}"
    f"{'rss MB':>8}{'calls':>8}{'expect':>8}{'429s':>6}{'5xx':>5}{'floor s':>8}{'x floor':>8}"
    f"{'peer s':>8}{'x peer':>7}"
)


def cli() -> list[str]:
    """The `accesscodes` script installed for this Python (beside it, as in a venv's bin/),
    else the one on PATH, else the package run as a module. Beside the interpreter first:
    on PATH it can be a version manager's shim (pyenv's is a bash script that runs pyenv
    before our program: 50 ms of CPU that are not the command's)."""
    beside = Path(sys.executable).parent / "accesscodes"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("accesscodes")
    return [found] if found else [sys.executable, "-m", "reconciler"]


def compile_package() -> None:
    """Byte-compile the package, as `pip install` does for a wheel: run from a checkout
    (an editable install) where PYTHONDONTWRITEBYTECODE is set, as on these machines, every
    start would compile each module from source again (0.1 s of CPU a run)."""
    compileall.compile_dir(str(ROOT / "reconciler"), quiet=1)


def measure(command: list[str], *, out: Path, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run `command` under `bench/measure.py`; its wall, CPU and peak RSS."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.measure", "--out", str(out), "--", *command],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"measure failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise SystemExit(f"{command[:3]} exited {result['rc']}:\n{result['stderr']}")
    result["cwd"] = str(cwd)
    return result


def summary_of(path: Path) -> dict[str, int]:
    """The plan JSON's `summary`, read from the file's end (it is written after the changes:
    a plan of 500,000 codes need not be parsed whole to check it)."""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - 4096))
        tail = handle.read().decode()
    start = tail.rindex('"summary": ') + len('"summary": ')
    value, _ = json.JSONDecoder().raw_decode(tail[start:])
    return value


def cli_row(
    server: Any,
    work: Path,
    locks: int,
    codes: int,
    *,
    drift: float = 0.0,
    latency: float = 0.1,
    profile: Path | None = None,
    own_pins: bool = False,
) -> dict[str, Any]:
    """`accesscodes plan --format json` on a fleet of `locks` x `codes` (in sync, or with
    `drift` of its codes changed on the server), at `latency` seconds per call."""
    fleet = {"locks": locks, "codes": codes, "drift": drift, "own_pins": own_pins}
    server.admin("generate", fleet)
    server.admin("configure", {"latency": latency, "rate": 0, "write_window": 60, "error_rate": 0})
    folder = work / f"cli_{locks}_{drift}_{own_pins}"
    write_config(folder, locks, codes, own_pins=own_pins)
    env = {**os.environ, "SEAM_API_KEY": API_KEY, "SEAM_ENDPOINT": server.url, "CI": "true"}
    out = work / "plan.json"
    server.admin("clear")
    command = [*cli(), "plan", "-c", str(folder), "--format", "json"]
    ours = measure(command, out=out, env=env, cwd=folder)
    stats = server.admin("clear")
    summary = summary_of(out)
    creates, updates = drifted(locks, codes, drift)
    expected = {"create": creates, "update": updates, "noop": locks * codes - creates - updates}
    got = {key: summary[key] for key in expected}
    assert got == expected, (got, expected)
    if profile is not None:
        profile_cli(folder, env, profile, server)
    calls = stats["total"]
    cpu = ours["user_s"] + ours["sys_s"]
    floor = calls * latency / IN_FLIGHT
    return {
        "scenario": (f"plan {drift:.0%} drift" if drift else "plan in sync")
        + (", own PINs" if own_pins else ""),
        "locks": locks,
        "codes": locks * codes,
        "latency_ms": latency * 1000,
        "wall_s": ours["wall_s"],
        "cpu_s": cpu,
        "cpu_ms_per_call": 1000 * cpu / max(calls, 1),
        "rss_mb": ours["rss_mb"],
        "calls": calls,
        "expected_calls": 2 * locks + math.ceil(locks / PAGE),
        "status_429": stats["status"].get("429", 0),
        "status_5xx": stats["status"].get("503", 0),
        "floor_s": floor,
        "x_floor": ours["wall_s"] / floor if floor else None,
        "output_mb": out.stat().st_size / 1e6,
        "summary": summary,
    }


def peer_row(server: Any, work: Path, locks: int, codes: int) -> dict[str, Any]:
    """The SDK on `PEER_THREADS` threads reading the fleet the last `cli_row` planned."""
    server.admin("clear")
    command = [
        sys.executable,
        str(ROOT / "bench" / "peer.py"),
        "--url",
        server.url,
        "--locks",
        str(locks),
        "--threads",
        str(PEER_THREADS),
    ]
    out = work / "peer.json"
    theirs = measure(command, out=out, env=dict(os.environ), cwd=ROOT)
    stats = server.admin("clear")
    read = json.loads(out.read_text())
    cpu = theirs["user_s"] + theirs["sys_s"]
    calls = stats["total"]
    return {
        "scenario": f"sdk, {PEER_THREADS} threads",
        "locks": locks,
        "codes": read["codes"],
        "latency_ms": 100,
        "wall_s": theirs["wall_s"],
        "cpu_s": cpu,
        "cpu_ms_per_call": 1000 * cpu / max(calls, 1),
        "rss_mb": theirs["rss_mb"],
        "calls": calls,
        "expected_calls": read["calls"],
        "status_429": stats["status"].get("429", 0),
        "status_5xx": stats["status"].get("503", 0),
        "floor_s": calls * 0.1 / PEER_THREADS,
        "x_floor": None,
    }


def profile_cli(folder: Path, env: dict[str, str], target: Path, server: Any) -> None:
    """The same plan again under cProfile; its top functions written to `target` as text."""
    raw = target.with_suffix(".prof")
    command = [sys.executable, "-m", "cProfile", "-o", str(raw), "-m", "reconciler"]
    command += ["plan", "-c", str(folder), "--format", "json"]
    with open(os.devnull, "wb") as sink:
        subprocess.run(command, cwd=ROOT, env=env, stdout=sink, check=True)
    server.admin("clear")
    with target.open("w") as text:
        text.write(f"# cProfile of: accesscodes plan -c {folder.name} --format json\n")
        stats = pstats.Stats(str(raw), stream=text)
        stats.strip_dirs().sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(30)
    raw.unlink()


def fmt(row: dict[str, Any]) -> str:
    def num(key: str, spec: str) -> str:
        value = row.get(key)
        width = int(spec.split(".")[0])
        return f"{'-':>{width}}" if value is None else format(value, spec)

    return (
        f"{row['scenario']:<28}{row['locks']:>7}{row['codes']:>8}{row['wall_s']:>8.2f}"
        f"{row['cpu_s']:>8.2f}{row['cpu_ms_per_call']:>8.2f}{row['rss_mb']:>8.0f}"
        f"{row['calls']:>8}{row['expected_calls']:>8}{row['status_429']:>6}"
        f"{row['status_5xx']:>5}{row['floor_s']:>8.2f}{num('x_floor', '8.2f')}"
        f"{num('peer_s', '8.2f')}{num('x_peer', '7.2f')}"
    )


def rows(
    server: Any,
    work: Path,
    sizes: list[int],
    *,
    peer_up_to: int,
    profile_dir: Path | None,
    own_pins_from: int | None = None,
):
    """The end-to-end rows, printed as they come: each size in sync (the largest profiled
    into `profile_dir`), the peer on the same fleet up to `peer_up_to` locks, and with 5%
    drift; from `own_pins_from` locks up, in sync again with a guest and a PIN a code."""
    compile_package()
    print(HEADER, flush=True)
    found: list[dict[str, Any]] = []
    for locks in sizes:
        profile = None
        if profile_dir is not None and locks == max(sizes):
            profile = profile_dir / f"profile-{locks}.txt"
        ours = cli_row(server, work, locks, 10, profile=profile)
        found.append(ours)
        if locks <= peer_up_to:
            theirs = peer_row(server, work, locks, 10)
            ours["peer_s"] = theirs["wall_s"]
            ours["x_peer"] = theirs["wall_s"] / ours["wall_s"]
            print(fmt(ours), flush=True)
            print(fmt(theirs), flush=True)
            found.append(theirs)
        else:
            print(fmt(ours), flush=True)
        found.append(cli_row(server, work, locks, 10, drift=0.05))
        print(fmt(found[-1]), flush=True)
        if own_pins_from is not None and locks >= own_pins_from:
            found.append(cli_row(server, work, locks, 10, own_pins=True))
            print(fmt(found[-1]), flush=True)
    for row in found:
        row["table"] = "end to end"
    return found
