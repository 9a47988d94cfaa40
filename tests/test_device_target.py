"""`--device KEY` on plan and apply, like Terraform's `-target`: only those locks."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import CliRunner

NOW = "2026-11-23T15:00:00Z"


def live(quickstart: Path) -> dict[str, list[str]]:
    state = json.loads((quickstart / ".accesscodes" / "sim.json").read_text())
    return {d: sorted(c["name"] for c in dev["codes"]) for d, dev in state["devices"].items()}


def test_plan_and_apply_limited_to_one_device(cli: CliRunner, quickstart: Path) -> None:
    config = str(quickstart)
    plan = cli("plan", "-c", config, "--now", NOW, "--format", "json", "--device", "back-door")
    assert plan.code == 0, plan.output
    assert "Note: the plan is limited to back-door (--device)" in plan.err
    assert {c["device"] for c in json.loads(plan.out)["changes"]} == {"back-door"}

    applied = cli("apply", "-c", config, "--now", NOW, "--auto-approve", "--device", "back-door")
    assert applied.code == 0, applied.output
    assert "Apply complete: 1 created" in applied.out
    assert live(quickstart).get("august_front", []) == []
    assert live(quickstart)["ultraloq_back"] == ["Alice (resident)"]
    rest = json.loads(cli("plan", "-c", config, "--now", NOW, "--format", "json").out)
    due = {c["device"] for c in rest["changes"] if c["action"] == "create" and not c["due_at"]}
    assert due == {"front-door"}


def test_an_unknown_device_key_is_a_usage_error_listing_the_known_ones(
    cli: CliRunner, quickstart: Path
) -> None:
    for command in ("plan", "apply"):
        result = cli(command, "-c", str(quickstart), "--now", NOW, "--device", "side-door")
        assert result.code == 1
        assert "no device 'side-door' in the config (devices: back-door, front-door)" in (
            result.err
        )
        assert "Traceback" not in result.output
    assert not (quickstart / ".accesscodes").exists()


TWO_DOORS = """\
version: 1
provider: {{kind: sim}}
settings: {{prune: {prune}, max_deletes: 1}}
devices:
  front:
    device_id: lock_front
    codes: {front}
  back:
    device_id: lock_back
    codes: {back}
"""
CODES = '[{name: Ann, code: "736194"}, {name: Ben, code: "482913"}]'


def test_the_delete_guards_count_the_selected_plan(cli: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "accesscodes.yaml"
    config.write_text(TWO_DOORS.format(prune="false", front=CODES, back=CODES))
    assert cli("apply", "--now", NOW, "--auto-approve").code == 0
    one_left = '[{name: Ann, code: "736194"}]'
    config.write_text(TWO_DOORS.format(prune="true", front=one_left, back=one_left))
    everything = cli("apply", "--now", NOW, "--auto-approve")
    assert everything.code == 1 and "deletes 2 codes, more than settings.max_deletes" in (
        everything.err
    )
    one_door = cli("apply", "--now", NOW, "--auto-approve", "--device", "back")
    assert one_door.code == 0, one_door.output
    assert "back / Ben: delete ok" in one_door.out and "front /" not in one_door.out


def test_a_blocked_lock_can_be_left_out_to_apply_the_others(cli: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "accesscodes.yaml"
    config.write_text(TWO_DOORS.format(prune="false", front=CODES, back="[]"))
    assert cli("apply", "--now", NOW, "--auto-approve").code == 0
    blocked = '[{name: Ann, code: "736194", protected: true, revoke: true}]'
    new = '[{name: Cid, code: "507318"}]'
    config.write_text(TWO_DOORS.format(prune="false", front=blocked, back=new))
    whole = cli("apply", "--now", NOW, "--auto-approve")
    assert whole.code == 1 and "Blocked: front / Ann: " in whole.err
    assert "back / Cid: create ok" in whole.out
    only_back = cli("apply", "--now", NOW, "--auto-approve", "--device", "back")
    assert only_back.code == 0, only_back.output
    assert "Blocked:" not in only_back.err
