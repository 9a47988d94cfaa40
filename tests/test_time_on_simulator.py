"""Time-aware planning on the simulator, driven by `--now`, as users would try it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CliRunner

# No test here may hang the suite: each test waits on accesscodes subprocesses (60 s each at most).
pytestmark = pytest.mark.timeout(120)

CONFIG = """\
version: 1
provider:
  kind: sim
  fleet:
    ultraloq_jit: {{profile: ultraloq, timezone: UTC}}
    august_native: {{profile: august}}
settings:
  timezone: UTC
{settings}devices:
  jit:
    device_id: ultraloq_jit
    codes:
      - {{name: Guest, code: "736194",
         starts_at: 2026-12-02T15:00:00, ends_at: 2026-12-05T11:00:00}}
  native:
    device_id: august_native
    codes:
      - {{name: Guest, code: "736194",
         starts_at: 2026-12-02T15:00:00, ends_at: 2026-12-05T11:00:00}}
"""


def plan_at(cli: CliRunner, now: str) -> dict[str, dict]:
    result = cli("plan", "--now", now, "--format", "json")
    assert result.code == 0, result.output
    return {c["device"]: c for c in json.loads(result.out)["changes"]}


def write(tmp_path: Path, settings: str = "") -> None:
    (tmp_path / "accesscodes.yaml").write_text(CONFIG.format(settings=settings))


def test_a_guest_nine_days_out_is_deferred_by_the_lead_time_of_each_lock(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path)
    changes = plan_at(cli, "2026-11-23T15:00:00Z")
    assert changes["jit"]["action"] == "create"
    assert changes["jit"]["due_at"] == "2026-12-02T14:30:00Z"  # 30 min before
    assert changes["native"]["due_at"] == "2026-11-29T15:00:00Z"  # 72 h before


def test_twenty_minutes_before_the_start_the_guest_is_created(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path)
    changes = plan_at(cli, "2026-12-02T14:40:00Z")
    assert changes["jit"]["action"] == "create" and changes["jit"]["due_at"] is None
    applied = cli("apply", "--now", "2026-12-02T14:40:00Z", "--auto-approve")
    assert applied.code == 0 and "jit / Guest: create ok" in applied.out


def test_after_the_end_the_guest_is_never_created_and_a_leftover_is_deleted(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path)
    assert plan_at(cli, "2026-12-06T12:00:00Z") == {}
    cli("apply", "--now", "2026-12-03T12:00:00Z", "--auto-approve")
    # The simulator drops expired codes itself; a lock that kept one gets a delete.
    state_file = tmp_path / ".accesscodes" / "sim.json"
    state = json.loads(state_file.read_text())
    for device in state["devices"].values():
        for code in device["codes"]:
            code["ends_at"] = "2026-12-06T11:00:00Z"
    state_file.write_text(json.dumps(state))
    changes = plan_at(cli, "2026-12-05T12:00:00Z")
    assert {d: c["action"] for d, c in changes.items()} == {"jit": "delete", "native": "delete"}
    assert changes["jit"]["reasons"] == ["its window has ended"]


def test_send_codes_at_once_leaves_scheduling_to_the_provider(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path, settings="  send_codes: at_once\n")
    changes = plan_at(cli, "2026-11-23T15:00:00Z")
    assert changes["jit"]["due_at"] is None and changes["native"]["due_at"] is None
