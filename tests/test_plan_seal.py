"""A saved plan is sealed: editing any field of the file (its `now` above all) refuses it."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import CliRunner

NOW = "2026-11-23T15:00:00Z"
LATER = "2026-11-25T15:00:00Z"  # past settings.plan_ttl (24 h) from NOW
ONGOING = """\
version: 1
provider: {kind: sim}
devices:
  door:
    device_id: lock_1
    codes:
      - {name: Ann, code: "736194"}
      - {name: Ben, code: "482913"}
"""


def saved_plan(cli: CliRunner, quickstart: Path, env: dict[str, str] | None = None) -> Path:
    plan_file = quickstart / "reviewed.json"
    made = cli("plan", "-c", str(quickstart), "--now", NOW, "--out", str(plan_file), env=env)
    assert made.code == 0, made.output
    return plan_file


def edit(plan_file: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    """Edit the saved plan as a hand (or a script) would: parse, change, write back."""
    data = json.loads(plan_file.read_text())
    change(data)
    plan_file.write_text(json.dumps(data, indent=2) + "\n")


def test_an_unedited_plan_file_is_sealed_and_applies(cli: CliRunner, quickstart: Path) -> None:
    plan_file = saved_plan(cli, quickstart)
    data = json.loads(plan_file.read_text())
    assert data["seal"].startswith("hmac-sha256:") and len(data["seal"]) == 12 + 64
    assert data["checksum"].startswith("sha256:")
    key = quickstart / ".accesscodes" / "journal.key"  # made so that the file could be sealed
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    result = cli("apply", "-c", str(quickstart), str(plan_file), "--now", NOW)
    assert result.code == 0, result.output
    assert "Apply complete: 3 created" in result.out


def test_a_now_moved_forward_to_dodge_the_ttl_is_refused_as_edited(
    cli: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(ONGOING)  # no schedule: only the TTL stands
    assert cli("plan", "--now", NOW, "--out", "reviewed.json").code == 0
    stale = cli("apply", "reviewed.json", "--now", LATER)
    assert stale.code == 1 and "older than settings.plan_ttl" in stale.err
    edit(tmp_path / "reviewed.json", lambda data: data.update(now=LATER))
    result = cli("apply", "reviewed.json", "--now", LATER)
    assert result.code == 1
    assert result.err.splitlines()[-1] == (
        "Error: the plan file was edited after it was written, or it was sealed with another "
        "plan key: its seal does not match, and no field but its now and checksum differs "
        "from the plan made now; plan again"
    )
    assert not (tmp_path / ".accesscodes" / "sim.json").exists()  # nothing applied


def test_a_change_renamed_in_the_file_is_refused_as_edited(
    cli: CliRunner, quickstart: Path
) -> None:
    plan_file = saved_plan(cli, quickstart)
    edit(plan_file, lambda data: data["changes"][0].update(name="Mallory"))
    result = cli("apply", "-c", str(quickstart), str(plan_file), "--now", NOW)
    assert result.code == 1
    assert result.err.splitlines()[-1] == (
        "Error: the plan file was edited after it was written (its seal does not match): "
        "changes[0].name differs ('Mallory' in the file, 'Alice (resident)' planned now); "
        "plan again"
    )
    assert not (quickstart / ".accesscodes" / "sim.json").exists()


def test_the_first_edited_field_is_named_in_the_files_order(
    cli: CliRunner, quickstart: Path
) -> None:
    plan_file = saved_plan(cli, quickstart)

    def two_edits(data: dict[str, Any]) -> None:
        data["changes"][1]["after"]["ends_at"] = "2026-12-05T16:00:00Z"
        data["changes"][3]["due_at"] = None  # a deferred create made due now
        data["summary"]["deferred"] = 0

    edit(plan_file, two_edits)
    result = cli("apply", "-c", str(quickstart), str(plan_file), "--now", NOW)
    assert result.code == 1
    assert "changes[1].after.ends_at differs ('2026-12-05T16:00:00Z' in the file, " in result.err
    assert "'2026-12-04T16:00:00Z' planned now)" in result.err
    assert not (quickstart / ".accesscodes" / "sim.json").exists()


def test_a_pin_written_into_the_file_is_not_repeated(cli: CliRunner, quickstart: Path) -> None:
    plan_file = saved_plan(cli, quickstart)
    edit(plan_file, lambda data: data["changes"][0]["after"].update(code="905172"))
    result = cli("apply", "-c", str(quickstart), str(plan_file), "--now", NOW)
    assert result.code == 1
    hidden = "changes[0].after.code differs (a hidden value in the file, '****' planned now)"
    assert hidden in result.err
    assert "905172" not in result.output


def test_a_change_added_to_the_file_is_named_whole_with_pins_masked(
    cli: CliRunner, quickstart: Path
) -> None:
    plan_file = saved_plan(cli, quickstart)

    def smuggle(data: dict[str, Any]) -> None:
        extra = json.loads(json.dumps(data["changes"][0]))
        extra.update(name="Mallory")
        extra["after"]["code"] = "905172"
        data["changes"].append(extra)

    edit(plan_file, smuggle)
    result = cli("apply", "-c", str(quickstart), str(plan_file), "--now", NOW)
    assert result.code == 1
    assert 'changes[7] differs ({"action":"create",' in result.err
    assert "in the file, nothing planned now)" in result.err
    assert "905172" not in result.output


def test_a_plan_file_without_a_seal_is_refused(cli: CliRunner, quickstart: Path) -> None:
    plan_file = saved_plan(cli, quickstart)
    edit(plan_file, lambda data: data.pop("seal"))
    result = cli("apply", "-c", str(quickstart), str(plan_file), "--now", NOW)
    assert result.code == 1
    assert "has no seal: not written by `plan --out`, or written by an older version" in result.err
    assert not (quickstart / ".accesscodes" / "sim.json").exists()


def test_a_plan_sealed_with_another_plan_key_is_refused(cli: CliRunner, quickstart: Path) -> None:
    plan_file = saved_plan(cli, quickstart, env={"ACCESSCODES_PLAN_KEY": "the review job's key"})
    result = cli(
        "apply",
        "-c",
        str(quickstart),
        str(plan_file),
        "--now",
        NOW,
        env={"ACCESSCODES_PLAN_KEY": "another key"},
    )
    assert result.code == 1 and "its seal does not match" in result.err
    same = cli(
        "apply",
        "-c",
        str(quickstart),
        str(plan_file),
        "--now",
        NOW,
        env={"ACCESSCODES_PLAN_KEY": "the review job's key"},
    )
    assert same.code == 0, same.output
