"""No PIN in any output or plan file unless `--show-codes`: every command, every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CliRunner

# No test here may hang the suite: each test waits on accesscodes subprocesses (60 s each at most).
pytestmark = pytest.mark.timeout(120)

NOW = "2026-11-23T15:00:00Z"
LATER = "2026-11-24T14:45:00Z"


def _all_pins(quickstart: Path) -> set[str]:
    state = json.loads((quickstart / ".accesscodes" / "sim.json").read_text())
    pins = {c["code"] for d in state["devices"].values() for c in d["codes"]}
    return pins | {"482913", "639027"}


def test_no_pin_leaks_from_any_command(cli: CliRunner, quickstart: Path, tmp_path: Path) -> None:
    config = str(quickstart)
    outputs = [cli("apply", "-c", config, "--now", NOW, "--auto-approve")]
    # Change a PIN so the plan shows an update (before and after values), then read everything.
    text = (quickstart / "accesscodes.yaml").read_text().replace('"482913"', '"917364"', 1)
    (quickstart / "accesscodes.yaml").write_text(text)
    plan_file = tmp_path / "plan.json"
    for fmt in ("text", "json", "markdown"):
        outputs.append(
            cli("plan", "-c", config, "--now", LATER, "--format", fmt, "--out", str(plan_file))
        )
    outputs.append(cli("validate", "-c", config))
    outputs.append(cli("apply", "-c", config, "--now", LATER, "--auto-approve", "--debug"))
    outputs.append(cli("plan", "-c", config, "--now", LATER, "--format", "json"))
    pins = _all_pins(quickstart) | {"917364"}
    assert len(pins) >= 3
    seen = "".join(r.output for r in outputs) + plan_file.read_text()
    assert "update" in seen and "****" in seen
    leaked = {pin for pin in pins if pin in seen}
    assert not leaked, f"PINs leaked: {len(leaked)}"


def test_show_codes_reveals_pins_on_request(cli: CliRunner, quickstart: Path) -> None:
    result = cli("plan", "-c", str(quickstart), "--now", NOW, "--show-codes")
    assert "482913" in result.out
