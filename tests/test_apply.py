"""Apply as users meet it: confirmation on a terminal, failures midway, convergence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import CliRunner

NOW = "2026-11-23T15:00:00Z"


def _set_online(quickstart: Path, device_id: str, online: bool) -> None:
    state_file = quickstart / ".accesscodes" / "sim.json"
    state = json.loads(state_file.read_text())
    state["devices"][device_id]["online"] = online
    state_file.write_text(json.dumps(state))


def test_a_failed_change_does_not_stop_the_others_and_a_rerun_converges(
    cli: CliRunner, quickstart: Path
) -> None:
    config = str(quickstart)
    cli("apply", "-c", config, "--now", NOW, "--auto-approve")
    text = (quickstart / "accesscodes.yaml").read_text()
    text = text.replace(
        "      - name: Alice (resident)\n",
        '      - name: Dan\n        code: "507318"\n      - name: Alice (resident)\n',
    )
    (quickstart / "accesscodes.yaml").write_text(text)  # Dan on both doors
    _set_online(quickstart, "august_front", False)

    failed = cli("apply", "-c", config, "--now", NOW, "--auto-approve")
    assert failed.code == 1, failed.output
    assert "front-door / Dan: create FAILED" in failed.out
    assert "[device_offline]" in failed.out
    assert "back-door / Dan: create ok" in failed.out
    assert "1 created, 0 updated, 0 deleted, 1 failed" in failed.out

    _set_online(quickstart, "august_front", True)
    healed = cli("apply", "-c", config, "--now", NOW, "--auto-approve")
    assert healed.code == 0, healed.output
    assert "1 created, 0 updated, 0 deleted, 0 failed" in healed.out
    assert cli("plan", "-c", config, "--now", NOW, "--detailed-exitcode").code == 0


def _apply_on_a_terminal(quickstart: Path, answer: str) -> subprocess.CompletedProcess[str]:
    primary, secondary = os.openpty()
    try:
        os.write(primary, answer.encode())
        return subprocess.run(
            [sys.executable, "-m", "reconciler", "apply", "-c", str(quickstart), "--now", NOW],
            stdin=secondary,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(primary)
        os.close(secondary)


def test_apply_asks_on_a_terminal_and_goes_ahead_on_yes(quickstart: Path) -> None:
    result = _apply_on_a_terminal(quickstart, "yes\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Only 'yes' is accepted" in result.stdout
    assert "Apply complete: 3 created" in result.stdout


def test_apply_on_a_terminal_stops_on_anything_but_yes(quickstart: Path) -> None:
    result = _apply_on_a_terminal(quickstart, "y\n")
    assert result.returncode == 1
    assert "apply cancelled; nothing was changed" in result.stderr
    assert not (quickstart / ".accesscodes" / "sim.json").exists()
