"""`plan --out FILE` then `apply FILE`: exactly the reviewed plan, or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CliRunner
from seamfake import SeamFake

NOW = "2026-11-23T15:00:00Z"
SEAM_CONFIG = """\
version: 1
provider: {kind: seam, retries: 0}
devices:
  front:
    device_id: august_device_1
    codes:
      - {name: Alice, code: "482913"}
      - {name: Bob, code: "736194"}
"""


@pytest.mark.usefixtures("state")
def test_a_saved_plan_applies_when_nothing_moved(cli: CliRunner, quickstart: Path) -> None:
    plan_file = quickstart / "reviewed.json"
    assert cli("plan", "-c", str(quickstart), "--now", NOW, "--out", str(plan_file)).code == 0
    result = cli("apply", "-c", str(quickstart), str(plan_file), "--now", NOW)
    assert result.code == 0, result.output  # no prompt: the plan file is the approval
    assert "The plan matches the saved one" in result.out
    assert "Apply complete: 3 created" in result.out


@pytest.mark.usefixtures("state")
def test_a_saved_plan_is_refused_when_the_locks_moved(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "accesscodes.yaml").write_text(SEAM_CONFIG)
    with SeamFake() as fake:
        # Seam: the real clock (`apply --now` is refused against real locks)
        assert cli("apply", "--auto-approve", env=fake.env).code == 0
        (tmp_path / "accesscodes.yaml").write_text(SEAM_CONFIG.replace("736194", "905172"))
        assert cli("plan", "--out", "reviewed.json", env=fake.env).code == 0
        alice = next(
            c for c in fake.list_codes("august_device_1", managed=True) if c["name"] == "Alice"
        )
        fake.post(
            "access_codes/update", {"access_code_id": alice["access_code_id"], "code": "375102"}
        )
        refused = cli("apply", "reviewed.json", env=fake.env)
        assert refused.code == 1
        assert "changed since the plan was saved" in refused.err
        assert "front / Alice: action noop -> update" in refused.err
        bob = next(
            c for c in fake.list_codes("august_device_1", managed=True) if c["name"] == "Bob"
        )
        assert bob["code"] == "736194"  # nothing applied


@pytest.mark.usefixtures("state")
def test_a_pin_changed_in_the_config_after_review_is_caught(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "accesscodes.yaml").write_text(SEAM_CONFIG)
    with SeamFake() as fake:
        assert cli("plan", "--out", "reviewed.json", env=fake.env).code == 0
        (tmp_path / "accesscodes.yaml").write_text(SEAM_CONFIG.replace("736194", "905172"))
        refused = cli("apply", "reviewed.json", env=fake.env)
        assert refused.code == 1 and "changed since the plan was saved" in refused.err
        assert fake.list_codes("august_device_1", managed=True) == []
    assert "736194" not in (tmp_path / "reviewed.json").read_text()


@pytest.mark.usefixtures("state")
def test_a_saved_plan_older_than_the_ttl_is_refused(cli: CliRunner, quickstart: Path) -> None:
    plan_file = quickstart / "reviewed.json"
    cli("plan", "-c", str(quickstart), "--now", NOW, "--out", str(plan_file))
    result = cli("apply", "-c", str(quickstart), str(plan_file), "--now", "2026-11-24T16:00:00Z")
    assert result.code == 1 and "older than settings.plan_ttl" in result.err


@pytest.mark.usefixtures("state")
def test_a_saved_plan_is_refused_once_a_schedule_boundary_passed(
    cli: CliRunner, quickstart: Path
) -> None:
    plan_file = quickstart / "reviewed.json"
    cli("plan", "-c", str(quickstart), "--now", NOW, "--out", str(plan_file))
    saved = json.loads(plan_file.read_text())
    assert any(c["due_at"] == "2026-11-24T14:30:00Z" for c in saved["changes"])
    result = cli("apply", "-c", str(quickstart), str(plan_file), "--now", "2026-11-24T14:40:00Z")
    assert result.code == 1 and "schedule boundary was crossed" in result.err
    assert not (quickstart / ".accesscodes" / "sim.json").exists()


@pytest.mark.usefixtures("state")
def test_a_file_that_is_not_a_plan_is_one_clear_error(cli: CliRunner, quickstart: Path) -> None:
    bogus = quickstart / "bogus.json"
    bogus.write_text("{}")
    result = cli("apply", "-c", str(quickstart), str(bogus), "--now", NOW)
    assert result.code == 1 and "is not a plan file" in result.err
    assert "Traceback" not in result.output
