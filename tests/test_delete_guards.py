"""Delete guards: max_deletes, codes active now, protected codes, revoke."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CliRunner

# No test here may hang the suite: each test waits on accesscodes subprocesses (60 s each at most).
pytestmark = pytest.mark.timeout(120)

NOW = "2026-11-23T15:00:00Z"

BASE = """\
version: 1
provider: {{kind: sim}}
settings:
  prune: {prune}
  max_deletes: {max_deletes}
devices:
  door:
    device_id: lock_1
    codes:
"""
GUESTS = """\
      - {name: Ann, code: "736194"}
      - {name: Ben, code: "482913"}
      - {name: Guest, code: "905172",
         starts_at: 2026-11-22T15:00:00Z, ends_at: 2026-11-25T11:00:00Z}
"""


def setup(tmp_path: Path, cli: CliRunner, *, max_deletes: int = 10) -> None:
    """Three codes on the lock, then a config that lists none of them, with prune on."""
    config = tmp_path / "accesscodes.yaml"
    config.write_text(BASE.format(prune="false", max_deletes=max_deletes) + GUESTS)
    assert cli("apply", "--now", NOW, "--auto-approve").code == 0
    empty = BASE.format(prune="true", max_deletes=max_deletes)
    config.write_text(empty.replace("    codes:\n", "    codes: []\n"))


def live_names(tmp_path: Path) -> list[str]:
    state = json.loads((tmp_path / ".accesscodes" / "sim.json").read_text())
    return sorted(c["name"] for c in state["devices"]["lock_1"]["codes"])


def test_a_plan_over_max_deletes_is_shown_but_refused_without_force(
    cli: CliRunner, tmp_path: Path
) -> None:
    setup(tmp_path, cli, max_deletes=1)
    plan = cli("plan", "--now", NOW)
    assert "3 to delete" in plan.out
    refused = cli("apply", "--now", NOW, "--auto-approve")
    assert refused.code == 1
    assert "deletes 3 codes, more than settings.max_deletes (1)" in refused.err
    assert live_names(tmp_path) == ["Ann", "Ben", "Guest"]


def test_an_active_guest_is_not_deleted_without_force(cli: CliRunner, tmp_path: Path) -> None:
    setup(tmp_path, cli)
    refused = cli("apply", "--now", NOW, "--auto-approve")
    assert refused.code == 1
    assert "door / Guest: its window is active now" in refused.err
    assert live_names(tmp_path) == ["Ann", "Ben", "Guest"]
    forced = cli("apply", "--now", NOW, "--auto-approve", "--force")
    assert forced.code == 0, forced.output
    assert live_names(tmp_path) == []


def test_revoke_takes_an_active_code_off_the_lock(cli: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "accesscodes.yaml"
    config.write_text(BASE.format(prune="false", max_deletes=10) + GUESTS)
    cli("apply", "--now", NOW, "--auto-approve")
    config.write_text(config.read_text().replace("{name: Guest,", "{name: Guest, revoke: true,"))
    result = cli("apply", "--now", NOW, "--auto-approve")
    assert result.code == 0, result.output
    assert "door / Guest: delete ok" in result.out
    assert live_names(tmp_path) == ["Ann", "Ben"]


def test_a_protected_code_is_never_deleted_by_a_plan(cli: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "accesscodes.yaml"
    config.write_text(BASE.format(prune="false", max_deletes=10) + GUESTS)
    cli("apply", "--now", NOW, "--auto-approve")
    config.write_text(
        config.read_text().replace("{name: Guest,", "{name: Guest, protected: true, revoke: true,")
    )
    plan = json.loads(cli("plan", "--now", NOW, "--format", "json").out)
    (guest,) = [c for c in plan["changes"] if c["name"] == "Guest"]
    assert guest["action"] == "blocked" and "protected" in guest["reasons"][0]
    forced = cli("apply", "--now", NOW, "--auto-approve", "--force")
    assert forced.code == 1  # the blocked change is reported and fails the apply
    assert "Blocked: door / Guest: " in forced.err
    assert live_names(tmp_path) == ["Ann", "Ben", "Guest"]
