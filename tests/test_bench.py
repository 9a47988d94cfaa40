"""`python bench/run.py --quick` runs end to end and prints its tables (figures not asserted):
the in-process rows, then the installed CLI against the bench server next to the SDK's peer."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

# No test here may hang the suite: the quick benchmark runs as a subprocess (given 120 s itself).
pytestmark = pytest.mark.timeout(240)

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_prints_the_table(tmp_path: Path) -> None:
    pytest.importorskip("seam", reason="the baseline needs the bench extra: pip install .[bench]")
    done = subprocess.run(
        [
            sys.executable,
            "bench/run.py",
            "--quick",
            "--sdk-sample",
            "20",
            "--json",
            str(tmp_path / "out.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    in_process, end_to_end = done.stdout.split("\n\n", 1)
    lines = in_process.splitlines()
    header = lines[0].split()
    for column in ("scenario", "locks", "wall", "calls", "expect", "429s", "5xx", "sdk", "x"):
        assert column in header
    plans = [line.split() for line in lines[1:] if line.startswith("plan ")]
    assert plans
    for row in plans:
        locks, calls, expected = int(row[1]), int(row[9]), int(row[10])
        assert calls == expected == 2 * locks + math.ceil(locks / 500)
    # The server answers 2% of requests with 503: each is retried once more, and the plan
    # still comes out empty (run.py asserts it), so calls are the floor plus the failures.
    (flaky,) = [line.split() for line in lines[1:] if line.startswith("plan@")]
    locks, calls, expected, failures = int(flaky[1]), int(flaky[9]), int(flaky[10]), int(flaky[12])
    assert expected == 2 * locks + math.ceil(locks / 500)
    assert failures > 0 and calls == expected + failures

    ends = end_to_end.splitlines()
    assert ends[0].startswith("end to end (CLI)")
    for column in ("wall", "cpu", "ms/call", "rss", "calls", "floor", "peer"):
        assert column in ends[0]
    rows = {line[:28].strip(): line[28:].split() for line in ends[1:] if line[:1].isalpha()}
    for name in ("plan in sync", "sdk, 128 threads", "plan 5% drift"):
        locks, calls, expected = int(rows[name][0]), int(rows[name][6]), int(rows[name][7])
        assert calls == expected == 2 * locks + math.ceil(locks / 500), name
    assert float(rows["plan in sync"][-1]) > 0  # x peer: the SDK's wall over ours
