"""`import` refuses codes that would collide in the config, and then writes nothing at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CliRunner

NOW = "2026-11-23T15:00:00Z"
CONFIG = """\
version: 1
devices:
  front:
    device_id: august_front
    codes:
      - {name: Guest Bob, code: "482913"}
      - {name: Guest-Bob, code: "736194"}
      - {name: Alice, code: "591827"}
  front-door:
    device_id: august_door
    codes:
      - {name: Alice, code: "264819"}
"""


@pytest.fixture
def site(cli: CliRunner, tmp_path: Path) -> Path:
    """A simulated fleet holding the codes of CONFIG, and an empty folder to import into."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "accesscodes.yaml").write_text(CONFIG)
    applied = cli("apply", "-c", "site", "--now", NOW, "--auto-approve")
    assert applied.code == 0, applied.output
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "pins.env").write_text("KEEP=1\n")
    return tmp_path


def _import(cli: CliRunner, site: Path, *devices: str, literal: bool = False):
    args = [
        "import",
        "-c",
        "../site/accesscodes.yaml",
        "--out",
        "imported.yaml",
        "--env-file",
        "pins.env",
    ]
    for device in devices:
        args += ["--device", device]
    return cli(*args, *(["--show-codes"] if literal else []), cwd=site / "out")


def _untouched(site: Path) -> None:
    assert not (site / "out" / "imported.yaml").exists()
    assert (site / "out" / "pins.env").read_text() == "KEEP=1\n"


def test_two_names_that_make_one_variable_are_an_error(cli: CliRunner, site: Path) -> None:
    result = _import(cli, site)
    assert result.code == 1
    assert (
        "code 'Guest Bob' on device 'front' and code 'Guest-Bob' on device 'front' would both "
        "read their PIN from ${FRONT_GUEST_BOB_PIN}"
    ) in result.err
    # front/Alice and front-door/Alice: FRONT_ALICE_PIN and FRONT_DOOR_ALICE_PIN, no clash
    assert "'Alice'" not in result.err
    assert "nothing was written" in result.err
    for pin in ("482913", "736194", "591827", "264819"):
        assert pin not in result.output
    _untouched(site)


def test_with_literal_pins_different_names_are_fine(cli: CliRunner, site: Path) -> None:
    result = _import(cli, site, literal=True)
    assert result.code == 0, result.output
    text = (site / "out" / "imported.yaml").read_text()
    assert '"Guest Bob"' in text and '"Guest-Bob"' in text and "code: ${" not in text


def test_two_codes_with_one_name_on_a_lock_are_an_error(cli: CliRunner, site: Path) -> None:
    state_file = site / "site" / ".accesscodes" / "sim.json"
    state = json.loads(state_file.read_text())
    codes = state["devices"]["august_front"]["codes"]
    codes[1]["name"] = "Guest Bob"  # renamed in the maker's app: two "Guest Bob" now
    state_file.write_text(json.dumps(state))
    ids = f"{codes[0]['access_code_id']}, {codes[1]['access_code_id']}"
    for literal in (False, True):
        result = _import(cli, site, literal=literal)
        assert result.code == 1
        assert f"device 'front' (august_front): 2 codes are named 'Guest Bob' ({ids})" in result.err
        assert "(2)" not in result.output
        _untouched(site)


def test_a_cross_device_variable_clash_names_both_devices(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "accesscodes.yaml").write_text(
        "version: 1\ndevices:\n"
        "  front:\n    device_id: august_a\n    codes: [{name: door x, code: '482913'}]\n"
        "  front-door:\n    device_id: august_b\n    codes: [{name: x, code: '736194'}]\n"
    )
    assert cli("apply", "--now", NOW, "--auto-approve").code == 0
    (tmp_path / "out").mkdir()
    result = cli(
        "import",
        "-c",
        "../accesscodes.yaml",
        "--out",
        "imported.yaml",
        "--env-file",
        "pins.env",
        cwd=tmp_path / "out",
    )
    assert result.code == 1
    assert (
        "code 'door x' on device 'front' and code 'x' on device 'front-door' would both read "
        "their PIN from ${FRONT_DOOR_X_PIN}"
    ) in result.err
    assert list((tmp_path / "out").iterdir()) == []
