"""The Seam provider against Seam's own fake server, through the CLI as subprocesses."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CliRunner
from seamfake import SeamFake

NOW = "2026-11-23T15:00:00Z"


@pytest.fixture
def fake() -> Iterator[SeamFake]:
    """A fresh fake per test: it starts in well under a second."""
    with SeamFake() as server:
        yield server


def write(tmp_path: Path, devices: str, *, settings: str = "", provider: str = "") -> Path:
    text = "version: 1\nprovider:\n  kind: seam\n  retries: 1\n" + provider
    text += "settings:\n  timezone: UTC\n" + settings + "devices:\n"
    text += textwrap.indent(textwrap.dedent(devices).strip() + "\n", "  ")
    path = tmp_path / "accesscodes.yaml"
    path.write_text(text)
    return path


TWO_LOCKS = """
    front:
      device_id: august_device_1
      codes:
        - name: Alice
          code: "482913"
        - name: Guest Bob
          code: "736194"
          starts_at: 2026-11-24T15:00:00Z
          ends_at: 2026-11-27T11:00:00Z
    back:
      device_id: august_device_2
      codes:
        - name: Alice
          code: "482913"
"""


WITHOUT_BOB = TWO_LOCKS.split("        - name: Guest Bob")[0] + TWO_LOCKS.split("11:00:00Z\n")[1]


def managed(fake: SeamFake, device_id: str) -> list[dict]:
    return fake.list_codes(device_id, managed=True)


def test_plan_creates_apply_writes_and_second_plan_is_empty(
    cli: CliRunner, fake: SeamFake, tmp_path: Path
) -> None:
    write(tmp_path, TWO_LOCKS)
    plan = cli("plan", "--now", NOW, "--format", "json", env=fake.env)
    assert plan.code == 0, plan.output
    assert json.loads(plan.out)["summary"]["create"] == 3

    applied = cli("apply", "--now", NOW, "--auto-approve", env=fake.env)
    assert applied.code == 0, applied.output
    front = {c["name"]: c for c in managed(fake, "august_device_1")}
    assert set(front) == {"Alice", "Guest Bob"}
    assert front["Alice"]["code"] == "482913" and front["Alice"]["type"] == "ongoing"
    bob = front["Guest Bob"]
    assert (bob["code"], bob["type"]) == ("736194", "time_bound")
    assert bob["starts_at"].startswith("2026-11-24T15:00:00")
    assert bob["ends_at"].startswith("2026-11-27T11:00:00")
    assert [c["name"] for c in managed(fake, "august_device_2")] == ["Alice"]

    again = cli("plan", "--now", NOW, "--detailed-exitcode", env=fake.env)
    assert again.code == 0, again.output


def test_a_pin_changed_behind_our_back_is_planned_back(
    cli: CliRunner, fake: SeamFake, tmp_path: Path
) -> None:
    write(tmp_path, TWO_LOCKS)
    cli("apply", "--now", NOW, "--auto-approve", env=fake.env)
    alice = next(c for c in managed(fake, "august_device_2") if c["name"] == "Alice")
    assert fake.post(
        "access_codes/update", {"access_code_id": alice["access_code_id"], "code": "905172"}
    ).ok

    plan = json.loads(cli("plan", "--now", NOW, "--format", "json", env=fake.env).out)
    (update,) = [c for c in plan["changes"] if c["action"] == "update"]
    assert (update["device"], update["name"], update["changed"]) == ("back", "Alice", ["code"])
    assert [(d["device"], d["name"], d["kind"]) for d in plan["drift"]] == [
        ("back", "Alice", "modified_externally")
    ]
    assert cli("apply", "--now", NOW, "--auto-approve", env=fake.env).code == 0
    (restored,) = managed(fake, "august_device_2")
    assert restored["code"] == "482913"
    healed = json.loads(cli("plan", "--now", NOW, "--format", "json", env=fake.env).out)
    assert healed["drift"] == []


def test_a_pin_changed_in_the_config_is_an_update_but_not_drift(
    cli: CliRunner, fake: SeamFake, tmp_path: Path
) -> None:
    write(tmp_path, TWO_LOCKS)
    cli("apply", "--now", NOW, "--auto-approve", env=fake.env)
    write(tmp_path, TWO_LOCKS.replace('"482913"', '"905172"'))
    plan = json.loads(cli("plan", "--now", NOW, "--format", "json", env=fake.env).out)
    assert sorted(c["device"] for c in plan["changes"] if c["action"] == "update") == [
        "back",
        "front",
    ]
    assert plan["drift"] == []


def test_unmanaged_codes_are_reported_and_prune_decides_removed_ones(
    cli: CliRunner, fake: SeamFake, tmp_path: Path
) -> None:
    write(tmp_path, TWO_LOCKS)
    cli("apply", "--now", NOW, "--auto-approve", env=fake.env)
    fake.create_unmanaged_code("august_device_1", "Landlord", "8642")
    write(tmp_path, WITHOUT_BOB)

    plan = json.loads(cli("plan", "--now", NOW, "--format", "json", env=fake.env).out)
    kinds = {(d["name"], d["kind"]) for d in plan["drift"]}
    assert ("Landlord", "unmanaged_code") in kinds
    assert ("Guest Bob", "extraneous") in kinds
    assert not [c for c in plan["changes"] if c["action"] == "delete"]

    write(tmp_path, WITHOUT_BOB, settings="  prune: true\n")
    pruned = cli("apply", "--now", NOW, "--auto-approve", env=fake.env)
    assert pruned.code == 0, pruned.output
    names = sorted(c["name"] for c in fake.list_codes("august_device_1"))
    assert names == ["Alice", "Landlord"]


def test_an_outage_fails_clearly_and_recovery_converges_without_duplicates(
    cli: CliRunner, fake: SeamFake, tmp_path: Path
) -> None:
    write(tmp_path, TWO_LOCKS)
    fake.simulate_outage(["access_codes/create"])
    failed = cli("apply", "--now", NOW, "--auto-approve", env=fake.env)
    assert failed.code == 1
    assert "FAILED" in failed.out and "HTTP 503" in failed.out
    assert "Traceback" not in failed.output
    assert managed(fake, "august_device_1") == []

    fake.clear_outage()
    healed = cli("apply", "--now", NOW, "--auto-approve", env=fake.env)
    assert healed.code == 0, healed.output
    names = sorted(c["name"] for c in managed(fake, "august_device_1"))
    assert names == ["Alice", "Guest Bob"]
    assert cli("plan", "--now", NOW, "--detailed-exitcode", env=fake.env).code == 0


def test_a_pin_breaking_a_device_constraint_is_refused_at_plan_time(
    cli: CliRunner, fake: SeamFake, tmp_path: Path
) -> None:
    write(
        tmp_path,
        """
        nuki:
          device_id: constrained_lock_1
          codes:
            - name: Zero
              code: "405918"
            - name: Short
              code: "4829"
    """,
    )
    plan = cli("plan", "--now", NOW, "--detailed-exitcode", env=fake.env)
    assert plan.code == 2
    assert "no_zeros" in plan.out
    assert "take PINs of 6 digits, not 4" in plan.out
    assert "accesscodes.yaml:" in cli("plan", "--now", NOW, "--format", "json", env=fake.env).out
    applied = cli("apply", "--now", NOW, "--auto-approve", env=fake.env)
    assert applied.code == 1  # nothing written, and the blocked codes say so in the exit code
    assert "Blocked: " in applied.err
    assert managed(fake, "constrained_lock_1") == []


def test_a_missing_api_key_is_one_clear_error(cli: CliRunner, tmp_path: Path) -> None:
    write(tmp_path, TWO_LOCKS)
    result = cli("plan", env={"SEAM_API_KEY": ""})
    assert result.code == 1
    assert "SEAM_API_KEY is not set" in result.err
    assert "Traceback" not in result.output


def test_an_ultraloq_zone_comes_from_the_device(
    cli: CliRunner, fake: SeamFake, tmp_path: Path
) -> None:
    write(
        tmp_path,
        """
        with-zone:
          device_id: ultraloq_device_tz
          codes:
            - {name: Guest, code: "736194",
               starts_at: 2026-11-24T15:00:00, ends_at: 2026-11-25T11:00:00}
        no-zone:
          device_id: ultraloq_device_no_tz
          codes:
            - {name: Guest, code: "736194",
               starts_at: 2026-11-24T15:00:00, ends_at: 2026-11-25T11:00:00}
    """,
    )
    plan = json.loads(cli("plan", "--now", NOW, "--format", "json", env=fake.env).out)
    by_device = {c["device"]: c for c in plan["changes"]}
    assert by_device["with-zone"]["action"] == "create"
    assert by_device["with-zone"]["after"]["starts_at"] == "2026-11-24T20:00:00Z"  # New York
    assert by_device["no-zone"]["action"] == "blocked"
    assert "Time zone required" in by_device["no-zone"]["reasons"][0]


def test_import_writes_yaml_that_validates_and_plans_empty(
    cli: CliRunner, fake: SeamFake, tmp_path: Path
) -> None:
    write(tmp_path, TWO_LOCKS)
    cli("apply", "--now", NOW, "--auto-approve", env=fake.env)
    fake.create_unmanaged_code("august_device_1", "Landlord", "8642")
    onboard = tmp_path / "onboard"
    onboard.mkdir()

    imported = cli(
        "import",
        "--provider",
        "seam",
        "--device",
        "front=august_device_1",
        "--out",
        "imported.yaml",
        "--env-file",
        "pins.env",
        cwd=onboard,
        env=fake.env,
    )
    assert imported.code == 0, imported.output
    text = (onboard / "imported.yaml").read_text()
    assert "${FRONT_GUEST_BOB_PIN}" in text and "736194" not in text
    assert "#   - 'Landlord'" in text  # unmanaged: a comment, not an entry
    pins = dict(line.split("=", 1) for line in (onboard / "pins.env").read_text().split())
    assert pins == {"FRONT_ALICE_PIN": "482913", "FRONT_GUEST_BOB_PIN": "736194"}
    assert (onboard / "pins.env").stat().st_mode & 0o777 == 0o600

    env = {**fake.env, **pins}
    assert cli("validate", "-c", "imported.yaml", cwd=onboard, env=env).code == 0
    plan = cli(
        "plan", "-c", "imported.yaml", "--now", NOW, "--detailed-exitcode", cwd=onboard, env=env
    )
    assert plan.code == 0, plan.output
