"""An apply killed halfway converges when run again; two applies never run at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from conftest import CliRunner
from seamfake import SeamFake

from reconciler.state.store import state_lock

# No test here may hang the suite: each waits on accesscodes subprocesses and a fake Seam.
pytestmark = pytest.mark.timeout(120)

NOW = "2026-11-23T15:00:00Z"


def twenty_codes(tmp_path: Path) -> None:
    codes = "".join(
        f'      - {{name: "Guest {i:02d}", code: "{700100 + i * 37}"}}\n' for i in range(20)
    )
    (tmp_path / "accesscodes.yaml").write_text(
        textwrap.dedent("""\
        version: 1
        provider: {kind: seam, retries: 0, pace_writes: after_429}  # the fake has no limits
        settings: {concurrency: 1}
        devices:
          front:
            device_id: august_device_1
            codes:
        """)
        + codes
    )


@pytest.mark.usefixtures("state")
def test_an_apply_killed_halfway_converges_with_no_duplicate(
    cli: CliRunner, tmp_path: Path
) -> None:
    twenty_codes(tmp_path)
    with SeamFake() as fake:
        env = {**os.environ, **fake.env, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "apply", "--auto-approve"],  # Seam: no --now
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        done = 0
        for line in proc.stdout:
            done += ": create ok" in line
            if done == 7:
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        landed = len(fake.list_codes("august_device_1", managed=True))
        assert 7 <= landed < 20

        again = cli("apply", "--auto-approve", env=fake.env)
        assert again.code == 0, again.output
        names = [c["name"] for c in fake.list_codes("august_device_1", managed=True)]
        assert sorted(names) == [f"Guest {i:02d}" for i in range(20)]  # exactly 20, no duplicate

    history = cli("history").out
    assert "run 1" in history and "apply  running" in history  # the killed run
    assert "run 2" in history and "apply  ok" in history


def test_a_second_apply_refuses_naming_the_holder(
    cli: CliRunner, quickstart: Path, state: str | None
) -> None:
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with state_lock(state, quickstart / ".accesscodes", wait=0):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        result = cli(
            "apply", "-c", str(quickstart), "--now", NOW, "--auto-approve", "--lock-timeout", "0.5"
        )
    finally:
        release.set()
        holder.join()
    assert result.code == 1
    assert "another apply holds" in result.err and f"pid {os.getpid()}" in result.err
    assert not (quickstart / ".accesscodes" / "sim.json").exists()


@pytest.mark.usefixtures("state")
def test_two_applies_started_together_leave_no_duplicate(quickstart: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "reconciler",
        "apply",
        "-c",
        str(quickstart),
        "--now",
        NOW,
        "--auto-approve",
    ]
    procs = [
        subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    created = sum(out.count(": create ok") for out, _ in outputs)
    assert created == 3  # one apply created them; the other, waiting its turn, found them
