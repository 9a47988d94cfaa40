"""`accesscodes init`: a starter config that shows a guest ahead on whatever day it is written.

Every test runs the real command in a subprocess and then the commands the README chains after
it (`plan`, `apply`, `plan --detailed-exitcode`, `validate`) on the file it wrote.
"""

from __future__ import annotations

import json
import re
import stat
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from conftest import CliRunner

from reconciler.config.policy import is_weak, load_policy

ZONE = "Europe/Paris"


def _pins(config: Path) -> dict[str, str]:
    """Each code name's PIN in the written file (one per person: checked to agree per door)."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    pins: dict[str, str] = {}
    for device in data["devices"].values():
        for code in device["codes"]:
            assert pins.setdefault(code["name"], code["code"]) == code["code"]
    return pins


def _plan_json(cli: CliRunner, demo: Path, now: str) -> dict:
    result = cli("plan", "-c", str(demo), "--now", now, "--format", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)


@pytest.mark.parametrize(
    ("now", "start_z", "due_z", "end_z", "window"),
    [
        # winter: Paris is UTC+1 on both days
        (
            "2026-12-20T09:00:00+01:00",
            "2026-12-21T15:00:00Z",
            "2026-12-21T14:30:00Z",
            "2026-12-24T10:00:00Z",
            "2026-12-21 16:00 Europe/Paris (2026-12-21 15:00Z) → "
            "2026-12-24 11:00 Europe/Paris (2026-12-24 10:00Z)",
        ),
        # the night before Europe's clocks go forward: written at UTC+1, the guest comes at
        # UTC+2 (16:00 is 14:00Z, not 15:00Z)
        (
            "2027-03-27T22:30:00+01:00",
            "2027-03-28T14:00:00Z",
            "2027-03-28T13:30:00Z",
            "2027-03-31T09:00:00Z",
            "2027-03-28 16:00 Europe/Paris (2027-03-28 14:00Z) → "
            "2027-03-31 11:00 Europe/Paris (2027-03-31 09:00Z)",
        ),
    ],
)
def test_the_guest_arrives_tomorrow_and_waits_for_its_lead_time(
    cli: CliRunner, tmp_path: Path, now: str, start_z: str, due_z: str, end_z: str, window: str
) -> None:
    demo = tmp_path / "demo"
    written = cli("init", str(demo), "--now", now, "--timezone", ZONE)
    assert written.code == 0, written.err
    assert f"Wrote {demo / 'accesscodes.yaml'}" in written.out
    assert f"accesscodes plan -c {demo} --now {now}" in written.out

    text = cli("plan", "-c", str(demo), "--now", now)
    assert text.code == 0, text.err
    assert text.out.count("> deferred create Guest Bob") == 2
    assert text.out.count(window) == 2
    assert text.out.count("+ create Alice (resident)") == 2

    plan = _plan_json(cli, demo, now)
    guest = [c for c in plan["changes"] if c["name"] == "Guest Bob"]
    assert [(c["device"], c["action"], c["due_at"]) for c in guest] == [
        ("front-door", "create", due_z),
        ("back-door", "create", due_z),
    ]
    assert {(c["after"]["starts_at"], c["after"]["ends_at"]) for c in guest} == {(start_z, end_z)}
    resident = [c for c in plan["changes"] if c["name"] == "Alice (resident)"]
    assert [(c["action"], c["due_at"]) for c in resident] == [("create", None)] * 2
    cleaner = [c for c in plan["changes"] if c["name"] == "Cleaner"]
    assert cleaner and all(c["due_at"] is not None for c in cleaner)
    assert plan["summary"]["create"] == 2

    applied = cli("apply", "-c", str(demo), "--now", now, "--auto-approve")
    assert applied.code == 0, applied.output
    again = cli("plan", "-c", str(demo), "--now", now, "--detailed-exitcode")
    assert again.code == 0, again.output
    assert "0 to create" in again.out


def test_the_written_config_is_valid_and_its_pins_pass_the_default_policy(
    cli: CliRunner, tmp_path: Path
) -> None:
    demo = tmp_path / "demo"
    written = cli("init", str(demo), "--now", "2026-12-20T09:00:00Z", "--timezone", ZONE)
    assert written.code == 0, written.err
    config = demo / "accesscodes.yaml"
    valid = cli("validate", "-c", str(demo))
    assert valid.code == 0, valid.output
    assert "valid (2 devices, 5 codes)" in valid.out
    assert "Warning" not in valid.err

    pins = _pins(config)
    assert sorted(pins) == ["Alice (resident)", "Cleaner", "Guest Bob"]
    policy = load_policy(())
    for pin in pins.values():
        assert re.fullmatch(r"\d{6}", pin) and not is_weak(pin, policy)
        assert pin not in written.output  # the PINs are in the file, never on the terminal
    for a in pins.values():
        for b in pins.values():
            assert a == b or not (a.startswith(b) or b.startswith(a))
    assert len(set(pins.values())) == 3
    text = config.read_text(encoding="utf-8")
    assert text.startswith("# A starter config for accesscodes")
    assert "plain text because this is a simulator demo" in text.split("version: 1")[0]
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # literal PINs: its owner's only


def test_each_run_draws_new_pins(cli: CliRunner, tmp_path: Path) -> None:
    for name in ("one", "two"):
        assert cli("init", name, "--timezone", ZONE).code == 0
    assert _pins(tmp_path / "one" / "accesscodes.yaml") != _pins(
        tmp_path / "two" / "accesscodes.yaml"
    )


def test_the_zone_defaults_to_the_machines(cli: CliRunner, tmp_path: Path) -> None:
    result = cli("init", "demo", "--now", "2026-12-20T20:00:00Z", env={"TZ": "Asia/Tokyo"})
    assert result.code == 0, result.err
    data = yaml.safe_load((tmp_path / "demo" / "accesscodes.yaml").read_text(encoding="utf-8"))
    assert data["settings"]["timezone"] == "Asia/Tokyo"
    # 20:00Z is already the 21st in Tokyo: the guest comes on the 22nd
    assert data["devices"]["front-door"]["codes"][1]["starts_at"] == datetime(2026, 12, 22, 16)


def test_init_refuses_a_folder_that_holds_a_config(cli: CliRunner, tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    demo.mkdir()
    mine = demo / "site.yml"
    mine.write_text("version: 1\n", encoding="utf-8")
    refused = cli("init", str(demo))
    assert refused.code == 1
    assert f"Error: {demo} already holds a config (site.yml)" in refused.err
    assert sorted(p.name for p in demo.iterdir()) == ["site.yml"]

    forced = cli("init", str(demo), "--force", "--timezone", ZONE)
    assert forced.code == 0, forced.err
    assert (demo / "accesscodes.yaml").is_file()
    assert mine.read_text(encoding="utf-8") == "version: 1\n"
    assert cli("init", str(demo), "--force", "--timezone", ZONE).code == 0  # over its own file


def test_init_refuses_a_file_and_an_unknown_zone(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("", encoding="utf-8")
    result = cli("init", "taken")
    assert result.code == 1 and "is not a directory" in result.err
    bad = cli("init", "demo", "--timezone", "Mars/Olympus")
    assert bad.code == 2 and "not an IANA time zone: 'Mars/Olympus'" in bad.err
    assert not (tmp_path / "demo").exists()


def test_the_summary_people_read(cli: CliRunner, tmp_path: Path, snapshot) -> None:
    result = cli("init", "demo", "--now", "2027-03-27T22:30:00+01:00", "--timezone", ZONE)
    assert result.code == 0, result.err
    pins = _pins(tmp_path / "demo" / "accesscodes.yaml")
    config = (tmp_path / "demo" / "accesscodes.yaml").read_text(encoding="utf-8")
    for name, pin in pins.items():
        config = config.replace(f'"{pin}"', f"<{name} PIN>")
    assert result.out == snapshot(name="summary")
    assert config == snapshot(name="config")
