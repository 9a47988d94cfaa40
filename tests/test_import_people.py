"""`import` writes one name with one PIN on several doors once, under `people:`.

Each test applies a per-device config to the simulator (or Seam's fake server), imports it
back through the CLI, and reads the YAML written with `yaml.safe_load`: what became a person,
what stayed with its door, and that every door keeps its `devices:` entry.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CliRunner, Result
from seamfake import SeamFake

from reconciler.apply.importpeople import find_people
from reconciler.core.models import AccessCodeId, DeviceId, DeviceKey, LiveCode

# `import` reads the locks at this machine's time, and the simulator drops codes that have
# ended: windows are set around today, and applied at the current time.
NOW_DT = datetime.now(UTC).replace(microsecond=0)
NOW = NOW_DT.isoformat().replace("+00:00", "Z")
_DAY = NOW_DT.replace(hour=0, minute=0, second=0)


def stamp(days: int, hour: int = 0) -> str:
    """A UTC time `days` from today's midnight (and `hour`), as the importer writes it."""
    moment = _DAY + timedelta(days=days, hours=hour)
    return moment.isoformat().replace("+00:00", "Z")


def window(days: int, start_hour: int, end_hour: int) -> str:
    """`starts_at`/`ends_at` of a stay that began yesterday and ends in `days` days."""
    return f"starts_at: {stamp(-1, start_hour)}, ends_at: {stamp(days, end_hour)}"


def site_with(cli: CliRunner, tmp_path: Path, devices: str) -> Path:
    """Apply a per-device config (`devices:` body) to the simulator in `tmp_path/site`."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "accesscodes.yaml").write_text(
        "version: 1\ndevices:\n" + textwrap.indent(textwrap.dedent(devices).strip() + "\n", "  ")
    )
    applied = cli("apply", "-c", "site", "--now", NOW, "--auto-approve")
    assert applied.code == 0, applied.output
    (tmp_path / "out").mkdir(exist_ok=True)
    return tmp_path


def run_import(cli: CliRunner, root: Path, *extra: str, out: str = "imported.yaml") -> Result:
    """`accesscodes import` of the site's devices into `root/out`, PINs to `pins.env`."""
    args = ["import", "-c", "../site/accesscodes.yaml", "--out", out, "--env-file", "pins.env"]
    result = cli(*args, *extra, cwd=root / "out")
    assert result.code == 0, result.output
    return result


def written(root: Path, out: str = "imported.yaml") -> dict[str, Any]:
    return yaml.safe_load((root / "out" / out).read_text())


def pins(root: Path) -> dict[str, str]:
    lines = (root / "out" / "pins.env").read_text().split()
    return dict(line.split("=", 1) for line in lines)


def codes_of(config: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    """A device's `codes:` entries by name."""
    return {c["name"]: c for c in config["devices"][key]["codes"]}


def people_of(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in config.get("people") or []}


TWO_DOORS = """
front:
  device_id: august_front
  codes:
    - {name: Alice, code: "482913"}
    - {name: Bob, code: "736194"}
    - {name: Zoe, code: "918273"}
back:
  device_id: august_back
  codes:
    - {name: Alice, code: "482913"}
    - {name: Bob, code: "264819"}
garage:
  device_id: august_garage
  codes:
    - {name: Zoe, code: "918273"}
    - {name: Alice, code: "482913"}
"""


def test_one_name_and_one_pin_on_several_doors_is_one_person(
    cli: CliRunner, tmp_path: Path
) -> None:
    root = site_with(cli, tmp_path, TWO_DOORS)
    result = run_import(cli, root)
    config = written(root)
    assert config["people"] == [
        {"name": "Alice", "code": "${ALICE_PIN}", "doors": ["back", "front", "garage"]},
        {"name": "Zoe", "code": "${ZOE_PIN}", "doors": ["front", "garage"]},
    ]
    # every door keeps its entry (people[].doors refers to it); merged codes are not repeated
    assert {k: d["device_id"] for k, d in config["devices"].items()} == {
        "front": "august_front",
        "back": "august_back",
        "garage": "august_garage",
    }
    assert set(codes_of(config, "front")) == {"Bob"}
    assert set(codes_of(config, "back")) == {"Bob"}
    assert config["devices"]["garage"]["codes"] == []
    # the PINs are ${VAR} references, their values only in the env file
    for pin in ("482913", "918273", "736194", "264819"):
        assert pin not in result.output
        assert pin not in (root / "out" / "imported.yaml").read_text()
    assert pins(root) == {
        "ALICE_PIN": "482913",
        "ZOE_PIN": "918273",
        "FRONT_BOB_PIN": "736194",
        "BACK_BOB_PIN": "264819",
    }


def test_one_name_with_different_pins_stays_with_each_door(cli: CliRunner, tmp_path: Path) -> None:
    root = site_with(cli, tmp_path, TWO_DOORS)
    run_import(cli, root)
    config = written(root)
    assert "Bob" not in people_of(config)
    assert codes_of(config, "front")["Bob"] == {"name": "Bob", "code": "${FRONT_BOB_PIN}"}
    assert codes_of(config, "back")["Bob"] == {"name": "Bob", "code": "${BACK_BOB_PIN}"}


def test_show_codes_writes_the_persons_pin_in_the_yaml(cli: CliRunner, tmp_path: Path) -> None:
    root = site_with(cli, tmp_path, TWO_DOORS)
    run_import(cli, root, "--show-codes", out="literal.yaml")
    config = written(root, "literal.yaml")
    assert people_of(config)["Alice"]["code"] == "482913"
    assert codes_of(config, "back")["Bob"]["code"] == "264819"
    assert not (root / "out" / "pins.env").exists()  # nothing behind a ${VAR}


def test_an_unrevealed_pin_keeps_the_name_with_each_door(cli: CliRunner, tmp_path: Path) -> None:
    root = site_with(cli, tmp_path, TWO_DOORS)
    state_file = root / "site" / ".accesscodes" / "sim.json"
    state = json.loads(state_file.read_text())
    for code in state["devices"]["august_back"]["codes"]:
        if code["name"] == "Alice":
            code["code"] = None  # the provider does not reveal this PIN
    state_file.write_text(json.dumps(state))
    run_import(cli, root)
    config = written(root)
    # a person's name may not also be written under a device: all of Alice stays per door
    assert set(people_of(config)) == {"Zoe"}
    assert codes_of(config, "back")["Alice"] == {"name": "Alice"}
    assert codes_of(config, "front")["Alice"]["code"] == "${FRONT_ALICE_PIN}"
    assert codes_of(config, "garage")["Alice"]["code"] == "${GARAGE_ALICE_PIN}"


def test_a_window_shared_by_the_doors_goes_with_the_person(cli: CliRunner, tmp_path: Path) -> None:
    same, other = window(4, 16, 11), window(5, 16, 11)
    root = site_with(
        cli,
        tmp_path,
        f"""
        front:
          device_id: august_front
          codes:
            - {{name: Guest Bob, code: "591827", {same}}}
            - {{name: Guest Eve, code: "624813", {same}}}
        back:
          device_id: august_back
          codes:
            - {{name: Guest Bob, code: "591827", {same}}}
            - {{name: Guest Eve, code: "624813", {other}}}
        """,
    )
    run_import(cli, root)
    config = written(root)
    assert config["people"] == [
        {
            "name": "Guest Bob",
            "code": "${GUEST_BOB_PIN}",
            "doors": ["back", "front"],
            "starts_at": datetime.fromisoformat(stamp(-1, 16)),
            "ends_at": datetime.fromisoformat(stamp(4, 11)),
        }
    ]
    # one PIN, two windows: the doors' codes differ, so each stays with its door
    assert codes_of(config, "front")["Guest Eve"]["ends_at"] == datetime.fromisoformat(stamp(4, 11))
    assert codes_of(config, "back")["Guest Eve"]["ends_at"] == datetime.fromisoformat(stamp(5, 11))


def test_offline_codes_stay_with_each_door(cli: CliRunner, tmp_path: Path) -> None:
    root = site_with(
        cli,
        tmp_path,
        f"""
        gate:
          device_id: igloohome_gate
          codes:
            - {{name: Gardener, offline: true, starts_at: {stamp(-1)}, ends_at: {stamp(30)}}}
            - {{name: Alice, code: "4829135"}}
        shed:
          device_id: igloohome_shed
          codes:
            - {{name: Gardener, offline: true, starts_at: {stamp(-1)}, ends_at: {stamp(30)}}}
            - {{name: Alice, code: "4829135"}}
        """,
    )
    run_import(cli, root, "--show-codes")
    config = written(root)
    assert set(people_of(config)) == {"Alice"}
    for key in ("gate", "shed"):
        assert codes_of(config, key)["Gardener"]["offline"] is True
        assert set(codes_of(config, key)) == {"Gardener"}


def test_a_persons_variable_taken_by_a_doors_code_keeps_it_per_door(
    cli: CliRunner, tmp_path: Path
) -> None:
    root = site_with(
        cli,
        tmp_path,
        """
        front:
          device_id: august_front
          codes:
            - {name: Alice, code: "482913"}
            - {name: Front Alice, code: "736194"}
        back:
          device_id: august_back
          codes:
            - {name: Front Alice, code: "736194"}
        """,
    )
    run_import(cli, root)
    config = written(root)
    # person "Front Alice" would read ${FRONT_ALICE_PIN}, front/Alice's variable: not merged
    assert "people" not in config
    assert pins(root) == {
        "FRONT_ALICE_PIN": "482913",
        "FRONT_FRONT_ALICE_PIN": "736194",
        "BACK_FRONT_ALICE_PIN": "736194",
    }


def test_the_output_is_the_same_on_every_run(cli: CliRunner, tmp_path: Path) -> None:
    root = site_with(cli, tmp_path, TWO_DOORS)
    texts = []
    for _ in range(3):
        run_import(cli, root)
        texts.append(((root / "out" / "imported.yaml").read_text(), pins(root)))
    assert texts[0] == texts[1] == texts[2]
    config = written(root)
    names = [p["name"] for p in config["people"]]
    assert names == sorted(names)
    assert all(p["doors"] == sorted(p["doors"]) for p in config["people"])


def test_the_imported_people_load_and_plan_empty(cli: CliRunner, tmp_path: Path) -> None:
    """Needs the config loader's `people:` (issue 16): compiled back to per-device codes."""
    from reconciler.config.load import load_config

    root = site_with(cli, tmp_path, TWO_DOORS)
    run_import(cli, root)
    env = pins(root)
    # the simulator keeps its locks beside the config: the same fleet for the imported one
    shutil.copytree(root / "site" / ".accesscodes", root / "out" / ".accesscodes")
    loaded = load_config(root / "out" / "imported.yaml", environ=env)
    by_key = {d.key: {c.name: c.code for c in d.codes} for d in loaded.devices}
    assert by_key == {
        "front": {"Alice": "482913", "Bob": "736194", "Zoe": "918273"},
        "back": {"Alice": "482913", "Bob": "264819"},
        "garage": {"Alice": "482913", "Zoe": "918273"},
    }
    plan = cli(
        "plan",
        "-c",
        "imported.yaml",
        "--now",
        NOW,
        "--detailed-exitcode",
        cwd=root / "out",
        env=env,
    )
    assert plan.code == 0, plan.output


def _live(key: str, name: str, pin: str | None, **flags: bool) -> tuple[str, LiveCode]:
    code = LiveCode(AccessCodeId(f"{key}-{name}"), DeviceId(key), name, pin, **flags)
    return key, code


def test_backup_and_unmanaged_codes_are_never_a_person() -> None:
    entries: dict[str, list[LiveCode]] = {}
    for key, code in [
        _live("a", "Spare", "111111", is_backup=True),
        _live("b", "Spare", "111111", is_backup=True),
        _live("a", "Landlord", "222222", is_managed=False),
        _live("b", "Landlord", "222222", is_managed=False),
        _live("a", "Alice", "333333"),
        _live("b", "Alice", "333333"),
    ]:
        entries.setdefault(key, []).append(code)
    listed = [(DeviceKey(k), codes) for k, codes in entries.items()]
    assert [p.name for p in find_people(listed, literal=False)] == ["Alice"]
    assert [p.name for p in find_people(listed, literal=True)] == ["Alice"]


@pytest.fixture
def fake() -> Iterator[SeamFake]:
    with SeamFake() as server:
        yield server


def test_on_seam_one_pin_on_two_locks_is_one_person(
    cli: CliRunner, fake: SeamFake, tmp_path: Path
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(
        "version: 1\nprovider:\n  kind: seam\n  retries: 1\nsettings:\n  timezone: UTC\n"
        "devices:\n"
        "  front:\n    device_id: august_device_1\n    codes:\n"
        "      - {name: Alice, code: '482913'}\n      - {name: Guest Bob, code: '736194'}\n"
        "  back:\n    device_id: august_device_2\n    codes:\n"
        "      - {name: Alice, code: '482913'}\n      - {name: Guest Bob, code: '264819'}\n"
    )
    assert cli("apply", "--now", NOW, "--auto-approve", env=fake.env).code == 0
    (tmp_path / "out").mkdir()
    imported = cli(
        "import",
        "-c",
        "../accesscodes.yaml",
        "--out",
        "imported.yaml",
        "--env-file",
        "pins.env",
        cwd=tmp_path / "out",
        env=fake.env,
    )
    assert imported.code == 0, imported.output
    config = yaml.safe_load((tmp_path / "out" / "imported.yaml").read_text())
    assert config["people"] == [
        {"name": "Alice", "code": "${ALICE_PIN}", "doors": ["back", "front"]}
    ]
    assert set(config["devices"]) == {"front", "back"}
    assert codes_of(config, "front") == {
        "Guest Bob": {"name": "Guest Bob", "code": "${FRONT_GUEST_BOB_PIN}"}
    }
    assert codes_of(config, "back") == {
        "Guest Bob": {"name": "Guest Bob", "code": "${BACK_GUEST_BOB_PIN}"}
    }
    assert pins(tmp_path)["ALICE_PIN"] == "482913"
